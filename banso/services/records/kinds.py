"""Every kind of record Banso keeps, as the 保存期間表 groups it: which rows make up the file of a fiscal year (in the
order a 廃棄 removes them, dependants first), which stored files go with them, and the defaults from the guideline
(行政文書の管理に関するガイドライン 別表第1・第2) — defaults the secretariat's 文書管理者 confirms on the schedule page.

A record's fiscal year is its phase's (the programme's year: 4月 to 3月) where it belongs to a phase, else the 会計年度
of the day it was made."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import and_, func, select

from banso.clock import JST
from banso.extensions import db
from banso.models.notification import notification_attachments
from banso.models import (Activity, Application, BudgetRevision, FaqEntry, ImportBatch, MatchingConstraint, MatchingPlan,
                          MatchingSettings, PersonalRequest, ProfileChangeRequest, ApprovalAction, ApprovalCase, AuditEntry, ConcurrentAppointment,
                          ContinuationResponse, HalfYearReport, InboundMail, Inquiry, InquiryAttachment, InquiryMessage,
                          IssuedDocument, MemberReplacement, Notification, OfficerCandidacy, Phase, Publication,
                          PublishedResults,
                          Receipt, Team, TeamActivityDates, TeamExtension, TeamMembership, TeamTravelPlan, TravelClaim,
                          TravelClaimLine, TripEstimateLine, TripRequest, TripTraveller)

TRAVEL_CASES = ("travel_order", "travel_order_change", "claim")


def phase_ids(fy: int):
    return select(Phase.id).where(Phase.fiscal_year == fy).scalar_subquery()


def within(column, fy: int):
    """``column`` (a moment) falls in 会計年度 ``fy`` (JST)."""
    return and_(column >= datetime(fy, 4, 1, tzinfo=JST), column < datetime(fy + 1, 4, 1, tzinfo=JST))


def fiscal_year_of(day: date | datetime) -> int:
    if isinstance(day, datetime):
        day = day.astimezone(JST).date()
    return day.year if day.month >= 4 else day.year - 1


@dataclass(frozen=True)
class Part:
    """Rows of one table in a kind's file: ``where(fy)`` picks them."""

    label: str
    model: Any  # a model, or a plain association table
    where: Callable

    @property
    def table(self):
        return getattr(self.model, "__table__", self.model)


@dataclass(frozen=True)
class Kind:
    key: str
    major: str
    middle: str
    name: str  # 「{年度}」 filled in
    years: int
    disposition: str
    parts: tuple[Part, ...]  # dependants first: the order a 廃棄 removes them
    present: Callable  # () -> the fiscal years holding records of this kind
    stored: Callable = field(default=lambda fy: [])  # fy -> [(sha256, file name)] kept with the rows
    personal: str = ""  # what personal data the file holds (the schedule page says it)
    # Links from records kept elsewhere to this file's rows that are let go (set empty) before a 廃棄: a published FAQ
    # answer keeps its text, not its link to the inquiry it came from. (column, fy -> the ids being removed)
    detach: tuple = ()


def _trips(fy):
    return select(TripRequest.id).where(TripRequest.phase_id.in_(phase_ids(fy))).scalar_subquery()


def _claims(fy):
    return select(TravelClaim.id).where(TravelClaim.trip_id.in_(_trips(fy))).scalar_subquery()


def _travel_cases(fy):
    return select(ApprovalCase.id).where(ApprovalCase.kind.in_(TRAVEL_CASES), ApprovalCase.subject_id.in_(_trips(fy))).scalar_subquery()


def _other_cases(fy):
    return select(ApprovalCase.id).where(ApprovalCase.kind.not_in(TRAVEL_CASES), within(ApprovalCase.submitted_at, fy)).scalar_subquery()


def _teams(fy):
    return select(Team.id).where(Team.phase_id.in_(phase_ids(fy))).scalar_subquery()


def _inquiries(fy):
    return select(Inquiry.id).where(within(Inquiry.received_at, fy)).scalar_subquery()


def _messages(fy):
    return select(InquiryMessage.id).where(InquiryMessage.inquiry_id.in_(_inquiries(fy))).scalar_subquery()


