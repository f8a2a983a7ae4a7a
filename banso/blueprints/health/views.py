from flask import Response, abort, current_app, jsonify, request

from banso.blueprints.health import bp
from banso.services import health


@bp.get("/healthz")
def healthz():
    """The process answers (a restart is the only cure for a process that does not)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready to serve: the database, Redis and a live worker; 503 while one is missing (take it out of the pool)."""
    status = health.check()
    return jsonify(status), 200 if status["status"] == "ok" else 503


@bp.get("/metrics")
def metrics():
    """Prometheus: with METRICS_TOKEN set, for its bearer; without, for loopback only."""
    from banso import metrics as exported

    token = current_app.config["METRICS_TOKEN"]
    if token:
        if request.headers.get("Authorization", "") != f"Bearer {token}":
            abort(403)
    elif request.remote_addr not in ("127.0.0.1", "::1"):
        abort(403)
    return Response(exported.exposition(), mimetype="text/plain; version=0.0.4")
