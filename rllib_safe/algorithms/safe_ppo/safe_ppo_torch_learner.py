"""Torch learner shared by every safe algorithm: cost columns, cost critic, J_c."""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.ppo import (
    LEARNER_RESULTS_KL_KEY,
    LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY,
    LEARNER_RESULTS_VF_LOSS_UNCLIPPED_KEY,
)
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override
from ray.rllib.utils.torch_utils import explained_variance

from rllib_safe.connectors import (
    AddCostColumnsToTrainBatch,
    CostGeneralAdvantageEstimation,
    RewardGeneralAdvantageEstimation,
)
from rllib_safe.connectors.columns import (
    COST_ADVANTAGES,
    COST_VALUE_TARGETS,
    TIMESTEP_EPISODE_COST,
    TIMESTEP_ITERATION,
)
from rllib_safe.core.distributed import all_reduce_mean
from rllib_safe.metrics import (
    COST_ADVANTAGES_MEAN,
    COST_ADVANTAGES_STD,
    COST_MEASURED,
    COST_VALUE_MEAN,
    COST_VF_LOSS,
    EPISODE_COST_ESTIMATE,
    POLICY_KL,
)
from rllib_safe.rllib_private import learner_connector
from rllib_safe.speed.optim import adam, clip_by_global_norm_
from rllib_safe.speed.update import FastUpdateMixin

SAFE_STATE = "safe_learner_state"


