"""The outbox, end to end on real parts: a request commits a notification, a real RQ worker
delivers it to an aiosmtpd sink on loopback."""
from datetime import timedelta

import pytest

from sqlalchemy import func, select

from banso.extensions import db
from banso.models import MailboxMessage, Notification, Role
from banso.services import notifications
from tests.conftest import login, race, racing_barrier, run_worker
from tests.factories import make_user
from worker import jobs


def _admin_creates_a_user(app, client, email="new@banso.example"):
    with app.app_context():
        admin = make_user(Role.ADMIN).email
        db.session.commit()
    login(client, admin)
    response = client.post("/admin/users", data={"email": email, "name": "新規 利用者", "role": "officer"})
    assert response.status_code == 302


def _statuses(app):
    with app.app_context():
        return [(n.status, n.attempts) for n in db.session.scalars(select(Notification).order_by(Notification.id))]


def test_a_notification_made_in_a_request_reaches_the_smtp_sink_once(app, client, smtp):
    _admin_creates_a_user(app, client)
    assert _statuses(app) == [("pending", 0)]
    run_worker(app)
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"].addresses[0].addr_spec == "new@banso.example"
    assert message["Subject"] == "【地方創生伴走支援】事務局システムの利用者登録とパスワード設定のお願い"
    assert "地方創生支援官" in message.get_content()
    assert _statuses(app) == [("sent", 1)]
    # A second run, and a sweep that finds nothing due, send nothing more.
    with app.app_context():
        assert jobs.sweep_outbox() == 0
        notifications.enqueue([db.session.scalar(select(Notification.id))])  # a stray duplicate enqueue
    run_worker(app)
    assert len(smtp.messages) == 1


def test_with_redis_down_the_request_succeeds_and_a_later_sweep_delivers(app, client, smtp):
    good_url = app.config["REDIS_URL"]
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0", EMBEDDED_REDIS=False)
    app.extensions.pop("banso_redis", None)
    _admin_creates_a_user(app, client)
    assert _statuses(app) == [("pending", 0)]
    app.config["REDIS_URL"] = good_url
    app.extensions.pop("banso_redis", None)
    run_worker(app)
    assert smtp.messages == []  # nothing was queued while Redis was down
    with app.app_context():
        assert jobs.sweep_outbox() == 1
    run_worker(app)
    assert len(smtp.messages) == 1
    assert _statuses(app) == [("sent", 1)]


def test_a_refusing_smtp_server_leads_to_retries_then_failed_with_the_error(app, client, smtp):
    smtp.refuse = True
    _admin_creates_a_user(app, client)
    run_worker(app)
    assert _statuses(app) == [("failed", app.config["NOTIFY_MAX_ATTEMPTS"])]
    with app.app_context():
        failed = db.session.scalar(select(Notification))
        assert "554" in failed.last_error
        failed_id = failed.id
        assert jobs.sweep_outbox() == 0  # failed ones wait for a person
    # 再送 from the admin page, once the server accepts again.
    smtp.refuse = False
    response = client.post(f"/admin/notifications/{failed_id}/resend")
    assert response.status_code == 302
    run_worker(app)
    assert len(smtp.messages) == 1
    assert _statuses(app) == [("sent", 1)]


def test_a_held_notification_waits_until_its_time(app, smtp, clock):
    with app.app_context():
        user = make_user()
        notifications.notify(key="held-1", recipient_email=user.email, kind="test", subject="公表前", body="本文",
                             hold_until=clock.at + timedelta(hours=1))
        db.session.commit()
    run_worker(app)
    with app.app_context():
        assert jobs.sweep_outbox() == 0
    assert smtp.messages == []
    clock.advance(hours=1)
    with app.app_context():
        assert jobs.sweep_outbox() == 1
    run_worker(app)
    assert len(smtp.messages) == 1


def test_notify_is_idempotent_by_key(ctx):
    first = notifications.notify(key="k", recipient_email="a@example.jp", kind="t", subject="s", body="b")
    again = notifications.notify(key="k", recipient_email="a@example.jp", kind="t", subject="s", body="b")
    assert first is again
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1


