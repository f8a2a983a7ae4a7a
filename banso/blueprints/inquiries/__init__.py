from flask import Blueprint

bp = Blueprint("inquiries", __name__, url_prefix="/inquiries")
public_bp = Blueprint("contact", __name__)

from banso.blueprints.inquiries import views  # noqa: E402,F401
