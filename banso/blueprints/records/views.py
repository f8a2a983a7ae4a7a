"""Records (issue 35): the 行政文書ファイル管理簿, the 保存期間表, the disposition lists (廃棄協議・移管) with consent,
holds and extensions, the annual 管理状況 (第9条), and people's requests about their own data."""
from datetime import date

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from banso.blueprints.forms import act, opened_version
from banso.blueprints.records import bp
from banso.extensions import db
from banso.formatting import parse_id
from banso.listing import export, paginate, send_stored
from banso.models import Officer, PersonalRequest, RecordFile
from banso.models.records import DISPOSITIONS, FILE_STATES, PERSON_KINDS, REQUEST_KINDS
from banso.permissions import allowed
from banso.policies import records as policy
from banso.services import InputError, records

REGISTER = [(name, lambda f, name=name: records.register_row(f)[name]) for name in records.REGISTER_COLUMNS]


@bp.get("/", endpoint="index")
@allowed(policy.may_see_records)
def index():
    """The 行政文書ファイル管理簿: exactly the 第7条 columns, files under one year left out, closed files kept."""
    stmt = records.files_query(status=request.args.get("status") or None, kind=request.args.get("kind") or None,
                               fiscal_year=parse_id(request.args.get("year")), register=True)
    if request.args.get("format") in ("csv", "xlsx"):
        return export(db.session.scalars(stmt), REGISTER, "行政文書ファイル管理簿")
    return render_template("records/index.html", page=paginate(stmt), columns=records.REGISTER_COLUMNS,
                           row=records.register_row, states=FILE_STATES, kinds={k: v.middle for k, v in records.KINDS.items()},
                           counts=records.counts_by_status())


@bp.post("/refresh")
@allowed(policy.may_see_records, refused="records.index")
def refresh():
    """The files of new records made now (the worker does it daily)."""
    return act(lambda: records.ensure_files(), "行政文書ファイルを最新の記録にあわせて作成しました。", redirect(url_for("records.index")))


@bp.route("/schedule", methods=["GET", "POST"])
@allowed(policy.may_see_records, refused="records.schedule")
def schedule():
    """The 保存期間表: a row per kind of record, editable by an admin."""
    if request.method == "POST":
        rule = next((r for r in records.rules() if r.kind == request.form.get("kind")), None)
        if rule is None:
            raise InputError("変更する行（記録の種類）を選んでください。")
        form = request.form
        data = {"major": form.get("major"), "middle": form.get("middle"), "name": form.get("name"),
                "years": parse_id(form.get("years")) if form.get("years") != "0" else 0, "disposition": form.get("disposition")}
        return act(lambda: records.update_rule(rule, data, actor=current_user, expected_version=opened_version()),
                   f"保存期間表「{rule.middle}」を変更しました。", redirect(url_for("records.schedule")))
    return render_template("records/schedule.html", rules=records.rules(), kinds=records.KINDS, dispositions=DISPOSITIONS,
                           fields=records.FIELDS, kept=records.KEPT, may_edit=policy.may_edit_schedule(current_user))


@bp.get("/disposition")
@allowed(policy.may_see_records)
def disposition():
    """The files whose period has ended: the 廃棄協議リスト (consent to record and approve), the 移管 list, the held."""
    listed = list(db.session.scalars(select(RecordFile).where(RecordFile.status.in_(("due", "consented")))
                                     .order_by(RecordFile.expires_on, RecordFile.kind)))
    held = list(db.session.scalars(select(RecordFile).where(RecordFile.hold_reason != "", RecordFile.status.in_(policy.OPEN))))
    return render_template("records/disposition.html", destroy=[f for f in listed if f.disposition == "destroy"],
                           transfer=[f for f in listed if f.disposition == "transfer"], held=held,
                           closed=list(db.session.scalars(select(RecordFile).where(RecordFile.status.in_(("destroyed", "transferred")))
                                                          .order_by(RecordFile.closed_at.desc()).limit(50))))


