"""Hostile FIT bytes end in an Activity or an ingest error, never in a raw exception.

fitdecode (the reference decoder, and the fallback of the fast one) crashes
on some damaged files with struct.error, AssertionError, ValueError,
TypeError...; those must reach the user as DecodeError with a reason, and a
crash must never abort an import batch.
"""
from __future__ import annotations

import random
import struct
from collections import Counter

import pytest

from benchmarks.synth_fit import fit_crc
from ingest.decode import decode_bytes, decode_safely
from ingest.errors import DecodeError, IngestError
from ingest.fit import read_messages, reference
from ingest.model import Activity
from tests.helpers import FIXTURES

# Small real files, so that ~200 decodes with both decoders stay within a few seconds.
BASES = [
    FIXTURES / "python-fitparse" / name
    for name in ("Activity.fit", "DeveloperData.fit", "MonitoringFile.fit", "Settings.fit", "compressed-speed-distance.fit",
                 "garmin-fenix-5-run.fit", "activity-unexpected-eof.fit")
] + [FIXTURES / "sweatpy" / "2020-06-01-16-52-40.fit"]


def _with_crc(body: bytes) -> bytes:
    """``body`` (header and data, no CRC) with a correct file CRC appended."""
    return body + struct.pack("<H", fit_crc(body))


def _mutate(base: bytes, rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(("flip", "flip-crc", "truncate", "header-size", "data-size", "bits-crc"))
    if kind == "truncate":
        return kind, base[: rng.randrange(len(base))]
    if kind in ("flip", "flip-crc"):
        body = bytearray(base[:-2])
        for _ in range(rng.choice((1, 2, 4, 16))):
            body[rng.randrange(len(body))] = rng.getrandbits(8)
        # With a repaired CRC the damage reaches the message decoder instead of the CRC check.
        return kind, _with_crc(bytes(body)) if kind == "flip-crc" else bytes(body) + base[-2:]
    if kind == "bits-crc":
        body = bytearray(base[:-2])
        for _ in range(rng.choice((1, 3))):
            body[rng.randrange(12, len(body))] ^= 1 << rng.randrange(8)
        return kind, _with_crc(bytes(body))
    data = bytearray(base)
    if kind == "header-size":
        data[0] = rng.choice((0, 1, 11, 13, 15, 16, 40, 255))
    else:
        lie = rng.choice((0, 1, len(data) - 15, len(data) + 1, len(data) * 2, 2**32 - 1, rng.getrandbits(32)))
        struct.pack_into("<I", data, 4, lie)
        if data[0] >= 14 and rng.random() < 0.5:  # a header CRC that vouches for the lie
            struct.pack_into("<H", data, 12, fit_crc(bytes(data[:12])))
    return kind, bytes(data)


def _outcome(call: object, data: bytes) -> str:
    try:
        result = call(data)  # type: ignore[operator]
    except IngestError as exc:
        assert exc.reason and "\n" not in exc.reason, exc.reason
        return "crash" if exc.__cause__ is not None else type(exc).__name__
    if isinstance(result, list):
        assert all(isinstance(a, Activity) for a in result)
    return "ok"


@pytest.mark.timeout(60)
def test_mutated_fixtures_decode_or_raise_ingest_errors() -> None:
    rng = random.Random(20240607)
    bases = [p.read_bytes() for p in BASES]
    seen: Counter[str] = Counter()
    for _case in range(200):  # the number shows in a failure's traceback locals
        kind, data = _mutate(rng.choice(bases), rng)
        # Any other exception escapes and fails the test with the case in its traceback.
        seen[_outcome(lambda d: decode_bytes(d, "fit"), data)] += 1
        seen[_outcome(reference.read_messages, data)] += 1
    # The mutations must exercise every path: decodes, refusals and caught fitdecode crashes.
    assert seen["ok"] and seen["DecodeError"] and seen["crash"], seen


def _first_definition(data: bytes) -> int:
    header = data[0]
    assert data[header] & 0xF0 == 0x40, "fixture starts with a definition message"
    return header


def test_header_longer_than_14_bytes_is_a_decode_error() -> None:
    data = bytearray((FIXTURES / "python-fitparse" / "Activity.fit").read_bytes())
    data[0] = 16  # fitdecode would unpack the header CRC from 4 bytes: struct.error
    for decoder in ("reference", "auto"):
        with pytest.raises(DecodeError, match=r"corrupt FIT data at byte 0 \(fitdecode failed: struct.error"):
            read_messages(bytes(data), decoder)


def test_zero_size_field_is_a_decode_error() -> None:
    base = (FIXTURES / "python-fitparse" / "Activity.fit").read_bytes()
    body = bytearray(base[:-2])
    body[_first_definition(base) + 7] = 0  # the first field's size: fitdecode raises ValueError('size')
    with pytest.raises(DecodeError, match=r"corrupt FIT data at byte \d+ \(fitdecode failed: ValueError"):
        read_messages(_with_crc(bytes(body)), "reference")
    with pytest.raises(DecodeError):
        decode_bytes(_with_crc(bytes(body)), "fit")


def test_crash_in_junk_after_a_complete_file_keeps_the_file() -> None:
    base = (FIXTURES / "python-fitparse" / "Activity.fit").read_bytes()
    junk = bytearray(base[:12])
    junk[0] = 16  # a second "header" fitdecode crashes on, like the case above
    msgs = read_messages(base + bytes(junk) + bytes(4), "reference")
    assert msgs.truncated and msgs.damage == f"unreadable data at byte {len(base)}"
    whole = decode_bytes(base, "fit")
    salvaged = decode_bytes(base + bytes(junk) + bytes(4), "fit")
    assert [a.start_utc for a in salvaged] == [a.start_utc for a in whole]
    assert [len(a.streams.time_s) for a in salvaged] == [len(a.streams.time_s) for a in whole]


def test_decode_safely_turns_every_outcome_into_a_status() -> None:
    base = (FIXTURES / "python-fitparse" / "Activity.fit").read_bytes()
    assert decode_safely(base, "fit", {}, "UTC")[0] == "ok"
    assert decode_safely((FIXTURES / "python-fitparse" / "Settings.fit").read_bytes(), "fit", {}, "UTC")[0] == "skipped"
    bad = bytearray(base)
    bad[0] = 16
    status, reason = decode_safely(bytes(bad), "fit", {}, "UTC")
    assert status == "failed" and reason.startswith("corrupt FIT data")
    assert decode_safely(b"\x00" * 40, None, {}, "UTC") == ("failed", "unsupported file type (not FIT, GPX or TCX)")


def test_decode_safely_reports_an_unexpected_exception_briefly() -> None:
    # A str where bytes belong reaches the XML layer's TypeError: the kind of bug the net is for.
    status, reason = decode_safely("<gpx>" + "x" * 10_000, "gpx", {}, "UTC")  # type: ignore[arg-type]
    assert status == "failed"
    assert reason.startswith("decoder error: TypeError") and len(reason) < 300


def test_every_fixture_still_decodes_or_says_why() -> None:
    for path in sorted(FIXTURES.glob("*/*.fit")):
        status, payload = decode_safely(path.read_bytes(), "fit", {}, "UTC")
        assert status in ("ok", "skipped", "failed"), path
        assert status == "ok" or (isinstance(payload, str) and "decoder error" not in payload), (path, payload)
