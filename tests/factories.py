"""Plain factories: make_<model>(**overrides), flushed, never committed."""
from __future__ import annotations

from datetime import date
from itertools import count

from banso.clock import jst
from banso.extensions import db
from banso.models import LastSignIn, Phase, Role, User
from banso.services.users import hash_password

_seq = count(1)
PASSWORD = "correct-horse-battery"
_HASH = None


def make_user(role: Role | str = Role.SECRETARIAT, **overrides) -> User:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    n = next(_seq)
    values = {"email": f"user{n}@banso.example", "name": f"利用者{n}", "role": str(role), "password_hash": _HASH}
    last_login_at = overrides.pop("last_login_at", None)  # kept apart from the account (models.LastSignIn)
    values.update(overrides)
    user = User(**values)
    db.session.add(user)
    db.session.flush()
    if last_login_at is not None:
        db.session.add(LastSignIn(user_id=user.id, at=last_login_at))
        db.session.flush()
    return user


def make_phase(**overrides) -> Phase:
    values = {
        "number": 2, "name": "第2期", "fiscal_year": 2026,
        "population_reference_date": date(2025, 1, 1),
        "survey_opens_at": jst(2025, 12, 1, 10), "answer_deadline_at": jst(2025, 12, 24, 17),
        "recruitment_opens_at": jst(2026, 1, 13, 10), "recruitment_closes_at": jst(2026, 2, 13, 17),
        "matching_deadline_at": jst(2026, 3, 13, 17), "publication_at": jst(2026, 3, 24, 10),
        "support_start": date(2026, 4, 1), "support_end": date(2027, 3, 31),
        "travel_budget_cap_yen": 97_000_000,
    }
    values.update(overrides)
    phase = Phase(**values)
    db.session.add(phase)
    db.session.flush()
    return phase


def valid_code(first_five: str) -> str:
    from banso.reference import check_digit

    return first_five + str(check_digit(first_five))


def make_municipality(**overrides):
    from banso.models import Municipality
    from banso.reference import BLOCK_OF

    n = next(_seq)
    values = {"code": valid_code(f"{90000 + n % 9000:05d}"), "prefecture": "岩手県", "name": f"テスト町{n}",
              "name_kana": f"てすとちょう{n}", "default_population": 20_000, "default_population_date": date(2025, 1, 1)}
    values.update(overrides)
    values.setdefault("region_block", BLOCK_OF[values["prefecture"]])
    municipality = Municipality(**values)
    db.session.add(municipality)
    db.session.flush()
    return municipality


def answer(**overrides) -> dict:
    """A complete, valid answer (回答フォーム記載事項) as the services take it."""
    values = {
        "contact_department": "企画政策課", "contact_person": "佐藤 翔", "contact_email": "sato@example.lg.jp",
        "contact_phone": "0192-27-3111", "priority_fields": [4, 14, 8], "issue_structure": "compound",
        "local_situation": "人口減少と大規模林野火災からの復興が課題である。", "seconded_national_staff": False,
        "requested_national_staff": False, "requested_private_expert": False,
        "received_at": jst(2025, 12, 20, 10), "channel": "form",
    }
    values.update(overrides)
    return values


def make_application(phase=None, municipality=None, actor=None, **overrides):
    from banso.services import applications

    if phase is None:  # the 第2期 of the test, made once
        from sqlalchemy import select

        phase = db.session.scalar(select(Phase).where(Phase.number == 2)) or make_phase()
    municipality = municipality or make_municipality()
    return applications.submit_application(phase, municipality, answer(**overrides), actor=actor)


def make_officer(phase=None, *, status=None, user=None, **overrides):
    """An officer (ministries loaded once), optionally with a candidacy in ``phase``."""
    from banso.models import Ministry, Officer, OfficerCandidacy
    from banso.services import officers

    if db.session.scalar(select_count(Ministry)) == 0:
        officers.ensure_ministries()
    n = next(_seq)
    ministry_name = overrides.pop("ministry", "国土交通省")
    ministry = db.session.scalar(select_ministry(ministry_name))
    values = {
        "name": f"試験 太郎{n}", "name_kana": "しけん たろう", "ministry_id": ministry.id, "bureau": "総合政策局",
        "division": "政策課", "post_title": "課長補佐", "grade_band": "課長補佐級", "job_type": "事務官", "sex": "男性",
        "birth_date": date(1985, 4, 1), "workplace_type": "本省", "officer_type": "officer", "email": f"officer{n}@example.go.jp",
        "phone": "03-5253-8111", "expertise_fields": [4], "user": user,
    }
    values.update(overrides)
    officer = Officer(**values)
    db.session.add(officer)
    db.session.flush()
    if phase is not None:
        eligible, reason = officers.eligibility(officer)
        db.session.add(OfficerCandidacy(officer=officer, phase=phase, status=status or "applied", eligible=eligible,
                                        ineligibility_reason=reason))
        db.session.flush()
    return officer


