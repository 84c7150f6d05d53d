"""The vectorised FIT decoder (ingest.fit.fast) against the fitdecode reference and hostile bytes.

Every real file must decode to exactly what the reference gives (NaN-aware),
or be declined (FastPathUnsupported, then the reference decodes it) only
when it is damaged. Mutated files must end in an equal result, a
DecodeError the reference also raises, or FastPathUnsupported: never another
exception, never a hang.
"""
from __future__ import annotations

import csv
import hashlib
import math
import os
import pickle
import random
import struct
from pathlib import Path
from typing import Any

import fitdecode
import numpy as np
import pytest

from benchmarks.synth_fit import FIT_EPOCH_UNIX, FitWriter, fit_crc, synthetic_run
from ingest.errors import DecodeError
from ingest.fit import fast, reference
from ingest.fit.fast.crc import crc16, crc16_py
from ingest.fit.messages import FitMessages
from tests.helpers import CORPUS, FIXTURES, needs_corpus

pytestmark = pytest.mark.timeout(240)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return bool(a == b)


def assert_same(ref: FitMessages, got: FitMessages) -> None:
    assert got.decoder == "fast"
    assert (got.chains, got.truncated, got.damage) == (ref.chains, ref.truncated, ref.damage)
    assert set(got.columns) == set(ref.columns)
    for name, ref_cols in ref.columns.items():
        assert set(got.columns[name]) == set(ref_cols), name
        for key, want in ref_cols.items():
            have = got.columns[name][key]
            assert have.dtype == np.float64 and have.shape == want.shape, (name, key)
            same = (have == want) | (np.isnan(have) & np.isnan(want))
            assert same.all(), (name, key, np.flatnonzero(~same)[:5], have[~same][:5], want[~same][:5])
    assert set(got.messages) == set(ref.messages)
    for name, want_list in ref.messages.items():
        have_list = got.messages[name]
        assert len(have_list) == len(want_list), name
        for i, (have, want) in enumerate(zip(have_list, want_list)):
            assert set(have) == set(want), (name, i, set(have) ^ set(want))
            bad = {k: (have[k], want[k]) for k in want if not _same_value(have[k], want[k])}
            assert not bad, (name, i, bad)


def _reference(data: bytes) -> FitMessages | Exception:
    try:
        return reference.read_messages(data)
    except Exception as exc:  # noqa: BLE001 - fitdecode itself trips on some garbage
        return exc


def check(data: bytes, ref: FitMessages | Exception | None = None) -> str:
    """Decode with both; 'same', 'decode-error' or 'fallback' (anything else fails the test).

    Where the reference itself crashes (fitdecode on some garbage), the fast
    path must decline, so that the caller ends up with the reference's verdict.
    """
    if ref is None:
        ref = _reference(data)
    try:
        got = fast.read_messages(data)
        for _ in got.messages.values():  # message types decode on first read: a decline shows here
            pass
    except fast.FastPathUnsupported:
        return "fallback"
    except DecodeError as exc:
        # Same verdict; where fitdecode crashes before reaching the CRC (the reference's
        # DecodeError then chains the crash as its cause), "corrupt" is still right.
        assert isinstance(ref, Exception), "fast path refused what the reference decodes"
        assert not isinstance(ref, DecodeError) or ref.__cause__ is not None or str(ref) == str(exc)
        return "decode-error"
    assert not isinstance(ref, Exception), f"reference raised {ref!r}, fast path decoded"
    assert_same(ref, got)
    return "same"


# --- real files -------------------------------------------------------------------------------

FIXTURE_FITS = sorted(p for p in FIXTURES.glob("*/*") if p.suffix.lower() == ".fit")


@pytest.mark.parametrize("path", FIXTURE_FITS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_matches_reference(path: Path) -> None:
    data = path.read_bytes()
    ref = _reference(data)
    outcome = check(data, ref)
    damaged = isinstance(ref, DecodeError) or ref.truncated
    # Only damaged files may be left to the reference.
    assert outcome != "fallback" or damaged


def _corpus_fits() -> list[tuple[str, int]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["format"] == "fit"]
    return sorted((r["path"], int(r["n_points"] or 0)) for r in rows)


_CODE_KEY = hashlib.sha256(
    b"".join(Path(reference.__file__).with_name(n).read_bytes() for n in ("reference.py", "hr_events.py", "messages.py"))
    + fitdecode.__version__.encode()
).hexdigest()[:16]


def _cached_reference(request: pytest.FixtureRequest, data: bytes) -> FitMessages | Exception:
    """The reference takes ~60 s over the large corpus files: keep its output in pytest's cache."""
    cache = getattr(request.config, "cache", None)
    if cache is None:  # pytest run with -p no:cacheprovider
        return _reference(data)
    folder = cache.mkdir("fit_reference")
    path = folder / f"{hashlib.sha256(data).hexdigest()[:24]}-{_CODE_KEY}.pickle"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    ref = _reference(data)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(ref))
    tmp.replace(path)
    return ref


