"""Demo inquiries: a year of questions by form, e-mail and phone from municipalities, prefectures
and officers — most answered and closed, some open, a few overdue or waiting for the inquirer —
with reply templates and FAQ entries. People are fictional; municipalities are real."""
from __future__ import annotations

import io
import random
from datetime import timedelta
from email.message import EmailMessage

from openpyxl import Workbook

from sqlalchemy import select

from banso.clock import JST, now
from banso.extensions import db
from banso.models import Application, Inquiry, NotificationStatus, Phase, User
from banso.models.inquiry import InquiryStatus
from banso.services import inquiries

TEMPLATES = [
    ("受付のお礼", "{氏名} 様\n\nお問い合わせいただきありがとうございます（受付番号 {受付番号}）。\n担当者が確認のうえ、改めてご連絡いたします。"),
    ("旅費の負担について", "{氏名} 様\n\n伴走支援業務に係る旅費は国（内閣府）の予算で措置しており、市町村のご負担はありません。"
                  "ただし、想定以上に現地訪問を行う場合は、その旅費をご負担いただく場合があります。"),
    ("回答締切について", "{氏名} 様\n\n活用希望調査の回答締切は令和7年12月24日（水）17時です。締切後の回答は受け付けられませんのでご注意ください。"),
]
FAQ = [
    ("general", "伴走支援に市町村の費用負担はありますか。", "旅費・情報端末等は国で措置するため、原則として市町村の負担はありません。想定以上の現地訪問を行う場合は、その旅費をご負担いただく場合があります。"),
    ("application", "人口10万人以上の市は応募できますか。", "対象は令和7年1月1日時点の住民基本台帳人口が10万人未満の市町村です。"),
    ("application", "地方創生人材支援制度で国家公務員の派遣を希望しています。併せて応募できますか。", "同一年度に同制度で国家公務員の派遣を希望している場合、本制度への応募をもって当該希望を取り下げたものとみなします。民間専門人材の希望は影響しません。"),
    ("matching", "特定の府省庁の職員を指名できますか。", "特定の府省庁や職員を指名することはできません。事務局が双方のニーズを踏まえてマッチングします。"),
    ("travel", "出張の精算に必要な書類は何ですか。", "領収書（PDF・JPEG・PNG）を精算の画面から添付してください。宿泊費基準額を超える場合は、やむを得ない理由をご記入ください。"),
    ("activity", "活動報告はいつ提出しますか。", "支援開始から概ね6か月ごとに、チームの活動状況を報告していただきます。"),
]
SUBJECTS = {
    "general": ["制度の概要について", "第2期の実施時期について", "説明会の資料について"],
    "application": ["回答フォームの記入方法", "課題分野の選び方について", "回答締切の確認", "人口要件の確認"],
    "matching": ["マッチング結果の通知時期", "チーム編成の考え方について"],
    "travel": ["出張の精算について", "宿泊費の上限について", "現地訪問の回数と費用負担"],
    "activity": ["オンライン会議の頻度について", "活動報告の様式について"],
    "other": ["取材の申込み", "その他の問い合わせ"],
}
NAMES = ["佐藤 由美", "鈴木 健太", "高橋 直樹", "田中 美穂", "伊藤 誠", "渡辺 さやか", "山本 拓也", "中村 恵", "小林 大輔", "加藤 瞳",
         "吉田 浩二", "山田 彩", "佐々木 亮", "山口 千尋", "松本 修", "井上 真由美"]


