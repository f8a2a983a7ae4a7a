from banso.formatting import parse_id
from banso.blueprints.forms import BansoForm, CreatingForm, DateField, EmailField, PhoneField
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from banso.reference import (APPOINTMENT_POSTS, FIELDS, GRADE_BANDS, INELIGIBLE_GRADES, JOB_TYPES, OFFICER_TYPES, SEXES,
                             WORKPLACES, field_label)


def _choices(values, blank=None):
    return ([SelectChoice("", blank)] if blank else []) + [SelectChoice(v) for v in values]


def _select(label, choices=None, **kw):
    """Values are checked by the officers service, with its Japanese messages (not WTForms' English ones)."""
    return SelectField(label, choices=choices, validate_choice=False, **kw)


FIELD_CHOICES = [SelectChoice(str(n), field_label(n)) for n in FIELDS]


class SelfFields:
    """Fields an officer keeps (OFF-5)."""

    email = EmailField("メールアドレス", validators=[Length(max=254)])
    phone = PhoneField("電話番号", validators=[Length(max=30)])
    expertise_fields = SelectMultipleField("専門分野（26分野から、当てはまるものすべて）", choices=FIELD_CHOICES, coerce=int,
                                           validate_choice=False, validators=[Optional()],
                                           option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    home_town = StringField("出身地", validators=[Length(max=100)])
    region_ties = TextAreaField("ゆかりのある地域", validators=[Length(max=2000)])
    preferences = TextAreaField("希望（支援したい分野・地域など）", validators=[Length(max=2000)])
    introduction = TextAreaField("自己紹介", validators=[Length(max=2000)])
    availability = TextAreaField("対応可能な時間帯など", validators=[Length(max=1000)])
    effort_percent = IntegerField("伴走支援に充てる勤務時間の割合（%）", validators=[Optional(), NumberRange(0, 100, "0〜100で入力してください。")])

    def self_data(self) -> dict:
        return {name: getattr(self, name).data if getattr(self, name).data is not None or name == "effort_percent" else ""
                for name in ("email", "phone", "expertise_fields", "home_town", "region_ties", "preferences", "introduction",
                             "availability", "effort_percent")}


class ProfileForm(SelfFields, BansoForm):
    pass


class OfficialFields:
    ministry_id = _select("府省庁", coerce=str)
    bureau = StringField("局・部", validators=[Length(max=100)])
    division = StringField("課・室", validators=[Length(max=100)])
    post_title = StringField("役職", validators=[Length(max=100)])
    grade_band = _select("職階", _choices(GRADE_BANDS + INELIGIBLE_GRADES, "選択してください"))
    workplace_type = _select("勤務先区分", _choices(WORKPLACES, "選択してください"))


class OfficerForm(SelfFields, OfficialFields, CreatingForm):
    version = HiddenField()  # the record's version when the form was opened (a stale save is refused)
    name = StringField("氏名", validators=[Length(max=100)])
    name_kana = StringField("ふりがな", validators=[Length(max=100)])
    job_type = _select("事務官・技官", _choices(JOB_TYPES, "選択してください"))
    sex = _select("性別", _choices(SEXES, "選択してください"))
    birth_date = DateField("生年月日", validators=[Optional()])
    officer_type = _select("区分", [SelectChoice(k, v) for k, v in OFFICER_TYPES.items()])
    notes = TextAreaField("事務局メモ（本人には表示しません）", validators=[Length(max=2000)])

    def record_data(self) -> dict:
        data = self.self_data()
        for name in ("name", "name_kana", "bureau", "division", "post_title", "grade_band", "workplace_type", "job_type",
                     "sex", "birth_date", "officer_type", "notes"):
            data[name] = getattr(self, name).data
        data["ministry_id"] = parse_id(self.ministry_id.data)
        return data


class ChangeRequestForm(OfficialFields, BansoForm):
    reason = TextAreaField("変更の理由（人事異動など）", validators=[Length(max=1000)])
    effective_on = DateField("発令日・異動日", validators=[Optional()])

    def changes(self) -> dict:
        data = {name: getattr(self, name).data for name in ("bureau", "division", "post_title", "grade_band", "workplace_type")}
        data["ministry_id"] = parse_id(self.ministry_id.data)
        return data


class DecisionForm(BansoForm):
    note = TextAreaField("事務局からの連絡事項（却下の場合は理由）", validators=[Length(max=1000)])


class ImportForm(CreatingForm):
    file = FileField("応募者一覧（Excel または CSV）", validators=[FileRequired("ファイルを選んでください。")])


class IssueOrdersForm(BansoForm):
    order_date = DateField("発令日", validators=[InputRequired("発令日を入力してください。")])
    post = _select("併任先", _choices(APPOINTMENT_POSTS))


class EndAppointmentForm(BansoForm):
    on = DateField("解除日", validators=[InputRequired("解除日を入力してください。")])
    reason = TextAreaField("解除の理由", validators=[Length(max=500)])


def ministry_choices(ministries, blank="選択してください"):
    return [SelectChoice("", blank)] + [SelectChoice(str(m.id), m.label) for m in ministries]
