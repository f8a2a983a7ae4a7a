"""Issue 35 on a settable clock: FY2025's files — the 旅行命令簿 and claims (5 years, 廃棄), the 決定通知 (10 years,
移管) and the inquiries of someone with an open 開示請求 (held). On 2031-04-01 the run lists the first for consent and
deletes nothing; after the consent is recorded by one person and approved by another its rows and stored files are
gone, the register keeps its row and the money stays as the books had it; the held file is skipped with its reason;
on 2036-04-01 the 決定通知 yield a 移管 package whose manifest verifies. An officer's 利用停止 anonymises their private
fields and keeps their claims; their 開示 lists every row that refers to them."""
import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from banso.clock import JST
from banso.extensions import db
from banso.models import (AuditEntry, Inquiry, IssuedDocument, Officer, Receipt, RecordFile, Role, TripRequest)
from banso.services import (InputError, NotPermitted, WrongState, documents, files, inquiries, records, travel)
from tests.factories import make_phase, make_publication, make_rates, make_team, make_trip, make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def _fy2025_phase():
    return make_phase(number=1, name="第1期", fiscal_year=2025, population_reference_date=date(2024, 1, 1),
                      survey_opens_at=datetime(2024, 12, 1, 10, tzinfo=JST), answer_deadline_at=datetime(2024, 12, 24, 17, tzinfo=JST),
                      recruitment_opens_at=datetime(2025, 1, 13, 10, tzinfo=JST), recruitment_closes_at=datetime(2025, 2, 13, 17, tzinfo=JST),
                      matching_deadline_at=datetime(2025, 3, 13, 17, tzinfo=JST), publication_at=datetime(2025, 3, 24, 10, tzinfo=JST),
                      support_start=date(2025, 4, 1), support_end=date(2026, 3, 31))


@pytest.fixture
def year(ctx, clock):
    """FY2025 as it happened: a team, a settled trip with its receipt, a 決定通知, an inquiry with its attachment."""
    clock.at = datetime(2024, 12, 20, 10, tzinfo=JST)  # the answer comes in time
    make_rates(2025)
    phase = _fy2025_phase()
    team = make_team(phase, received_at=clock.at)
    publication = make_publication(phase, status="notified")
    clock.at = datetime(2025, 5, 1, 10, tzinfo=JST)
    staff, finance, admin, admin2 = (make_user(Role.SECRETARIAT), make_user(Role.FINANCE), make_user(Role.ADMIN),
                                     make_user(Role.ADMIN))
    trip = make_trip(team, actor=staff, depart_on=date(2025, 6, 10), return_on=date(2025, 6, 11))
    travel.review_request(trip, "approve", actor=finance)
    clock.at = datetime(2025, 6, 20, 10, tzinfo=JST)
    lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
    travel.file_claim(trip, lines, [("receipt.pdf", PDF + b"fy2025")], actor=staff)
    travel.review_claim(trip, "settle", {}, actor=finance)
    publication.status, publication.released_at = "released", clock.at
    document = documents.issue("decision", team.application, batch=None, actor_id=staff.id)
    inquiry = inquiries.receive({"org_type": "other", "category": "general", "name": "問合 花子", "email": "hanako@example.jp",
                                 "subject": "制度について", "body": "教えてください"}, channel="form", actor=None)
    return {"phase": phase, "team": team, "trip": trip, "staff": staff, "finance": finance, "admin": admin, "admin2": admin2,
            "document": document, "inquiry": inquiry, "receipt": trip.claim.receipts[0].sha256, "publication": publication}


def _file(kind, fy=2025):
    return db.session.scalar(select(RecordFile).where(RecordFile.kind == kind, RecordFile.fiscal_year == fy))


