"""What each document says, from its record: the 辞令 (人事異動通知書, 人事院規則8-12's items: 氏名, 現官職, 異動内容,
日付, 任命権者) for an officer's 併任, and the letters to a municipality — 支援決定通知, 不成立通知, 支援官交代通知.
Each kind names the records it is made for in a phase (``candidates``) and turns one into a ``Content``: the same
content fills the Word template and the PDF."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from banso.extensions import db
from banso.formatting import wareki
from banso.models import (Application, ApplicationStatus, AppointmentState, ConcurrentAppointment, MemberReplacement, Officer,
                          Phase, Team, TeamMembership)
from banso.reference import field_label


@dataclass
class Content:
    """A document's parts, in the order a 公文書 sets them out."""
    title: str
    to: str                         # 宛先
    recipient: str                  # for the register
    lines: list[str]                # the body, a paragraph a line
    rows: list[tuple[str, str]] = field(default_factory=list)  # the table (記 / the 辞令's items)
    sender: str = ""                # 発信者

    def text(self) -> str:
        """Everything it says, as plain text (kept for search and to check the PDF against the record)."""
        return "\n".join([self.title, self.to, *self.lines, *(f"{k} {v}" for k, v in self.rows), self.sender])


def _sender() -> str:
    return current_app.config["DOCUMENT_SENDER"]


def _head_of(municipality) -> str:
    """The municipality's head, as a letter is addressed: 函館市長 様."""
    office = {"市": "市長", "町": "町長", "村": "村長", "区": "区長"}.get(municipality.name[-1:], "首長")
    return f"{municipality.full_name[:-1] if office != '首長' else municipality.full_name}{office} 様"


# --- 辞令 ----------------------------------------------------------------------------------------------------------

def appointment_candidates(phase: Phase) -> list[int]:
    return list(db.session.scalars(select(ConcurrentAppointment.id).where(
        ConcurrentAppointment.phase_id == phase.id, ConcurrentAppointment.state != AppointmentState.PLANNED)
        .order_by(ConcurrentAppointment.order_number)))


def appointment(ids: list[int]) -> dict[int, ConcurrentAppointment]:
    rows = db.session.scalars(select(ConcurrentAppointment).where(ConcurrentAppointment.id.in_(ids))
                              .options(joinedload(ConcurrentAppointment.officer).joinedload(Officer.ministry)))
    return {a.id: a for a in rows}


def appointment_content(a: ConcurrentAppointment, issued_on: date) -> Content:
    o = a.officer
    post = " ".join(p for p in (o.ministry.name, f"{o.bureau or ''}{o.division or ''}", o.post_title or "") if p)
    return Content(
        title="人事異動通知書", to=f"{o.name} 殿", recipient=o.name,
        lines=[f"辞令番号 {a.order_number}"],
        rows=[("氏名", o.name), ("現官職", post),
              ("異動内容", f"{a.post}に併任する（{wareki(a.effective_from)}から{wareki(a.effective_to)}まで）"),
              ("日付", wareki(a.order_date)), ("任命権者", current_app.config["APPOINTING_AUTHORITY"])],
        sender=current_app.config["APPOINTING_AUTHORITY"])


# --- letters to a municipality ---------------------------------------------------------------------------------------

def _applications(ids: list[int]) -> dict[int, Application]:
    rows = db.session.scalars(select(Application).where(Application.id.in_(ids)).options(joinedload(Application.municipality)))
    return {a.id: a for a in rows}


def decision_candidates(phase: Phase) -> list[int]:
    return list(db.session.scalars(
        select(Application.id).join(Team, (Team.municipality_id == Application.municipality_id) & (Team.phase_id == phase.id))
        .where(Application.phase_id == phase.id, Application.status == ApplicationStatus.MATCHED).order_by(Application.id)))


