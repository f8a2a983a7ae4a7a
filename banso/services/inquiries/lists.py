"""Inquiries (INQ-1) listed and reported: who sees what, the inbox and the mail taken in, the SLA report and the
monthly workbook."""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from banso.clock import JST, now
from banso.extensions import db
from banso.formatting import parse_id, wareki
from banso.models import Role, User
from banso.models.inquiry import (CATEGORIES, CHANNELS, MAIL_OUTCOMES, OPEN_STATUSES, ORG_TYPES, InboundMail,
                                  Inquiry, InquiryAttachment, InquiryMessage, InquiryStatus)
from banso.policies import inquiries as policy
from banso.services import (audit)

from banso.services.inquiries.receiving import shown_to_inquirer


# --- who sees what, and the lists ------------------------------------------------------------

def can_view(inquiry: Inquiry, user: User) -> bool:
    return db.session.scalar(select(Inquiry.id).where(Inquiry.id == inquiry.id, policy.visible_condition(user))) is not None


def visible_attachment(attachment_id: int, user: User) -> InquiryAttachment | None:
    """A kept file, to someone who may see its message: staff who see the inquiry, or the officer who sent it (not
    notes, nor mail nobody has confirmed)."""
    attachment = db.session.get(InquiryAttachment, attachment_id)
    if attachment is None or not attachment.kept or not can_view(attachment.message.inquiry, user):
        return None
    if not policy.may_handle(attachment.message.inquiry, user) and not shown_to_inquirer(attachment.message):
        return None
    return attachment


def inbound_query(*, q=None, outcome=None):
    stmt = select(InboundMail).options(joinedload(InboundMail.inquiry))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(InboundMail.from_email.like(like), InboundMail.subject.like(like)))
    if outcome in MAIL_OUTCOMES:
        stmt = stmt.where(InboundMail.outcome == outcome)
    return stmt


def original_mail(mail_id: int, *, actor: User) -> InboundMail | None:
    """A mail's original (.eml) for staff, audited: it may hold what no thread shows (a refused file, a bounce)."""
    found = db.session.get(InboundMail, mail_id)
    if found is None or found.raw_sha256 is None:
        return None
    audit.record("download_mail", found, actor=actor, summary=f"受信メールの原本を取得（{found.from_email}・{found.subject}）")
    return found


def list_query(user: User, *, q=None, status=None, category=None, org_type=None, assignee=None, overdue=None, phase_id=None,
               channel=None):
    stmt = (select(Inquiry).options(joinedload(Inquiry.assignee), joinedload(Inquiry.municipality))
            .where(policy.visible_condition(user), Inquiry.merged_into_id.is_(None)))
    if q:
        like = f"%{q.strip()}%"
        in_body = select(InquiryMessage.id).where(InquiryMessage.inquiry_id == Inquiry.id, InquiryMessage.kind != "note",
                                                  InquiryMessage.body.like(like)).exists()
        stmt = stmt.where(or_(Inquiry.subject.like(like), Inquiry.receipt_number.like(like), Inquiry.name.like(like),
                              Inquiry.organisation.like(like), in_body))
    if status in {s.value for s in InquiryStatus}:
        stmt = stmt.where(Inquiry.status == status)
    if category in CATEGORIES:
        stmt = stmt.where(Inquiry.category == category)
    if org_type in ORG_TYPES:
        stmt = stmt.where(Inquiry.org_type == org_type)
    if channel in CHANNELS:
        stmt = stmt.where(Inquiry.channel == channel)
    if assignee == "none":
        stmt = stmt.where(Inquiry.assignee_id.is_(None))
    elif parse_id(assignee):
        stmt = stmt.where(Inquiry.assignee_id == int(assignee))
    if overdue == "1":
        stmt = stmt.where(Inquiry.status.in_(OPEN_STATUSES), Inquiry.due_at < now())
    if parse_id(phase_id):
        stmt = stmt.where(Inquiry.phase_id == int(phase_id))
    return stmt


def status_counts(user: User, *, open_only: bool = False) -> dict[str, int]:
    """Inquiries by status, and how many open ones are past their due time: one grouped statement, answered from the
    index of unmerged inquiries by status and due time (ix_inquiries_unmerged_status_due) without reading the table.
    ``open_only``: the open statuses alone (the home pages), a few rows of the index instead of every closed one.
    One grouped statement over the index of unmerged inquiries."""
    at = now()
    stmt = (select(Inquiry.status, func.count(), func.count().filter(Inquiry.due_at < at))
            .where(policy.visible_condition(user), Inquiry.merged_into_id.is_(None)).group_by(Inquiry.status))
    if open_only:
        stmt = stmt.where(Inquiry.status.in_(OPEN_STATUSES))
    rows = db.session.execute(stmt).all()
    counts = {s.value: 0 for s in InquiryStatus} | {status: n for status, n, _ in rows}
    counts["overdue"] = sum(late for status, _, late in rows if status in OPEN_STATUSES)
    return counts


def handlers() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.role.in_((Role.ADMIN, Role.SECRETARIAT, Role.FINANCE)))
                                   .order_by(User.role, User.name)))


@dataclass
class Report:
    weeks: list[tuple[str, int]]
    categories: list[tuple[str, int]]
    median_first_response_hours: float | None
    overdue: int
    total: int
    sla_rows: list[tuple[str, list[str]]]  # week label → met % per category (and all), "—" where none was due
    handlers: list[tuple[str, int, float | None, float | None, str]]  # name, count, medians, met %
    median_resolution_hours: float | None


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 3600


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def sla_met(received_at, due_at, first_response_at, at: datetime) -> bool | None:
    """Answered by its due time: True/False, None while it is not yet due and unanswered."""
    if first_response_at is not None:
        return first_response_at <= due_at
    return False if due_at < at else None


