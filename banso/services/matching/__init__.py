"""The matching assistant (PUB-1): an optimal plan of mixed-ministry teams for a phase, planned on the worker.

The fit of a team is a sum of named factors with weights staff can see and change per phase (``FACTORS``); the plan
maximises the total under the hard rules — TEAM-1 (2–3 officers, one per ministry, a 外局 with its parent),
TEAM-2 (one team per municipality, one team per officer), OFF-3 (a 併任発令 covering the term), OFF-4 (time to give)
— and the decisions staff took beforehand: pinned pairs, forbidden pairs, continuing teams kept, and the phase's
conflict-of-interest rules. The optimiser is ``banso.solver`` (domain-free); this module turns
applications and officers into its needs and candidates and its answer back into proposals, explanations and
quality figures, stored in a ``MatchingPlan`` the page reads. A match is not guaranteed: what is left over is
reported with the reason that binds.

One package, four modules importing each other only downwards: settings (factors, weights, options, the
constraints as read) ← model (needs and candidates, the hard rules, conflicts, each pair's factors) ← explain (the
answer explained: who was passed over and why, why a municipality has no team, the quality figures) ← plans (the
decisions staff take, planning on the worker, reading a plan, composing and accepting). Callers ask
``matching.<name>``.
"""
from __future__ import annotations

from banso.services.matching.settings import (FACTORS, FACTOR_ORDER, factor_label, settings_for, weights_of,
                                              constraints)
from banso.services.matching.model import (SENIOR, BASE_PREFECTURE, FARE_PER_KM, FARE_BASE, OVERNIGHT_FROM_KM,
                                           LODGING_IF_UNKNOWN, MIN_EFFORT, FULL_MODEL_PAIRS, SHORTLIST, Model,
                                           conflict, annual_travel_cost, build)
from banso.services.matching.plans import (TIME_LIMIT, PROVED_WITHIN, save_settings, add_constraint,
                                           remove_constraint, latest_plan, request_plan, run_plan, inputs_digest,
                                           replan_changed, Proposal, PlanView, read_plan, score_team,
                                           available_officers, accept, plan_now)

__all__ = [
    "FACTORS", "FACTOR_ORDER", "factor_label", "settings_for", "weights_of", "constraints", "SENIOR",
    "BASE_PREFECTURE", "FARE_PER_KM", "FARE_BASE", "OVERNIGHT_FROM_KM", "LODGING_IF_UNKNOWN", "MIN_EFFORT",
    "FULL_MODEL_PAIRS", "SHORTLIST", "Model", "conflict", "annual_travel_cost", "build", "TIME_LIMIT",
    "PROVED_WITHIN", "save_settings", "add_constraint", "remove_constraint", "latest_plan", "request_plan",
    "run_plan", "inputs_digest", "replan_changed", "Proposal", "PlanView", "read_plan", "score_team",
    "available_officers", "accept", "plan_now",
]
