import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from banso.extensions import db
from banso.models import AuditEntry, Phase, Role, User
from tests.conftest import login
from tests.factories import make_phase, make_user


def _admin(app, client):
    with app.app_context():
        email = make_user(Role.ADMIN, name="管理 太郎").email
        db.session.commit()
    login(client, email)


def test_admin_creates_a_user_and_bad_input_is_422_with_the_reason(app, client):
    _admin(app, client)
    bad = client.post("/admin/users", data={"email": "not-an-address", "name": "", "role": "officer"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "メールアドレスの形式が正しくありません" in body and "入力してください" in body
    ok = client.post("/admin/users", data={"email": "n@banso.example", "name": "新人", "role": "officer"})
    assert ok.status_code == 302
    again = client.post("/admin/users", data={"email": "N@banso.example", "name": "新人", "role": "officer"})
    assert again.status_code == 422 and "既に登録されています" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "n@banso.example")).role == "officer"


def test_deactivated_user_is_signed_out_and_cannot_sign_in(app, client):
    _admin(app, client)
    with app.app_context():
        user = make_user(Role.OFFICER)
        user_id, email = user.id, user.email
        db.session.commit()
    other = app.test_client()
    login(other, email)
    assert other.get("/").status_code == 200
    client.post(f"/admin/users/{user_id}", data={"name": "x", "role": "officer"})  # active unchecked
    assert other.get("/").status_code == 302
    assert other.post("/login", data={"email": email, "password": "correct-horse-battery"}).status_code == 401


def test_user_list_searches_filters_sorts_and_exports(app, client):
    _admin(app, client)
    with app.app_context():
        make_user(Role.FINANCE, name="会計 一郎", email="kaikei@banso.example")
        make_user(Role.OFFICER, name="支援 二郎", email="shien@banso.example")
        db.session.commit()
    page = client.get("/admin/users?role=finance").get_data(as_text=True)
    assert "会計 一郎" in page and "支援 二郎" not in page
    fragment = client.get("/admin/users?q=支援", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and 'id="users-table"' in text and "支援 二郎" in text
    assert "HX-Request" in fragment.headers["Vary"]
    exported = client.get("/admin/users?format=csv&sort=-email")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["氏名", "メールアドレス", "役割"]
    emails = [r[1] for r in rows[1:]]
    assert emails == sorted(emails, reverse=True) and len(emails) == 3
    workbook = load_workbook(io.BytesIO(client.get("/admin/users?format=xlsx&role=officer").data))
    sheet = workbook.active
    assert [c.value for c in sheet[2]][:3] == ["支援 二郎", "shien@banso.example", "地方創生支援官"]


def test_phase_editing_reads_times_as_japan_time_and_is_audited(app, client):
    _admin(app, client)
    with app.app_context():
        phase_id = make_phase().id
        db.session.commit()
    form = {
        "number": 2, "name": "第2期", "fiscal_year": 2026, "population_reference_date": "2025-01-01",
        "survey_opens_at": "2025-12-01T10:00", "answer_deadline_at": "2025-12-24T17:00",
        "support_start": "2026-04-01", "support_end": "2027-03-30", "travel_budget_cap_yen": 97000000,
    }
    assert client.post(f"/admin/phases/{phase_id}", data=form).status_code == 302
    with app.app_context():
        phase = db.session.get(Phase, phase_id)
        assert phase.answer_deadline_at.isoformat() == "2025-12-24T08:00:00+00:00"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "Phase", AuditEntry.action == "update"))
        assert entry.before["support_end"] == "2027-03-31" and entry.after["support_end"] == "2027-03-30"
    cap = client.post(f"/admin/phases/{phase_id}", data=dict(form, travel_budget_cap_yen=98000000))
    assert cap.status_code == 422 and "理由を添えて改定" in cap.get_data(as_text=True)  # TRV-2: only with a reason
    bad = client.post(f"/admin/phases/{phase_id}", data=dict(form, answer_deadline_at="2025-11-01T17:00"))
    assert bad.status_code == 422 and "回答締切は調査開始より後" in bad.get_data(as_text=True)