def _percent(flags) -> str:
    flags = [f for f in flags if f is not None]
    return f"{100 * sum(flags) / len(flags):.0f}%" if flags else "—"


def report(user: User, weeks: int = 12) -> Report:
    """The last 12 weeks: receipts per week and category, the share answered by the due time (SLA) per week and
    category, the medians of first response and of resolution, and the same per handler."""
    return _report(user, weeks)


def _report(user: User, weeks: int) -> Report:
    today = now().astimezone(JST).date()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday - timedelta(weeks=weeks - 1), time(0), JST)
    rows = _report_rows(user, start, None)
    at = now()
    per_week = {monday - timedelta(weeks=i): [] for i in range(weeks)}
    for row in rows:
        day = row.received_at.astimezone(JST).date()
        per_week.setdefault(day - timedelta(days=day.weekday()), []).append(row)
    per_category = {key: 0 for key in CATEGORIES}
    for row in rows:
        per_category[row.category] += 1
    sla_rows = []
    for week in sorted(per_week):
        found = per_week[week]
        flags = [(r.category, sla_met(r.received_at, r.due_at, r.first_response_at, at)) for r in found]
        sla_rows.append((f"{week.month}/{week.day}週", [_percent(f for c, f in flags if c == key) for key in CATEGORIES]
                         + [_percent(f for _, f in flags)]))
    counts = status_counts(user)
    return Report(weeks=[(f"{w.month}/{w.day}週", len(per_week[w])) for w in sorted(per_week)],
                  categories=[(CATEGORIES[k], v) for k, v in per_category.items()],
                  median_first_response_hours=_median(_hours(r.received_at, r.first_response_at) for r in rows),
                  median_resolution_hours=_median(_hours(r.received_at, r.closed_at) for r in rows),
                  overdue=counts["overdue"], total=len(rows), sla_rows=sla_rows, handlers=_by_handler(rows, at))


def _report_rows(user: User, start: datetime, end: datetime | None):
    stmt = (select(Inquiry.received_at, Inquiry.due_at, Inquiry.first_response_at, Inquiry.closed_at, Inquiry.category,
                   User.name.label("handler"))
            .outerjoin(User, Inquiry.assignee_id == User.id)
            .where(policy.visible_condition(user), Inquiry.merged_into_id.is_(None), Inquiry.received_at >= start))
    if end is not None:
        stmt = stmt.where(Inquiry.received_at < end)
    return db.session.execute(stmt).all()


def _by_handler(rows, at: datetime) -> list[tuple[str, int, float | None, float | None, str]]:
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row.handler or "未割当", []).append(row)
    return [(name, len(found), _median(_hours(r.received_at, r.first_response_at) for r in found),
             _median(_hours(r.received_at, r.closed_at) for r in found),
             _percent(sla_met(r.received_at, r.due_at, r.first_response_at, at) for r in found))
            for name, found in sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0]))]


def parse_month(value: str | None) -> date | None:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", (value or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def report_months(count: int = 12) -> list[date]:
    first = now().astimezone(JST).date().replace(day=1)
    months = []
    for _ in range(count):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return months


@dataclass
class MonthlyReport:
    month: date
    figures: list[tuple[str, object]]
    categories: list[tuple[str, int, float | None, float | None, str]]
    handlers: list[tuple[str, int, float | None, float | None, str]]
    inquiries: list[Inquiry]

    def sheets(self, inquiry_columns) -> list:
        breakdown = [("区分", lambda r: r[0]), ("件数", lambda r: r[1]), ("初回回答まで（中央値・時間）", lambda r: r[2]),
                     ("完了まで（中央値・時間）", lambda r: r[3]), ("期限内の回答率", lambda r: r[4])]
        return [("概要", [("項目", lambda r: r[0]), ("値", lambda r: r[1])], self.figures),
                ("分類別", breakdown, self.categories), ("担当者別", breakdown, self.handlers),
                ("一覧", inquiry_columns, self.inquiries)]


def monthly_report(user: User, month: date) -> MonthlyReport:
    """One month's inquiries (by receipt date, JST) for the monthly report (Excel)."""
    start = datetime.combine(month, time(0), JST)
    end = datetime.combine((month + timedelta(days=32)).replace(day=1), time(0), JST)
    rows = _report_rows(user, start, end)
    at = now()
    categories = []
    for key, label in CATEGORIES.items():
        found = [r for r in rows if r.category == key]
        categories.append((label, len(found), _median(_hours(r.received_at, r.first_response_at) for r in found),
                           _median(_hours(r.received_at, r.closed_at) for r in found),
                           _percent(sla_met(r.received_at, r.due_at, r.first_response_at, at) for r in found)))
    listed = list(db.session.scalars(select(Inquiry).options(joinedload(Inquiry.assignee))
                                     .where(policy.visible_condition(user), Inquiry.merged_into_id.is_(None),
                                            Inquiry.received_at >= start, Inquiry.received_at < end)
                                     .order_by(Inquiry.received_at)))
    figures = [("対象月", f"{wareki(month).removesuffix('1日')}（{month:%Y-%m}）"),
               ("受付件数", len(rows)),
               ("期限内の回答率", _percent(sla_met(r.received_at, r.due_at, r.first_response_at, at) for r in rows)),
               ("初回回答まで（中央値・時間）", _median(_hours(r.received_at, r.first_response_at) for r in rows)),
               ("完了まで（中央値・時間）", _median(_hours(r.received_at, r.closed_at) for r in rows)),
               ("未完了", sum(1 for i in listed if i.status != InquiryStatus.CLOSED))]
    return MonthlyReport(month, figures, categories, _by_handler(rows, at), listed)
