from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from banso.formatting import parse_id, wareki
from banso.blueprints.forms import act, already_sent, on_refusal, opened_version, report_decision
from banso.blueprints.teams import bp, matching_bp
from banso.blueprints.teams.forms import ActivityForm, ExtensionForm, ReopenForm, ReplacementForm, ReportForm
from banso.clock import today_jst
from banso.extensions import db
from banso.listing import Page, export, int_arg, page_or_fragment, paginate, sort_by
from banso.models import (Activity, Application, HalfYearReport, MatchingConstraint, MatchingPlan, MemberReplacement, Municipality,
                          Officer, Team, TeamExtension)
from banso.models.team import ACTIVITY_KINDS
from banso.permissions import FORM_PAGE, allowed
from banso.policies import teams as policy
from banso.reference import FIELDS, PREFECTURES, field_label
from banso.services import InputError, applications, closing, matching, municipalities, officers, phases, teams



def _team(team_id: int) -> Team:
    """Load a team the user may see: officers only their own, finance not the detail."""
    team = db.get_or_404(Team, team_id)  # a held team is not found (PUB-2)
    if not policy.may_open(team, current_user):
        abort(403)
    return team  # a held team shown to the secretariat is audited by the loader (banso/policies/hold.py)


def _members(team):
    return ", ".join(f"{m.officer.name}（{m.officer.home_ministry.name}）" for m in team.current_members)


@bp.get("/", endpoint="index")
@allowed(policy.may_list)
def index():
    phase = phases.selected_phase(request.args.get("phase"), phases.SUPPORT)
    if phase is None:
        abort(404)
    stmt = teams.list_query(phase, q=request.args.get("q"), prefecture=request.args.get("prefecture"),
                            theme=request.args.get("theme"), ministry_id=request.args.get("ministry_id"),
                            status=request.args.get("status"), quiet=request.args.get("quiet") == "1",
                            officer_user=current_user if policy.sees_own_teams_only(current_user) else None)
    stmt, sort = sort_by(stmt, {"code": Municipality.code, "start": Team.start_date, "status": Team.status}, "code")
    limited = not policy.sees_full_list(current_user)
    if request.args.get("format") in ("csv", "xlsx"):
        columns = [("チーム", lambda t: t.name), ("都道府県", lambda t: t.municipality.prefecture), ("メンバー", _members)]
        if not limited:
            columns += [("支援テーマ", lambda t: "×".join(FIELDS[f] for f in t.themes)), ("開始", lambda t: t.start_date),
                        ("終了", lambda t: t.end_date), ("状況", lambda t: t.status_label)]
        return export(db.session.scalars(stmt), columns, f"{phase.name}_伴走支援チーム")
    return page_or_fragment("teams/index.html", "teams/_table.html", page=paginate(stmt), sort=sort, phase=phase,
                            limited=limited, prefectures=PREFECTURES, fields=FIELDS, field_label=field_label,
                            ministries=[m for m in officers.all_ministries() if m.parent_id is None],
                            all_phases=phases.all_phases())


@bp.get("/<int:team_id>")
@allowed(policy.may_open_any)
def detail(team_id: int):
    team = _team(team_id)
    activities = list(db.session.scalars(select(Activity).where(Activity.team_id == team.id).order_by(Activity.started_on.desc())))
    reports = {r.period: r for r in db.session.scalars(select(HalfYearReport).where(HalfYearReport.team_id == team.id))}
    history = {
        "replacements": list(db.session.scalars(select(MemberReplacement).where(MemberReplacement.team_id == team.id))),
        "extensions": list(db.session.scalars(select(TeamExtension).where(TeamExtension.team_id == team.id))),
    }
    form = ActivityForm()
    form.started_on.data = today_jst()
    return render_template("teams/detail.html", team=team, activities=activities, summary=teams.summarize(team, activities[::-1]),
                           planned=teams.planned_replacements(team, history["replacements"]),
                           reports=reports, due={p: teams.report_due(team, p) for p in (1, 2)}, history=history,
                           activity_form=form, report_form=ReportForm(), extension_form=ExtensionForm(),
                           reopen_form=ReopenForm(), closed=closing.is_closed(team), closing_day=closing.closing_day(team),
                           ended=team.end_date < today_jst(),
                           reopened_until=team.reopened_until if closing.reopened(team) else None,
                           field_label=field_label, kinds=ACTIVITY_KINDS,
                           warnings=[w for a in activities for w in teams.scope_warnings(f"{a.summary}{a.follow_ups}")][:3])


