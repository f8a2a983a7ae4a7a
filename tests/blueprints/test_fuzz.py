"""Property-based fuzzing of every form and import endpoint, as every role: never a 500, and a refused
request writes nothing (row counts of every table unchanged). Plus the bad uploads named one by one."""
from __future__ import annotations

import io
import zipfile

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, literal, select, union_all
from wtforms.fields import FileField
from wtforms.fields.core import UnboundField

from banso.blueprints.forms import BansoForm
from banso.extensions import db
from tests.blueprints.test_access import ADMIN, FINANCE, OFFICER, ROUTES, STAFF, ids  # noqa: F401  (the fixture)
from tests.conftest import login

ROLES = [None, ADMIN, STAFF, FINANCE, OFFICER]


def _form_classes(cls=BansoForm):
    for sub in cls.__subclasses__():
        yield sub
        yield from _form_classes(sub)


def _field_names() -> tuple[list[str], list[str]]:
    names, files = set(), set()
    for form in _form_classes():
        for name in dir(form):
            value = getattr(form, name, None)
            if isinstance(value, UnboundField):
                (files if issubclass(value.field_class, FileField) else names).add(name)
    # Read from request.form by name rather than a form class: a table's fingerprint, the note's key.
    names |= {"fingerprint", "note-submission_key", "note-body"}
    return sorted(names), sorted(files)


NASTY = ["", " ", "0", "-1", "1.5", "99999999999999999999999", "2026-02-30", "2026-04-01", "令和8年4月1日", "1e309",
         "NaN", "<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "\u202e反転\u202c", "𠮷野 太郎", "a" * 5000,
         "１２３", "on", "y", "true", "'; DROP TABLE users; --", "\u3000", "x@y", "name@example.lg.jp", "\x00", "\x07bell",
         "000000", "１２３４５６", "12345-abcde", "2147483648", "-0"]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=40), st.integers(-10**12, 10**12).map(str))
FILES = st.one_of(
    st.binary(max_size=2000),
    st.sampled_from([b"\xef\xbb\xbf\xe5\x9b\xa3\xe4\xbd\x93\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89\n131016\n",
                     "団体コード,担当者氏名\n131016,東京 太郎\n".encode("cp932"), b"PK\x03\x04broken", b"%PDF-1.4\n",
                     b"\x89PNG\r\n\x1a\n" + b"\x00" * 100]),
)
FILENAMES = st.sampled_from(["a.xlsx", "a.csv", "a.eml", "a.pdf", "a.exe", "../../etc/passwd", "名簿.xlsx", ""])


def _counts() -> dict[str, int]:
    query = union_all(*(select(literal(t.name).label("name"), func.count().label("n")).select_from(t)
                        for t in db.metadata.sorted_tables))
    return dict(db.session.execute(query).all())


# The routes in the access table, and the sign-in's own steps (the code, the e-mailed link, two-factor enrolment).
POST_ROUTES = sorted({path for method, path, _ in ROUTES if method == "POST"} | {
    "/login", "/contact", "/login/code", "/account/setup/{token}", "/account/password", "/account/two-factor/confirm",
    "/account/two-factor/recovery-codes", "/account/two-factor/disable"})


@pytest.mark.parametrize("path", POST_ROUTES)
@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_form_and_import_endpoint_survives_random_input_as_every_role(app, ids, path, data):  # noqa: F811
    url = path.format(**ids)
    fields, file_fields = _field_names()  # the form classes exist once the app has loaded its blueprints
    assert len(fields) > 100 and "file" in file_fields
    role = data.draw(st.sampled_from(ROLES), label="role")
    client = app.test_client()
    if role:
        login(client, f"{role}@banso.example")
    form = data.draw(st.dictionaries(st.sampled_from(fields), VALUES, max_size=8), label="form")
    if data.draw(st.booleans(), label="with a file"):
        form[data.draw(st.sampled_from(file_fields))] = (io.BytesIO(data.draw(FILES)), data.draw(FILENAMES))
    headers = {"HX-Request": "true"} if data.draw(st.booleans(), label="htmx") else {}
    with app.app_context():
        before = _counts()
    response = client.post(url, data=form, headers=headers)
    assert response.status_code < 500, (role, url, form, response.get_data(as_text=True)[:500])
    if response.status_code >= 400:
        with app.app_context():
            assert _counts() == before, (role, url, form, response.status_code)


