"""The assignment problem: needs, candidates, the fit as named factors (typed terms), and the hard rules — each
rule written once, with the three things the engines ask of it (is a plan breaking it, may a greedy step add this
candidate, which rows state it in the mixed-integer program)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Hashable

Need = Hashable
Candidate = Hashable
Teams = dict[Need, list[Candidate]]


class _SetTerm:
    sets: tuple[frozenset, ...]

    def earned_by(self, team: list[Candidate]) -> bool:
        """Earned when the team has a member in each of the term's sets."""
        return bool(team) and all(any(c in s for c in team) for s in self.sets)


@dataclass(frozen=True)
class Cover(_SetTerm):
    """``weight`` earned by need's team once at least one member is in ``members`` (someone covers the
    first-priority field); shared among the members who are."""
    need: Need
    factor: str
    weight: float
    members: frozenset

    @property
    def sets(self) -> tuple[frozenset, ...]:
        return (self.members,)

    def shares(self, team: list[Candidate]) -> dict[Candidate, float]:
        holders = [c for c in team if c in self.members]
        return {c: self.weight / len(holders) for c in holders}


@dataclass(frozen=True)
class Mix(_SetTerm):
    """``weight`` earned when the team holds members of both ``a`` and ``b`` (a senior and a junior); shared by all."""
    need: Need
    factor: str
    weight: float
    a: frozenset
    b: frozenset

    @property
    def sets(self) -> tuple[frozenset, ...]:
        return (self.a, self.b)

    def shares(self, team: list[Candidate]) -> dict[Candidate, float]:
        return {c: self.weight / len(team) for c in team} if self.earned_by(team) else {}


Term = Cover | Mix


@dataclass
class Problem:
    needs: list[Need]
    candidates: list[Candidate]
    group: dict[Candidate, str]                                   # at most one per group in a team
    pair: dict[tuple[Need, Candidate], dict[str, float]]          # admissible pairs with their factor scores
    cover: list[Cover] = field(default_factory=list)
    mix: list[Mix] = field(default_factory=list)
    team_value: float = 0.0                                       # for each team formed
    size: tuple[int, int] = (2, 3)
    pins: set[tuple[Need, Candidate]] = field(default_factory=set)
    cost: dict[tuple[Need, Candidate], int] = field(default_factory=dict)
    budget: int | None = None

    @property
    def terms(self) -> list[Term]:
        return [*self.cover, *self.mix]

    def terms_of(self, need: Need) -> list[Term]:
        index = self.__dict__.get("_term_index")
        if index is None:
            index = defaultdict(list)
            for term in self.terms:
                index[term.need].append(term)
            self.__dict__["_term_index"] = index
        return index.get(need, [])

    def pair_value(self, need: Need, candidate: Candidate) -> float:
        return sum(self.pair[(need, candidate)].values())

    def alone_value(self, need: Need, candidate: Candidate) -> float:
        """What a candidate brings to a need on their own: their pair factors and the sets they cover."""
        return self.pair_value(need, candidate) + sum(t.weight for t in self.terms_of(need)
                                                      if isinstance(t, Cover) and candidate in t.members)

    def team_score(self, need: Need, members: list[Candidate]) -> dict[str, float]:
        """The fit of one team, factor by factor (pairs the problem does not admit count nothing)."""
        if not members:
            return {}
        scores: dict[str, float] = defaultdict(float)
        scores["team"] += self.team_value
        for c in members:
            for name, value in self.pair.get((need, c), {}).items():
                scores[name] += value
        for term in self.terms_of(need):
            if term.earned_by(members):
                scores[term.factor] += term.weight
        return dict(scores)

    def member_scores(self, need: Need, members: list[Candidate]) -> dict[Candidate, dict[str, float]]:
        """Each member's share of the team's fit: their pair factors, and each set factor split as the term says."""
        shares = {c: dict(self.pair.get((need, c), {})) for c in members}
        for term in self.terms_of(need):
            for c, part in term.shares(members).items():
                shares[c][term.factor] = shares[c].get(term.factor, 0) + part
        return shares

    def violations(self, teams: Teams) -> list[str]:
        """Every hard rule a set of teams breaks (the solver's output is checked against this in tests)."""
        return [problem for rule in RULES for problem in rule.broken(self, teams)]

    def total_cost(self, teams: Teams) -> int:
        return sum(self.cost.get((n, c), 0) for n, members in teams.items() for c in members)

    def total(self, teams: Teams) -> float:
        return sum(sum(self.team_score(n, m).values()) for n, m in teams.items())

    def part(self, needs: set, unavailable: set, budget_left: int | None) -> Problem:
        """The same problem for some needs only, without the candidates placed elsewhere."""
        return Problem([n for n in self.needs if n in needs], [], self.group,
                       {p: f for p, f in self.pair.items() if p[0] in needs and p[1] not in unavailable},
                       [t for t in self.cover if t.need in needs], [t for t in self.mix if t.need in needs],
                       self.team_value, self.size, {p for p in self.pins if p[0] in needs},
                       {p: v for p, v in self.cost.items() if p[0] in needs and p[1] not in unavailable}, budget_left)

    def keeping(self, pairs: set) -> Problem:
        """The same problem with only these pairs admissible."""
        return Problem(self.needs, self.candidates, self.group, {p: self.pair[p] for p in pairs if p in self.pair},
                       self.cover, self.mix, self.team_value, self.size, self.pins,
                       {p: v for p, v in self.cost.items() if p in pairs}, self.budget)


