from flask import render_template

from banso.blueprints.dashboard import bp
from banso.permissions import ALL_ROLES, roles_required
from banso.services import dashboard


@bp.get("/")
@roles_required(*ALL_ROLES)
def index():
    return render_template("dashboard/index.html", **dashboard.overview())
