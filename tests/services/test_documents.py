"""Issue 33: the documents Banso issues — an officer's 辞令 and the letters to a municipality — made on the worker as
Word and PDF, each with a 文書番号 gap-free per fiscal year (two batches at once included), kept as issued, and saying
what the record says."""
import hashlib
import io
import threading

import pytest
from docx import Document
from pypdf import PdfReader
from sqlalchemy import select

from banso.extensions import db
from banso.models import ConcurrentAppointment, DocumentBatch, IssuedDocument, Role
from banso.services import documents, files
from tests.conftest import run_worker
from tests.factories import make_team, make_user

needs_pango = pytest.mark.skipif(not documents.pdf_available(), reason="PDF needs Pango (apt-get install libpango-1.0-0 libpangoft2-1.0-0)")


def _docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace(" ", "").replace("\n", "")


@needs_pango
def test_an_officers_jirei_says_what_the_record_says_in_word_and_pdf(ctx, app):
    team = make_team()
    appointment = db.session.scalar(select(ConcurrentAppointment).where(ConcurrentAppointment.phase_id == team.phase_id).limit(1))
    officer = appointment.officer
    document = documents.issue("appointment", appointment, batch=None, actor_id=None)
    db.session.flush()
    assert document.number == f"{app.config['DOCUMENT_NUMBER_PREFIX']}第1号" and document.serial == 1
    word = _docx_text(files.read(document.docx_sha256))
    printed = _pdf_text(files.read(document.pdf_sha256))
    for text in ("人事異動通知書", officer.name, officer.ministry.name, appointment.post, app.config["APPOINTING_AUTHORITY"],
                 document.number):
        assert text in word, text
        assert text.replace(" ", "") in printed, text
    assert hashlib.sha256(files.read(document.pdf_sha256)).hexdigest() == document.pdf_sha256  # kept as issued
    assert len(PdfReader(io.BytesIO(files.read(document.pdf_sha256))).pages) == 1  # one A4 page, nothing cut off


def test_a_municipalitys_decision_letter_names_its_team_and_period(ctx):
    team = make_team()
    from banso.models import Application

    application = db.session.scalar(select(Application).where(Application.municipality_id == team.municipality_id))
    application.status = "matched"
    document = documents.issue("decision", application, batch=None, actor_id=None)
    word = _docx_text(files.read(document.docx_sha256))
    assert team.municipality.name[:-1] in word and "支援の決定について" in word
    assert all(m.officer.name in word for m in team.current_members)
    assert document.recipient == team.municipality.full_name


@pytest.mark.commits
def test_a_batch_is_made_on_the_worker_numbered_and_listed_on_the_register(app, client):
    from tests.conftest import login

    with app.app_context():
        team = make_team()
        make_user(Role.SECRETARIAT, email="docs@banso.example")
        phase_number, expected = team.phase.number, len(documents.KINDS["appointment"].candidates(team.phase))
        db.session.commit()
    login(client, "docs@banso.example")
    made = client.post(f"/documents/batches?phase={phase_number}&kind=appointment")
    assert made.status_code == 302 and "/documents/batches/" in made.location
    assert "作成しています" in client.get(made.location).get_data(as_text=True)  # the progress bar, before the worker
    run_worker(app)
    page = client.get(made.location).get_data(as_text=True)
    assert f"{expected}件を作成しました" in page
    with app.app_context():
        issued = db.session.scalars(select(IssuedDocument).order_by(IssuedDocument.serial)).all()
        assert [d.serial for d in issued] == list(range(1, expected + 1))
        assert db.session.scalar(select(DocumentBatch.status)) == "done"
        first = issued[0]
    word = client.get(f"/documents/{first.id}.docx")
    assert word.status_code == 200 and hashlib.sha256(word.data).hexdigest() == first.docx_sha256  # the same file again
    register = client.get("/documents/?format=xlsx")
    assert register.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(register.data)).active
    assert sheet.max_row == 1 + expected and sheet["B2"].value.endswith("号")


@pytest.mark.timing
@pytest.mark.commits  # two batches on their own connections, at once
def test_two_batches_at_once_share_one_gap_free_sequence(app):
    with app.app_context():
        team, _other = make_team(), make_team()
        staff = make_user()
        first = documents.request_batch("appointment", team.phase, None, actor=staff)
        phase = team.phase
        appointments = documents.KINDS["appointment"].candidates(phase)
        half = len(appointments) // 2
        first.subject_ids, first.total = appointments[:half], half
        second = DocumentBatch(kind="appointment", phase=phase, subject_ids=appointments[half:],
                               total=len(appointments) - half, created_by_id=staff.id)
        db.session.add(second)
        db.session.commit()
        ids = [first.id, second.id]
        total = len(appointments)
        db.session.remove()
    barrier = threading.Barrier(2)
    failures = []

    def make(batch_id):
        with app.app_context():
            try:
                batch = db.session.get(DocumentBatch, batch_id)
                barrier.wait()
                documents.run(batch, chunk=2)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=make, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with app.app_context():
        serials = sorted(db.session.scalars(select(IssuedDocument.serial)))
        assert serials == list(range(1, total + 1))  # no gap, no number twice
