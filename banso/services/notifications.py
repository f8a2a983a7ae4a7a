"""The notification outbox.

A service that wants to tell someone something calls ``notify`` inside its own
transaction. After the commit the new rows are enqueued on RQ; if Redis is down
the commit still stands and the sweep enqueues them later. Delivery claims a row
with a conditional UPDATE, so however often a row is enqueued it is sent once.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import redis
from flask import current_app
from rq import Retry
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from banso import queue
from banso.clock import now
from banso.extensions import db
from banso.models import Notification, NotificationStatus, User
from banso.policies import admin as policy
from banso.services import WrongState, audit

log = logging.getLogger(__name__)
_OUTBOX = "banso_outbox"
STUCK_AFTER = timedelta(minutes=10)
DELIVER, DELIVER_MANY = queue.Job.DELIVER, queue.Job.DELIVER_MANY
BATCH = 50


def notify(
    *,
    key: str,
    recipient_email: str,
    kind: str,
    subject: str,
    body: str,
    recipient_name: str = "",
    recipient_user: User | None = None,
    obj=None,
    hold_until=None,
    release_phase_id: int | None = None,
) -> Notification:
    """Write a notification in the caller's transaction. ``key`` makes it idempotent."""
    existing = db.session.scalar(select(Notification).where(Notification.idempotency_key == key))
    if existing is not None:
        return existing
    notification = Notification(
        idempotency_key=key,
        recipient_email=recipient_email,
        recipient_name=recipient_name,
        recipient_user_id=recipient_user.id if recipient_user is not None else None,
        kind=kind,
        subject=subject,
        body=body,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        hold_until=hold_until,
        release_phase_id=release_phase_id,
    )
    db.session.add(notification)
    db.session.flush()
    remember(notification.id)
    return notification


def notify_many(notices: list[dict]) -> list[Notification]:
    """Many notices at once (a spreadsheet's answers), each as ``notify`` takes it: the existing keys read in one
    statement per 500, the new rows inserted together."""
    existing = set(find_many([n["key"] for n in notices]))
    created = []
    for notice in notices:
        if notice["key"] in existing:
            continue
        existing.add(notice["key"])
        obj, user = notice.get("obj"), notice.get("recipient_user")
        created.append(Notification(
            idempotency_key=notice["key"], recipient_email=notice["recipient_email"], recipient_name=notice.get("recipient_name", ""),
            recipient_user_id=user.id if user is not None else None, kind=notice["kind"], subject=notice["subject"],
            body=notice["body"], object_type=type(obj).__name__ if obj is not None else None, object_id=getattr(obj, "id", None),
            hold_until=notice.get("hold_until"), release_phase_id=notice.get("release_phase_id")))
    db.session.add_all(created)
    db.session.flush()
    for notification in created:
        remember(notification.id)
    return created


def find_many(keys: list[str]) -> dict[str, Notification]:
    """The notifications written under any of ``keys``, by key: a statement per 500 keys."""
    found = {}
    for start in range(0, len(keys), 500):
        found |= {n.idempotency_key: n for n in db.session.scalars(
            select(Notification).where(Notification.idempotency_key.in_(keys[start:start + 500])))}
    return found


def remember(notification_id: int) -> None:
    """Enqueue this notification after the current transaction commits."""
    db.session.info.setdefault(_OUTBOX, set()).add(notification_id)


def enqueue_after_commit(session: Session) -> None:
    """Session ``after_commit`` (installed by banso/hooks.py): the notifications remembered are queued."""
    if session.in_nested_transaction():  # a SAVEPOINT released: the real commit is still to come
        return
    ids = session.info.pop(_OUTBOX, None)
    if ids:
        enqueue(sorted(ids))


def forget_on_rollback(session: Session, previous_transaction) -> None:
    """Session ``after_soft_rollback`` (installed by banso/hooks.py): a rolled-back transaction queues nothing."""
    if previous_transaction.parent is None:
        session.info.pop(_OUTBOX, None)


def enqueue(ids: list[int]) -> int:
    """Put deliveries on the queue, a run of up to BATCH per job (one SMTP connection each).
    A Redis outage is logged, never raised: the sweep catches up."""
    try:
        notifications = queue.queue("notifications")
        for start in range(0, len(ids), BATCH):
            notifications.enqueue(DELIVER_MANY, ids[start:start + BATCH])
    except (redis.RedisError, OSError) as exc:
        log.warning("通知 %s をキューに入れられませんでした（後で再送します）: %s", ids, exc)
        return 0
    return len(ids)


