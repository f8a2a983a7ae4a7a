from banso.blueprints.forms import BansoForm, CreatingForm, EmailField, JstDateTimeField, PhoneField
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from banso.clock import JST
from banso.reference import FIELDS, field_label

FIELD_CHOICES = [SelectChoice("", "選択しない")] + [SelectChoice(str(n), field_label(n)) for n in FIELDS]
REQUIRED = "入力してください。"


class ApplicationForm(CreatingForm):
    version = HiddenField()  # the record's version when the form was opened (a stale save is refused)
    municipality = StringField("市町村（団体コードまたは名称から選択）", validators=[DataRequired("市町村を選んでください。"), Length(max=80)],
                               render_kw={"list": "municipality-choices", "autocomplete": "off"})
    contact_department = StringField("担当部署", validators=[Length(max=100)])
    contact_person = StringField("担当者氏名", validators=[Length(max=100)])
    contact_email = EmailField("担当者のメールアドレス", validators=[Length(max=254)])
    contact_phone = PhoneField("担当者の電話番号", validators=[Length(max=30)])
    priority_field_1 = SelectField("優先する課題分野（第1）", choices=FIELD_CHOICES)
    priority_field_2 = SelectField("優先する課題分野（第2）", choices=FIELD_CHOICES)
    priority_field_3 = SelectField("優先する課題分野（第3）", choices=FIELD_CHOICES)
    issue_structure = RadioField("課題の性質", choices=[SelectChoice("independent", "それぞれ独立している"), SelectChoice("compound", "複合的な要素がある")],
                                 validators=[Optional()])
    local_situation = TextAreaField("地域の状況・課題の具体的な内容", validators=[Length(max=4000, message="4,000字以内で記載してください。")])
    seconded_national_staff = BooleanField("本年度に国家公務員が出向等により市町村職員として勤務する予定がある（APP-2）")
    requested_national_staff = BooleanField("地方創生人材支援制度で国家公務員の派遣を希望している（APP-3: 取り下げたものとみなします）")
    requested_private_expert = BooleanField("地方創生人材支援制度で民間専門人材の派遣を希望している（対象に影響しません）")
    received_at = JstDateTimeField("受付日時（日本時間）", validators=[InputRequired("受付日時を入力してください。")],
                                   render_kw={"step": "1"})  # seconds matter against the deadline
    channel = SelectField("受付方法", choices=[SelectChoice("form", "フォーム"), SelectChoice("email", "メール")])

    def data_for_service(self) -> dict:
        fields = [self.priority_field_1.data, self.priority_field_2.data, self.priority_field_3.data]
        return {
            "contact_department": self.contact_department.data or "", "contact_person": self.contact_person.data or "",
            "contact_email": self.contact_email.data or "", "contact_phone": self.contact_phone.data or "",
            "priority_fields": [int(f) for f in fields if f],
            "issue_structure": self.issue_structure.data, "local_situation": self.local_situation.data or "",
            "seconded_national_staff": self.seconded_national_staff.data,
            "requested_national_staff": self.requested_national_staff.data,
            "requested_private_expert": self.requested_private_expert.data,
            "received_at": self.received_at.data.replace(tzinfo=JST) if self.received_at.data else None,
            "channel": self.channel.data,
        }

    def fill(self, application) -> None:
        self.version.data = application.version
        for name in ("contact_department", "contact_person", "contact_email", "contact_phone", "issue_structure",
                     "local_situation", "seconded_national_staff", "requested_national_staff", "requested_private_expert", "channel"):
            getattr(self, name).data = getattr(application, name)
        for i, f in enumerate(application.priority_fields + [None, None][: 3 - len(application.priority_fields)], start=1):
            getattr(self, f"priority_field_{i}").data = str(f) if f else ""
        self.received_at.data = application.received_at.astimezone(JST).replace(tzinfo=None)
        m = application.municipality
        self.municipality.data = f"{m.code} {m.full_name}"


class StatusForm(BansoForm):
    action = SelectField("操作", choices=[SelectChoice(a) for a in ("confirm", "eligible", "ineligible", "matched", "unmatched", "withdraw")])
    reason = TextAreaField("理由", validators=[Length(max=1000)])


class LateAcceptanceForm(BansoForm):
    reason = TextAreaField("期限後に受け付ける理由", validators=[DataRequired("理由を入力してください。"), Length(max=1000)])


class ImportForm(CreatingForm):
    file = FileField("回答フォーム記載事項リスト（Excel または CSV）", validators=[FileRequired("ファイルを選んでください。")])
    received_at = JstDateTimeField("メールの受信日時（受付日時の列が空の行に使います。空欄の行があるときは指定してください）",
                                   validators=[Optional()], render_kw={"step": "1"})


class ContinuationImportForm(CreatingForm):
    file = FileField("継続意向調査の回答（Excel または CSV）", validators=[FileRequired("ファイルを選んでください。")])


class ContinuationForm(BansoForm):
    wishes_to_continue = RadioField("継続の意向", choices=[SelectChoice("yes", "継続を希望する"), SelectChoice("no", "継続を希望しない")],
                                    validators=[InputRequired("継続の意向を選んでください。")])
    issue_changes = TextAreaField("課題の変更点", validators=[Length(max=4000)])
