"""Writing the report file safely: a private temp file in the target directory, then a rename.

The temp file has an unpredictable name and is created with ``O_EXCL`` (via
``tempfile.mkstemp``), so a symlink planted at a guessable ``report.html.tmp``
cannot redirect the write; the rename replaces the target atomically (a
symlink at the target itself is replaced, never followed). Mode 0600: the
report shows the athlete's runs.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_report(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (0600) atomically; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
