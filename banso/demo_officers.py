"""Demo officers: 第1期 180 officers; 第2期 308 applicants from 24 ministries → 278 selected
(8 of them 地方創生支援オフィサー), with their 併任発令. Fictional people."""
from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select

from banso.extensions import db
from banso.models import CandidacyStatus, Phase, ProfileChangeRequest, User
from banso.services import officers

SURNAMES = [("佐藤", "さとう"), ("鈴木", "すずき"), ("高橋", "たかはし"), ("田中", "たなか"), ("伊藤", "いとう"), ("渡辺", "わたなべ"),
            ("山本", "やまもと"), ("中村", "なかむら"), ("小林", "こばやし"), ("加藤", "かとう"), ("吉田", "よしだ"), ("山田", "やまだ"),
            ("佐々木", "ささき"), ("山口", "やまぐち"), ("松本", "まつもと"), ("井上", "いのうえ"), ("木村", "きむら"), ("林", "はやし"),
            ("清水", "しみず"), ("山崎", "やまざき"), ("森", "もり"), ("池田", "いけだ"), ("橋本", "はしもと"), ("阿部", "あべ"),
            ("石川", "いしかわ"), ("山下", "やました"), ("中島", "なかじま"), ("石井", "いしい"), ("小川", "おがわ"), ("前田", "まえだ"),
            ("岡田", "おかだ"), ("長谷川", "はせがわ"), ("藤田", "ふじた"), ("後藤", "ごとう"), ("近藤", "こんどう"), ("村上", "むらかみ"),
            ("遠藤", "えんどう"), ("青木", "あおき"), ("坂本", "さかもと"), ("西村", "にしむら"), ("福田", "ふくだ"), ("太田", "おおた")]
GIVEN_M = [("健一", "けんいち"), ("大輔", "だいすけ"), ("拓也", "たくや"), ("直樹", "なおき"), ("翔太", "しょうた"), ("隆", "たかし"),
           ("誠", "まこと"), ("浩二", "こうじ"), ("亮", "りょう"), ("智也", "ともや"), ("雄一", "ゆういち"), ("和也", "かずや")]
GIVEN_F = [("美咲", "みさき"), ("由紀", "ゆき"), ("直子", "なおこ"), ("恵", "めぐみ"), ("彩", "あや"), ("智子", "ともこ"),
           ("真由美", "まゆみ"), ("陽子", "ようこ"), ("千尋", "ちひろ"), ("麻衣", "まい")]
# 24 ministries and agencies with how many applicants each tends to send.
MINISTRY_WEIGHTS = {
    "国土交通省": 40, "経済産業省": 30, "農林水産省": 30, "総務省": 26, "厚生労働省": 22, "文部科学省": 18, "財務省": 16,
    "内閣府": 14, "環境省": 12, "内閣官房": 10, "防衛省": 10, "法務省": 8, "外務省": 8, "観光庁": 10, "林野庁": 6,
    "水産庁": 5, "デジタル庁": 8, "復興庁": 6, "こども家庭庁": 5, "金融庁": 5, "消費者庁": 4, "国税庁": 5,
    "中小企業庁": 5, "文化庁": 5,
}
BUREAUS = ["大臣官房", "政策局", "総合政策局", "地域振興局", "産業政策局", "経営局", "企画調整局", "国際局"]
DIVISIONS = ["総務課", "政策課", "企画課", "調査課", "地域政策課", "計画課", "人事課", "会計課"]
POSTS = {"指定職": "審議官", "課長級": "課長", "室長級": "室長", "課長補佐級": "課長補佐", "係長級": "係長", "係員": "係員"}
GRADE_WEIGHTS = [("指定職", 3), ("課長級", 14), ("室長級", 16), ("課長補佐級", 42), ("係長級", 25)]
AGE_BY_GRADE = {"指定職": (50, 58), "課長級": (44, 55), "室長級": (40, 52), "課長補佐級": (32, 46), "係長級": (26, 36), "係員": (23, 28)}
PREFECTURES = ["北海道", "岩手県", "宮城県", "新潟県", "長野県", "静岡県", "愛知県", "大阪府", "兵庫県", "広島県", "香川県", "福岡県", "熊本県", "沖縄県"]


