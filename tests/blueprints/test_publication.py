"""PUB-2, PUB-3, PUB-4 over HTTP: the secretariat's view of a held matching carries the banner and the watermark
and is audited; after release the public page shows it; a prefecture's packet. The crawler that no route shows a
held pairing to anyone else is tests/blueprints/test_hold.py."""
import pytest
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import AuditEntry, Role
from banso.services import publication
from tests.conftest import login
from tests.factories import make_municipality, make_officer, make_team, make_user

SECRET_TOWN, SECRET_OFFICER = "秘匿町", "秘匿 一郎"


@pytest.fixture
def embargo(app):
    with app.app_context():
        team = make_team(municipality=make_municipality(name=SECRET_TOWN))
        team.current_members[0].officer.name = SECRET_OFFICER
        users = {role: make_user(role, email=f"{role}@banso.example") for role in ("admin", "secretariat", "finance", "officer")}
        make_officer(team.phase, status="selected", user=users["officer"])  # an officer of no (or another) team
        ids = {"team_id": team.id, "municipality_id": team.municipality_id, "application_id": team.application_id,
               "officer_id": team.current_members[0].officer_id, "phase_id": team.phase_id, "number": team.phase.number,
               "user_id": users["officer"].id}
        db.session.commit()
        return ids


def test_pub_2_the_secretariat_sees_it_with_the_banner_and_each_view_is_audited(app, client, embargo):
    login(client, "secretariat@banso.example")
    page = client.get(f"/teams/{embargo['team_id']}").get_data(as_text=True)
    assert SECRET_TOWN in page and SECRET_OFFICER in page
    assert "公表前・取扱注意" in page and "secretariat@banso.example" in page  # the banner and the watermark line
    export = client.get(f"/teams/?phase={embargo['number']}&format=csv").get_data(as_text=True)
    assert export.lstrip("\ufeff").startswith("公表前・取扱注意") and SECRET_OFFICER in export
    with app.app_context():
        views = db.session.scalars(select(AuditEntry.summary).where(AuditEntry.action == "view_confidential")).all()
        assert len(views) >= 2 and any("秘匿町" in v for v in views)
    preview = client.get(f"/publication/preview?phase={embargo['number']}")  # the secretariat's preview: its own address
    assert preview.status_code == 200 and SECRET_TOWN in preview.get_data(as_text=True)
    assert preview.headers["Cache-Control"] == "no-store"
    assert client.get(f"/public/{embargo['number']}/results").status_code == 404  # the public address, never before release


def _release(app, phase_id: int) -> None:
    """Confirm, notify and release the embargoed phase, as staff and an admin do (PUB-2, PUB-3)."""
    from banso.models import Phase

    with app.app_context():
        phase = db.session.get(Phase, phase_id)
        staff, admin = make_user(Role.SECRETARIAT), make_user(Role.ADMIN)
        publication.confirm(phase, actor=staff)
        publication.send_advance_notices(phase, actor=staff)
        publication.release(phase, actor=admin)
        db.session.commit()


def test_pub_3_after_release_the_public_page_shows_the_pairing(app, client, embargo):
    assert client.get(f"/public/{embargo['number']}/results").status_code == 404
    _release(app, embargo["phase_id"])
    page = client.get(f"/public/{embargo['number']}/results").get_data(as_text=True)
    assert SECRET_TOWN in page and SECRET_OFFICER in page and "公表前" not in page
    csv = client.get(f"/public/{embargo['number']}/results?format=csv").get_data(as_text=True)
    assert SECRET_TOWN in csv and SECRET_OFFICER in csv


def test_pub_4_a_prefectures_packet_holds_its_answers_results_and_activity(app, client, embargo):
    import io

    from openpyxl import load_workbook

    login(client, "secretariat@banso.example")
    workbook = load_workbook(io.BytesIO(client.get(f"/publication/prefectures?phase={embargo['number']}&prefecture=岩手県&format=xlsx").data))
    assert workbook.sheetnames == ["回答", "マッチング結果"]
    rows = list(workbook["マッチング結果"].iter_rows(values_only=True))
    assert rows[0][0].startswith("公表前・取扱注意")  # before release: the watermark line first
    assert rows[1][-3:] == ("現地訪問（回）", "オンライン会議（回）", "企業訪問（回）")
    assert rows[2][0] == SECRET_TOWN and SECRET_OFFICER in rows[2][2]
    client.post("/logout")
    login(client, "finance@banso.example")
    assert client.get(f"/publication/prefectures?phase={embargo['number']}&prefecture=岩手県&format=xlsx").status_code == 403


def test_the_public_page_is_rendered_once_per_state_of_the_results_and_answers_304_when_unchanged(app, client, embargo):
    """Found: every anonymous request rendered the whole phase. The page is kept per state of the results, so a
    replacement or an edited name shows at once, and a browser with the same state is answered 304."""
    from banso.models import Officer

    _release(app, embargo["phase_id"])
    url = f"/public/{embargo['number']}/results"
    first = client.get(url)
    assert first.status_code == 200 and SECRET_OFFICER in first.get_data(as_text=True) and first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    with app.app_context():
        officer = db.session.scalar(select(Officer).where(Officer.name == SECRET_OFFICER))
        officer.name = "改名 花子"  # an officer's name corrected after release
        db.session.commit()
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and "改名 花子" in again.get_data(as_text=True)
    assert again.headers["ETag"] != first.headers["ETag"]


def test_pub_3_the_public_page_is_a_snapshot_written_once_and_anew_after_any_change_it_shows(app, client, embargo):
    """Issue 30: the public results were computed again on every view (364 ms at ten times the programme); now they are
    stored at the first view after release and read from then on, and any change of what they show — here an officer
    renamed by raw SQL, as from psql — removes the snapshot in the same transaction, so it is never served stale."""
    from sqlalchemy import text

    from banso.models import PublishedResults

    _release(app, embargo["phase_id"])
    with app.app_context():  # written by the release itself, before anyone looks
        written = db.session.scalar(select(PublishedResults.written_at))
        assert written is not None
    first = client.get(f"/public/{embargo['number']}/results")
    assert first.status_code == 200 and SECRET_OFFICER in first.get_data(as_text=True)
    again = client.get(f"/public/{embargo['number']}/results")
    assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]
    assert client.get(f"/public/{embargo['number']}/results", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    with app.app_context():
        assert db.session.scalar(select(PublishedResults.written_at)) == written  # read, not written again
        db.session.execute(text("UPDATE officers SET name = '改名 一郎' WHERE id = :id"), {"id": embargo["officer_id"]})
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(PublishedResults)) == 0  # removed with the change
    renamed = client.get(f"/public/{embargo['number']}/results", headers={"If-None-Match": first.headers["ETag"]})
    assert renamed.status_code == 200 and "改名 一郎" in renamed.get_data(as_text=True)
    assert SECRET_OFFICER not in renamed.get_data(as_text=True) and renamed.headers["ETag"] != first.headers["ETag"]
    with app.app_context():  # the headline counts secondees: an officer's kind is shown too
        db.session.execute(text("UPDATE officers SET officer_type = 'secondee' WHERE id = :id"), {"id": embargo["officer_id"]})
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(PublishedResults)) == 0
