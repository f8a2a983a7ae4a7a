"""発出文書: the register of issued documents, a batch's progress, the files as issued, and the Word templates."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired

from banso.blueprints.documents import bp
from banso.blueprints.forms import BansoForm, on_refusal
from banso.extensions import db
from banso.formatting import parse_id
from banso.listing import export, page_or_fragment, paginate, send_bytes, send_stored, sort_by
from banso.models import DOCUMENT_KINDS, DocumentBatch, IssuedDocument
from banso.permissions import FORM_PAGE, allowed
from banso.policies import admin as policy
from banso.services import documents, phases

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REGISTER_COLUMNS = [
    ("年度", lambda d: d.fiscal_year), ("文書番号", lambda d: d.number), ("発出日", lambda d: d.issued_on),
    ("種類", lambda d: d.kind_label), ("表題", lambda d: d.title), ("宛先", lambda d: d.recipient),
    ("期", lambda d: d.phase.name), ("Word SHA-256", lambda d: d.docx_sha256), ("PDF SHA-256", lambda d: d.pdf_sha256 or ""),
]


class TemplateForm(BansoForm):
    file = FileField("Wordのひな形（.docx）", validators=[FileRequired("ファイルを選んでください。")])


@bp.get("/", endpoint="index")
@allowed(policy.may_issue_documents)
def index():
    args = request.args
    phase = phases.selected_phase(args.get("phase"), phases.SUPPORT)
    stmt = documents.register_query(fiscal=parse_id(args.get("year")), kind=args.get("kind"),
                                    phase_id=parse_id(args.get("phase_id")), q=args.get("q"))
    stmt, sort = sort_by(stmt, {"number": IssuedDocument.serial, "year": IssuedDocument.fiscal_year,
                                "issued": IssuedDocument.issued_on, "recipient": IssuedDocument.recipient}, "-number")
    if args.get("format") in ("csv", "xlsx"):
        return export(db.session.scalars(stmt), REGISTER_COLUMNS, "発出文書一覧")
    return page_or_fragment("documents/index.html", "documents/_table.html", page=paginate(stmt), sort=sort,
                            kinds=DOCUMENT_KINDS, years=documents.fiscal_years(), phase=phase, all_phases=phases.all_phases(),
                            counts=documents.counts_by_kind(phase) if phase else {}, pdf=documents.pdf_available())


@bp.post("/batches")
@allowed(policy.may_issue_documents, refused="documents.index")
def request_batch():
    phase = phases.selected_phase(request.form.get("phase") or request.args.get("phase"), phases.SUPPORT)
    if phase is None:
        abort(404)
    batch = documents.request_batch(request.values.get("kind", ""), phase, None, actor=current_user)
    flash(f"{batch.kind_label}{batch.total}件の作成を始めました。進み具合はこの画面に表示します。", "success")
    return redirect(url_for("documents.batch", batch_id=batch.id))


@bp.get("/batches/<int:batch_id>")
@allowed(policy.may_issue_documents)
def batch(batch_id: int):
    found = db.get_or_404(DocumentBatch, batch_id)
    made = db.session.scalars(db.select(IssuedDocument).where(IssuedDocument.batch_id == found.id)
                              .order_by(IssuedDocument.serial).limit(200)).all()
    template = "documents/_status.html" if request.headers.get("HX-Request") else "documents/batch.html"
    return render_template(template, batch=found, made=made)


@bp.get("/<int:document_id>.<any(docx, pdf):fmt>")
@allowed(policy.may_issue_documents)
def file(document_id: int, fmt: str):
    """The file exactly as it was issued (its SHA-256 is on the register)."""
    document = db.get_or_404(IssuedDocument, document_id)
    digest = document.docx_sha256 if fmt == "docx" else document.pdf_sha256
    if digest is None:
        abort(404)
    name = f"{document.number}_{document.recipient}_{document.kind_label}.{fmt}"
    return send_stored(digest, DOCX if fmt == "docx" else "application/pdf", name)


@bp.route("/templates", methods=["GET", "POST"])
@allowed(policy.may_issue_documents, refused=FORM_PAGE)
def templates():
    form = TemplateForm()
    kind = request.values.get("kind", "")

    def page():
        return render_template("documents/templates.html", form=form, kinds=DOCUMENT_KINDS, chosen=kind,
                               own={k: documents.template_path(k).exists() for k in DOCUMENT_KINDS},
                               may_replace=policy.may_replace_document_templates(current_user)), 422 if form.errors else 200

    on_refusal(page, form)
    if request.method == "POST" and form.validate_on_submit():
        documents.replace_template(kind, form.file.data.read(), actor=current_user,
                                   may=policy.may_replace_document_templates(current_user))
        flash(f"{DOCUMENT_KINDS[kind]}のWordひな形を差し替えました。次に作成する文書から使います。", "success")
        return redirect(url_for("documents.templates"))
    return page()


@bp.get("/templates/<any(appointment, decision, not_matched, replacement):template_kind>.docx")
@allowed(policy.may_issue_documents)
def template_file(template_kind: str):
    """The Word template in use (Banso's own until an admin replaces it), to edit in Word."""
    return send_bytes(documents.template_bytes(template_kind), DOCX, f"{DOCUMENT_KINDS[template_kind]}_ひな形", "docx")
