"""Shared form plumbing: the base form (WTForms' own messages in Japanese), and what a request answers when a
service refuses it (a form error on the page, or a flashed message and a redirect)."""
from __future__ import annotations

from flask import flash, g
from flask_wtf import FlaskForm

from banso.services import RuleViolation


class BansoForm(FlaskForm):
    """Every form of Banso: WTForms' built-in messages (e.g. 無効な整数です。) in Japanese."""

    class Meta:
        locales = ("ja",)


def add_violation(form: FlaskForm, violation: RuleViolation) -> None:
    field = getattr(form, violation.field, None) if violation.field else None
    if field is not None:
        field.errors = list(field.errors) + [violation.message]
    else:
        form.form_errors.append(violation.message)


def on_refusal(respond, form: FlaskForm | None = None, status: int | None = 422) -> None:
    """What this request answers if a service refuses it (RuleViolation). With ``form``, the rule's message goes on
    the field it names and ``respond()`` shows the page again (with ``status``, or the page's own if None); without,
    the message is flashed and ``respond()`` (a redirect) is returned. Either way the request's changes are rolled
    back (banso/request_path.py)."""
    g.banso_on_refusal = (respond, form, status)


def act(action, success: str, then):
    """A button that calls one service: flash ``success`` and go to ``then`` (a redirect); if the service refuses,
    its message is flashed and the user goes to ``then`` all the same. The request commits at its end."""
    on_refusal(lambda: then)
    action()
    flash(success, "success")
    return then
