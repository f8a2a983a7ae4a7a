"""Shared form plumbing: the base form (WTForms' own messages in Japanese), and what a request answers when a
service refuses it (a form error on the page, or a flashed message and a redirect)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import flash, g, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import DateField as _DateField
from wtforms import DateTimeLocalField, EmailField as _EmailField, HiddenField, StringField

from banso.reading import read_date, read_datetime, read_email, read_phone
from banso.reference import typed
from banso.services import RuleViolation


def safe_next(target: str | None, default: str, *, under: str = "/") -> str:
    """The one reading of a ``next`` sent by a link or a form: a path within Banso starting with ``under``, else
    ``default``. Control characters, backslashes and spaces refuse it outright: browsers drop tabs and newlines and
    read ``\\`` as ``/``, so ``/\\t/evil.example`` would leave as ``//evil.example``."""
    text = target or ""
    if (not text or len(text) > 2000 or "\\" in text or any(c <= " " or c == "\x7f" for c in text)
            or text.startswith("//") or not text.startswith(under)):
        return default
    parts = urlsplit(text)
    return text if not parts.scheme and not parts.netloc else default


class BansoForm(FlaskForm):
    """Every form of Banso: WTForms' built-in messages (e.g. 無効な整数です。) in Japanese. Sent again from a 409 page
    (someone saved the record meanwhile), each field shown in conflict keeps the saved value unless its
    「自分の入力で上書きする」 was chosen; those fields take what was typed, and the request's audit says so."""

    class Meta:
        locales = ("ja",)

    def __init__(self, *args, **kwargs):
        from flask import request
        from werkzeug.datastructures import CombinedMultiDict

        sent_again = request.method == "POST" and any(key.startswith(CONFLICT_PREFIX) for key in request.form)
        if not args and "formdata" not in kwargs and sent_again:
            data = request.form.copy()
            taken = []
            for key in request.form:
                name = key.removeprefix(CONFLICT_PREFIX)
                chosen = key.startswith(CONFLICT_PREFIX) and not key.startswith(CONFLICT_PREFIX + "mine-")
                if chosen and request.form[key] == "mine":
                    data.setlist(name, request.form.getlist(f"{CONFLICT_PREFIX}mine-{name}"))
                    taken.append(name)
            kwargs["formdata"] = CombinedMultiDict([data, request.files])
            g.banso_overwritten = taken
        super().__init__(*args, **kwargs)


CONFLICT_PREFIX = "conflict-"


@dataclass
class Conflict:
    name: str
    label: str
    theirs: str  # what is saved now, as shown
    mine: str    # what this form typed, as shown
    typed: list[str]  # as sent, to send again if overwriting is chosen


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    return str(value)


def _conflicts(form: FlaskForm, saved: dict) -> list[Conflict]:
    """The form's fields whose typed value differs from what is saved now: each is set back to the saved value (a
    plain save again keeps the colleague's change) and listed to choose from."""
    from flask import request

    found = []
    for field in form:
        if field.name in ("version", "csrf_token", "submission_key") or field.name not in saved:
            continue
        theirs, mine = saved[field.name], field.data
        if _shown(theirs) == _shown(mine):
            continue
        field.conflict = Conflict(field.name, str(field.label.text), _shown(theirs), _shown(mine),
                                  request.form.getlist(field.name))
        found.append(field.conflict)
        field.data, field.raw_data = theirs, None
    return found


class Needed:
    """Marks a field 必須 on the page (and ``required`` for assistive technology) where the service checks it, so
    that all of a form's problems are reported at once (services.InputProblems) rather than the browser's or
    WTForms' one at a time."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


class JstDateTimeField(DateTimeLocalField):
    """A date and time in Japan time as people and browsers send it, read by banso.reading.read_datetime (the one
    reader importers use too): with or without seconds, 「T」 or a space, 「-」 「/」 or 年月日, 和暦, full-width digits.
    Seconds are kept when there are any (17:00:01 is after a 17:00 deadline) and not shown when there are none."""

    MESSAGE = "日時は「2026-04-01 09:00」のように、年月日と時刻（時:分）で入力してください。"

    def process_formdata(self, valuelist):
        if not valuelist or not typed(" ".join(valuelist)):
            self.data = None
            return
        found, problem = read_datetime(" ".join(valuelist))
        if problem:
            self.data = None
            raise ValueError(self.MESSAGE)
        self.data = found.replace(tzinfo=None)

    def _value(self):
        if self.raw_data or not self.data:
            return super()._value()
        return self.data.strftime("%Y-%m-%dT%H:%M:%S" if self.data.second else "%Y-%m-%dT%H:%M")


class DateField(_DateField):
    """A date as a browser sends it (2026-04-01) or as people type it where there is no date picker — 令和8年4月1日,
    2026/4/1, full-width digits — read by banso.reading.read_date, the importers' reader."""

    def process_formdata(self, valuelist):
        if not valuelist or not typed(" ".join(valuelist)):
            self.data = None
            return
        self.data, problem = read_date(" ".join(valuelist), what=str(self.label.text) if self.label else "日付")
        if problem:
            raise ValueError(problem)


