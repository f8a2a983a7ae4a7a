from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from banso.blueprints.forms import act, already_sent, on_refusal, opened_version
from banso.blueprints.inquiries import bp, public_bp
from banso.blueprints.inquiries.forms import ContactForm, EmlForm, FaqForm, LogForm, MessageForm, TemplateForm
from banso.extensions import db
from banso.formatting import parse_id
from banso.listing import export, export_workbook, page_or_fragment, paginate, send_stored, sort_by
from banso.models import InboundMail, Inquiry, InquiryAttachment, InquiryMessage, Municipality, Officer, ReplyTemplate, User
from banso.models.inquiry import CATEGORIES, CHANNELS, MAIL_OUTCOMES, ORG_TYPES, InquiryStatus
from banso.permissions import FORM_PAGE, allowed
from banso.policies import applications as applications_policy
from banso.policies import inquiries as policy
from banso.services import InputError, inquiries, phases

FIELDS = ["org_type", "prefecture", "municipality_code", "organisation", "name", "email", "phone", "category", "subject", "body"]


def _municipality_choices(form: ContactForm) -> None:
    prefecture = form.prefecture.data or request.args.get("prefecture")
    if prefecture:
        rows = db.session.scalars(select(Municipality).where(Municipality.prefecture == prefecture).order_by(Municipality.code))
        form.municipality_code.choices = [SelectChoice("", "選択してください")] + [SelectChoice(m.code, m.name) for m in rows]


# --- the public side ------------------------------------------------------------------------

@public_bp.route("/contact", methods=["GET", "POST"])
def contact():
    """The one page the outside world reaches: FAQ first, then the form (INQ-1)."""
    form = ContactForm()
    if request.method == "GET" and current_user.is_authenticated and policy.asks_as_officer(current_user):
        officer = db.session.scalar(select(Officer).where(Officer.user_id == current_user.id))
        form.org_type.data, form.name.data, form.email.data = "officer", current_user.name, current_user.email
        if officer is not None:
            form.organisation.data, form.phone.data = f"{officer.ministry.name} {officer.bureau}".strip(), officer.phone
    _municipality_choices(form)

    def page():
        status = 422 if form.errors or form.form_errors else 200
        if any("受付を一時停止" in e for e in form.form_errors):
            status = 429
        return render_template("inquiries/contact.html", form=form, faq=inquiries.faq_by_category(), categories=CATEGORIES), status

    on_refusal(page, form, status=None)
    if request.method == "POST" and form.validate_on_submit():
        if form.website.data:  # the honeypot: answer as if accepted, keep nothing
            return redirect(url_for("contact.done"))
        if (sent := already_sent(form)) is not None:
            return sent
        data = {name: getattr(form, name).data for name in FIELDS}
        actor = current_user if current_user.is_authenticated else None
        inquiry = inquiries.submit_form(data, address=request.remote_addr, actor=actor)
        session["inquiry_receipt"] = (inquiry.receipt_number, inquiry.email)
        return redirect(url_for("contact.done"))
    return page()


@public_bp.get("/contact/municipalities")
def municipality_options():
    """The municipality select for a prefecture (htmx swaps it in as the prefecture changes)."""
    form = ContactForm(formdata=None)
    form.prefecture.data = request.args.get("prefecture")
    _municipality_choices(form)
    return render_template("inquiries/_municipality_select.html", form=form)


@public_bp.get("/contact/done")
def done():
    receipt = session.pop("inquiry_receipt", None)
    return render_template("inquiries/contact_done.html", receipt=receipt)


@public_bp.get("/faq")
def faq():
    return render_template("inquiries/faq.html", faq=inquiries.faq_by_category(), categories=CATEGORIES)


# --- the inbox --------------------------------------------------------------------------------

def _inquiry(inquiry_id: int, options=()) -> Inquiry:
    inquiry = db.get_or_404(Inquiry, inquiry_id, options=list(options))
    if not inquiries.can_view(inquiry, current_user):
        abort(403)
    return inquiry


