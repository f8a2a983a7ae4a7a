"""The public results page (PUB-3) as a snapshot: what it shows — the supported municipalities by prefecture with their
teams' members, and the headline figures — is written once, at release, and again only after something it shows has
changed. The database marks that: triggers (migration 20261207_b7d2e4f1a358) delete a phase's snapshot when its teams,
members, the officers' names or ministries, the municipalities' names, its candidacies, applications or its release
change, whoever writes. The next view writes it anew; every other view reads one row and answers with its ETag."""
from __future__ import annotations

import hashlib
import json
from dataclasses import fields

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from banso.clock import now
from banso.extensions import db
from banso.models import Ministry, Municipality, Officer, Phase, PublishedResults, Team, TeamMembership
from banso.reference import PREFECTURES
from banso.services import statistics


def members_text(team: Team, separator: str = "、") -> str:
    """The team's current officers with their home ministries, as published (PUB-3)."""
    return separator.join(f"{m.officer.name}（{m.officer.home_ministry.name}）" for m in team.current_members)


def results(phase: Phase) -> dict[str, list[Team]]:
    """Supported municipalities by prefecture (JIS order) with their teams' current members."""
    teams = db.session.scalars(
        select(Team).join(Municipality, Municipality.id == Team.municipality_id)
        .options(joinedload(Team.municipality), selectinload(Team.memberships).joinedload(TeamMembership.officer)
                 .joinedload(Officer.ministry).joinedload(Ministry.parent))
        .where(Team.phase_id == phase.id).order_by(Municipality.code)).unique()
    grouped: dict[str, list[Team]] = {}
    for team in teams:
        grouped.setdefault(team.municipality.prefecture, []).append(team)
    return {p: grouped[p] for p in PREFECTURES if p in grouped}


def rows(phase: Phase) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(prefecture, [(municipality, members as published)])] in JIS order, computed from the records."""
    return [(prefecture, [(team.municipality.name, members_text(team)) for team in teams])
            for prefecture, teams in results(phase).items()]


def compute(phase: Phase) -> dict:
    figures = statistics.headline(phase)
    headline = {f.name: getattr(figures, f.name) for f in fields(figures) if f.name != "phase"}
    return {"grouped": [[prefecture, [list(town) for town in towns]] for prefecture, towns in rows(phase)],
            "headline": headline}


def snapshot(phase: Phase) -> tuple[dict, str]:
    """(content, ETag) of the phase's released results: the stored snapshot, written first if a change removed it."""
    stored = db.session.execute(select(PublishedResults.content, PublishedResults.etag)
                                .where(PublishedResults.phase_id == phase.id)).one_or_none()
    if stored is not None:
        return stored.content, stored.etag
    return write(phase)


def write(phase: Phase) -> tuple[dict, str]:
    """Compute and store the snapshot (at release, and on the first view after a change). Two first views at once
    store it once: the second keeps the first's row."""
    content = compute(phase)
    etag = hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]
    table = PublishedResults.__table__
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).values(phase_id=phase.id, content=content, etag=etag, written_at=now())
                       .on_conflict_do_update(index_elements=["phase_id"],
                                              set_={"content": content, "etag": etag, "written_at": now()}))
    return content, etag