def _read_or_keep(reader):
    """A WTForms filter: the value in Banso's one spelling when it reads, else as typed (the service names the
    problem on the field)."""
    def read(value):
        if not value:
            return value
        found, _problem = reader(value)
        return found if found else value
    return read


class EmailField(_EmailField):
    """An e-mail address, full-width letters and ＠, spaces and 「mailto:」 read through (banso.reading.read_email)."""

    def __init__(self, label=None, validators=None, filters=(), **kwargs):
        super().__init__(label, validators, filters=(_read_or_keep(read_email), *filters), **kwargs)


class PhoneField(StringField):
    """A telephone number, full-width digits and any hyphen folded to 03-1234-5678 (banso.reading.read_phone)."""

    def __init__(self, label=None, validators=None, filters=(), **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "tel", "autocomplete": "tel"})
        super().__init__(label, validators, filters=(_read_or_keep(read_phone), *filters), **kwargs)


class CreatingForm(BansoForm):
    """A form that creates something: it carries a one-time key (in ``hidden_tag()``), consumed by ``already_sent``."""

    submission_key = HiddenField(default=lambda: secrets.token_urlsafe(24))


def already_sent(form: FlaskForm):
    """Called by a creating view just before its service: None the first time this form's one-time key arrives;
    the second time, a redirect to where the first went. The key's row commits with what the first request
    created (banso/request_path.py records where it went); a refused first request rolls its key back with
    everything else, so correcting the form and sending it again works."""
    key = (getattr(form, "submission_key", None) and form.submission_key.data or "")[:64]
    if not key:
        return None
    from flask_login import current_user
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from banso.extensions import db
    from banso.models import Submission

    try:
        with db.session.begin_nested():
            db.session.add(Submission(key=key, user_id=getattr(current_user, "id", None)))
    except IntegrityError:
        earlier = db.session.scalar(select(Submission.result_url).where(Submission.key == key))
        flash("同じ内容は既に送信されています（二重の送信を防ぎました）。", "info")
        return redirect(earlier or url_for("dashboard.index"))  # where the first went (our own address), never a header
    g.banso_submission = key
    return None


def add_violation(form: FlaskForm, violation: RuleViolation) -> None:
    if getattr(violation, "version", None) is not None and hasattr(form, "version"):
        form.version.data = str(violation.version)  # EditedMeanwhile: the next save is over what is saved now
    if getattr(violation, "saved", None) is not None:
        form.conflicts = _conflicts(form, violation.saved)
    for name, message in getattr(violation, "problems", ()):  # InputProblems: each on its own field
        target = getattr(form, name, None) if name else None
        if target is not None:
            target.errors = list(target.errors) + [message]
        else:
            form.form_errors.append(message)
    if getattr(violation, "problems", None):
        return
    field = getattr(form, violation.field, None) if violation.field else None
    if field is not None:
        field.errors = list(field.errors) + [violation.message]
    else:
        form.form_errors.append(violation.message)


def on_refusal(respond, form: FlaskForm | None = None, status: int | None = 422) -> None:
    """The form page a route declared ``refused=FORM_PAGE`` returns to if a service refuses it (RuleViolation): the
    rule's message goes on the field it names and ``respond()`` shows the page again (with ``status``, or the page's
    own if None). Without ``form``, the message is flashed and ``respond()`` (a redirect) is returned instead of the
    declared page. Either way the request's changes are rolled back (banso/request_path.py)."""
    g.banso_on_refusal = (respond, form, status)


def act(action, success: str, then):
    """The one way to do, flash and redirect: a button that calls one service, flashes ``success`` and goes to
    ``then``; if the service refuses, its message is flashed and the user goes to ``then`` all the same (the page
    the button was on, with its anchor), in place of the route's declared ``refused``. The request commits at its
    end."""
    on_refusal(lambda: then)
    action()
    flash(success, "success")
    return then


def report_decision(case, done: str, matter: str) -> None:
    """What a decision drafted on its route (services/approvals.decide_through_route) came to: ``done`` when it was
    taken at once (the 起案者's 専決), or that ``matter`` now waits for the route's last step."""
    flash(done if case.status == "approved" else
          f"{matter}を起案しました。決裁ルートの最後の決裁で決まります（進み具合は「決裁」の画面で確かめられます）。", "success")


def opened_version() -> str | None:
    """The record's version when its page was opened (the form's hidden ``version``): services refuse a save over
    a newer one (services.check_version)."""
    from flask import request

    return request.form.get("version")


def report_bulk(changed: int, refused: list, label: str, unit: str, name_of) -> None:
    """What a bulk action did: how many changed, and the refused ones grouped by their reason, each reason said once
    with the names it applies to (the first ten of each)."""
    if changed:
        flash(f"{changed}{unit}を「{label}」にしました。", "success")
    if refused:
        reasons: dict[str, list[str]] = {}
        for item, message in refused:
            reasons.setdefault(message, []).append(name_of(item))
        groups = [f"{message}（{'、'.join(names[:10])}{f' ほか{len(names) - 10}{unit}' if len(names) > 10 else ''}）"
                  for message, names in reasons.items()]
        flash(f"{len(refused)}{unit}は「{label}」にできませんでした（状態は変わっていません）。" + " ".join(groups), "warning")