def test_the_next_phase_is_drafted_from_the_last_and_saved_with_its_settings_carried(app, client):
    _admin(app, client)
    with app.app_context():
        phase_id = make_phase(travel_standard_visit_yen=200_000).id
        db.session.commit()
    assert f"/admin/phases/new?from={phase_id}" in client.get("/admin/phases").get_data(as_text=True)
    draft = client.get(f"/admin/phases/new?from={phase_id}").get_data(as_text=True)
    assert 'value="第3期"' in draft and 'value="2027-02-15T17:00"' in draft and "1年後にずらした案" in draft
    form = {"number": 3, "name": "第3期", "fiscal_year": 2027, "population_reference_date": "2026-01-01",
            "survey_opens_at": "2026-12-01T10:00", "answer_deadline_at": "2026-12-24T17:00",
            "support_start": "2027-04-01", "support_end": "2028-03-31", "travel_budget_cap_yen": 97000000}
    saved = client.post(f"/admin/phases/new?from={phase_id}", data=form, follow_redirects=True)
    assert "第2期の行事・旅費の標準額・マッチングの設定を引き継ぎました" in saved.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Phase).where(Phase.number == 3)).travel_standard_visit_yen == 200_000


def test_audit_trail_filters_by_user_type_and_date_and_exports_csv(app, client, clock):
    _admin(app, client)
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        from banso.services import users

        users.create_user(email="a1@banso.example", name="甲", role="officer", password="long-enough-pw", actor=admin)
        db.session.commit()
    page = client.get("/admin/audit?object_type=User").get_data(as_text=True)
    assert "利用者 a1@banso.example を作成" in page
    none = client.get("/admin/audit?date_from=2030-01-01").get_data(as_text=True)
    assert "該当する記録はありません" in none
    exported = client.get("/admin/audit?format=csv&object_type=User").get_data(as_text=True)
    assert "利用者 a1@banso.example を作成" in exported and "管理 太郎" in exported


def test_dashboard_shows_the_timeline_in_wareki_and_seireki(app, client, clock):
    from banso.clock import jst

    clock.set(jst(2025, 12, 10, 9))
    _admin(app, client)
    with app.app_context():
        make_phase()
        db.session.commit()
    body = client.get("/").get_data(as_text=True)
    assert "第2期" in body
    assert "次の予定: <strong>活用希望調査の回答締切</strong> — 令和7年12月24日 17:00（2025年12月24日(水)）" in body


def _log_pages(client, url: str):
    """(url, page) for each page of a log, following its 「さらに古い記録」 link to the end."""
    import re

    while url:
        page = client.get(url).get_data(as_text=True)
        yield url, page
        more = re.search(r'href="([^"]*before=[^"]*)" rel="next"', page)
        url = more.group(1).replace("&amp;", "&") if more else None


def test_the_audit_log_pages_by_where_the_last_page_ended_and_finds_users_by_name(app, client, clock):
    """Found: the log counted its 125,000 rows for every page and offered 4,000 users as options. It now continues
    below the last row shown (newest first, each row once) and finds the user by part of a name or address."""
    import re

    from banso.clock import jst
    from banso.services import audit

    _admin(app, client)
    app.config["PER_PAGE"] = 3
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        for i in range(7):  # one row recorded late with an earlier time, as bulk data does
            clock.set(jst(2026, 5, 1 + (i if i != 6 else 0), 9))
            audit.record("note", admin, actor=admin, summary=f"記録{i}")
            db.session.flush()  # the row takes the clock's time when written
        db.session.commit()
    seen = [found for _, page in _log_pages(client, "/admin/audit?q=記録") for found in re.findall(r"記録(\d)", page)]
    assert seen == ["5", "4", "3", "2", "1", "6", "0"]  # by time, newest first; ties by the order recorded
    found = client.get("/admin/audit?actor=管理&q=記録0").get_data(as_text=True)
    assert "記録0" in found and 'id="actor" maxlength="100" name="actor" type="text"' in found  # typed, not 4,000 options
    assert "該当する記録はありません" in client.get("/admin/audit?actor=存在しない人&q=記録0").get_data(as_text=True)


def test_the_outbox_pages_by_where_the_last_page_ended_with_its_filters(app, client, clock):
    """Issue 19: the outbox log counted its ~80,000 rows and skipped by OFFSET on every page; it now continues below the
    last row shown, newest first, each notification once, keeping the status filter and the search."""
    import re

    from banso.clock import jst
    from banso.services import notifications

    _admin(app, client)
    app.config["PER_PAGE"] = 4
    with app.app_context():
        for i in range(9):
            clock.set(jst(2026, 5, 1, 9, i))
            notifications.notify(key=f"page-{i}", recipient_email=f"r{i}@example.lg.jp", kind="test", subject=f"件名{i}", body="本文")
        db.session.commit()
    pages = list(_log_pages(client, "/admin/notifications?q=件名&status=pending"))
    assert all("status=pending" in url and "q=" in url for url, _ in pages)  # every page keeps the filters
    seen = [found for _, page in pages for found in re.findall(r"件名(\d)", page)]
    assert seen == ["8", "7", "6", "5", "4", "3", "2", "1", "0"]
