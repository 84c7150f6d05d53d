"""The importer asks the fast FIT decoder for only the messages normalisation reads.

Skipping the rest (hrv, gps_metadata, developer descriptions...) halves decode
time; it must not change a single stored value, nor the verdict on a damaged file.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.errors import IngestError
from ingest.fit import NORMALIZED, read_messages
from ingest.fit.normalize import to_activities
from tests.helpers import CORPUS, FIXTURES

FILES = sorted(FIXTURES.glob("**/*.fit")) + (sorted(p for p in CORPUS.glob("**/*") if p.suffix.lower() == ".fit") if CORPUS.is_dir() else [])


def _outcome(data: bytes, only: frozenset[int] | None) -> Any:
    try:
        return to_activities(read_messages(data, "fast", only))
    except IngestError as exc:
        return (type(exc).__name__, str(exc))


def _same(a: Any, b: Any) -> bool:
    if dataclasses.is_dataclass(a):
        return type(a) is type(b) and all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_filtered_decode_gives_the_same_activities(path: Path) -> None:
    data = path.read_bytes()
    full, filtered = _outcome(data, None), _outcome(data, NORMALIZED)
    assert _same(full, filtered), f"{path}: {full!r:.300} != {filtered!r:.300}"


def test_filter_really_drops_other_messages() -> None:
    data = (FIXTURES / "python-fitparse" / "DeveloperData.fit").read_bytes()
    everything = read_messages(data, "fast").messages
    kept = read_messages(data, "fast", NORMALIZED).messages
    assert set(kept) < set(everything)
    assert {"file_id"} <= set(kept) and not {"developer_data_id", "field_description"} & set(kept)
