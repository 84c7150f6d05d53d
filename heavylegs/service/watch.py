"""Optional: scan a folder as soon as files land in it (``service.watch_files``).

The periodic scan stays the source of truth; file-system events only make it
come sooner, so a missed event (network shares, USB mounts) costs latency,
never data.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import watchfiles

log = logging.getLogger("heavylegs.service")


class FolderWatcher:
    def __init__(self, wake: Callable[[str], bool]) -> None:
        self.wake = wake
        self.folders: dict[str, str] = {}  # job id -> folder path
        self._stop = threading.Event()
        self._restart = threading.Event()
        self._thread: threading.Thread | None = None

    def update(self, folders: dict[str, str]) -> None:
        existing = {job: path for job, path in folders.items() if path and os.path.isdir(path)}
        if existing == self.folders:
            return
        self.folders = existing
        self._restart.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="folder-watch", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._restart.clear()
            folders = dict(self.folders)
            if not folders:
                self._restart.wait(1.0)
                continue
            # watchfiles only accepts one stop event: trip it for a restart too.
            trip = threading.Event()
            relay = threading.Thread(target=self._either, args=(trip,), daemon=True)
            relay.start()
            try:
                for changes in watchfiles.watch(*folders.values(), stop_event=trip, debounce=1000, recursive=True):
                    touched = {path for _, path in changes}
                    for job, folder in folders.items():
                        if any(p == folder or p.startswith(folder.rstrip(os.sep) + os.sep) for p in touched):
                            self.wake(job)
            except Exception as exc:  # a vanished mount must not end the watching
                log.warning("file watching paused: %s", exc)
                self._stop.wait(5.0)
            trip.set()

    def _either(self, trip: threading.Event) -> None:
        while not (self._stop.is_set() or self._restart.is_set() or trip.is_set()):
            self._stop.wait(0.5)
        trip.set()

    def stop(self) -> None:
        self._stop.set()
