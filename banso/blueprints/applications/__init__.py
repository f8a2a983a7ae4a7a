from flask import Blueprint

bp = Blueprint("applications", __name__, url_prefix="/applications")

from banso.blueprints.applications import views  # noqa: E402,F401
