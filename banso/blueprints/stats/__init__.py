from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/stats")

from banso.blueprints.stats import views  # noqa: E402,F401
