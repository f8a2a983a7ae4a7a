"""決裁 (issue 34): a 起案 goes along its kind's route; each step is a person or a role, alone or in parallel (合議:
all of them, one from each party, N of them, or 回覧 for information). While someone is away (``Absence``), their
代決者 decides their steps for them — never for a step marked 代決不可, never beyond one level, only within the
absence's dates — an absent 中間者 is passed as 後閲, and someone of a later step may 引上げ past a lower step whose
people are all away; afterwards each finds what was done in their place and records 閲了. The 起案者 may 引戻し while
nobody has acted since the submission, or 取下げ; anyone who may act on the step may 差戻し with a reason, to the
起案者 or an earlier step, and a re-submission is the next revision (v1, v2 … kept). Nobody decides twice on a case,
nor on their own 起案.

Three modules: routes (the routes as data, versioned; the defaults), engine (the verbs on one case, each locking its
row; what an area's decision does — ``register``), inbox (absences, what waits for whom, 後閲, due dates, reminders
and escalation, bulk decisions). Who may act is the policy's (policies/approvals.py), asked by the engine and the
pages alike."""
from __future__ import annotations

from banso.policies.approvals import absence_of, may_act, members, open_case, pull_up_to
from banso.services.approvals.routes import (KINDS, DEFAULT_ROUTES, NEEDS, route_for, set_route, parse_route, route_text,
                                             check_steps)
from banso.services.approvals.engine import (TooLate, Area, AREAS, register, decide_through_route, start, approve,
                                             send_back, reject, reroute, resubmit, recall, withdraw, with_history, latest_case, cases_about,
                                             decided_case, approvers, decider)
from banso.services.approvals.inbox import (record_absence, possible_deputies, Waiting, waiting_for, due_on, to_read,
                                            mark_read, counts, mine, decide_many, chase)

__all__ = ["KINDS", "DEFAULT_ROUTES", "NEEDS", "route_for", "set_route", "parse_route", "route_text", "check_steps", "TooLate", "Area",
           "AREAS", "register", "decide_through_route", "start", "approve", "send_back", "reject", "reroute", "resubmit", "recall",
           "withdraw", "with_history", "latest_case", "cases_about", "decided_case", "approvers", "decider", "record_absence",
           "possible_deputies", "Waiting", "waiting_for", "due_on", "to_read", "mark_read", "counts", "mine",
           "decide_many", "chase", "absence_of", "may_act", "members", "open_case", "pull_up_to"]
