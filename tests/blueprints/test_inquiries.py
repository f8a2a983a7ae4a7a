"""INQ-1 over HTTP: the public form (validation, honeypot, rate limit, markup shown as text), the
inbox as page and fragment, the officer's own inquiries."""
import pytest
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import Inquiry, Role
from banso.services import inquiries
from tests.conftest import login
from tests.factories import make_municipality, make_user

FORM = {"org_type": "municipality", "prefecture": "岩手県", "organisation": "テスト町 企画課", "name": "佐藤 由美",
        "email": "sato@example.lg.jp", "category": "application", "subject": "記入方法", "body": "教えてください。"}


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Inquiry))


def test_inq_1_a_visitor_gets_a_receipt_number(client, app):
    with app.app_context():
        code = make_municipality(name="遠野市").code
        db.session.commit()
    response = client.post("/contact", data=dict(FORM, municipality_code=code))
    assert response.status_code == 302 and response.location.endswith("/contact/done")
    page = client.get("/contact/done").get_data(as_text=True)
    assert "問-" in page and "sato@example.lg.jp" in page
    with app.app_context():
        inquiry = db.session.scalar(select(Inquiry))
        assert inquiry.municipality.name == "遠野市" and inquiry.channel == "form" and inquiry.submitted_by is None


def test_inq_1_errors_keep_what_was_typed_and_nothing_is_stored(client, app):
    response = client.post("/contact", data=dict(FORM, email="sato@", body="長い本文" * 10))
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "メールアドレスの形式が正しくありません" in body and "長い本文長い本文" in body
    assert client.post("/contact", data=dict(FORM, body="あ" * 10_001)).status_code == 422
    assert _count(app) == 0


def test_inq_1_the_honeypot_stores_nothing(client, app):
    response = client.post("/contact", data=dict(FORM, website="http://spam.example"))
    assert response.status_code == 302 and _count(app) == 0


def test_inq_1_the_form_answers_429_after_too_many_submissions(client, app):
    for _ in range(5):
        assert client.post("/contact", data=FORM).status_code == 302
    response = client.post("/contact", data=FORM)
    assert response.status_code == 429 and "受付を一時停止" in response.get_data(as_text=True)
    assert _count(app) == 5


