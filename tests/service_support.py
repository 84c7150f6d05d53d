"""Helpers for the service tests: config files, generated GPX runs, a real service subprocess."""
from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import OperationalError

from tests.helpers import poll

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(path: Path, tables: dict[str, dict[str, Any]], arrays: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """A TOML file from {"section.sub": {key: value}} plus arrays of tables."""
    lines: list[str] = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        lines.append("")
    for name, items in (arrays or {}).items():
        for item in items:
            lines.append(f"[[{name}]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
            lines.append("")
    path.write_text("\n".join(lines))
    return path


def gpx_run(start: datetime, points: int = 120, step_s: int = 5, speed_mps: float = 3.0, hr: int = 140) -> str:
    """A running track heading north at a steady speed, with heart rate."""
    lat0, lon0 = 46.5, 6.6
    deg_per_m = 1 / 111_320.0
    rows = []
    for i in range(points):
        t = (start + timedelta(seconds=i * step_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lat = lat0 + i * step_s * speed_mps * deg_per_m
        rows.append(
            f'<trkpt lat="{lat:.7f}" lon="{lon0:.7f}"><ele>{400 + 5 * math.sin(i / 10):.1f}</ele><time>{t}</time>'
            f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr + i % 7}</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="heavylegs-tests" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>run {start.isoformat()}</name><type>running</type><trkseg>{''.join(rows)}</trkseg></trk></gpx>\n"
    )


def write_runs(folder: Path, n: int, first: datetime, prefix: str = "run", points: int = 120) -> list[Path]:
    """``n`` distinct runs, one a day from ``first`` (distinct starts, so none deduplicates)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{prefix}-{i:04d}.gpx"
        path.write_text(gpx_run(first + timedelta(days=i, minutes=i % 50), points=points))
        paths.append(path)
    return paths



def count_rows(db_url: str, table: Any, *where: Any) -> int:
    eng = create_engine(db_url)
    try:
        with eng.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)
    except OperationalError:
        return 0  # not created yet: the service is still starting
    finally:
        eng.dispose()


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")}


class ServiceProc:
    """``python -m heavylegs ... run`` as a real process in its own process group."""

    def __init__(self, data_dir: Path, db_url: str, config: Path, inbox: Path | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log = data_dir.parent / f"service-{self.port}-{time.monotonic_ns()}.log"
        args = [sys.executable, "-m", "heavylegs", "--data-dir", str(data_dir), "--db", db_url, "--config", str(config), "run", "--port", str(self.port)]
        if inbox is not None:
            args += ["--inbox", str(inbox)]
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=subprocess.STDOUT, env=cli_env(), cwd=ROOT, start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def wait_up(self, timeout: float = 20.0) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited with {self.proc.returncode}:\n{self.output()}")
            try:
                return http_get(self.url + "/healthz", timeout=1.0)[0] == 200
            except OSError:
                return False

        poll(up, timeout, what="the service to answer /healthz")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()

    def kill9(self) -> None:
        """A crash: the service and every process it started (decoder workers) die at once."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self._out.close()

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.kill9()
        elif not self._out.closed:
            self._out.close()


def day(n: int) -> datetime:
    """A fixed past day, so generated runs never depend on the clock."""
    return datetime(2023, 3, 1, 7, 0, tzinfo=timezone.utc) + timedelta(days=n)