_CORPUS = [
    pytest.param(p, id=p, marks=[pytest.mark.slow] if n > 3000 else [])
    for p, n in _corpus_fits()
]


@needs_corpus
@pytest.mark.parametrize("relpath", _CORPUS)
def test_corpus_file_matches_reference(relpath: str, request: pytest.FixtureRequest) -> None:
    data = (CORPUS / relpath).read_bytes()
    ref = _cached_reference(request, data)
    outcome = check(data, ref)
    damaged = isinstance(ref, DecodeError) or ref.truncated
    assert outcome != "fallback" or damaged, "an undamaged file fell back to the reference"


# --- CRC ----------------------------------------------------------------------------------------


def test_crc_check_value_and_lengths() -> None:
    # CRC-16/ARC's published check value for b"123456789".
    assert crc16_py(b"123456789") == 0xBB3D
    rng = random.Random(7)
    for n in (0, 1, 31, 511, 512, 513, 4095, 65537, 300_001):
        blob = bytes(rng.getrandbits(8) for _ in range(n))
        assert crc16(blob) == crc16_py(blob) == fitdecode.utils.compute_crc(blob) if n else crc16(blob) == 0


# --- synthetic files with values known from how they were written ----------------------------------


def test_synthetic_run_values() -> None:
    start = 1_700_000_000
    data = synthetic_run(hours=0.05, start_unix=start)
    got = fast.read_messages(data)
    assert_same(reference.read_messages(data), got)
    rec = got.records()
    i = np.arange(180)
    speed_raw = ((3.0 + 0.5 * np.sin(i / 600.0)) * 1000).astype(np.int64)
    assert np.array_equal(rec["timestamp"], start + i.astype(float))
    assert np.array_equal(rec["speed"], speed_raw / 1000.0)
    assert np.array_equal(rec["enhanced_speed"], speed_raw / 1000.0)  # component expansion
    assert np.array_equal(rec["cadence"], 85.0 + i % 5)
    assert got.first("session")["sport"] == "running"
    assert got.first("lap")["total_elapsed_time"] == 180.0


def _compressed_file() -> tuple[bytes, list[int], list[float], list[float]]:
    """FR70-style records: compressed timestamps and compressed_speed_distance."""
    t0 = 1_000_000_000  # FIT seconds
    w = FitWriter()
    w.define(0, 0, [(0, 0x00), (4, 0x86)])
    w.message(0, 4, t0)
    w.define(1, 20, [(253, 0x86), (3, 0x02)])
    w.message(1, t0, 120)
    w.define(2, 20, [(8, 0x0D, 3), (3, 0x02)])
    times, speeds, distances = [t0], [math.nan], [math.nan]
    t, dist = t0, 0
    rng = random.Random(3)
    for k in range(300):
        t += rng.choice((1, 1, 2, 5, 31))  # a 5-bit offset covers gaps up to 31 s
        step = rng.randrange(0, 200)  # distance in 1/16 m, accumulated modulo 4096 in the file
        dist += step
        speed = rng.randrange(0, 4096)
        packed = speed | ((dist & 0xFFF) << 12)
        w.message(2, packed.to_bytes(3, "little"), 130 + k % 20, time_offset=t & 0x1F)
        times.append(t)
        speeds.append(speed / 100.0)
        distances.append(dist / 16.0)
    return w.finish(), times, speeds, distances


def test_compressed_timestamps_and_speed_distance() -> None:
    data, times, speeds, distances = _compressed_file()
    got = fast.read_messages(data)
    assert_same(reference.read_messages(data), got)
    rec = got.records()
    assert np.array_equal(rec["timestamp"], np.array(times, dtype=float) + FIT_EPOCH_UNIX)
    assert np.array_equal(rec["speed"], np.array(speeds), equal_nan=True)
    assert np.array_equal(rec["distance"], np.array(distances), equal_nan=True)