def test_inq_1_markup_in_any_field_is_shown_as_text(client, app):
    client.post("/contact", data=dict(FORM, subject="<script>alert('x')</script>", name="<img src=x onerror=alert(1)>"))
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        inquiry_id = db.session.scalar(select(Inquiry.id))
        db.session.commit()
    login(client, "staff@banso.example")
    for url in ("/inquiries/", f"/inquiries/{inquiry_id}"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "&lt;script&gt;alert" in body and "<img src=x" not in body


def test_inq_1_the_inbox_answers_a_fragment_and_the_counts(client, app):
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        inquiries.receive(dict(FORM, subject="締切の確認"), channel="form", actor=None)
        inquiries.receive(dict(FORM, subject="旅費の精算", category="travel"), channel="form", actor=None)
        db.session.commit()
    login(client, "staff@banso.example")
    fragment = client.get("/inquiries/?q=締切", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "締切の確認" in fragment and "旅費の精算" not in fragment
    counts = client.get("/inquiries/counts").get_data(as_text=True)
    assert 'data-status="new">2<' in counts
    assert "問-" in client.get("/inquiries/?format=csv").get_data(as_text=True)


def test_the_inbox_row_names_the_senders_prefecture_as_the_inquiry_does(client, app):
    """Found: the inbox row left out the sender's prefecture that the inquiry's own page shows."""
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        inquiries.receive(dict(FORM, org_type="prefecture", prefecture="岩手県", organisation="政策地域部", subject="県からの照会"),
                          channel="form", actor=None)
        db.session.commit()
    login(client, "staff@banso.example")
    row = client.get("/inquiries/?q=県からの照会", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "岩手県 政策地域部" in row


def test_inq_1_staff_reply_and_self_assign_over_http(client, app):
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example", name="坂本 翔太")
        inquiry_id = inquiries.receive(FORM, channel="form", actor=None).id
        db.session.commit()
    login(client, "staff@banso.example")
    client.post(f"/inquiries/{inquiry_id}/assign", data={"assignee_id": "me"})
    client.post(f"/inquiries/{inquiry_id}/reply", data={"body": "①地方創生全般をお選びください。"})
    page = client.get(f"/inquiries/{inquiry_id}").get_data(as_text=True)
    assert "坂本 翔太" in page and "①地方創生全般をお選びください。" in page and "送信待ち" in page
    with app.app_context():
        assert db.session.get(Inquiry, inquiry_id).status == "answered"


def test_inq_1_an_officer_gets_a_prefilled_form_and_sees_only_their_own(client, app):
    with app.app_context():
        make_user(Role.OFFICER, email="ishida@banso.example", name="石田 健一")
        inquiries.receive(dict(FORM, subject="他人の質問"), channel="form", actor=None)
        db.session.commit()
    login(client, "ishida@banso.example")
    form = client.get("/contact").get_data(as_text=True)
    assert 'value="石田 健一"' in form and 'value="ishida@banso.example"' in form
    client.post("/contact", data=dict(FORM, org_type="officer", name="石田 健一", email="ishida@banso.example",
                                      category="travel", subject="宿泊費の上限"))
    mine = client.get("/inquiries/mine").get_data(as_text=True)
    assert "宿泊費の上限" in mine and "他人の質問" not in mine
    assert client.get("/inquiries/").status_code == 403


@pytest.mark.parametrize("upload,message", [
    (("broken.eml", b"\x00\x01"), "メールファイルを読み取れませんでした"),
    (("mail.txt", b"From: a@example.jp\r\n\r\nbody"), ".eml 形式のファイル"),
])
def test_inq_1_a_broken_eml_is_a_clear_error(client, app, upload, message):
    import io

    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        db.session.commit()
    login(client, "staff@banso.example")
    response = client.post("/inquiries/import", data={"file": (io.BytesIO(upload[1]), upload[0])}, content_type="multipart/form-data")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _count(app) == 0


def test_inq_1_corrected_mistakes_do_not_count_against_the_limit(client, app):
    for _ in range(6):
        assert client.post("/contact", data=dict(FORM, email="sato@")).status_code == 422
    assert client.post("/contact", data=FORM).status_code == 302


def test_inq_1_merging_a_citizens_inquiry_into_an_officers_shows_the_officer_only_their_own(client, app):
    """Found: after staff merged a citizen's duplicate into an inquiry an officer had filed, the officer's page
    showed the citizen's messages."""
    with app.app_context():
        officer = make_user(Role.OFFICER, email="officer@banso.example")
        staff = make_user(Role.SECRETARIAT)
        own = inquiries.receive(dict(FORM, subject="旅費の精算について", body="支援官からの質問です。"), channel="form", actor=officer)
        citizen = inquiries.receive(dict(FORM, subject="旅費の精算について", body="市民の個人的な相談です。", email="citizen@example.jp"),
                                    channel="form", actor=None)
        inquiries.merge(citizen, own, actor=staff)
        db.session.commit()
        own_id = own.id
    login(client, "officer@banso.example")
    page = client.get(f"/inquiries/mine/{own_id}").get_data(as_text=True)
    assert "支援官からの質問です。" in page
    assert "市民の個人的な相談です。" not in page and "citizen@example.jp" not in page


def test_inq_1_the_forms_limit_holds_while_redis_is_down(client, app):
    """Found: the public form's limit let everything through while Redis was down. The database counts instead."""
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0", EMBEDDED_REDIS=False)  # nothing listens there
    app.extensions.pop("banso_redis", None)
    try:
        statuses = [client.post("/contact", data=dict(FORM, subject=f"質問{i}")).status_code for i in range(7)]
    finally:
        app.extensions.pop("banso_redis", None)
    assert statuses[:5] == [302] * 5 and statuses[5:] == [429, 429]
    assert _count(app) == 5


def test_inq_1_the_contact_form_and_a_reply_sent_twice_arrive_once(client, app):
    """Found: the contact form and replies, sent twice, made two of each."""
    assert client.post("/contact", data=dict(FORM, submission_key="contact-key-1")).status_code == 302
    assert client.post("/contact", data=dict(FORM, submission_key="contact-key-1")).status_code == 302
    assert _count(app) == 1
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        inquiry_id = db.session.scalar(select(Inquiry.id))
        db.session.commit()
    login(client, "staff@banso.example")
    for _ in range(2):
        assert client.post(f"/inquiries/{inquiry_id}/reply", data={"body": "回答します。", "submission_key": "reply-key-1"}).status_code == 302
    with app.app_context():
        from banso.models import InquiryMessage

        assert db.session.scalar(select(func.count()).select_from(InquiryMessage).where(InquiryMessage.kind == "reply")) == 1


def test_the_public_form_reports_every_problem_at_once_marks_what_is_required_and_gives_the_number_to_call(client, app):
    """Found: one error per submit, no required marks, and 「お電話で」 with no number given."""
    import re

    page = client.get("/contact").get_data(as_text=True)
    assert page.count('<span class="required">必須</span>') >= 6  # the legend and each required field
    assert "03-0000-0000" in page  # the secretariat's contact (BANSO_SECRETARIAT_CONTACT)
    response = client.post("/contact", data={"org_type": "municipality", "email": "not-an-address", "category": "general"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "入力内容を確認してください（5件）" in body
    summary = re.search(r'<ul class="error-summary">(.*?)</ul>', body, re.S).group(1)
    for target, words in (("municipality_code", "市区町村を選ぶか"), ("name", "お名前を入力"), ("email", "形式が正しくありません"),
                          ("subject", "件名を入力"), ("body", "お問い合わせ内容を入力")):
        assert f'href="#{target}"' in summary and words in summary
        assert words in body.split('<ul class="error-summary">')[1].split("</ul>", 1)[1]  # and beside the field itself
    assert _count(app) == 0
