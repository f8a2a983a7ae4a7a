"""Every route × every role (and anonymous): allowed, or refused with the 403 page and no data.

Each area adds its routes to ROUTES. A route missing from the table fails the last test.
"""
from datetime import date

import pytest

from banso import queue
from sqlalchemy import select

from banso.extensions import db
from banso.models import ApprovalAction, DocumentBatch, RecordFile, InboundMail, MatchingConstraint, MatchingPlan, PhaseEvent, ProfileChangeRequest, Role
from banso.services import (application_import, approvals, calendar_feed, records, documents, imports, inquiries, matching, notifications, officers, teams, travel,
                            users as accounts)
from tests.conftest import RedisSnapshot, login, rolled_back
from tests.factories import (make_application, make_municipality, make_officer, make_phase, make_publication, make_rates,
                             make_team,
                             make_trip, make_user)

ADMIN, STAFF, FINANCE, OFFICER = "admin", "secretariat", "finance", "officer"
EVERYONE = {ADMIN, STAFF, FINANCE, OFFICER}
SECRETARIAT = {ADMIN, STAFF}
PUBLIC = "public"

# (method, path, who may use it). {id} is filled in from the fixture data.
ROUTES = [
    ("GET", "/", EVERYONE),
    ("GET", "/account/password", EVERYONE),
    ("GET", "/account/two-factor", EVERYONE),
    ("GET", "/account/calendar", EVERYONE),
    ("POST", "/account/calendar", EVERYONE),
    ("GET", "/calendar/{calendar_token}.ics", PUBLIC),
    ("POST", "/account/two-factor/start", EVERYONE),
    ("GET", "/admin/users", {ADMIN}),
    ("GET", "/admin/users/new", {ADMIN}),
    ("GET", "/admin/users/{user_id}", {ADMIN}),
    ("POST", "/admin/users/{user_id}/reset-password", {ADMIN}),
    ("POST", "/admin/users/{user_id}/reset-two-factor", {ADMIN}),
    ("GET", "/admin/phases", {ADMIN}),
    ("GET", "/admin/phases/new", {ADMIN}),
    ("GET", "/admin/phases/{phase_id}", {ADMIN}),
    ("POST", "/admin/phases/{phase_id}/events", {ADMIN}),
    ("POST", "/admin/phases/{phase_id}/events/{event_id}/delete", {ADMIN}),
    ("GET", "/admin/audit", {ADMIN}),
    ("GET", "/admin/notifications", SECRETARIAT),
    ("POST", "/admin/notifications/{notification_id}/resend", SECRETARIAT),
    ("GET", "/dev/mailbox", SECRETARIAT),
    ("GET", "/applications/", SECRETARIAT),
    ("GET", "/applications/new", SECRETARIAT),
    ("GET", "/applications/{application_id}", SECRETARIAT),
    ("GET", "/applications/{application_id}/edit", SECRETARIAT),
    ("POST", "/applications/{application_id}/status", SECRETARIAT),
    ("POST", "/applications/bulk", SECRETARIAT),
    ("POST", "/officers/bulk", SECRETARIAT),
    ("POST", "/applications/{application_id}/accept-late", {ADMIN}),
    ("POST", "/applications/{application_id}/confirm-population", {ADMIN}),
    ("GET", "/applications/imports/new", SECRETARIAT),
    ("GET", "/imports/{batch_id}", SECRETARIAT),
    ("GET", "/imports/{batch_id}/progress", SECRETARIAT),
    ("POST", "/imports/{batch_id}/exclude", SECRETARIAT),
    ("POST", "/imports/{batch_id}/commit", SECRETARIAT),
    ("GET", "/imports/template/{kind}", SECRETARIAT),
    ("POST", "/applications/imports/mail/{attachment_id}?phase={number}", SECRETARIAT),
    ("GET", "/documents/", SECRETARIAT),
    ("GET", "/approvals/", EVERYONE),
    ("POST", "/approvals/absences", EVERYONE),
    ("POST", "/approvals/read/{approval_action_id}", EVERYONE),
    ("GET", "/approvals/summary", EVERYONE),
    ("GET", "/records/", SECRETARIAT),
    ("POST", "/records/refresh", SECRETARIAT),
    ("GET", "/records/schedule", SECRETARIAT),
    ("POST", "/records/schedule", SECRETARIAT),
    ("GET", "/records/disposition", SECRETARIAT),
    ("POST", "/records/files/{record_file_id}", SECRETARIAT),
    ("GET", "/records/files/{record_file_id}/package", SECRETARIAT),
    ("GET", "/records/report", SECRETARIAT),
    ("GET", "/records/requests", SECRETARIAT),
    ("POST", "/records/requests", SECRETARIAT),
    ("POST", "/records/requests/{personal_request_id}", SECRETARIAT),
    ("GET", "/records/requests/{personal_request_id}/package", SECRETARIAT),
    ("POST", "/approvals/bulk", EVERYONE),
    ("GET", "/approvals/{approval_case_id}", {ADMIN, STAFF, FINANCE}),  # the claim's: finance decides it; officers no
    ("POST", "/approvals/{approval_case_id}", {ADMIN, STAFF, FINANCE}),
    ("GET", "/travel/{ordered_trip_id}/change", SECRETARIAT),
    ("POST", "/travel/{ordered_trip_id}/change", SECRETARIAT),
    ("POST", "/travel/{trip_id}/departure", SECRETARIAT),
    ("GET", "/approvals/routes", EVERYONE),
    ("POST", "/approvals/routes", EVERYONE),
    ("GET", "/travel/orders?phase={number}", {ADMIN, STAFF, FINANCE}),
    ("GET", "/travel/{trip_id}/order", {ADMIN, STAFF, FINANCE}),
    ("POST", "/documents/batches?phase={number}&kind=appointment", SECRETARIAT),
    ("GET", "/documents/batches/{document_batch_id}", SECRETARIAT),
    ("GET", "/documents/{document_id}.docx", SECRETARIAT),
    ("GET", "/documents/templates", SECRETARIAT),
    ("POST", "/documents/templates", SECRETARIAT),
    ("GET", "/documents/templates/{template_kind}.docx", SECRETARIAT),
    ("GET", "/applications/continuation", SECRETARIAT),
    ("POST", "/applications/continuation/{application_id}", SECRETARIAT),
    ("POST", "/applications/continuation/remind", SECRETARIAT),
    ("POST", "/applications/continuation/request", SECRETARIAT),
    ("GET", "/applications/continuation/import", SECRETARIAT),
    ("POST", "/applications/continuation/import", SECRETARIAT),
    ("GET", "/municipalities/", SECRETARIAT),
    ("GET", "/municipalities/{municipality_id}", SECRETARIAT),
    ("GET", "/municipalities/population", {ADMIN}),
    ("GET", "/officers/", {ADMIN, STAFF, FINANCE}),
    ("GET", "/officers/new", SECRETARIAT),
    ("GET", "/officers/{officer_id}", SECRETARIAT),
    ("GET", "/officers/{officer_id}/edit", SECRETARIAT),
    ("POST", "/officers/{officer_id}/candidacies/{candidacy_id}", SECRETARIAT),
    ("POST", "/officers/{officer_id}/apply", SECRETARIAT),
    ("POST", "/officers/{officer_id}/login", SECRETARIAT),
    ("GET", "/officers/imports/new", SECRETARIAT),
    ("GET", "/officers/me", {OFFICER}),
    ("POST", "/officers/me/changes", {OFFICER}),
    ("GET", "/officers/changes", SECRETARIAT),
    ("POST", "/officers/changes/{change_id}", SECRETARIAT),
    ("GET", "/officers/breakdown", SECRETARIAT),
    ("GET", "/appointments/", SECRETARIAT),
    ("POST", "/appointments/issue", SECRETARIAT),
    ("GET", "/appointments/tasks/{job_id}", SECRETARIAT),
    ("POST", "/appointments/{appointment_id}/end", SECRETARIAT),
    ("GET", "/teams/", EVERYONE),
    ("GET", "/teams/{team_id}", SECRETARIAT),  # officers: their own team only (this one is not theirs)
    ("GET", "/teams/{team_id}/summary", SECRETARIAT),
    ("POST", "/teams/{team_id}/activities", SECRETARIAT),
    ("GET", "/teams/{team_id}/activities", SECRETARIAT),
    ("GET", "/teams/{team_id}/activities/{activity_id}/edit", SECRETARIAT),
    ("POST", "/teams/{team_id}/activities/{activity_id}/delete", SECRETARIAT),
    ("POST", "/teams/{team_id}/reports/1", SECRETARIAT),
    ("GET", "/teams/{team_id}/replace", SECRETARIAT),
    ("POST", "/teams/{team_id}/extend", SECRETARIAT),
    ("POST", "/teams/{team_id}/reopen", {ADMIN}),
    ("GET", "/teams/reports", SECRETARIAT),
    ("POST", "/teams/reports/remind", SECRETARIAT),
    ("GET", "/matching/", SECRETARIAT),
    ("POST", "/matching/accept", SECRETARIAT),
    ("POST", "/matching/unmatched/{application_id}", SECRETARIAT),
    ("GET", "/matching/edit/{application_id}", SECRETARIAT),
    ("POST", "/matching/plan", SECRETARIAT),
    ("GET", "/matching/plan/{plan_id}/status", SECRETARIAT),
    ("POST", "/matching/settings", SECRETARIAT),
    ("POST", "/matching/constraints", SECRETARIAT),
    ("POST", "/matching/constraints/{constraint_id}/delete", SECRETARIAT),
    ("GET", "/matching/score/{application_id}", SECRETARIAT),
    ("GET", "/travel/", EVERYONE),
    ("GET", "/travel/new", {ADMIN, STAFF, OFFICER}),
    ("POST", "/travel/estimate?team_id={team_id}", SECRETARIAT),  # officers: their own team only
    ("GET", "/travel/{trip_id}", {ADMIN, STAFF, FINANCE}),  # officers: their own trips only
    ("GET", "/travel/{trip_id}/edit", SECRETARIAT),
    ("POST", "/travel/{trip_id}/review", {ADMIN, STAFF, FINANCE}),  # the trip's route decides who acts
    ("POST", "/travel/{trip_id}/bearer", SECRETARIAT),
    ("POST", "/travel/{trip_id}/cancel", SECRETARIAT),
    ("GET", "/travel/{trip_id}/claim", SECRETARIAT),
    ("POST", "/travel/{trip_id}/claim/review", {ADMIN, STAFF, FINANCE}),
    ("POST", "/travel/{trip_id}/receipts", SECRETARIAT),
    ("GET", "/travel/receipts/{receipt_id}", {ADMIN, STAFF, FINANCE}),
    ("GET", "/travel/budget", {ADMIN, STAFF, FINANCE}),
    ("GET", "/travel/closing", {ADMIN, STAFF, FINANCE}),
    ("POST", "/travel/budget/cap", {ADMIN}),
    ("POST", "/travel/budget/standard", {FINANCE}),
    ("POST", "/travel/budget/plans/{team_id}", {FINANCE}),
    ("GET", "/travel/budget/plans", {ADMIN, STAFF, FINANCE}),
    ("GET", "/travel/rates", {ADMIN, STAFF, FINANCE}),
    ("GET", "/contact", PUBLIC),
    ("GET", "/contact/municipalities?prefecture=岩手県", PUBLIC),
    ("GET", "/contact/done", PUBLIC),
    ("GET", "/faq", PUBLIC),
    ("GET", "/inquiries/", {ADMIN, STAFF, FINANCE}),  # finance: the travel ones only
    ("GET", "/inquiries/counts", {ADMIN, STAFF, FINANCE}),
    ("GET", "/inquiries/new", SECRETARIAT),
    ("GET", "/inquiries/import", SECRETARIAT),
    ("GET", "/inquiries/{inquiry_id}", SECRETARIAT),  # finance: travel inquiries only (this one is not)
    ("POST", "/inquiries/{inquiry_id}/reply", SECRETARIAT),
    ("POST", "/inquiries/{inquiry_id}/note", SECRETARIAT),
    ("POST", "/inquiries/{inquiry_id}/status", SECRETARIAT),
    ("POST", "/inquiries/{inquiry_id}/assign", SECRETARIAT),
    ("POST", "/inquiries/{inquiry_id}/merge", SECRETARIAT),
    ("POST", "/inquiries/{inquiry_id}/link", SECRETARIAT),
    ("POST", "/inquiries/{inquiry_id}/faq", SECRETARIAT),
    ("GET", "/inquiries/templates", SECRETARIAT),
    ("GET", "/inquiries/reports", {ADMIN, STAFF, FINANCE}),
    ("GET", "/inquiries/mine", {OFFICER}),
    ("GET", "/inquiries/mine/{inquiry_id}", set()),  # officers: only what they sent signed in (this was not)
    ("POST", "/inquiries/{inquiry_id}/presence", SECRETARIAT),
    ("POST", "/inquiries/{inquiry_id}/messages/{message_id}/confirm-sender", SECRETARIAT),
    ("GET", "/inquiries/attachments/{attachment_id}", SECRETARIAT),  # finance: travel ones; officers: their own
    ("GET", "/inquiries/mailbox", SECRETARIAT),
    ("GET", "/inquiries/mailbox/{mail_id}/original", SECRETARIAT),
    ("GET", "/inquiries/reports/monthly?month=2026-11", {ADMIN, STAFF, FINANCE}),
    ("GET", "/contact/status/{status_token}", PUBLIC),
    ("GET", "/stats/", SECRETARIAT),
    ("GET", "/publication/", SECRETARIAT),
    ("GET", "/publication/steps", SECRETARIAT),
    ("POST", "/publication/confirm", SECRETARIAT),
    ("POST", "/publication/unlock", {ADMIN}),
    ("POST", "/publication/notify", SECRETARIAT),
    ("POST", "/publication/early", {ADMIN}),
    ("POST", "/publication/release", {ADMIN}),
    ("GET", "/publication/prefectures", SECRETARIAT),
    ("GET", "/publication/preview", SECRETARIAT),
    ("GET", "/public/{number}/results", PUBLIC),  # released here; before release a 404 (tests/blueprints/test_publication.py)
    ("GET", "/healthz", PUBLIC),
    ("GET", "/readyz", PUBLIC),  # the fixture's worker heartbeat is written
    ("GET", "/metrics", PUBLIC),  # loopback (the test client's address) or the token
    ("GET", "/login", PUBLIC),
]
def notifications_body(user) -> str:
    from banso.models import Notification

    return db.session.scalar(select(Notification.body).where(Notification.recipient_user_id == user.id)
                             .order_by(Notification.id.desc()))