EXPORT_COLUMNS = [
    ("受付番号", lambda i: i.receipt_number), ("受付日時", lambda i: i.received_at), ("経路", lambda i: i.channel_label),
    ("所属の種類", lambda i: i.org_type_label), ("団体名", lambda i: i.organisation), ("氏名", lambda i: i.name),
    ("メールアドレス", lambda i: i.email), ("分類", lambda i: i.category_label), ("件名", lambda i: i.subject),
    ("状態", lambda i: i.status_label), ("担当", lambda i: i.assignee.name if i.assignee else ""),
    ("回答期限", lambda i: i.due_at), ("初回回答", lambda i: i.first_response_at), ("期限超過", lambda i: "超過" if i.is_overdue else ""),
]


@bp.get("/", endpoint="index")
@allowed(policy.may_handle_any)
def index():
    args = request.args
    stmt = inquiries.list_query(current_user, q=args.get("q"), status=args.get("status"), category=args.get("category"),
                                org_type=args.get("org_type"), assignee=args.get("assignee"), overdue=args.get("overdue"),
                                phase_id=args.get("phase_id"), channel=args.get("channel"))
    stmt, sort = sort_by(stmt, {"received": Inquiry.received_at, "due": Inquiry.due_at, "last": Inquiry.last_message_at,
                                "status": Inquiry.status}, "-received")
    if args.get("format") in ("csv", "xlsx"):
        return export(db.session.scalars(stmt), EXPORT_COLUMNS, "問い合わせ一覧")
    return page_or_fragment("inquiries/index.html", "inquiries/_table.html", page=paginate(stmt), sort=sort,
                            counts=inquiries.status_counts(current_user), statuses=InquiryStatus, categories=CATEGORIES,
                            org_types=ORG_TYPES, channels=CHANNELS, handlers=inquiries.handlers(), all_phases=phases.all_phases())


@bp.get("/counts")
@allowed(policy.may_handle_any)
def counts():
    return render_template("inquiries/_counts.html", counts=inquiries.status_counts(current_user), statuses=InquiryStatus)


@bp.route("/new", methods=["GET", "POST"])
@allowed(policy.may_record, refused=FORM_PAGE)
def create():
    """Staff record a phone call or an e-mail in the same record (INQ-1)."""
    form = LogForm()
    if request.method == "GET":
        form.channel.data = "phone"
    _municipality_choices(form)
    on_refusal(lambda: render_template("inquiries/new.html", form=form), form)
    if request.method == "POST" and form.validate_on_submit():
        if (sent := already_sent(form)) is not None:
            return sent
        inquiry = inquiries.receive({name: getattr(form, name).data for name in FIELDS}, channel=form.channel.data,
                                    actor=current_user, acknowledge=bool(form.email.data))
        inquiries.assign(inquiry, current_user, actor=current_user)
        flash(f"{inquiry.receipt_number} として記録しました。", "success")
        return redirect(url_for("inquiries.detail", inquiry_id=inquiry.id))
    return render_template("inquiries/new.html", form=form), 422 if form.errors or form.form_errors else 200


@bp.route("/import", methods=["GET", "POST"])
@allowed(policy.may_record, refused=FORM_PAGE)
def import_eml():
    form = EmlForm()
    on_refusal(lambda: render_template("inquiries/import.html", form=form), form)
    if request.method == "POST" and form.validate_on_submit():
        upload = form.file.data
        if upload is None or not (upload.filename or "").lower().endswith(".eml"):
            raise InputError(".eml 形式のファイルを選んでください。", "file")
        result = inquiries.import_eml(upload.read(), actor=current_user)
        flash(f"メールを取り込みました: {result.reason}。", "success")
        if result.inquiry is None:  # a delivery-status notice or an automatic reply: recorded, nothing to answer
            return redirect(url_for("inquiries.mailbox"))
        return redirect(url_for("inquiries.detail", inquiry_id=result.inquiry.id))
    return render_template("inquiries/import.html", form=form), 422 if form.errors or form.form_errors else 200


