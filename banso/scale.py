"""Scale data for benchmarks and restore drills: `flask banso generate-scale --scale N`.

N = 1 is ten years of the programme (10 phases of ~115 applications, ~300 officers, ~100 teams, each
team with weekly meetings, quarterly visits and their travel, plus inquiries, notifications and audit rows);
N = 10 is ten times each phase. Fictional people, real municipalities, reproducible: the same seed and
``as_of`` day give the same rows.

Rows go in with bulk Core inserts and explicit ids (the services would take hours at N = 10); the
shapes are the ones the services write, so every page reads them as it reads real records.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from banso.bulk import BulkWriter
from banso.clock import jst, today_jst
from banso.extensions import db, reset_sequences
from banso.models import (Activity, Application, AuditEntry, ConcurrentAppointment, HalfYearReport, Inquiry,
                          InquiryMessage, Ministry, Municipality, Notification, Officer, OfficerCandidacy, Phase,
                          Publication, ReceiptCounter, Role, Team, TeamMembership, User)
from banso.models.travel import TeamTravelPlan, TravelClaim, TravelClaimLine, TripEstimateLine, TripRequest, TripTraveller
from banso.demo_applications import DEPARTMENTS, SITUATIONS
from banso.demo_officers import BUREAUS, DIVISIONS, GIVEN_F, GIVEN_M, GRADE_WEIGHTS, MINISTRY_WEIGHTS, POSTS, SURNAMES
from banso.demo_teams import TOPICS, VISITS
from banso.demo_travel import ALLOWANCES, FARES, load_rates, rates_2025
from banso.reference import BLOCK_OF

PHASES = 10
FIRST_FISCAL_YEAR = 2017
PER_PHASE = {"applications": 115, "teams": 97, "officers": 300, "inquiries": 300}
INQUIRY_SUBJECTS = {
    "general": "制度の概要について", "application": "活用希望調査の回答方法について", "matching": "マッチング結果の通知時期について",
    "travel": "旅費の精算書類について", "activity": "現地訪問の日程調整について", "other": "説明会の資料について",
}


class EmptyDatabaseRequired(Exception):
    pass


class _Writer(BulkWriter):
    """The bulk writer, counting inquiry receipt numbers per calendar year as the inquiry service does."""

    def __init__(self) -> None:
        super().__init__()
        self.receipts: dict[int, int] = {}


def generate(scale: int, *, seed: int = 2026, phases: int = PHASES, form_teams: bool = True, as_of: date | None = None,
             echo: Callable[[str], None] = print) -> dict[str, int]:
    """Fill an empty, migrated database. Returns rows written per table."""
    from banso.services import municipalities, officers

    if db.session.scalar(select(func.count()).select_from(User)):
        raise EmptyDatabaseRequired("空のデータベース（マイグレーション済み）に生成してください。")
    started = time.monotonic()
    rng = random.Random(seed)
    as_of = as_of or today_jst()
    out = _Writer()

    def step(label: str) -> None:
        echo(f"[{time.monotonic() - started:6.1f}s] {label}")

    step("市町村マスタと府省等")
    municipalities.import_master()
    officers.ensure_ministries()
    load_rates()
    db.session.flush()
    muni = [(m.id, m.name, m.prefecture, m.region_block) for m in db.session.scalars(select(Municipality).order_by(Municipality.id))]
    ministries = {m.name: m for m in db.session.scalars(select(Ministry))}
    home_of = {m.id: (m.parent_id or m.id) for m in ministries.values()}

    step("利用者")
    staff, finance, pool = _people(out, rng, ministries, home_of, scale)
    secretariat = staff[1:]
    step(f"支援官 {len(pool):,} 名")
    fares = {block: fare for block, fare in FARES.items()}
    lodging = rates_2025()
    previous_team_of: dict[int, int] = {}
    first_phase = FIRST_FISCAL_YEAR + PHASES - phases
    for p in range(1, phases + 1):
        fy = first_phase + p - 1
        step(f"第{p}期（{fy}年度）")
        phase_id = _phase(out, p, fy, scale)
        support_start, support_end = date(fy, 4, 1), date(fy + 1, 3, 31)
        current = support_start <= as_of <= support_end
        until = min(as_of, support_end)
        _released(out, phase_id, fy, staff)

        n_teams = PER_PHASE["teams"] * scale if form_teams else 0
        apps = _applications(out, rng, phase_id, fy, scale, muni, n_teams, form_teams, previous_team_of, secretariat)
        selected = _candidacies(out, rng, phase_id, fy, scale, pool, current, as_of)
        if not form_teams:
            continue
        team_of = _teams(out, rng, phase_id, apps[:n_teams], selected, support_start, support_end, current, until,
                         previous_team_of, secretariat, fares, lodging, finance, fy)
        previous_team_of = team_of
        _inquiries(out, rng, phase_id, scale, fy, as_of, apps, secretariat)
        out.flush()

    step("採番と仕上げ")
    _finish(out, as_of)
    step(f"完了: {sum(out.counts.values()):,} 行")
    return out.counts


def _finish(out: _Writer, as_of: date) -> None:
    """The rows written, receipt numbers and sequences moved past them, closed phases' figures stored."""
    from banso.services import statistics

    out.flush()
    for year, last in out.receipts.items():  # the next receipt number of each year follows the generated ones
        db.session.add(ReceiptCounter(year=year, last=last))
    reset_sequences()
    statistics.store_closed(as_of)  # closed phases' figures, as the worker's timer stores them
    db.session.flush()


