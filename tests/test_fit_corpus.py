"""Every FIT file of ../shared/corpus, against the MANIFEST (skipped without the corpus)."""
from __future__ import annotations

import csv
from functools import cache

import numpy as np
import pytest

from ingest.errors import DecodeError, IngestError, NotAnActivity
from ingest.fit import decode_fit
from ingest.model import Activity
from tests.helpers import CORPUS, needs_corpus

pytestmark = needs_corpus


def _manifest() -> dict[str, dict[str, str]]:
    if not CORPUS.is_dir():
        return {}
    with open(CORPUS / "MANIFEST.tsv", newline="") as fh:
        return {row["path"]: row for row in csv.DictReader(fh, delimiter="\t")}


MANIFEST = _manifest()
FIT_FILES = sorted(p for p, row in MANIFEST.items() if row["format"] == "fit")
# The MANIFEST's values for these came from a lenient read; our policy fails them.
CRC_DAMAGED = {p for p in FIT_FILES if "CRC Mismatch" in MANIFEST[p]["parse_note"]}
RUNS = [p for p in FIT_FILES if MANIFEST[p]["sport"].startswith("running") and p not in CRC_DAMAGED]


@cache
def outcome(path: str) -> list[Activity] | IngestError:
    try:
        return decode_fit((CORPUS / path).read_bytes())
    except IngestError as err:
        return err


@pytest.mark.parametrize("path", FIT_FILES)
def test_every_fit_file_decodes_or_says_why(path: str) -> None:
    result = outcome(path)
    if isinstance(result, IngestError):
        assert isinstance(result, (NotAnActivity, DecodeError)) and result.reason.strip()
        return
    [act] = result
    assert act.format == "fit" and act.elapsed_s >= 0
    s = act.streams
    for values in s.present().values():
        assert values.shape == s.time_s.shape and values.dtype == np.float64
    if len(s):
        assert s.time_s[0] >= 0 and (np.diff(s.time_s) > 0).all()


def test_corpus_has_runs() -> None:
    assert len(RUNS) >= 15


@pytest.mark.parametrize("path", RUNS)
def test_runs_match_manifest_within_one_percent(path: str) -> None:
    row = MANIFEST[path]
    result = outcome(path)
    assert not isinstance(result, IngestError), result
    [act] = result
    assert act.sport in ("running", "trail_running", "treadmill_running")
    assert act.elapsed_s == pytest.approx(float(row["duration_s"]), rel=0.01)
    if row["distance_m"]:
        assert act.distance_m == pytest.approx(float(row["distance_m"]), rel=0.01, abs=0.5)


@pytest.mark.parametrize("path", sorted(CRC_DAMAGED))
def test_crc_damaged_files_fail(path: str) -> None:
    result = outcome(path)
    assert isinstance(result, DecodeError) and "CRC" in result.reason


@pytest.mark.parametrize("path", [p for p in FIT_FILES if "file_type=" in MANIFEST[p]["features"] and "file_type=None" not in MANIFEST[p]["features"]])
def test_non_activity_files_are_skipped(path: str) -> None:
    kind = MANIFEST[path]["features"].split("file_type=")[1].split(";")[0].split("_")[0]
    result = outcome(path)
    assert isinstance(result, NotAnActivity) and kind in result.reason


def test_unterminated_sigma_file_is_salvaged() -> None:
    [act] = outcome("python-fitparse/tests/files/nick.fit")
    assert act.sport == "cycling"
    assert act.notes and act.notes[0].startswith("truncated at byte")
    assert act.elapsed_s == pytest.approx(16723.0, rel=0.01)
    assert act.distance_m == pytest.approx(113550.9, rel=0.01)


def test_misaligned_coros_field_imports() -> None:
    [act] = outcome("python-fitparse/tests/files/coros-pace-2-cycling-misaligned-fields.fit")
    assert act.sport == "cycling" and not act.notes
    assert act.distance_m == pytest.approx(32145.8, rel=0.01)


def test_fenix2_multisport_has_seven_legs() -> None:
    [act] = outcome("python-fitparse/tests/files/activity-large-fenxi2-multisport.fit")
    assert act.sport == "multisport" and len(act.legs) == 7
    assert [leg.sport for leg in act.legs][1:] == ["transition", "running", "transition", "running", "transition", "cycling"]
    assert sum(len(leg.streams) for leg in act.legs) == len(act.streams)
    assert all(len(leg.streams) == 0 or leg.streams.time_s[0] >= 0 for leg in act.legs)


@pytest.mark.parametrize(
    "path",
    [
        "GoldenCheetah/test/swims/Garmin945swimRRdata.fit",
        "GoldenCheetah/test/swims/GarminHRMswim.FIT",
        "fitdecode/tests/files/garmin-fr935-cr.fit",
    ],
)
def test_hrm_swim_files_have_heart_rate(path: str) -> None:
    [act] = outcome(path)
    assert act.sport == "swimming"
    assert act.streams.hr_bpm is not None and np.isfinite(act.streams.hr_bpm).mean() > 0.9


def test_session_without_records_imports_with_empty_streams() -> None:
    [act] = outcome("GoldenCheetah/test/rides/2012_02_05_09_03_59.fit")
    assert act.sport == "cycling" and len(act.streams) == 0
    assert act.elapsed_s == pytest.approx(38.4, rel=0.01)


def test_pool_swim_without_timestamps_in_records() -> None:
    [act] = outcome("GoldenCheetah/test/swims/AleV_Swim_2015-02-09-16-15.fit")
    assert act.sport == "swimming" and act.sub_sport == "lap_swimming" and not act.has_gps
    assert act.distance_m == pytest.approx(2400.0)