@bp.get("/<int:team_id>/summary")
@allowed(policy.may_open_any)
def summary(team_id: int):
    """One A4 page in the shape of seed 001's case page."""
    team = _team(team_id)
    figure = municipalities.population_for(team.municipality, team.phase)
    latest = db.session.scalar(select(HalfYearReport).where(HalfYearReport.team_id == team.id)
                               .order_by(HalfYearReport.period.desc()).limit(1))
    return render_template("teams/summary.html", team=team, summary=teams.summarize(team), population=figure, report=latest,
                           field_label=field_label, fields=FIELDS)


@bp.post("/<int:team_id>/activities")
@allowed(policy.may_open_any, refused="teams.detail")
def record_activity(team_id: int):
    team = _team(team_id)
    form = ActivityForm()
    back = redirect(url_for("teams.detail", team_id=team.id) + "#activities")
    on_refusal(lambda: back)
    if not form.validate_on_submit():
        raise InputError("；".join(e for errors in form.errors.values() for e in errors))
    if (sent := already_sent(form)) is not None:
        return sent
    activity = teams.record_activity(team, form.data, actor=current_user)
    flash(f"{activity.kind_label}（{activity.started_on:%-m月%-d日}）を記録しました。", "success")
    for warning in teams.scope_warnings(f"{activity.summary}{activity.follow_ups}"):
        flash(warning, "warning")
    return back


@bp.get("/<int:team_id>/activities")
@allowed(policy.may_open_any)
def activities(team_id: int):
    """Every entry of the team's activity record, newest first, a page at a time (and as a file)."""
    team = _team(team_id)
    stmt = select(Activity).where(Activity.team_id == team.id).order_by(Activity.started_on.desc(), Activity.id.desc())
    if request.args.get("kind") in ACTIVITY_KINDS:
        stmt = stmt.where(Activity.kind == request.args["kind"])
    if request.args.get("format") in ("csv", "xlsx"):
        return export(db.session.scalars(stmt), [
            ("開始日", lambda a: a.started_on), ("終了日", lambda a: a.ended_on), ("種類", lambda a: a.kind_label),
            ("場所", lambda a: a.place), ("参加者", lambda a: a.participants), ("訪問企業数", lambda a: a.company_count),
            ("概要", lambda a: a.summary), ("今後の対応", lambda a: a.follow_ups),
        ], f"{team.name}_活動の記録")
    return page_or_fragment("teams/activities.html", "teams/_activities_table.html", page=paginate(stmt), team=team,
                            kinds=ACTIVITY_KINDS)


def _activity(team_id: int, activity_id: int) -> Activity:
    activity = db.get_or_404(Activity, activity_id)
    if activity.team_id != _team(team_id).id:
        abort(404)
    return activity


