"""The data directory and the SQLite store are the user's alone (GPS tracks show where they live).

A new data directory is created 0700 and a new SQLite file 0600 before
SQLAlchemy opens it: SQLite creates the ``-wal`` and ``-shm`` files with the
permissions of the database file, so they are 0600 too, whatever the umask.
A store left 0644 by an older version is tightened the same way.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) with the directory itself 0700; an existing one is left as it is."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)


def _tighten(path: Path) -> None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077:
        os.chmod(path, PRIVATE_FILE)


def prepare_store(data_dir: Path, db_url: str) -> None:
    """The data dir 0700; for a SQLite URL its file (and -wal/-shm, -journal) 0600, created empty if missing."""
    private_dir(data_dir)
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return
    db = Path(url.database).expanduser()
    private_dir(db.parent)
    try:
        # O_EXCL: create only; an empty file is a valid SQLite database.
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass
    for suffix in ("", "-wal", "-shm", "-journal"):
        _tighten(Path(f"{db}{suffix}"))