def _person(rng: random.Random, ministries: dict, n: int, *, grade=None, workplace="本省") -> dict:
    sex = rng.choices(["男性", "女性"], weights=[74, 26])[0]
    surname, surname_kana = rng.choice(SURNAMES)
    given, given_kana = rng.choice(GIVEN_M if sex == "男性" else GIVEN_F)
    grade = grade or rng.choices([g for g, _ in GRADE_WEIGHTS], weights=[w for _, w in GRADE_WEIGHTS])[0]
    low, high = AGE_BY_GRADE[grade]
    age = rng.randint(low, high)
    ministry = rng.choices(list(MINISTRY_WEIGHTS), weights=list(MINISTRY_WEIGHTS.values()))[0]
    home = rng.choice(PREFECTURES)
    return {
        "name": f"{surname} {given}", "name_kana": f"{surname_kana} {given_kana}", "ministry_id": ministries[ministry].id,
        "bureau": rng.choice(BUREAUS), "division": rng.choice(DIVISIONS), "post_title": POSTS[grade], "grade_band": grade,
        "job_type": rng.choices(["事務官", "技官"], weights=[64, 36])[0], "sex": sex,
        "birth_date": date(2026 - age, rng.randint(1, 12), rng.randint(1, 28)), "workplace_type": workplace,
        "officer_type": "officer", "email": f"officer{n:04d}@example.go.jp",
        "phone": f"03-{rng.randint(3000, 6999)}-{rng.randint(1000, 9999)}",
        "expertise_fields": rng.sample(range(1, 26), rng.randint(1, 3)), "home_town": home,
        "region_ties": f"{home}出身。{rng.choice(PREFECTURES)}の県庁に出向経験あり。" if rng.random() < 0.4 else f"{home}出身。",
        "introduction": "", "effort_percent": rng.choice([10, 10, 15, 15, 20]),
    }


def load(staff: User, officer_user: User) -> None:
    rng = random.Random(278)
    officers.ensure_ministries()
    ministries = {m.name: m for m in officers.all_ministries()}
    phase1 = db.session.scalar(select(Phase).where(Phase.number == 1))
    phase2 = db.session.scalar(select(Phase).where(Phase.number == 2))

    people = []
    # The demo officer account's own record.
    me = _person(rng, ministries, 0, grade="課長補佐級")
    me.update(name="石田 健一", name_kana="いしだ けんいち", email="officer@banso.example", sex="男性",
              ministry_id=ministries["国土交通省"].id, introduction="港湾・物流行政を担当しています。地域の産業振興に関心があります。")
    people.append(officers.create_officer(me, actor=staff))
    for n in range(1, 378):  # 200 in 第1期, 178 more who applied only in 第2期 (the last 5 ineligible)
        workplace = "本省"
        grade = None
        if n in (373, 374):
            workplace = "地方支分部局"
        elif n == 375:
            workplace = "地方公共団体（出向中）"
        elif n in (376, 377):
            grade = "係員"
        people.append(officers.create_officer(_person(rng, ministries, n, grade=grade, workplace=workplace), actor=staff))
    people[0].user = officer_user

    # 第1期: 200 applicants, 180 selected; the term has ended.
    for i, officer in enumerate(people[:200]):
        c = officers.apply_to_phase(officer, phase1, actor=staff)
        officers.set_candidacy_status(c, CandidacyStatus.SELECTED if i < 180 else CandidacyStatus.NOT_SELECTED, actor=staff)
    officers.issue_orders(phase1, order_date=date(2025, 4, 1), actor=staff)

    # 第2期: 308 applicants (130 from 第1期 and 178 new, 5 of them ineligible), 278 selected.
    applicants = people[:130] + people[200:378]
    secondees = 0
    selected = 0
    for officer in applicants:
        c = officers.apply_to_phase(officer, phase2, actor=staff)
        if c.eligible and selected < 278:
            if secondees < 8 and officer.grade_band in ("課長補佐級", "係長級") and officer is not people[0] and rng.random() < 0.1:
                officer.officer_type = "secondee"
                secondees += 1
            officers.set_candidacy_status(c, CandidacyStatus.SELECTED, actor=staff)
            selected += 1
        else:
            officers.set_candidacy_status(c, CandidacyStatus.NOT_SELECTED, actor=staff)
    officers.issue_orders(phase2, order_date=date(2026, 4, 1), actor=staff)

    # A personnel transfer waiting for the secretariat (OFF-5).
    db.session.add(ProfileChangeRequest(officer=people[5], changes={"division": "地域政策課", "post_title": "企画官"},
                                        reason="令和8年10月1日付の人事異動のため", effective_on=date(2026, 10, 1)))
