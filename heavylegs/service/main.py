"""``heavylegs run``, the service's main: lock, schedule, serve, and stop cleanly on SIGTERM/SIGINT.

(The jobs themselves run through ``jobs.JobRunner`` on ``scheduler.Scheduler``.)

Stopping lets the job in hand finish its current file or delivery (each is
its own transaction) within ``service.stop_timeout_s``; past that the process
exits anyway, which loses nothing because every job is idempotent.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from heavylegs.alerts.transports.registry import build_channels, channel_warnings
from heavylegs.service.auth import Auth, check_exposure
from heavylegs.service.jobs import channel_env
from heavylegs.service.lock import AlreadyRunning, ServiceLock
from heavylegs.service.prom import PrometheusMetrics
from heavylegs.service.scheduler import Scheduler
from heavylegs.service.web import build_app
from heavylegs.settings import Settings
from heavylegs.sources.inbox import ensure_inbox  # the default inbox never takes over a user's source

log = logging.getLogger("heavylegs.service")

EXIT_LOCKED = 3
RECONCILE_S = 10.0
CONCURRENCY_LIMIT = 64


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
    # limit_concurrency: a flood of connections gets 503s instead of threads and memory without bound.
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", access_log=False,
                                           limit_concurrency=CONCURRENCY_LIMIT, server_header=False))
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread


def run_service(engine: Engine, settings: Settings, inbox: Path, port: int | None = None, host: str | None = None) -> int:
    _setup_logging()
    bind_host = host or settings.cfg.service.host
    auth = Auth.from_config(settings.cfg.service.auth, settings.secrets)  # ConfigError (a bad token or hash) stops the start
    check_exposure(settings.cfg.service, bind_host, auth)
    channels = channel_env(settings)
    build_channels(channels)  # e.g. an SMTP login without TLS is refused now, not at the first alert
    for warning in channel_warnings(channels):
        log.warning("%s", warning)
    # Files the service creates from here on (inbox, alert log, keys, SQLite -wal/-shm) are the user's alone.
    os.umask(0o077)
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
        ensure_inbox(engine, inbox, athlete=settings.default_athlete, data_dir=settings.data_dir)
        metrics = PrometheusMetrics(engine)
        scheduler = Scheduler(engine, settings, observe=metrics.observe)
        scheduler.on_new_data.append(metrics.count_new)
        bind_port = port if port is not None else settings.cfg.service.port
        # Listen first: a taken port should stop us before any job runs.
        server, http = _serve(build_app(engine, settings, scheduler, metrics, lock, bind_host=bind_host, auth=auth), bind_host, bind_port)
        if not server.started:
            print(f"heavylegs run: cannot listen on {bind_host}:{bind_port} (port in use?)", file=sys.stderr)
            server.should_exit = True
            return 1
        scheduler.start()
        db_shown = make_url(settings.db_url).render_as_string(hide_password=True)
        log.info("service started on http://%s:%d db=%s inbox=%s pid=%d login=%s", bind_host, bind_port, db_shown, inbox, os.getpid(),
                 "required" if auth.enabled else "off (loopback only)")
        while not stop.wait(RECONCILE_S):
            if not http.is_alive():
                log.error("the HTTP server stopped; shutting down")
                break
            try:
                scheduler.reconcile()
            except Exception as exc:  # the database may be restarting; try again next round
                log.warning("could not refresh sources: %s", exc)
        log.info("stopping")
        server.should_exit = True
        finished = scheduler.stop(settings.cfg.service.stop_timeout_s)
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
