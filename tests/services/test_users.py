import pytest
from sqlalchemy import select

from banso.extensions import db
from banso.models import AuditEntry, Notification, Role, SignInThrottle, User
from banso.services import InputError, RuleViolation, users
from tests.conftest import race, racing_barrier
from tests.factories import PASSWORD, make_user


def test_passwords_are_hashed_with_argon2id_at_rfc_9106_strength_outside_the_tests(app):
    from banso import create_app

    real = create_app({"SECRET_KEY": "s" * 40, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                       "REDIS_URL": app.config["REDIS_URL"]})
    assert real.config["PASSWORD_HASH_PROFILE"] == "RFC_9106_LOW_MEMORY"
    with real.app_context():
        hashed = users.hash_password("banso-demo-password")
        assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert "banso-demo-password" not in hashed
    with app.app_context():  # the suite's cheap profile still verifies a real hash
        assert users._hasher().verify(hashed, "banso-demo-password")
        assert users.hash_password("x" * 10).startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_production_refuses_a_cheap_password_hash():
    from banso import create_app
    from banso.config import ConfigError

    from tests.test_app import PRODUCTION

    with pytest.raises(ConfigError, match="パスワードハッシュ"):
        create_app(dict(PRODUCTION, PASSWORD_HASH_PROFILE="CHEAPEST"))


def test_authenticate_accepts_the_right_password_case_insensitively(ctx, clock):
    user = make_user(email="Kato@banso.example")
    assert users.authenticate("kato@BANSO.example", PASSWORD) is user
    assert user.last_login_at == clock.at


def test_authenticate_refuses_a_wrong_password_and_an_unknown_account_alike(ctx):
    make_user(email="a@banso.example")
    with pytest.raises(RuleViolation) as wrong:
        users.authenticate("a@banso.example", "not-the-password")
    with pytest.raises(RuleViolation) as unknown:
        users.authenticate("nobody@banso.example", "not-the-password")
    assert wrong.value.message == unknown.value.message


def test_failures_slow_the_account_down_at_that_address_only_and_the_answer_never_changes(ctx, clock):
    """Found: a locked account answered a different message, 20× faster, and anyone could lock any account.
    Now: one message for unknown, wrong and waiting; the wait is per account at the failing address, growing."""
    user = make_user()
    answers = set()
    for _ in range(5):
        with pytest.raises(RuleViolation) as wrong:
            users.authenticate(user.email, "wrong-password", source="198.51.100.9")
        answers.add((wrong.value.rule_id, wrong.value.message))
    with pytest.raises(RuleViolation) as waiting:
        users.authenticate(user.email, PASSWORD, source="198.51.100.9")  # even the right password, from there
    with pytest.raises(RuleViolation) as unknown:
        users.authenticate("nobody@banso.example", "wrong-password", source="198.51.100.9")
    answers |= {(waiting.value.rule_id, waiting.value.message), (unknown.value.rule_id, unknown.value.message)}
    assert answers == {("AUTH", users.SIGN_IN_REFUSED)}
    assert users.authenticate(user.email, PASSWORD, source="203.0.113.20") is user  # the real user, elsewhere
    clock.advance(minutes=1, seconds=1)
    assert users.authenticate(user.email, PASSWORD, source="198.51.100.9") is user  # the first wait is a minute
    assert db.session.scalar(select(SignInThrottle).where(SignInThrottle.user_id == user.id)) is None  # and forgotten


def test_the_wait_grows_with_each_round_of_failures(ctx, clock):
    user = make_user()
    waits = []
    for _ in range(3):
        for _ in range(5 if not waits else 1):
            with pytest.raises(RuleViolation):
                users.authenticate(user.email, "wrong-password", source="198.51.100.9")
        throttle = db.session.scalar(select(SignInThrottle).where(SignInThrottle.user_id == user.id))
        waits.append(round((throttle.locked_until - clock.at).total_seconds() / 60))
        clock.advance(minutes=waits[-1], seconds=1)
    assert waits == [1, 2, 4]


def test_a_success_resets_the_failure_count(ctx, clock):
    user = make_user()
    for _ in range(4):
        with pytest.raises(RuleViolation):
            users.authenticate(user.email, "wrong-password")
    users.authenticate(user.email, PASSWORD)
    with pytest.raises(RuleViolation) as failure:
        users.authenticate(user.email, "wrong-password")
    assert failure.value.rule_id == "AUTH"
    assert db.session.scalar(select(SignInThrottle.failures).where(SignInThrottle.user_id == user.id)) == 1