@bp.get("/<int:inquiry_id>")
@allowed(policy.may_handle_any)
def detail(inquiry_id: int):
    inquiry = _inquiry(inquiry_id, inquiries.page_loads())
    reply_form = MessageForm()
    template_id = request.args.get("template_id")
    template = db.session.get(ReplyTemplate, parse_id(template_id)) if parse_id(template_id) else None
    if template is not None:
        reply_form.body.data = inquiries.fill_template(template, inquiry)
    return _detail_page(inquiry, reply_form)


def _detail_page(inquiry: Inquiry, reply_form: MessageForm):
    thread = inquiries.thread(inquiry, current_user)
    merged, followers = inquiries.related(inquiry)
    last_reply = next((m.body for m in reversed(thread) if m.kind == "reply"), "")
    return render_template("inquiries/detail.html", inquiry=inquiry, thread=thread, reply_form=reply_form,
                           last_message_id=max((m.id for m in thread), default=0),
                           thread_files=[a for m in thread for a in m.attachments if a.kept],
                           note_form=MessageForm(prefix="note"), templates=db.session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.title)).all(),
                           faq_form=FaqForm(question=inquiry.subject, answer=last_reply), handlers=inquiries.handlers(),
                           statuses=InquiryStatus, can_answer=policy.may_answer(inquiry, current_user),
                           merged=merged, followers=followers, intake_phase=_intake_phase_for(thread))


def _intake_phase_for(thread) -> object | None:
    """The survey a mailed answer form on this thread would be imported into — asked only where there is one."""
    sheets = any(applications_policy.is_mailed_answer_file(a) for m in thread for a in m.attachments)
    return phases.selected_phase(None, phases.INTAKE) if sheets else None


def _act(inquiry: Inquiry, action, success: str, anchor: str = ""):
    return act(action, success, redirect(url_for("inquiries.detail", inquiry_id=inquiry.id) + anchor))


@bp.post("/<int:inquiry_id>/reply")
@allowed(policy.may_handle_any, refused=FORM_PAGE)
def reply(inquiry_id: int):
    """A refused reply (a crossed reply, a stale page, a file too large) shows the page again with what was typed."""
    inquiry = _inquiry(inquiry_id)
    form = MessageForm()
    then = request.form.get("then", "answer")
    on_refusal(lambda: _detail_page(inquiry, form), form)
    if (sent := already_sent(form)) is not None:
        return sent
    uploads = [(f.filename, f.read()) for f in request.files.getlist("files") if f and f.filename]
    inquiries.reply(inquiry, form.body.data, actor=current_user, close=then == "close", wait=then == "wait",
                    expected_version=opened_version(), seen_message_id=request.form.get("seen_message_id"),
                    forward_ids=request.form.getlist("forward"), uploads=uploads)
    flash("回答を送信しました（メールは送信キューから配信されます）。", "success")
    return redirect(url_for("inquiries.detail", inquiry_id=inquiry.id) + "#thread")


@bp.post("/<int:inquiry_id>/messages/<int:message_id>/confirm-sender")
@allowed(policy.may_handle_any, refused="inquiries.detail")
def confirm_sender(inquiry_id: int, message_id: int):
    inquiry = _inquiry(inquiry_id)
    message = db.get_or_404(InquiryMessage, message_id)
    if message.inquiry_id != inquiry.id:
        abort(404)
    return _act(inquiry, lambda: inquiries.confirm_sender(message, actor=current_user, expected_version=opened_version()),
                "差出人を確認し、このメールをお問い合わせの一部として扱いました（対応中に戻しました）。", f"#message-{message.id}")


