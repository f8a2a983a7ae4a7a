from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from banso.blueprints.forms import BansoForm, CreatingForm, EmailField, Needed, PhoneField
from banso.models.inquiry import CATEGORIES, CHANNELS, ORG_TYPES
from banso.reference import PREFECTURES


class ContactForm(CreatingForm):
    org_type = SelectField("ご所属の種類", choices=[SelectChoice(k, v) for k, v in ORG_TYPES.items()], validate_choice=False,
                           validators=[Needed()])
    prefecture = SelectField("都道府県", choices=[SelectChoice("", "選択してください")] + [SelectChoice(p) for p in PREFECTURES],
                             validate_choice=False)
    municipality_code = SelectField("市区町村", choices=[SelectChoice("", "（都道府県を選ぶと表示されます）")], validate_choice=False)
    organisation = StringField("団体名・部署名", validators=[Length(max=200, message="200文字までで入力してください。")])
    name = StringField("お名前", validators=[Needed(), Length(max=100, message="100文字までで入力してください。")])
    email = EmailField("メールアドレス", validators=[Needed(), Length(max=254, message="254文字までで入力してください。")])
    phone = PhoneField("電話番号（任意）", validators=[Length(max=30, message="30文字までで入力してください。")])
    category = SelectField("お問い合わせの分類", choices=[SelectChoice(k, v) for k, v in CATEGORIES.items()], validate_choice=False,
                           validators=[Needed()])
    subject = StringField("件名", validators=[Needed(), Length(max=200, message="200文字までで入力してください。")])
    body = TextAreaField("お問い合わせ内容", validators=[Needed(), Length(max=10_000, message="10,000文字までで入力してください。")])
    website = StringField("ウェブサイト（入力しないでください）")  # honeypot: people never see it, bots fill it


class LogForm(ContactForm):
    channel = SelectField("受付の経路", choices=[SelectChoice(k, v) for k, v in CHANNELS.items() if k != "form"],
                          validate_choice=False)


class EmlForm(BansoForm):
    file = FileField("保存したメール（.eml）")


class MessageForm(CreatingForm):
    body = TextAreaField("本文", validators=[Length(max=10_000, message="10,000文字までで入力してください。")])


class TemplateForm(BansoForm):
    version = HiddenField()  # the template's version when the form was opened (a stale save is refused)
    title = StringField("定型文の名前", validators=[Length(max=100)])
    body = TextAreaField("本文（{氏名}・{受付番号} は差し込まれます）", validators=[Length(max=10_000)])


class FaqForm(CreatingForm):
    question = TextAreaField("質問（個人名・団体名を含めずに）", validators=[Length(max=2000)])
    answer = TextAreaField("回答", validators=[Length(max=10_000)])
