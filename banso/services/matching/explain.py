"""The answer explained: each team's members and their factors, who was passed over and why, why a municipality was
left without a team, and the plan's quality figures beside the greedy assistant's (MAT-1…, the page's 説明)."""
from __future__ import annotations

from collections import Counter, defaultdict

from banso import solver
from banso.reference import field_label
from banso.services.matching.model import SENIOR, Model, rounded


def describe(model: Model, best: solver.Solution, greedy: solver.Solution) -> dict:
    problem = model.problem
    placed = {o: a for a, members in best.teams.items() for o in members}
    model._options_of = defaultdict(list)
    for (n, o) in problem.pair:
        model._options_of[n].append(o)
    team_rows = []
    for a, members in best.teams.items():
        members = sorted(members, key=lambda o: -problem.alone_value(a, o))
        shares = problem.member_scores(a, members)
        team_rows.append({
            "application_id": a, "officer_ids": members,
            "score": round(sum(problem.team_score(a, members).values()), 1),
            "factors": rounded(problem.team_score(a, members)),
            "members": [{"officer_id": o, "factors": rounded(shares[o]), "total": round(sum(shares[o].values()), 1)}
                        for o in members],
            "passed_over": _passed_over(model, a, members, placed),
            "cost": sum(problem.cost.get((a, o), 0) for o in members),
        })
    team_rows.sort(key=lambda row: model.applications[row["application_id"]].municipality.code)
    unmatched = [{"application_id": a, "reason": _why_unmatched(model, a, placed, best)}
                 for a in model.applications if a not in best.teams]
    return {**model.header(), "status": best.status, "gap": round(best.gap, 6), "seconds": round(best.seconds, 2),
            "greedy_seconds": round(greedy.seconds, 2),
            "teams": team_rows, "unmatched": unmatched,
            "quality": quality(model, best.teams), "greedy_quality": quality(model, greedy.teams),
            "exclusions": [{"application_id": a, "officer_id": o, "reason": why}
                           for (a, o), why in sorted(model.excluded.items())][:300]}


def _passed_over(model: Model, a: int, members: list[int], placed: dict[int, int]) -> list[dict]:
    """Officers who alone would bring this municipality more than a member does, and what kept them out."""
    problem = model.problem
    floor = min(problem.alone_value(a, o) for o in members)
    better = []
    for o in set(model._options_of[a]) | {o for (n, o) in _excluded_of(model, a)}:
        if o in members:
            continue
        if (a, o) in problem.pair:
            value = problem.alone_value(a, o)
        elif (a, o) in model.excluded:
            value = _value_if_allowed(model, a, o)
        else:
            continue
        if value > floor:
            better.append((value, o))
    better.sort(key=lambda item: (-item[0], item[1]))
    rows = []
    for value, o in better[:3]:
        rows.append({"officer_id": o, "value": round(value, 1), "reason": _kept_out(model, a, o, members, placed)})
    return rows


def _excluded_of(model: Model, a: int) -> list[tuple[int, int]]:
    if not hasattr(model, "_excluded_index"):
        model._excluded_index = defaultdict(list)
        for pair in model.excluded:
            model._excluded_index[pair[0]].append(pair)
    return model._excluded_index[a]


def _value_if_allowed(model: Model, a: int, o: int) -> float:
    factors = model.pair_factors(model.applications[a], model.officers[o])
    return sum(factors.values()) + sum(t.weight for t in model.problem.cover if t.need == a and o in t.members)


def _kept_out(model: Model, a: int, o: int, members: list[int], placed: dict[int, int]) -> str:
    if (a, o) in model.excluded:
        return f"除外: {model.excluded[(a, o)]}"
    clash = [m for m in members if model.problem.group[m] == model.problem.group[o]]
    if o in placed:
        other = model.applications[placed[o]].municipality.full_name
        if clash:
            return (f"{other}のチームに配置しました。また、このチームには同じ府省庁（{model.problem.group[o]}）の"
                    f"{model.officers[clash[0]].name}さんがいます。")
        return f"{other}のチームに配置しました（そちらに入る方が計画全体の評価が高くなります）。"
    if clash:
        return f"このチームには同じ府省庁（{model.problem.group[o]}）の{model.officers[clash[0]].name}さんがいます（省庁混成）。"
    if model.headroom is not None and model.problem.cost.get((a, o), 0) > model.problem.cost.get((a, members[-1]), 0):
        return "旅費の想定額が高く、予算の残りの範囲では、ほかの組合せの方が計画全体の評価が高くなります。"
    return "チーム全体で見ると（分野の網羅・職階の組合せ・人数）、今の組合せの方が評価が高くなります。"


