"""Prometheus exposition for ``GET /metrics``, on a Prometheus registry of our own.

"Metrics" here always means Prometheus series about the service itself; it is not
``heavylegs.metrics`` (stored per-run analysis results) nor ``Alert.metrics`` (the
numbers behind one alert in the ``heavylegs.alert.v1`` webhook schema).

Counters and histograms are kept in-process by the job runner; everything
about stored data (activities, alerts, the outbox) is read from the database
at scrape time, so the numbers are right even across restarts.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from heavylegs.alerts.model import OPEN_STATUSES
from heavylegs.alerts.tables import alert_deliveries, alerts
from heavylegs.store.db import read
from heavylegs.store.tables import activities, sources

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreCollector(Collector):
    """A Prometheus collector that reads the store's gauges at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("heavylegs_database_up", "1 when the database answered this scrape")
        try:
            families = list(self._read())
        except Exception:
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families

    def _read(self) -> Iterator[GaugeMetricFamily]:
        with read(self.engine) as conn:
            total = conn.execute(select(func.count()).select_from(activities).where(activities.c.parent_id.is_(None))).scalar() or 0
            acts = GaugeMetricFamily("heavylegs_activities", "Activities in the store (multisport legs not counted)")
            acts.add_metric([], float(total))
            yield acts
            by_status = GaugeMetricFamily("heavylegs_sources", "Sources by status", labels=["status"])
            for status, n in conn.execute(select(sources.c.status, func.count()).group_by(sources.c.status)):
                by_status.add_metric([str(status)], float(n))
            yield by_status
            states = GaugeMetricFamily("heavylegs_alerts", "Alerts raised, by state (queued, suppressed, test)", labels=["state"])
            for state, n in conn.execute(select(alerts.c.state, func.count()).group_by(alerts.c.state)):
                states.add_metric([str(state)], float(n))
            yield states
            fam = GaugeMetricFamily("heavylegs_alert_deliveries", "Alert deliveries by status (pending, retrying, delivered, failed)", labels=["status"])
            depth = 0.0
            for status, n in conn.execute(select(alert_deliveries.c.status, func.count()).group_by(alert_deliveries.c.status)):
                fam.add_metric([str(status)], float(n))
                if status in OPEN_STATUSES:
                    depth += float(n)
            yield fam
            outbox = GaugeMetricFamily("heavylegs_outbox_depth", "Alert deliveries waiting to be sent")
            outbox.add_metric([], depth)
            yield outbox


class PrometheusMetrics:
    """The service's Prometheus registry: job counters and histograms, plus store gauges read at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.job_runs = Counter("heavylegs_job_runs", "Job runs by outcome", ["job", "outcome"], registry=self.registry)
        self.job_failures = Counter("heavylegs_job_failures", "Failed job runs", ["job"], registry=self.registry)
        self.job_duration = Histogram(
            "heavylegs_job_duration_seconds", "Job run duration", ["job"], registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, float("inf")),
        )
        self.ingested = Counter("heavylegs_activities_ingested", "Activities ingested by this process", ["source"], registry=self.registry)
        self.registry.register(_StoreCollector(engine))

    def observe(self, job: str, seconds: float, ok: bool) -> None:
        self.job_runs.labels(job=job, outcome="ok" if ok else "error").inc()
        if not ok:
            self.job_failures.labels(job=job).inc()
        self.job_duration.labels(job=job).observe(seconds)

    def count_new(self, job: str, outcome: Any) -> None:
        self.ingested.labels(source=job.split(":", 1)[-1]).inc(int(outcome.counts.get("new", 0)))

    def render(self) -> bytes:
        return generate_latest(self.registry)
