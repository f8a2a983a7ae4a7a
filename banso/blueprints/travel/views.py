from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from banso.blueprints.forms import BansoForm, act, already_sent, on_refusal, opened_version, report_decision
from banso.blueprints.travel import bp
from banso.blueprints.travel.forms import (BearerForm, CapForm, OrderChangeForm, PlanForm, ReceiptForm, ReviewForm, StandardCostForm,
                                           TripForm)
from banso.clock import today_jst
from banso.extensions import db
from banso.formatting import parse_id
from banso.listing import Page, export, export_workbook, int_arg, page_or_fragment, paginate, send_stored, sort_by
from banso.models import Municipality, Receipt, Team, TripRequest
from banso.models.travel import BEARERS, CATEGORIES, MEALS, RATE_BANDS, TRANSPORT, TripStatus
from banso.permissions import FORM_PAGE, allowed
from banso.policies import travel as policy
from banso.reference import PREFECTURES
from banso.models.approval import VERBS
from banso.services import RuleViolation, approvals, closing, phases, travel



def _trip(trip_id: int, options=()) -> TripRequest:
    """Load a trip the user may see: officers only their own."""
    trip = db.get_or_404(TripRequest, trip_id, options=list(options))  # a trip of a held team is not found (PUB-2)
    if not policy.may_view(trip, current_user):
        abort(403)
    return trip


def _phase():
    phase = phases.selected_phase(request.args.get("phase"), phases.SUPPORT)
    if phase is None:
        abort(404)
    return phase


def _travellers(trip: TripRequest) -> str:
    return "、".join(t.officer.name for t in trip.travellers)


EXPORT_COLUMNS = [
    ("申請番号", lambda t: t.number), ("チーム", lambda t: t.team.name), ("用務", lambda t: t.purpose_label),
    ("用務先都道府県", lambda t: t.destination_prefecture), ("用務先", lambda t: t.destination),
    ("出発日", lambda t: t.depart_on), ("帰着日", lambda t: t.return_on), ("出張者", _travellers),
    ("見積額（円）", lambda t: t.estimated_yen), ("精算認定額（円）", lambda t: t.claim.approved_yen if t.status == "settled" else None),
    ("費用負担", lambda t: t.bearer_label), ("計画超過", lambda t: "超過" if t.over_plan else ""), ("状況", lambda t: t.status_label),
]


# Up to this many teams the list offers them in a select; beyond (a phase of a thousand), the search box finds a team by
# its municipality, and a team chosen elsewhere (its page's link) is shown with a way to clear it.
TEAM_SELECT_LIMIT = 100


@bp.get("/", endpoint="index")
@allowed(policy.may_open_travel)
def index():
    phase = _phase()
    args = request.args
    stmt = travel.list_query(phase, user=current_user, q=args.get("q"), team_id=args.get("team_id"),
                             officer_id=args.get("officer_id"), prefecture=args.get("prefecture"), month=args.get("month"),
                             bearer=args.get("bearer"), status=args.get("status"), stage=args.get("stage"),
                             over_plan=args.get("over_plan"))
    shown, sort = sort_by(travel.listed(stmt, phase), {"depart": TripRequest.depart_on, "id": TripRequest.id,
                                                       "team": Municipality.code, "amount": TripRequest.estimated_yen,
                                                       "status": TripRequest.status}, "-depart")
    if args.get("format") in ("csv", "xlsx"):
        return export(db.session.scalars(shown).unique(), EXPORT_COLUMNS, f"{phase.name}_出張申請")
    teams, chosen = travel.team_choices(current_user, phase, limit=TEAM_SELECT_LIMIT, chosen=parse_id(args.get("team_id")))
    return page_or_fragment("travel/index.html", "travel/_table.html", page=paginate(shown, counted=stmt), sort=sort, phase=phase,
                            counts=travel.stage_counts(phase, current_user), stages=travel.STAGES,
                            teams=teams, chosen_team=chosen,
                            prefectures=PREFECTURES, bearers=BEARERS,
                            statuses=TripStatus, all_phases=phases.all_phases(),
                            figures=travel.figures(phase) if policy.may_see_budget(current_user) else None)


