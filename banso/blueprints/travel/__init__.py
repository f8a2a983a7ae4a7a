from flask import Blueprint

bp = Blueprint("travel", __name__, url_prefix="/travel")

from banso.blueprints.travel import views  # noqa: E402,F401