def test_chained_files_and_big_endian() -> None:
    w = FitWriter()
    w.raw(struct.pack(">BBBHB", 0x40, 0, 1, 20, 2) + bytes([253, 4, 0x86, 3, 1, 0x02]))
    for k in range(50):
        w.raw(b"\x00" + struct.pack(">IB", 1_000_000_000 + k, 100 + k))
    one = w.finish(header_crc=False)  # header CRC 0 is valid
    data = one + synthetic_run(hours=0.01)
    got = fast.read_messages(data)
    assert_same(reference.read_messages(data), got)
    assert got.chains == 2
    assert np.array_equal(got.records()["heart_rate"][:50], 100.0 + np.arange(50))


# --- hostile input ------------------------------------------------------------------------------


def _with_crc(body_and_header: bytes) -> bytes:
    return body_and_header + struct.pack("<H", fit_crc(body_and_header))


def _bases() -> list[bytes]:
    return [(FIXTURES / "python-fitparse" / "Activity.fit").read_bytes(), synthetic_run(hours=0.005), _compressed_file()[0]]


@pytest.mark.timeout(60)
def test_truncations() -> None:
    outcomes = []
    for base in _bases():
        for cut in list(range(0, 40)) + list(range(40, len(base), 13)):
            outcomes.append(check(base[:cut]))
    # Truncations are salvaged by the fast path itself, exactly as the reference does.
    assert "fallback" not in outcomes
    assert "decode-error" in outcomes and outcomes.count("same") > len(outcomes) // 2


@pytest.mark.timeout(60)
def test_random_byte_flips() -> None:
    rng = random.Random(11)
    for base in _bases():
        for trial in range(120):
            data = bytearray(base[:-2])
            for _ in range(rng.choice((1, 2, 8))):
                data[rng.randrange(14, len(data))] = rng.getrandbits(8)
            # Half the time keep the CRC right, so the damage reaches the decoder proper.
            check(_with_crc(bytes(data)) if trial % 2 else bytes(data) + base[-2:])


@pytest.mark.timeout(60)
def test_absurd_definitions_and_lying_sizes() -> None:
    base = synthetic_run(hours=0.005)
    body = bytearray(base[:-2])
    defs = [i for i in range(14, len(body) - 6) if body[i] in (0x40, 0x41, 0x42) and body[i + 1] == 0 and body[i + 2] == 0]
    for at in defs[:3]:
        for count in (0, 1, 255):
            mutated = bytearray(body)
            mutated[at + 5] = count
            check(_with_crc(bytes(mutated)))
        for size in (0, 3, 7, 255):
            mutated = bytearray(body)
            mutated[at + 7] = size  # first field's size
            check(_with_crc(bytes(mutated)))
        mutated = bytearray(body)
        mutated[at] |= 0x20  # developer flag with whatever count follows
        check(_with_crc(bytes(mutated)))
    for delta in (-7, -1, 1, 2, 1000, 2**31):
        mutated = bytearray(body)
        size = (struct.unpack_from("<I", mutated, 4)[0] + delta) % 2**32
        struct.pack_into("<I", mutated, 4, size)
        struct.pack_into("<H", mutated, 12, fit_crc(bytes(mutated[:12])))
        check(_with_crc(bytes(mutated)))
        check(bytes(mutated) + base[-2:])
    for tail in (b"\x0e", b"\x0e\x10" + b"\x00" * 10, base[:20], b"garbage!" * 3):
        check(base + tail)
    for junk in (b"", b"\x0c", b"not a fit file at all", b"\x0e\x10\x00\x00\xff\xff\xff\xff.FIT\x00\x00"):
        with pytest.raises((DecodeError, fast.FastPathUnsupported)):
            fast.read_messages(junk)


def test_other_messages_are_decoded_on_first_read_only() -> None:
    from ingest.fit import FALLBACKS, read_messages
    from ingest.fit.fast.lazy import LazyMessages

    data = synthetic_run(hours=0.1)
    got = fast.read_messages(data)
    assert isinstance(got.messages, LazyMessages)
    # Names and their order are known before anything is decoded.
    assert list(got.messages) == list(reference.read_messages(data).messages)
    assert "decoded=[]" in repr(got.messages)
    assert got.first("session") is not None and "decoded=['session']" in repr(got.messages)
    assert pickle.loads(pickle.dumps(got.messages)) == dict(reference.read_messages(data).messages)
    # A type the fast path declines on first read is answered by the reference, counted once.
    auto = read_messages(data)
    assert isinstance(auto.messages, LazyMessages) and auto.messages.fallback is not None
    before = sum(FALLBACKS.values())
    answer = auto.messages.fallback(fast.FastPathUnsupported("test"))
    assert answer == reference.read_messages(data).messages
    assert sum(FALLBACKS.values()) == before + 1
    # Asked for by number: decoded at once into a plain dict.
    assert type(fast.read_messages(data, frozenset({18})).messages) is dict
