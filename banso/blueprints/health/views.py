from flask import jsonify

from banso.blueprints.health import bp
from banso.services import health


@bp.get("/healthz")
def healthz():
    status = health.check()
    return jsonify(status), 200 if status["status"] == "ok" else 503
