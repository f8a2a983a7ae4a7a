from flask import Blueprint

bp = Blueprint("municipalities", __name__, url_prefix="/municipalities")

from banso.blueprints.municipalities import views  # noqa: E402,F401
