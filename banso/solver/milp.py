"""The exact engine: the problem as a mixed-integer program, solved by HiGHS (``highspy``).

* ``x[n, c]`` = 1 when candidate c joins need n's team (only admissible pairs have a variable);
  ``y[n]`` = 1 when need n gets a team; ``z[t]`` ≤ 1 for each set term, earned only if the team holds a member of
  each of its sets.
* The hard rules add their own rows (banso/solver/problem.py, RULES); the objective is the sum of the pair values,
  the team value per team formed and the terms earned.
"""
from __future__ import annotations

import time
from collections import defaultdict

from banso.solver.problem import RULES, Infeasible, Need, Problem, Solution, Teams

LP_GUIDED_FROM = 5_000  # pairs: above this, a start from the LP relaxation pays for itself


class Model:
    """The program's columns and rows while they are written: x[pair], y[need], z[term]; ``row`` adds one row
    (``None`` for an open side)."""

    def __init__(self, problem: Problem):
        import numpy as np

        self.pairs = list(problem.pair)
        self.x = {p: i for i, p in enumerate(self.pairs)}
        self.y = {n: len(self.pairs) + i for i, n in enumerate(problem.needs)}
        self.terms = problem.terms
        self.z = [len(self.pairs) + len(self.y) + k for k in range(len(self.terms))]
        self.n_vars = len(self.pairs) + len(self.y) + len(self.terms)
        self.value = np.zeros(self.n_vars)
        self.col_lower = np.zeros(self.n_vars)
        self.by_need: dict[Need, list[int]] = defaultdict(list)
        self.by_candidate: dict = defaultdict(list)
        for (n, c), i in self.x.items():
            self.by_need[n].append(i)
            self.by_candidate[c].append(i)
        self.starts: list[int] = []
        self.index: list[int] = []
        self.coefficient: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def row(self, entries, lo, hi) -> None:
        import highspy

        self.starts.append(len(self.index))
        for col, val in entries:
            self.index.append(col)
            self.coefficient.append(val)
        self.lower.append(-highspy.kHighsInf if lo is None else lo)
        self.upper.append(highspy.kHighsInf if hi is None else hi)


def _objective_and_terms(problem: Problem, model: Model) -> None:
    for p, i in model.x.items():
        model.value[i] = problem.pair_value(*p)
    for j in model.y.values():
        model.value[j] = problem.team_value
    for term, j in zip(model.terms, model.z):
        model.value[j] = term.weight
        for members in term.sets:  # earned only if held
            model.row([(j, 1)] + [(model.x[(term.need, c)], -1) for c in members if (term.need, c) in model.x], None, 0)
        model.row([(j, 1), (model.y[term.need], -1)], None, 0)


def _lp(model: Model):
    import highspy
    import numpy as np

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = model.n_vars, len(model.lower)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = model.value
    lp.col_lower_, lp.col_upper_ = model.col_lower, np.ones(model.n_vars)
    lp.row_lower_, lp.row_upper_ = np.array(model.lower, dtype=float), np.array(model.upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = model.n_vars, len(model.lower)
    lp.a_matrix_.start_ = np.array(model.starts + [len(model.index)], dtype=np.int32)
    lp.a_matrix_.index_ = np.array(model.index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(model.coefficient, dtype=float)
    integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer] * (len(model.x) + len(model.y)) + [continuous] * len(model.terms)
    return lp


def solve(problem: Problem, *, time_limit: float = 30.0, start: Teams | None = None, gap: float = 1e-6) -> Solution:
    """The best plan, proved optimal (gap 0) unless ``time_limit`` seconds pass first: then the best found, with the
    gap to the solver's bound. ``start`` (e.g. the greedy plan) is handed to the solver as its first solution, so the
    answer is never worse than it. ``gap``: stop once the plan is proved within this share of the optimum ("optimal"
    when the proof closes, "near_optimal" with the proved gap otherwise)."""
    import highspy

    started = time.monotonic()
    model = Model(problem)
    _objective_and_terms(problem, model)
    for rule in RULES:
        rule.rows(problem, model)
    lp = _lp(model)
    if len(model.pairs) > LP_GUIDED_FROM and not problem.violations(start or {}):
        start = _lp_guided(problem, lp, model.pairs, start or {}, time_limit=time_limit / 3)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", max(1.0, float(time_limit) - (time.monotonic() - started)))
    highs.setOptionValue("mip_rel_gap", float(gap))
    highs.setOptionValue("threads", 1)
    highs.passModel(lp)
    if start and not problem.violations(start):
        highs.setSolution(_columns(model, start))
    highs.run()
    return _answer(problem, model, highs, time.monotonic() - started)


def _answer(problem: Problem, model: Model, highs, seconds: float) -> Solution:
    import highspy

    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        raise Infeasible("no plan satisfies the pins and the rules")
    info = highs.getInfo()
    if info.primal_solution_status != highspy.kSolutionStatusFeasible:
        return Solution({}, 0.0, "time_limit", 1.0, seconds)
    x = highs.getSolution().col_value
    teams: Teams = defaultdict(list)
    for p, i in model.x.items():
        if x[i] > 0.5:
            teams[p[0]].append(p[1])
    teams = dict(teams)
    if status == highspy.HighsModelStatus.kOptimal:
        proved = max(0.0, float(info.mip_gap))
        return Solution(teams, problem.total(teams), "optimal" if proved < 1e-6 else "near_optimal", proved, seconds)
    return Solution(teams, problem.total(teams), "time_limit", max(0.0, float(info.mip_gap)), seconds)


def _lp_guided(problem: Problem, lp, pairs: list, start: Teams, *, time_limit: float) -> Teams:
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
    keep = ({p for i, p in enumerate(pairs) if values[i] > 1e-6} | {(n, c) for n, m in start.items() for c in m}
            | set(problem.pins))
    try:
        found = solve(problem.keeping(keep), time_limit=time_limit, start=start)
    except Infeasible:
        return start
    return found.teams if found.objective > problem.total(start) else start


def _columns(model: Model, teams: Teams):
    """A plan as the program's column values (a first solution for HiGHS)."""
    import highspy

    values = [0.0] * model.n_vars
    for n, members in teams.items():
        values[model.y[n]] = 1.0
        for c in members:
            values[model.x[(n, c)]] = 1.0
    for term, j in zip(model.terms, model.z):
        if term.earned_by(teams.get(term.need, [])):
            values[j] = 1.0
    solution = highspy.HighsSolution()
    solution.col_value = values
    solution.value_valid = True
    return solution
