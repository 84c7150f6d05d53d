"""The reference FIT decoder (fitdecode -> FitMessages) on real files, checked against fitparse."""
from __future__ import annotations

import struct
from pathlib import Path

import fitdecode.utils
import fitparse
import numpy as np
import pytest

from ingest.errors import DecodeError
from ingest.fit import read_messages
from ingest.fit.hr_events import HrEventClock, unpack_12bit
from ingest.fit.messages import HR_FIELDS, RECORD_FIELDS
from tests.helpers import FIXTURES

FP = FIXTURES / "python-fitparse"
FIT_EPOCH = 631065600


def ref(path: Path):
    return read_messages(path.read_bytes(), decoder="reference")


def fitparse_records(path: Path) -> list[dict[str, object]]:
    """Raw record values as fitparse (an independent decoder) sees them."""
    ff = fitparse.FitFile(str(path))
    return [{f.name: f.raw_value for f in m.fields} for m in ff.get_messages("record")]


def test_compressed_timestamp_headers_are_resolved() -> None:
    # FR70: every record after the first uses a compressed-timestamp header
    path = FP / "compressed-speed-distance.fit"
    rec = ref(path).records()
    expected = np.array([r["timestamp"] for r in fitparse_records(path)], dtype=float) + FIT_EPOCH
    assert rec["timestamp"].size == expected.size == 755
    np.testing.assert_array_equal(rec["timestamp"], expected)
    # distance comes only from the compressed_speed_distance components, accumulated
    assert np.nanmax(rec["distance"]) == pytest.approx(10248.7, abs=0.1)


def test_compressed_timestamps_second_fr70_file() -> None:
    rec = ref(FP / "antfs-dump.63.fit").records()
    assert np.isfinite(rec["timestamp"]).all()
    assert (np.diff(rec["timestamp"]) > 0).all()


def test_columns_are_the_documented_ones() -> None:
    msgs = ref(FP / "activity-small-fenix2-run.fit")
    rec = msgs.records()
    assert set(rec) <= set(RECORD_FIELDS)
    assert {"timestamp", "position_lat", "heart_rate", "cadence", "enhanced_speed"} <= set(rec)
    lengths = {v.size for v in rec.values()}
    assert lengths == {len(fitparse_records(FP / "activity-small-fenix2-run.fit"))}
    assert all(v.dtype == np.float64 for v in rec.values())
    assert "record" not in msgs.messages and "hr" not in msgs.messages


def test_position_stays_in_semicircles() -> None:
    path = FP / "garmin-fenix-5-run.fit"
    rec = ref(path).records()
    lat = np.array([r.get("position_lat") or np.nan for r in fitparse_records(path)], dtype=float)
    np.testing.assert_array_equal(rec["position_lat"], lat)


def test_developer_fields_are_excluded() -> None:
    msgs = ref(FP / "DeveloperData.fit")
    # the file defines a developer field "doughnuts_earned" on its records
    assert "doughnuts_earned" not in msgs.records()
    assert all("doughnuts_earned" not in m for ms in msgs.messages.values() for m in ms)
    assert msgs.records()["heart_rate"].tolist() == [140.0, 143.0, 144.0]


def test_header_crc_zero_is_valid() -> None:
    data = (FP / "2013-02-06-12-11-14.fit").read_bytes()
    assert data[0] == 14 and data[12:14] == b"\x00\x00"  # FR110 writes a zero header CRC
    msgs = read_messages(data, decoder="reference")
    assert not msgs.truncated and msgs.records()["timestamp"].size > 500


def test_header_crc_zeroed_with_recomputed_file_crc() -> None:
    data = bytearray((FP / "activity-small-fenix2-run.fit").read_bytes())
    data[12:14] = b"\x00\x00"
    body = bytes(data[:-2])
    data[-2:] = struct.pack("<H", fitdecode.utils.compute_crc(body))
    assert read_messages(bytes(data), decoder="reference").records()["timestamp"].size > 2000


def test_file_crc_mismatch_fails_the_file() -> None:
    with pytest.raises(DecodeError, match="CRC mismatch"):
        ref(FP / "activity-filecrc.fit")


def test_flipped_byte_fails_the_file() -> None:
    data = bytearray((FP / "Activity.fit").read_bytes())
    data[400] ^= 0x01
    with pytest.raises(DecodeError, match="CRC"):
        read_messages(bytes(data), decoder="reference")


