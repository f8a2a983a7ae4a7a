from flask import Blueprint

bp = Blueprint("officers", __name__, url_prefix="/officers")
appointments_bp = Blueprint("appointments", __name__, url_prefix="/appointments")

from banso.blueprints.officers import views  # noqa: E402,F401
