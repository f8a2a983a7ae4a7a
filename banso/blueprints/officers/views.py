from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from banso import queue
from banso.blueprints.forms import act, already_sent, on_refusal, report_bulk, safe_next
from banso.blueprints.imports.views import start_upload
from banso.blueprints.officers import appointments_bp, bp
from banso.blueprints.officers.forms import (ChangeRequestForm, DecisionForm, EndAppointmentForm, ImportForm,
                                             IssueOrdersForm, OfficerForm, ProfileForm, ministry_choices)
from banso.clock import today_jst
from banso.extensions import db
from banso.formatting import wareki
from banso.listing import export, page_or_fragment, paginate, sort_by
from banso.models import (ConcurrentAppointment, Officer, OfficerCandidacy, ProfileChangeRequest)
from banso.models.officer import CANDIDACY_LABELS
from banso.permissions import FORM_PAGE, allowed
from banso.policies import officers as policy
from banso.reference import FIELDS, GRADE_BANDS, INELIGIBLE_GRADES, OFFICER_TYPES, field_label
from banso.services import InputError, officer_import, officers, phases, statistics



def _phase(arg="phase"):
    value = request.values.get(arg)
    if value == "all":
        return None
    return phases.selected_phase(value, phases.INTAKE)


def _officer_form(form):
    form.ministry_id.choices = ministry_choices(officers.all_ministries())
    return form


@bp.get("/", endpoint="index")
@allowed(policy.may_list)
def index():
    limited = not policy.sees_hr_data(current_user)
    phase = _phase() if policy.may_filter_by_phase(current_user) else None
    stmt = officers.list_query(phase, hr=not limited, **policy.list_filters(current_user, request.args))
    sortable = {"kana": Officer.name_kana, "ministry": Officer.ministry_id} | ({} if limited else {"grade": Officer.grade_band})
    stmt, sort = sort_by(stmt, sortable, "kana")
    if request.args.get("format") in ("csv", "xlsx"):
        # In the import layout (officer_import.COLUMNS): the file imports back unchanged. Finance: names only.
        columns = [("氏名", lambda o: o.name), ("府省庁", lambda o: o.ministry.name)] if limited else \
            [(header, (lambda i: lambda o: officer_import.export_row(o)[i])(i)) for i, (header, _) in enumerate(officer_import.COLUMNS)]
        return export(db.session.scalars(stmt), columns, "支援官一覧")
    page = paginate(stmt)
    candidacies = officers.candidacies_by_officer(phase, [o.id for o in page.items]) if phase else {}
    return page_or_fragment("officers/index.html", "officers/_table.html", page=page, sort=sort, phase=phase,
                            candidacies=candidacies, limited=limited, ministries=officers.all_ministries(),
                            grades=GRADE_BANDS + INELIGIBLE_GRADES, fields=FIELDS, field_label=field_label,
                            statuses=CANDIDACY_LABELS, officer_types=OFFICER_TYPES, all_phases=phases.all_phases())


@bp.route("/new", methods=["GET", "POST"])
@allowed(policy.may_keep_records, refused=FORM_PAGE)
def create():
    form = _officer_form(OfficerForm())
    on_refusal(lambda: render_template("officers/form.html", form=form, officer=None), form)
    if form.validate_on_submit():
        if (sent := already_sent(form)) is not None:
            return sent
        officer = officers.create_officer(form.record_data(), actor=current_user)
        phase = phases.default_phase(phases.INTAKE)  # the phase taking applicants in
        if phase is not None and request.form.get("apply") == "1":
            officers.apply_to_phase(officer, phase, actor=current_user)
        flash(f"{officer.name}さんを登録しました。", "success")
        return redirect(url_for("officers.detail", officer_id=officer.id))
    return render_template("officers/form.html", form=form, officer=None), 422 if form.errors or form.form_errors else 200


