"""Limits that keep hostile inputs (bombs, huge files, deep nesting) harmless."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 100 * 1024 * 1024
    max_archive_bytes: int = 4 * 1024**3
    max_archive_entries: int = 100_000
    max_compression_ratio: float = 200.0
    max_nesting: int = 3

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Limits:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
