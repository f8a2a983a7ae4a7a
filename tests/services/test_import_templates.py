"""Issue 33: every import offers its blank workbook — header, an example row, drop-down lists, a note on each heading —
made from the columns the importer reads, so that the template's own example row imports cleanly."""
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from banso.clock import jst
from banso.services import (application_import, applications, continuation_import, import_templates, imports, officer_import,
                            officers, population_import)
from tests.conftest import login
from tests.factories import make_application, make_municipality, make_phase, make_publication, make_user


def _world():
    """A phase whose survey is open, 函館市 (the applications' example), last phase's team in 小樽市 (the continuation
    example), the ministries."""
    staff = make_user()
    first = make_phase(number=1, name="第1期", fiscal_year=2025, survey_opens_at=jst(2024, 12, 2),
                       answer_deadline_at=jst(2024, 12, 25, 17), support_start=date(2025, 4, 15), support_end=date(2026, 3, 31))
    make_publication(first)
    current = make_phase()
    make_municipality(name="函館市", code="012025", prefecture="北海道")
    otaru = make_municipality(name="小樽市", code="012033", prefecture="北海道")
    old = make_application(first, otaru, received_at=jst(2024, 12, 20))
    for action in ("confirm", "eligible", "matched"):
        applications.change_status(old, action, reason="理由", actor=staff)
    officers.ensure_ministries()
    return current


KINDS = [application_import.KIND, continuation_import.KIND, officer_import.KIND, population_import.KIND]


@pytest.mark.parametrize("kind", KINDS)
def test_each_templates_example_row_imports_without_a_problem(ctx, kind):
    phase = _world()
    importer = imports.IMPORTERS[kind]
    content = import_templates.workbook(importer)
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert [cell.value for cell in sheet[1]][:len(importer.columns)] == [h for h, _ in importer.columns]
    listed = {str(v.sqref).split(":")[0].rstrip("0123456789") for v in sheet.data_validations.dataValidation}
    with_choices = [i for i, (h, _) in enumerate(importer.columns) if importer.guide.get(h, import_templates.Guide()).choices]
    assert len(listed) == len(with_choices)  # a drop-down for each column with choices
    assert all(sheet.cell(row=1, column=i + 1).comment is not None for i in with_choices)
    batch = imports.start(kind, phase, "記入用.xlsx", content, actor=None, inline=True,
                          options={"received_at": jst(2025, 12, 22, 9).isoformat()})
    [row] = batch.rows
    assert row["errors"] == {}, row["errors"]


def test_the_import_pages_link_their_template(app, client):
    from banso.extensions import db

    with app.app_context():
        _world()
        make_user(email="templates@banso.example")
        db.session.commit()
    login(client, "templates@banso.example")
    for kind, page in (("applications", "/applications/imports/new?phase=2"), ("officers", "/officers/imports/new?phase=2"),
                       ("continuations", "/applications/continuation/import?phase=2")):
        assert f"/imports/template/{kind}" in client.get(page).get_data(as_text=True), page
        response = client.get(f"/imports/template/{kind}")
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert client.get("/imports/template/nothing").status_code == 404


def test_every_registered_import_has_a_template_test():
    assert set(imports.IMPORTERS) == set(KINDS)
