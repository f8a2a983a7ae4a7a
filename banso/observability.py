"""What operations see of Banso (統一基準's ログの取得・管理; the ministry's monitoring):

- a request id on every request (the caller's ``X-Request-Id`` when it is a plain token, else a new one), returned
  in the response and written on every log line of the request;
- one JSON log line per request (``LOG_FORMAT=json``, the default in production): time, level, request id, user
  id, route (the rule, never the path: a query may hold a name or an address), method, status, duration — never
  personal data or secrets; the trace id too when OpenTelemetry is set up (optional);
- Prometheus metrics at ``/metrics``, summed across gunicorn's workers when ``PROMETHEUS_MULTIPROC_DIR`` is set
  (gunicorn.conf.py does): request latency by route, responses by status, and at each scrape the outbox's backlog
  and age, the RQ queues' depth, the worker's heartbeat, the mailbox's last fetch and the daily jobs' last results;
- readiness (``/readyz``): the database, Redis and a live worker; ``/healthz`` says only that the process answers.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid

from flask import Flask, g, has_request_context, request, session
from prometheus_client import Counter, Histogram

_TOKEN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HEARTBEAT = "banso:worker:heartbeat"
JOBS = "banso:jobs"  # job name → {"at": epoch seconds, "ok": bool, "detail": str}


BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUEST_SECONDS = Histogram("banso_request_seconds", "Time to answer a request, by route", ["route", "method"], buckets=BUCKETS)
RESPONSES = Counter("banso_responses_total", "Responses by route and status", ["route", "status"])


def request_id() -> str | None:
    return g.get("banso_request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object, with the request's id, user id and route when there is a request."""

    FIELDS = ("request_id", "user_id", "route", "method", "status", "duration_ms", "event")

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        if has_request_context():
            line["request_id"] = request_id()
        for name in self.FIELDS:  # the access line carries its own (formatted wherever the handler runs)
            if hasattr(record, name):
                line[name] = getattr(record, name)
        trace = _trace_id()
        if trace:
            line["trace_id"] = trace
        if record.exc_info:
            line["error"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
        return json.dumps(line, ensure_ascii=False)


def _trace_id() -> str | None:
    """The current OpenTelemetry trace id, when OpenTelemetry is installed and a span is recording."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def install(app: Flask) -> None:
    """Request ids, the per-request log line and the request metrics."""
    if app.config.get("LOG_FORMAT") == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        for logger in (app.logger, logging.getLogger("banso.access")):
            logger.handlers[:] = [handler]
            logger.propagate = False
    access = logging.getLogger("banso.access")
    access.setLevel(logging.INFO)

    @app.before_request
    def _begin():
        given = request.headers.get("X-Request-Id", "")
        g.banso_request_id = given if _TOKEN.match(given) else uuid.uuid4().hex
        g.banso_started = time.perf_counter()

    @app.after_request
    def _end(response):
        started = g.pop("banso_started", None)
        if started is None:
            return response
        seconds = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule else "(none)"
        response.headers["X-Request-Id"] = request_id() or ""
        REQUEST_SECONDS.labels(route, request.method).observe(seconds)
        RESPONSES.labels(route, str(response.status_code)).inc()
        # The signed-in user's id as the session names it: read without the user's row, which the request's commit has
        # expired (reading it here would run a statement after the request's own).
        user = str(session.get("_user_id") or "").partition(".")[0] or None
        access.info("request", extra={"event": "request", "request_id": request_id(), "user_id": user, "route": route, "method": request.method,
                                      "status": response.status_code, "duration_ms": round(seconds * 1000, 1)})
        return response


# --- what the worker tells Redis ------------------------------------------------------------------------------------

def heartbeat(connection) -> None:
    """The worker is alive (written on each round of its timer)."""
    connection.set(HEARTBEAT, str(time.time()), ex=3600)


def heartbeat_age(connection) -> float | None:
    value = connection.get(HEARTBEAT)
    return None if value is None else max(0.0, time.time() - float(value))


def record_job(connection, name: str, ok: bool, detail: str = "") -> None:
    """A daily job's outcome (the records' run, a backup), for /metrics."""
    connection.hset(JOBS, name, json.dumps({"at": time.time(), "ok": ok, "detail": detail[:200]}))


def jobs(connection) -> dict[str, dict]:
    return {k.decode() if isinstance(k, bytes) else k: json.loads(v) for k, v in connection.hgetall(JOBS).items()}


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
