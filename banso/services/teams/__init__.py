"""伴走支援チーム: formation (TEAM-1, TEAM-2, OFF-3), the support period (TEAM-3), member
replacement (TEAM-4), the activity record (TEAM-5), half-year reports (TEAM-6), scope (TEAM-7).

One package, three modules importing each other only downwards: members (formation, period, replacement) ←
records (activity, reports, reminders) ← lists. Callers ask ``teams.<name>``.
"""
from __future__ import annotations

from banso.services.teams.members import (SIGNATURE, default_period, form_team, TEAM_FIELDS, extend_team, request_extension,
                                          replace_member, planned_replacements, apply_due_replacements,
                                          replacement_candidates)
from banso.services.teams.records import (MEETING_GAP, VISIT_GAP, OUT_OF_SCOPE, scope_warnings, ACTIVITY_FIELDS,
                                          record_activity, correct_activity, delete_activity, ActivitySummary,
                                          summarize, activity_flags, with_activity_dates, quiet_condition,
                                          flagged_teams, report_due, file_report, unfiled_reports, missing_reports,
                                          phases_with_running_teams, remind_reports)
from banso.services.teams.lists import (list_query, team_of_user, past_memberships, unmatched_applications)

__all__ = [
    "SIGNATURE", "default_period", "form_team", "TEAM_FIELDS", "extend_team", "request_extension", "replace_member",
    "planned_replacements", "apply_due_replacements", "replacement_candidates", "MEETING_GAP", "VISIT_GAP",
    "OUT_OF_SCOPE", "scope_warnings", "ACTIVITY_FIELDS", "record_activity", "correct_activity", "delete_activity",
    "ActivitySummary", "summarize", "activity_flags", "with_activity_dates", "quiet_condition", "flagged_teams",
    "report_due", "file_report", "unfiled_reports", "missing_reports", "phases_with_running_teams", "remind_reports",
    "list_query", "team_of_user", "past_memberships", "unmatched_applications",
]
