from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from banso.blueprints.forms import BansoForm, CreatingForm, DateField
from banso.models.travel import BEARERS, MEALS, PURPOSES
from banso.reference import PREFECTURES

YEN = "円（整数）で入力してください。"


def _yen(label: str, high: int = 1_000_000):
    return IntegerField(label, default=0, validators=[Optional(), NumberRange(0, high, f"0〜{high:,}{YEN}")])


class TripForm(CreatingForm):
    version = HiddenField()  # the trip's version when the form was opened (a stale save is refused)
    travellers = SelectMultipleField("出張者（チームのメンバーから1〜3名）", coerce=str, validate_choice=False,
                                     option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    purpose = SelectField("用務", choices=[SelectChoice(k, v) for k, v in PURPOSES.items()], validate_choice=False)
    destination_prefecture = SelectField("用務先の都道府県", choices=[SelectChoice(p) for p in PREFECTURES], validate_choice=False)
    destination = StringField("用務先", validators=[Length(max=200)])
    depart_on = DateField("出発日", validators=[InputRequired("出発日を入力してください。")])
    return_on = DateField("帰着日", validators=[InputRequired("帰着日を入力してください。")])
    itinerary = TextAreaField("行程（経路・用務の内容）", validators=[Length(max=4000)])
    rail_yen = _yen("鉄道賃（1人あたり往復）")
    ship_yen = _yen("船賃（1人あたり往復）")
    air_yen = _yen("航空賃（1人あたり往復）")
    other_transport_yen = _yen("その他の交通費（バス・タクシー・レンタカー等、1人あたり）")
    package_yen = _yen("包括宿泊費（交通と宿泊のパック、1人あたり）")
    room_rate_yen = _yen("宿泊料金（1人1泊あたり、予約した額）", 100_000)
    meals = SelectField("宿泊料金に含まれる食事", choices=[SelectChoice(str(k), v) for k, v in MEALS.items()], coerce=int,
                        validate_choice=False)


class OrderChangeForm(TripForm):
    """A change of an issued 旅行命令 (旅費法第4条): the trip as it should now be, and why."""
    reason = TextAreaField("変更の理由", validators=[InputRequired("変更の理由を入力してください。"), Length(max=1000)])


class ReviewForm(BansoForm):
    comment = TextAreaField("コメント（差戻し・却下のときは必須）", validators=[Length(max=2000)])


class BearerForm(BansoForm):
    cost_bearer = SelectField("費用負担者", choices=[SelectChoice(k, v) for k, v in BEARERS.items()], validate_choice=False)
    bearer_reason = TextAreaField("決定の理由", validators=[Length(max=2000)])


class ReceiptForm(CreatingForm):
    receipts = FileField("領収書（PDF・JPEG・PNG、1ファイル5MBまで）", render_kw={"multiple": True, "accept": ".pdf,.jpg,.jpeg,.png"})


class CapForm(BansoForm):
    new_cap = IntegerField("新しい上限額（円）", validators=[InputRequired("上限額を入力してください。"), NumberRange(0, 10**12, f"0円以上の{YEN}")])
    reason = TextAreaField("改定の理由", validators=[Length(max=2000)])


class PlanForm(BansoForm):
    planned_site_visits = IntegerField("計画する現地訪問の回数", validators=[InputRequired("回数を入力してください。"), NumberRange(0, 52, "0〜52回で入力してください。")])
    standard_visit_cost_yen = IntegerField("1回あたりの標準費用（円）", validators=[InputRequired("標準費用を入力してください。"), NumberRange(0, 10_000_000, f"0〜10,000,000{YEN}")])
    note = StringField("備考", validators=[Length(max=500)])


class StandardCostForm(BansoForm):
    standard_visit_cost_yen = IntegerField("現地訪問1回あたりの標準費用（円、全チーム共通の既定値）",
                                           validators=[InputRequired("標準費用を入力してください。"), NumberRange(0, 10_000_000, f"0〜10,000,000{YEN}")])
