"""Shared form plumbing: the base form (WTForms' own messages in Japanese) and turning a
RuleViolation into a form error."""
from __future__ import annotations

from flask_wtf import FlaskForm

from banso.extensions import db
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


def run_and_flash(action, success: str) -> bool:
    """Call one service: commit and say ``success``, or roll back and show the rule's message."""
    from flask import flash

    try:
        action()
    except RuleViolation as violation:
        db.session.rollback()
        flash(violation.message, "error")
        return False
    db.session.commit()
    flash(success, "success")
    return True