@bp.get("/<int:officer_id>")
@allowed(policy.may_open_any)
def detail(officer_id: int):
    officer = db.get_or_404(Officer, officer_id)
    if not policy.sees_hr_data(current_user):
        if not policy.is_own_record(officer, current_user):
            abort(403)  # officers see only their own record (teammates' cards come with the team)
        return redirect(url_for("officers.me"))
    return render_template("officers/detail.html", o=officer, eligibility=officers.eligibility(officer),
                           effort_warning=officers.effort_warning(officer), field_label=field_label, wareki=wareki,
                           end_form=EndAppointmentForm(), today=today_jst(), candidacy_actions=officers.candidacy_actions)


@bp.route("/<int:officer_id>/edit", methods=["GET", "POST"])
@allowed(policy.may_keep_records, refused=FORM_PAGE)
def edit(officer_id: int):
    officer = db.get_or_404(Officer, officer_id)
    form = _officer_form(OfficerForm(obj=officer) if request.method == "GET" else OfficerForm())
    on_refusal(lambda: render_template("officers/form.html", form=form, officer=officer), form)
    if request.method == "GET":
        form.ministry_id.data = str(officer.ministry_id)
    elif form.validate_on_submit():
        officers.update_officer(officer, form.record_data(), actor=current_user, expected_version=form.version.data)
        flash("記録を更新しました。", "success")
        return redirect(url_for("officers.detail", officer_id=officer.id))
    return render_template("officers/form.html", form=form, officer=officer), 422 if form.errors or form.form_errors else 200


@bp.post("/<int:officer_id>/candidacies/<int:candidacy_id>")
@allowed(policy.may_keep_records, refused="officers.detail")
def candidacy_status(officer_id: int, candidacy_id: int):
    candidacy = db.get_or_404(OfficerCandidacy, candidacy_id)
    if candidacy.officer_id != officer_id:
        abort(404)
    back = redirect(safe_next(request.form.get("next"), url_for("officers.detail", officer_id=officer_id)))
    on_refusal(lambda: back)
    officers.set_candidacy_status(candidacy, request.form.get("status", ""), actor=current_user)
    flash(f"{candidacy.phase.name}の状況を「{candidacy.status_label}」にしました。", "success")
    return back


@bp.post("/bulk")
@allowed(policy.may_select, refused="officers.index")
def bulk():
    """選定 or 不選定 for the applicants ticked in the phase's list; the refused ones are named."""
    phase = phases.selected_phase(request.form.get("phase"), phases.INTAKE)
    back = redirect(safe_next(request.form.get("next"), url_for("officers.index"), under="/officers"))
    on_refusal(lambda: back)
    if phase is None:
        raise InputError("期を選んでください。")
    status = request.form.get("status", "")
    changed, refused = officers.set_candidacy_status_many(phase, request.form.getlist("ids"), status, actor=current_user)
    report_bulk(changed, refused, officers.BULK_STATUSES[status], "名", lambda o: o.name)
    return back


@bp.post("/<int:officer_id>/apply")
@allowed(policy.may_keep_records, refused="officers.detail")
def apply(officer_id: int):
    officer = db.get_or_404(Officer, officer_id)
    phase = phases.selected_phase(request.form.get("phase"), phases.INTAKE)
    return act(lambda: officers.apply_to_phase(officer, phase, actor=current_user), f"{phase.name}の応募者として登録しました。",
               redirect(url_for("officers.detail", officer_id=officer.id)))


@bp.post("/<int:officer_id>/login")
@allowed(policy.may_keep_records, refused="officers.detail")
def create_login(officer_id: int):
    officer = db.get_or_404(Officer, officer_id)
    back = redirect(url_for("officers.detail", officer_id=officer.id))
    user = officers.create_login(officer, actor=current_user)
    flash(f"サインイン用アカウントを作成し、{user.email} にパスワード設定用のリンク（24時間有効）を送りました。", "success")
    return back


@bp.route("/imports/new", methods=["GET", "POST"])
@allowed(policy.may_keep_records, refused=FORM_PAGE)
def import_new():
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    form = ImportForm()

    def page():
        return render_template("officers/import_new.html", form=form, phase=phase, columns=officer_import.COLUMNS), \
            422 if form.errors or form.form_errors else 200

    if form.validate_on_submit():
        return start_upload(officer_import.KIND, phase, form, page)
    return page()