@pytest.mark.parametrize(("payload", "reason"), [(b"", "empty file"), (b"<gpx></gpx>", "not a FIT file"), (b"\x0e" * 40, "not a FIT file")])
def test_not_fit(payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        read_messages(payload, decoder="reference")
    assert err.value.reason == reason


def test_unexpected_eof_is_salvaged() -> None:
    full = ref(FP / "Activity.fit")
    cut = ref(FP / "activity-unexpected-eof.fit")
    assert cut.truncated and not full.truncated
    assert cut.damage is not None and cut.damage.startswith("truncated at byte ")
    np.testing.assert_array_equal(cut.records()["timestamp"], full.records()["timestamp"])


@pytest.mark.parametrize("length", range(20, 760, 53))
def test_any_truncation_salvages_a_prefix_or_fails_cleanly(length: int) -> None:
    data = (FP / "Activity.fit").read_bytes()
    full = ref(FP / "Activity.fit").records()["timestamp"]
    try:
        msgs = read_messages(data[:length], decoder="reference")
    except DecodeError as err:
        assert err.reason
        return
    assert msgs.truncated
    offset = int(msgs.damage.rsplit(" ", 1)[-1])
    assert offset <= length
    got = msgs.records().get("timestamp", np.zeros(0))
    np.testing.assert_array_equal(got, full[: got.size])


def test_junk_after_a_complete_file_is_salvaged() -> None:
    msgs = ref(FP / "activity-settings-corruptheader.fit")
    assert msgs.truncated and msgs.damage == "unreadable data at byte 771"  # Activity.fit is 771 bytes
    assert msgs.records()["timestamp"].size == 14


def test_second_chained_file_without_data() -> None:
    msgs = ref(FP / "activity-settings-nodata.fit")
    assert msgs.truncated and msgs.chains == 2
    assert msgs.first("session") is not None


def test_undefined_message_type_is_salvaged() -> None:
    msgs = ref(FP / "strava-android-app-201.10-b1218918.fit")
    assert msgs.truncated
    assert msgs.damage == "undefined message type at byte 7471"
    assert msgs.first("session")["total_distance"] == pytest.approx(11274.04)


def test_chained_files_are_counted() -> None:
    assert ref(FP / "sample_mulitple_header.fit").chains == 4
    assert ref(FP / "event_timestamp.fit").chains == 5
    assert ref(FP / "Activity.fit").chains == 1


def test_enum_and_datetime_values_in_messages() -> None:
    msgs = ref(FP / "activity-small-fenix2-run.fit")
    session = msgs.first("session")
    assert session["sport"] == "running"
    assert session["start_time"].tzinfo is not None
    assert msgs.first("file_id")["garmin_product"] == "fenix2"


def test_unpack_12bit_little_endian() -> None:
    # 0x654321 as bytes 21 43 65: low 12 bits 0x321, next 12 bits 0x654
    assert unpack_12bit([0x21, 0x43, 0x65], 2) == [0x321, 0x654]
    assert unpack_12bit([0x21, 0x43, 0x65], 5) == [0x321, 0x654]


def test_hr_event_clock_rollover_and_anchor() -> None:
    clock = HrEventClock()
    clock.set_anchor(1000.0, 0.5, 4095)
    assert clock.to_unix(4095) == 1000.5
    # low bits 1 after 4095: the 12-bit counter rolled over -> 4097
    assert clock.packed_events([0x01, 0x00], 1) == [4097]
    assert clock.to_unix(4097) == pytest.approx(1000.5 + 2 / 1024)
    # the uint32 strap clock wraps too
    clock.set_anchor(2000.0, None, 2**32 - 1024)
    assert clock.to_unix(1024) == pytest.approx(2002.0)
    assert HrEventClock().to_unix(5) is None  # no anchor yet


def test_hr_beats_are_flattened_and_timed() -> None:
    msgs = ref(FP / "event_timestamp.fit")
    hr = msgs.columns["hr"]
    assert set(hr) == set(HR_FIELDS)
    t = hr["event_timestamp"]
    assert t.size == hr["filtered_bpm"].size > 10000
    session = msgs.first("session")
    start = session["start_time"].timestamp()
    end = start + session["total_elapsed_time"]
    # the strap buffers from when it is put on, so allow slack before the swim
    assert t.min() > start - 1800 and t.max() < end + 600
    # a mis-seeded 12-bit accumulator shows up as beats stepping back by up to 4 s
    gaps = np.diff(t)
    assert (gaps >= 0).all() and gaps.max() < 5.0
    assert np.nanmin(hr["filtered_bpm"]) > 30 and np.nanmax(hr["filtered_bpm"]) < 220


def test_hr_matches_garmin_sdk_merge() -> None:
    """The FIT SDK's own merge of hr messages into records is the independent reference."""
    sdk = pytest.importorskip("garmin_fit_sdk")
    from ingest.fit import decode_fit

    data = (FP / "event_timestamp.fit").read_bytes()
    messages, errors = sdk.Decoder(sdk.Stream.from_byte_array(bytearray(data))).read(merge_heart_rates=True)
    assert not errors
    sdk_t = np.array([r["timestamp"].timestamp() for r in messages["record_mesgs"]])
    sdk_hr = np.array([r.get("heart_rate") or np.nan for r in messages["record_mesgs"]], dtype=float)
    act = decode_fit(data, decoder="reference")[0]
    ours_t = act.streams.time_s + act.start_utc.timestamp()
    _, i_ours, i_sdk = np.intersect1d(ours_t, sdk_t, return_indices=True)
    diff = np.abs(act.streams.hr_bpm[i_ours] - sdk_hr[i_sdk])
    assert i_ours.size > 4000
    assert np.nanmedian(diff) <= 2.0  # SDK averages beats per record, we interpolate