def _trip_form(team: Team | None, trip: TripRequest | None = None, form_class=TripForm) -> TripForm:
    form = form_class(data=travel.request_form_data(trip) if trip is not None and request.method == "GET" else None)
    if team is not None:
        depart, back = form.depart_on.data, form.return_on.data
        members = travel.members_on(team, depart, back) if depart and back and depart <= back else \
            [m.officer for m in team.current_members]
        form.travellers.choices = [SelectChoice(str(o.id), f"{o.name}（{o.ministry.name}）") for o in members]
        if request.method == "GET" and trip is None:
            form.destination_prefecture.data = team.municipality.prefecture
            form.destination.data = team.municipality.name
            own = [str(m.officer.id) for m in team.current_members if m.officer.user_id == current_user.id]
            form.travellers.data = own or []
    return form


def _trip_data(form: TripForm) -> dict:
    return {name: getattr(form, name).data for name in
            ["travellers", "purpose", "destination_prefecture", "destination", "depart_on", "return_on", "itinerary",
             *[f"{n}_yen" for n in [*TRANSPORT, "package"]], "room_rate_yen", "meals"]}


def _estimate(team: Team, form: TripForm, trip: TripRequest | None = None):
    """The live estimate and budget fit, or the reason it cannot be computed yet."""
    if form.errors or form.depart_on.data is None or form.return_on.data is None:
        return None, None
    try:
        return travel.fit(team, _trip_data(form), trip=trip), None
    except RuleViolation as violation:
        return None, violation.message


def _team_for_new() -> Team | None:
    """The team a new trip is for: the one named (the trip takes its phase, whichever phase a list shows), else the
    user's only team in the phase shown."""
    chosen = parse_id(request.args.get("team_id") or request.form.get("team_id"))
    if chosen:
        team = db.get_or_404(Team, chosen)  # a held team is not found (PUB-2)
        return team if team in travel.teams_for(current_user, team.phase) else abort(403)
    teams = travel.teams_for(current_user, _phase())
    return teams[0] if len(teams) == 1 else None


@bp.route("/new", methods=["GET", "POST"])
@allowed(policy.may_file, refused=FORM_PAGE)
def create():
    team = _team_for_new()
    form = _trip_form(team)

    def page():
        fit, problem = _estimate(team, form) if team is not None and request.method == "POST" else (None, None)
        phase = team.phase if team is not None else _phase()
        return render_template("travel/form.html", form=form, team=team, trip=None, fit=fit, problem=problem,
                               teams=travel.teams_for(current_user, phase), phase=phase), \
            422 if form.errors or form.form_errors else 200

    on_refusal(page, form)
    if team is not None and request.method == "POST" and form.validate_on_submit() and request.form.get("action") != "estimate":
        if (sent := already_sent(form)) is not None:
            return sent
        trip = travel.file_request(team, _trip_data(form), actor=current_user)
        flash(f"出張申請 {trip.number}（見積 {trip.estimated_yen:,}円）を提出しました。会計担当の審査をお待ちください。", "success")
        return redirect(url_for("travel.detail", trip_id=trip.id))
    return page()


@bp.post("/estimate")
@allowed(policy.may_file, refused="travel.index")
def estimate():
    """The estimate and whether it fits, recomputed while the form is filled in (htmx)."""
    trip = _trip(parse_id(request.args.get("trip_id"))) if parse_id(request.args.get("trip_id")) else None
    team = trip.team if trip is not None else _team_for_new()
    if team is None:
        abort(404)
    form = _trip_form(team, trip)
    form.validate()
    fit, problem = _estimate(team, form, trip)
    return render_template("travel/_estimate.html", fit=fit, problem=problem, team=team, trip=trip,
                           errors=[e for errors in form.errors.values() for e in errors])


@bp.get("/<int:trip_id>")
@allowed(policy.may_open_travel)
def detail(trip_id: int):
    trip = _trip(trip_id, travel.page_loads())
    return render_template("travel/detail.html", trip=trip, plan=travel.plan_for(trip.team),
                           figures=travel.figures(trip.phase) if policy.may_see_budget(current_user) else None,
                           duplicates=travel.duplicate_claims(trip) if trip.claim else [],
                           review_form=ReviewForm(),
                           bearer_form=BearerForm(cost_bearer=trip.cost_bearer, bearer_reason=trip.bearer_reason),
                           receipt_form=ReceiptForm(), limits=_limits(trip), meals=MEALS, claim_wait=travel.claim_not_yet(trip))


