"""Job functions. Each takes plain ids, loads, calls services, commits.
They run inside the worker's app context (created once at start)."""
from __future__ import annotations

import logging

from banso.extensions import db
from banso.services import notifications
from worker import mail

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """Raised so RQ retries the delivery with backoff."""


def deliver_notification(notification_id: int) -> str:
    """One notification (a retry); RQ retries it with backoff while DeliveryFailed is raised."""
    outcomes = deliver_notifications([notification_id], retry_here=True)
    return next(iter(outcomes), "skipped")


def deliver_notifications(notification_ids: list[int], *, retry_here: bool = False) -> dict[str, int]:
    """A run of notifications claimed at once and sent over one SMTP connection. One that fails is retried
    as a job of its own (or, for that job itself, by raising DeliveryFailed)."""
    outcomes: dict[str, int] = {}
    try:
        claimed = notifications.claim(notification_ids)
        db.session.commit()
        with mail.Transport() as transport:
            for notification in claimed:
                outcome = _send(notification, transport)
                if outcome == "retry" and retry_here:
                    raise DeliveryFailed(f"通知 {notification.id} の送信に失敗しました")
                if outcome == "retry":
                    notifications.enqueue_retry(notification.id)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes
    finally:
        db.session.remove()


def _send(notification, transport: mail.Transport) -> str:
    """Send a claimed notification and record it: "sent", "retry" or "failed"."""
    notification_id = notification.id
    try:
        transport.send(notification)
    except Exception as exc:  # any transport failure is recorded, then retried
        db.session.rollback()
        notification = db.session.get(notification.__class__, notification_id)
        will_retry = notifications.mark_failed_attempt(notification, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        if will_retry:
            return "retry"
        log.error("通知 %s の送信に失敗しました: %s", notification_id, exc)
        return "failed"
    notifications.mark_sent(notification)
    db.session.commit()
    return "sent"


def sweep_outbox() -> int:
    """Re-enqueue what should have been delivered by now (a Redis outage, a killed worker)."""
    try:
        ids = notifications.due_for_sweep()
        db.session.commit()
        return notifications.enqueue(ids) if ids else 0
    finally:
        db.session.remove()


def validate_import(batch_id: int) -> str:
    """Check an uploaded spreadsheet row by row, committing progress for the progress bar."""
    from banso.models import ImportBatch
    from banso.services import RuleViolation, imports

    try:
        batch = db.session.get(ImportBatch, batch_id)
        if batch is None or batch.status != "validating":
            return "skipped"
        try:
            imports.validate(batch, on_progress=lambda _: db.session.commit())
        except RuleViolation as violation:
            db.session.rollback()
            batch = db.session.get(ImportBatch, batch_id)
            batch.status, batch.error = "failed", violation.message
        db.session.commit()
        return batch.status
    finally:
        db.session.remove()


def issue_documents(batch_id: int) -> str:
    """Make a batch of documents (辞令, letters), committing every few for the progress bar; a failure is shown on
    the batch's page with what was made kept (a retry makes only the rest)."""
    from banso.models import DocumentBatch
    from banso.services import documents

    try:
        batch = db.session.get(DocumentBatch, batch_id)
        if batch is None or batch.status == "done":
            return "skipped"
        try:
            documents.run(batch)
        except Exception as exc:  # shown on the batch's page; the documents already made stay issued
            db.session.rollback()
            batch = db.session.get(DocumentBatch, batch_id)
            batch.status, batch.error = "failed", f"{type(exc).__name__}: {exc}"[:1000]
            db.session.commit()
            raise
        return batch.status
    finally:
        db.session.remove()


def issue_appointments(phase_id: int, order_date: str, post: str, actor_id: int | None) -> int:
    """Bulk 併任発令 with progress in the job's meta; repeating it issues nothing twice."""
    from datetime import date

    from rq import get_current_job

    from banso.models import Phase, User
    from banso.services import officers

    job = get_current_job()

    def progress(done: int, total: int) -> None:
        if job is not None and (done % 10 == 0 or done == total):
            job.meta.update(done=done, total=total)
            job.save_meta()

    try:
        phase = db.session.get(Phase, phase_id)
        actor = db.session.get(User, actor_id) if actor_id else None
        issued = officers.issue_orders(phase, order_date=date.fromisoformat(order_date), post=post, actor=actor,
                                       on_progress=progress)
        db.session.commit()
        if job is not None:
            job.meta.update(issued=issued)
            job.save_meta()
        return issued
    finally:
        db.session.remove()


def close_finished_teams() -> int:
    """On the worker's timer: member replacements whose date has come take effect (TEAM-4); teams past their last day
    end and their members' 併任 with them (TEAM-3, OFF-3); running teams whose half-year report falls due within two
    weeks are reminded, whatever their phase (TEAM-6; each reminder goes once); a phase whose last team's closing day has
    passed has its figures stored once. Returns how many teams ended."""
    from banso.services import closing, statistics, teams

    try:
        teams.apply_due_replacements()
        ended, _appointments = closing.end_terms()
        statistics.store_closed()
        for phase in teams.phases_with_running_teams():
            teams.remind_reports(phase, actor=None)
        db.session.commit()
        return ended
    finally:
        db.session.remove()


def release_publication(phase_id: int) -> str:
    """PUB-3 at the planned time (scheduled on RQ when the matching is confirmed)."""
    from banso.models import Phase
    from banso.services import publication

    try:
        phase = db.session.get(Phase, phase_id)
        released = phase is not None and publication.release(phase, actor=None)
        db.session.commit()
        return "released" if released else "skipped"
    finally:
        db.session.remove()


def release_due_publications() -> int:
    """The timer's catch-up: a release missed while the worker was down happens as soon as it is back."""
    from banso.services import publication

    try:
        count = publication.release_due()
        db.session.commit()
        return count
    finally:
        db.session.remove()


def plan_matching(plan_id: int) -> str:
    """Compute a queued matching plan (PUB-1). The plan is claimed by a conditional update, so two workers never
    compute the same one; each stage's progress is committed for the page's bar (what was loaded stays loaded)."""
    from sqlalchemy import update

    from banso.models import MatchingPlan
    from banso.services import matching

    session = db.session()
    session.expire_on_commit = False

    def progress(percent: int, stage: str) -> None:
        plan.progress, plan.stage = percent, stage
        session.commit()

    try:
        claimed = db.session.execute(update(MatchingPlan).where(MatchingPlan.id == plan_id, MatchingPlan.status == "queued")
                                     .values(status="running", progress=1, stage="計画を始めました")).rowcount
        db.session.commit()
        if not claimed:
            return "skipped"
        plan = db.session.get(MatchingPlan, plan_id)
        try:
            matching.run_plan(plan, progress=progress)
            db.session.commit()
        except Exception:
            db.session.rollback()
            db.session.execute(update(MatchingPlan).where(MatchingPlan.id == plan_id)
                               .values(status="failed", progress=100, stage="計画中に問題が起きました"))
            db.session.commit()
            raise
        return plan.status
    finally:
        session.expire_on_commit = True
        db.session.remove()


def replan_matching() -> int:
    """On the worker's timer: a phase whose inputs changed since its last plan (an application judged, an officer
    selected or appointed, a team formed by hand) is planned again."""
    from banso.services import matching

    try:
        count = matching.replan_changed()
        db.session.commit()
        return count
    finally:
        db.session.remove()


def fetch_mailbox() -> int:
    """On the worker's mailbox timer: the inquiries' mailbox taken in (worker/mailbox.py)."""
    from banso.services import inquiries
    from worker import mailbox

    try:
        if not inquiries.mailbox_configured():
            return 0
        try:
            fetched = mailbox.fetch()
        except Exception as exc:  # the mail server away, refused sign-in, a certificate: shown on the mailbox page
            inquiries.record_mailbox_status(False, f"{type(exc).__name__}: {exc}")
            raise
        if not fetched.skipped:
            inquiries.record_mailbox_status(fetched.left == 0, f"{fetched.count}件を取り込み" + (f"、{fetched.left}件は次回に" if fetched.left else ""))
        if fetched.count or fetched.left:
            log.info("メールボックス: %d 件を取り込みました（%s）、%d 件は次回に", fetched.count, fetched.taken, fetched.left)
        return fetched.count
    finally:
        db.session.remove()


def chase_approvals() -> int:
    """On the worker's timer: 決裁 steps past their due date remind their people, and later escalate (each once)."""
    from banso.services import approvals

    try:
        sent = approvals.chase()
        db.session.commit()
        return sent
    finally:
        db.session.remove()


def keep_records() -> dict:
    """On the worker's timer, once a day: the records' disposition run and the officers' anonymisation (issue 35)."""
    from banso.services import records

    try:
        done = records.daily()
        db.session.commit()
        return done
    finally:
        db.session.remove()


def keep_accounts() -> dict:
    """On the worker's timer, once a day: officers whose 併任 ended become claims-only, then their accounts end."""
    from banso.services import directory

    try:
        done = directory.daily()
        db.session.commit()
        return done
    finally:
        db.session.remove()


def chase_inquiries() -> int:
    """On the worker's timer: the help desk's digests, escalations, reminders and closings (banso/services/helpdesk.py)."""
    from banso.services import helpdesk

    try:
        done = helpdesk.chase()
        db.session.commit()
        return done
    finally:
        db.session.remove()