@bp.post("/files/<int:file_id>")
@allowed(policy.may_see_records, refused="records.disposition")
def file_action(file_id: int):
    file = db.get_or_404(RecordFile, file_id)
    form, version = request.form, opened_version()
    action = form.get("action")
    steps = {
        "consent": (lambda: records.record_consent(file, _date(form.get("consent_on")), actor=current_user, expected_version=version),
                    "同意の日を記録しました。別の事務局管理者が確認すると、次の定期処理で廃棄されます。"),
        "approve": (lambda: records.approve_consent(file, actor=current_user, expected_version=version),
                    "同意の日を確認しました。次の定期処理で廃棄されます。"),
        "hold": (lambda: records.set_hold(file, form.get("reason", ""), actor=current_user, expected_version=version),
                 "保留を設定しました（空欄で保存すると解除します）。"),
        "extend": (lambda: records.extend(file, parse_id(form.get("years")), form.get("reason", ""), actor=current_user,
                                          expected_version=version), "保存期間を延長しました。"),
    }
    if action not in steps:
        raise InputError("操作を選んでください。")
    call, message = steps[action]
    return act(call, message, redirect(url_for("records.disposition")))


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


@bp.get("/files/<int:file_id>/package")
@allowed(policy.may_see_records)
def package(file_id: int):
    """The 移管 package as it was handed over (zip: metadata, records, files, manifest)."""
    file = db.get_or_404(RecordFile, file_id)
    if not file.package_sha256:
        abort(404)
    return send_stored(file.package_sha256, "application/zip", f"移管_{file.name}.zip")


@bp.get("/report")
@allowed(policy.may_see_records)
def report():
    """第9条: the state of management in a fiscal year, as the annual report asks."""
    return render_template("records/report.html", report=records.year_report(parse_id(request.args.get("year"))))


# --- requests about one's own data ------------------------------------------------------------------------------------

@bp.route("/requests", methods=["GET", "POST"])
@allowed(policy.may_handle_requests, refused="records.requests")
def requests():
    if request.method == "POST":
        form = request.form
        officer_email = (form.get("officer_email") or "").strip().lower()
        officer_id = db.session.scalar(select(Officer.id).where(Officer.email == officer_email)) if officer_email else None
        data = {"kind": form.get("kind"), "person_kind": form.get("person_kind"), "officer_id": officer_id,
                "email": form.get("email"), "requester": form.get("requester"), "details": form.get("details"),
                "received_on": _date(form.get("received_on"))}
        return act(lambda: records.receive(data, actor=current_user),
                   "請求を受け付けました。決定期限は受付から30日です（開示請求の間、対象の記録のファイルは廃棄・移管されません）。",
                   redirect(url_for("records.requests")))
    stmt = select(PersonalRequest).order_by(PersonalRequest.status != "open", PersonalRequest.due_on)
    return render_template("records/requests.html", page=paginate(stmt), kinds=REQUEST_KINDS, persons=PERSON_KINDS,
                           overdue={r.id for r in records.overdue()})


@bp.post("/requests/<int:request_id>")
@allowed(policy.may_handle_requests, refused="records.requests")
def decide(request_id: int):
    item = db.get_or_404(PersonalRequest, request_id)
    form, version = request.form, opened_version()
    if form.get("action") == "extend":
        return act(lambda: records.extend_due(item, parse_id(form.get("days")), form.get("reason", ""), actor=current_user,
                                              expected_version=version), "決定期限を延長しました。", redirect(url_for("records.requests")))
    corrections = {k[len("fix_"):]: v for k, v in form.items() if k.startswith("fix_") and v.strip()}
    grant = form.get("action") == "grant"
    return act(lambda: records.decide(item, grant, form.get("note", ""), actor=current_user, corrections=corrections,
                                      expected_version=version),
               f"{item.kind_label}を{'認める' if grant else '認めない'}決定をしました。", redirect(url_for("records.requests")))


@bp.get("/requests/<int:request_id>/package")
@allowed(policy.may_handle_requests)
def disclosure(request_id: int):
    """開示: everything Banso holds about the person (Excel and the attached files, zipped)."""
    item = db.get_or_404(PersonalRequest, request_id)
    if item.kind != "disclosure":
        abort(404)
    response = make_response(records.disclosure_package(item, actor=current_user))
    response.headers["Content-Type"] = "application/zip"
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''disclosure-{item.id}.zip"
    response.headers["Cache-Control"] = "no-store"
    return response
