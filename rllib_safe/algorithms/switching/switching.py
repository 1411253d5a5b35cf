"""The switching family's base: CRPO and PCRPO switch the actor's objective per iteration.

``SwitchingConfig`` holds the actor-step settings the two share (as ``safe_ppo/`` is every
algorithm's base); ``switching_torch_learner.SwitchingTorchLearner`` the learner machinery.
The actor steps either with one trust-region (natural-gradient) step per iteration (default,
as the PCRPO authors and OmniSafe's CRPO) or with Adam on the PPO-clip gradients
(``actor_step="first_order"``). Each algorithm sets only which objective a step follows
(``region()``): CRPO (``crpo/``) switches hard, PCRPO (``pcrpo/``) softly.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

from ray.rllib.algorithms.algorithm_config import NotProvided

from rllib_safe.algorithms.safe_ppo.safe_ppo import SafePPOConfig
from rllib_safe.checks import check_choice, check_count, check_range

#: CRPO's and PCRPO's default ``cost_advantage_normalization`` (SafePPO's is "center").
SWITCHING_COST_ADVANTAGE_NORMALIZATION = "standardize"

#: How the actor steps (not to be confused with ``UpdateMode``, which objective a step follows).
ActorStep = Literal["trust_region", "first_order"]

#: How CRPO's and PCRPO's actor steps, in ``training()`` with the defaults (the PCRPO authors').
ACTOR_STEP_DEFAULTS = {
    "actor_step": "trust_region",
    "max_kl": 0.02,
    "cg_iterations": 10,
    "cg_damping": 0.1,
    "line_search_decay": 0.8,
    "line_search_max_backtracks": 15,
}


class SwitchingConfig(SafePPOConfig):
    """How the actor steps in the algorithms that switch its objective (CRPO, PCRPO).

    The learners take g_r and g_c on the same batch at the same parameters and step the
    actor either with one trust-region (natural-gradient) step per iteration (default, as
    the PCRPO authors and OmniSafe's CRPO) or with Adam on PPO-clip gradients
    (``actor_step="first_order"``). The critics always take Adam minibatch steps.
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class)
        self._update_settings(ACTOR_STEP_DEFAULTS)
        # g_c from standardised cost advantages, as g_r from standardised reward advantages:
        # the soft step's mix and projections, and the first-order steps, then do not depend
        # on the cost's units (docs/algorithms.md section 2, "Units"). "center" (OmniSafe's
        # default elsewhere) remains a choice, at the price of that invariance.
        self.cost_advantage_normalization = SWITCHING_COST_ADVANTAGE_NORMALIZATION

    def training(
        self,
        *,
        actor_step: ActorStep = NotProvided,
        max_kl: float = NotProvided,
        cg_iterations: int = NotProvided,
        cg_damping: float = NotProvided,
        line_search_decay: float = NotProvided,
        line_search_max_backtracks: int = NotProvided,
        **kwargs,
    ) -> SwitchingConfig:
        """The safe-PPO settings plus the actor step's.

        Args:
            actor_step: "trust_region" (one natural-gradient step of the actor per
                iteration on the whole batch) or "first_order" (Adam on the PPO-clip
                gradients, every minibatch). Critics always take Adam minibatch steps.
            max_kl: KL radius delta of the trust-region step.
            cg_iterations: conjugate-gradient iterations of the trust-region step.
            cg_damping: damping added to the Fisher-vector products.
            line_search_decay: step shrink factor of the backtracking line search.
            line_search_max_backtracks: tries of the backtracking line search.
        """
        super().training(**kwargs)
        self._update_settings(locals(), ACTOR_STEP_DEFAULTS)
        return self

    def validate(self) -> None:
        super().validate()
        check_choice("actor_step", self.actor_step, get_args(ActorStep))
        check_range("max_kl", self.max_kl, 0.0, math.inf, low_open=True, high_open=True)
        check_count("cg_iterations", self.cg_iterations, 1)
        check_range("cg_damping", self.cg_damping, 0.0, math.inf, high_open=True)
        check_range("line_search_decay", self.line_search_decay, 0.0, 1.0, low_open=True, high_open=True)
        check_count("line_search_max_backtracks", self.line_search_max_backtracks, 1)
