from banso.blueprints.forms import BansoForm, EmailField
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(BansoForm):
    email = EmailField("メールアドレス", validators=[DataRequired("メールアドレスを入力してください。"), Length(max=254)])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。"), Length(max=200)])


class PasswordChangeForm(BansoForm):
    current = PasswordField("現在のパスワード", validators=[DataRequired("現在のパスワードを入力してください。")])
    password = PasswordField("新しいパスワード", validators=[DataRequired("新しいパスワードを入力してください。"), Length(max=200)])


class SecondFactorForm(BansoForm):
    code = StringField("確認コード", validators=[DataRequired("確認コードを入力してください。"), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class SetPasswordForm(BansoForm):
    password = PasswordField("新しいパスワード", validators=[DataRequired("新しいパスワードを入力してください。"), Length(max=200)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("新しいパスワード（確認）", validators=[
        DataRequired("確認のため、もう一度入力してください。"), EqualTo("password", "確認のためのパスワードが一致しません。")],
        render_kw={"autocomplete": "new-password"})
