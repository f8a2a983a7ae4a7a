"""Every list's Excel export is in its import layout and imports back unchanged (issue: an officer export was
rejected row by row on re-import — 「⑤農林水産業」 became 5 and was refused; ㉔ could not be named because its
name holds the list separator; birth dates and home towns were missing; answers exported fields as numbers)."""
from datetime import date, datetime

import pytest

from banso.extensions import db
from banso.models import Officer
from banso.reference import field_label, parse_field, parse_fields
from banso.services import imports
from tests.conftest import login
from tests.factories import answer, make_application, make_municipality, make_officer, make_phase, make_user


@pytest.mark.parametrize("text, number", [
    ("5", 5), ("５", 5), ("⑤", 5), ("⑤農林水産業", 5), ("5 農林水産業", 5), ("5.農林水産業", 5), ("農林水産業", 5),
    ("㉔国際関係（姉妹都市、海外販路開拓等）", 24), ("国際関係", 24), ("24", 24), ("まちづくり(関連インフラ整備含む)", 6),
])
def test_a_field_is_read_as_people_and_our_exports_write_it(text, number):
    assert parse_field(text) == (number, None)


@pytest.mark.parametrize("text", ["27", "0", "⑤観光", "5観光", "さかな"])
def test_a_field_that_is_not_one_is_a_clear_refusal(text):
    number, problem = parse_field(text)
    assert number is None and f"「{text}」" in problem


def test_several_fields_split_outside_a_names_parenthesis():
    labels = "、".join(field_label(n) for n in (24, 5, 22))
    assert parse_fields(labels) == ([24, 5, 22], None)
    assert parse_fields("4, 14 / 環境") == ([4, 14, 8], None)


def _export(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype.endswith("sheet"), response.status_code
    return response.get_data()


def test_the_officer_list_exported_imports_back_unchanged(app, client):
    def build():
        first, second = make_phase(), make_phase(number=3, name="第3期", fiscal_year=2027)
        people = [make_officer(first, expertise_fields=[5, 24, 22], birth_date=date(1984, 5, 6), home_town="岩手県大船渡市",
                               region_ties="長野県岡谷市（前任地）", phone="03-1234-5678"),
                  make_officer(first, expertise_fields=[1], birth_date=date(1990, 12, 31), home_town="", region_ties="")]
        db.session.commit()
        return first.number, second.id, [o.id for o in people], make_user().email
    with app.app_context():
        number, second_id, ids, email = build()
        db.session.commit()
    login(client, email)
    content = _export(client, f"/officers/?phase={number}&format=xlsx")
    with app.app_context():
        from banso.models import Phase

        batch = imports.start("officers", db.session.get(Phase, second_id), "支援官一覧.xlsx", content, actor=None, inline=True)
        assert batch.total_rows == 2
        assert [r["errors"] for r in batch.rows] == [{}, {}], batch.rows
        for row in batch.rows:
            data = row["data"]
            officer = db.session.get(Officer, data["existing_officer_id"])  # the same person, found again
            assert officer.id in ids
            for name in ("name", "name_kana", "ministry_id", "bureau", "division", "post_title", "grade_band", "job_type", "sex",
                         "workplace_type", "email", "phone", "expertise_fields", "home_town", "region_ties", "officer_type"):
                assert data[name] == getattr(officer, name), name
            assert data["birth_date"] == officer.birth_date.isoformat()


def test_the_answers_exported_import_back_unchanged(app, client):
    with app.app_context():
        first, second = make_phase(), make_phase(number=3, name="第3期", fiscal_year=2027)
        made = [make_application(first, make_municipality(), **answer(priority_fields=fields))
                for fields in ([5, 24, 22], [4], [26, 1])]
        originals = {a.municipality_id: a for a in made}
        snapshot = {mid: (a.priority_fields, a.contact_person, a.issue_structure, a.local_situation, a.received_at,
                          a.seconded_national_staff, a.requested_private_expert) for mid, a in originals.items()}
        number, second_id, email = first.number, second.id, make_user().email
        db.session.commit()
    login(client, email)
    content = _export(client, f"/applications/?phase={number}&format=xlsx")
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    column = rows[0].index("優先分野1")
    assert "⑤農林水産業" in [r[column] for r in rows[1:]]  # fields by their labels, as the answer form has them
    with app.app_context():
        from banso.models import Phase

        batch = imports.start("applications", db.session.get(Phase, second_id), "回答.xlsx", content, actor=None, inline=True)
        assert [r["errors"] for r in batch.rows] == [{}] * 3, batch.rows
        for row in batch.rows:
            data = row["data"]
            fields, person, structure, situation, received, seconded, expert = snapshot[data["municipality_id"]]
            assert data["priority_fields"] == fields and data["contact_person"] == person
            assert data["issue_structure"] == structure and data["local_situation"] == situation
            assert datetime.fromisoformat(data["received_at"]) == received
            assert (data["seconded_national_staff"], data["requested_private_expert"]) == (seconded, expert)