@bp.route("/<int:team_id>/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@allowed(policy.may_open_any, refused=FORM_PAGE)
def correct_activity(team_id: int, activity_id: int):
    activity = _activity(team_id, activity_id)
    if not policy.may_correct_activity(activity, current_user):
        abort(403)
    form = ActivityForm(obj=activity) if request.method == "GET" else ActivityForm()

    def page():
        return render_template("teams/activity_form.html", form=form, activity=activity, team=activity.team), \
            422 if form.errors or form.form_errors else 200

    on_refusal(page, form)
    if request.method == "POST" and form.validate_on_submit():
        teams.correct_activity(activity, form.data, actor=current_user, expected_version=opened_version())
        flash(f"{activity.kind_label}（{wareki(activity.started_on)}）の記録を修正しました。", "success")
        return redirect(url_for("teams.detail", team_id=team_id) + "#activities")
    return page()


@bp.post("/<int:team_id>/activities/<int:activity_id>/delete")
@allowed(policy.may_open_any, refused="teams.detail")
def delete_activity(team_id: int, activity_id: int):
    activity = _activity(team_id, activity_id)
    label = f"{activity.kind_label}（{wareki(activity.started_on)}）"
    return act(lambda: teams.delete_activity(activity, actor=current_user, expected_version=opened_version()),
               f"{label}の記録を削除しました。", redirect(url_for("teams.detail", team_id=team_id) + "#activities"))


@bp.post("/<int:team_id>/reports/<int:period>")
@allowed(policy.may_open_any, refused="teams.detail")
def file_report(team_id: int, period: int):
    team = _team(team_id)
    form = ReportForm()
    return act(lambda: teams.file_report(team, period, form.data, actor=current_user),
               f"{'上期' if period == 1 else '下期'}の活動報告を提出しました。",
               redirect(url_for("teams.detail", team_id=team.id) + "#reports"))


@bp.route("/<int:team_id>/replace", methods=["GET", "POST"])
@allowed(policy.may_manage, refused=FORM_PAGE)
def replace(team_id: int):
    team = _team(team_id)
    form = ReplacementForm()
    form.leaving.choices = [SelectChoice(str(m.officer.id), f"{m.officer.name}（{m.officer.home_ministry.name}）")
                            for m in team.current_members]
    leaving = db.session.get(Officer, parse_id(form.leaving.data)) if parse_id(form.leaving.data) else team.current_members[0].officer
    candidates = teams.replacement_candidates(team, leaving, limit=30, q=request.values.get("q", ""))
    form.joining.choices = [SelectChoice(str(o.id), f"{o.name}（{o.home_ministry.name}）") for o, _, _ in candidates]

    def page():
        return render_template("teams/replace.html", team=team, form=form, candidates=candidates, leaving=leaving), \
            422 if form.errors or form.form_errors else 200

    on_refusal(page, form)
    # 「候補を表示」「探す」 post the form to show candidates; only 「交代を確定する」 is checked and saved.
    if request.method == "POST" and request.form.get("confirm") == "1" and form.validate_on_submit():
        joining = db.session.get(Officer, parse_id(form.joining.data)) if parse_id(form.joining.data) else None
        if joining is None:
            raise InputError("着任する支援官を選んでください。", "joining")
        replacement = teams.replace_member(team, leaving, joining, effective=form.effective.data, reason=form.reason.data,
                                           note=form.note.data, actor=current_user, expected_version=opened_version())
        flash(f"{leaving.name}さんから{joining.name}さんへの交代を記録し、市町村とチームに通知しました。"
              + ("" if replacement.applied_at else f"{wareki(replacement.effective_on)}付で反映します（それまでは予定として表示します）。"),
              "success")
        return redirect(url_for("teams.detail", team_id=team.id))
    return page()


@bp.post("/<int:team_id>/extend")
@allowed(policy.may_manage, refused="teams.detail")
def extend(team_id: int):
    team = _team(team_id)
    form = ExtensionForm()

    form.validate_on_submit()
    case = teams.request_extension(team, new_end=form.new_end.data, reason=form.reason.data, actor=current_user,
                                   expected_version=opened_version())
    report_decision(case, "支援期間の延長を記録しました。", "支援期間の延長")
    return redirect(url_for("teams.detail", team_id=team.id))


@bp.post("/<int:team_id>/reopen")
@allowed(policy.may_reopen, refused="teams.detail")
def reopen(team_id: int):
    """An admin reopens a closed team's records for a correction, with a reason (services/closing.py)."""
    team = _team(team_id)
    form = ReopenForm()
    back = redirect(url_for("teams.detail", team_id=team.id))
    until = closing.reopen(team, form.reason.data, actor=current_user)
    flash(f"{team.name}の記録を{wareki(until)}まで再開しました。修正が済めば、その翌日に再び締め切られます。", "success")
    return back


@bp.get("/reports")
@allowed(policy.may_manage)
def reports():
    phase = phases.selected_phase(request.args.get("phase"), phases.SUPPORT)
    per_page = current_app.config["PER_PAGE"]
    page = int_arg("page")
    total, missing = teams.unfiled_reports(phase, limit=per_page, offset=(page - 1) * per_page)
    soon, upcoming = teams.unfiled_reports(phase, within=14, after_today=True, limit=per_page)
    return render_template("teams/reports.html", phase=phase, missing=Page(missing, page, per_page, total),
                           upcoming=upcoming, soon=soon, all_phases=phases.all_phases())


@bp.post("/reports/remind")
@allowed(policy.may_manage, refused="teams.reports")
def remind_reports():
    phase = phases.selected_phase(request.args.get("phase"), phases.SUPPORT)
    count = teams.remind_reports(phase, actor=current_user)
    flash(f"活動報告の督促を新たに{count}件送りました（同じ報告について同じ方へは1回まで）。", "success")
    return redirect(url_for("teams.reports", phase=phase.number))


# --- matching (PUB-1) ---------------------------------------------------------------------

@matching_bp.get("/", endpoint="index")
@allowed(policy.may_match)
def matching_index():
    """The stored plan (computed on the worker: never on this page), the decisions and weights behind it."""
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    plan = matching.latest_plan(phase)
    shown = plan if plan is not None and plan.status == "done" else matching.latest_plan(phase, done=True)
    view = matching.read_plan(shown) if shown is not None else None
    settings = matching.settings_for(phase)
    return render_template("matching/index.html", phase=phase, plan=plan, view=view, field_label=field_label, all_phases=phases.all_phases(),
                           unmatched=teams.unmatched_applications(phase), constraints=matching.constraints(phase),
                           settings=settings, weights=matching.weights_of(settings), factors=matching.FACTORS,
                           factor_label=matching.factor_label)


@matching_bp.post("/plan")
@allowed(policy.may_match, refused="matching.index")
def request_plan():
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    return act(lambda: matching.request_plan(phase, actor=current_user),
               "計画を依頼しました。進み具合はこの画面に表示されます。", redirect(url_for("matching.index", phase=phase.number)))


@matching_bp.get("/plan/<int:plan_id>/status")
@allowed(policy.may_match)
def plan_status(plan_id: int):
    """The progress bar's poll; once the plan is ready the page reloads to show it."""
    plan = db.get_or_404(MatchingPlan, plan_id)
    response = make_response(render_template("matching/_status.html", plan=plan, phase=plan.phase))
    if not plan.busy and request.args.get("was") == "busy":
        response.headers["HX-Refresh"] = "true"
    return response


@matching_bp.post("/settings")
@allowed(policy.may_match, refused="matching.index")
def save_settings():
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    options = {key: request.form.get(key) == "1" for key in
               ("exclude_home_municipality", "exclude_home_prefecture", "exclude_secondment", "within_budget")}
    return act(lambda: matching.save_settings(phase, request.form, options, actor=current_user,
                                              expected_version=opened_version()),
               "重みと除外条件を保存しました。新しい条件で計画し直します。", redirect(url_for("matching.index", phase=phase.number)))


@matching_bp.post("/constraints")
@allowed(policy.may_match, refused="matching.index")
def add_constraint():
    application = db.session.get(Application, parse_id(request.form.get("application_id")) or 0)
    officer = db.session.get(Officer, parse_id(request.form.get("officer_id")) or 0)
    kind = request.form.get("kind", "")
    if application is None:
        on_refusal(lambda: redirect(url_for("matching.index")))
        raise InputError("指定する市町村の回答が見つかりません。マッチングの画面から指定してください。")
    back = request.form.get("back") == "edit"
    then = redirect(url_for("matching.edit_proposal", application_id=application.id) if back
                    else url_for("matching.index", phase=application.phase.number))
    return act(lambda: matching.add_constraint(application, kind, officer, request.form.get("reason", ""), actor=current_user),
               "指定しました。この指定を守って計画し直します。", then)


@matching_bp.post("/constraints/<int:constraint_id>/delete")
@allowed(policy.may_match, refused="matching.index")
def remove_constraint(constraint_id: int):
    constraint = db.get_or_404(MatchingConstraint, constraint_id)
    phase = constraint.application.phase
    return act(lambda: matching.remove_constraint(constraint, actor=current_user),
               "指定を取り消しました。計画し直します。", redirect(url_for("matching.index", phase=phase.number)))


@matching_bp.get("/score/<int:application_id>")
@allowed(policy.may_match)
def score(application_id: int):
    """Live re-score of a hand-picked team on the edit page (htmx)."""
    application = db.get_or_404(Application, application_id)
    ids = [n for n in map(parse_id, request.args.getlist("member")) if n]
    return render_template("matching/_score.html", scored=matching.score_team(application, ids),
                           factor_label=matching.factor_label)


@matching_bp.post("/accept")
@allowed(policy.may_match, refused="matching.index")
def accept():
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    choices = []
    if parse_id(request.form.get("application_id")):  # one proposal edited by hand
        choices.append((parse_id(request.form["application_id"]), [n for n in map(parse_id, request.form.getlist("member")) if n]))
    for value in request.form.getlist("proposal"):
        application_id, _, officer_ids = value.partition(":")
        if parse_id(application_id):
            choices.append((parse_id(application_id), [n for n in map(parse_id, officer_ids.split(",")) if n]))
    back = redirect(url_for("matching.index", phase=phase.number))
    on_refusal(lambda: back)
    if not choices:
        raise InputError("採用する提案を選んでください。")
    formed = matching.accept(phase, choices, actor=current_user)
    flash(f"{len(formed)}チームを編成しました。", "success")
    return back


@matching_bp.get("/edit/<int:application_id>")
@allowed(policy.may_match)
def edit_proposal(application_id: int):
    """Change the proposed members before adopting: any free, appointed officer of the phase."""
    application = db.get_or_404(Application, application_id)
    proposed = [n for n in map(parse_id, request.args.get("officers", "").split(",")) if n]
    return render_template("matching/edit.html", application=application, phase=application.phase, proposed=proposed,
                           available=matching.available_officers(application.phase, application, request.args.get("q", "")), scored=matching.score_team(application, proposed),
                           factor_label=matching.factor_label, field_label=field_label)


@matching_bp.post("/unmatched/<int:application_id>")
@allowed(policy.may_match, refused="matching.index")
def mark_unmatched(application_id: int):
    application = db.get_or_404(Application, application_id)
    return act(lambda: applications.change_status(application, "unmatched", reason=request.form.get("reason", ""), actor=current_user),
               f"{application.municipality.full_name}をマッチング不成立としました（PUB-1）。",
               redirect(url_for("matching.index", phase=application.phase.number)))