def decision_content(application: Application, issued_on: date) -> Content:
    team = db.session.scalar(select(Team).where(Team.phase_id == application.phase_id,
                                                Team.municipality_id == application.municipality_id)
                             .options(selectinload(Team.memberships).joinedload(TeamMembership.officer)))
    members = [m.officer for m in team.current_members] if team else []
    return Content(
        title="地方創生伴走支援制度による支援の決定について（通知）", to=_head_of(application.municipality),
        recipient=application.municipality.full_name,
        lines=[f"{wareki(application.received_at)}付けで回答のありました標記制度の活用について、下記のとおり支援を行うことと"
               "しましたので通知します。", "支援チームの支援官が改めてご連絡いたします。"],
        rows=[("支援期間", f"{wareki(team.start_date)}から{wareki(team.end_date)}まで" if team else ""),
              ("支援テーマ", "、".join(field_label(f) for f in (team.themes if team else []))),
              *[(f"支援官{i}", f"{o.name}（{o.home_ministry.name}）") for i, o in enumerate(members, start=1)]],
        sender=_sender())


def not_matched_candidates(phase: Phase) -> list[int]:
    return list(db.session.scalars(select(Application.id).where(
        Application.phase_id == phase.id, Application.status == ApplicationStatus.UNMATCHED).order_by(Application.id)))


def not_matched_content(application: Application, issued_on: date) -> Content:
    return Content(
        title="地方創生伴走支援制度の活用について（通知）", to=_head_of(application.municipality),
        recipient=application.municipality.full_name,
        lines=[f"{wareki(application.received_at)}付けで回答のありました標記制度の活用について、{application.phase.name}では"
               "支援チームの編成に至りませんでしたので通知します。",
               "次期の活用希望調査にも回答いただけます。ご不明な点は事務局までお問い合わせください。"],
        rows=[("理由", application.status_reason or "支援官との組合せが整わなかったため")], sender=_sender())


# --- a member's replacement ------------------------------------------------------------------------------------------

def replacement_candidates(phase: Phase) -> list[int]:
    return list(db.session.scalars(select(MemberReplacement.id).join(Team, Team.id == MemberReplacement.team_id)
                                   .where(Team.phase_id == phase.id).order_by(MemberReplacement.effective_on, MemberReplacement.id)))


def replacement(ids: list[int]) -> dict[int, MemberReplacement]:
    rows = db.session.scalars(select(MemberReplacement).where(MemberReplacement.id.in_(ids))
                              .options(joinedload(MemberReplacement.team).joinedload(Team.municipality)))
    return {r.id: r for r in rows}


def replacement_content(change: MemberReplacement, issued_on: date) -> Content:
    team = change.team
    return Content(
        title="地方創生伴走支援チームの支援官の交代について（通知）", to=_head_of(team.municipality),
        recipient=team.municipality.full_name,
        lines=[f"貴団体の伴走支援チームの支援官を、{wareki(change.effective_on)}付けで下記のとおり交代しますので通知します。",
               "新たに加わる支援官が改めてご連絡いたします。"],
        rows=[("交代日", wareki(change.effective_on)),
              ("退任する支援官", f"{change.leaving_officer.name}（{change.leaving_officer.home_ministry.name}）"),
              ("就任する支援官", f"{change.joining_officer.name}（{change.joining_officer.home_ministry.name}）")],
        sender=_sender())


@dataclass(frozen=True)
class Kind:
    candidates: object   # phase -> the ids of the records it is made for
    load: object         # ids -> {id: record}
    content: object      # (record, issued_on) -> Content
    phase_of: object     # record -> phase id


KINDS = {
    "appointment": Kind(appointment_candidates, appointment, appointment_content, lambda a: a.phase_id),
    "decision": Kind(decision_candidates, _applications, decision_content, lambda a: a.phase_id),
    "not_matched": Kind(not_matched_candidates, _applications, not_matched_content, lambda a: a.phase_id),
    "replacement": Kind(replacement_candidates, replacement, replacement_content, lambda r: r.team.phase_id),
}
