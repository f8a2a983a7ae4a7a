"""Demo applications at the real phase-2 scale: 60 supported in 第1期, 115 applicants in 第2期
(50 new supported), and the continuation survey (47 continue). Fictional contacts, real municipalities."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from banso.extensions import db
from banso.models import Application, Municipality, Phase, User
from banso.reference import FIELDS
from banso.services import applications

SURNAMES = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 清水 山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本 斉藤".split()
GIVEN = "翔 陽菜 蓮 結衣 大輝 美咲 拓海 彩花 健太 由美 直樹 恵 誠 明美 隆 智子 浩二 真由美 亮 奈々".split()
DEPARTMENTS = ["企画政策課", "総合政策課", "企画財政課", "地域振興課", "まちづくり推進課", "政策推進課", "地方創生推進室", "企画調整課"]
SITUATIONS = {
    1: "総合戦略の改訂を控え、施策の優先順位付けと効果検証の進め方に課題がある。",
    2: "人口減少が続き、10年で人口が1割以上減少した。若年層の転出超過が止まらない。",
    3: "観光資源はあるものの滞在型観光につながっておらず、宿泊客数が伸び悩んでいる。",
    4: "基幹産業の担い手が減り、企業誘致と地場産業の高付加価値化が急務である。",
    5: "農業者の高齢化が進み、耕作放棄地の増加と林業の担い手不足が深刻である。",
    6: "中心部の空き家・空き店舗が増加し、公共インフラの老朽化対策も必要になっている。",
    7: "路線バスの減便が続き、高齢者の通院・買物の移動手段の確保が課題である。",
    8: "脱炭素の取組を進めたいが、再生可能エネルギーの導入計画づくりの知見が不足している。",
    9: "行政手続のデジタル化と、地域のデジタル人材の確保・育成が遅れている。",
    10: "移住相談は増えているが、住まいと仕事の受け皿が不足し定住につながっていない。",
    11: "町の魅力の発信力が弱く、ふるさと納税やシティプロモーションの戦略が定まっていない。",
    12: "学校の統廃合を控え、地域の教育・文化資源の活かし方を検討している。",
    13: "若者や女性が地元で活躍できる場が少なく、進学・就職を機に流出している。",
    14: "子育て世代の転出が多く、子育て支援施設や就労環境の充実が求められている。",
    15: "災害からの復興の途上にあり、交流人口の回復となりわいの再建が課題である。",
    16: "大規模災害への備えとして、地域防災計画の見直しと避難体制の強化が必要である。",
    17: "医師不足が続き、地域医療と介護の提供体制の維持が難しくなっている。",
    18: "駅前商店街の空洞化が進み、中心市街地のにぎわい再生が課題である。",
    19: "民間事業者との連携の経験が少なく、官民連携による事業の組み立て方を学びたい。",
    20: "役場職員や地域企業の人材確保が難しく、専門人材の活用を検討している。",
    21: "廃校や遊休公共施設が増え、利活用の方針を定める必要がある。",
    22: "スーパーの撤退により買い物困難者が増え、食品アクセスの確保が急務である。",
    23: "関係人口を増やす取組を始めたが、継続的な関わりにつながる仕組みが弱い。",
    24: "姉妹都市との交流を地場産品の海外販路開拓に活かしたい。",
    25: "外国人住民が増えており、多文化共生の地域づくりが課題となっている。",
    26: "地域の課題を整理し、取り組むべき分野を明確にしたい。",
}


def _contact(rng: random.Random, m: Municipality) -> dict:
    person = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
    return {
        "contact_department": rng.choice(DEPARTMENTS), "contact_person": person,
        "contact_email": f"sousei-{m.code}@example.lg.jp",
        "contact_phone": f"0{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
    }


def _answer(rng: random.Random, m: Municipality, received_at, channel="form") -> dict:
    fields = rng.sample(sorted(FIELDS)[:25], rng.choice([1, 2, 3, 3]))
    text = "".join(SITUATIONS[f] for f in fields)
    return {**_contact(rng, m), "priority_fields": fields, "issue_structure": rng.choice(["independent", "compound", "compound"]),
            "local_situation": f"{m.name}では、{text}", "seconded_national_staff": False,
            "requested_national_staff": rng.random() < 0.05, "requested_private_expert": rng.random() < 0.1,
            "received_at": received_at, "channel": channel}


def _walk(application: Application, actions: list[tuple[str, str]], actor: User) -> None:
    for action, reason in actions:
        applications.change_status(application, action, reason=reason, actor=actor)


def _pools():
    """The municipalities of both phases, chosen so that 第2期 reproduces seed 000: 47 continuing in
    33 prefectures, 50 new in 30, together 97 in 38 (大船渡市 and 岡谷市 among the continuing)."""
    rng = random.Random(2026)
    phase1 = db.session.scalar(select(Phase).where(Phase.number == 1))
    phase2 = db.session.scalar(select(Phase).where(Phase.number == 2))
    candidates = list(db.session.scalars(
        select(Municipality).where(Municipality.default_population < 95_000, ~Municipality.name.endswith("区"))
        .order_by(Municipality.code)))
    by_name = {m.full_name: m for m in candidates}
    featured = [by_name["岩手県大船渡市"], by_name["長野県岡谷市"]]
    rng.shuffle(candidates)
    taken = set(featured)
    prefectures = sorted({m.prefecture for m in candidates})
    rng.shuffle(prefectures)
    others = [p for p in prefectures if p not in ("岩手県", "長野県")]
    continuing_prefectures = ["岩手県", "長野県"] + others[:31]
    new_prefectures = continuing_prefectures[:25] + others[31:36]

    def pick(within: list[str], count: int, already: list[Municipality]) -> list[Municipality]:
        """``count`` untaken municipalities covering every prefecture of ``within`` (one each first)."""
        chosen = list(already)
        covered = {m.prefecture for m in chosen}
        for prefecture in [p for p in within if p not in covered] + within * 20:
            if len(chosen) == count:
                break
            m = next((c for c in candidates if c.prefecture == prefecture and c not in taken), None)
            if m is not None:
                chosen.append(m)
                taken.add(m)
        return chosen

    continuing = pick(continuing_prefectures, 47, featured)
    stopped = pick(prefectures, 13, [])  # 第1期 municipalities that do not continue
    new = pick(new_prefectures, 50, [])
    rest = [m for m in candidates if m not in taken][:65]  # 第2期 applicants not supported
    return rng, phase1, phase2, continuing + stopped, new + rest


def load_first_phase(actor: User) -> None:
    """第1期: 60 municipalities found eligible (the teams area matches them)."""
    rng, phase1, _, first, _ = _pools()
    for m in first:
        received = phase1.survey_opens_at + timedelta(days=rng.randint(1, 22), hours=rng.randint(0, 6))
        a = applications.submit_application(phase1, m, _answer(rng, m, received), actor=actor)
        _walk(a, [("confirm", ""), ("eligible", "")], actor)


def load_second_phase(actor: User, admin: User) -> None:
    """第2期: 115 applicants and the continuation survey; 97 end up eligible for teams."""
    rng, phase1, phase2, _, second = _pools()
    rng = random.Random(2027)

    # 第2期: 115 applicants; 50 supported, the rest not matched, a few ineligible, withdrawn or late.
    for i, m in enumerate(second):
        late = i in (113, 114)
        received = (phase2.answer_deadline_at + timedelta(hours=2 + i - 113) if late else
                    phase2.survey_opens_at + timedelta(days=rng.randint(0, 22), hours=rng.randint(0, 6), minutes=rng.randint(0, 59)))
        answer = _answer(rng, m, received, channel="email" if rng.random() < 0.15 else "form")
        if i in (100, 101):
            answer["seconded_national_staff"] = True
        a = applications.submit_application(phase2, m, answer, actor=actor)
        if i < 50:
            _walk(a, [("confirm", ""), ("eligible", "")], actor)
        elif i < 100:
            _walk(a, [("confirm", ""), ("eligible", ""), ("unmatched", "")], actor)
        elif i < 102:
            _walk(a, [("confirm", ""), ("ineligible", "APP-2: 令和8年度に国家公務員の出向予定があるため。")], actor)
        elif i < 104:
            _walk(a, [("withdraw", "庁内調整の結果、今年度の活用を見送るとの連絡があったため。")], actor)
        elif i < 113:
            _walk(a, [("confirm", "")], actor)
        elif i == 113:
            applications.accept_late(a, reason="回答フォームの障害で送信できなかった旨、締切前に電話連絡があったため。", actor=admin)
    # 継続意向調査: 47 of the 60 continue.
    previous = list(db.session.scalars(select(Application).where(Application.phase_id == phase1.id).order_by(Application.id)))
    from banso.clock import clock_at

    for i, a in enumerate(previous):
        wishes = i < 47
        changes = "企業誘致に加え、被災木の活用と子育て環境の充実を新たな課題とする。" if a.municipality.name == "大船渡市" else ""
        # Each answer at its own time during the survey (received_at and the audit row say so), not at loading.
        with clock_at(phase2.survey_opens_at + timedelta(days=1 + i % 20, hours=1 + i % 7, minutes=(i * 13) % 60)):
            applications.record_continuation(phase2, a, wishes_to_continue=wishes, issue_changes=changes, actor=actor)
    for a in db.session.scalars(select(Application).where(Application.phase_id == phase2.id, Application.is_continuing.is_(True))):
        _walk(a, [("confirm", ""), ("eligible", "")], actor)
