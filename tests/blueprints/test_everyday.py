"""Small things a secretariat hits in its first weeks (issue: everyday work without friction, defect 8)."""
import re
from datetime import date

from banso.extensions import db
from banso.formatting import rule_tagged
from banso.services import inquiries, travel
from tests.conftest import login
from tests.factories import make_phase, make_publication, make_rates, make_team, make_trip, make_user


def _in_db(app, fn):
    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def test_finances_approval_comment_is_shown_on_the_trip(app, client):
    """Found: a comment given with an approval was stored and shown nowhere (only a return's or a rejection's)."""
    def build():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        trip = make_trip(team, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
        finance = make_user("finance")
        travel.review_request(trip, "approve", "宿泊は駅前の定額プランでお願いします。", actor=finance)
        return trip.id, make_user("secretariat").email
    trip_id, email = _in_db(app, build)
    login(client, email)
    page = client.get(f"/travel/{trip_id}").get_data(as_text=True)
    assert "会計担当のコメント" in page and "宿泊は駅前の定額プランでお願いします。" in page


def test_money_charts_draw_what_is_spent_in_one_shade_everywhere_and_label_amounts_with_commas(app, client):
    """Found: the monthly chart drew 支出済 dark and the team and prefecture charts drew it light; bar labels read
    566900."""
    def build():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        trip = make_trip(team, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
        travel.review_request(trip, "approve", actor=make_user("finance"))
        return team.phase.number, make_user("finance").email
    number, email = _in_db(app, build)
    login(client, email)
    page = client.get(f"/travel/budget?phase={number}").get_data(as_text=True)
    legends = re.findall(r'<span class="chart__key chart__key--([ab])"></span>([^<\s]+)', page)
    shade_of = {}
    for shade, label in legends:
        name = "支出済" if label.startswith("支出済") else "執行予定" if label.startswith("執行予定") else None
        if name:
            shade_of.setdefault(name, set()).add(shade)
    assert shade_of["支出済"] == {"b"} and shade_of["執行予定"] == {"a"}, legends
    values = re.findall(r'class="chart__value">([\d,]+)<', page)
    assert values and all(int(v.replace(",", "")) < 1000 or "," in v for v in values)


def test_a_prefectural_senders_prefecture_is_shown_on_the_inquiry(app, client):
    def build():
        return inquiries.receive({"org_type": "prefecture", "prefecture": "長野県", "organisation": "企画振興部",
                                  "category": "general", "name": "県 担当", "email": "ken@pref.nagano.example",
                                  "subject": "照会", "body": "本文"}, channel="form", actor=None).id, make_user().email
    inquiry_id, email = _in_db(app, build)
    login(client, email)
    page = client.get(f"/inquiries/{inquiry_id}").get_data(as_text=True)
    assert "都道府県・長野県・企画振興部" in page


def test_a_rules_number_is_a_tag_beside_the_sentence_not_inside_it(app, client):
    """Found: 「TEAM-5: …」 and 「担当者氏名: APP-8: …」 read as part of the sentence."""
    shown = str(rule_tagged("担当者氏名: APP-8: 担当者氏名を入力してください。"))
    assert shown.startswith("担当者氏名: 担当者氏名を入力してください。") and shown.endswith('>APP-8</span>')
    assert str(rule_tagged("<b>TEAM-5：現地訪問</b>")) == '&lt;b&gt;現地訪問&lt;/b&gt; <span class="rule-tag" title="実施要領の規程">TEAM-5</span>'
    _in_db(app, make_phase)
    login(client, _in_db(app, lambda: make_user().email))
    form = client.get("/applications/new?phase=2").get_data(as_text=True)
    assert '<span class="rule-tag">APP-7</span>' in form and "APP-7:" not in form and "APP-9:" not in form
    refused = client.post("/applications/new?phase=2", data={"municipality": "", "received_at": "2026-01-05T10:00"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and not re.search(r"(APP|TEAM|OFF|TRV|INQ|PUB)-\d+[:：]", body)


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)  # tags and their attributes (input values, datetime="…") are not read


def test_one_date_rule_on_every_page_and_letter_wareki_not_iso(app, client):
    """Found: dates switched between ISO and 和暦 on one page (an inquiry's 受付 2025-12-24 17:00 beside its
    回答期限 令和7年12月29日)."""
    from banso.models import Notification

    def build():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        trip = make_trip(team, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
        inquiry = inquiries.receive({"org_type": "other", "category": "general", "name": "問合 太郎", "email": "taro@example.jp",
                                     "subject": "件名", "body": "本文"}, channel="form", actor=None)
        staff = make_user()
        inquiries.reply(inquiry, "回答です。", actor=staff)
        return trip.id, inquiry.id, team.id, staff.email
    trip_id, inquiry_id, team_id, email = _in_db(app, build)
    login(client, email)
    for path in (f"/inquiries/{inquiry_id}", f"/travel/{trip_id}", f"/teams/{team_id}", "/inquiries/", "/admin/notifications"):
        response = client.get(path)
        if response.status_code != 200:
            continue
        text = _visible_text(response.get_data(as_text=True))
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), (path, re.findall(r".{20}20\d\d-\d\d-\d\d.{10}", text)[:3])
        assert "令和" in text, path
    with app.app_context():
        letters = db.session.scalars(db.select(Notification.body)).all()
    assert letters and not any(re.search(r"\b20\d\d-\d\d-\d\d\b", body) for body in letters)
