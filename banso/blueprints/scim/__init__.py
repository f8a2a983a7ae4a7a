from flask import Blueprint

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")

from banso.blueprints.scim import views  # noqa: E402,F401
