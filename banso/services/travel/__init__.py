"""旅費: trip requests, finance review, claims with receipts, the budget cap, the rate tables.

TRV-1: travel is paid from the Cabinet Office budget; the cost bearer is 国 unless the
secretariat records otherwise. TRV-2: national-borne spend stays under the phase's cap — every
approval and settlement locks the phase's budget row, re-reads the figures and refuses what
would take committed + spent over the cap; visits beyond a team's plan are flagged and the
secretariat records who bears them. TEAM-5: site-visit trips count against the team's planned
(about quarterly) visits.

One package, five modules along the work, importing each other only downwards: rates (the tables finance keeps)
← budget (the cap, kept figures, visit plans, breakdowns) ← requests (estimates, filing, review) ← claims (receipts,
settlement) ← orders (changes of an issued 旅行命令, departures from it); lists (who sees which trips, the 旅行命令簿). Callers ask ``travel.<name>``.
"""
from __future__ import annotations

from banso.services.travel.rates import (MAX_LINE_YEN, MAX_ROOM_YEN, MAX_NIGHTS, fiscal_year, rate_band, lodging_cap,
                                         night_allowance, rates_for, lodging_limit, allowance_limit, fiscal_years,
                                         rate_table, rates_fingerprint, carry_rates, save_rates, parse_yen)
from banso.services.travel.budget import (WARN_AT, DANGER_AT, VISITS_PER_QUARTER, Budget, budget, figures,
                                          fresh_figures, check_kept, revise_cap, request_cap_revision, revisions, TeamPlan, default_visits,
                                          team_plans, plans_page, plan_for, set_plan, set_standard_visit_cost,
                                          by_month, by_team, by_prefecture, ledger, ledger_year, settled_on)
from banso.services.travel.requests import (SIGNATURE, page_loads, EstimateLine, Estimate, members_on, check_request,
                                            Fit, fit, file_request, TRIP_FIELDS, update_request, request_form_data,
                                            decide_bearer, REVIEW_DECISIONS, review_request, cancel_request,
                                            write_request)
from banso.services.travel.claims import (RECEIPT_TYPES, ClaimInput, claim_limits, claim_not_yet, file_claim,
                                          check_receipt, add_receipts, CLAIM_DECISIONS, review_claim,
                                          duplicate_claims, visible_receipt)
from banso.services.travel.orders import request_change, record_departure, changes_of
from banso.services.travel.lists import (STAGES, list_query, listed, awaiting_by_phase, stage_counts, teams_for,
                                         team_choices, orders_query, deciders)

__all__ = [
    "MAX_LINE_YEN", "MAX_ROOM_YEN", "MAX_NIGHTS", "fiscal_year", "rate_band", "lodging_cap", "night_allowance",
    "rates_for", "lodging_limit", "allowance_limit", "fiscal_years", "rate_table", "rates_fingerprint",
    "carry_rates", "save_rates", "parse_yen", "WARN_AT", "DANGER_AT", "VISITS_PER_QUARTER", "Budget", "budget",
    "figures", "fresh_figures", "check_kept", "revise_cap", "request_cap_revision", "revisions", "TeamPlan", "default_visits", "team_plans",
    "plans_page", "plan_for", "set_plan", "set_standard_visit_cost", "by_month", "by_team", "by_prefecture",
    "ledger", "ledger_year", "settled_on", "SIGNATURE", "page_loads", "EstimateLine", "Estimate", "members_on", "check_request", "Fit", "fit",
    "file_request", "TRIP_FIELDS", "update_request", "request_form_data", "decide_bearer", "REVIEW_DECISIONS",
    "review_request", "cancel_request", "RECEIPT_TYPES", "ClaimInput", "claim_limits", "claim_not_yet", "file_claim",
    "check_receipt", "add_receipts", "CLAIM_DECISIONS", "review_claim", "duplicate_claims", "visible_receipt",
    "STAGES", "list_query", "listed", "awaiting_by_phase", "stage_counts", "teams_for", "team_choices", "orders_query",
    "deciders", "write_request", "request_change", "record_departure", "changes_of",
]