# --- self-service (OFF-4, OFF-5) -----------------------------------------------------

def _own_officer() -> Officer:
    officer = db.session.scalar(select(Officer).where(Officer.user_id == current_user.id))
    if officer is None:
        abort(404)
    return officer


@bp.route("/me", methods=["GET", "POST"])
@allowed(policy.keeps_own_profile, refused=FORM_PAGE)
def me():
    officer = _own_officer()
    form = ProfileForm(obj=officer) if request.method == "GET" else ProfileForm()
    change_form = ChangeRequestForm(obj=officer)
    change_form.ministry_id.choices = ministry_choices(officers.all_ministries(), "変更なし")
    change_form.ministry_id.data = ""

    def page():
        from banso.services import teams

        requests = list(db.session.scalars(select(ProfileChangeRequest).where(ProfileChangeRequest.officer_id == officer.id)
                                           .order_by(ProfileChangeRequest.created_at.desc())))
        return render_template("officers/me.html", o=officer, form=form, change_form=change_form, requests=requests,
                               team=teams.team_of_user(current_user), past=teams.past_memberships(officer),
                               effort_warning=officers.effort_warning(officer), field_label=field_label), \
            422 if form.errors or form.form_errors else 200

    on_refusal(page, form)
    if form.validate_on_submit():
        officers.update_own_profile(officer, form.self_data(), actor=current_user)
        flash("プロフィールを更新しました。", "success")
        return redirect(url_for("officers.me"))
    return page()


@bp.post("/me/changes")
@allowed(policy.keeps_own_profile, refused="officers.me")
def request_change():
    officer = _own_officer()
    form = ChangeRequestForm()
    form.ministry_id.choices = ministry_choices(officers.all_ministries(), "変更なし")
    def file_request():
        if not form.validate_on_submit():
            raise InputError("入力内容をご確認ください。")
        officers.request_change(officer, form.changes(), reason=form.reason.data, effective_on=form.effective_on.data,
                                actor=current_user)

    return act(file_request, "変更を申請しました。事務局が確認して反映します。", redirect(url_for("officers.me")))


@bp.get("/changes")
@allowed(policy.may_keep_records)
def changes():
    status = request.args.get("status", "pending")
    stmt = select(ProfileChangeRequest).order_by(ProfileChangeRequest.created_at.desc())
    if status in ("pending", "approved", "rejected"):
        stmt = stmt.where(ProfileChangeRequest.status == status)
    return page_or_fragment("officers/changes.html", "officers/_changes_table.html", page=paginate(stmt), status=status,
                            form=DecisionForm(), ministries={m.id: m.name for m in officers.all_ministries()})


@bp.post("/changes/<int:request_id>")
@allowed(policy.may_keep_records, refused="officers.changes")
def decide_change(request_id: int):
    change = db.get_or_404(ProfileChangeRequest, request_id)
    form = DecisionForm()
    back = redirect(url_for("officers.changes"))
    decision = officers.decide_change(change, approve=request.form.get("decision") == "approve", note=form.note.data,
                                      actor=current_user)
    flash(f"{change.officer.name}さんの申請を{change.status_label}しました。", "success")
    if decision.needs_replacement:
        from banso.services import teams

        team = teams.team_of_user(change.officer.user) if change.officer.user else None
        where = f"（{url_for('teams.replace', team_id=team.id)}）" if team else ""
        flash(f"{change.officer.name}さんは対象外となりましたが、チームに配属されています。メンバー交代の手続を行ってください（TEAM-4）{where}。", "warning")
    return back


@bp.get("/breakdown")
@allowed(policy.sees_hr_data)
def breakdown():
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    data = statistics.officer_breakdown(phase)
    if request.args.get("format") in ("csv", "xlsx"):
        rows = [(category, label, applicants, selected) for category, items in data.items() for label, applicants, selected in items]
        return export(rows, [("区分", lambda r: r[0]), ("項目", lambda r: r[1]), ("応募者", lambda r: r[2]), ("選定", lambda r: r[3])],
                      f"{phase.name}_支援官の内訳")
    return render_template("officers/breakdown.html", phase=phase, data=data, all_phases=phases.all_phases())


