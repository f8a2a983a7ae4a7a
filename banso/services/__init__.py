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


class NotPermitted(RuleViolation):
    """The area's policy does not let this user do this (banso/policies); ``rule_id`` is "POLICY"."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__("POLICY", message, field)


class WrongState(RuleViolation):
    """The record is not (or no longer) in a state that allows this — it moved on, or someone else handled it
    first; ``rule_id`` is "STATE"."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__("STATE", message, field)
