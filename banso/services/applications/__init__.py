"""市町村活用希望調査: applications and their eligibility (APP-1 … APP-9), the status
workflow, and the continuation survey (継続意向調査) for the previous phase's municipalities.

One package, three modules importing each other only downwards: answers ← workflow, lists. Callers ask
``applications.<name>``.
"""
from __future__ import annotations

from banso.services.applications.answers import (S, EDITABLE, AUDITED, EMAIL, PHONE, SIGNATURE, field_errors,
                                                 ministry_mentions, previously_supported, previously_supported_set,
                                                 submit_application, submit_many, update_application)
from banso.services.applications.workflow import (Check, assess, TRANSITIONS, NEEDS_REASON, available_actions,
                                                  change_status, BULK_ACTIONS, BULK_LIMIT, by_ids,
                                                  change_status_many, confirm_population, accept_late,
                                                  request_late_acceptance)
from banso.services.applications.lists import (list_query, counts, previous_phase, continuation_rows,
                                               continuation_counts, continuation_query, record_continuation)

__all__ = [
    "S", "EDITABLE", "AUDITED", "EMAIL", "PHONE", "SIGNATURE", "field_errors", "ministry_mentions",
    "previously_supported", "previously_supported_set", "submit_application", "submit_many", "update_application",
    "Check", "assess", "TRANSITIONS", "NEEDS_REASON", "available_actions", "change_status", "BULK_ACTIONS",
    "BULK_LIMIT", "by_ids", "change_status_many", "confirm_population", "accept_late", "request_late_acceptance", "list_query", "counts",
    "previous_phase", "continuation_rows", "continuation_counts", "continuation_query", "record_continuation",
]