def masked_mean(values: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """Mean over the real steps (RLlib's phantom bootstrap steps are masked out)."""
    mask = batch.get(Columns.LOSS_MASK)
    if mask is None:
        return values.mean()
    return (values * mask).sum() / mask.sum()


def clips_by_global_norm(config) -> bool:
    """Whether ``config`` clips gradients by their global norm (RLlib: ``grad_clip`` 0 or None = no clipping)."""
    return bool(config.grad_clip) and config.grad_clip_by == "global_norm"


class SafePPOTorchLearner(FastUpdateMixin, PPOTorchLearner):
    """PPO learner with a cost critic; subclasses choose the policy's advantages.

    ``policy_advantages`` is the one hook the baselines override: PPO uses A_r,
    PPO-Lagrangian (A_r - lambda A_c) / (1 + lambda), CRPO A_r or -A_c. Updates run through
    the fast path of ``rllib_safe.speed.update`` unless ``fast_update=False``; with ``target_kl`` set,
    the epochs stop early as OmniSafe's do (``stop_after_epoch``).
    """

    @override(PPOTorchLearner)
    def build(self) -> None:
        super().build()
        #: J_c as the driver measured it; None until the first episode has finished.
        self.episode_cost: float | None = None
        self.training_iteration = 0
        pipeline = learner_connector(self)
        if pipeline is not None and self.config.add_default_connectors_to_learner_pipeline:
            pipeline.insert_after(AddOneTsToEpisodesAndTruncate, AddCostColumnsToTrainBatch())
            # RLlib's GAE standardises over the phantom rows too (cost_gae.py): ours does not.
            pipeline.insert_before(
                "GeneralAdvantageEstimation",
                RewardGeneralAdvantageEstimation(gamma=self.config.gamma, lambda_=self.config.lambda_),
            )
            pipeline.remove("GeneralAdvantageEstimation")
            pipeline.append(
                CostGeneralAdvantageEstimation(
                    gamma=self.config.cost_gamma,
                    lambda_=self.config.cost_lambda,
                    normalization=self.config.cost_advantage_normalization,
                )
            )

    @override(PPOTorchLearner)
    def before_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().before_gradient_based_update(timesteps=timesteps)
        if TIMESTEP_EPISODE_COST in timesteps:
            self.episode_cost = float(timesteps[TIMESTEP_EPISODE_COST])
        self.training_iteration = int(timesteps.get(TIMESTEP_ITERATION, self.training_iteration))
        self.metrics.log_value(COST_MEASURED, float(self.episode_cost is not None), window=1)
        if self.episode_cost is not None:
            self.metrics.log_value(EPISODE_COST_ESTIMATE, self.episode_cost, window=1)

    @override(PPOTorchLearner)
    def configure_optimizers_for_module(self, module_id, config=None) -> None:
        """RLlib's one Adam over the module's parameters, fused where torch supports it."""
        params = self.get_parameters(self.module[module_id])
        self.register_optimizer(module_id=module_id, optimizer=adam(params), params=params, lr_or_lr_schedule=config.lr)

    @override(PPOTorchLearner)
    def postprocess_gradients_for_module(self, *, module_id, config=None, module_gradients_dict):
        """RLlib's global-norm clipping per optimizer (and its norm metric), with foreach kernels."""
        if not clips_by_global_norm(config):
            return super().postprocess_gradients_for_module(
                module_id=module_id, config=config, module_gradients_dict=module_gradients_dict
            )
        by_optimizer = {
            name: self.filter_param_dict_for_optimizer(module_gradients_dict, optimizer)
            for name, optimizer in self.get_optimizers_for_module(module_id)
        }
        self.clip_gradient_groups(module_id, {name: list(grads.values()) for name, grads in by_optimizer.items()},
                                  config.grad_clip)
        return {param_ref: grad for grads in by_optimizer.values() for param_ref, grad in grads.items()}

    def clip_gradient_groups(self, module_id, groups: dict[str, list[torch.Tensor]], max_norm: float) -> list:
        """Scales each group of gradients in place to a global norm of at most ``max_norm`` and logs its
        norm before clipping (``gradients_<group>_global_norm``); returns the norms. Empty groups are
        left out."""
        norms = []
        for name, grads in groups.items():
            if grads:
                norm = clip_by_global_norm_(grads, max_norm)
                self.metrics.log_value((module_id, f"gradients_{name}_global_norm"), norm, window=1)
                norms.append(norm)
        return norms

    def start_epochs(self, columns: dict[str, dict[str, Any]]) -> None:
        """Target-KL early stopping: the policy before the update, on every row."""
        self._old_dist_inputs = {}
        # A trust-region actor (PCRPO, CRPO) moves only after the epochs: nothing to stop on.
        if self.config.target_kl is not None and not getattr(self, "trust_region", False):
            self._old_dist_inputs = {mid: self.action_dist_inputs(mid, batch) for mid, batch in columns.items()}

    def stop_after_epoch(self, columns: dict[str, dict[str, Any]]) -> bool:
        """OmniSafe's early stop: KL(pi_old || pi), mean over the batch and the learners, > target_kl.

        One host sync per epoch; every learner sees the same averaged KL, so all stop together.
        """
        if not self._old_dist_inputs:
            return False
        kls = [self.policy_kl(mid, batch, self._old_dist_inputs[mid]) for mid, batch in columns.items()]
        kls = all_reduce_mean(*kls)
        for mid, kl in zip(columns, kls):
            self.metrics.log_value((mid, POLICY_KL), kl, window=1)
        return bool(torch.stack(kls).max() > self.config.target_kl)

    def action_dist_inputs(self, module_id: str, batch: dict[str, Any]) -> torch.Tensor:
        """The policy's action distribution inputs on ``batch`` (no gradient)."""
        with torch.no_grad():
            return self.module[module_id].unwrapped().forward_train(batch)[Columns.ACTION_DIST_INPUTS]

    def policy_kl(self, module_id: str, batch: dict[str, Any], old_dist_inputs: torch.Tensor) -> torch.Tensor:
        """Mean KL(pi_old || pi) over the real rows, summed over action dimensions (OmniSafe's ``Train/KL``)."""
        dist_cls = self.module[module_id].unwrapped().get_train_action_dist_cls()
        new = dist_cls.from_logits(self.action_dist_inputs(module_id, batch))
        return masked_mean(dist_cls.from_logits(old_dist_inputs).kl(new), batch)

    def policy_advantages(self, module_id: str, batch: dict[str, Any]) -> torch.Tensor:
        """Advantages the PPO-clip surrogate maximises (plain PPO: reward advantages)."""
        return batch[Postprocessing.ADVANTAGES]

    @override(PPOTorchLearner)
    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        return self.ppo_loss(module_id, config, batch, fwd_out) + config.cost_vf_loss_coeff * self.cost_critic_loss(
            module_id, batch
        )

    def ppo_loss(self, module_id: str, config, batch: dict[str, Any], fwd_out: dict[str, Any]) -> torch.Tensor:
        """RLlib's PPO loss (``PPOTorchLearner.compute_loss_for_module``) on ``policy_advantages``.

        The same terms: -PPO-clip surrogate + vf_loss_coeff * clipped squared value error
        - entropy_coeff * entropy (+ the KL term with ``use_kl_loss``), each a mean over the real
        rows, and the same metrics. Two differences in how, not what: masked means multiply by
        the loss mask (RLlib indexes with it, a host sync per minibatch on a GPU), and the
        metrics, which keep only their last value (window 1), are computed only on the steps
        whose value can be reported (``log_diagnostics``, every step in RLlib's loop).
        """
        module = self.module[module_id].unwrapped()
        dist = module.get_train_action_dist_cls().from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        ratio = torch.exp(dist.logp(batch[Columns.ACTIONS]) - batch[Columns.ACTION_LOGP])
        advantages = self.policy_advantages(module_id, batch)
        clipped_ratio = ratio.clamp(1.0 - config.clip_param, 1.0 + config.clip_param)
        surrogate = torch.min(advantages * ratio, advantages * clipped_ratio)
        zero = torch.zeros((), device=ratio.device)
        values, value_error, clipped_value_error = zero, zero, zero
        if config.use_critic:
            values = module.compute_values(batch, embeddings=fwd_out.get(Columns.EMBEDDINGS))
            value_error = (values - batch[Postprocessing.VALUE_TARGETS]).pow(2)
            clipped_value_error = value_error.clamp(0.0, config.vf_clip_param)
        per_row = -surrogate + config.vf_loss_coeff * clipped_value_error
        entropy_coeff = self.entropy_coeff_schedulers_per_module[module_id].get_current_value()
        if entropy_coeff:
            per_row = per_row - entropy_coeff * dist.entropy()
        loss = masked_mean(per_row, batch)
        kl = zero
        if config.use_kl_loss:
            old_dist = module.get_exploration_action_dist_cls().from_logits(batch[Columns.ACTION_DIST_INPUTS])
            kl = masked_mean(old_dist.kl(dist), batch)
            loss = loss + self.curr_kl_coeffs_per_module[module_id] * kl
        if self.log_diagnostics:
            metrics = {
                POLICY_LOSS_KEY: -masked_mean(surrogate, batch),
                VF_LOSS_KEY: masked_mean(clipped_value_error, batch),
                LEARNER_RESULTS_VF_LOSS_UNCLIPPED_KEY: masked_mean(value_error, batch),
                LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY: zero,
                ENTROPY_KEY: masked_mean(dist.entropy(), batch),
                LEARNER_RESULTS_KL_KEY: kl,
            }
            if config.use_critic:
                metrics[LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY] = explained_variance(
                    batch[Postprocessing.VALUE_TARGETS], values
                )
            self.metrics.log_dict(metrics, key=module_id, window=1)
        return loss

    def cost_critic_loss(self, module_id: str, batch: dict[str, Any]) -> torch.Tensor:
        """Mean squared error of V^c against the cost lambda-returns (no clipping)."""
        module = self.module[module_id].unwrapped()
        cost_values = module.compute_cost_values(batch)
        loss = masked_mean((cost_values - batch[COST_VALUE_TARGETS]) ** 2, batch)
        if self.log_diagnostics:
            cost_advantages = batch[COST_ADVANTAGES]
            self.metrics.log_dict(
                {
                    COST_VF_LOSS: loss,
                    COST_ADVANTAGES_MEAN: masked_mean(cost_advantages, batch),
                    COST_ADVANTAGES_STD: cost_advantages.std(),
                    COST_VALUE_MEAN: masked_mean(cost_values, batch),
                },
                key=module_id,
                window=1,
            )
        return loss

    def safety_state(self) -> dict[str, Any]:
        """The algorithm's learner state beyond weights and optimisers (J_c, iteration; PPO-Lag's
        lambda): checkpointed under ``SAFE_STATE``; extend in subclasses. (Not ``extra_state``,
        which reads like ``torch.nn.Module``'s ``get_extra_state`` hook.)"""
        return {"episode_cost": self.episode_cost, "training_iteration": self.training_iteration}

    def set_safety_state(self, state: dict[str, Any]) -> None:
        self.episode_cost = state["episode_cost"]
        self.training_iteration = state["training_iteration"]

    @override(PPOTorchLearner)
    def get_state(self, components=None, *, not_components=None, **kwargs):
        state = super().get_state(components, not_components=not_components, **kwargs)
        state[SAFE_STATE] = self.safety_state()
        return state

    @override(PPOTorchLearner)
    def set_state(self, state) -> None:
        super().set_state(state)
        if SAFE_STATE in state:
            self.set_safety_state(state[SAFE_STATE])