def enqueue_retry(notification_id: int) -> None:
    """A failed first try goes on as a job of its own, which RQ retries with the configured backoff."""
    config = current_app.config
    intervals = config["NOTIFY_RETRY_INTERVALS"] or [0]
    remaining = config["NOTIFY_MAX_ATTEMPTS"] - 2
    retry = Retry(max=remaining, interval=intervals[1:] or intervals) if remaining > 0 else None
    try:
        notifications = queue.queue("notifications")
        if intervals[0]:
            notifications.enqueue_in(timedelta(seconds=intervals[0]), DELIVER, notification_id, retry=retry)
        else:
            notifications.enqueue(DELIVER, notification_id, retry=retry)
    except (redis.RedisError, OSError) as exc:
        log.warning("通知 %s の再送をキューに入れられませんでした（後で再送します）: %s", notification_id, exc)


def claim(notification_ids: list[int]) -> list[Notification]:
    """Mark the due, pending ones of these notifications as being sent, in one statement; returns those that
    are ours to send (another worker's claim or a notification already sent is left alone)."""
    at = now()
    db.session.execute(
        update(Notification)
        .where(
            Notification.id.in_(notification_ids),
            Notification.status == NotificationStatus.PENDING,
            or_(Notification.hold_until.is_(None), Notification.hold_until <= at),
        )
        .values(status=NotificationStatus.SENDING, claimed_at=at, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return list(db.session.scalars(
        select(Notification)
        .where(Notification.id.in_(notification_ids), Notification.status == NotificationStatus.SENDING,
               Notification.claimed_at == at)
        .order_by(Notification.id)
        .execution_options(populate_existing=True)))


def mark_sent(notification: Notification) -> None:
    notification.status = NotificationStatus.SENT
    notification.sent_at = now()
    notification.last_error = None
    notification.next_attempt_at = None


def mark_failed_attempt(notification: Notification, error: str) -> bool:
    """Record a failed try. Returns True when another try will come, False when it has failed for good."""
    config = current_app.config
    notification.last_error = error[:2000]
    notification.claimed_at = None
    if notification.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
        notification.status = NotificationStatus.FAILED
        notification.next_attempt_at = None
        return False
    intervals = config["NOTIFY_RETRY_INTERVALS"] or [0]
    wait = intervals[min(notification.attempts - 1, len(intervals) - 1)]
    notification.status = NotificationStatus.PENDING
    notification.next_attempt_at = now() + timedelta(seconds=wait)
    return True


def due_for_sweep(limit: int = 500) -> list[int]:
    """Pending notifications that should have gone by now; stuck claims are released first."""
    at = now()
    db.session.execute(
        update(Notification)
        .where(Notification.status == NotificationStatus.SENDING, Notification.claimed_at <= at - STUCK_AFTER)
        .values(status=NotificationStatus.PENDING, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    grace = timedelta(seconds=current_app.config["NOTIFY_SWEEP_AFTER"])
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(
                Notification.status == NotificationStatus.PENDING,
                Notification.created_at <= at - grace,
                or_(Notification.hold_until.is_(None), Notification.hold_until <= at),
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= at),
            )
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def resend(notification: Notification, *, actor: User) -> Notification:
    """再送: put a failed notification back in the outbox."""
    if not policy.resendable(notification):
        raise WrongState("再送できるのは送信失敗の通知だけです。")
    before = {"status": notification.status, "attempts": notification.attempts}
    notification.status = NotificationStatus.PENDING
    notification.attempts = 0
    notification.next_attempt_at = None
    audit.record("resend", notification, actor=actor, summary=f"通知「{notification.subject}」を再送",
                 before=before, after={"status": notification.status, "attempts": 0})
    db.session.flush()
    remember(notification.id)
    return notification


def list_query(*, status: str | None = None, q: str | None = None):
    stmt = select(Notification)
    if status in {s.value for s in NotificationStatus}:
        stmt = stmt.where(Notification.status == status)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(Notification.subject.ilike(like) | Notification.recipient_email.ilike(like))
    return stmt
