"""Health of what Banso depends on, for monitoring (/healthz)."""
from __future__ import annotations

from sqlalchemy import text

from banso import queue
from banso.extensions import db


def check() -> dict:
    result = {"database": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # report, never raise: monitoring wants an answer
        db.session.rollback()
        result["database"] = f"error: {type(exc).__name__}"
    try:
        queue.connection().ping()
    except Exception as exc:
        result["redis"] = f"error: {type(exc).__name__}"
    result["status"] = "ok" if result["database"] == result["redis"] == "ok" else "degraded"
    return result
