"""The engine on a real watch recording (python-fitparse test file, MIT, copied into tests/fixtures)."""
from __future__ import annotations

import fitdecode
import numpy as np
import pytest

from analysis.runs import run_metrics
from analysis.trimp import banister_trimp, hr_coverage
from tests.helpers import FIXTURES

FIELDS = ("timestamp", "distance", "enhanced_speed", "enhanced_altitude", "heart_rate")

FENIX2_RUN = FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit"


def _records(path: object) -> dict[str, np.ndarray]:
    rows = []
    with fitdecode.FitReader(str(path)) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                rows.append(tuple(frame.get_value(k, fallback=None) for k in FIELDS))
    t0 = rows[0][0]
    cols = np.array([[np.nan if v is None else float(v) for v in r[1:]] for r in rows])
    t = np.array([(r[0] - t0).total_seconds() for r in rows])
    return {"time_s": t, "distance_m": cols[:, 0], "speed_mps": cols[:, 1], "altitude_m": cols[:, 2], "hr_bpm": cols[:, 3]}


def test_fenix2_run_is_plausible() -> None:
    r = _records(FENIX2_RUN)
    t, d = r["time_s"], r["distance_m"]
    m = run_metrics(t, d, speed_mps=r["speed_mps"], altitude_m=r["altitude_m"], hr_bpm=r["hr_bpm"])
    # The session says 9007 m in 2832 s of timer time; moving time can only be shorter.
    assert 8900 < m.distance_m <= 9008 and 2700 < m.moving_s <= 2833
    assert m.qualifies and m.hr_coverage == pytest.approx(1.0)
    # This run ends with a slow climb (the last 2 km at ~2 m/s): a large real fade.
    plain = run_metrics(t, d, speed_mps=r["speed_mps"], treadmill=True)
    # Independently: time at distance marks by interpolation over the raw stream (no pauses longer than 4 s).
    total = d[-1] - d[0]
    at = lambda frac: np.interp(d[0] + frac * total, d, t)  # noqa: E731
    v_early = 0.5 * total / (at(0.6) - at(0.1))
    v_late = 0.25 * total / (at(1.0) - at(0.75))
    assert plain.fade_pct == pytest.approx(100 * (1 - v_late / v_early), abs=1.5)
    assert m.fade_pct is not None and 20 < m.fade_pct < plain.fade_pct  # the climb explains part of it
    trimp = banister_trimp(t, r["hr_bpm"], hr_rest_bpm=60, hr_max_bpm=190, sex="male")
    assert 60 < trimp < 150  # 47 min mostly at 155-175 bpm: ~1.5-3 per minute
    assert 0.999 < hr_coverage(t, r["hr_bpm"]) < 1.0  # one sample lacks HR