def _released(out: _Writer, phase_id: int, fy: int, staff: list[int]) -> None:
    """A past phase's publication: confirmed, notified and released in March as the secretariat does."""
    out.add(Publication, phase_id=phase_id, status="released", confirmed_at=jst(fy, 3, 13, 17), confirmed_by_id=staff[1],
            notified_at=jst(fy, 3, 17, 10), notified_by_id=staff[1], released_at=jst(fy, 3, 24, 10), released_by_id=staff[0],
            early_reason="", unlocked=False, share_before_release=False)


def _people(out: _Writer, rng: random.Random, ministries: dict, home_of: dict, scale: int) -> tuple[list, list, list]:
    """The secretariat, finance and the officers' pool (a third more than a phase needs: some rest each year)."""
    from banso.services import users

    password = users.hash_password("banso-demo")
    staff = [_user(out, password, "admin@banso.example", "羽白 真理子", Role.ADMIN)]
    staff += [_user(out, password, f"staff{'' if i == 0 else i + 1}@banso.example", name, Role.SECRETARIAT)
              for i, name in enumerate(["坂本 翔太", "東 美咲", "橋本 大輔", "西田 千尋", "三浦 亮"][:3 + min(scale, 2)])]
    finance = [_user(out, password, "finance@banso.example", "松岡 由紀", Role.FINANCE),
               _user(out, password, "finance2@banso.example", "岡田 直子", Role.FINANCE)]

    pool = []
    for n in range(PER_PHASE["officers"] * scale * 4 // 3):
        email = "officer@banso.example" if n == 0 else f"officer{n:05d}@example.go.jp"
        person = _officer(rng, ministries, n, email)
        user_id = _user(out, password, email, person["name"], Role.OFFICER)
        officer_id = out.add(Officer, user_id=user_id, created_at=jst(FIRST_FISCAL_YEAR - 1, 11, 1, 9), **person)
        pool.append((officer_id, home_of[person["ministry_id"]], person["grade_band"], person["name"], user_id))
    return staff, finance, pool


def _applications(out: _Writer, rng: random.Random, phase_id: int, fy: int, scale: int, muni: list, n_teams: int,
                  form_teams: bool, previous_team_of: dict[int, int], secretariat: list[int]) -> list[tuple]:
    # Applications: real municipalities, one each per phase (APP-5).
    chosen = rng.sample(muni, PER_PHASE["applications"] * scale)
    apps = []
    for i, (m_id, m_name, pref, block) in enumerate(chosen):
        fields = rng.sample(range(1, 26), rng.choice([1, 2, 3, 3]))
        status = "matched" if i < n_teams else ("eligible" if not form_teams else rng.choice(["unmatched", "ineligible"]))
        received = jst(fy - 1, 12, rng.randint(1, 24), rng.randint(9, 17), rng.randint(0, 59))
        app_id = out.add(
            Application, phase_id=phase_id, municipality_id=m_id, contact_department=rng.choice(DEPARTMENTS),
            contact_person=f"{rng.choice(SURNAMES)[0]} {rng.choice(GIVEN_M + GIVEN_F)[0]}",
            contact_email=f"sousei-{m_id}@example.lg.jp", contact_phone=f"0{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
            priority_field_1=fields[0], priority_field_2=fields[1] if len(fields) > 1 else None,
            priority_field_3=fields[2] if len(fields) > 2 else None,
            issue_structure=rng.choice(["independent", "compound"]), local_situation="".join(SITUATIONS[f] for f in fields),
            seconded_national_staff=False, requested_national_staff=rng.random() < 0.2, requested_private_expert=rng.random() < 0.3,
            received_at=received, channel=rng.choice(["form", "form", "email"]), is_continuing=m_id in previous_team_of,
            is_late=False, status=status, status_reason="人口要件を満たさない" if status == "ineligible" else None,
            created_at=received, updated_at=received)
        apps.append((app_id, m_id, m_name, pref, block, fields))
        _audit(out, "create", "Application", app_id, secretariat[i % len(secretariat)], received, f"{m_name}の申請を受付")
        _notify(out, f"scale:receipt:{app_id}", f"sousei-{m_id}@example.lg.jp", "application_receipt",
                "【地方創生伴走支援制度】活用希望調査の回答を受け付けました", "Application", app_id, received)
    return apps


def _candidacies(out: _Writer, rng: random.Random, phase_id: int, fy: int, scale: int, pool: list, current: bool,
                 as_of: date) -> list[tuple]:
    support_start, support_end = date(fy, 4, 1), date(fy + 1, 3, 31)
    # Officers: a quarter of the pool rests each year; the rest apply, nine in ten are selected.
    applicants = rng.sample(pool[1:], PER_PHASE["officers"] * scale * 11 // 10 - 1)
    applicants.insert(0, pool[0])  # the demo officer account serves every year, first team first
    selected = applicants[:PER_PHASE["officers"] * scale]
    for i, (officer_id, *_rest) in enumerate(applicants):
        out.add(OfficerCandidacy, officer_id=officer_id, phase_id=phase_id, status="selected" if i < len(selected) else "not_selected",
                eligible=True, applied_at=jst(fy - 1, 1, 20, 10))
    for i, (officer_id, *_rest) in enumerate(selected):
        ended = not current and support_end < as_of
        out.add(ConcurrentAppointment, officer_id=officer_id, phase_id=phase_id, post="内閣府地方創生推進事務局地方創生伴走支援官",
                order_number=f"{fy}-伴走-{i + 1:05d}", order_date=date(fy, 4, 1), effective_from=support_start,
                effective_to=support_end, state="ended" if ended else "issued", ended_on=support_end if ended else None)
    return selected


def _user(out: _Writer, password: str, email: str, name: str, role: str) -> int:
    return out.add(User, email=email, name=name, role=str(role), password_hash=password, active=True,
                   created_at=jst(FIRST_FISCAL_YEAR - 1, 10, 1, 9))


def _officer(rng: random.Random, ministries: dict, n: int, email: str) -> dict:
    sex = rng.choices(["男性", "女性"], weights=[74, 26])[0]
    surname, surname_kana = rng.choice(SURNAMES)
    given, given_kana = rng.choice(GIVEN_M if sex == "男性" else GIVEN_F)
    grade = rng.choices([g for g, _ in GRADE_WEIGHTS], weights=[w for _, w in GRADE_WEIGHTS])[0]
    ministry = rng.choices(list(MINISTRY_WEIGHTS), weights=list(MINISTRY_WEIGHTS.values()))[0]
    return {
        "name": f"{surname} {given}", "name_kana": f"{surname_kana} {given_kana}", "ministry_id": ministries[ministry].id,
        "bureau": rng.choice(BUREAUS), "division": rng.choice(DIVISIONS), "post_title": POSTS[grade], "grade_band": grade,
        "job_type": rng.choice(["事務官", "事務官", "技官"]), "workplace_type": "本省", "officer_type": "officer", "sex": sex,
        # The day of birth carries n, so two generated people never share name, ministry and birth date.
        "birth_date": date(1960 + n % 40, 1 + (n // 40) % 12, 1) + timedelta(days=(n // 480) % 28),
        "email": email, "phone": f"03-{rng.randint(3000, 6999)}-{rng.randint(1000, 9999)}",
        "expertise_fields": rng.sample(range(1, 26), rng.randint(1, 3)), "home_town": rng.choice(list(BLOCK_OF)),
        "region_ties": "", "preferences": "", "introduction": "", "availability": "", "effort_percent": rng.choice([10, 15, 20]),
        "notes": "",
    }


def _phase(out: _Writer, number: int, fy: int, scale: int) -> int:
    return out.add(
        Phase, number=number, name=f"第{number}期", fiscal_year=fy, population_reference_date=date(fy - 2, 1, 1),
        survey_opens_at=jst(fy - 1, 12, 1, 10), answer_deadline_at=jst(fy - 1, 12, 24, 17),
        recruitment_opens_at=jst(fy, 1, 13, 10), recruitment_closes_at=jst(fy, 2, 13, 17),
        matching_deadline_at=jst(fy, 3, 13, 17), publication_at=jst(fy, 3, 24, 10),
        support_start=date(fy, 4, 1), support_end=date(fy + 1, 3, 31),
        travel_budget_cap_yen=100_000_000 * scale, travel_standard_visit_yen=150_000)


def _teams(out, rng, phase_id, apps, selected, start, end, current, until, previous_team_of, secretariat, fares, lodging,
           finance, fy) -> dict[int, int]:
    """Teams of three from three ministries, with a year of meetings, visits, their trips and reports."""
    free = list(selected[1:])
    rng.shuffle(free)
    free.insert(0, selected[0])
    team_of: dict[int, int] = {}
    for i, (app_id, m_id, m_name, pref, block, fields) in enumerate(apps):
        members, homes = [], set()
        for candidate in list(free):
            if candidate[1] not in homes:
                members.append(candidate)
                homes.add(candidate[1])
                free.remove(candidate)
                if len(members) == 3:
                    break
        if len(members) < 2:
            break
        team_id = out.add(Team, phase_id=phase_id, municipality_id=m_id, application_id=app_id,
                          predecessor_id=previous_team_of.get(m_id), themes=fields, start_date=start, end_date=end,
                          status="active" if current else "ended", issues="", support_flow="", results="",
                          created_at=jst(start.year, 3, 13, 17))
        team_of[m_id] = team_id
        for officer_id, *_ in members:
            out.add(TeamMembership, team_id=team_id, officer_id=officer_id, phase_id=phase_id, joined_on=start)
        recorder = secretariat[i % len(secretariat)]
        _audit(out, "create", "Team", team_id, recorder, jst(start.year, 3, 13, 17), f"{m_name}チームを編成")
        names = "、".join(m[3] for m in members)
        day = start + timedelta(days=rng.randint(7, 20))
        while day <= until:
            out.add(Activity, team_id=team_id, kind="online_meeting", started_on=day, ended_on=day, participants=names,
                    place="オンライン", company_count=0, summary=rng.choice(TOPICS), follow_ups="", recorded_by_id=members[0][4],
                    created_at=jst(day.year, day.month, day.day, 18))
            day += timedelta(days=7)
        out.add(TeamTravelPlan, team_id=team_id, planned_site_visits=4, standard_visit_cost_yen=150_000, note="")
        day = start + timedelta(days=rng.randint(30, 60))
        while day + timedelta(days=1) <= until:
            out.add(Activity, team_id=team_id, kind="site_visit", started_on=day, ended_on=day + timedelta(days=1),
                    participants=names, place=m_name, company_count=0, summary=rng.choice(VISITS), follow_ups="",
                    recorded_by_id=members[0][4], created_at=jst(day.year, day.month, day.day, 18))
            _trip(out, rng, phase_id, team_id, members, m_name, pref, block, day, until, fares, lodging, finance)
            day += timedelta(days=rng.randint(80, 95))
        for period, due in ((1, start + timedelta(days=183)), (2, end)):
            if due <= until:
                out.add(HalfYearReport, team_id=team_id, period=period, issues="地域の課題の整理と優先順位付け",
                        support_given="定期的なオンライン会議と現地訪問により、課題の整理と国の支援制度の紹介を行った。",
                        results="取組の方向性を市町村と共有した。", outlook="具体的な事業化に向けた調整を進める。",
                        submitted_by_id=members[0][4], submitted_at=jst(due.year, due.month, due.day, 17))
    return team_of


def _trip(out, rng, phase_id, team_id, members, m_name, pref, block, day, until, fares, lodging, finance) -> None:
    travellers = members[:rng.choice([1, 2, 2, 3])]
    category, fare = fares[block]
    cap = lodging[pref]
    room = min(cap, rng.choice([8_000, 9_000, 10_000, 12_000]))
    age = (until - day).days
    status = "settled" if age > 30 else rng.choice(["submitted", "approved", "claim_submitted", "settled"])
    filed = jst(day.year, day.month, day.day, 10) - timedelta(days=21)
    reviewed = filed + timedelta(days=2) if status != "submitted" else None
    trip_id = out.add(
        TripRequest, phase_id=phase_id, team_id=team_id, filed_by_id=members[0][4], purpose="site_visit",
        destination_prefecture=pref, destination=m_name, depart_on=day, return_on=day + timedelta(days=1),
        itinerary=f"東京→{m_name}（1泊）", room_rate_yen=room, meals=0, status=status, cost_bearer="national",
        over_plan=False, bearer_reason="", review_round=1, review_comment="", reviewed_by_id=finance[0] if reviewed else None,
        reviewed_at=reviewed, approved_at=reviewed, created_at=filed)
    lines = []
    for officer_id, _home, grade, _name, _user_id in travellers:
        out.add(TripTraveller, trip_id=trip_id, officer_id=officer_id, band="指定職" if grade == "指定職" else "課長級以下")
        for cat, amount in ((category, fare), ("lodging", room), ("night_allowance", ALLOWANCES[0])):
            out.add(TripEstimateLine, trip_id=trip_id, officer_id=officer_id, category=cat, amount_yen=amount, detail="")
            lines.append((officer_id, cat, amount))
    if status in ("claim_submitted", "settled"):
        settled = status == "settled"
        claimed_at = jst(day.year, day.month, day.day, 17) + timedelta(days=5)
        claim_id = out.add(TravelClaim, trip_id=trip_id, filed_by_id=members[0][4], filed_at=claimed_at, review_comment="",
                           reviewed_by_id=finance[1] if settled else None,
                           settled_at=claimed_at + timedelta(days=7) if settled else None)
        for officer_id, cat, amount in lines:
            claimed = amount + (rng.choice([0, 0, 0, 340, -220]) if cat != "lodging" else 0)
            out.add(TravelClaimLine, claim_id=claim_id, officer_id=officer_id, category=cat, estimate_yen=amount,
                    claimed_yen=max(claimed, 0), approved_yen=max(claimed, 0) if settled else None,
                    cap_yen=cap if cat == "lodging" else None, exception_reason="", reduction_reason="")
        if settled:
            _audit(out, "settle", "TripRequest", trip_id, finance[1], claimed_at + timedelta(days=7), "旅費を精算")
    if reviewed:
        _audit(out, "approve", "TripRequest", trip_id, finance[0], reviewed, "出張を承認")
        _notify(out, f"scale:trip-approved:{trip_id}", f"officer-trip-{trip_id}@example.go.jp", "trip_decided",
                "【地方創生伴走支援制度】出張の申請が承認されました", "TripRequest", trip_id, reviewed)


def _inquiries(out, rng, phase_id, scale, fy, as_of, apps, secretariat) -> None:
    for _ in range(PER_PHASE["inquiries"] * scale):
        received = jst(fy, 4, 1, 9) + timedelta(days=rng.randint(0, 364), minutes=rng.randint(0, 480))
        if received.date() > as_of:
            continue
        recent = (as_of - received.date()).days < 14
        status = rng.choice(["new", "in_progress", "waiting", "answered"]) if recent else "closed"
        app_id, m_id, m_name, pref, _block, _fields = rng.choice(apps)
        category = rng.choice(list(INQUIRY_SUBJECTS))
        answered = None if status in ("new", "in_progress") else received + timedelta(hours=rng.randint(2, 60))
        assignee = secretariat[rng.randrange(len(secretariat))] if status != "new" else None
        year = received.year
        out.receipts[year] = out.receipts.get(year, 0) + 1
        inquiry_id = out.add(
            Inquiry, receipt_number=f"問-{year}-{out.receipts[year]:04d}", phase_id=phase_id, channel=rng.choice(["form", "email", "phone"]), org_type="municipality",
            municipality_id=m_id, prefecture=pref, organisation=m_name, name=f"{rng.choice(SURNAMES)[0]} {rng.choice(GIVEN_F)[0]}",
            email=f"sousei-{m_id}@example.lg.jp", phone="", category=category, subject=INQUIRY_SUBJECTS[category],
            status=status, assignee_id=assignee, application_id=app_id, received_at=received,
            due_at=received + timedelta(days=3), first_response_at=answered,
            closed_at=answered + timedelta(days=3) if status == "closed" else None,
            last_message_at=answered or received, waiting_since=answered if status == "waiting" else None)
        out.add(InquiryMessage, inquiry_id=inquiry_id, kind="incoming", body=f"{INQUIRY_SUBJECTS[category]}、ご教示ください。",
                from_email=f"sousei-{m_id}@example.lg.jp", at=received)
        if answered:
            notification = _notify(out, f"scale:inquiry-reply:{inquiry_id}", f"sousei-{m_id}@example.lg.jp", "inquiry_reply",
                                   f"Re: {INQUIRY_SUBJECTS[category]}", "Inquiry", inquiry_id, answered)
            out.add(InquiryMessage, inquiry_id=inquiry_id, kind="reply", body="お問い合わせいただいた件について、次のとおり回答します。",
                    author_id=assignee, from_email="", notification_id=notification, at=answered)
            _audit(out, "reply", "Inquiry", inquiry_id, assignee, answered, "回答を送信")


def _audit(out: _Writer, action: str, object_type: str, object_id: int, actor_id: int | None, at: datetime, summary: str) -> None:
    out.add(AuditEntry, at=at, actor_id=actor_id, action=action, object_type=object_type, object_id=object_id, summary=summary)


def _notify(out: _Writer, key: str, email: str, kind: str, subject: str, object_type: str, object_id: int, at: datetime) -> int:
    return out.add(Notification, idempotency_key=key, recipient_email=email, recipient_name="", kind=kind, subject=subject,
                   body=subject, object_type=object_type, object_id=object_id, status="sent", attempts=1,
                   created_at=at, sent_at=at + timedelta(seconds=2))