# Routes that answer differently by design and are covered by their own tests.
# The sign-in's second step, the e-mailed links and the code forms: tests/blueprints/test_account_security.py.
NOT_IN_TABLE = {"/logout", "/static/<path:filename>", "/admin/users (POST)", "/login/code", "/account/setup/<token>",
                "/account/two-factor/confirm", "/account/two-factor/recovery-codes", "/account/two-factor/disable",
                # public, and 404 unless a provider is configured: tests/blueprints/test_sso.py signs in through two; test_saml.py through SAML
                "/login/sso/<name>", "/login/sso/<name>/callback", "/login/sso/<name>/acs", "/login/sso/<name>/metadata",
                # a directory's bearer token, no session (401 without): tests/blueprints/test_scim.py
                "/scim/v2/"}


@pytest.fixture(scope="module")
def ids(app, redis_url):
    """One of everything the routes need, plus a signed-in user per role (the officer has a record): built once
    for the module and rolled back after it; each test is rolled back to it (the queued job included)."""
    with rolled_back(app) as world:
        with app.app_context():
            users = {role: make_user(role, email=f"{role}@banso.example", name=f"{role}さん") for role in (ADMIN, STAFF, FINANCE, OFFICER)}
            target = make_user(Role.OFFICER, email="target@banso.example")
            phase = make_phase()
            event = PhaseEvent(phase=phase, label="説明会", at=phase.survey_opens_at)
            db.session.add(event)
            note = notifications.notify(key="x", recipient_email="a@example.jp", kind="t", subject="s", body="b")
            application = make_application(phase, make_municipality(name="守秘町"), contact_email="secret@example.lg.jp")
            batch = imports.start(application_import.KIND, phase, "a.csv", "担当部署,担当者氏名,メールアドレス,電話番号,優先分野1,"
                                  "課題の性質（独立・複合）,地域の状況・課題,団体コード\n".encode(), actor=None)
            make_officer(phase, status="selected", user=users[OFFICER], email="own@example.go.jp")
            other = make_officer(phase, status="selected", email="other-officer@example.go.jp")
            officers.issue_orders(phase, order_date=date(2026, 4, 1), actor=None)
            change = ProfileChangeRequest(officer=other, changes={"post_title": "課長"}, reason="異動")
            db.session.add(change)
            db.session.flush()
            job = queue.queue("default").enqueue(queue.Job.SWEEP_OUTBOX)
            team = make_team(phase, contact_email="team-secret@example.lg.jp")
            activity = teams.record_activity(team, {"kind": "online_meeting", "started_on": team.start_date,
                                                    "summary": "定例会議"}, actor=users[STAFF])
            make_publication(phase)  # released: roles see what their role may (the hold has its own tests)
            make_rates(2026)
            trip = make_trip(team)
            travel.review_request(trip, "approve", actor=make_user(Role.FINANCE))
            lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
            claim = travel.file_claim(trip, lines, [("receipt.pdf", b"%PDF-1.4 secret receipt")], actor=users[STAFF])
            accounts.send_link(target, actor=None)  # an invitation link, for the fuzzing of /account/setup
            token = notifications_body(target).split("/account/setup/")[1].split()[0]
            inquiry = inquiries.receive({"org_type": "other", "category": "general", "name": "問合 太郎",
                                         "email": "inquirer-secret@example.jp", "subject": "件名", "body": "本文"},
                                        channel="form", actor=None)
            mailed = inquiries.take_in(
                (f"From: inquirer-secret@example.jp\r\nSubject: Re: {inquiry.receipt_number}\r\nMessage-ID: <access@x>\r\n"
                 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n'
                 "see the file\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=secret.pdf\r\n\r\n"
                 "%PDF-1.4 secret\r\n--B--\r\n").encode(), source="upload", actor=None)
            plan = MatchingPlan(phase_id=phase.id)
            pinned = MatchingConstraint(phase_id=phase.id, kind="forbid", application=application, officer=other, reason="利益相反")
            db.session.add_all([plan, pinned])
            db.session.flush()
            matching.run_plan(plan)
            result = {"plan_id": plan.id, "constraint_id": pinned.id, "user_id": target.id, "phase_id": phase.id, "event_id": event.id, "notification_id": note.id,
                      "application_id": application.id, "kind": "applications", "municipality_id": application.municipality_id, "batch_id": batch.id,
                      "officer_id": other.id, "candidacy_id": other.candidacies[0].id, "change_id": change.id, "job_id": job.id,
                      "appointment_id": other.appointments[0].id, "team_id": team.id,
                      "trip_id": trip.id, "receipt_id": claim.receipts[0].id, "inquiry_id": inquiry.id,
                      "number": phase.number, "token": token, "activity_id": activity.id,
                      "message_id": inquiry.messages[-1].id, "attachment_id": inquiry.messages[-1].attachments[0].id,
                      "mail_id": db.session.scalar(select(InboundMail.id)), "status_token": inquiries.status_url(inquiry).rsplit("/", 1)[1],
                      "calendar_token": calendar_feed.renew(users[OFFICER], actor=None)}
            assert mailed.outcome == "thread"
            document = documents.issue("appointment", other.appointments[0], batch=None, actor_id=None)
            document_batch = DocumentBatch(kind="appointment", phase=phase, subject_ids=[], created_by_id=None)
            db.session.add(document_batch)
            db.session.flush()
            order = db.session.scalar(select(ApprovalAction.id).order_by(ApprovalAction.id).limit(1))
            ordered = make_trip(team, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
            travel.review_request(ordered, "approve", actor=make_user(Role.FINANCE))
            from banso import observability

            observability.heartbeat(queue.connection())
            records.ensure_files()
            record_file = db.session.scalar(select(RecordFile).where(RecordFile.disposition == "transfer").limit(1))
            record_file.status = "due"
            records.transfer(record_file)
            asked = records.receive({"kind": "disclosure", "person_kind": "inquirer", "email": "inquirer-secret@example.jp",
                                     "requester": "問合 太郎"}, actor=users[STAFF])
            result |= {"record_file_id": record_file.id, "personal_request_id": asked.id,
                       "ordered_trip_id": ordered.id,
                       "approval_case_id": approvals.open_case("claim", trip.id).id,"document_id": document.id, "document_batch_id": document_batch.id, "template_kind": "appointment",
                       "approval_action_id": order or 999_999}
            db.session.commit()
        world.redis = RedisSnapshot(redis_url)
        yield result


@pytest.mark.parametrize("method,path,allowed", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
@pytest.mark.parametrize("role", [None, ADMIN, STAFF, FINANCE, OFFICER])
def test_route_by_role(app, client, ids, role, method, path, allowed):
    url = path.format(**ids)
    if role:
        login(client, f"{role}@banso.example")
    response = client.open(url, method=method)
    if allowed == PUBLIC or (role and role in allowed):
        # 422: allowed in, and the empty form shown again with its messages (the reply form)
        assert response.status_code in (200, 286, 302, 422), (role, url, response.status_code)
        if response.status_code == 302:
            assert "/login" not in response.location
    elif role is None:
        assert response.status_code == 302 and "/login" in response.location
    else:
        assert response.status_code == 403
        body = response.get_data(as_text=True)
        assert "この画面を表示する権限がありません" in body
        assert "target@banso.example" not in body and "secret@example.lg.jp" not in body
        assert "other-officer@example.go.jp" not in body and "team-secret@example.lg.jp" not in body
        assert "inquirer-secret@example.jp" not in body


def test_every_route_is_in_the_table(app):
    covered = {p.split("?")[0].split("{")[0] for _, p, _ in ROUTES}
    missing = []
    for rule in app.url_map.iter_rules():
        text = str(rule)
        if text in NOT_IN_TABLE or any(text.startswith(n) for n in NOT_IN_TABLE if n.endswith("/")):
            continue
        prefix = text.split("<")[0]
        if prefix not in covered:
            missing.append(text)
    assert missing == [], f"routes without an access rule in the table: {missing}"


def test_menus_follow_the_role(app, client, ids):
    login(client, "officer@banso.example")
    body = client.get("/").get_data(as_text=True)
    assert "利用者管理" not in body and "監査ログ" not in body
    client.post("/logout")
    login(client, "admin@banso.example")
    body = client.get("/").get_data(as_text=True)
    assert "利用者管理" in body and "監査ログ" in body and "期・日程" in body


def test_no_template_decides_permissions():
    """Templates ask the area's policy (``may.travel.may_review_request(trip, current_user)``); a role name compared
    in a template is a second, drifting copy of a permission rule (banso/policies)."""
    import re
    from pathlib import Path

    import banso

    decides = re.compile(r"has_role|current_user\.role\b(?!_label)|\brole\s*(==|!=|\bin\b)")
    found = []
    for template in sorted((Path(banso.__file__).parent / "templates").rglob("*.html")):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            for tag in re.findall(r"{[%{](.*?)[%}]}", line):
                if decides.search(tag):
                    found.append(f"{template.name}:{number}: {tag.strip()}")
    assert found == []


@pytest.mark.parametrize("role", [None, ADMIN])
def test_odd_numbers_in_urls_and_parameters_are_404_or_400_never_500(app, client, ids, role):
    """Found: ``?phase=²`` (a digit to str.isdigit, not to int) and ids beyond 64 bits gave 500s, some anonymously.
    One parser (formatting.parse_id) and a bounded ``<int:…>`` on every route."""
    if role:
        login(client, f"{role}@banso.example")
    huge = "9" * 25
    for url in (f"/public/{huge}/results", "/public/2147483648/results", f"/travel/{huge}", f"/teams/{huge}",
                "/travel/?phase=²", "/teams/?phase=²&page=²", f"/teams/?page={huge}", "/officers/?ministry_id=１",
                f"/inquiries/?assignee={huge}&phase_id=²", "/admin/audit?actor=²", "/travel/rates?year=²&copy_from=²",
                f"/travel/new?team_id={huge}", "/applications/?field=²", f"/travel/?team_id={huge}&officer_id=²&month=²²²²-²²"):
        status = client.get(url).status_code
        assert status < 500, (url, status)
    assert client.get(f"/travel/{huge}").status_code in (302, 404)  # anonymous: to sign-in; signed in: not found
