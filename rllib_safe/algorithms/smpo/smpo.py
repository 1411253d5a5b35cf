"""SMPO: safety-modulated rewards with a learned cost critic (docs/algorithms.md section 3)."""

from __future__ import annotations

import math
from typing import Literal, get_args

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from rllib_safe.algorithms.safe_ppo.safe_ppo import SafePPO, SafePPOConfig
from rllib_safe.checks import check_choice, check_count, check_range
from rllib_safe.core.modulation import (
    WEIGHT_FLOOR,
    ModulationTarget,
    ModulationUnits,
    NegativeRewardModulation,
    RewardShift,
)
from rllib_safe.core.schedules import relaxed_threshold
from rllib_safe.renamed import duration_env_steps

#: SMPO's settings in ``training()`` with their defaults.
SMPO_TRAINING_DEFAULTS = {
    "modulation_base": 3.0,
    "threshold_eta": 2.0,
    # The paper's e_max = 50 epochs; the authors' code's epochs are 20,000 env steps (1M).
    "threshold_anneal_env_steps": 1_000_000,
    "threshold_anneal_iterations": None,  # old, in training iterations (rllib_safe.renamed)
    "use_dynamic_threshold": True,
    "qc_l2": 0.1,
    "qc_lr": 1e-3,
    "qc_target_tau": 0.05,
    "critic_gradient_coeff": 1.0,
    "negative_reward_modulation": "penalise",
    "modulation_units": "absolute",
    "min_weight": -1.0,
    "expected_sarsa_samples": 4,
    "modulation_target": "reward",
    # The authors' code: every reward the learner sees is >= 0, so a weight past d' never turns a
    # penalty into a bonus nor makes not spending worse than spending (docs/algorithms.md 3b).
    "reward_shift": "episode_minimum",
    "reward_offset": 0.0,
    "modulation_warmup_env_steps": 0,
    "critic_gradient_estimator": "next_state",
    "qc_regularizer": "weight_l2",
    # The paper's (1 - done), done at every episode end: C_t + Q^c predicts the episode's cost.
    "qc_bootstrap_time_limit": False,
}

#: The two estimators of the policy-gradient term through Q^c (``critic_gradient_estimator``).
CriticGradientEstimator = Literal["next_state", "same_state"]
#: What Q^c's regulariser penalises (``qc_regularizer``).
CostQRegularizer = Literal["weight_l2", "prediction_l2"]

#: f needs d' > 0, and f' (about -1/d' below d') must stay a float32 number times any reward.
MIN_COST_LIMIT = 1e-6