@dataclass
class Solution:
    teams: Teams
    objective: float
    status: str              # "optimal", "near_optimal" (within the gap asked), "time_limit" (best found, gap given)
    gap: float = 0.0         # relative optimality gap (0 when proved optimal)
    seconds: float = 0.0


class Infeasible(Exception):
    """The pins (with the hard rules) admit no plan at all."""


@dataclass
class Building:
    """A plan being built a member at a time (the greedy assistant): who is taken and what is spent."""
    taken: set = field(default_factory=set)
    spent: int = 0


# --- the hard rules, each once -------------------------------------------------------------------------------------
# ``broken``: what a finished plan breaks; ``admits``: whether a greedy step may add ``candidate`` to ``members``;
# ``rows``: the rule in the program (banso/solver/milp.py's Model: variables x[pair], y[need], ``row``).

class OneTeamEach:
    @staticmethod
    def broken(problem: Problem, teams: Teams) -> list[str]:
        seen: set = set()
        twice = []
        for members in teams.values():
            twice += [f"twice {c}" for c in members if c in seen]
            seen.update(members)
        return twice

    @staticmethod
    def admits(problem: Problem, need, members, candidate, building: Building) -> bool:
        return candidate not in building.taken

    @staticmethod
    def rows(problem: Problem, model) -> None:
        for items in model.by_candidate.values():
            if len(items) > 1:
                model.row([(i, 1) for i in items], None, 1)


class TeamSize:
    @staticmethod
    def broken(problem: Problem, teams: Teams) -> list[str]:
        low, high = problem.size
        return [f"size {n}: {len(m)}" for n, m in teams.items() if not low <= len(m) <= high]

    @staticmethod
    def admits(problem: Problem, need, members, candidate, building: Building) -> bool:
        return len(members) < problem.size[1]

    @staticmethod
    def rows(problem: Problem, model) -> None:
        low, high = problem.size
        for n in problem.needs:  # size or nothing
            items = model.by_need.get(n, [])
            model.row([(i, 1) for i in items] + [(model.y[n], -high)], None, 0)
            model.row([(i, 1) for i in items] + [(model.y[n], -low)], 0, None)


class OnePerGroup:
    @staticmethod
    def broken(problem: Problem, teams: Teams) -> list[str]:
        return [f"group {n}" for n, m in teams.items() if len({problem.group[c] for c in m}) < len(m)]

    @staticmethod
    def admits(problem: Problem, need, members, candidate, building: Building) -> bool:
        return problem.group[candidate] not in {problem.group[c] for c in members}

    @staticmethod
    def rows(problem: Problem, model) -> None:
        for n in problem.needs:
            per_group = defaultdict(list)
            for i in model.by_need.get(n, []):
                per_group[problem.group[model.pairs[i][1]]].append(i)
            for items in per_group.values():
                if len(items) > 1:
                    model.row([(i, 1) for i in items], None, 1)


class Admissible:
    """Only admissible pairs: the program has no variable for the others."""
    @staticmethod
    def broken(problem: Problem, teams: Teams) -> list[str]:
        return [f"not admissible {n}/{c}" for n, m in teams.items() for c in m if (n, c) not in problem.pair]

    @staticmethod
    def admits(problem: Problem, need, members, candidate, building: Building) -> bool:
        return (need, candidate) in problem.pair

    @staticmethod
    def rows(problem: Problem, model) -> None:
        return None


class Pinned:
    """Pinned pairs are in the plan (the greedy assistant places them first)."""
    @staticmethod
    def broken(problem: Problem, teams: Teams) -> list[str]:
        return [f"pin {n}/{c}" for n, c in problem.pins if c not in teams.get(n, [])]

    @staticmethod
    def admits(problem: Problem, need, members, candidate, building: Building) -> bool:
        return True

    @staticmethod
    def rows(problem: Problem, model) -> None:
        for p in problem.pins:
            if p not in model.x:
                raise Infeasible(p)
            model.col_lower[model.x[p]] = 1


class WithinBudget:
    @staticmethod
    def broken(problem: Problem, teams: Teams) -> list[str]:
        return ["budget"] if problem.budget is not None and problem.total_cost(teams) > problem.budget else []

    @staticmethod
    def admits(problem: Problem, need, members, candidate, building: Building) -> bool:
        return problem.budget is None or building.spent + problem.cost.get((need, candidate), 0) <= problem.budget

    @staticmethod
    def rows(problem: Problem, model) -> None:
        if problem.budget is not None and problem.cost:
            model.row([(model.x[p], cost) for p, cost in problem.cost.items() if p in model.x and cost], None, problem.budget)


RULES = (OneTeamEach, TeamSize, OnePerGroup, Admissible, Pinned, WithinBudget)


def admits(problem: Problem, need: Need, members: list[Candidate], candidate: Candidate, building: Building) -> bool:
    return all(rule.admits(problem, need, members, candidate, building) for rule in RULES)
