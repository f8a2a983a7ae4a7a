"""Demo data for `make run`: fictional people, the real programme schedule (seed 002).

Each area adds its own part to ``load``; it runs once, on an empty database, never in production.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from sqlalchemy import func, select

from banso.clock import clock_at, jst
from banso.extensions import db
from banso.models import Phase, Role, User
from banso.services import phases, users

DEMO_PASSWORD = users.DEMO_PASSWORD
DEMO_USERS = [
    ("admin@banso.example", "羽白 真理子", Role.ADMIN),
    ("staff@banso.example", "坂本 翔太", Role.SECRETARIAT),
    ("finance@banso.example", "松岡 由紀", Role.FINANCE),
    ("officer@banso.example", "石田 健一", Role.OFFICER),
    ("staff2@banso.example", "東 美咲", Role.SECRETARIAT),
    ("staff3@banso.example", "橋本 大輔", Role.SECRETARIAT),
    ("finance2@banso.example", "岡田 直子", Role.FINANCE),
    ("admin2@banso.example", "中村 和也", Role.ADMIN),  # an early release needs a second admin (PUB-3)
]


def is_loaded() -> bool:
    return db.session.scalar(select(func.count()).select_from(User)) > 0


PARTS = 9


MATCHING_WEEK = "第2期の活用希望調査と継続意向"


@dataclass(frozen=True)
class Point:
    """The demo as it stood at a moment of the programme's year (`make run DEMO_AT=NAME`): loaded up to ``until`` (all
    if None), 第3期 drafted from 第2期 if ``third_phase``, and the app's clock started at ``at``."""
    label: str
    until: str | None
    at: datetime
    third_phase: bool = False


POINTS = {
    "matching-week": Point("第2期のマッチングの週（活用希望調査・選定・併任発令まで済み、チーム編成の前）", MATCHING_WEEK,
                           jst(2026, 3, 9, 10)),
    "third-survey": Point("第3期の活用希望調査の受付中（第2期のチームは支援期間中）", None, jst(2026, 12, 7, 10),
                          third_phase=True),
}


def load_point(name: str, progress: Callable[[int, int, str, float], None] | None = None) -> None:
    load(progress, until=POINTS[name].until)
    finish_point(name)


def finish_point(name: str) -> None:
    """What a point adds to the loaded demo: 第3期, drafted from 第2期 as an admin does in December."""
    if POINTS[name].third_phase:
        second = db.session.scalar(select(Phase).where(Phase.number == 2))
        phases.create_phase(phases.draft_after(second)[0], actor=None, carried_from=second)


def load(progress: Callable[[int, int, str, float], None] | None = None, *, until: str | None = None) -> None:
    """Load the demo, part by part; ``progress(done, PARTS, part, seconds)`` is told after each part. ``until`` stops
    after the part of that name: ``MATCHING_WEEK`` is the demo as it stood before 第2期's teams were formed."""
    done = 0

    class Enough(Exception):
        pass

    @contextmanager
    def part(label: str):
        nonlocal done
        started = time.monotonic()
        yield
        done += 1
        if progress is not None:
            progress(done, PARTS, label, time.monotonic() - started)
        if label == until:
            raise Enough

    try:
        _load_parts(part)
    except Enough:
        pass


def _load_parts(part) -> None:
    from banso import demo_applications, demo_inquiries, demo_officers, demo_teams, demo_travel
    from banso.services import municipalities

    with part("利用者・期・市町村マスタ"):
        created = [users.create_user(email=email, name=name, role=role, password=DEMO_PASSWORD, actor=None)
                   for email, name, role in DEMO_USERS]
        _phases()
        municipalities.import_master()
    admin, staff, finance, officer_user = created[0], created[1], created[2], created[3]
    with part("第1期の活用希望調査"):
        demo_applications.load_first_phase(actor=staff)
    with part("支援官と併任発令"):
        demo_officers.load(staff=staff, officer_user=officer_user)
    with part("第1期のチームと活動記録"):
        demo_teams.load(staff=staff)
    with part("第2期の活用希望調査と継続意向"):
        demo_applications.load_second_phase(actor=staff, admin=admin)
    with part("第2期のチームと活動記録"):
        demo_teams.load_second_phase(staff=staff)
    with part("マッチング結果の公表"):
        for number in (1, 2):
            _publish(db.session.scalar(select(Phase).where(Phase.number == number)), staff=staff, admin=admin)
    with part("旅費（出張・精算）"):
        demo_travel.load(staff=staff, finance=finance, officer_user=officer_user)
    with part("問い合わせ"):
        demo_inquiries.load(staff=[staff, created[4], created[5]], finance=finance)


def _publish(phase: Phase, *, staff: User, admin: User) -> None:
    """Both demo phases were confirmed, noticed in advance and released on their planned dates (PUB-2, PUB-3): each
    step runs at the time it happened (the app's clock), so its records and audit rows say so."""
    from datetime import timedelta

    from banso.models import Notification, NotificationStatus
    from banso.services import publication

    with clock_at(phase.matching_deadline_at):
        publication.confirm(phase, actor=staff)
    noticed = phase.publication_at - timedelta(days=7)
    with clock_at(noticed):
        publication.send_advance_notices(phase, actor=staff)
    with clock_at(phase.publication_at):
        publication.release(phase, actor=admin)
    notices = db.session.scalars(select(Notification).where(Notification.kind == "advance_notice",
                                                            Notification.status == NotificationStatus.PENDING))
    for notice in notices:  # delivered at the time, not now
        notice.status, notice.sent_at = NotificationStatus.SENT, noticed


def _phases() -> None:
    phases.create_phase(
        {
            "number": 1, "name": "第1期", "fiscal_year": 2025,
            "population_reference_date": date(2024, 1, 1),
            "survey_opens_at": jst(2024, 12, 2, 10), "answer_deadline_at": jst(2024, 12, 25, 17),
            "recruitment_opens_at": jst(2025, 1, 14, 10), "recruitment_closes_at": jst(2025, 2, 14, 17),
            "matching_deadline_at": jst(2025, 3, 14, 17), "publication_at": jst(2025, 3, 25, 10),
            "support_start": date(2025, 4, 15), "support_end": date(2026, 3, 31),
            "travel_budget_cap_yen": 60_000_000,
        },
        events=[("自治体向け説明会", jst(2024, 12, 5, 14))],
        actor=None,
    )
    # 第2期: the schedule of seed 002 §3 (令和7年12月).
    phases.create_phase(
        {
            "number": 2, "name": "第2期", "fiscal_year": 2026,
            "population_reference_date": date(2025, 1, 1),
            "survey_opens_at": jst(2025, 12, 1, 10), "answer_deadline_at": jst(2025, 12, 24, 17),
            "recruitment_opens_at": jst(2026, 1, 13, 10), "recruitment_closes_at": jst(2026, 2, 13, 17),
            "matching_deadline_at": jst(2026, 3, 13, 17), "publication_at": jst(2026, 3, 24, 10),
            "support_start": date(2026, 4, 1), "support_end": date(2027, 3, 31),
            "travel_budget_cap_yen": 97_000_000,
        },
        events=[
            ("自治体（都道府県・市町村）向け説明会①", jst(2025, 12, 3, 14)),
            ("自治体（都道府県・市町村）向け説明会②", jst(2025, 12, 8, 14)),
        ],
        actor=None,
    )
