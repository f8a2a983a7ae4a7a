import re

from sqlalchemy import select

from banso.extensions import db
from banso.models import Officer, ProfileChangeRequest, Role
from tests.conftest import login
from tests.factories import make_officer, make_phase, make_user


def _officer_signed_in(app, client):
    with app.app_context():
        user = make_user(Role.OFFICER)
        officer = make_officer(make_phase(), status="selected", user=user)
        other = make_officer(email="other@example.go.jp", name="他人 次郎")
        ids = (officer.id, other.id, user.email)
        db.session.commit()
    login(client, ids[2])
    return ids


def test_off_5_an_officer_cannot_change_official_fields_over_http(app, client):
    officer_id, _, _ = _officer_signed_in(app, client)
    response = client.post("/officers/me", data={"introduction": "よろしくお願いします。", "post_title": "局長",
                                                  "grade_band": "指定職", "ministry_id": "1", "email": "mine@example.go.jp"})
    assert response.status_code == 302
    with app.app_context():
        officer = db.session.get(Officer, officer_id)
        assert officer.introduction == "よろしくお願いします。" and officer.email == "mine@example.go.jp"
        assert officer.post_title == "課長補佐" and officer.grade_band == "課長補佐級"
    assert client.get(f"/officers/{officer_id}/edit").status_code == 403


def test_off_5_an_officer_cannot_see_another_officer(app, client):
    officer_id, other_id, _ = _officer_signed_in(app, client)
    assert client.get(f"/officers/{other_id}").status_code == 403
    assert client.get(f"/officers/{officer_id}").status_code == 302  # their own: to マイプロフィール
    assert client.get("/officers/").status_code == 403
    page = client.get("/officers/me").get_data(as_text=True)
    assert "other@example.go.jp" not in page and "他人 次郎" not in page


def test_off_5_change_request_over_http_then_approved_by_staff(app, client):
    officer_id, _, _ = _officer_signed_in(app, client)
    response = client.post("/officers/me/changes", data={"post_title": "企画官", "reason": "人事異動", "effective_on": "2026-10-01"})
    assert response.status_code == 302
    with app.app_context():
        request_id = db.session.scalar(select(ProfileChangeRequest.id))
        staff = make_user(Role.SECRETARIAT).email
        db.session.commit()
    client.post("/logout")
    login(client, staff)
    assert "企画官" in client.get("/officers/changes").get_data(as_text=True)
    client.post(f"/officers/changes/{request_id}", data={"decision": "approve", "note": ""})
    with app.app_context():
        assert db.session.get(Officer, officer_id).post_title == "企画官"


def test_off_4_the_profile_shows_the_share_warning(app, client):
    _officer_signed_in(app, client)
    client.post("/officers/me", data={"effort_percent": "35"})
    assert "OFF-4" in client.get("/officers/me").get_data(as_text=True)


def test_finance_sees_names_and_ministries_only(app, client):
    with app.app_context():
        make_officer(make_phase(), status="selected", name="会計 確認", email="hidden@example.go.jp", phone="03-9999-0000")
        finance = make_user(Role.FINANCE).email
        db.session.commit()
    login(client, finance)
    body = client.get("/officers/").get_data(as_text=True)
    assert "会計 確認" in body and "国土交通省" in body
    assert "hidden@example.go.jp" not in body and "課長補佐" not in body
    exported = client.get("/officers/?format=csv").get_data(as_text=True)
    assert exported.splitlines()[0].lstrip("\ufeff") == "氏名,府省庁" and "hidden@example.go.jp" not in exported


def test_staff_register_an_officer_and_a_bad_form_is_422(app, client):
    with app.app_context():
        make_phase()
        ministry_id = str(make_officer().ministry_id)  # also loads the ministries
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    bad = client.post("/officers/new", data={"name": "新規 一人", "name_kana": "しんき ひとり"})
    assert bad.status_code == 422 and "府省庁を選んでください" in bad.get_data(as_text=True)
    ok = client.post("/officers/new", data={"name": "新規 一人", "name_kana": "シンキ ヒトリ", "ministry_id": ministry_id,
                                             "grade_band": "係長級", "job_type": "事務官", "sex": "女性", "birth_date": "1992-02-02",
                                             "workplace_type": "本省", "officer_type": "officer", "email": "new@example.go.jp", "apply": "1"})
    assert ok.status_code == 302
    detail = client.get(ok.location).get_data(as_text=True)
    assert "新規 一人" in detail and "応募" in detail


