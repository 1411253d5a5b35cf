"""SMPO learner: modulated rewards, Q^c by expected SARSA, the policy term through Q^c.

Note on the BudgetEnv collapse (policy mean driven below the action bound, return 0, no
recovery). Checked and correct: x_t = C_t + clip(Q^c(s_t, a_t), 0, d') with C_t the cost
before action t, f' zeroed where Q^c is clipped or f clamped, d' from the schedule each
iteration. The cause was the term through Q^c: it was estimated as
-mean(r_t f'(x_t) cost_gamma Q^c(s', a') log pi(a'|s')) with no baseline and no ratio
clipping. Its weights all share one sign (r >= 0, f' < 0, Q^c > 0), so minimising it lowers
the log-likelihood of every sampled action: the std shrinks and the mean moves away from
the samples, without bound, for every epoch over the same batch. On BudgetEnv that carried
the mean below a = -1, where effort is clipped to 0 and no sample has a reward left to pull
it back. Fix: the baseline E_{a~pi(.|s')} Q^c(s', a) (unbiased, removes the one-sign drift)
and PPO's clipped ratio pi/pi_old on the next action (bounds the off-policy epochs).
min_weight = -1 stays the default: with the fix, negative weights past d' no longer
collapse the policy, and they are the paper's penalty for spending past the budget.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.connectors.learner import (
    AddNextObservationsFromEpisodesToTrainBatch,
    AddOneTsToEpisodesAndTruncate,
)
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from rllib_safe.algorithms.safe_ppo.safe_ppo_torch_learner import SafePPOTorchLearner, masked_mean
from rllib_safe.connectors import (
    AddTransitionColumnsToTrainBatch,
    ModulateRewards,
    RecordEpisodeEnds,
    RewardGeneralAdvantageEstimation,
)
from rllib_safe.connectors.columns import COSTS
from rllib_safe.connectors.cost_gae import ADVANTAGE_STD
from rllib_safe.connectors.modulated_rewards import (
    COST_Q_CLIPPED,
    MODULATED_REWARD_GRAD,
    MODULATION_WEIGHT,
    RAW_REWARDS,
    RESAMPLED_ACTION_WEIGHTS,
    RESAMPLED_ACTIONS,
    ModulateAdvantages,
)
from rllib_safe.connectors.reward_shift import AddEpisodeRewardMinimumToTrainBatch
from rllib_safe.connectors.transition_columns import (
    COST_BOOTSTRAP_MASK,
    NEXT_ACTION_LOGP,
    NEXT_ACTION_MASK,
    NEXT_ACTIONS,
    REALISED_COST_TO_GO,
    REALISED_COST_TO_GO_MASK,
)
from rllib_safe.core.modulation import WEIGHT_FLOOR
from rllib_safe.metrics import (
    CRITIC_GRADIENT_ADVANTAGE_ABS_MEAN,
    MODULATION_ACTIVE,
    MODULATION_THRESHOLD,
    MODULATION_WEIGHT_CLAMPED_FRACTION,
    MODULATION_WEIGHT_MEAN,
    MODULATION_WEIGHT_NEGATIVE_FRACTION,
    QC_CLIPPED_FRACTION,
    QC_L2,
    QC_LOSS,
    QC_MEAN,
    QC_PREDICTION_BIAS,
    QC_PREDICTION_ERROR,
    RAW_REWARD_MEAN,
    REWARD_ADVANTAGE_STD,
)
from rllib_safe.rllib_private import learner_connector
from rllib_safe.speed.optim import adam

COST_Q_OPTIMIZER = "cost_q"


def mean_over(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1 (0 when the mask is empty)."""
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


