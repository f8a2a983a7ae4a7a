"""Optimal team assignment: choose teams of 2–3 candidates for needs, maximising total fit under hard rules.

Domain-free on purpose: a *need* (a municipality's application, an enterprise's request…) and a *candidate* (an
officer, an expert…) are keys; everything the domain knows arrives as numbers and sets. Banso's matching assistant
(``banso.services.matching``) is one user; a neighbouring programme's matching can be another.

The model, solved exactly by HiGHS (``highspy``, a mixed-integer program):

* ``x[n, c]`` = 1 when candidate c joins need n's team (only admissible pairs exist: forbidden ones are never made);
  ``y[n]`` = 1 when need n gets a team.
* Hard rules: each candidate on at most one team; a team has ``size`` members (2–3) or none; at most one
  candidate of a group (a ministry) per team; pinned pairs are fixed to 1; the total cost stays within the budget.
* The fit is a sum of named factors: per pair (``pair``: e.g. field matches, ties, cost), per team when at least one
  member is in a set (``cover``: e.g. someone covers the first-priority field), per team when it holds members of
  two sets (``mix``: e.g. a senior and a junior), and a value for each team formed.
"""
from __future__ import annotations

import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Hashable

Need = Hashable
Candidate = Hashable


@dataclass
class Problem:
    needs: list[Need]
    candidates: list[Candidate]
    group: dict[Candidate, str]                                   # at most one per group in a team
    pair: dict[tuple[Need, Candidate], dict[str, float]]          # admissible pairs with their factor scores
    cover: list[tuple[Need, str, float, frozenset]] = field(default_factory=list)   # (need, factor, weight, candidates)
    mix: list[tuple[Need, str, float, frozenset, frozenset]] = field(default_factory=list)  # (need, factor, weight, A, B)
    team_value: float = 0.0                                       # for each team formed
    size: tuple[int, int] = (2, 3)
    pins: set[tuple[Need, Candidate]] = field(default_factory=set)
    cost: dict[tuple[Need, Candidate], int] = field(default_factory=dict)
    budget: int | None = None

    def pair_value(self, need: Need, candidate: Candidate) -> float:
        return sum(self.pair[(need, candidate)].values())

    def alone_value(self, need: Need, candidate: Candidate) -> float:
        """What a candidate brings to a need on their own: their pair factors and the sets they cover."""
        return self.pair_value(need, candidate) + sum(w for n, _, w, members in self._covers_of(need) if candidate in members)

    def _covers_of(self, need: Need):
        index = self.__dict__.get("_cover_index")
        if index is None:
            index = defaultdict(list)
            for term in self.cover:
                index[term[0]].append(term)
            self.__dict__["_cover_index"] = index
        return index.get(need, [])

    def _mixes_of(self, need: Need):
        index = self.__dict__.get("_mix_index")
        if index is None:
            index = defaultdict(list)
            for term in self.mix:
                index[term[0]].append(term)
            self.__dict__["_mix_index"] = index
        return index.get(need, [])

    def team_score(self, need: Need, members: list[Candidate]) -> dict[str, float]:
        """The fit of one team, factor by factor (pairs the problem does not admit count nothing)."""
        if not members:
            return {}
        scores: dict[str, float] = defaultdict(float)
        scores["team"] += self.team_value
        for c in members:
            for name, value in self.pair.get((need, c), {}).items():
                scores[name] += value
        for _, name, weight, covered in self._covers_of(need):
            if any(c in covered for c in members):
                scores[name] += weight
        for _, name, weight, a, b in self._mixes_of(need):
            if any(c in a for c in members) and any(c in b for c in members):
                scores[name] += weight
        return dict(scores)

    def member_scores(self, need: Need, members: list[Candidate]) -> dict[Candidate, dict[str, float]]:
        """Each member's share of the team's fit: their pair factors, and each set factor split among the members in
        the set (a seniority mix shared by all)."""
        shares = {c: dict(self.pair.get((need, c), {})) for c in members}
        for _, name, weight, covered in self._covers_of(need):
            holders = [c for c in members if c in covered]
            for c in holders:
                shares[c][name] = shares[c].get(name, 0) + weight / len(holders)
        for _, name, weight, a, b in self._mixes_of(need):
            if any(c in a for c in members) and any(c in b for c in members):
                for c in members:
                    shares[c][name] = shares[c].get(name, 0) + weight / len(members)
        return shares

    def violations(self, teams: dict[Need, list[Candidate]]) -> list[str]:
        """Every hard rule a set of teams breaks (the solver's output is checked against this in tests)."""
        problems, seen = [], {}
        low, high = self.size
        for need, members in teams.items():
            if not low <= len(members) <= high:
                problems.append(f"size {need}: {len(members)}")
            groups = [self.group[c] for c in members]
            if len(set(groups)) < len(groups):
                problems.append(f"group {need}")
            for c in members:
                if (need, c) not in self.pair:
                    problems.append(f"not admissible {need}/{c}")
                if c in seen:
                    problems.append(f"twice {c}")
                seen[c] = need
        for need, c in self.pins:
            if c not in teams.get(need, []):
                problems.append(f"pin {need}/{c}")
        if self.budget is not None and self.total_cost(teams) > self.budget:
            problems.append("budget")
        return problems

    def total_cost(self, teams: dict[Need, list[Candidate]]) -> int:
        return sum(self.cost.get((n, c), 0) for n, members in teams.items() for c in members)

    def total(self, teams: dict[Need, list[Candidate]]) -> float:
        return sum(sum(self.team_score(n, m).values()) for n, m in teams.items())