# --- concurrent appointments (OFF-3) --------------------------------------------------

@appointments_bp.get("/", endpoint="index")
@allowed(policy.may_appoint)
def appointments_index():
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    stmt = officers.appointment_query(phase, state=request.args.get("state"), q=request.args.get("q"),
                                      ministry_id=request.args.get("ministry_id"))
    stmt, sort = sort_by(stmt, {"number": ConcurrentAppointment.order_number, "kana": Officer.name_kana}, "number")
    if request.args.get("format") in ("csv", "xlsx"):
        return export(db.session.scalars(stmt), [
            ("辞令番号", lambda a: a.order_number), ("氏名", lambda a: a.officer.name), ("府省庁", lambda a: a.officer.ministry.name),
            ("所属・役職", lambda a: f"{a.officer.bureau}{a.officer.division} {a.officer.post_title}"), ("併任先", lambda a: a.post),
            ("発令日", lambda a: a.order_date), ("併任期間（自）", lambda a: a.effective_from), ("併任期間（至）", lambda a: a.effective_to),
            ("状態", lambda a: a.state_label), ("解除日", lambda a: a.ended_on), ("解除理由", lambda a: a.end_reason),
        ], f"{phase.name}_併任発令一覧")
    template = "appointments/print.html" if request.args.get("print") == "1" else "appointments/index.html"
    if template.endswith("print.html"):
        return render_template(template, phase=phase, appointments=list(db.session.scalars(stmt)))
    return page_or_fragment(template, "appointments/_table.html", page=paginate(stmt), sort=sort, phase=phase,
                            form=IssueOrdersForm(order_date=phase.support_start),  # the usual 発令日: the support's start
                            ministries=officers.all_ministries(), all_phases=phases.all_phases(),
                            pending=officers.pending_orders(phase))


@appointments_bp.post("/issue")
@allowed(policy.may_appoint, refused="appointments.index")
def issue():
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    form = IssueOrdersForm()
    if not form.validate_on_submit():
        flash("発令日と併任先を入力してください。", "error")
        return redirect(url_for("appointments.index", phase=phase.number))
    try:
        job = queue.queue("default").enqueue(queue.Job.ISSUE_APPOINTMENTS, phase.id, form.order_date.data.isoformat(),
                                             form.post.data, current_user.id, job_timeout=600)
    except Exception:  # Redis unavailable: tell the user, change nothing
        flash("処理を開始できませんでした（ジョブ基盤に接続できません）。しばらくしてから再度お試しください。", "error")
        return redirect(url_for("appointments.index", phase=phase.number))
    return redirect(url_for("appointments.task", job_id=job.id, phase=phase.number))


@appointments_bp.get("/tasks/<job_id>")
@allowed(policy.may_appoint)
def task(job_id: str):
    """A self-polling progress partial for the bulk issue; 286 when finished."""
    from rq.job import Job, NoSuchJobError

    try:
        job = Job.fetch(job_id, connection=queue.connection())
    except NoSuchJobError:
        abort(404)
    status = job.get_status()
    done = status in ("finished", "failed", "stopped", "canceled")
    context = {"job": job, "status": status, "done": done, "meta": job.get_meta(), "phase_number": request.args.get("phase")}
    if request.htmx:
        response = make_response(render_template("appointments/_task.html", **context))
        if done:
            response.status_code = 286
        return response
    return render_template("appointments/task.html", **context)


@appointments_bp.post("/<int:appointment_id>/end")
@allowed(policy.may_appoint, refused="appointments.index")
def end(appointment_id: int):
    appointment = db.get_or_404(ConcurrentAppointment, appointment_id)
    form = EndAppointmentForm()

    def end_it():
        if not form.validate_on_submit():
            raise InputError("解除日を入力してください。", "on")
        officers.end_appointment(appointment, on=form.on.data, reason=form.reason.data, actor=current_user)

    return act(end_it, "併任を解除しました。", redirect(url_for("officers.detail", officer_id=appointment.officer_id)))