@pytest.mark.timing
@pytest.mark.commits
def test_parallel_wrong_passwords_check_no_more_than_the_limit(app, monkeypatch):
    """Found: 30 parallel wrong passwords were all checked and the count ended at 2 (``failed_logins += 1``)."""
    with app.app_context():
        user = make_user(email="parallel@banso.example")
        db.session.commit()
        user_id = user.id
    checked, barrier = [], racing_barrier(12)
    real_verify = users._verify

    def counting_verify(user, password):
        if user is not None:
            checked.append(password)
        return real_verify(user, password)

    monkeypatch.setattr(users, "_verify", counting_verify)

    def attempt():
        with app.app_context():
            barrier.wait()
            try:
                users.authenticate("parallel@banso.example", "wrong-password", source="198.51.100.9")
            except RuleViolation:
                db.session.rollback()
            finally:
                db.session.remove()

    race(attempt, [()] * 12)
    assert len(checked) <= app.config["LOGIN_MAX_FAILURES"]
    with app.app_context():
        throttle = db.session.scalar(select(SignInThrottle).where(SignInThrottle.user_id == user_id))
        assert throttle.failures == 12 and throttle.locked_until is not None


def test_an_inactive_user_cannot_sign_in(ctx):
    user = make_user(active=False)
    with pytest.raises(RuleViolation):
        users.authenticate(user.email, PASSWORD)


def test_create_user_audits_and_invites_the_new_user_by_a_link(ctx):
    admin = make_user(Role.ADMIN)
    user = users.create_user(email=" New@Banso.example ", name="新人", role="finance", actor=admin)
    assert user.email == "new@banso.example"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_id == user.id, AuditEntry.object_type == "User"))
    assert entry.actor_id == admin.id and entry.after["role"] == "finance"
    notice = db.session.scalar(select(Notification).where(Notification.recipient_user_id == user.id))
    assert notice.kind == "account_invite" and "会計担当" in notice.body and "/account/setup/" in notice.body
    assert not users._verify(user, "")  # no password works until the user sets one


def test_create_user_refuses_a_duplicate_email_and_a_short_password(ctx):
    make_user(email="dup@banso.example")
    with pytest.raises(RuleViolation) as dup:
        users.create_user(email="DUP@banso.example", name="x", role="officer", password="long-enough-pw", actor=None)
    assert dup.value.field == "email"
    with pytest.raises(RuleViolation) as short:
        users.create_user(email="ok@banso.example", name="x", role="officer", password="short", actor=None)
    assert short.value.field == "password"


def test_an_admin_cannot_demote_or_deactivate_themselves(ctx):
    admin = make_user(Role.ADMIN)
    with pytest.raises(RuleViolation):
        users.update_user(admin, name=admin.name, role="secretariat", active=True, actor=admin)
    with pytest.raises(RuleViolation):
        users.update_user(admin, name=admin.name, role="admin", active=False, actor=admin)


def test_update_user_records_before_and_after(ctx):
    admin, user = make_user(Role.ADMIN), make_user(Role.OFFICER)
    users.update_user(user, name=user.name, role="secretariat", active=False, actor=admin)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
    assert entry.before["role"] == "officer" and entry.after["role"] == "secretariat"
    assert entry.before["active"] is True and entry.after["active"] is False


def test_reset_password_unlocks_and_sends_a_link_no_admin_sees_a_password(ctx, clock):
    from tests.factories import PASSWORD

    admin, user = make_user(Role.ADMIN), make_user(last_login_at=clock())
    for _ in range(5):
        with pytest.raises(RuleViolation):
            users.authenticate(user.email, "wrong-password")
    assert users.reset_password(user, actor=admin).purpose == "reset"
    with pytest.raises(RuleViolation):
        users.authenticate(user.email, PASSWORD)  # the old password no longer works
    notice = db.session.scalar(select(Notification).where(Notification.kind == "account_reset"))
    token = notice.body.split("/account/setup/")[1].split()[0]
    users.set_password_by_link(users.link_for(token), "sakura-tsutsuji-hydrangea")
    assert users.authenticate(user.email, "sakura-tsutsuji-hydrangea") is user  # and the wait is lifted