@bp.get("/<int:trip_id>/order")
@allowed(policy.may_open_travel)
def order(trip_id: int):
    """The 旅行命令's 決裁 as a timeline (loaded into the trip's page): its route, every action, who is to act now."""
    trip = _trip(trip_id)
    case = approvals.latest_case(policy.ORDER, trip.id)
    return render_template("travel/_order.html", trip=trip, case=case, verbs=VERBS,
                           changes=approvals.cases_about(policy.CHANGE, trip.id))


@bp.route("/<int:trip_id>/change", methods=["GET", "POST"])
@allowed(policy.may_file, refused=FORM_PAGE)
def change(trip_id: int):
    """A change of the issued 旅行命令 (旅費法第4条): the trip's form as it should now be, with the reason; it goes along
    the change's route and the trip is rewritten when it is decided."""
    trip = _trip(trip_id)
    if not policy.may_request_change(trip, current_user):
        abort(403)
    form = _trip_form(trip.team, trip, OrderChangeForm)

    def page():
        fit, problem = _estimate(trip.team, form, trip)
        return render_template("travel/form.html", form=form, team=trip.team, trip=trip, fit=fit, problem=problem,
                               teams=[trip.team], phase=trip.phase, change=True), 422 if form.errors or form.form_errors else 200

    on_refusal(page, form)
    if request.method == "POST" and form.validate_on_submit() and request.form.get("action") != "estimate":
        if (sent := already_sent(form)) is not None:
            return sent
        case = travel.request_change(trip, _trip_data(form), form.reason.data, actor=current_user)
        report_decision(case, f"出張 {trip.number} の旅行命令を変更しました。", f"出張 {trip.number} の旅行命令の変更")
        return redirect(url_for("travel.detail", trip_id=trip.id))
    return page()


@bp.post("/<int:trip_id>/departure")
@allowed(policy.may_file, refused="travel.detail")
def departure(trip_id: int):
    """旅費法第5条: the trip was made otherwise than ordered — what differed and why."""
    trip = _trip(trip_id)
    return _after(trip, lambda: travel.record_departure(trip, request.form.get("departure_note", ""), actor=current_user),
                  "旅行命令と異なる旅行として記録しました。旅行命令簿に載ります。", "#travel-order")


def _limits(trip: TripRequest) -> dict:
    try:
        return travel.claim_limits(trip)
    except RuleViolation:
        return {}


@bp.route("/<int:trip_id>/edit", methods=["GET", "POST"])
@allowed(policy.may_file, refused=FORM_PAGE)
def edit(trip_id: int):
    trip = _trip(trip_id)
    if not policy.may_edit(trip, current_user):
        abort(403)
    form = _trip_form(trip.team, trip)

    def page():
        fit, problem = _estimate(trip.team, form, trip)
        return render_template("travel/form.html", form=form, team=trip.team, trip=trip, fit=fit, problem=problem,
                               teams=[trip.team], phase=trip.phase), 422 if form.errors or form.form_errors else 200

    on_refusal(page, form)
    if request.method == "POST" and form.validate_on_submit() and request.form.get("action") != "estimate":
        travel.update_request(trip, _trip_data(form), actor=current_user, expected_version=form.version.data)
        flash(f"出張申請 {trip.number} を修正し、再提出しました。", "success")
        return redirect(url_for("travel.detail", trip_id=trip.id))
    return page()


def _after(trip: TripRequest, action, success: str, anchor: str = ""):
    return act(action, success, redirect(url_for("travel.detail", trip_id=trip.id) + anchor))


@bp.post("/<int:trip_id>/review")
@allowed(policy.may_review_any, refused="travel.detail")
def review(trip_id: int):
    trip = _trip(trip_id)
    decision = request.form.get("decision", "")
    form = ReviewForm()
    label = travel.REVIEW_DECISIONS.get(decision, "審査")
    return _after(trip, lambda: travel.review_request(trip, decision, form.comment.data, actor=current_user, expected_version=opened_version()),
                  f"出張申請 {trip.number} を{label}しました。申請者に通知します。")


