from banso.blueprints.forms import BansoForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(BansoForm):
    email = EmailField("メールアドレス", validators=[DataRequired("メールアドレスを入力してください。"), Length(max=254)])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。"), Length(max=200)])


class PasswordChangeForm(BansoForm):
    current = PasswordField("現在のパスワード", validators=[DataRequired("現在のパスワードを入力してください。")])
    password = PasswordField("新しいパスワード", validators=[DataRequired("新しいパスワードを入力してください。"), Length(max=200)])
