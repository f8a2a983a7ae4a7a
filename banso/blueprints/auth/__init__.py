from flask import Blueprint

bp = Blueprint("auth", __name__)

from banso.blueprints.auth import views  # noqa: E402,F401