def test_the_year_of_records_from_listing_to_destruction_and_transfer(year, clock):
    spent_before = travel.figures(year["phase"]).spent
    records.ensure_files()
    travel_file, documents_file, inquiries_file = _file("travel"), _file("documents"), _file("inquiries")
    assert (travel_file.starts_on, travel_file.expires_on) == (date(2026, 4, 1), date(2031, 3, 31))
    assert documents_file.expires_on == date(2036, 3, 31) and documents_file.disposition == "transfer"
    assert travel_file.name == "令和7年度 旅行命令簿・旅費精算（伴走支援）"
    request = records.receive({"kind": "disclosure", "person_kind": "inquirer", "email": "hanako@example.jp",
                               "requester": "問合 花子"}, actor=year["staff"])
    assert (request.due_on - request.received_on).days == 30
    assert records.files_holding(request) == [inquiries_file] and inquiries_file.hold_reason.startswith("開示請求")
    assert not travel_file.hold_reason  # only the files holding her records

    clock.at = datetime(2031, 4, 1, 9, tzinfo=JST)
    done = records.run(date(2031, 4, 1))
    assert travel_file.status == "due" and done["destroyed"] == 0
    assert db.session.get(TripRequest, year["trip"].id) is not None  # listed for consent, nothing deleted
    with pytest.raises(WrongState):
        records.destroy(travel_file)
    records.record_consent(travel_file, date(2031, 5, 1), actor=year["staff"])
    with pytest.raises(NotPermitted):
        records.approve_consent(travel_file, actor=year["staff"])  # the same person
    records.approve_consent(travel_file, actor=year["admin"])
    records.run(date(2031, 4, 20))
    assert travel_file.status == "consented" and "同意の日の後" in travel_file.skipped  # not before the consent's day
    records.record_consent(inquiries_file, date(2031, 5, 1), actor=year["staff"])
    records.approve_consent(inquiries_file, actor=year["admin"])
    done = records.run(date(2031, 5, 2))
    assert done["destroyed"] == 1 and travel_file.status == "destroyed"
    assert db.session.scalar(select(func.count()).select_from(TripRequest)) == 0
    assert db.session.scalar(select(func.count()).select_from(Receipt)) == 0
    assert not files.path(year["receipt"]).exists()
    assert travel_file.removed["rows"]["旅行命令（出張申請）"] == 1 and travel_file.removed["files"] == 1
    assert travel.figures(year["phase"]).spent == spent_before  # the books keep the year's money
    assert travel.check_kept(year["phase"]) == []  # and the nightly check does not call the kept money stale
    assert "廃棄済" in records.register_row(travel_file)["保存期間が満了したときの措置"]  # the tombstone
    assert inquiries_file.status == "consented" and inquiries_file.skipped.startswith("保留中: 開示請求")
    assert db.session.get(Inquiry, year["inquiry"].id) is not None
    assert _file("audit").status != "destroyed"

    clock.at = datetime(2036, 4, 1, 9, tzinfo=JST)
    done = records.run(date(2036, 4, 1))
    assert documents_file.status == "transferred" and done["transferred"] >= 1
    package = files.read(documents_file.package_sha256)
    assert records.verify_package(package) == []
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = archive.namelist()
        assert "metadata.csv" in names and "records/issued_documents.csv" in names
        assert any(n.startswith("files/") and n.endswith(".docx") for n in names)
    tampered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            target.writestr(name, source.read(name) + (b"x" if name == "metadata.csv" else b""))
    assert records.verify_package(tampered.getvalue()) == ["ハッシュが違う: metadata.csv"]
    assert db.session.get(IssuedDocument, year["document"].id) is not None  # 移管: the package goes, Banso keeps its copy


