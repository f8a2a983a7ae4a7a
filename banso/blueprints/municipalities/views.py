from flask import abort, render_template, request
from banso.blueprints.forms import CreatingForm
from banso.blueprints.imports.views import start_upload
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from banso.blueprints.municipalities import bp
from banso.extensions import db
from banso.listing import export, page_or_fragment, paginate, sort_by
from banso.models import Application, Inquiry, Municipality, Team
from banso.permissions import FORM_PAGE, allowed
from banso.policies import admin as admin_policy
from banso.policies import applications as applications_policy
from banso.reference import POPULATION_BANDS, PREFECTURES, REGION_BLOCKS, population_band
from banso.services import municipalities, phases, population_import


class PopulationUploadForm(CreatingForm):
    file = FileField("公式人口ファイル（総務省の公表様式の Excel、または 団体コード・人口 の Excel／CSV）",
                     validators=[FileRequired("ファイルを選んでください。")])


@bp.get("/", endpoint="index")
@allowed(applications_policy.may_handle)
def index():
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    stmt, population = municipalities.list_query(phase, q=request.args.get("q"), prefecture=request.args.get("prefecture"),
                                                 block=request.args.get("block"), band=request.args.get("band"))
    stmt, sort = sort_by(stmt, {"code": Municipality.code, "kana": Municipality.name_kana, "population": population}, "code")
    if request.args.get("format") in ("csv", "xlsx"):
        return export(db.session.execute(stmt), [
            ("団体コード", lambda r: r[0].code), ("都道府県", lambda r: r[0].prefecture), ("地域ブロック", lambda r: r[0].region_block),
            ("市区町村名", lambda r: r[0].name), ("よみがな", lambda r: r[0].name_kana), ("人口", lambda r: r[1]),
            ("人口規模", lambda r: population_band(r[1])),
        ], "市区町村一覧")
    return page_or_fragment("municipalities/index.html", "municipalities/_table.html", page=paginate(stmt, rows=True),
                            sort=sort, phase=phase, prefectures=PREFECTURES, blocks=REGION_BLOCKS, bands=POPULATION_BANDS)


@bp.get("/<int:municipality_id>")
@allowed(applications_policy.may_handle)
def detail(municipality_id: int):
    municipality = db.get_or_404(Municipality, municipality_id)
    history = list(db.session.scalars(select(Application).options(joinedload(Application.phase))
                                      .where(Application.municipality_id == municipality.id)))
    history.sort(key=lambda a: a.phase.number, reverse=True)
    figures = municipalities.populations_by_phase(municipality, phases.all_phases())
    team_history = list(db.session.scalars(select(Team).options(joinedload(Team.phase)).where(Team.municipality_id == municipality.id)
                                           .order_by(Team.start_date.desc())))
    related = list(db.session.scalars(select(Inquiry).where(Inquiry.municipality_id == municipality.id)
                                      .order_by(Inquiry.received_at.desc()).limit(50)))
    return render_template("municipalities/detail.html", m=municipality, applications=history, figures=figures, teams=team_history,
                           inquiries=related, verdict=municipalities.population_verdict,
                           verdict_labels=municipalities.VERDICT_LABELS)


@bp.route("/population", methods=["GET", "POST"])
@allowed(admin_policy.may_confirm_population, refused=FORM_PAGE)
def population():
    phase = phases.selected_phase(request.values.get("phase"), phases.INTAKE)
    if phase is None:
        abort(404)
    form = PopulationUploadForm()

    def page():
        lines = [line for message in [*form.file.errors, *form.form_errors] for line in message.split("\n")]  # a row each
        form.file.errors, form.form_errors[:] = lines, []
        return render_template("municipalities/population.html", form=form, phase=phase, all_phases=phases.all_phases(),
                               loaded=municipalities.official_counts()), 422 if form.errors else 200

    if form.validate_on_submit():
        return start_upload(population_import.KIND, phase, form, page)
    return page()
