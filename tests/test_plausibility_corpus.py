"""Issue 14 on real files: every activity decoded from ../shared/corpus is within physical bounds."""
from __future__ import annotations

import numpy as np

from ingest.decode import decode_safely
from ingest.limits import Limits
from ingest.model import Activity
from ingest.plausible import HR_MAX_BPM, HR_MIN_BPM, bounds_for
from ingest.walk import iter_items, load_bytes
from tests.helpers import CORPUS, needs_corpus


def _problems(act: Activity) -> list[str]:
    out = []
    b = bounds_for(act.sport)
    if act.time_known and act.start_utc.year < 1995:
        out.append(f"known time in {act.start_utc.year}")
    if act.elapsed_s > b.max_duration_s:
        out.append(f"elapsed {act.elapsed_s}")
    if act.distance_m and act.elapsed_s and act.distance_m > b.max_speed_mps * act.elapsed_s + 100:
        out.append(f"{act.distance_m} m in {act.elapsed_s} s")
    for v in (act.avg_hr_bpm, act.max_hr_bpm):
        if v is not None and not HR_MIN_BPM <= v <= HR_MAX_BPM:
            out.append(f"heart rate {v}")
    hr = act.streams.hr_bpm
    if hr is not None and ((hr[np.isfinite(hr)] < HR_MIN_BPM) | (hr[np.isfinite(hr)] > HR_MAX_BPM)).any():
        out.append("heart-rate sample out of bounds")
    if act.timer_s is not None and act.timer_s > act.elapsed_s + 60:
        out.append(f"timer {act.timer_s} > elapsed {act.elapsed_s}")
    if act.moving_s is not None and act.moving_s > (act.timer_s or act.elapsed_s) + 60:
        out.append(f"moving {act.moving_s}")
    if act.utc_offset_s is not None and act.utc_offset_s % 900:
        out.append(f"offset {act.utc_offset_s}")
    for lap in act.laps:
        for v in (lap.avg_hr_bpm, lap.max_hr_bpm):
            if v is not None and not HR_MIN_BPM <= v <= HR_MAX_BPM:
                out.append(f"lap heart rate {v}")
    return out


@needs_corpus
def test_every_corpus_activity_is_plausible() -> None:
    limits = Limits()
    checked, bad = 0, {}
    for item in iter_items([CORPUS], limits):
        if item.error is not None or item.skip is not None:
            continue
        status, payload = decode_safely(load_bytes(item, limits), item.fmt, item.hints, "UTC")
        if status != "ok":
            continue
        for act in payload:
            for one in (act, *act.legs):
                checked += 1
                if problems := _problems(one):
                    bad[item.display] = problems
    assert checked > 90
    assert bad == {}
