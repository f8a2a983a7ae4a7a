from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from banso.blueprints.applications import bp
from banso.blueprints.applications.forms import (ApplicationForm, ContinuationForm, ContinuationImportForm, ImportForm,
                                                 LateAcceptanceForm, StatusForm)
from banso.blueprints.forms import act, already_sent, on_refusal, report_bulk, report_decision, safe_next
from banso.blueprints.imports.views import start_upload
from banso.clock import JST, now
from banso.extensions import db
from banso.listing import export, page_or_fragment, paginate, sort_by
from banso.models import Application, Municipality
from banso.models.application import APPLICATION_STATUS_LABELS
from banso.permissions import FORM_PAGE, allowed
from banso.policies import admin as admin_policy
from banso.policies import applications as policy
from banso.reference import FIELDS, POPULATION_BANDS, PREFECTURES, REGION_BLOCKS, field_label
from banso.services import (InputError, application_import, applications, audit, continuation_import, imports, inquiries,
                            municipalities, phases, survey)


FILTERS = ("q", "prefecture", "block", "band", "field", "status", "kind", "late")


def _phase():
    phase = phases.selected_phase(request.args.get("phase"), phases.INTAKE)
    if phase is None:
        abort(404)
    return phase


def _get(application_id: int) -> Application:
    return db.get_or_404(Application, application_id)


@bp.get("/", endpoint="index")
@allowed(policy.may_handle)
def index():
    phase = _phase()
    stmt, population = applications.list_query(phase, **{k: request.args.get(k) for k in FILTERS})
    sorts = {"code": Municipality.code, "received": Application.received_at, "population": population, "status": Application.status}
    stmt, sort = sort_by(stmt, sorts, "code")
    if request.args.get("format") in ("csv", "xlsx"):
        rows = (application_import.export_row(a) + [a.status_label, "継続" if a.is_continuing else "新規"]
                for a, _ in db.session.execute(stmt))
        headers = [h for h, _ in application_import.COLUMNS] + ["状況", "区分"]
        return export(rows, [(h, (lambda i: lambda r: r[i])(i)) for i, h in enumerate(headers)], f"{phase.name}_活用希望調査回答")
    return page_or_fragment("applications/index.html", "applications/_table.html", page=paginate(stmt, rows=True),
                            sort=sort, phase=phase, counts=applications.counts(stmt, population), all_phases=phases.all_phases(),
                            prefectures=PREFECTURES, blocks=REGION_BLOCKS, bands=POPULATION_BANDS, fields=FIELDS,
                            field_label=field_label, statuses=APPLICATION_STATUS_LABELS)


def _form_page(form, phase, application=None, status=200):
    return render_template("applications/form.html", form=form, phase=phase, application=application,
                           municipality_choices=municipalities.choices(),
                           warnings=applications.ministry_mentions(form.local_situation.data or "")), status


@bp.route("/new", methods=["GET", "POST"])
@allowed(policy.may_handle, refused=FORM_PAGE)
def create():
    phase = _phase()
    form = ApplicationForm()
    on_refusal(lambda: _form_page(form, phase, status=422), form)
    if request.method == "GET":
        form.received_at.data = now().astimezone(JST).replace(tzinfo=None, microsecond=0)
    elif form.validate_on_submit():
        municipality = municipalities.find_by_input(form.municipality.data)
        if municipality is None:
            form.municipality.errors = ["該当する市区町村が見つかりません。候補から選んでください。"]
        elif (sent := already_sent(form)) is not None:
            return sent
        else:
            application = applications.submit_application(phase, municipality, form.data_for_service(), actor=current_user)
            flash(f"{municipality.full_name}の回答を{'期限後（保留）として' if application.is_late else ''}登録しました。",
                  "warning" if application.is_late else "success")
            return redirect(url_for("applications.detail", application_id=application.id))
    return _form_page(form, phase, status=422 if form.errors or form.form_errors else 200)


