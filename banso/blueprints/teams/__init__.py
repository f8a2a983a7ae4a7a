from flask import Blueprint

bp = Blueprint("teams", __name__, url_prefix="/teams")
matching_bp = Blueprint("matching", __name__, url_prefix="/matching")

from banso.blueprints.teams import views  # noqa: E402,F401