def select_count(model):
    from sqlalchemy import func, select

    return select(func.count()).select_from(model)


def select_ministry(name):
    from sqlalchemy import select

    from banso.models import Ministry

    return select(Ministry).where(Ministry.name == name)


MINISTRY_CYCLE = ["国土交通省", "経済産業省", "農林水産省", "総務省", "厚生労働省", "文部科学省", "財務省", "環境省", "防衛省", "法務省"]


def make_ready_officer(phase, ministry, **overrides):
    """A selected officer holding a 併任発令 for the phase (OFF-3), ready for a team."""
    from banso.models import ConcurrentAppointment

    officer = make_officer(phase, status="selected", ministry=ministry, **overrides)
    n = next(_seq)
    db.session.add(ConcurrentAppointment(officer=officer, phase=phase, post="内閣府地方創生推進室", order_number=f"試-{n}",
                                         order_date=phase.support_start, effective_from=phase.support_start,
                                         effective_to=phase.support_end, state="issued"))
    db.session.flush()
    db.session.expire(officer, ["appointments"])
    return officer


def make_eligible_application(phase=None, **overrides):
    from banso.services import applications

    application = make_application(phase, **overrides)
    applications.change_status(application, "confirm", actor=None)
    applications.change_status(application, "eligible", actor=None)
    return application


def make_team(phase=None, members=3, **overrides):
    from banso.services import teams

    application = make_eligible_application(phase, **overrides)
    officers = [make_ready_officer(application.phase, MINISTRY_CYCLE[i]) for i in range(members)]
    return teams.form_team(application, officers, actor=None)


def make_rates(year: int, cap: int = 10_000, allowance: int = 2_400, **by_prefecture: int) -> None:
    """A fiscal year's rate table: ``cap`` in every prefecture for both bands (指定職 +50%), or as given."""
    from banso.models.travel import RATE_BANDS
    from banso.reference import PREFECTURES
    from banso.services import travel

    lodging = {(band, p): str(by_prefecture.get(p, cap) * (3 if band == "指定職" else 2) // 2) for band in RATE_BANDS for p in PREFECTURES}
    travel.save_rates(year, lodging, {0: str(allowance), 1: str(allowance * 3 // 4), 2: str(allowance // 2)}, actor=None)


def trip_data(team, **overrides) -> dict:
    """A valid one-night site visit of the whole team, as the trip form gives it."""
    from datetime import date

    values = {"travellers": [str(m.officer.id) for m in team.current_members], "purpose": "site_visit",
              "destination_prefecture": team.municipality.prefecture, "destination": team.municipality.name,
              "depart_on": date(2026, 6, 10), "return_on": date(2026, 6, 11), "itinerary": "東京→盛岡→町役場",
              "rail_yen": 30_000, "ship_yen": 0, "air_yen": 0, "other_transport_yen": 0, "package_yen": 0,
              "room_rate_yen": 9_000, "meals": 0}
    values.update(overrides)
    return values


def make_trip(team=None, *, actor=None, **overrides):
    from banso.services import travel

    team = team or make_team()
    actor = actor or make_user("secretariat")
    return travel.file_request(team, trip_data(team, **overrides), actor=actor)


def make_publication(phase, status: str = "released", **overrides):
    """A phase's publication in a given state (released: the matching results are public)."""
    from banso.clock import now
    from banso.models import Publication

    values = {"phase_id": phase.id, "status": status, "released_at": now() if status == "released" else None}
    values.update(overrides)
    publication = Publication(**values)
    db.session.add(publication)
    db.session.flush()
    return publication


def inquiry_data(**overrides) -> dict:
    """What the public form sends for an inquiry (inquiries.receive's data)."""
    values = {"org_type": "municipality", "category": "application", "name": "佐藤 由美", "email": "sato@example.lg.jp",
              "organisation": "テスト町 企画課", "subject": "回答フォームの記入方法", "body": "課題分野の選び方を教えてください。"}
    return values | overrides


def mail(subject: str, body: str, *, sender="sato@example.lg.jp", in_reply_to: str | None = None, charset="iso-2022-jp",
         message_id: str | None = None) -> bytes:
    """A mail as an inquirer's mail program sends it (ISO-2022-JP unless told), threaded by ``in_reply_to`` if given."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = f"佐藤 由美 <{sender}>"
    message["To"] = "toiawase@banso.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{abs(hash((subject, body, sender)))}@example.lg.jp>"
    if in_reply_to:
        message["In-Reply-To"] = message["References"] = in_reply_to
    message.set_content(body, charset=charset)
    return message.as_bytes()