@bp.get("/<int:application_id>")
@allowed(policy.may_handle)
def detail(application_id: int):
    application = _get(application_id)
    return render_template("applications/detail.html", a=application, checks=applications.assess(application),
                           history=audit.history_of(application), status_form=StatusForm(), late_form=LateAcceptanceForm(),
                           actions=applications.available_actions(application), field_label=field_label)


@bp.route("/<int:application_id>/edit", methods=["GET", "POST"])
@allowed(policy.may_handle, refused=FORM_PAGE)
def edit(application_id: int):
    application = _get(application_id)
    form = ApplicationForm()
    form.municipality.render_kw = {"readonly": True}  # the municipality of an answer does not change
    on_refusal(lambda: _form_page(form, application.phase, application, status=422), form)
    if request.method == "GET":
        form.fill(application)
    elif form.validate_on_submit():
        applications.update_application(application, form.data_for_service(), actor=current_user,
                                        expected_version=form.version.data)
        flash("回答を修正しました。", "success")
        return redirect(url_for("applications.detail", application_id=application.id))
    return _form_page(form, application.phase, application, status=422 if form.errors or form.form_errors else 200)


@bp.post("/bulk")
@allowed(policy.may_handle, refused="applications.index")
def bulk():
    """確認済 or 対象 for the answers ticked in the list, each under its own rules; the refused ones are named."""
    selected = applications.by_ids(request.form.getlist("ids"))
    action = request.form.get("action", "")
    back = redirect(safe_next(request.form.get("next"), url_for("applications.index"), under="/applications"))
    on_refusal(lambda: back)
    changed, refused = applications.change_status_many(selected, action, actor=current_user)
    report_bulk(changed, refused, applications.BULK_ACTIONS[action], "件", lambda a: a.municipality.full_name)
    return back


@bp.post("/<int:application_id>/status")
@allowed(policy.may_handle, refused="applications.detail")
def change_status(application_id: int):
    application = _get(application_id)
    form = StatusForm()

    def change():
        if not form.validate_on_submit():
            raise InputError("操作を選んでください。")
        applications.change_status(application, form.action.data, reason=form.reason.data, actor=current_user)

    back = redirect(url_for("applications.detail", application_id=application.id))
    change()
    flash(f"状況を「{application.status_label}」にしました。", "success")
    return back


@bp.post("/<int:application_id>/confirm-population")
@allowed(admin_policy.may_confirm_population, refused="applications.detail")
def confirm_population(application_id: int):
    application = _get(application_id)
    form = LateAcceptanceForm()  # one reason field, as for a late answer
    return act(lambda: applications.confirm_population(application, reason=form.reason.data or "", actor=current_user),
               "人口要件（APP-1）の確認を記録しました。対象にできます。",
               redirect(url_for("applications.detail", application_id=application.id) + "#eligibility"))


@bp.post("/<int:application_id>/accept-late")
@allowed(admin_policy.may_accept_late, refused="applications.detail")
def accept_late(application_id: int):
    application = _get(application_id)
    form = LateAcceptanceForm()

    form.validate_on_submit()
    case = applications.request_late_acceptance(application, reason=form.reason.data, actor=current_user)
    report_decision(case, "期限後の回答を、理由を記録して受け付けました。", "期限後の受付")
    return redirect(url_for("applications.detail", application_id=application.id))


# --- spreadsheet import ----------------------------------------------------------

@bp.post("/imports/mail/<int:attachment_id>")
@allowed(policy.may_handle, refused="applications.index")
def import_mailed(attachment_id: int):
    """A spreadsheet attached to a mail on an inquiry's thread, taken as the survey's answers: the mail's own Date
    stands in for an empty 受付日時."""
    phase = _phase()
    attachment = inquiries.visible_attachment(attachment_id, current_user)
    if attachment is None:
        abort(404)
    batch = application_import.start_from_mail(attachment, phase, actor=current_user)
    if batch.status == "validating":
        imports.enqueue_validation(batch)
    return redirect(url_for("imports.detail", batch_id=batch.id))