def _why_unmatched(model: Model, a: int, placed: dict[int, int], best: solver.Solution) -> str:
    problem = model.problem
    candidates = model._options_of[a]
    if len({problem.group[o] for o in candidates}) < 2:
        excluded = sum(1 for (n, _o) in model.excluded if n == a)
        extra = f"（除外・利益相反で{excluded}名を除いています）" if excluded else ""
        return f"府省庁の異なる2名以上の候補がいません{extra}。"
    free = [o for o in candidates if o not in placed]
    if len({problem.group[o] for o in free}) < 2:
        first = model.applications[a].priority_field_1
        experts = [o for o in candidates if first in (model.officers[o].expertise_fields or [])]
        note = ""
        if experts and all(o in placed for o in experts):
            note = f"第1優先分野（{field_label(first)}）を専門とする支援官も、すべてほかの市町村のチームに配置しました。"
        return "府省庁の異なる2名以上の支援官が残っていません（ほかの市町村のチームに配置しました）。" + note
    if problem.budget is not None:
        spent = problem.total_cost(best.teams)
        cheapest = sorted(problem.cost.get((a, o), 0) for o in free)[:2]
        if spent + sum(cheapest) > problem.budget:
            return (f"旅費の予算の残り（{problem.budget - spent:,}円）では、この市町村への訪問の想定旅費"
                    f"（2名で年{sum(cheapest):,}円）をまかなえません。")
    return "残る支援官でこのチームを編成するより、ほかの市町村のチームに配置する方が計画全体の評価が高くなります。"


def quality(model: Model, plan: dict[int, list[int]]) -> dict:
    problem = model.problem
    scores = sorted(round(sum(problem.team_score(a, m).values()), 1) for a, m in plan.items())
    first = sum(1 for a, m in plan.items() if any(model.applications[a].priority_field_1 in (model.officers[o].expertise_fields or [])
                                                  for o in m))
    continuing = [a for a in model.applications if model.former.get(a)]
    kept = sum(1 for a in continuing if set(plan.get(a, [])) & model.former[a])
    both_sexes = sum(1 for m in plan.values() if len({model.officers[o].sex for o in m} & {"男性", "女性"}) == 2)
    mixed_grade = sum(1 for m in plan.values() if len({model.officers[o].grade_band in SENIOR for o in m}) == 2)
    per_ministry = Counter(problem.group[o] for m in plan.values() for o in m)
    pool_per_ministry = Counter(problem.group[o] for o in model.officers)
    histogram = Counter(int(s // 20) * 20 for s in scores)
    return {
        "teams": len(plan), "unmatched": len(model.applications) - len(plan),
        "officers_used": sum(len(m) for m in plan.values()), "officers": len(model.officers),
        "total": round(sum(scores), 1), "worst": scores[0] if scores else 0, "best": scores[-1] if scores else 0,
        "median": scores[len(scores) // 2] if scores else 0,
        "histogram": [[low, histogram[low]] for low in sorted(histogram)],
        "first_priority_share": round(first / len(plan), 4) if plan else 0.0,
        "continuing": len(continuing), "continuity_kept": kept,
        "both_sexes_share": round(both_sexes / len(plan), 4) if plan else 0.0,
        "seniority_mix_share": round(mixed_grade / len(plan), 4) if plan else 0.0,
        "three_member_teams": sum(1 for m in plan.values() if len(m) == 3),
        "per_ministry": [[name, per_ministry[name], pool_per_ministry[name]] for name in sorted(pool_per_ministry, key=lambda n: -pool_per_ministry[n])],
        "travel_cost": problem.total_cost(plan),
    }