@bp.post("/<int:trip_id>/bearer")
@allowed(policy.may_decide_bearers, refused="travel.detail")
def bearer(trip_id: int):
    trip = _trip(trip_id)
    form = BearerForm()
    return _after(trip, lambda: travel.decide_bearer(trip, form.cost_bearer.data, form.bearer_reason.data, actor=current_user,
                                                   expected_version=opened_version()),
                  "費用負担者を記録しました。")


@bp.post("/<int:trip_id>/cancel")
@allowed(policy.may_file, refused="travel.detail")
def cancel(trip_id: int):
    trip = _trip(trip_id)
    return _after(trip, lambda: travel.cancel_request(trip, actor=current_user, expected_version=opened_version()), f"出張申請 {trip.number} を取り消しました。")


def _uploads() -> list[tuple[str, bytes]]:
    return [(f.filename or "", f.read()) for f in request.files.getlist("receipts") if f and (f.filename or "")]


@bp.route("/<int:trip_id>/claim", methods=["GET", "POST"])
@allowed(policy.may_file_claims, refused=FORM_PAGE)
def claim(trip_id: int):
    trip = _trip(trip_id)
    if not (policy.may_edit(trip, current_user) or policy.may_claim(trip, current_user)):
        abort(403)
    if (wait := travel.claim_not_yet(trip)) is not None:  # said before anything is typed, never after
        flash(wait, "warning")
        return redirect(url_for("travel.detail", trip_id=trip.id))
    form = ReceiptForm()

    def page():
        return _claim_page(trip, form)

    on_refusal(page, form)
    if request.method == "POST":
        if (sent := already_sent(form)) is not None:
            return sent
        lines = [travel.ClaimInput(t.officer_id, category, travel.parse_yen(request.form.get(f"claimed-{t.officer_id}-{category}"), blank=0),
                                   request.form.get(f"exception-{t.officer_id}", ""))
                 for t in trip.travellers for category in CATEGORIES]
        travel.file_claim(trip, lines, _uploads(), actor=current_user, expected_version=opened_version())
        flash(f"出張 {trip.number} の精算を申請しました。会計担当の審査をお待ちください。", "success")
        return redirect(url_for("travel.detail", trip_id=trip.id))
    return page()


def _claim_page(trip: TripRequest, form: ReceiptForm):
    """The claim form; after a refusal the amounts typed are shown again with the rule's message."""
    errors = list(dict.fromkeys(form.form_errors + [e for errors in form.errors.values() for e in errors]))  # each once
    typed = request.method == "POST"
    current = {(line.officer_id, line.category): line.claimed_yen for line in trip.claim.lines} if trip.claim else \
        {(line.officer_id, line.category): line.amount_yen for line in trip.estimate_lines}
    reasons = {line.officer_id: line.exception_reason for line in trip.claim.lines if line.exception_reason} if trip.claim else {}
    if typed:
        current = {(t.officer_id, c): request.form.get(f"claimed-{t.officer_id}-{c}", "") for t in trip.travellers for c in CATEGORIES}
        reasons = {t.officer_id: request.form.get(f"exception-{t.officer_id}", "") for t in trip.travellers}
    return render_template("travel/claim.html", trip=trip, categories=CATEGORIES, current=current, reasons=reasons,
                           limits=_limits(trip), errors=errors, receipt_form=form), 422 if errors else 200


@bp.post("/<int:trip_id>/claim/review")
@allowed(policy.may_review_any, refused="travel.detail")
def review_claim(trip_id: int):
    trip = _trip(trip_id)
    decision = request.form.get("decision", "")
    approvals = {line.id: (travel.parse_yen(request.form.get(f"approved-{line.id}"), blank=line.claimed_yen), request.form.get(f"reason-{line.id}", ""))
                 for line in (trip.claim.lines if trip.claim else [])}
    done = {"settle": "完了しました", "return": "差し戻しました"}.get(decision, "審査しました")
    return _after(trip, lambda: travel.review_claim(trip, decision, approvals, request.form.get("comment", ""), actor=current_user,
                                                expected_version=opened_version()),
                  f"出張 {trip.number} の精算を{done}。申請者に通知します。", "#claim")