@bp.route("/imports/new", methods=["GET", "POST"])
@allowed(policy.may_handle, refused=FORM_PAGE)
def import_new():
    phase = _phase()
    form = ImportForm()

    def page():
        return render_template("applications/import_new.html", form=form, phase=phase,
                               columns=application_import.COLUMNS), 422 if form.errors or form.form_errors else 200

    if request.method == "POST" and form.validate_on_submit():
        received = form.received_at.data
        return start_upload(application_import.KIND, phase, form, page,
                            options={"received_at": received.replace(tzinfo=JST).isoformat()} if received else {})
    return page()


# --- continuation survey (APP-4) ----------------------------------------------------

@bp.get("/continuation")
@allowed(policy.may_handle)
def continuation():
    phase = _phase()
    stmt = applications.continuation_query(phase, unanswered_only=request.args.get("unanswered") == "1")
    if request.args.get("format") in ("csv", "xlsx"):  # the file to fill and send back: it imports as it is returned
        columns = [(header, (lambda i: lambda pair: continuation_import.export_row(*pair)[i])(i))
                   for i, (header, _) in enumerate(continuation_import.COLUMNS)]
        return export(applications.continuation_rows(phase), columns, f"{phase.name}_継続意向調査")
    page = paginate(stmt, rows=True) if stmt is not None else None
    return render_template("applications/continuation.html", phase=phase, page=page, form=ContinuationForm(),
                           counts=applications.continuation_counts(phase),
                           previous=applications.previous_phase(phase), all_phases=phases.all_phases())


@bp.post("/continuation/<int:application_id>")
@allowed(policy.may_handle, refused="applications.continuation")
def continuation_answer(application_id: int):
    previous_application = _get(application_id)
    phase = _phase()
    form = ContinuationForm()

    def record():
        if not form.validate_on_submit():
            raise InputError("継続の意向を選んでください。", "wishes_to_continue")
        applications.record_continuation(phase, previous_application, wishes_to_continue=form.wishes_to_continue.data == "yes",
                                         issue_changes=form.issue_changes.data, actor=current_user)

    return act(record, f"{previous_application.municipality.full_name}の継続意向を記録しました。",
               redirect(url_for("applications.continuation", phase=phase.number)))


@bp.route("/continuation/import", methods=["GET", "POST"])
@allowed(policy.may_handle, refused=FORM_PAGE)
def continuation_import_new():
    """The answers as the municipalities send the file back: previewed, then all of them or none (APP-4)."""
    phase = _phase()
    form = ContinuationImportForm()

    def page():
        return render_template("applications/continuation_import.html", form=form, phase=phase,
                               columns=continuation_import.COLUMNS), 422 if form.errors or form.form_errors else 200

    if form.validate_on_submit():
        return start_upload(continuation_import.KIND, phase, form, page)
    return page()


@bp.post("/continuation/request")
@allowed(policy.may_handle, refused="applications.continuation")
def survey_request():
    """調査の依頼: the first mail of the survey, to every prefecture and to last phase's supported municipalities."""
    phase = _phase()
    count = survey.request_survey(phase, actor=current_user)
    flash(f"調査の依頼を{count}件送信しました（送信済みの宛先へは再送しません）。送信状況は通知の画面で確認できます。", "success")
    return redirect(url_for("applications.continuation", phase=phase.number))


@bp.post("/continuation/remind")
@allowed(policy.may_handle, refused="applications.continuation")
def continuation_remind():
    phase = _phase()
    count = survey.remind_unanswered(phase, actor=current_user)
    flash(f"未回答の{count}団体に督促を送りました（同じ団体へは1日1回まで）。", "success")
    return redirect(url_for("applications.continuation", phase=phase.number))
