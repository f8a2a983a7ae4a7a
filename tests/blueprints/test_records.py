"""Issue 35, the pages: the register's CSV carries exactly the 第7条 columns, the schedule is an admin's to change,
a 廃棄 needs the consent recorded by one person and confirmed by another admin, and a 開示請求 is received, held
against disposal and its package downloaded."""
import csv
import io
import zipfile
from datetime import date

from sqlalchemy import select

from banso.extensions import db
from banso.models import AuditEntry, PersonalRequest, RecordFile, Role
from banso.services import records
from tests.conftest import login
from tests.factories import make_publication, make_team, make_user


def _world(app):
    with app.app_context():
        team = make_team()
        make_publication(team.phase)
        make_user(Role.ADMIN, email="admin@banso.example")
        make_user(Role.ADMIN, email="admin2@banso.example")
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        make_user(Role.FINANCE, email="finance@banso.example")
        db.session.commit()


def test_the_register_has_exactly_the_article_7_columns_and_staff_only(app, client):
    _world(app)
    login(client, "finance@banso.example")
    assert client.get("/records/").status_code == 403
    client.post("/logout")
    login(client, "staff@banso.example")
    page = client.post("/records/refresh", follow_redirects=True).get_data(as_text=True)
    assert "作成しました" in page
    page = client.get("/records/").get_data(as_text=True)
    assert "伴走支援の申請・回答及び適格性の判定" in page and "令和8年度" in page
    rows = list(csv.reader(io.StringIO(client.get("/records/?format=csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["分類", "名称", "保存期間", "保存期間の満了する日", "保存期間が満了したときの措置", "保存場所"]
    assert len(rows) > 1 and all(len(r) == 6 for r in rows)
    assert "管理状況" in client.get("/records/report?year=2026").get_data(as_text=True)


def test_an_admin_changes_the_schedule_and_the_consent_takes_two_people(app, client):
    _world(app)
    login(client, "staff@banso.example")
    refused = client.post("/records/schedule", data={"kind": "teams", "major": "a", "middle": "b", "name": "{年度}年度 x",
                                                     "years": "1", "disposition": "destroy"}, follow_redirects=True)
    assert "事務局管理者だけ" in refused.get_data(as_text=True)
    client.post("/logout")
    login(client, "admin@banso.example")
    with app.app_context():
        version = records.rule_for("applications").version
        db.session.commit()
    changed = client.post("/records/schedule", data={"kind": "applications", "major": "地方創生伴走支援", "middle": "募集・申請",
                                                     "name": "{年度}年度 申請", "years": "1", "disposition": "destroy",
                                                     "version": version})
    assert changed.status_code == 302
    with app.app_context():
        records.ensure_files()
        records.run(date(2028, 4, 1))
        file_id, file_version = db.session.execute(select(RecordFile.id, RecordFile.version).where(RecordFile.kind == "applications")).one()
        db.session.commit()
    assert "申請" in client.get("/records/disposition").get_data(as_text=True)
    client.post(f"/records/files/{file_id}", data={"action": "consent", "consent_on": "2028-04-10", "version": file_version})
    with app.app_context():
        file = db.session.get(RecordFile, file_id)
        assert file.consent_on == date(2028, 4, 10)
        file_version = file.version
    same = client.post(f"/records/files/{file_id}", data={"action": "approve", "version": file_version}, follow_redirects=True)
    assert "別の事務局管理者" in same.get_data(as_text=True)
    client.post("/logout")
    login(client, "admin2@banso.example")
    assert client.post(f"/records/files/{file_id}", data={"action": "approve", "version": file_version}).status_code == 302
    with app.app_context():
        assert db.session.get(RecordFile, file_id).status == "consented"
        assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "approve_consent")) is not None


def test_a_disclosure_request_is_received_decided_and_its_package_downloaded(app, client):
    from banso.services import inquiries

    _world(app)
    with app.app_context():
        inquiries.receive({"org_type": "other", "category": "general", "name": "請求 太郎", "email": "taro@example.jp",
                           "subject": "件名", "body": "本文"}, channel="form", actor=None)
        db.session.commit()
    login(client, "staff@banso.example")
    missing = client.post("/records/requests", data={"kind": "disclosure", "person_kind": "inquirer", "email": "",
                                                     "requester": "請求 太郎"}, follow_redirects=True)
    assert "メールアドレスを入力してください" in missing.get_data(as_text=True)
    client.post("/records/requests", data={"kind": "disclosure", "person_kind": "inquirer", "email": "taro@example.jp",
                                           "requester": "請求 太郎"})
    with app.app_context():
        request_id = db.session.scalar(select(PersonalRequest.id))
    listing = client.get("/records/requests").get_data(as_text=True)
    assert "開示請求" in listing and "請求 太郎" in listing
    package = client.get(f"/records/requests/{request_id}/package")
    assert package.status_code == 200 and package.headers["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert "保有個人情報.xlsx" in archive.namelist()
    client.post("/logout")
    login(client, "admin@banso.example")
    with app.app_context():
        version = db.session.get(PersonalRequest, request_id).version
    assert client.post(f"/records/requests/{request_id}", data={"action": "grant", "note": "全部開示", "version": version}).status_code == 302
    with app.app_context():
        assert db.session.get(PersonalRequest, request_id).status == "granted"


def test_an_officers_request_is_received_by_their_address(app, client):
    _world(app)
    with app.app_context():
        from banso.models import Officer

        email = db.session.scalar(select(Officer.email).limit(1))
    login(client, "staff@banso.example")
    wrong = client.post("/records/requests", data={"kind": "suspension", "person_kind": "officer", "officer_email": "nobody@example.go.jp",
                                                   "requester": "誰か"}, follow_redirects=True)
    assert "登録されているもの" in wrong.get_data(as_text=True)
    client.post("/records/requests", data={"kind": "suspension", "person_kind": "officer", "officer_email": email.upper(),
                                           "requester": "本人"})
    with app.app_context():
        assert db.session.scalar(select(PersonalRequest.officer_id)) is not None
