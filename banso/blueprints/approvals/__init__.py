from flask import Blueprint

bp = Blueprint("approvals", __name__, url_prefix="/approvals")

from banso.blueprints.approvals import views  # noqa: E402,F401
