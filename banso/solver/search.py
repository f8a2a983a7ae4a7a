"""What is not the exact program: the greedy assistant (the first solution, and the comparison shown to users), the
large-neighbourhood search for problems too large to prove in time, the bound it measures its gap against, and
brute force for tests."""
from __future__ import annotations

import itertools
import time
from collections import defaultdict

from banso.solver.milp import solve
from banso.solver.problem import Building, Infeasible, Problem, Solution, Teams, admits


def solve_in_parts(problem: Problem, *, time_limit: float = 30.0, start: Teams | None = None,
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
            elsewhere = {n: m for n, m in current.items() if n not in part}
            sub = problem.part(part, {c for m in elsewhere.values() for c in m},
                               None if problem.budget is None else problem.budget - problem.total_cost(elsewhere))
            before = {n: current[n] for n in part if n in current}
            try:
                found = solve(sub, time_limit=min(left, 10.0), start=before)
            except Infeasible:
                continue
            if found.objective > sub.total(before) + 1e-6:
                current = {**elsewhere, **found.teams}
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
    low, high = problem.size
    bound = 0.0
    for n in problem.needs:
        values = sorted(best_pairs.get(n, []), reverse=True)
        if len(values) < low:
            continue
        extra = sum(t.weight for t in problem.terms_of(n))
        top = values[:low] + [v for v in values[low:high] if v > 0]
        bound += max(0.0, problem.team_value + sum(top) + extra)
    return bound


def greedy(problem: Problem) -> Solution:
    """The first-generation assistant, kept for comparison (and as the solver's first solution): needs with the
    fewest strong candidates first each take the candidates who add most; then the weakest teams take a third member
    where one adds anything. Pins are placed first."""
    started = time.monotonic()
    low, high = problem.size
    building = Building()
    teams: Teams = {}
    for n, c in problem.pins:
        teams.setdefault(n, []).append(c)
        building.taken.add(c)
    building.spent = problem.total_cost(teams)
    options = defaultdict(list)
    for (n, c) in problem.pair:
        options[n].append(c)

    def scarcity(n):
        return (sum(1 for c in options[n] if problem.alone_value(n, c) > 0), str(n))

    def best_addition(n, members):
        best, best_gain = None, None
        base = sum(problem.team_score(n, members).values()) if members else problem.team_value
        for c in options[n]:
            if not admits(problem, n, members, c, building):
                continue
            gain = sum(problem.team_score(n, members + [c]).values()) - base
            if best_gain is None or gain > best_gain:
                best, best_gain = c, gain
        return best, best_gain

    def add(n, members, c):
        members.append(c)
        building.taken.add(c)
        building.spent += problem.cost.get((n, c), 0)

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
                    building.taken.discard(c)
                    building.spent -= problem.cost.get((n, c), 0)
    for n in sorted(teams, key=lambda n: sum(problem.team_score(n, teams[n]).values())):  # weakest teams first
        while len(teams[n]) < high:
            c, gain = best_addition(n, teams[n])
            if c is None or gain <= 0:
                break
            add(n, teams[n], c)
    return Solution(teams, problem.total(teams), "greedy", seconds=time.monotonic() - started)


def brute_force(problem: Problem) -> float:
    """The best total by trying every plan: for tests on tiny instances only."""
    low, high = problem.size

    def teams_for(need):
        yield []
        for size in range(low, high + 1):
            yield from (list(members) for members in itertools.combinations(problem.candidates, size))

    best = float("-inf")
    for choice in itertools.product(*(list(teams_for(n)) for n in problem.needs)):
        teams = {n: m for n, m in zip(problem.needs, choice) if m}
        if not problem.violations(teams):
            best = max(best, problem.total(teams))
    return best