@bp.post("/<int:inquiry_id>/presence")
@allowed(policy.may_handle_any, refused="inquiries.detail")
def presence(inquiry_id: int):
    """Polled by the page: who else has this inquiry open or is writing a reply (the collision warning)."""
    inquiry = _inquiry(inquiry_id)
    replying = bool((request.form.get("body") or "").strip())
    return render_template("inquiries/_presence.html", others=inquiries.presence(inquiry.id, current_user, replying))


@bp.get("/attachments/<int:attachment_id>")
@allowed(policy.may_open_attachments)
def attachment(attachment_id: int):
    found = inquiries.visible_attachment(attachment_id, current_user)
    if found is None:
        abort(404 if db.session.get(InquiryAttachment, attachment_id) is None else 403)
    return send_stored(found.sha256, found.content_type, found.filename)


@bp.get("/mailbox")
@allowed(policy.may_record)
def mailbox():
    """Every mail taken in (the mailbox and uploads) and what became of it."""
    args = request.args
    stmt, sort = sort_by(inquiries.inbound_query(q=args.get("q"), outcome=args.get("outcome")), {"at": InboundMail.at}, "-at")
    return page_or_fragment("inquiries/mailbox.html", "inquiries/_mailbox_table.html", page=paginate(stmt), sort=sort,
                            outcomes=MAIL_OUTCOMES, configured=inquiries.mailbox_configured(), last=inquiries.last_mailbox_status())


@bp.get("/mailbox/<int:mail_id>/original")
@allowed(policy.may_record)
def original(mail_id: int):
    found = inquiries.original_mail(mail_id, actor=current_user)
    if found is None:
        abort(404)
    return send_stored(found.raw_sha256, "message/rfc822", f"mail-{found.id}.eml")


@bp.post("/<int:inquiry_id>/note")
@allowed(policy.may_handle_any, refused="inquiries.detail")
def note(inquiry_id: int):
    inquiry = _inquiry(inquiry_id)
    form = MessageForm(prefix="note")
    if (sent := already_sent(form)) is not None:
        return sent
    return _act(inquiry, lambda: inquiries.add_note(inquiry, form.body.data, actor=current_user), "内部メモを記録しました。", "#thread")


@bp.post("/<int:inquiry_id>/status")
@allowed(policy.may_handle_any, refused="inquiries.detail")
def status(inquiry_id: int):
    inquiry = _inquiry(inquiry_id)
    value = request.form.get("status", "")
    return _act(inquiry, lambda: inquiries.set_status(inquiry, value, actor=current_user, expected_version=opened_version()), "状態を更新しました。")


@bp.post("/<int:inquiry_id>/assign")
@allowed(policy.may_handle_any, refused="inquiries.detail")
def assign(inquiry_id: int):
    inquiry = _inquiry(inquiry_id)
    chosen = request.form.get("assignee_id", "")
    assignee = current_user if chosen == "me" else db.session.get(User, parse_id(chosen)) if parse_id(chosen) else None
    return _act(inquiry, lambda: inquiries.assign(inquiry, assignee, actor=current_user, expected_version=opened_version()),
                f"担当を{assignee.name if assignee else '未割当'}にしました。")


@bp.post("/<int:inquiry_id>/merge")
@allowed(policy.may_record, refused="inquiries.detail")
def merge(inquiry_id: int):
    inquiry = _inquiry(inquiry_id)
    number = (request.form.get("target") or "").strip()
    target = db.session.scalar(select(Inquiry).where(Inquiry.receipt_number == number))
    if target is None:
        flash(f"受付番号「{number}」のお問い合わせが見つかりません（例: 問-2026-0001）。", "error")
        return redirect(url_for("inquiries.detail", inquiry_id=inquiry.id))
    return _act(inquiry, lambda: inquiries.merge(inquiry, target, actor=current_user, expected_version=opened_version()), f"{target.receipt_number} に統合しました。")


