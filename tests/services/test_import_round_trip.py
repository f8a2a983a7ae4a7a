"""Issue 33: template → import → export → import again, for every importer with an export: what Banso writes out is
read back as the same values (the lists' Excel exports are in the importers' own layout)."""
import io

from openpyxl import load_workbook
from sqlalchemy import select

from banso.clock import jst
from banso.extensions import db
from banso.models import Application, ContinuationResponse, Officer
from banso.services import application_import, continuation_import, import_templates, imports, officer_import
from tests.factories import make_phase, make_user
from tests.services.test_import_templates import _world


def _rows_of(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _xlsx(header: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _import(kind, phase, content, actor):
    batch = imports.start(kind, phase, "file.xlsx", content, actor=actor, inline=True,
                          options={"received_at": jst(2025, 12, 22, 9).isoformat()})
    assert all(row["errors"] == {} for row in batch.rows), [row["errors"] for row in batch.rows]
    return batch


def test_applications_round_trip(ctx):
    phase = _world()
    staff = make_user()
    header = [h for h, _ in application_import.COLUMNS]
    first = _import(application_import.KIND, phase, import_templates.workbook(imports.IMPORTERS[application_import.KIND]), staff)
    imports.commit(first, actor=staff)
    stored = db.session.scalar(select(Application).where(Application.phase_id == phase.id))
    exported = _xlsx(header, [application_import.export_row(stored)])
    later = make_phase(number=3, name="第3期", fiscal_year=2027)
    again = _import(application_import.KIND, later, exported, staff)
    keys = ("contact_department", "contact_person", "contact_email", "contact_phone", "priority_fields", "issue_structure",
            "local_situation", "received_at", "municipality_id")
    assert {k: again.rows[0]["data"][k] for k in keys} == {k: first.rows[0]["data"][k] for k in keys}


def test_officers_round_trip(ctx):
    phase = _world()
    staff = make_user()
    header = [h for h, _ in officer_import.COLUMNS]
    first = _import(officer_import.KIND, phase, import_templates.workbook(imports.IMPORTERS[officer_import.KIND]), staff)
    imports.commit(first, actor=staff)
    officer = db.session.scalar(select(Officer).where(Officer.email == first.rows[0]["data"]["email"]))
    later = make_phase(number=3, name="第3期", fiscal_year=2027)
    again = _import(officer_import.KIND, later, _xlsx(header, [officer_import.export_row(officer)]), staff)
    row = again.rows[0]
    assert row["data"]["existing_officer_id"] == officer.id and row["data"]["changes"] == {}  # the same person, unchanged
    assert any("記録の内容は変わりません" in w for w in row["warnings"])


def test_continuation_answers_round_trip(ctx):
    phase = _world()
    staff = make_user()
    header = [h for h, _ in continuation_import.COLUMNS]
    first = _import(continuation_import.KIND, phase, import_templates.workbook(imports.IMPORTERS[continuation_import.KIND]), staff)
    imports.commit(first, actor=staff)
    response = db.session.scalar(select(ContinuationResponse))
    previous = db.session.scalar(select(Application).where(Application.municipality_id == response.municipality_id,
                                                           Application.phase_id != phase.id))
    exported = _rows_of(_xlsx(header, [continuation_import.export_row(previous, response)]))[1]
    template_row = _rows_of(import_templates.workbook(imports.IMPORTERS[continuation_import.KIND]))[1][:len(header)]
    assert exported == template_row  # the answer as given comes back out as it was written
    again = imports.start(continuation_import.KIND, phase, "file.xlsx", _xlsx(header, [exported]), actor=staff, inline=True)
    assert "回答済み" in again.rows[0]["errors"]["団体コード"]  # read back as the same answer, and not taken twice
