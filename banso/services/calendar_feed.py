"""Each user's own calendar feed (RFC 5545, written with icalendar): the deadlines of the live phases that concern
their role, and for an officer their team's support period, reports due, activities and trips. Outlook and Google
Calendar subscribe to it by a secret address the user can renew. Times carry Asia/Tokyo with its VTIMEZONE, so a
client in any zone shows the Japanese hour; a cancelled or rejected trip is sent as cancelled, never dropped, so a
subscribed calendar removes it. The feed is read in its owner's scope of the hold (PUB-2): nothing of an unreleased
phase beyond one's own noticed team."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from icalendar import Calendar, Event, Timezone
from sqlalchemy import or_, select

from banso.clock import JST, now, today_jst
from banso.extensions import db
from banso.models import Activity, CalendarFeed, Officer, Phase, TripRequest, TripTraveller, User
from banso.models.travel import TripStatus
from banso.policies import hold
from banso.policies import teams as teams_policy
from banso.policies import travel as travel_policy
from banso.services import audit, phases, teams

PRODID = "-//Banso//地方創生伴走支援 事務局システム//JA"
CANCELLED = (TripStatus.CANCELLED, TripStatus.REJECTED)
TENTATIVE = (TripStatus.SUBMITTED, TripStatus.RETURNED)
SINCE = timedelta(days=400)  # a trip or activity older than a year and a month is left out of the feed


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def renew(user: User, *, actor: User) -> str:
    """A new secret token for ``user``'s feed (returned once, to show its address); the previous address stops."""
    token = secrets.token_urlsafe(32)
    feed = db.session.get(CalendarFeed, user.id)
    if feed is None:
        db.session.add(CalendarFeed(user_id=user.id, token_sha256=_digest(token), created_at=now()))
    else:
        feed.token_sha256, feed.created_at = _digest(token), now()
    audit.record("renew_calendar", user, actor=actor, summary=f"{user.name}さんのカレンダー配信アドレスを{'再' if feed else ''}発行")
    return token


def issued_at(user: User) -> datetime | None:
    feed = db.session.get(CalendarFeed, user.id)
    return feed.created_at if feed is not None else None


def owner(token: str) -> User | None:
    """The active user whose feed ``token`` opens, or None."""
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(select(User).join(CalendarFeed, CalendarFeed.user_id == User.id)
                             .where(CalendarFeed.token_sha256 == _digest(token)))
    return user if user is not None and user.active else None


def feed(user: User) -> bytes:
    """The calendar of ``user``, read as they would see it (the hold in their scope)."""
    hold.view_as(user)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "伴走支援（Banso）")
    calendar.add("x-wr-timezone", "Asia/Tokyo")
    stamp = now()
    for uid, summary, start, end, status, description in _items(user):
        event = Event()
        event.add("uid", f"{uid}@banso")
        event.add("dtstamp", stamp)
        event.add("summary", summary)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("status", status)
        if description:
            event.add("description", description)
        calendar.add_component(event)
    if not calendar.timezones:  # always named, so a client places a time later added to the feed in Japan time
        calendar.add_component(Timezone.from_tzid("Asia/Tokyo"))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _items(user: User):
    """(uid, summary, start, end, status, description) of each event: dates as all-day (end exclusive), times as an
    hour in Japan time."""
    own_team = teams.team_of_user(user) if teams_policy.sees_own_teams_only(user) else None
    for phase in _phases_for(user, own_team):
        for milestone in phases.timeline(phase):
            if own_team is not None and not milestone.label.startswith("伴走支援"):
                continue  # an officer's own phase: the support period (their reports and trips follow)
            uid = f"phase-{phase.id}-{hashlib.sha1(milestone.label.encode()).hexdigest()[:10]}"
            if milestone.has_time:
                start = milestone.at.astimezone(JST)
                yield uid, f"{phase.name} {milestone.label}", start, start + timedelta(hours=1), "CONFIRMED", ""
            else:
                day = milestone.at.date()
                yield uid, f"{phase.name} {milestone.label}", day, day + timedelta(days=1), "CONFIRMED", ""
    if own_team is None:
        return
    for period in (1, 2):
        due = teams.report_due(own_team, period)
        yield (f"report-{own_team.id}-{period}", f"活動報告（{'上期' if period == 1 else '下期'}）の提出期限", due,
               due + timedelta(days=1), "CONFIRMED", f"{own_team.name}（TEAM-6）")
    since = today_jst() - SINCE
    for activity in db.session.scalars(select(Activity).where(Activity.team_id == own_team.id, Activity.started_on >= since)):
        yield (f"activity-{activity.id}", f"{activity.kind_label}（{own_team.name}）", activity.started_on,
               activity.ended_on + timedelta(days=1), "CONFIRMED", activity.summary or "")
    mine = select(TripTraveller.trip_id).join(Officer, Officer.id == TripTraveller.officer_id).where(Officer.user_id == user.id)
    trips = db.session.scalars(select(TripRequest).where(TripRequest.depart_on >= since, or_(
        TripRequest.team_id == own_team.id, TripRequest.id.in_(mine))))
    for trip in trips:
        status = "CANCELLED" if trip.status in CANCELLED else "TENTATIVE" if trip.status in TENTATIVE else "CONFIRMED"
        yield (f"trip-{trip.id}", f"出張 {trip.destination}（{trip.purpose_label}）", trip.depart_on,
               trip.return_on + timedelta(days=1), status, f"{trip.number} {trip.status_label}")


def _phases_for(user: User, own_team) -> list[Phase]:
    """The live phases whose deadlines concern ``user``: all of them for the secretariat; the phase in support for
    finance (its budget and claims); an officer's own team's phase."""
    if own_team is not None:
        return [own_team.phase]
    if travel_policy.may_review(user) and not teams_policy.may_manage(user):
        return [p for p in [phases.in_support()] if p is not None]
    return phases.live_phases() if teams_policy.may_manage(user) else []

