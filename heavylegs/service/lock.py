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


def lock_path(database: str) -> Path:
    """``<real path of the database>.lock``: a symlink (or another spelling) of the same database
    file leads to the same lock, so two services can never share one store."""
    return Path(f"{os.path.realpath(Path(database).expanduser())}.lock")


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
            return f"{lock_path(str(url.database))}"
        return f"advisory lock {ADVISORY_KEY} on {url.render_as_string(hide_password=True)}"

    def acquire(self) -> ServiceLock:
        url = make_url(str(self.engine.url))
        if url.get_backend_name() == "sqlite":
            self._acquire_file(lock_path(str(url.database)))
        else:
            self._acquire_advisory()
        return self

    def _acquire_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a symlink planted at the lock's name cannot redirect our write.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise AlreadyRunning(f"another heavylegs instance holds the lock {path}") from exc
        os.fchmod(fd, 0o600)  # a lock file left by an older version was 0644
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
