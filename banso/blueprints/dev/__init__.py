"""Development-only pages (never registered in production)."""
from flask import Blueprint

bp = Blueprint("dev", __name__, url_prefix="/dev")

from banso.blueprints.dev import views  # noqa: E402,F401
