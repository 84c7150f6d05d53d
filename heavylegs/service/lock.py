"""One service per database.

SQLite: an OS lock (``flock``) on ``<db path>.lock``; PostgreSQL: a session
advisory lock on a connection held for the process lifetime. Both vanish
with the process, even after ``kill -9``, so a crash never leaves a stale lock.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

# Arbitrary, but fixed: every heavylegs service on a PostgreSQL database asks for this key.
ADVISORY_KEY = 7243002


class AlreadyRunning(Exception):
    """Another ``heavylegs run`` holds the lock on this database."""


class ServiceLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._fd: int | None = None
        self._conn: Any = None

    def describe(self) -> str:
        url = make_url(str(self.engine.url))
        if url.get_backend_name() == "sqlite":
            return f"{url.database}.lock"
        return f"advisory lock {ADVISORY_KEY} on {url.render_as_string(hide_password=True)}"

    def acquire(self) -> "ServiceLock":
        url = make_url(str(self.engine.url))
        if url.get_backend_name() == "sqlite":
            self._acquire_file(Path(str(url.database)).expanduser())
        else:
            self._acquire_advisory()
        return self

    def _acquire_file(self, db_path: Path) -> None:
        lock_path = Path(f"{db_path}.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise AlreadyRunning(f"another heavylegs instance holds the lock {lock_path}") from exc
        # The pid is only informative; the flock is what counts.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _acquire_advisory(self) -> None:
        conn = self.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
        conn.commit()
        if not got:
            conn.close()
            raise AlreadyRunning(f"another heavylegs instance holds the lock ({self.describe()})")
        self._conn = conn

    def alive(self) -> bool:
        """For /healthz: a PostgreSQL lock dies with its connection."""
        if self._conn is None:
            return self._fd is not None
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