@bp.post("/<int:inquiry_id>/link")
@allowed(policy.may_record, refused="inquiries.detail")
def link(inquiry_id: int):
    inquiry = _inquiry(inquiry_id)
    code = request.form.get("municipality_code", "")
    return _act(inquiry, lambda: inquiries.link_municipality(inquiry, code, actor=current_user, expected_version=opened_version()), "市区町村を関連付けました。")


@bp.post("/<int:inquiry_id>/faq")
@allowed(policy.may_record, refused="inquiries.detail")
def promote(inquiry_id: int):
    inquiry = _inquiry(inquiry_id)
    form = FaqForm()
    if (sent := already_sent(form)) is not None:
        return sent
    return _act(inquiry, lambda: inquiries.promote_to_faq(inquiry, form.question.data, form.answer.data, actor=current_user),
                "FAQに掲載しました。問い合わせフォームの上に表示されます。")


@bp.route("/templates", methods=["GET", "POST"])
@allowed(policy.may_record, refused=FORM_PAGE)
def templates():
    form = TemplateForm()
    chosen = request.values.get("template_id", "")
    template = db.session.get(ReplyTemplate, parse_id(chosen)) if parse_id(chosen) else None
    def page():
        return render_template("inquiries/templates.html", form=form, template=template,
                               templates=db.session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.title)).all()), \
            422 if form.errors or form.form_errors else 200

    on_refusal(page, form)
    if request.method == "POST" and form.validate_on_submit():
        if request.form.get("delete") == "1" and template is not None:
            inquiries.delete_template(template, actor=current_user, expected_version=form.version.data)
            flash("定型文を削除しました。", "success")
        else:
            inquiries.save_template(form.title.data, form.body.data, actor=current_user, template=template,
                                    expected_version=form.version.data)
            flash("定型文を保存しました。", "success")
        return redirect(url_for("inquiries.templates"))
    elif template is not None:
        form.title.data, form.body.data, form.version.data = template.title, template.body, template.version
    return page()


@bp.get("/reports")
@allowed(policy.may_handle_any)
def reports():
    return render_template("inquiries/reports.html", report=inquiries.report(current_user), months=inquiries.report_months())


@bp.get("/reports/monthly")
@allowed(policy.may_handle_any)
def monthly():
    """The month's report as Excel: the figures, by category, by handler, and every inquiry of the month."""
    month = inquiries.parse_month(request.args.get("month"))
    if month is None:
        flash("月を選んでください（例: 2026-11）。", "error")
        return redirect(url_for("inquiries.reports"))
    monthly_report = inquiries.monthly_report(current_user, month)
    return export_workbook(monthly_report.sheets(EXPORT_COLUMNS), f"問い合わせ月報_{month:%Y-%m}")


@bp.get("/mine")
@allowed(policy.asks_as_officer)
def mine():
    stmt, sort = sort_by(inquiries.list_query(current_user), {"received": Inquiry.received_at}, "-received")
    return render_template("inquiries/mine.html", page=paginate(stmt), sort=sort)


@bp.get("/mine/<int:inquiry_id>")
@allowed(policy.asks_as_officer)
def mine_detail(inquiry_id: int):
    inquiry = _inquiry(inquiry_id)
    return render_template("inquiries/mine_detail.html", inquiry=inquiry,
                           thread=[m for m in inquiries.thread(inquiry, current_user) if inquiries.shown_to_inquirer(m)])


@public_bp.get("/contact/status/<token>")
def status_page(token: str):
    """The inquirer's own view, by the signed link in the receipt mail: the status and the replies, no staff notes."""
    view = inquiries.status_view(token)
    if view is None:
        return render_template("inquiries/status_gone.html"), 404
    response = make_response(render_template("inquiries/status.html", inquiry=view.inquiry, state=view.state,
                                              thread=view.thread))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key: it never leaves in a Referer
    return response
