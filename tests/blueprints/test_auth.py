from banso.extensions import db
from tests.conftest import login, make_app
from tests.factories import make_user


def _user(app, **kw):
    with app.app_context():
        email = make_user(**kw).email
        db.session.commit()
        return email


def test_sign_in_and_sign_out(app, client):
    email = _user(app, name="加藤 花子")
    page = client.get("/login")
    assert page.status_code == 200 and 'lang="ja"' in page.get_data(as_text=True)
    response = login(client, email)
    assert response.location == "/"
    assert "加藤 花子" in client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_a_clear_japanese_error(app, client):
    email = _user(app)
    response = client.post("/login", data={"email": email, "password": "wrong-password"})
    assert response.status_code == 401
    assert "メールアドレスまたはパスワードが正しくありません" in response.get_data(as_text=True)


def test_lockout_after_five_failures_is_shown(app, client):
    email = _user(app)
    for _ in range(5):
        client.post("/login", data={"email": email, "password": "wrong-password"})
    response = client.post("/login", data={"email": email, "password": "correct-horse-battery"})
    assert response.status_code == 401
    assert "ロックされています" in response.get_data(as_text=True)


def test_next_only_goes_within_banso(app, client):
    email = _user(app)
    response = client.post("/login?next=https://evil.example/", data={"email": email, "password": "correct-horse-battery"})
    assert response.location == "/"
    client.post("/logout")
    response = client.post("/login?next=/admin/audit", data={"email": email, "password": "correct-horse-battery"})
    assert response.location == "/admin/audit"


def test_csrf_is_required_on_every_post(app, database_url, redis_url):
    strict = make_app(database_url, redis_url, WTF_CSRF_ENABLED=True)
    email = _user(app)
    client = strict.test_client()
    response = client.post("/login", data={"email": email, "password": "correct-horse-battery"})
    assert response.status_code == 400
    assert "有効期限" in response.get_data(as_text=True)
    # An htmx request carries the token in the X-CSRFToken header set on <body>.
    page = client.get("/login").get_data(as_text=True)
    token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    response = client.post("/login", data={"email": email, "password": "correct-horse-battery"},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302


def test_session_cookie_is_httponly_and_samesite(app, client):
    email = _user(app)
    response = login(client, email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