def _notices(fy):
    return select(Notification.id).where(within(Notification.created_at, fy)).scalar_subquery()


def _phase_years(model):
    return lambda: set(db.session.scalars(select(Phase.fiscal_year).join(model, model.phase_id == Phase.id).distinct()))


def _moment_years(column):
    def years():
        first, last = db.session.execute(select(func.min(column), func.max(column))).one()
        if first is None:
            return set()
        return {fy for fy in range(fiscal_year_of(first), fiscal_year_of(last) + 1)
                if db.session.scalar(select(column).where(within(column, fy)).limit(1)) is not None}
    return years


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("travel", "地方創生伴走支援", "旅費", "{年度}年度 旅行命令簿・旅費精算（伴走支援）", 5, "destroy", (
        Part("領収書", Receipt, lambda fy: Receipt.claim_id.in_(_claims(fy))),
        Part("精算明細", TravelClaimLine, lambda fy: TravelClaimLine.claim_id.in_(_claims(fy))),
        Part("精算", TravelClaim, lambda fy: TravelClaim.id.in_(_claims(fy))),
        Part("見積明細", TripEstimateLine, lambda fy: TripEstimateLine.trip_id.in_(_trips(fy))),
        Part("出張者", TripTraveller, lambda fy: TripTraveller.trip_id.in_(_trips(fy))),
        Part("旅行命令・精算の決裁経過", ApprovalAction, lambda fy: ApprovalAction.case_id.in_(_travel_cases(fy))),
        Part("旅行命令・精算の決裁", ApprovalCase, lambda fy: ApprovalCase.id.in_(_travel_cases(fy))),
        Part("旅行命令（出張申請）", TripRequest, lambda fy: TripRequest.id.in_(_trips(fy))),
        Part("予算上限の改定", BudgetRevision, lambda fy: BudgetRevision.phase_id.in_(phase_ids(fy))),
    ), _phase_years(TripRequest),
        stored=lambda fy: list(db.session.execute(select(Receipt.sha256, Receipt.filename).where(Receipt.claim_id.in_(_claims(fy))))),
        personal="出張者の氏名・旅程・口座に係る精算額"),
    Kind("documents", "地方創生伴走支援", "発出文書", "{年度}年度 併任辞令・支援決定通知等（発出文書）", 10, "transfer", (
        Part("発出文書", IssuedDocument, lambda fy: IssuedDocument.fiscal_year == fy),
    ), lambda: set(db.session.scalars(select(IssuedDocument.fiscal_year).distinct())),
        stored=lambda fy: [(sha, f"{number}.{ext}") for number, docx, pdf in db.session.execute(
            select(IssuedDocument.number, IssuedDocument.docx_sha256, IssuedDocument.pdf_sha256).where(IssuedDocument.fiscal_year == fy))
            for sha, ext in ((docx, "docx"), (pdf, "pdf")) if sha],
        personal="宛先の氏名・職名"),
    Kind("applications", "地方創生伴走支援", "募集・申請", "{年度}年度 伴走支援の申請・回答及び適格性の判定", 10, "transfer", (
        Part("継続の回答", ContinuationResponse, lambda fy: ContinuationResponse.phase_id.in_(phase_ids(fy))),
        Part("取り込んだ表", ImportBatch, lambda fy: ImportBatch.phase_id.in_(phase_ids(fy))),
        Part("申請（回答）", Application, lambda fy: Application.phase_id.in_(phase_ids(fy))),
    ), _phase_years(Application), personal="市町村の担当者の氏名・連絡先"),
    Kind("officers", "地方創生伴走支援", "支援官", "{年度}年度 支援官の登録・併任発令", 5, "destroy", (
        Part("併任発令", ConcurrentAppointment, lambda fy: ConcurrentAppointment.phase_id.in_(phase_ids(fy))),
        Part("支援官の応募", OfficerCandidacy, lambda fy: OfficerCandidacy.phase_id.in_(phase_ids(fy))),
        Part("登録内容の変更申請", ProfileChangeRequest, lambda fy: within(ProfileChangeRequest.created_at, fy)),
    ), _phase_years(OfficerCandidacy), personal="支援官の氏名・所属・連絡先・生年月日"),
    Kind("teams", "地方創生伴走支援", "伴走支援チーム", "{年度}年度 伴走支援チームの編成・活動記録・半期報告", 10, "transfer", (
        Part("活動記録", Activity, lambda fy: Activity.team_id.in_(_teams(fy))),
        Part("半期報告", HalfYearReport, lambda fy: HalfYearReport.team_id.in_(_teams(fy))),
        Part("支援期間の延長", TeamExtension, lambda fy: TeamExtension.team_id.in_(_teams(fy))),
        Part("メンバー交代", MemberReplacement, lambda fy: MemberReplacement.team_id.in_(_teams(fy))),
        Part("訪問計画", TeamTravelPlan, lambda fy: TeamTravelPlan.team_id.in_(_teams(fy))),
        Part("活動日", TeamActivityDates, lambda fy: TeamActivityDates.team_id.in_(_teams(fy))),
        Part("チームの構成", TeamMembership, lambda fy: TeamMembership.team_id.in_(_teams(fy))),
        Part("チーム", Team, lambda fy: Team.id.in_(_teams(fy))),
        Part("マッチングの計画", MatchingPlan, lambda fy: MatchingPlan.phase_id.in_(phase_ids(fy))),
        Part("マッチングの指定（固定・除外）", MatchingConstraint, lambda fy: MatchingConstraint.phase_id.in_(phase_ids(fy))),
        Part("マッチングの重み", MatchingSettings, lambda fy: MatchingSettings.phase_id.in_(phase_ids(fy))),
    ), _phase_years(Team), personal="支援官の氏名、市町村の担当者"),
    Kind("publication", "地方創生伴走支援", "公表", "{年度}年度 マッチング結果の確定・公表", 10, "transfer", (
        Part("公表ページ", PublishedResults, lambda fy: PublishedResults.phase_id.in_(phase_ids(fy))),
        Part("確定・公表", Publication, lambda fy: Publication.phase_id.in_(phase_ids(fy))),
    ), _phase_years(Publication)),
    Kind("inquiries", "地方創生伴走支援", "問い合わせ", "{年度}年度 問い合わせ対応（メールを含む）", 3, "destroy", (
        Part("通知に付けた添付", notification_attachments, lambda fy: notification_attachments.c.attachment_id.in_(
            select(InquiryAttachment.id).where(InquiryAttachment.message_id.in_(_messages(fy))).scalar_subquery())),
        Part("添付ファイル", InquiryAttachment, lambda fy: InquiryAttachment.message_id.in_(_messages(fy))),
        Part("受信メール", InboundMail, lambda fy: InboundMail.inquiry_id.in_(_inquiries(fy))),
        Part("やりとり", InquiryMessage, lambda fy: InquiryMessage.id.in_(_messages(fy))),
        Part("問い合わせ", Inquiry, lambda fy: Inquiry.id.in_(_inquiries(fy))),
    ), _moment_years(Inquiry.received_at),
        detach=((FaqEntry.source_inquiry_id, _inquiries), (Inquiry.follows_id, _inquiries), (Inquiry.merged_into_id, _inquiries)),
        stored=lambda fy: [*db.session.execute(select(InquiryAttachment.sha256, InquiryAttachment.filename).where(
            InquiryAttachment.message_id.in_(_messages(fy)), InquiryAttachment.sha256.is_not(None))),
            *db.session.execute(select(InboundMail.raw_sha256, InboundMail.id).where(
                InboundMail.inquiry_id.in_(_inquiries(fy)), InboundMail.raw_sha256.is_not(None)))],
        personal="問い合わせをした方の氏名・所属・連絡先"),
    Kind("notices", "地方創生伴走支援", "通知", "{年度}年度 通知の送信記録（市町村・支援官・問い合わせへの通知）", 3, "destroy", (
        Part("通知の添付", notification_attachments, lambda fy: notification_attachments.c.notification_id.in_(_notices(fy))),
        Part("通知", Notification, lambda fy: within(Notification.created_at, fy)),
    ), _moment_years(Notification.created_at), personal="宛先の氏名・メールアドレス、通知の本文",
        detach=((InquiryMessage.notification_id, _notices),)),
    Kind("requests", "個人情報の保護", "開示請求等", "{年度}年度 保有個人情報の開示・訂正・利用停止請求", 5, "destroy", (
        Part("請求", PersonalRequest, lambda fy: and_(PersonalRequest.received_on >= date(fy, 4, 1),
                                                    PersonalRequest.received_on < date(fy + 1, 4, 1))),
    ), lambda: {fiscal_year_of(d) for d in db.session.scalars(select(PersonalRequest.received_on).distinct())},
        personal="請求者の氏名、請求の内容"),
    Kind("approvals", "地方創生伴走支援", "決裁", "{年度}年度 決裁文書（旅費以外）", 5, "destroy", (
        Part("決裁経過", ApprovalAction, lambda fy: ApprovalAction.case_id.in_(_other_cases(fy))),
        Part("決裁", ApprovalCase, lambda fy: ApprovalCase.id.in_(_other_cases(fy))),
    ), _moment_years(ApprovalCase.submitted_at)),
    # Audit entries outlive what they describe: their file is disposed of only when every file of its year and
    # before is (services/records/disposition.py).
    Kind("audit", "情報システムの管理", "監査ログ", "{年度}年度 Banso 監査ログ（操作の記録）", 10, "destroy", (
        Part("監査ログ", AuditEntry, lambda fy: within(AuditEntry.at, fy)),
    ), _moment_years(AuditEntry.at), personal="操作した職員の氏名"),
)}


