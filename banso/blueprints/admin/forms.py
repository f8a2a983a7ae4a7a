from banso.blueprints.forms import BansoForm, CreatingForm, DateField, EmailField, JstDateTimeField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from banso.models.user import ROLE_LABELS

ROLE_CHOICES = [SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]
REQUIRED = "入力してください。"


class UserCreateForm(CreatingForm):
    email = EmailField("メールアドレス", validators=[DataRequired(REQUIRED), Email("メールアドレスの形式が正しくありません。"), Length(max=254)])
    name = StringField("氏名", validators=[DataRequired(REQUIRED), Length(max=100)])
    role = SelectField("役割", choices=ROLE_CHOICES)


class UserEditForm(BansoForm):
    name = StringField("氏名", validators=[DataRequired(REQUIRED), Length(max=100)])
    role = SelectField("役割", choices=ROLE_CHOICES)
    post = StringField("役職（決裁ルートで post:役職 と書くと、その役職の方が決裁します）", validators=[Length(max=50)])
    active = BooleanField("有効")


def _jst_datetime(label, required=True):
    validators = [InputRequired("日時を入力してください。")] if required else [Optional()]
    return JstDateTimeField(label, validators=validators)


class PhaseForm(BansoForm):
    """Times are entered in Japan time."""
    version = HiddenField()  # the record's version when the form was opened (a stale save is refused)

    number = IntegerField("期番号", validators=[InputRequired(REQUIRED), NumberRange(min=1, max=99, message="1〜99で入力してください。")])
    name = StringField("名称（例：第2期）", validators=[DataRequired(REQUIRED), Length(max=20)])
    fiscal_year = IntegerField("年度（西暦）", validators=[InputRequired(REQUIRED), NumberRange(min=2020, max=2100, message="西暦で入力してください。")])
    population_reference_date = DateField("人口の基準日", validators=[InputRequired("日付を入力してください。")])
    survey_opens_at = _jst_datetime("活用希望調査の開始")
    answer_deadline_at = _jst_datetime("回答締切（日本時間）")
    recruitment_opens_at = _jst_datetime("国の職員等の公募開始", required=False)
    recruitment_closes_at = _jst_datetime("国の職員等の公募締切", required=False)
    matching_deadline_at = _jst_datetime("マッチング期限", required=False)
    publication_at = _jst_datetime("公表日時", required=False)
    support_start = DateField("伴走支援の開始日", validators=[InputRequired("日付を入力してください。")])
    support_end = DateField("伴走支援の終了日", validators=[InputRequired("日付を入力してください。")])
    travel_budget_cap_yen = IntegerField("旅費予算の上限（円）", validators=[InputRequired(REQUIRED), NumberRange(min=0, max=10**12, message="0円以上で入力してください。")])


class PhaseEventForm(CreatingForm):
    label = StringField("行事名（例：自治体向け説明会）", validators=[DataRequired(REQUIRED), Length(max=100)])
    at = _jst_datetime("日時")


class AuditFilterForm(BansoForm):
    class Meta:
        csrf = False

    actor = StringField("利用者（氏名・メールアドレスの一部）", validators=[Optional(), Length(max=100)])
    object_type = SelectField("対象の種類", coerce=str, validate_choice=False)
    date_from = DateField("期間（開始）", validators=[Optional()])
    date_to = DateField("期間（終了）", validators=[Optional()])
    q = StringField("内容", validators=[Optional(), Length(max=100)])


def as_jst(value):
    from banso.clock import JST

    return value.replace(tzinfo=JST) if value is not None else None


def phase_data(form: PhaseForm) -> dict:
    """The form's values, with entered times read as Japan time."""
    from banso.services.phases import FIELDS

    data = {name: getattr(form, name).data for name in FIELDS}
    for name, value in data.items():
        if name.endswith("_at"):
            data[name] = as_jst(value)
    data["name"] = data["name"].strip()
    return data


def fill_phase_form(form: PhaseForm, phase) -> None:
    """From a phase, or from a draft's values (a dict: services.phases.draft_after)."""
    from banso.clock import JST
    from banso.services.phases import FIELDS

    values = phase if isinstance(phase, dict) else {name: getattr(phase, name) for name in FIELDS}
    form.version.data = None if isinstance(phase, dict) else phase.version
    for name in FIELDS:
        value = values[name]
        if name.endswith("_at") and value is not None:
            value = value.astimezone(JST).replace(tzinfo=None)
        getattr(form, name).data = value
