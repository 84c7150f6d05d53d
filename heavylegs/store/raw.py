"""Original files, content-addressed by sha256, and what became of each one.

Keeping the bytes lets ``heavylegs rebuild`` re-derive every activity after an
upgrade; the outcomes let a re-import skip known non-activities without decoding.
"""
from __future__ import annotations

import time
import zlib

from sqlalchemy import Connection, delete, insert, select

from heavylegs.store.tables import file_outcomes, raw_files
from ingest.files import display_name


def record_outcome(conn: Connection, sha256: str, status: str, reason: str, path: str) -> None:
    conn.execute(delete(file_outcomes).where(file_outcomes.c.sha256 == sha256))
    conn.execute(insert(file_outcomes).values(sha256=sha256, status=status, reason=display_name(reason), path=display_name(path), ts=time.time()))


def store_raw(conn: Connection, sha256: str, fmt: str, data: bytes | None = None, *, data_z: bytes | None = None, size: int | None = None) -> None:
    """Keep the original bytes (zlib) under their sha256; a second copy costs nothing."""
    if conn.execute(select(raw_files.c.sha256).where(raw_files.c.sha256 == sha256)).first() is None:
        if data_z is None:
            assert data is not None
            data_z, size = zlib.compress(data, 1), len(data)
        conn.execute(insert(raw_files).values(sha256=sha256, format=fmt, size_bytes=size or 0, data_z=data_z, created_ts=time.time()))


def load_raw(conn: Connection, sha256: str) -> bytes | None:
    blob = conn.execute(select(raw_files.c.data_z).where(raw_files.c.sha256 == sha256)).scalar()
    return None if blob is None else zlib.decompress(blob)

