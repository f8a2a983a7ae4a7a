"""Banso's Prometheus exposition (prometheus_client: its multiprocess mode sums what each gunicorn worker counted,
which a hand-written exporter would get wrong). Requests are counted as they are served (observability.py); the
state of the queues is read at each scrape, here."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from banso.observability import heartbeat_age, jobs, multiprocess_dir


class StateCollector:
    """What is waiting, read when Prometheus asks: the outbox, the RQ queues, the worker, the mailbox, the daily jobs."""

    def collect(self):
        from sqlalchemy import func, select

        from banso import queue
        from banso.clock import now
        from banso.extensions import db
        from banso.models import Notification, NotificationStatus
        from banso.services import inquiries

        pending, oldest = db.session.execute(select(func.count(), func.min(Notification.created_at))
                                             .where(Notification.status == NotificationStatus.PENDING)).one()
        yield GaugeMetricFamily("banso_outbox_pending", "Notifications waiting to be sent", value=pending or 0)
        yield GaugeMetricFamily("banso_outbox_oldest_seconds", "Age of the oldest notification waiting",
                                value=(now() - oldest).total_seconds() if oldest else 0)
        connection = queue.connection()
        depth = GaugeMetricFamily("banso_rq_queue_depth", "Jobs waiting in each RQ queue", labels=["queue"])
        for name in queue.QUEUES:
            depth.add_metric([name], connection.llen(f"rq:queue:{name}"))
        yield depth
        age = heartbeat_age(connection)
        yield GaugeMetricFamily("banso_worker_heartbeat_age_seconds", "Seconds since the worker's last round (-1: none)",
                                value=-1 if age is None else age)
        fetched = inquiries.last_mailbox_status() or {}
        yield GaugeMetricFamily("banso_mailbox_last_fetch_age_seconds", "Seconds since the mailbox was last fetched (-1: never)",
                                value=(now() - fetched["at"]).total_seconds() if fetched.get("at") else -1)
        last = GaugeMetricFamily("banso_job_last_run_timestamp", "When each daily job last ran", labels=["job"])
        good = GaugeMetricFamily("banso_job_last_run_ok", "Whether each daily job's last run succeeded", labels=["job"])
        for name, outcome in jobs(connection).items():
            last.add_metric([name], outcome["at"])
            good.add_metric([name], 1 if outcome["ok"] else 0)
        yield last
        yield good


def exposition() -> bytes:
    """The text Prometheus scrapes: every worker's counts summed (multiprocess), then the state read now."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        from prometheus_client import REGISTRY as counted
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector())
    return generate_latest(counted) + generate_latest(state)