@bp.post("/<int:trip_id>/receipts")
@allowed(policy.may_file_claims, refused="travel.detail")
def add_receipts(trip_id: int):
    trip = _trip(trip_id)
    uploads = _uploads()
    if (sent := already_sent(ReceiptForm())) is not None:
        return sent
    return _after(trip, lambda: travel.add_receipts(trip, uploads, actor=current_user), f"領収書を{len(uploads)}件追加しました。", "#claim")


@bp.get("/receipts/<int:receipt_id>")
@allowed(policy.may_open_travel)
def receipt(receipt_id: int):
    found = travel.visible_receipt(receipt_id, current_user)
    if found is None:
        abort(404 if db.session.get(Receipt, receipt_id) is None else 403)
    return send_stored(found.sha256, found.content_type, found.filename, as_attachment=False)


# --- budget -------------------------------------------------------------------------------

@bp.get("/budget")
@allowed(policy.may_see_budget)
def budget():
    phase = _phase()
    figures = travel.budget(phase)
    if request.args.get("format") == "xlsx":
        return _budget_workbook(phase, figures)
    return render_template("travel/budget.html", phase=phase, figures=figures, months=travel.by_month(phase),
                           teams=travel.by_team(phase, limit=20), prefectures=travel.by_prefecture(phase),
                           revisions=travel.revisions(phase), cap_form=CapForm(),
                           all_phases=phases.all_phases(), warn_at=travel.WARN_AT, danger_at=travel.DANGER_AT)


@bp.get("/budget/plans")
@allowed(policy.may_see_budget)
def plans():
    """The teams' site-visit plans, a page at a time (TRV-2, TEAM-5)."""
    phase = _phase()
    per_page = current_app.config["PER_PAGE"]
    page = int_arg("page")
    total, rows = travel.plans_page(phase, page, per_page)
    return render_template("travel/plans.html", phase=phase, plans=Page(rows, page, per_page, total),
                           standard_form=StandardCostForm(standard_visit_cost_yen=phase.travel_standard_visit_yen),
                           all_phases=phases.all_phases())


ORDER_COLUMNS = [
    ("旅行命令番号", lambda r: r[0].number), ("命令日", lambda r: r[0].approved_at), ("旅行命令権者", lambda r: r[1]),
    ("旅行者", lambda r: "、".join(t.officer.name for t in r[0].travellers)), ("用務", lambda r: r[0].purpose_label),
    ("用務先", lambda r: f"{r[0].destination_prefecture} {r[0].destination}"), ("出発日", lambda r: r[0].depart_on),
    ("帰着日", lambda r: r[0].return_on),
    ("経路・交通手段", lambda r: "、".join(dict.fromkeys(line.category_label for line in r[0].estimate_lines
                                                     if line.category in TRANSPORT))),
    ("費用負担", lambda r: r[0].bearer_label), ("見積額（円）", lambda r: r[0].estimated_yen), ("チーム", lambda r: r[0].team.name),
    ("旅行命令の変更（第4条）", lambda r: " ／ ".join(_change_line(c) for c in r[2])),
    ("命令と異なる旅行（第5条）", lambda r: r[0].departure_note),
]


def _change_line(case) -> str:
    return f"{case.decided_at:%Y-%m-%d} {'、'.join(case.payload['changes'])}（{case.payload['reason']}）"


@bp.get("/orders")
@allowed(policy.may_see_budget)
def orders():
    """The 旅行命令簿: every trip ordered in the phase, with who issued the order (and for whom, as 代決)."""
    phase = _phase()
    stmt = travel.orders_query(phase, q=request.args.get("q")).order_by(TripRequest.approved_at, TripRequest.id)
    if request.args.get("format") in ("csv", "xlsx"):
        trips = list(db.session.scalars(stmt).unique())
        names, changes = travel.deciders(trips), travel.changes_of([t.id for t in trips])
        return export([(t, names[t.id], changes.get(t.id, [])) for t in trips], ORDER_COLUMNS, f"{phase.name}_旅行命令簿")
    page = paginate(stmt)
    names, changes = travel.deciders(page.items), travel.changes_of([t.id for t in page.items])
    return page_or_fragment("travel/orders.html", "travel/_orders_table.html", page=page, phase=phase, names=names,
                            changes=changes, all_phases=phases.all_phases())