# Tables that are not records of a year (each says why): the register's own, reference data, accounts, settings and
# figures kept by the database. tests/services/test_records.py fails on a table in neither list.
NOT_RECORDS = {
    "record_files": "管理簿そのもの", "retention_rules": "保存期間表そのもの",
    "phases": "期の定義（制度の基本情報）", "phase_events": "期の日程", "phase_figures": "終了した期の集計（統計）",
    "budget_totals": "旅費の集計（記録から保持）", "budget_breakdown": "旅費の集計（記録から保持）",
    "municipalities": "参照情報（市区町村）", "official_populations": "参照情報（公表人口）", "ministries": "参照情報（府省）",
    "lodging_rates": "参照情報（旅費の単価）", "night_allowance_rates": "参照情報（旅費の単価）",
    "prefecture_contacts": "参照情報（都道府県の連絡先）",
    "officers": "支援官の基本情報（項目ごとの扱いは個人情報の方針による）",
    "users": "利用者アカウント", "account_links": "アカウントの招待・再設定", "recovery_codes": "二要素認証",
    "sign_in_throttles": "サインインの制限", "last_sign_ins": "最終サインイン", "submissions": "二重送信の防止",
    "calendar_feeds": "予定表の配信設定", "sign_in_identities": "府省の認証基盤との結び付け",
    "approval_routes": "決裁ルートの設定", "absences": "不在と代決者の設定",
    "document_batches": "発出の処理単位", "document_counters": "文書番号の採番", "receipt_counters": "受付番号の採番",
    "faq_entries": "公開しているよくある質問", "reply_templates": "回答の定型文",
    "mailbox_messages": "開発用メールボックス",
}


def count(kind: Kind, fy: int) -> dict[str, int]:
    """How many rows of each part the file holds now."""
    return {part.label: db.session.scalar(select(func.count()).select_from(part.model).where(part.where(fy))) or 0
            for part in kind.parts}


def rows(kind: Kind, fy: int):
    """Each part's rows, as (label, table columns, rows of values) — for a 移管 package and a 開示 export alike."""
    for part in kind.parts:
        table = part.table
        yield part.label, table, list(db.session.execute(select(table).where(part.where(fy)).order_by(*table.primary_key.columns)))


__all__ = ["KINDS", "NOT_RECORDS", "Kind", "Part", "count", "rows", "fiscal_year_of", "within", "phase_ids"]