def test_an_faq_answer_outlives_the_inquiry_it_came_from(year, clock):
    """The inquiries' file destroyed at its expiry: an FAQ answer promoted from one of them stays, without the link."""
    from banso.models import FaqEntry

    from banso.models import InquiryAttachment, Notification
    from banso.models.notification import notification_attachments
    from banso.services import notifications

    inquiry_id = year["inquiry"].id
    kept = files.store(b"%PDF-1.4 attached to a reply")
    attachment = InquiryAttachment(message_id=year["inquiry"].messages[0].id, filename="資料.pdf", sha256=kept)
    db.session.add(attachment)
    db.session.flush()
    reply = notifications.notify(key="records-reply", kind="inquiry_reply", recipient_email="hanako@example.jp", subject="回答",
                                 body="回答します")
    reply_id = reply.id
    db.session.execute(notification_attachments.insert().values(notification_id=reply_id, attachment_id=attachment.id))
    year["inquiry"].messages[0].notification_id = reply_id
    faq = FaqEntry(category="general", question="制度について", answer="こちらをご覧ください。", source_inquiry_id=inquiry_id)
    db.session.add(faq)
    db.session.flush()
    records.ensure_files()
    file = _file("inquiries")
    records.run(date(2029, 4, 1))
    records.record_consent(file, date(2029, 4, 1), actor=year["staff"])
    records.approve_consent(file, actor=year["admin"])
    records.run(date(2029, 4, 2))
    assert file.status == "destroyed" and db.session.get(Inquiry, inquiry_id) is None
    db.session.refresh(faq)
    assert faq.answer == "こちらをご覧ください。" and faq.source_inquiry_id is None
    assert not files.path(kept).exists() and db.session.get(Notification, reply_id) is not None  # the notices' file stays
    notices = _file("notices")
    records.record_consent(notices, date(2029, 4, 1), actor=year["staff"])
    records.approve_consent(notices, actor=year["admin"])
    records.run(date(2029, 4, 2))
    assert notices.status == "destroyed" and db.session.get(Notification, reply_id) is None


def test_a_file_still_referred_to_is_not_destroyed_and_nothing_changes(year, clock):
    """The schedule set so that the officers' file (appointments) ends first while the documents naming them stay: the
    廃棄 is refused whole, naming the table that still refers to it."""
    rule = records.rule_for("teams")
    records.update_rule(rule, {"major": rule.major, "middle": rule.middle, "name": rule.name, "years": 1, "disposition": "destroy"},
                        actor=year["admin"])
    records.ensure_files()
    file = _file("teams")
    assert file.expires_on == date(2027, 3, 31) and file.disposition == "destroy"
    records.run(date(2027, 4, 1))
    records.record_consent(file, date(2027, 4, 1), actor=year["staff"])
    records.approve_consent(file, actor=year["admin"])
    with pytest.raises(WrongState, match="参照している"):
        records.destroy(file)
    assert file.status == "consented" and db.session.get(type(year["team"]), year["team"].id) is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "update_retention"))
    assert "1年" in entry.summary and entry.before["years"] == 10


def test_extension_and_hold_and_the_audit_file_waits_for_what_it_describes(year, clock):
    records.ensure_files()
    rule = records.rule_for("audit")
    records.update_rule(rule, {"major": rule.major, "middle": rule.middle, "name": rule.name, "years": 1, "disposition": "destroy"},
                        actor=year["admin"])
    audit_file = _file("audit")
    records.run(date(2027, 4, 1))
    assert audit_file.status == "due" and "保存中のため、監査ログは廃棄しません" in audit_file.skipped
    travel_file = _file("travel")
    with pytest.raises(InputError):
        records.extend(travel_file, 2, "", actor=year["admin"])
    records.extend(travel_file, 2, "会計検査院の検査に備えるため", actor=year["admin"])
    assert travel_file.years == 7 and travel_file.expires_on == date(2033, 3, 31)
    records.set_hold(travel_file, "訴訟係属中（令和13年（行ウ）第1号）", actor=year["admin"])
    records.run(date(2033, 4, 1))
    assert travel_file.status == "due" and travel_file.skipped.startswith("保留中: 訴訟")


