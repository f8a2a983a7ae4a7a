from flask import Blueprint

bp = Blueprint("publication", __name__, url_prefix="/publication")
public_bp = Blueprint("public", __name__, url_prefix="/public")

from banso.blueprints.publication import views  # noqa: E402,F401
