"""Issuing documents: a batch asked for on a page, made on the worker a few at a time with its progress kept, each
document numbered in the transaction that stores it (文書番号: gap-free per fiscal year, even with two batches at
once), its Word and PDF files kept by their SHA-256 so that printing it again prints the same; and the register of
everything issued (発出文書), with the admin's own Word templates."""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from banso import queue
from banso.clock import now, today_jst
from banso.extensions import db
from banso.formatting import wareki
from banso.models import DOCUMENT_KINDS, DocumentBatch, DocumentCounter, IssuedDocument, Phase, User
from banso.services import InputError, NotPermitted, WrongState, audit, files
from banso.services.documents import render
from banso.services.documents.kinds import KINDS
from banso.services.travel.rates import fiscal_year

CHUNK = 20  # documents per transaction on the worker: the progress moves, and a failure keeps what was made


def number_text(fiscal: int, serial: int) -> str:
    """The 文書番号 as printed: the configured prefix and the serial of its fiscal year (府地創伴第12号)."""
    from flask import current_app

    return f"{current_app.config['DOCUMENT_NUMBER_PREFIX']}第{serial}号"


def next_serial(fiscal: int) -> int:
    """The next 文書番号 of ``fiscal``: the counter's row is updated (and so locked) until this transaction ends, so
    two batches take turns, and a document rolled back gives its number back — no gaps, no doubles."""
    taken = db.session.execute(update(DocumentCounter).where(DocumentCounter.fiscal_year == fiscal)
                               .values(last=DocumentCounter.last + 1).returning(DocumentCounter.last)).scalar()
    if taken is not None:
        return taken
    try:
        with db.session.begin_nested():
            db.session.add(DocumentCounter(fiscal_year=fiscal, last=1))
        return 1
    except IntegrityError:  # another batch opened the year first
        return next_serial(fiscal)


def request_batch(kind: str, phase: Phase, subject_ids: list[int] | None, *, actor: User) -> DocumentBatch:
    """Ask for the documents of ``kind`` for these records (None: every record of the phase the kind is made for);
    the worker makes them after this request commits."""
    if kind not in KINDS:
        raise InputError("文書の種類を選んでください。")
    candidates = KINDS[kind].candidates(phase)
    chosen = candidates if subject_ids is None else [i for i in candidates if i in set(subject_ids)]
    if not chosen:
        raise WrongState(f"{phase.name}には{DOCUMENT_KINDS[kind]}を作成する対象がありません。")
    batch = DocumentBatch(kind=kind, phase=phase, subject_ids=chosen, total=len(chosen), created_by_id=actor.id)
    db.session.add(batch)
    db.session.flush()
    audit.record("request_documents", phase, actor=actor, summary=f"{phase.name}の{DOCUMENT_KINDS[kind]}を{len(chosen)}件作成",
                 after={"batch": batch.id, "kind": kind, "count": len(chosen)})
    queue.enqueue_after_commit("default", queue.Job.ISSUE_DOCUMENTS, batch.id, job_timeout=1800)
    return batch


def issue(kind: str, record, *, batch: DocumentBatch | None, actor_id: int | None) -> IssuedDocument:
    """One document for one record, numbered and kept, in the caller's transaction."""
    spec = KINDS[kind]
    issued_on = today_jst()
    content = spec.content(record, issued_on)
    fiscal = fiscal_year(issued_on)
    serial = next_serial(fiscal)
    number = number_text(fiscal, serial)
    date_text = wareki(issued_on)
    word = render.docx(kind, content, number, date_text)
    printed = render.pdf(content, number, date_text)
    document = IssuedDocument(batch_id=batch.id if batch else None, kind=kind, phase_id=spec.phase_of(record),
                              subject_id=record.id, fiscal_year=fiscal, serial=serial, number=number, issued_on=issued_on,
                              recipient=content.recipient[:200], title=content.title[:200], body_text=content.text(),
                              docx_sha256=files.store(word), docx_bytes=len(word),
                              pdf_sha256=files.store(printed) if printed else None, pdf_bytes=len(printed or b""),
                              created_by_id=actor_id)
    db.session.add(document)
    return document


def run(batch: DocumentBatch, chunk: int = CHUNK) -> DocumentBatch:
    """On the worker: make the batch's documents, committing every ``chunk`` (the page's progress bar reads
    ``done``). A record already given a document by this batch (a retried job) is not given a second."""
    spec = KINDS[batch.kind]
    made = set(db.session.scalars(select(IssuedDocument.subject_id).where(IssuedDocument.batch_id == batch.id)))
    batch.status = "running"
    db.session.commit()
    todo = [i for i in batch.subject_ids if i not in made]
    for start in range(0, len(todo), chunk):
        records = spec.load(todo[start:start + chunk])
        for subject_id in todo[start:start + chunk]:
            if subject_id in records:
                issue(batch.kind, records[subject_id], batch=batch, actor_id=batch.created_by_id)
        batch.done = len(made) + min(len(todo), start + chunk)
        db.session.commit()
    batch.status, batch.finished_at, batch.done = "done", now(), batch.total
    db.session.commit()
    return batch


def register_query(*, fiscal: int | None = None, kind: str | None = None, phase_id: int | None = None, q: str | None = None):
    """発出文書: every document issued, newest number first, filtered."""
    stmt = select(IssuedDocument)
    if fiscal:
        stmt = stmt.where(IssuedDocument.fiscal_year == fiscal)
    if kind in DOCUMENT_KINDS:
        stmt = stmt.where(IssuedDocument.kind == kind)
    if phase_id:
        stmt = stmt.where(IssuedDocument.phase_id == phase_id)
    if q:
        pattern = f"%{q.strip()[:100]}%"
        stmt = stmt.where(IssuedDocument.recipient.like(pattern) | IssuedDocument.number.like(pattern)
                          | IssuedDocument.title.like(pattern))
    return stmt


def fiscal_years() -> list[int]:
    return list(db.session.scalars(select(IssuedDocument.fiscal_year).group_by(IssuedDocument.fiscal_year)
                                   .order_by(IssuedDocument.fiscal_year.desc())))


def counts_by_kind(phase: Phase) -> dict[str, int]:
    return dict(db.session.execute(select(IssuedDocument.kind, func.count()).where(IssuedDocument.phase_id == phase.id)
                                   .group_by(IssuedDocument.kind)).all())


def replace_template(kind: str, data: bytes, *, actor: User, may: bool) -> None:
    """An admin's own Word template for ``kind``, checked by filling in a sample first; the one it replaces is kept
    beside it (…docx.bak) and the change audited."""
    if not may:
        raise NotPermitted("文書のひな形を差し替えられるのは事務局管理者だけです。")
    if kind not in DOCUMENT_KINDS:
        raise InputError("文書の種類を選んでください。")
    render.check_template(data)
    path = render.template_path(kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.replace(path.with_suffix(".docx.bak"))
    path.write_bytes(data)
    audit.record("replace_document_template", None, object_type="DocumentTemplate", actor=actor,
                 summary=f"{DOCUMENT_KINDS[kind]}のWordひな形を差し替え（{len(data):,}バイト）", after={"kind": kind})