def test_an_officers_suspension_anonymises_private_fields_and_keeps_claims_and_money(year, clock):
    officer = year["trip"].travellers[0].officer
    budget = travel.figures(year["phase"])
    claimed = year["trip"].claim.claimed_yen
    officer.phone, officer.home_town = "090-1234-5678", "盛岡市"
    request = records.receive({"kind": "suspension", "person_kind": "officer", "officer_id": officer.id,
                               "requester": officer.name}, actor=year["staff"])
    with pytest.raises(NotPermitted):
        records.decide(request, True, "", actor=year["staff"])
    records.decide(request, True, "利用目的の達成", actor=year["admin"])
    db.session.refresh(officer)
    assert officer.phone == "" and officer.home_town == "" and officer.birth_date.month == 1 and officer.birth_date.day == 1
    assert officer.name and officer.email and officer.anonymised_at is not None  # kept: the 旅行命令簿 names them
    assert year["trip"].claim.claimed_yen == claimed and travel.figures(year["phase"]) == budget


def test_an_officers_disclosure_lists_every_row_that_refers_to_them(year):
    """Checked against a crawl of every table whose foreign key names the officer (or their account)."""
    officer = year["trip"].travellers[0].officer
    officer.user = make_user(Role.OFFICER, email="officer-self@example.go.jp")
    db.session.flush()
    request = records.receive({"kind": "disclosure", "person_kind": "officer", "officer_id": officer.id, "requester": officer.name},
                              actor=year["staff"])
    expected = {}
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            target = fk.column.table.name
            wanted = officer.id if target == "officers" else officer.user_id if target == "users" else None
            if wanted is not None:
                count = db.session.scalar(select(func.count()).select_from(table).where(fk.parent == wanted))
                if count:
                    expected[table.name] = max(expected.get(table.name, 0), count)
    year["publication"].status, year["publication"].released_at = "notified", None  # before the release, the team they are on is not disclosed (PUB-2)
    db.session.flush()
    with zipfile.ZipFile(io.BytesIO(records.disclosure_package(request))) as archive:
        assert "team_memberships" not in load_workbook(io.BytesIO(archive.read("保有個人情報.xlsx"))).sheetnames
    year["publication"].status, year["publication"].released_at = "released", datetime(2025, 3, 24, 10, tzinfo=JST)
    db.session.flush()
    package = records.disclosure_package(request)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        book = load_workbook(io.BytesIO(archive.read("保有個人情報.xlsx")))
    for name, at_least in expected.items():
        assert name[:31] in book.sheetnames, name
        assert book[name[:31]].max_row - 1 >= at_least, name
    assert {"trip_travellers", "team_memberships", "officer_candidacies", "officers"} <= set(book.sheetnames)
    officers = book["officers"]
    assert officer.email in [c.value for c in officers[2]]
    assert (request.due_on - request.received_on).days == 30
    records.extend_due(request, 30, "調査に時間を要するため", actor=year["admin"])
    assert (request.due_on - request.received_on).days == 60
    with pytest.raises(InputError):
        records.extend_due(request, 10, "もう一度", actor=year["admin"])


def test_officers_are_anonymised_a_year_after_their_last_phase(year, clock):
    officer = year["trip"].travellers[0].officer
    officer.phone = "090-0000-0000"
    assert records.anonymise_due(date(2026, 6, 1)) == 0  # the phase ended 2026-03-31: not a year yet
    done = records.daily(date(2027, 4, 2))  # the worker's daily round
    assert done["anonymised"] >= 1 and done["made"] >= 1
    db.session.refresh(officer)
    assert officer.phone == "" and db.session.get(Officer, officer.id).anonymised_at is not None


def test_every_table_is_in_a_kind_of_record_or_named_as_not_one(app):
    """A new table must be given its place in the 保存期間表 (a kind's part) or be named as not a record, with why."""
    from banso.services.records.kinds import KINDS, NOT_RECORDS

    in_kinds = {part.table.name for kind in KINDS.values() for part in kind.parts}
    tables = {table.name for table in db.metadata.sorted_tables}
    assert tables - in_kinds - set(NOT_RECORDS) == set()
    assert in_kinds & set(NOT_RECORDS) == set() and set(NOT_RECORDS) <= tables
