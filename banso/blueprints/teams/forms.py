from banso.blueprints.forms import BansoForm, CreatingForm, DateField
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from banso.models.team import ACTIVITY_KINDS, REPLACEMENT_REASONS


class ActivityForm(CreatingForm):
    kind = SelectField("種類", choices=[SelectChoice(k, v) for k, v in ACTIVITY_KINDS.items()], validate_choice=False)
    started_on = DateField("日付（開始）", validators=[InputRequired("日付を入力してください。")])
    ended_on = DateField("日付（終了・複数日のとき）", validators=[Optional()])
    place = TextAreaField("場所", validators=[Length(max=200)])
    participants = TextAreaField("参加者", validators=[Length(max=1000)])
    company_count = IntegerField("訪問企業数（企業訪問のとき）", validators=[Optional(), NumberRange(0, 100, "0〜100で入力してください。")])
    summary = TextAreaField("概要", validators=[Length(max=4000)])
    follow_ups = TextAreaField("今後の対応", validators=[Length(max=2000)])


class ReportForm(BansoForm):
    issues = TextAreaField("市町村の課題", validators=[Length(max=4000)])
    support_given = TextAreaField("支援の内容（支援の流れ）", validators=[Length(max=4000)])
    results = TextAreaField("成果", validators=[Length(max=4000)])
    outlook = TextAreaField("今後の展望", validators=[Length(max=4000)])


class ReplacementForm(BansoForm):
    leaving = SelectField("交代するメンバー", validate_choice=False)
    joining = SelectField("着任する支援官", validate_choice=False)
    reason = SelectField("理由", choices=[SelectChoice(r) for r in REPLACEMENT_REASONS], validate_choice=False)
    effective = DateField("交代日", validators=[InputRequired("交代日を入力してください。")])
    note = TextAreaField("備考", validators=[Length(max=1000)])


class ReopenForm(BansoForm):
    reason = TextAreaField("再開の理由（記録されます）", validators=[Length(max=1000)])


class ExtensionForm(BansoForm):
    new_end = DateField("延長後の終了日", validators=[InputRequired("終了日を入力してください。")])
    reason = TextAreaField("延長の理由（決定の記録）", validators=[Length(max=1000)])
