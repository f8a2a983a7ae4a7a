"""Banso's domain rules. Services check MISSION.md's rules, audit, write notifications,
flush and never commit: the caller (a view, a job, a CLI command) commits once."""
from __future__ import annotations


class RuleViolation(Exception):
    """A rule refused the change. ``message`` is Japanese, for the user."""

    def __init__(self, rule_id: str, message: str, field: str | None = None):
        super().__init__(f"{rule_id}: {message}")
        self.rule_id = rule_id
        self.message = message
        self.field = field


class InputError(RuleViolation):
    """Input that cannot be used as given (a missing choice, a malformed amount or date): refused like a rule, but
    not one of MISSION.md's rules, so it carries no rule ID (``rule_id`` is "INPUT")."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__("INPUT", message, field)


class InputProblems(InputError):
    """Several fields that cannot be used as given, all reported at once: ``problems`` is [(field, message), …]
    in the form's order; the page shows each on its field and a summary at the top."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        super().__init__(f"入力内容に{len(problems)}件の誤りがあります。各項目のメッセージを確認してください。")
        self.problems = problems


class NotPermitted(RuleViolation):
    """The area's policy does not let this user do this (banso/policies); ``rule_id`` is "POLICY"."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__("POLICY", message, field)


class WrongState(RuleViolation):
    """The record is not (or no longer) in a state that allows this — it moved on, or someone else handled it
    first; ``rule_id`` is "STATE"."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__("STATE", message, field)


class EditedMeanwhile(WrongState):
    """Someone saved the record after this form was opened: nothing is overwritten; the page shows the saved
    values beside what was typed (409)."""


def check_version(record, expected, labels: dict[str, str]) -> None:
    """A form opened at ``expected`` (its hidden ``version``) may save only over that version of ``record``."""
    from banso.formatting import parse_id

    if expected in (None, "") or parse_id(expected) == record.version:
        return
    saved = "、".join(f"{label}「{_shown(getattr(record, name))}」" for name, label in labels.items())
    refusal = EditedMeanwhile(f"他の方が先に更新しました。保存されている内容: {saved}。"
                              "あなたの入力は下に残しています。内容を確かめ、必要なら直してからもう一度保存してください。")
    refusal.version = record.version  # the page shown again carries it: a save after reading the message may go on
    # What is saved now, column by column: the page shows each field the form typed differently beside it, keeps the
    # saved value unless overwriting it is chosen for that field (blueprints/forms.add_violation, BansoForm)
    refusal.saved = {column.key: getattr(record, column.key) for column in record.__mapper__.column_attrs}
    raise refusal


def _shown(value) -> str:
    return "" if value is None else str(value)[:60]