def test_a_rolled_back_change_sends_nothing(app, smtp):
    with app.app_context():
        notifications.notify(key="gone", recipient_email="a@example.jp", kind="t", subject="s", body="b")
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    run_worker(app)
    assert smtp.messages == []


def test_a_claim_stuck_by_a_killed_worker_is_swept_and_delivered_once(app, smtp, clock):
    with app.app_context():
        notifications.notify(key="stuck", recipient_email="a@example.jp", kind="t", subject="s", body="b")
        db.session.commit()
        notification_id = db.session.scalar(select(Notification.id))
        assert notifications.claim([notification_id])  # the worker dies right after claiming
        db.session.commit()
    redis_flush(app)
    clock.advance(minutes=11)
    with app.app_context():
        assert jobs.sweep_outbox() == 1
    run_worker(app)
    assert len(smtp.messages) == 1
    assert _statuses(app) == [("sent", 2)]


def test_without_a_mail_server_mail_goes_to_the_development_mailbox(app, client):
    app.config["MAIL_SERVER"] = None
    _admin_creates_a_user(app, client, email="box@banso.example")
    run_worker(app)
    with app.app_context():
        box = db.session.scalars(select(MailboxMessage)).all()
        assert [m.recipient for m in box] == ["box@banso.example"]
    page = client.get("/dev/mailbox")
    assert "利用者登録とパスワード設定のお願い" in page.get_data(as_text=True)


def redis_flush(app):
    from banso import queue

    with app.app_context():
        queue.connection().flushdb()


def test_a_savepoint_inside_the_transaction_does_not_enqueue_before_the_commit(app, smtp):
    """SQLAlchemy reports a released SAVEPOINT as a commit; the outbox must wait for the real one."""
    from banso import queue

    with app.app_context():
        notifications.notify(key="k-savepoint", recipient_email="a@example.lg.jp", kind="test", subject="件名", body="本文")
        with db.session.begin_nested():
            make_user(email="nested@banso.example")
        waiting = queue.queue("notifications")
        assert waiting.count == 0  # nothing may run before the commit makes the row visible
        db.session.commit()
        assert waiting.count == 1
    run_worker(app)
    assert len(smtp.messages) == 1


def test_a_run_of_notifications_goes_out_over_one_connection_and_a_failure_is_retried_alone(app, smtp):
    with app.app_context():
        for n in range(3):
            notifications.notify(key=f"run-{n}", recipient_email=f"r{n}@example.lg.jp", kind="test", subject="件名", body="本文")
        db.session.commit()
    refusals = iter([False, True, False])  # the second message is refused once

    original = smtp.handle_DATA

    async def refuse_second(server, session, envelope):
        if next(refusals, False):
            return "451 4.3.0 try again later"
        return await original(server, session, envelope)

    smtp.handle_DATA = refuse_second
    run_worker(app)
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp.messages) == [f"r{n}@example.lg.jp" for n in range(3)]
    assert sorted(_statuses(app)) == [("sent", 1), ("sent", 1), ("sent", 2)]


@pytest.mark.commits  # two deliveries on their own connections
@pytest.mark.timing  # the two meet at a barrier and claim at once
def test_the_same_delivery_job_delivered_twice_at_once_sends_one_mail(app, smtp):
    """Two app servers' workers (or RQ delivering a job again after a lost acknowledgement) run the same delivery at
    the same moment: the claim is a conditional UPDATE, so one of them sends and the other finds nothing to send."""
    with app.app_context():
        notifications.notify(key="twice", recipient_email="a@example.jp", kind="t", subject="s", body="b")
        db.session.commit()
        notification_id = db.session.scalar(select(Notification.id))
    outcomes, start = [], racing_barrier(2)

    def deliver():
        with app.app_context():
            start.wait()
            outcomes.append(jobs.deliver_notifications([notification_id]))

    race(deliver, [(), ()])
    assert len(smtp.messages) == 1
    assert sorted(sum(o.values()) for o in outcomes) == [0, 1]
    assert _statuses(app) == [("sent", 1)]
