"""Readiness of what Banso depends on, for monitoring and the load balancer (/readyz): the database, Redis and a
live worker (its heartbeat within READY_WORKER_MAX_AGE seconds). /healthz asks nothing: the process answers."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from banso import queue
from banso.extensions import db
from banso.observability import heartbeat_age


def check() -> dict:
    result = {"database": "ok", "redis": "ok", "worker": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # report, never raise: monitoring wants an answer
        db.session.rollback()
        result["database"] = f"error: {type(exc).__name__}"
    try:
        connection = queue.connection()
        connection.ping()
        age = heartbeat_age(connection)
        if age is None or age > current_app.config["READY_WORKER_MAX_AGE"]:
            result["worker"] = "error: no heartbeat" if age is None else f"error: last heartbeat {int(age)} s ago"
    except Exception as exc:
        result["redis"] = f"error: {type(exc).__name__}"
        result["worker"] = "unknown"
    result["status"] = "ok" if all(result[k] == "ok" for k in ("database", "redis", "worker")) else "degraded"
    return result
