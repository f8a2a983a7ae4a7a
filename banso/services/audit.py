"""The audit trail: every service change is recorded here, in the same transaction."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from banso.extensions import db
from banso.models import AuditEntry, User


def snapshot(obj, fields: list[str]) -> dict[str, Any]:
    """The listed attributes of ``obj`` as JSON-safe values, for before/after."""
    return {name: _json_safe(getattr(obj, name)) for name in fields}


def record(
    action: str,
    obj,
    *,
    actor: User | None,
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
    object_type: str | None = None,
) -> AuditEntry:
    """One audit row in the caller's transaction. ``obj`` None (with ``object_type``) for what is no record, e.g. an
    export of a list."""
    if obj is not None and getattr(obj, "id", 0) is None:
        db.session.flush()  # the object needs its id
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type or type(obj).__name__,
        object_id=getattr(obj, "id", None),
        summary=summary[:500],  # the column's length: a summary quoting a typed path or value is cut, never refused
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry


def _json_safe(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def list_query(*, actor_id: int | None = None, actor_q: str | None = None, object_type: str | None = None,
               date_from=None, date_to=None, q: str | None = None):
    """The audit trail, filtered; dates are JST calendar days, both ends included."""
    from datetime import time, timedelta

    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from banso.clock import JST

    stmt = select(AuditEntry).options(joinedload(AuditEntry.actor))
    if actor_id:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if actor_q and actor_q.strip():
        from sqlalchemy import or_

        from banso.models import User

        like = f"%{actor_q.strip()}%"
        stmt = stmt.where(AuditEntry.actor_id.in_(select(User.id).where(or_(User.name.like(like), User.email.like(like)))))
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if date_from:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(date_from, time(0), JST))
    if date_to:
        stmt = stmt.where(AuditEntry.at < datetime.combine(date_to + timedelta(days=1), time(0), JST))
    if q:
        stmt = stmt.where(AuditEntry.summary.contains(q))
    return stmt


def object_types() -> list[str]:
    """What an audit row may be about: every kind of record, and exports of lists (no scan of the log)."""
    return sorted({mapper.class_.__name__ for mapper in db.Model.registry.mappers} | {"Export"})


def history_of(obj) -> list[AuditEntry]:
    """The audit entries of one object, oldest first (for its history panel)."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        select(AuditEntry).options(joinedload(AuditEntry.actor))
        .where(AuditEntry.object_type == type(obj).__name__, AuditEntry.object_id == obj.id)
        .order_by(AuditEntry.at, AuditEntry.id)))