def _ledger_columns() -> list:
    """The 精算明細 sheet as the accounting books take it: one claim line a row, with its fiscal year, the day it was
    settled (支出の基準日), who is paid, who bears it and the budget item (TRAVEL_BUDGET_ITEM)."""
    item = current_app.config["TRAVEL_BUDGET_ITEM"]
    return [("年度", lambda r: travel.ledger_year(r[0])), ("申請番号", lambda r: r[0].number), ("チーム", lambda r: r[0].team.name),
            ("出発日", lambda r: r[0].depart_on), ("帰着日", lambda r: r[0].return_on),
            ("精算日（支出日）", lambda r: travel.settled_on(r[0])), ("支払先（出張者）", lambda r: r[1].officer.name),
            ("費目", lambda r: r[1].category_label), ("見積（円）", lambda r: r[1].estimate_yen),
            ("請求（円）", lambda r: r[1].claimed_yen), ("認定（円）", lambda r: r[1].approved_yen),
            ("負担者", lambda r: r[0].bearer_label),
            ("予算科目", lambda r: item if r[0].cost_bearer == "national" else "（市町村負担・国費外）"),
            ("状況", lambda r: r[0].status_label), ("減額理由", lambda r: r[1].reduction_reason),
            ("例外事由", lambda r: r[1].exception_reason)]


def _budget_workbook(phase, figures):
    summary = [("予算上限", figures.cap), ("執行予定（承認済・未精算）", figures.committed), ("支出済（精算済）", figures.spent),
               ("残額", figures.available), ("計画中の現地訪問（見込み）", figures.forecast), ("市町村負担（参考）", figures.municipality_borne)]
    pair = [("区分", lambda r: r[0]), ("支出済（円）", lambda r: r[1]), ("執行予定（円）", lambda r: r[2])]
    return export_workbook([
        ("集計", [("項目", lambda r: r[0]), ("金額（円）", lambda r: r[1])], summary),
        ("月別", [*pair, ("累計（円）", lambda r: r[3])], travel.by_month(phase)),
        ("チーム別", pair, travel.by_team(phase)),
        ("都道府県別", pair, travel.by_prefecture(phase)),
        ("精算明細", _ledger_columns(), travel.ledger(phase)),
        ("上限改定履歴", [("改定日時", lambda r: r.revised_at.isoformat()), ("改定前（円）", lambda r: r.previous_cap_yen),
                    ("改定後（円）", lambda r: r.new_cap_yen), ("理由", lambda r: r.reason),
                    ("改定者", lambda r: r.revised_by.name if r.revised_by else "")], travel.revisions(phase)),
    ], f"{phase.name}_旅費予算")


def _budget_action(phase, action, success: str, to: str = "travel.budget"):
    return act(action, success, redirect(url_for(to, phase=phase.number, page=request.args.get("page"))))


@bp.post("/budget/cap")
@allowed(policy.may_revise_cap, refused="travel.budget")
def revise_cap():
    phase = _phase()
    form = CapForm()
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("travel.budget", phase=phase.number))
    case = travel.request_cap_revision(phase, form.new_cap.data, form.reason.data, actor=current_user)
    report_decision(case, f"予算上限を{form.new_cap.data:,}円に改定しました。", "予算上限の改定")
    return redirect(url_for("travel.budget", phase=phase.number))


@bp.post("/budget/standard")
@allowed(policy.may_plan_visits, refused="travel.plans")
def standard_cost():
    phase = _phase()
    form = StandardCostForm()
    value = form.standard_visit_cost_yen.data if form.validate_on_submit() else None
    return _budget_action(phase, lambda: travel.set_standard_visit_cost(phase, value, actor=current_user),
                          "現地訪問1回あたりの標準費用を更新しました。", "travel.plans")


