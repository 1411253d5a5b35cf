"""The score a constrained search ranks trials by: return where J_c <= d, below every such trial where not.

A constrained MDP asks for the most return among policies with J_c <= d. Tune's searchers and
schedulers rank trials by one number, so the two-level order (feasible first, then by return;
infeasible ones by how far over the limit they are) is encoded in one float:

* feasible (J_c <= d): ``score = max(return, FEASIBLE_FLOOR)``;
* infeasible (J_c > d): ``score = INFEASIBLE_BASE - min(violation, MAX_VIOLATION)`` with
  ``violation = (J_c - d) / d``, the relative excess over the limit (``J_c`` itself where d = 0);
* no J_c yet (no episode has finished): ``score = UNMEASURED``, the lowest of all.

Every feasible score is >= ``FEASIBLE_FLOOR`` = -1e9 > ``INFEASIBLE_BASE`` = -1e10 >= every
infeasible score > ``UNMEASURED``: a trial over the limit can never rank above one that holds
it, whatever their returns (a feasible return below -1e9 is clamped to the floor and ties there:
no task we know comes close). Among infeasible trials the one nearer the limit ranks higher (up
to a relative excess of 1e9, where they tie), so
an early-stopping scheduler (ASHA) stops the worst violators first, and the searcher is steered
toward the feasible region before it is steered toward return.

The score does not depend on the cost's units: multiplying every cost and d by k > 0 leaves
it unchanged where d > 0 (and the ranking unchanged where d = 0).

The score is a function of the iteration's J_c (the mean cost of the last
``episode_cost_window`` finished episodes) and return, the same figures ``rllib-safe train``
shows; ranking by it is as noisy as those figures are.

No Ray or torch import: plain arithmetic, tested directly.
"""

from __future__ import annotations

import math

#: Lowest score of a feasible trial (returns below it are clamped to it).
FEASIBLE_FLOOR = -1e9
#: Highest score of an infeasible trial.
INFEASIBLE_BASE = -1e10
#: Relative violations beyond this tie (keeps infeasible scores above ``UNMEASURED``).
MAX_VIOLATION = 1e9
#: The score of a trial with no finished episode yet: below every measured one.
UNMEASURED = -1e20


def is_feasible(episode_cost: float | None, cost_limit: float) -> bool:
    """J_c <= d, for a measured J_c."""
    return episode_cost is not None and math.isfinite(episode_cost) and episode_cost <= cost_limit


def constrained_score(episode_return: float | None, episode_cost: float | None, cost_limit: float) -> float:
    """The module docstring's score of one iteration (``episode_return`` None or NaN counts as unmeasured)."""
    measured_return = episode_return is not None and math.isfinite(episode_return)
    if episode_cost is None or not math.isfinite(episode_cost) or not measured_return:
        return UNMEASURED
    if episode_cost <= cost_limit:
        return max(float(episode_return), FEASIBLE_FLOOR)
    violation = (episode_cost - cost_limit) / cost_limit if cost_limit > 0 else episode_cost
    return INFEASIBLE_BASE - min(violation, MAX_VIOLATION)
