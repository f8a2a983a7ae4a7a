from flask import Blueprint

bp = Blueprint("records", __name__, url_prefix="/records")

from banso.blueprints.records import views  # noqa: E402,F401