def _staff(app, client):
    login(client, f"{STAFF}@banso.example")


def test_an_upload_over_the_size_limit_is_refused_in_japanese(app, client, ids):  # noqa: F811
    _staff(app, client)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = client.post("/applications/imports/new", data={"file": (io.BytesIO(b"0" * (2 * 1024 * 1024)), "big.csv")})
    assert response.status_code == 413
    assert "ファイルが大きすぎます" in response.get_data(as_text=True)


def _upload(client, name: str, content: bytes):
    return client.post("/applications/imports/new", data={"file": (io.BytesIO(content), name), "received_at": "2025-12-10T10:00"},
                       follow_redirects=True)


def test_wrong_file_types_and_a_zip_bomb_get_clear_errors_and_store_nothing(app, client, ids):  # noqa: F811
    _staff(app, client)
    with app.app_context():
        before = _counts()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (200 * 1024 * 1024))  # 200 MB of zeros in ~200 KB
    cases = {
        "program.exe": (b"MZ\x90\x00" + b"\x00" * 200, "Excel（.xlsx）またはCSV（.csv）のファイルを選んでください"),
        "picture.xlsx": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "Excelファイルとして読み取れません"),
        "bomb.xlsx": (bomb.getvalue(), "展開後の大きさが上限を超えています"),
        "binary.csv": (bytes(range(256)) * 4, "文字コードを判別できません"),
    }
    for name, (content, message) in cases.items():
        response = _upload(client, name, content)
        body = response.get_data(as_text=True)
        assert response.status_code in (400, 413, 422), (name, response.status_code)
        assert message in body, (name, body[:2000])
    with app.app_context():
        assert _counts() == before


def test_csv_with_a_bom_or_in_shift_jis_reads_the_same(app, client, ids):  # noqa: F811
    from banso.services import spreadsheets

    text = "団体コード,担当者氏名\n131016,𠮷田 太郎\n"
    bom = spreadsheets.read_table("a.csv", "\ufeff".encode() + text.encode("utf-8"))
    plain = spreadsheets.read_table("a.csv", text.encode("utf-8"))
    sjis = spreadsheets.read_table("a.csv", text.replace("𠮷", "吉").encode("cp932"))
    assert bom == plain
    assert bom[0] == sjis[0] == ["団体コード", "担当者氏名"]
    assert bom[1][0][1] == "𠮷田 太郎" and sjis[1][0][1] == "吉田 太郎"


def test_control_characters_are_refused_and_rtl_marks_and_4_byte_characters_are_kept_as_text(app, client, ids):  # noqa: F811
    from banso.models import Inquiry

    with app.app_context():
        before = _counts()
    form = {"org_type": "other", "category": "general", "name": "𠮷田\x00太郎", "email": "a@example.jp", "subject": "件名",
            "body": "本文"}
    response = client.post("/contact", data=form)
    assert response.status_code == 400
    assert "制御文字" in response.get_data(as_text=True)
    assert client.get("/inquiries/?q=%00").status_code in (302, 400)
    with app.app_context():
        assert _counts() == before

    form.update(name="𠮷田 太郎", subject="\u202e件名を反転\u202c", email="kichi@example.jp")
    response = client.post("/contact", data=form)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:1000]
    with app.app_context():
        inquiry = db.session.scalar(select(Inquiry).where(Inquiry.email == "kichi@example.jp"))
        assert inquiry.name == "𠮷田 太郎" and inquiry.subject == "\u202e件名を反転\u202c"
        inquiry_id = inquiry.id
    _staff(app, client)
    page = client.get(f"/inquiries/{inquiry_id}").get_data(as_text=True)
    assert "𠮷田 太郎" in page
    export = client.get("/inquiries/?format=xlsx")
    assert export.status_code == 200
