"""Issue 30, item 4: ordinary actions write only what they change. A sign-in writes no account row and recording an
activity writes no team row, so nothing read with the account or the team on every page moves with them."""
import re
from contextlib import contextmanager
from datetime import date

from sqlalchemy import event

from banso.clock import jst
from banso.extensions import db
from banso.services import teams, users
from tests.factories import PASSWORD, make_team, make_user


@contextmanager
def written_tables():
    tables: set[str] = set()

    def keep(_conn, _cursor, statement, *_args):
        found = re.match(r"\s*(?:UPDATE|INSERT INTO|DELETE FROM)\s+\"?(\w+)", statement, re.IGNORECASE)
        if found:
            tables.add(found.group(1).lower())

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield tables
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


def test_a_sign_in_writes_no_account_row_and_is_still_shown(ctx, clock):
    user = make_user(email="ishida@banso.example")
    db.session.commit()
    with written_tables() as tables:
        users.authenticate("ishida@banso.example", PASSWORD, source="10.0.0.5")
        db.session.flush()
    assert "users" not in tables and "last_sign_ins" in tables
    assert user.last_login_at == clock.at  # the admin list's 最終サインイン
    clock.advance(hours=3)
    users.authenticate("ishida@banso.example", PASSWORD)
    assert user.last_login_at == clock.at  # one row per account, moved


def test_recording_an_activity_writes_no_team_row_and_team_5_reads_the_new_date(ctx, clock):
    clock.set(jst(2026, 11, 30, 10))
    team = make_team()
    staff = make_user()
    db.session.commit()
    assert team.last_meeting_on is None
    with written_tables() as tables:
        activity = teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 11, 27),
                                                "summary": "定例会議"}, actor=staff)
        teams.correct_activity(activity, {"kind": "online_meeting", "started_on": date(2026, 11, 28),
                                          "summary": "定例会議"}, actor=staff)
        db.session.flush()
    assert "teams" not in tables and "activities" in tables
    assert team.last_meeting_on == date(2026, 11, 28)


def test_team_5_dates_follow_activities_written_by_raw_sql_too(ctx, clock):
    """The summary is kept by the database (triggers on activities): a change from psql or a script moves it as
    surely as the activity service, and a deleted entry moves it back."""
    from sqlalchemy import text

    clock.set(jst(2026, 11, 30, 10))
    team = make_team()
    db.session.flush()
    insert = text("INSERT INTO activities (version, team_id, kind, started_on, ended_on, participants, place, company_count, "
                  "summary, follow_ups, created_at) VALUES (1, :team, :kind, :day, :day, '', '', 0, '', '', :at)")
    for kind, day in (("online_meeting", date(2026, 11, 2)), ("online_meeting", date(2026, 11, 16)), ("site_visit", date(2026, 9, 1))):
        db.session.execute(insert, {"team": team.id, "kind": kind, "day": day, "at": clock.at})
    db.session.expire(team)
    assert (team.last_meeting_on, team.last_visit_on) == (date(2026, 11, 16), date(2026, 9, 1))
    db.session.execute(text("DELETE FROM activities WHERE team_id = :team AND started_on = :day"),
                       {"team": team.id, "day": date(2026, 11, 16)})
    db.session.execute(text("UPDATE activities SET kind = 'company_visit' WHERE team_id = :team AND kind = 'site_visit'"),
                       {"team": team.id})
    db.session.expire(team)
    assert (team.last_meeting_on, team.last_visit_on) == (date(2026, 11, 2), None)