def test_breakdown_page_draws_charts_with_numbers(app, client):
    with app.app_context():
        phase = make_phase()
        make_officer(phase, status="selected", sex="女性")
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    body = client.get("/officers/breakdown?phase=2").get_data(as_text=True)
    assert "<svg" in body and "① 性別" in body and "女性" in body


def test_the_profile_shows_the_team_and_teammates_cards(app, client):
    from tests.factories import make_publication, make_team

    with app.app_context():
        team = make_team()
        make_publication(team.phase)
        user = make_user(Role.OFFICER)
        team.current_members[0].officer.user = user
        mate = team.current_members[1].officer
        mate_email, email = mate.email, user.email
        db.session.commit()
    login(client, email)
    page = client.get("/officers/me").get_data(as_text=True)
    assert "所属チーム" in page and mate_email in page


def test_off_5_finance_finds_officers_by_name_and_ministry_only(app, client):
    """Found: finance could filter the officer list on eligibility, candidacy, expertise, grade and type, and
    search e-mail addresses. Finance needs the travellers' names and ministries: other filters are ignored."""
    with app.app_context():
        phase = make_phase()
        make_officer(phase, status="assigned", name="配置 済子", email="hr-secret@example.go.jp", grade_band="課長級",
                     officer_type="secondee", expertise_fields=[9])
        make_officer(phase, status="applied", name="応募 中男")
        make_user(Role.FINANCE, email="finance@banso.example")
        db.session.commit()
        number = phase.number
    login(client, "finance@banso.example")

    def names(query):
        body = client.get(f"/officers/?{query}").get_data(as_text=True)
        return {name for name in ("配置 済子", "応募 中男") if name in body}

    assert names("q=配置") == {"配置 済子"}  # by name: yes
    assert names("q=hr-secret") == set()  # by e-mail address: no
    for hr_filter in ("grade=課長級", "officer_type=secondee", "field=9", "status=assigned", "status=ineligible",
                      f"phase={number}&status=assigned"):
        assert names(hr_filter) == {"配置 済子", "応募 中男"}, hr_filter
    export = client.get("/officers/?format=csv&grade=課長級").get_data(as_text=True)
    assert "応募 中男" in export and "hr-secret" not in export and "課長級" not in export


