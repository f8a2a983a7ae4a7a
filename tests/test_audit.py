"""The audit trail: overwrites keep what they replaced; the application cannot change or delete a row."""
from datetime import date

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from banso.extensions import db
from banso.models import AuditEntry, Role
from banso.services import audit, inquiries, publication, teams, travel
from tests.factories import make_rates, make_team, make_trip, make_user


def _last(action: str) -> AuditEntry:
    return db.session.scalar(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc()).limit(1))


def test_overwrites_keep_what_they_replaced(ctx):
    """Found: a re-filed half-year report (any member may overwrite it), a reply template, a prefecture's contact
    and a corrected claim's lines kept no "before"."""
    staff = make_user(Role.SECRETARIAT)
    team = make_team()
    report = {"issues": "人口減少", "support_given": "計画策定の助言", "results": "計画案", "outlook": "実行"}
    teams.file_report(team, 1, report, actor=staff)
    teams.file_report(team, 1, report | {"results": "書き換えた成果"}, actor=staff)
    entry = _last("file_report")
    assert entry.before["results"] == "計画案" and entry.after["results"] == "書き換えた成果"

    template = inquiries.save_template("日程", "元の本文", actor=staff)
    inquiries.save_template("日程", "新しい本文", actor=staff, template=template)
    assert _last("save_template").before == {"title": "日程", "body": "元の本文"}

    publication.set_prefecture_contact("岩手県", "old@pref.iwate.lg.jp", "企画課", actor=staff)
    publication.set_prefecture_contact("岩手県", "new@pref.iwate.lg.jp", "企画課", actor=staff)
    assert _last("prefecture_contact").before["email"] == "old@pref.iwate.lg.jp"

    make_rates(2026)
    trip = make_trip(team, actor=staff, depart_on=date(2026, 6, 10), return_on=date(2026, 6, 11))
    travel.review_request(trip, "approve", actor=make_user(Role.FINANCE))
    first = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
    travel.file_claim(trip, first, [("r.pdf", b"%PDF-1.4 receipt")], actor=staff)
    trip.status = "claim_returned"  # returned by finance for a correction
    travel.file_claim(trip, [travel.ClaimInput(i.officer_id, i.category, i.claimed + (100 if i.category != "night_allowance" else 0)) for i in first], [], actor=staff)
    entry = _last("claim")
    assert [line["claimed_yen"] for line in entry.before["lines"]] == [i.claimed for i in first]
    assert [line["claimed_yen"] for line in entry.after["lines"]] == [i.claimed + (100 if i.category != "night_allowance" else 0) for i in first]


def test_the_application_cannot_change_or_delete_an_audit_row(ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL guards the audit rows with a trigger; the embedded SQLite is for development")
    entry = audit.record("publish_note", None, object_type="Phase", actor=make_user(Role.ADMIN), summary="記録")
    db.session.flush()
    entry_id = entry.id
    for statement in (update(AuditEntry).where(AuditEntry.id == entry_id).values(summary="改ざん"),
                      delete(AuditEntry).where(AuditEntry.id == entry_id)):
        with pytest.raises(DBAPIError, match="監査ログは変更・削除できません"):
            with db.session.begin_nested():
                db.session.execute(statement.execution_options(synchronize_session=False))
    assert db.session.scalar(select(AuditEntry.summary).where(AuditEntry.id == entry_id)) != "改ざん"