class SMPOConfig(SafePPOConfig):
    """PPO on modulated rewards f(C_t + clip(Q^c(s, a), 0, d')) r, Q^c learnt by expected SARSA.

    Ablations of the paper are switches: ``critic_gradient_coeff=0`` (no gradient through
    Q^c), ``use_dynamic_threshold=False`` (d' = d), ``qc_l2=0`` (no regularisation),
    ``modulation_base`` in {2, 3, 4}. The paper's literal modulation is
    ``negative_reward_modulation="paper", min_weight=None, reward_shift="none"``; the defaults
    shift rewards to be >= 0 as the authors' code does, penalise any negative reward left, and
    clamp f at -1 (``rllib_safe.core.modulation`` says why). The authors' public
    code differs from the paper in where f acts, a reward shift, the clamp, a warm-up, the term
    through Q^c and Q^c's regulariser: each is a setting, and the presets ``smpo-paper`` and
    ``smpo-authors`` set either reading at once (``rllib_safe.algorithms.presets``;
    docs/algorithms.md section 3b compares them setting by setting).

    Example:
        >>> SMPOConfig().environment("SafetyPointGoal1-v0").training(cost_limit=25, modulation_base=3.0)
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or SMPO)
        self.cost_gamma = 0.995  # the budget is an undiscounted episode sum: Q^c's gamma near 1
        self._update_settings(SMPO_TRAINING_DEFAULTS)

    def training(
        self,
        *,
        modulation_base: float = NotProvided,
        threshold_eta: float = NotProvided,
        threshold_anneal_env_steps: int = NotProvided,
        threshold_anneal_iterations: int | None = NotProvided,
        use_dynamic_threshold: bool = NotProvided,
        qc_l2: float = NotProvided,
        qc_lr: float = NotProvided,
        qc_target_tau: float = NotProvided,
        critic_gradient_coeff: float = NotProvided,
        negative_reward_modulation: NegativeRewardModulation = NotProvided,
        modulation_units: ModulationUnits = NotProvided,
        min_weight: float | None = NotProvided,
        expected_sarsa_samples: int = NotProvided,
        modulation_target: ModulationTarget = NotProvided,
        reward_shift: RewardShift = NotProvided,
        reward_offset: float = NotProvided,
        modulation_warmup_env_steps: int = NotProvided,
        critic_gradient_estimator: CriticGradientEstimator = NotProvided,
        qc_regularizer: CostQRegularizer = NotProvided,
        qc_bootstrap_time_limit: bool = NotProvided,
        **kwargs,
    ) -> SMPOConfig:
        """SafePPO's settings plus SMPO's.

        Args:
            modulation_base: b of f(x) = (1 - b^(x - d')) / (1 - b^(-d')).
            threshold_eta: d' starts at eta * d ...
            threshold_anneal_env_steps: ... and falls linearly to d over this many env steps
                sampled (the paper's e_max: 50 epochs of the authors' 20,000 env steps, 1M;
                0 disables the relaxation).
            threshold_anneal_iterations: Deprecated: the same duration in training iterations
                (formerly ``threshold_epochs``), converted to iterations x
                ``total_train_batch_size`` env steps; set only one of the two.
            use_dynamic_threshold: False fixes d' = d (ablation).
            qc_l2: lambda of Q^c's regulariser, added to its MSE (``qc_regularizer`` says of
                what); 0 disables it (ablation).
            qc_lr: Learning rate of Q^c's own Adam optimizer.
            qc_target_tau: Polyak rate of Q^c's target copy per gradient step (1 = copy).
            critic_gradient_coeff: kappa, weight of the policy-gradient term through Q^c
                relative to PPO's term; 0 disables it (ablation). The authors' code: 0.1.
            negative_reward_modulation: How r < 0 is modulated: "penalise" (default,
                r~ = (2 - f) r: never better than r, a penalty stays one past d'),
                "unmodulated" (r~ = r) or "paper" (r~ = f r, a bonus once f < 0).
                r >= 0 always gives r~ = f r.
            modulation_units: "absolute" (the paper's f of the cost x) or "normalized"
                (f(x) = (1 - b^(x/d' - 1)) / (1 - b^(-1)), the same curve on x / d').
            min_weight: Lower clamp of f, in [-1e6, 1) (None: the paper's unclamped f, which
                still stops at -1e6 so that every number stays finite).
            expected_sarsa_samples: Actions sampled from pi(.|s') for the expected SARSA
                target with continuous actions (discrete actions use the exact expectation).
            modulation_target: Where f acts: "reward" (the paper: the critic and GAE learn
                r~) or "advantage" (the authors' code: f times the standardised advantage of
                the unmodulated reward, whose return the critic learns).
            reward_shift: "episode_minimum" (default; the authors' code): every reward the
                learner sees is shifted by minus the lowest reward of the episode so far when
                that is negative, so none is; or "none" (the paper). Returns are reported
                unshifted.
            reward_offset: A constant added to every reward the learner sees (0: none; a
                diagnostic of how f treats signed rewards). Returns are reported without it.
            modulation_warmup_env_steps: Plain PPO (f = 1, no term through Q^c) for this many
                env steps sampled, Q^c learning meanwhile (the authors' code: 5 epochs of
                20,000, 100,000; the paper: 0).
            critic_gradient_estimator: The term through Q^c: "next_state" (ours: a
                likelihood-ratio estimate at s_{t+1} with the logged next action, a baseline,
                PPO's clipped ratio, divided by the reward advantages' std) or "same_state"
                (the authors' code: -mean(W log pi(a'|s_t)), a' ~ pi(.|s_t) drawn once per
                update, W = G_t Q^c(s_t, a') f'(x_t) with G_t the reward critic's targets;
                in reward x cost units).
            qc_regularizer: "weight_l2" (ours: qc_l2 * the sum of squared Q^c weight
                matrices, biases excluded) or "prediction_l2" (the authors' code: qc_l2 *
                mean Q^c(s, a)^2 over the batch).
            qc_bootstrap_time_limit: False (default; the paper's y = c + cost_gamma
                (1 - done) E Q^c(s', a'), done at every episode end): Q^c's target stops
                there, so C_t + Q^c predicts the episode's cost, which is what the budget
                counts; exact where the observation tells how many steps are left, an average
                over them where it does not. True (RLlib's convention for value targets): the
                target keeps cost_gamma E Q^c(s', a') after a time-limit truncation, so Q^c
                also counts costs past the episode's end.
        """
        super().training(**kwargs)
        self._update_settings(locals(), SMPO_TRAINING_DEFAULTS)
        return self

    def validate(self) -> None:
        super().validate()
        check_range("cost_limit", self.cost_limit, MIN_COST_LIMIT, math.inf, high_open=True)
        check_range("modulation_base", self.modulation_base, 1.0, math.inf, low_open=True, high_open=True)
        check_range("threshold_eta", self.threshold_eta, 1.0, math.inf, high_open=True)
        if self.threshold_anneal_iterations is not None:
            check_count("threshold_anneal_iterations", self.threshold_anneal_iterations, 0)
        check_count("threshold_anneal_env_steps", self.threshold_anneal_env_steps, 0)
        self.threshold_anneal_steps(warn=True)
        check_range("qc_l2", self.qc_l2, 0.0, math.inf, high_open=True)
        check_range("qc_lr", self.qc_lr, 0.0, math.inf, low_open=True, high_open=True)
        check_range("qc_target_tau", self.qc_target_tau, 0.0, 1.0, low_open=True)
        check_range("critic_gradient_coeff", self.critic_gradient_coeff, 0.0, math.inf, high_open=True)
        check_range("expected_sarsa_samples", self.expected_sarsa_samples, 1, math.inf, high_open=True)
        if self.min_weight is not None:
            check_range("min_weight", self.min_weight, WEIGHT_FLOOR, 1.0, high_open=True)
        check_choice("negative_reward_modulation", self.negative_reward_modulation, get_args(NegativeRewardModulation))
        check_choice("modulation_units", self.modulation_units, get_args(ModulationUnits))
        check_choice("modulation_target", self.modulation_target, get_args(ModulationTarget))
        check_choice("reward_shift", self.reward_shift, get_args(RewardShift))
        check_range("reward_offset", self.reward_offset, -math.inf, math.inf, low_open=True, high_open=True)
        check_count("modulation_warmup_env_steps", self.modulation_warmup_env_steps, 0)
        check_choice(
            "critic_gradient_estimator", self.critic_gradient_estimator, get_args(CriticGradientEstimator)
        )
        check_choice("qc_regularizer", self.qc_regularizer, get_args(CostQRegularizer))
        for name in ("use_dynamic_threshold", "qc_bootstrap_time_limit"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"`{name}` = {getattr(self, name)!r} is invalid: it must be True or False.")
        if self.cost_gamma == 1.0 and self.qc_bootstrap_time_limit:
            raise ValueError(
                "`cost_gamma` = 1.0 is invalid with `qc_bootstrap_time_limit=True`: Q^c's target would sum "
                "costs past every time limit without end. Set qc_bootstrap_time_limit=False (the target stops "
                "at every episode end) or cost_gamma < 1."
            )

    def threshold_anneal_steps(self, *, warn: bool = False) -> int:
        """e_max in env steps: ``threshold_anneal_env_steps``, or ``threshold_anneal_iterations`` x the batch."""
        default = SMPO_TRAINING_DEFAULTS["threshold_anneal_env_steps"]
        return duration_env_steps(self, "threshold_anneal_env_steps", default, warn=warn)

    #: The warm-up's setting, named in ``runs.service.check_warmup_fits``'s message.
    warmup_setting = "modulation_warmup_env_steps"

    def warmup_steps(self) -> int:
        """Env steps of plain PPO before f and the term through Q^c act."""
        return int(self.modulation_warmup_env_steps)

    def modulating(self, env_steps: int) -> bool:
        """Whether the update after ``env_steps`` env steps sampled is modulated: those of the first
        ``modulation_warmup_env_steps`` are not (the authors' epochs 1 to 5 of 20,000 steps are
        plain PPO, epoch 6, at 120,000, is modulated)."""
        warmup = self.warmup_steps()
        return warmup == 0 or env_steps > warmup

    def modulation_threshold(self, env_steps: int) -> float:
        """d' once ``env_steps`` env steps have been sampled (d itself without the dynamic schedule)."""
        if not self.use_dynamic_threshold:
            return float(self.cost_limit)
        return relaxed_threshold(
            env_steps, self.cost_limit, eta=self.threshold_eta, anneal_env_steps=self.threshold_anneal_steps()
        )

    def get_default_learner_class(self):
        from rllib_safe.algorithms.smpo.smpo_torch_learner import SMPOTorchLearner

        return SMPOTorchLearner

    def get_default_rl_module_spec(self) -> RLModuleSpec:
        from rllib_safe.modules import SMPOTorchRLModule

        spec = super().get_default_rl_module_spec()
        spec.module_class = SMPOTorchRLModule
        return spec


class SMPO(SafePPO):
    @classmethod
    def get_default_config(cls) -> SMPOConfig:
        return SMPOConfig()
