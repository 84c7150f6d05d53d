"""``heavylegs run``: lock, schedule, serve, and stop cleanly on SIGTERM/SIGINT.

Stopping lets the job in hand finish its current file or delivery (each is
its own transaction) within ``service.stop_timeout_s``; past that the process
exits anyway, which loses nothing because every job is idempotent.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine, update
from sqlalchemy.engine import make_url

from heavylegs.service.lock import AlreadyRunning, ServiceLock
from heavylegs.service.prom import ServiceMetrics
from heavylegs.service.scheduler import Service
from heavylegs.service.sources import add_source, get_source, source_config
from heavylegs.service.web import build_app
from heavylegs.settings import Settings
from heavylegs.store.tables import sources

log = logging.getLogger("heavylegs.service")

EXIT_LOCKED = 3
RECONCILE_S = 10.0


def ensure_inbox(engine: Engine, settings: Settings, inbox: Path) -> None:
    """The folder source named ``inbox`` for the default athlete, pointing at ``inbox``."""
    inbox.mkdir(parents=True, exist_ok=True)
    path = str(inbox.resolve())
    existing = get_source(engine, "inbox")
    if existing is None:
        add_source(engine, "inbox", "folder", settings.default_athlete, {"path": path})
        return
    config = source_config(existing)
    if config.get("path") != path:
        log.info("inbox moved from %s to %s", config.get("path"), path)
        with engine.begin() as conn:
            conn.execute(update(sources).where(sources.c.id == existing.id).values(config_json=json.dumps(config | {"path": path}, sort_keys=True)))


def _setup_logging() -> None:
    root = logging.getLogger("heavylegs")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
    # APScheduler's "skipped: maximum number of running instances" is expected
    # (a wake while the job runs is replayed by the scheduler wrapper).
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


def _serve(app: Any, host: str, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    # In a thread uvicorn installs no signal handlers: the main thread owns SIGTERM/SIGINT.
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread


def run_service(engine: Engine, settings: Settings, inbox: Path, port: int | None = None, host: str | None = None) -> int:
    _setup_logging()
    lock = ServiceLock(engine)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"heavylegs run: {exc}; stop it first (only one service may use a database)", file=sys.stderr)
        return EXIT_LOCKED
    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ensure_inbox(engine, settings, inbox)
        metrics = ServiceMetrics(engine)
        service = Service(engine, settings, observe=metrics.observe)
        service.on_new_data.append(metrics.count_new)
        bind_host = host or str(settings.get("service.host", "127.0.0.1"))
        bind_port = int(port if port is not None else settings.get("service.port", 8080))
        # Listen first: a taken port should stop us before any job runs.
        server, http = _serve(build_app(engine, settings, service, metrics, lock), bind_host, bind_port)
        if not server.started:
            print(f"heavylegs run: cannot listen on {bind_host}:{bind_port} (port in use?)", file=sys.stderr)
            server.should_exit = True
            return 1
        service.start()
        db_shown = make_url(settings.db_url).render_as_string(hide_password=True)
        log.info("service started on http://%s:%d db=%s inbox=%s pid=%d", bind_host, bind_port, db_shown, inbox, os.getpid())
        while not stop.wait(RECONCILE_S):
            if not http.is_alive():
                log.error("the HTTP server stopped; shutting down")
                break
            try:
                service.reconcile()
            except Exception as exc:  # the database may be restarting; try again next round
                log.warning("could not refresh sources: %s", exc)
        log.info("stopping")
        server.should_exit = True
        finished = service.stop(float(settings.get("service.stop_timeout_s", 25)))
        http.join(3.0)
        if not finished:
            log.warning("a job did not finish in time; exiting anyway (its work is redone on the next start)")
            logging.shutdown()
            lock.release()
            os._exit(0)
        log.info("stopped")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        lock.release()
