from flask import render_template

from banso.blueprints.dashboard import bp
from banso.permissions import allowed
from banso.policies.roles import signed_in
from banso.services import dashboard


@bp.get("/")
@allowed(signed_in)
def index():
    return render_template("dashboard/index.html", **dashboard.overview())