def test_sign_in_success_failure_and_sign_out_are_audited(app, client):
    """Found: sign-in success, failure and sign-out left no audit row."""
    from tests.conftest import login

    with app.app_context():
        make_user(Role.FINANCE, email="audit-me@banso.example")
        db.session.commit()
    assert client.post("/login", data={"email": "audit-me@banso.example", "password": "wrong-password"}).status_code == 401
    with app.app_context():  # the refused request rolled back; the count and its audit row were kept
        assert db.session.scalar(select(SignInThrottle.failures).join(User).where(User.email == "audit-me@banso.example")) == 1
    assert client.post("/login", data={"email": "nobody@banso.example", "password": "wrong-password"}).status_code == 401
    login(client, "audit-me@banso.example")
    client.post("/logout")
    with app.app_context():
        rows = db.session.execute(select(AuditEntry.action, AuditEntry.after).where(
            AuditEntry.action.in_(("sign_in", "sign_in_failed", "sign_out"))).order_by(AuditEntry.id)).all()
    assert [action for action, _ in rows] == ["sign_in_failed", "sign_in_failed", "sign_in", "sign_out"]
    assert rows[0][1]["email"] == "audit-me@banso.example" and rows[1][1]["email"] == "nobody@banso.example"


@pytest.mark.parametrize("password", ["password123", "qwertyuiop1", "P@ssw0rd2024", "1qaz2wsx3edc", "katokato2026"])
def test_common_and_guessable_passwords_are_refused(ctx, password):
    """Found: any ten characters were accepted. The user's own name and address count as known."""
    with pytest.raises(InputError, match="推測されやすい") as refused:
        users.create_user(email="kato@banso.example", name="加藤 kato", role="finance", password=password, actor=None)
    assert refused.value.field == "password"
    users.create_user(email="kato@banso.example", name="加藤", role="finance", password="sakura-tsutsuji-hydrangea", actor=None)


def test_the_demo_password_is_refused_in_production(ctx, app):
    app.config["BANSO_ENV"] = "production"
    with pytest.raises(InputError, match="デモ用"):
        users.create_user(email="demo@ministry.example", name="試験", role="finance", password="banso-demo", actor=None)


def test_an_office_behind_one_address_is_never_locked_out_by_its_own_sign_ins_or_a_burst_of_guesses(ctx, clock, app):
    """Issue 31 (N1): successful sign-ins counted toward the address's limit of 50, so after 50 sign-ins in an hour
    one wrong password locked every account behind that address (an office behind NAT) for minutes. Now only failures
    count, and an address past its limit is slowed (one attempt at a time, each after a delay), not locked."""
    app.config["LOGIN_ADDRESS_DELAY_SECONDS"] = 0.2
    office = "192.0.2.10"
    staff = [make_user(email=f"office{i}@banso.example") for i in range(6)]
    for _ in range(10):  # 60 sign-ins of six colleagues within the hour
        for user in staff:
            assert users.authenticate(user.email, PASSWORD, source=office) is user
            clock.advance(seconds=30)
    with pytest.raises(RuleViolation):
        users.authenticate(staff[0].email, "mistyped", source=office)
    assert users.authenticate(staff[1].email, PASSWORD, source=office) is staff[1]  # not locked
    for i in range(60):  # a burst of guesses at many accounts from the same address
        with pytest.raises(RuleViolation):
            users.authenticate(f"guess{i}@banso.example", "123456", source=office)
    address = db.session.scalar(select(SignInThrottle).where(SignInThrottle.key == f"address:{office}"))
    assert address.failures == 61 and address.locked_until > clock.at  # past its limit: slowed from now on
    import time

    started = time.monotonic()
    assert users.authenticate(staff[2].email, PASSWORD, source=office) is staff[2]  # a colleague still signs in …
    assert time.monotonic() - started >= 0.2  # … after the address's delay
    started = time.monotonic()
    with pytest.raises(RuleViolation):
        users.authenticate(staff[3].email, "guess", source=office)  # and every guess waits the same
    assert time.monotonic() - started >= 0.2
    assert users.authenticate(staff[4].email, PASSWORD, source="203.0.113.7") is staff[4]  # elsewhere: no delay