class SMPOTorchLearner(SafePPOTorchLearner):
    """PPO-clip on A(r~) + kappa * the term through Q^c, plus Q^c's SARSA loss.

    Q^c has its own Adam optimizer (``qc_lr``); all losses go through one backward pass,
    so DDP all-reduces every gradient with several learners.
    """

    @override(PPOTorchLearner)
    def build(self) -> None:
        super().build()
        config = self.config
        resample_actions = config.critic_gradient_estimator == "same_state" and config.critic_gradient_coeff > 0
        self.modulation = ModulateRewards(
            base=config.modulation_base,
            units=config.modulation_units,
            min_weight=config.min_weight,
            negative_rewards=config.negative_reward_modulation,
            target=config.modulation_target,
            reward_shift=config.reward_shift,
            reward_offset=config.reward_offset,
            resample_actions=resample_actions,
        )
        pipeline = learner_connector(self)
        if pipeline is not None and config.add_default_connectors_to_learner_pipeline:
            pipeline.insert_before(AddOneTsToEpisodesAndTruncate, RecordEpisodeEnds())
            pipeline.insert_after(
                AddOneTsToEpisodesAndTruncate,
                AddTransitionColumnsToTrainBatch(
                    cost_gamma=config.cost_gamma, bootstrap_time_limit=config.qc_bootstrap_time_limit
                ),
            )
            pipeline.insert_after(
                AddTransitionColumnsToTrainBatch, AddNextObservationsFromEpisodesToTrainBatch()
            )
            if config.reward_shift == "episode_minimum":
                pipeline.insert_after(AddOneTsToEpisodesAndTruncate, AddEpisodeRewardMinimumToTrainBatch())
            pipeline.insert_before(RewardGeneralAdvantageEstimation, self.modulation)
            if config.modulation_target == "advantage" or resample_actions:
                modulate_advantages = ModulateAdvantages(target=config.modulation_target)
                pipeline.insert_after(RewardGeneralAdvantageEstimation, modulate_advantages)

    @override(PPOTorchLearner)
    def configure_optimizers_for_module(self, module_id, config=None) -> None:
        module = self.module[module_id].unwrapped()
        cost_q = list(module.cost_q.parameters())
        excluded = {id(p) for p in cost_q} | {id(p) for p in module.target_cost_q.parameters()}
        rest = [p for p in self.get_parameters(self.module[module_id]) if id(p) not in excluded]
        self.register_optimizer(
            module_id=module_id, optimizer=adam(rest), params=rest, lr_or_lr_schedule=config.lr
        )
        self.register_optimizer(
            module_id=module_id,
            optimizer_name=COST_Q_OPTIMIZER,
            optimizer=adam(cost_q),
            params=cost_q,
            lr_or_lr_schedule=config.qc_lr,
        )

    @override(PPOTorchLearner)
    def before_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().before_gradient_based_update(timesteps=timesteps)
        env_steps = int(timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0))  # the schedule's clock
        self.modulation.threshold = self.config.modulation_threshold(env_steps)
        self.modulation.active = self.config.modulating(env_steps)

    @override(PPOTorchLearner)
    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        loss = super().compute_loss_for_module(
            module_id=module_id, config=config, batch=batch, fwd_out=fwd_out
        )
        module = self.module[module_id].unwrapped()
        next_action_dist_inputs = module.compute_actor_outputs(batch[Columns.NEXT_OBS])
        loss = loss + self.cost_q_loss(module_id, module, batch, next_action_dist_inputs.detach())
        if config.critic_gradient_coeff > 0 and self.modulation.active:
            if config.critic_gradient_estimator == "same_state":
                term = self.resampled_action_loss(module_id, module, batch, fwd_out)
            else:
                term = self.critic_gradient_loss(module_id, module, batch, next_action_dist_inputs)
            loss = loss + config.critic_gradient_coeff * term
        return loss

    @override(SafePPOTorchLearner)
    def after_epochs(self, columns: dict[str, dict[str, Any]]) -> None:
        """Once per update, on all rows of the train batch (not one minibatch): the modulation's
        statistics, and Q^c after the update against the realised cost-to-go."""
        super().after_epochs(columns)
        for module_id, batch in columns.items():
            self.log_modulation(module_id, batch)
            self.log_cost_critic(module_id, self.module[module_id].unwrapped(), batch)

    def log_cost_critic(self, module_id, module, batch) -> None:
        """Q^c's mean, and its error and bias against the realised cost-to-go, over the whole batch."""
        with torch.no_grad():
            cost_q = module.compute_cost_q_values(batch[Columns.OBS], batch[Columns.ACTIONS])
            realised_mask = batch[REALISED_COST_TO_GO_MASK]
            error = cost_q - batch[REALISED_COST_TO_GO]
            self.metrics.log_dict(
                {
                    QC_MEAN: masked_mean(cost_q, batch),
                    QC_PREDICTION_ERROR: mean_over(error.abs(), realised_mask),
                    QC_PREDICTION_BIAS: mean_over(error, realised_mask),
                },
                key=module_id,
                window=1,
            )

    def cost_q_loss(self, module_id, module, batch, next_action_dist_inputs) -> torch.Tensor:
        """Expected SARSA: y = c + cost_gamma (1 - terminated) E_{a'~pi(.|s')} Q^c_target(s', a').

        Time-limit truncation bootstraps like any non-terminal step (transition_columns.py).
        """
        cost_q = module.compute_cost_q_values(batch[Columns.OBS], batch[Columns.ACTIONS])
        with torch.no_grad():
            next_cost_q = module.expected_cost_q_values(
                batch[Columns.NEXT_OBS],
                next_action_dist_inputs,
                num_samples=self.config.expected_sarsa_samples,
            )
            targets = sarsa_targets(
                batch[COSTS], batch[COST_BOOTSTRAP_MASK], next_cost_q, self.config.cost_gamma
            )
        mse = masked_mean((cost_q - targets) ** 2, batch)
        if self.config.qc_regularizer == "prediction_l2":
            l2 = masked_mean(cost_q**2, batch)  # the authors' code: on Q^c's predictions
        else:
            l2 = sum(w.pow(2).sum() for w in module.cost_q_weights())
        self.metrics.log_dict({QC_LOSS: mse, QC_L2: l2}, key=module_id, window=1)
        return mse + self.config.qc_l2 * l2

    def resampled_action_loss(self, module_id, module, batch, fwd_out) -> torch.Tensor:
        """The authors' term through Q^c: -mean(W_t log pi(a'_t|s_t)) over real steps.

        a'_t ~ pi(.|s_t) and W_t = G_t Q^c(s_t, a'_t) f'(x_t) are fixed for the update
        (``ModulateRewards`` and ``ModulateAdvantages``; the authors' ``algos/smpo.py``
        samples a' once per update too); only log pi carries a gradient.
        """
        dist = module.get_train_action_dist_cls().from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        weights = batch[RESAMPLED_ACTION_WEIGHTS]
        self.metrics.log_value(
            (module_id, CRITIC_GRADIENT_ADVANTAGE_ABS_MEAN), masked_mean(weights.abs(), batch), window=1
        )
        return -masked_mean(weights * dist.logp(batch[RESAMPLED_ACTIONS]), batch)

    def critic_gradient_loss(self, module_id, module, batch, next_action_dist_inputs) -> torch.Tensor:
        """PPO-clip surrogate of E[(d r~_t / d Q^c) grad_theta Q^c(s_t, a_t)] / std(A) (docs/algorithms.md section 3).

        d r~_t / d Q^c = s(r_t) f'(x_t), the paper's r_t f'(x_t) for r_t >= 0 (s: see
        ``rllib_safe.core.modulation``). Units: PPO's term uses the reward advantages divided
        by their std (over real steps), so this term is divided by the same std: both are
        then (1/std) times a gradient of the modulated return, kappa weighs them as the
        paper's sum does, and scaling every reward by k leaves the update unchanged.

        grad_theta Q^c(s_t, a_t) ~ cost_gamma E[grad log pi(a'|s') A^c(s', a')] with the logged
        next action a' and A^c(s', a') = Q^c(s', a') - E_{a~pi(.|s')} Q^c(s', a): the baseline
        leaves the expectation unchanged, and without it the weights r_t f' Q^c share one sign,
        so the estimate lowers the likelihood of every sampled action (shrinks the std and
        moves the mean away from the samples). As the term is optimised for several epochs on
        the same samples, it goes through the ratio pi/pi_old of a' clipped like PPO's.
        Weights are constants (stop-gradient); f' = 0 where Q^c was clipped or f clamped.
        """
        dist = module.get_train_action_dist_cls().from_logits(next_action_dist_inputs)
        logp_ratio = torch.exp(dist.logp(batch[NEXT_ACTIONS]) - batch[NEXT_ACTION_LOGP])
        with torch.no_grad():
            next_obs = batch[Columns.NEXT_OBS]
            next_cost_q = module.compute_cost_q_values(next_obs, batch[NEXT_ACTIONS])
            baseline = module.expected_cost_q_values(
                next_obs,
                next_action_dist_inputs.detach(),
                num_samples=self.config.expected_sarsa_samples,
                target=False,
            )
            weight = batch[MODULATED_REWARD_GRAD] * self.config.cost_gamma / batch[ADVANTAGE_STD]
            advantages = weight * (next_cost_q - baseline)
        clip = self.config.clip_param
        surrogate = torch.min(
            advantages * logp_ratio, advantages * logp_ratio.clamp(1 - clip, 1 + clip)
        )
        mask = batch[NEXT_ACTION_MASK] * batch[Columns.LOSS_MASK].float()
        self.metrics.log_value(
            (module_id, CRITIC_GRADIENT_ADVANTAGE_ABS_MEAN), mean_over(advantages.abs(), mask), window=1
        )
        return -mean_over(surrogate, mask)

    def log_modulation(self, module_id, batch) -> None:
        weight = batch[MODULATION_WEIGHT]
        lower = WEIGHT_FLOOR if self.config.min_weight is None else self.config.min_weight
        self.metrics.log_dict(
            {
                MODULATION_WEIGHT_MEAN: masked_mean(weight, batch),
                MODULATION_WEIGHT_NEGATIVE_FRACTION: masked_mean((weight < 0).float(), batch),
                MODULATION_WEIGHT_CLAMPED_FRACTION: masked_mean((weight <= lower).float(), batch),
                QC_CLIPPED_FRACTION: masked_mean(batch[COST_Q_CLIPPED], batch),
                MODULATION_THRESHOLD: self.modulation.threshold,
                MODULATION_ACTIVE: float(self.modulation.active),
                RAW_REWARD_MEAN: masked_mean(batch[RAW_REWARDS], batch),
                REWARD_ADVANTAGE_STD: batch[ADVANTAGE_STD][0],
            },
            key=module_id,
            window=1,
        )

    @override(PPOTorchLearner)
    def apply_gradients(self, gradients_dict) -> None:
        super().apply_gradients(gradients_dict)
        tau = self.config.qc_target_tau
        self.module.foreach_module(lambda _, module: module.unwrapped().update_cost_q_target(tau))


def sarsa_targets(
    costs: torch.Tensor, bootstrap_mask: torch.Tensor, next_cost_q: torch.Tensor, cost_gamma: float
) -> torch.Tensor:
    """y_t = c_t + cost_gamma * mask_t * E Q^c_target(s_{t+1}, .) (mask 0 where the episode ended)."""
    return costs + cost_gamma * bootstrap_mask * next_cost_q
