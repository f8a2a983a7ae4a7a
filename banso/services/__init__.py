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
