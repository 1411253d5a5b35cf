"""A constrained search with Ray Tune: Optuna (or random draws) proposes, ASHA stops early, both by the score.

A sweep spec with a ``search:`` block (``rllib_safe.sweeps.spec.Search``) runs ``num_samples``
trials whose points Tune's searcher proposes, instead of a grid. Every trial reports
:data:`SCORE_KEY`, ``rllib_safe.sweeps.score.constrained_score`` of its iteration, added by the
algorithm's *search trainable* (:class:`ConstrainedScore` mixed into the algorithm class,
registered with Tune as ``<Class>Search``, e.g. ``PCRPOSearch``); the searcher maximises it
and the scheduler stops the trials with the lowest scores at each rung, so infeasible trials
are stopped first and a trial over the limit never ranks above one that holds it.
"""

from __future__ import annotations

from ray import tune
from ray.tune.registry import register_trainable

from rllib_safe.algorithms import ALGORITHMS, algorithm_class
from rllib_safe.metrics import COST_KEY, RETURN_KEY, lookup
from rllib_safe.sweeps.score import constrained_score

#: The score in each iteration's result (top level), Tune's ``metric`` of a search.
SCORE_KEY = "constrained_score"
#: Tune's ``mode`` of a search: the score is maximised.
SCORE_MODE = "max"


class ConstrainedScore:
    """Mixin for an rllib-safe Algorithm: each iteration's result carries :data:`SCORE_KEY`, from the
    return and J_c over the same finished episodes (``RETURN_KEY``, ``COST_KEY``)."""

    def step(self) -> dict:
        result = super().step()
        episode_return = lookup(result, RETURN_KEY, default=None)
        episode_cost = lookup(result, COST_KEY, default=None)
        result[SCORE_KEY] = constrained_score(episode_return, episode_cost, self.config.cost_limit)
        return result


def _search_trainable(cls: type) -> type:
    return type(f"{cls.__name__}Search", (ConstrainedScore, cls), {
        "__module__": __name__,
        "__doc__": f"{cls.__name__} with the constrained search's score in every result.",
    })


#: ``--algo`` name -> the algorithm's search trainable (module attributes, so checkpoints unpickle).
SEARCH_TRAINABLES = {name: _search_trainable(cls) for name, cls in ALGORITHMS.items()}
globals().update({cls.__name__: cls for cls in SEARCH_TRAINABLES.values()})


def search_trainable_name(algorithm: str) -> str:
    """The Tune name of ``algorithm``'s search trainable (registered by this module)."""
    return f"{algorithm_class(algorithm).__name__}Search"


def register_search_trainables() -> None:
    """Makes every search trainable available to Tune by name (idempotent)."""
    for cls in SEARCH_TRAINABLES.values():
        register_trainable(cls.__name__, cls)


register_search_trainables()


def domain(axis) -> tune.search.sample.Domain:
    """Tune's distribution of a random search-space axis (``choice``, ``uniform``, ``loguniform``)."""
    if axis.kind == "choice":
        return tune.choice(axis.values)
    low, high = axis.values
    return tune.uniform(low, high) if axis.kind == "uniform" else tune.loguniform(low, high)


def searcher(search, seed: int):
    """The search algorithm of a ``search:`` block: Optuna's TPE sampler (seeded), or Tune's random draws."""
    if search.algorithm == "random":
        return tune.search.BasicVariantGenerator(random_state=seed)
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(sampler=optuna.samplers.TPESampler(seed=seed))


def scheduler(search, budget):
    """ASHA over the budget's unit (env steps or iterations), or None for no early stopping."""
    if search.scheduler == "none":
        return None
    from ray.tune.schedulers import ASHAScheduler

    time_attr, max_t = next(iter(budget.stop_criteria().items()))
    return ASHAScheduler(
        time_attr=time_attr, max_t=max_t, grace_period=search.grace_period_in(budget),
        reduction_factor=search.reduction_factor,
    )