def load(staff: list[User], finance: User) -> None:
    rng = random.Random(310)
    for title, body in TEMPLATES:
        inquiries.save_template(title, body, actor=staff[0])
    phase = db.session.scalar(select(Phase).where(Phase.number == 2))
    municipalities = [a.municipality for a in db.session.scalars(select(Application).where(Application.phase_id == phase.id))]
    today = now()
    for n in range(300):
        at = today - timedelta(days=365 * (1 - n / 300) + rng.random(), hours=rng.randint(0, 8))
        at = at.astimezone(JST).replace(hour=rng.randint(9, 18), minute=rng.randint(0, 59)).astimezone(today.tzinfo)
        month = at.astimezone(JST).month
        category = rng.choice(["application"] * 3 + ["general"] * 2 + ["other"]) if month in (11, 12, 1) else \
            rng.choice(["matching"] * 2 + ["general"]) if month in (2, 3) else rng.choice(["travel", "travel", "activity", "general", "other"])
        org_type = rng.choice(["municipality"] * 5 + ["prefecture"] * 2 + (["officer"] * 3 if category in ("travel", "activity") else []) + ["other"])
        municipality = rng.choice(municipalities) if org_type == "municipality" else None
        channel = rng.choice(["form"] * 5 + ["email"] * 3 + ["phone"] * 2)
        name = rng.choice(NAMES)
        data = {"org_type": org_type, "category": category, "name": name, "email": f"demo{n}@example.lg.jp",
                "municipality_code": municipality.code if municipality else "",
                "prefecture": municipality.prefecture if municipality else (rng.choice(["岩手県", "島根県", "高知県"]) if org_type == "prefecture" else ""),
                "organisation": "" if municipality else {"prefecture": "地域振興課", "officer": "国土交通省", "other": "地域情報誌 編集部"}[org_type],
                "subject": rng.choice(SUBJECTS[category]), "body": f"{rng.choice(SUBJECTS[category])}について教えてください。\n担当: {name}"}
        inquiry = inquiries.receive(data, channel=channel, actor=staff[0] if channel != "form" else None, at=at, acknowledge=False)
        age = today - at
        handler = finance if category == "travel" and n % 2 else rng.choice(staff)
        if age > timedelta(days=10) or n % 4:
            inquiries.assign(inquiry, handler, actor=handler)
        if age > timedelta(days=20) or n % 3 == 0:  # the last three weeks: some answered, some waiting, the rest open
            if n % 9 == 0:
                note = inquiries.add_note(inquiry, "電話で補足を確認。関係課に照会中。", actor=handler)
                note.at = at + timedelta(hours=1)
            message = inquiries.reply(inquiry, f"{name} 様\n\nお問い合わせの件、次のとおり回答いたします。\n（回答本文）", actor=handler,
                                      close=age > timedelta(days=30))
            answered = at + timedelta(hours=rng.choice([2, 5, 20, 26, 50, 75]))
            message.at = inquiry.first_response_at = inquiry.last_message_at = answered
            inquiry.closed_at = answered + timedelta(days=1) if inquiry.status == InquiryStatus.CLOSED else None
            message.notification.status, message.notification.sent_at = NotificationStatus.SENT, answered
        elif n % 5 == 1:
            inquiries.set_status(inquiry, InquiryStatus.WAITING, actor=handler)
    faq_source = db.session.scalar(select(Inquiry).where(Inquiry.status == InquiryStatus.CLOSED).limit(1))
    for category, question, answer in FAQ:
        entry = inquiries.promote_to_faq(faq_source, question, answer, actor=staff[0])
        entry.category = category
    duplicate = db.session.scalars(select(Inquiry).where(Inquiry.status == InquiryStatus.NEW).order_by(Inquiry.id.desc()).limit(2)).all()
    if len(duplicate) == 2:
        inquiries.merge(duplicate[0], duplicate[1], actor=staff[0])
    _mail()


def _mail() -> None:
    """This week's mail as the mailbox took it in: an inquirer's answer with a spreadsheet, a colleague writing from
    another address, an out-of-office reply and a bounce (on /inquiries/mailbox)."""
    answered = db.session.scalars(select(Inquiry).where(Inquiry.status == InquiryStatus.ANSWERED, Inquiry.email != "")
                                  .order_by(Inquiry.id.desc()).limit(2)).all()
    if len(answered) < 2:
        return
    workbook = Workbook()
    workbook.active.append(["課題分野", "現状", "目標"])
    workbook.active.append(["⑤農林水産業", "担い手の減少", "新規就農者 年5人"])
    sheet = io.BytesIO()
    workbook.save(sheet)
    reply = EmailMessage()
    reply["From"], reply["To"] = answered[0].email, "toiawase@banso.example"
    reply["Subject"], reply["Message-ID"] = f"Re: 【地方創生伴走支援】{answered[0].subject}（{answered[0].receipt_number}）", "<demo-answer@example.lg.jp>"
    reply.set_content("ご回答ありがとうございます。\nご指摘の点を整理した表を添付します。", charset="iso-2022-jp")
    reply.add_attachment(sheet.getvalue(), maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         filename="課題の整理.xlsx")
    colleague = EmailMessage()
    colleague["From"], colleague["Subject"] = "kikaku-ka@example.lg.jp", f"Re: {answered[1].receipt_number} 担当者からの補足"
    colleague["Message-ID"] = "<demo-colleague@example.lg.jp>"
    colleague.set_content("担当者が不在のため、代わりに補足いたします。", charset="iso-2022-jp")
    away = EmailMessage()
    away["From"], away["Subject"], away["Message-ID"] = answered[1].email, "不在のお知らせ", "<demo-away@example.lg.jp>"
    away["Auto-Submitted"] = "auto-replied"
    away.set_content("12月8日まで出張のため不在にしております。", charset="iso-2022-jp")
    bounce = ("From: MAILER-DAEMON@mx.example.lg.jp\r\nSubject: Undelivered Mail Returned to Sender\r\n"
              "Message-ID: <demo-bounce@mx.example.lg.jp>\r\nMIME-Version: 1.0\r\n"
              'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n--B\r\n'
              "Content-Type: text/plain\r\n\r\nUser unknown\r\n--B--\r\n").encode()
    for raw in (reply.as_bytes(), colleague.as_bytes(), away.as_bytes(), bounce):
        inquiries.take_in(raw, source="imap", actor=None)

