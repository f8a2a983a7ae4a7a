"""Officers (地方創生支援官): records, eligibility (OFF-1, OFF-2), recruitment per phase,
concurrent-appointment orders (OFF-3), self-service profiles (OFF-4, OFF-5), the phase breakdown.

One package, four modules importing each other only downwards: records ← recruitment, profile, lists. Callers
ask ``officers.<name>``.
"""
from __future__ import annotations

from banso.services.officers.records import (OFFICIAL_FIELDS, SELF_FIELDS, RECORD_FIELDS, EMAIL, KANA, SIGNATURE,
                                             ensure_ministries, all_ministries, find_ministry, eligibility,
                                             field_errors, find_duplicate, KnownPeople, create_officer,
                                             update_officer)
from banso.services.officers.recruitment import (apply_to_phase, CANDIDACY_MOVES, candidacy_actions,
                                                 set_candidacy_status, BULK_STATUSES, BULK_LIMIT,
                                                 set_candidacy_status_many, has_covering_appointment, issue_orders,
                                                 end_appointment, appointment_query)
from banso.services.officers.profile import (effort_warning, update_own_profile, request_change, Decision,
                                             decide_change, create_login)
from banso.services.officers.lists import (list_query, candidacies_by_officer, serving, compute_breakdown,
                                           pending_orders)

__all__ = [
    "OFFICIAL_FIELDS", "SELF_FIELDS", "RECORD_FIELDS", "EMAIL", "KANA", "SIGNATURE", "ensure_ministries",
    "all_ministries", "find_ministry", "eligibility", "field_errors", "find_duplicate", "KnownPeople",
    "create_officer", "update_officer", "apply_to_phase", "CANDIDACY_MOVES", "candidacy_actions",
    "set_candidacy_status", "BULK_STATUSES", "BULK_LIMIT", "set_candidacy_status_many", "has_covering_appointment",
    "issue_orders", "end_appointment", "appointment_query", "effort_warning", "update_own_profile", "request_change",
    "Decision", "decide_change", "create_login", "list_query", "candidacies_by_officer", "serving",
    "compute_breakdown", "pending_orders",
]