def _form_values(page: str) -> dict:
    """The officer form's values as the page carries them (what a browser sends back): inputs but radio buttons,
    chosen options, text areas."""
    import re

    form = page[page.index('<form method="post"'):]
    fields = dict(re.findall(r'<input(?![^>]*type="radio")[^>]*name="([a-z_-]+)"[^>]*value="([^"]*)"', form))
    for name, options in re.findall(r'<select[^>]*name="([a-z_]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = [o for o in re.findall(r"<option([^>]*)>", options) if "selected" in o]
        if chosen:
            fields[name] = re.search(r'value="([^"]*)"', chosen[0]).group(1)
    for name, text in re.findall(r'<textarea[^>]*name="([a-z_]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = text.strip()
    return fields


def _two_staff_on_one_officer(app, client, **officer):
    """An officer record and two staff members signed in, each in their own browser: (officer id, the second's)."""
    with app.app_context():
        officer_id = make_officer(**officer).id
        make_user(Role.SECRETARIAT, email="first@banso.example")
        make_user(Role.SECRETARIAT, email="second@banso.example")
        db.session.commit()
    second = app.test_client()
    login(client, "first@banso.example")
    login(second, "second@banso.example")
    return officer_id, second


def test_two_staff_editing_one_officer_the_second_save_never_overwrites_the_first(app, client):
    """Found: two staff editing the same officer record, the second save silently reverted the first."""
    officer_id, second = _two_staff_on_one_officer(app, client, post_title="課長補佐")

    def opened(browser):
        return _form_values(browser.get(f"/officers/{officer_id}/edit").get_data(as_text=True))

    first_form, second_form = opened(client), opened(second)
    assert first_form["version"] == second_form["version"] == "1"
    assert second.post(f"/officers/{officer_id}/edit", data=dict(second_form, post_title="課長")).status_code == 302
    stale = client.post(f"/officers/{officer_id}/edit", data=dict(first_form, phone="03-0000-0000"))
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "他の方が先に更新しました" in body and "役職「課長」" in body
    assert 'value="03-0000-0000"' in body  # what was typed is kept
    with app.app_context():
        saved = db.session.get(Officer, officer_id)
        assert saved.post_title == "課長" and saved.phone != "03-0000-0000" and saved.version == 2


def test_saving_again_from_the_409_page_keeps_the_colleagues_change_unless_overwriting_is_chosen_per_field(app, client):
    """Issue 31: saving again from the 409 page silently reverted the colleague's change (the page carried the new
    version with every field as first typed). Now each field typed differently from what is saved shows both, keeps
    the saved value, and overwriting it is an explicit, audited choice for that field."""
    from banso.models import AuditEntry

    officer_id, second = _two_staff_on_one_officer(app, client, post_title="課長補佐", phone="03-1111-1111")
    first_form = _form_values(client.get(f"/officers/{officer_id}/edit").get_data(as_text=True))
    second_form = _form_values(second.get(f"/officers/{officer_id}/edit").get_data(as_text=True))
    assert second.post(f"/officers/{officer_id}/edit", data=dict(second_form, post_title="課長")).status_code == 302
    stale = client.post(f"/officers/{officer_id}/edit", data=dict(first_form, phone="03-0000-0000"))
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "他の方が保存した内容: <strong>課長</strong>／あなたの入力: <strong>課長補佐</strong>" in page
    assert "他の方が保存した内容: <strong>03-1111-1111</strong>／あなたの入力: <strong>03-0000-0000</strong>" in page
    again = _form_values(page)
    assert again["post_title"] == "課長" and again["phone"] == "03-1111-1111"  # the saved values are in the fields
    # Saved again as it stands, with overwriting chosen for the phone only: the colleague's post title stays.
    assert client.post(f"/officers/{officer_id}/edit", data=dict(again, **{"conflict-phone": "mine",
                                                                          "conflict-post_title": "theirs"})).status_code == 302
    with app.app_context():
        saved = db.session.get(Officer, officer_id)
        assert saved.post_title == "課長" and saved.phone == "03-0000-0000"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "overwrite_after_conflict"))
        assert entry.after["fields"] == ["phone"] and entry.actor.email == "first@banso.example"


def test_staff_select_many_applicants_at_once_and_the_ineligible_are_named(app, client):
    """Gap: 300 applicants were selected for a phase one by one."""
    from banso.models import OfficerCandidacy

    with app.app_context():
        phase = make_phase()
        fit = [make_officer(phase) for _ in range(3)]
        regional = make_officer(phase, workplace_type="地方支分部局")
        ids = [o.id for o in fit + [regional]]
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    page = client.get("/officers/?phase=2").get_data(as_text=True)
    assert 'data-select-all="ids"' in page
    done = client.post("/officers/bulk", data={"phase": "2", "ids": [str(i) for i in ids], "status": "selected",
                                               "next": "/officers/?phase=2"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "3名を「選定」にしました" in text and "1名は「選定」にできませんでした" in text and "OFF-2" in text
    with app.app_context():
        statuses = dict(db.session.execute(db.select(OfficerCandidacy.officer_id, OfficerCandidacy.status)
                                           .where(OfficerCandidacy.officer_id.in_(ids))).all())
    assert [statuses[i] for i in ids] == ["selected", "selected", "selected", "applied"]


def test_expertise_is_chosen_with_checkboxes_so_one_click_never_wipes_earlier_choices(app, client):
    """Found: the expertise picker was a multi-select listbox where one click without Ctrl cleared the others."""
    with app.app_context():
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    page = client.get("/officers/new").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="expertise_fields"[^>]*>', page)
    assert len(boxes) == 26 and all('type="checkbox"' in b for b in boxes)
    assert "<select" not in page.split('name="expertise_fields"')[0][-300:]


def test_the_order_date_starts_as_the_support_start(app, client):
    """Found: 発令日 started empty, and the confirmation 「19名に併任を発令します」 came before the empty date was refused."""
    with app.app_context():
        make_phase()
        make_user(Role.SECRETARIAT, email="orders@banso.example")
        db.session.commit()
    login(client, "orders@banso.example")
    page = client.get("/appointments/?phase=2").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="order_date"[^>]*>', page).group(0)
    assert 'value="2026-04-01"' in field