@bp.post("/budget/plans/<int:team_id>")
@allowed(policy.may_plan_visits, refused="travel.plans")
def plan(team_id: int):
    team = db.get_or_404(Team, team_id)  # a held team is not found (PUB-2)
    form = PlanForm()
    valid = form.validate_on_submit()
    return _budget_action(team.phase, lambda: travel.set_plan(team, form.planned_site_visits.data if valid else None,
                                                              form.standard_visit_cost_yen.data if valid else None,
                                                              form.note.data, actor=current_user,
                                                              expected_version=opened_version()),
                          f"{team.name}の現地訪問計画を更新しました。", "travel.plans")


# --- the end of support: what is still open -----------------------------------------------------------------------

CLOSING_COLUMNS = [
    ("申請番号", lambda o: o.trip.number), ("期", lambda o: o.trip.phase.name), ("チーム", lambda o: o.trip.team.name),
    ("支援終了日", lambda o: o.trip.team.end_date), ("精算・修正の期限", lambda o: o.closing_day),
    ("出発日", lambda o: o.trip.depart_on), ("帰着日", lambda o: o.trip.return_on),
    ("見積額（円）", lambda o: o.trip.estimated_yen), ("状況", lambda o: o.trip.status_label), ("対応する人", lambda o: o.who_acts),
]


@bp.get("/closing")
@allowed(policy.may_see_budget)
def closing_list():
    """Finance's list as teams end (TEAM-3): every trip not yet settled of a team whose last day has come or comes
    within a month, with the day its claim must be settled by and who acts next, whichever phase it is of."""
    stmt = closing.open_trips_query(q=request.args.get("q"), acts=request.args.get("acts"))
    if request.args.get("format") in ("csv", "xlsx"):
        return export((closing.describe(t) for t in db.session.scalars(stmt).unique()), CLOSING_COLUMNS, "支援終了に伴う未精算の出張")
    page = paginate(stmt)
    page.items = [closing.describe(t) for t in page.items]
    return page_or_fragment("travel/closing.html", "travel/_closing_table.html", page=page,
                            claim_days=closing.CLAIM_BUSINESS_DAYS)


# --- rates --------------------------------------------------------------------------------

@bp.route("/rates", methods=["GET", "POST"])
@allowed(policy.may_see_rates, refused=FORM_PAGE)
def rates():
    years = travel.fiscal_years()
    this_year = travel.fiscal_year(today_jst())  # trips now are paid at this year's rates; next year's is one click away
    year = parse_id(request.values.get("year")) or (this_year if this_year in years or not years else years[0])
    form = BansoForm()  # holds the refusal's message
    on_refusal(lambda: _rates_page(year, years, form), form)
    if request.method == "POST":
        if not policy.may_edit_rates(current_user):
            abort(403)
        lodging = {(band, p): request.form.get(f"lodging-{band}-{p}", "") for band in RATE_BANDS for p in PREFECTURES}
        allowances = {m: request.form.get(f"allowance-{m}", "") for m in MEALS}
        changed = travel.save_rates(year, lodging, allowances, actor=current_user,
                                    expected_fingerprint=request.form.get("fingerprint") or None)
        flash(f"{year}年度の旅費単価を保存しました（変更 {changed}件）。", "success")
        return redirect(url_for("travel.rates", year=year))
    return _rates_page(year, years, form)


def _rates_page(year: int, years: list[int], form):
    errors = form.form_errors
    lodging, allowances = travel.rate_table(year)
    if not lodging and parse_id(request.args.get("copy_from")):  # start a new year from an earlier one
        lodging, allowances = travel.rate_table(parse_id(request.args["copy_from"]))
    if errors:  # show what was typed, with the reason
        lodging = {(band, p): request.form.get(f"lodging-{band}-{p}", "") for band in RATE_BANDS for p in PREFECTURES}
        allowances = {m: request.form.get(f"allowance-{m}", "") for m in MEALS}
    return render_template("travel/rates.html", year=year, years=years, lodging=lodging, allowances=allowances,
                           bands=RATE_BANDS, prefectures=PREFECTURES, meals=MEALS, errors=errors,
                           editable=policy.may_edit_rates(current_user), fingerprint=travel.rates_fingerprint(year)), \
        422 if errors else 200

