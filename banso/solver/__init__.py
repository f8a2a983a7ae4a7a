"""Optimal team assignment: choose teams of 2–3 candidates for needs, maximising total fit under hard rules.

Domain-free on purpose: a *need* (a municipality's application, an enterprise's request…) and a *candidate* (an
officer, an expert…) are keys; everything the domain knows arrives as numbers, sets and typed terms. Banso's
matching assistant (``banso.services.matching``) is one user; a neighbouring programme's matching can be another.

- ``problem``: the problem, its typed terms (``Cover``: someone of a set on the team; ``Mix``: members of two sets)
  and the hard rules, each written once (one team per candidate, 2–3 members or none, one per group, admissible
  pairs only, pins, the budget);
- ``milp``: the exact engine (HiGHS, a mixed-integer program);
- ``search``: the greedy assistant, the large-neighbourhood search for very large problems, the bound, brute force.
"""
from banso.solver.milp import LP_GUIDED_FROM, solve
from banso.solver.problem import RULES, Candidate, Cover, Infeasible, Mix, Need, Problem, Solution
from banso.solver.search import brute_force, greedy, solve_in_parts, upper_bound

__all__ = ["LP_GUIDED_FROM", "RULES", "Candidate", "Cover", "Infeasible", "Mix", "Need", "Problem", "Solution",
           "brute_force", "greedy", "solve", "solve_in_parts", "upper_bound"]