@dataclass
class Solution:
    teams: dict[Need, list[Candidate]]
    objective: float
    status: str              # "optimal", "near_optimal" (within the gap asked), "time_limit" (best found, gap given)
    gap: float = 0.0         # relative optimality gap (0 when proved optimal)
    seconds: float = 0.0


class Infeasible(Exception):
    """The pins (with the hard rules) admit no plan at all."""


def solve(problem: Problem, *, time_limit: float = 30.0, start: dict[Need, list[Candidate]] | None = None,
          gap: float = 1e-6) -> Solution:
    """The best plan, proved optimal (gap 0) unless ``time_limit`` seconds pass first: then the best found, with the
    gap to the solver's bound. ``start`` (e.g. the greedy plan) is handed to the solver as its first solution, so the
    answer is never worse than it. ``gap``: stop once the plan is proved within this share of the optimum ("optimal"
    when the proof closes, "near_optimal" with the proved gap otherwise)."""
    import highspy
    import numpy as np

    started = time.monotonic()
    pairs = list(problem.pair)
    px = {p: i for i, p in enumerate(pairs)}
    needs = list(problem.needs)
    ny = {n: len(pairs) + i for i, n in enumerate(needs)}
    extra = list(problem.cover) + list(problem.mix)
    n_vars = len(pairs) + len(needs) + len(extra)
    value = np.zeros(n_vars)
    for p, i in px.items():
        value[i] = problem.pair_value(*p)
    for j in ny.values():
        value[j] = problem.team_value
    by_need: dict[Need, list[int]] = defaultdict(list)
    by_candidate: dict[Candidate, list[int]] = defaultdict(list)
    for (n, c), i in px.items():
        by_need[n].append(i)
        by_candidate[c].append(i)

    starts, index, coefficient, lower, upper = [], [], [], [], []

    def row(entries, lo, hi):
        starts.append(len(index))
        for col, val in entries:
            index.append(col)
            coefficient.append(val)
        lower.append(lo)
        upper.append(hi)

    inf = highspy.kHighsInf
    for items in by_candidate.values():
        if len(items) > 1:
            row([(i, 1) for i in items], -inf, 1)  # one team per candidate
    low, high = problem.size
    for n in needs:
        items = by_need.get(n, [])
        row([(i, 1) for i in items] + [(ny[n], -high)], -inf, 0)  # size or nothing
        row([(i, 1) for i in items] + [(ny[n], -low)], 0, inf)
        per_group = defaultdict(list)
        for i in items:
            per_group[problem.group[pairs[i][1]]].append(i)
        for group_items in per_group.values():
            if len(group_items) > 1:
                row([(i, 1) for i in group_items], -inf, 1)  # one per group
    for k, term in enumerate(extra):
        j = len(pairs) + len(needs) + k
        n = term[0]
        value[j] = term[2]
        for members in (term[3:] if len(term) == 5 else (term[3],)):
            row([(j, 1)] + [(px[(n, c)], -1) for c in members if (n, c) in px], -inf, 0)  # earned only if held
        row([(j, 1), (ny[n], -1)], -inf, 0)
    if problem.budget is not None and problem.cost:
        row([(px[p], cost) for p, cost in problem.cost.items() if p in px and cost], -inf, problem.budget)

    col_lower = np.zeros(n_vars)
    for p in problem.pins:
        if p not in px:
            raise Infeasible(p)
        col_lower[px[p]] = 1
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_vars, len(lower)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = value
    lp.col_lower_, lp.col_upper_ = col_lower, np.ones(n_vars)
    lp.row_lower_, lp.row_upper_ = np.array(lower, dtype=float), np.array(upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_vars, len(lower)
    lp.a_matrix_.start_ = np.array(starts + [len(index)], dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(coefficient, dtype=float)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * (len(pairs) + len(needs)) + [highspy.HighsVarType.kContinuous] * len(extra)

    if len(pairs) > LP_GUIDED_FROM and not problem.violations(start or {}):
        start = _lp_guided(problem, lp, pairs, start or {}, time_limit=time_limit / 3)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", max(1.0, float(time_limit) - (time.monotonic() - started)))
    highs.setOptionValue("mip_rel_gap", float(gap))
    highs.setOptionValue("threads", 1)
    highs.passModel(lp)
    if start and not problem.violations(start):
        highs.setSolution(_columns(problem, start, px, ny, extra, n_vars))
    highs.run()
    status = highs.getModelStatus()
    seconds = time.monotonic() - started
    if status == highspy.HighsModelStatus.kInfeasible:
        raise Infeasible("no plan satisfies the pins and the rules")
    info = highs.getInfo()
    if info.primal_solution_status != highspy.kSolutionStatusFeasible:
        return Solution({}, 0.0, "time_limit", 1.0, seconds)
    x = highs.getSolution().col_value
    teams: dict[Need, list[Candidate]] = defaultdict(list)
    for p, i in px.items():
        if x[i] > 0.5:
            teams[p[0]].append(p[1])
    teams = dict(teams)
    if status == highspy.HighsModelStatus.kOptimal:
        proved = max(0.0, float(info.mip_gap))
        return Solution(teams, problem.total(teams), "optimal" if proved < 1e-6 else "near_optimal", proved, seconds)
    return Solution(teams, problem.total(teams), "time_limit", max(0.0, float(info.mip_gap)), seconds)


def solve_in_parts(problem: Problem, *, time_limit: float = 30.0, start: dict[Need, list[Candidate]] | None = None,
                   part_size: int = 120, seed: int = 1) -> Solution:
    """For problems too large to prove optimal in time: large-neighbourhood search. Starting from ``start``, a part
    of the needs is freed with its members and planned again exactly against every unused candidate (the rest
    fixed), part after part in a shuffled order, until a whole round improves nothing or time runs out. Each step
    keeps or improves the total, so the answer is never worse than ``start``. The gap is measured against
    ``upper_bound`` (each need's best team as if it had every candidate to itself)."""
    import random

    started = time.monotonic()
    rng = random.Random(seed)
    current = {n: list(m) for n, m in (start or greedy(problem).teams).items()}
    options = defaultdict(list)
    for (n, c) in problem.pair:
        options[n].append(c)
    improved = True
    while improved and time.monotonic() - started < time_limit:
        improved = False
        order = list(problem.needs)
        rng.shuffle(order)
        for i in range(0, len(order), part_size):
            left = time_limit - (time.monotonic() - started)
            if left <= 0.5:
                break
            part = set(order[i:i + part_size])
            used_elsewhere = {c for n, m in current.items() if n not in part for c in m}
            sub = Problem([n for n in problem.needs if n in part], [], problem.group,
                          {(n, c): problem.pair[(n, c)] for n in part for c in options[n] if c not in used_elsewhere},
                          [t for t in problem.cover if t[0] in part], [t for t in problem.mix if t[0] in part],
                          problem.team_value, problem.size, {p for p in problem.pins if p[0] in part},
                          {p: v for p, v in problem.cost.items() if p[0] in part and p[1] not in used_elsewhere},
                          None if problem.budget is None else
                          problem.budget - problem.total_cost({n: m for n, m in current.items() if n not in part}))
            before = {n: current[n] for n in part if n in current}
            try:
                found = solve(sub, time_limit=min(left, 10.0), start=before)
            except Infeasible:
                continue
            if found.objective > sub.total(before) + 1e-6:
                for n in part:
                    current.pop(n, None)
                current.update(found.teams)
                improved = True
    total = problem.total(current)
    bound = upper_bound(problem)
    gap = max(0.0, (bound - total) / bound) if bound > 0 else 0.0
    return Solution(current, total, "time_limit" if gap > 1e-6 else "optimal", gap, time.monotonic() - started)


def upper_bound(problem: Problem) -> float:
    """A total no plan can beat: for each need, the team value, its three best pair values (ignoring every rule
    between candidates), every set factor it could earn, positive parts only."""
    best_pairs = defaultdict(list)
    for (n, c), factors in problem.pair.items():
        best_pairs[n].append(sum(factors.values()))
    bound = 0.0
    for n in problem.needs:
        values = sorted(best_pairs.get(n, []), reverse=True)
        if len(values) < problem.size[0]:
            continue
        extra = sum(t[2] for t in problem._covers_of(n)) + sum(t[2] for t in problem._mixes_of(n))
        top = values[:problem.size[0]] + [v for v in values[problem.size[0]:problem.size[1]] if v > 0]
        bound += max(0.0, problem.team_value + sum(top) + extra)
    return bound


LP_GUIDED_FROM = 5_000  # pairs: above this, a start from the LP relaxation pays for itself


def _lp_guided(problem: Problem, lp, pairs: list, start: dict, *, time_limit: float) -> dict:
    """A strong first solution: solve the relaxation (fractional teams allowed), keep only the pairs it uses at all
    (plus the given start's), and solve that small problem exactly. The LP of an assignment like this is nearly
    integral, so the answer is usually the optimum or close to it; the full problem then only has to prove it."""
    import highspy

    relaxed = highspy.Highs()
    relaxed.setOptionValue("output_flag", False)
    relaxed.setOptionValue("time_limit", float(time_limit))
    relaxed.passModel(lp)
    relaxed.changeColsIntegrality(lp.num_col_, list(range(lp.num_col_)), [highspy.HighsVarType.kContinuous] * lp.num_col_)
    relaxed.run()
    if relaxed.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return start
    values = relaxed.getSolution().col_value
    keep = {p for i, p in enumerate(pairs) if values[i] > 1e-6} | {(n, c) for n, m in start.items() for c in m} | set(problem.pins)
    small = Problem(problem.needs, problem.candidates, problem.group, {p: problem.pair[p] for p in keep if p in problem.pair},
                    problem.cover, problem.mix, problem.team_value, problem.size, problem.pins,
                    {p: v for p, v in problem.cost.items() if p in keep}, problem.budget)
    try:
        found = solve(small, time_limit=time_limit, start=start)
    except Infeasible:
        return start
    return found.teams if found.objective > problem.total(start) else start


def _columns(problem: Problem, teams, px, ny, extra, n_vars):
    import highspy

    values = [0.0] * n_vars
    for n, members in teams.items():
        values[ny[n]] = 1.0
        for c in members:
            values[px[(n, c)]] = 1.0
    for k, term in enumerate(extra):
        members = teams.get(term[0], [])
        if all(any(c in s for c in members) for s in (term[3:] if len(term) == 5 else (term[3],))) and members:
            values[len(px) + len(ny) + k] = 1.0
    solution = highspy.HighsSolution()
    solution.col_value = values
    solution.value_valid = True
    return solution


def greedy(problem: Problem) -> Solution:
    """The first-generation assistant, kept for comparison (and as the solver's first solution): needs with the
    fewest strong candidates first each take the candidates who add most; then the weakest teams take a third member
    where one adds anything. Pins are placed first."""
    started = time.monotonic()
    low, high = problem.size
    taken: set[Candidate] = set()
    teams: dict[Need, list[Candidate]] = {}
    for n, c in problem.pins:
        teams.setdefault(n, []).append(c)
        taken.add(c)
    options = defaultdict(list)
    for (n, c) in problem.pair:
        options[n].append(c)
    spent = problem.total_cost(teams)

    def scarcity(n):
        return (sum(1 for c in options[n] if problem.alone_value(n, c) > 0), str(n))

    def best_addition(n, members):
        groups = {problem.group[c] for c in members}
        best, best_gain = None, None
        base = sum(problem.team_score(n, members).values()) if members else problem.team_value
        for c in options[n]:
            if c in taken or problem.group[c] in groups:
                continue
            if problem.budget is not None and spent + problem.cost.get((n, c), 0) > problem.budget:
                continue
            gain = sum(problem.team_score(n, members + [c]).values()) - base
            if best_gain is None or gain > best_gain:
                best, best_gain = c, gain
        return best, best_gain

    def add(n, members, c):
        nonlocal spent
        members.append(c)
        taken.add(c)
        spent += problem.cost.get((n, c), 0)

    for n in sorted(problem.needs, key=scarcity):
        members = list(teams.get(n, []))
        while len(members) < low:
            c, _ = best_addition(n, members)
            if c is None:
                break
            add(n, members, c)
        if len(members) >= low:
            teams[n] = members
        else:
            for c in members:
                if (n, c) not in problem.pins:
                    taken.discard(c)
                    spent -= problem.cost.get((n, c), 0)
    for n in sorted(teams, key=lambda n: sum(problem.team_score(n, teams[n]).values())):  # weakest teams first
        while len(teams[n]) < high:
            c, gain = best_addition(n, teams[n])
            if c is None or gain <= 0:
                break
            add(n, teams[n], c)
    return Solution(teams, problem.total(teams), "greedy", seconds=time.monotonic() - started)


def brute_force(problem: Problem) -> float:
    """The best total by trying every plan: for tests on tiny instances only."""
    candidates = list(problem.candidates)
    best = float("-inf")
    low, high = problem.size

    def teams_for(need):
        yield []
        for size in range(low, high + 1):
            for members in itertools.combinations(candidates, size):
                yield list(members)

    for choice in itertools.product(*(list(teams_for(n)) for n in problem.needs)):
        teams = {n: m for n, m in zip(problem.needs, choice) if m}
        if not problem.violations(teams):
            best = max(best, problem.total(teams))
    return best
