"""The switching learners' machinery: the actor follows the manipulated gradient, the critics their own losses.

Design (docs/algorithms.md, section 2). ``SwitchingTorchLearner`` is the machinery PCRPO
(``pcrpo/pcrpo_torch_learner.py``) shares with CRPO (``crpo/crpo_torch_learner.py``); the two
differ only in ``region()``:

* Losses. ``compute_loss_for_module`` is SafePPO's: PPO-clip on A_r plus the reward and cost
  critic losses. With ``actor_step="first_order"`` it also records the cost objective, PPO-clip
  on -A_c, from the same forward pass, so g_r and g_c come from the same batch at the same
  parameters.
* Units (docs/algorithms.md section 2, "Units"). g_r comes from standardised reward
  advantages and g_c from standardised cost advantages (``SwitchingConfig`` sets
  ``cost_advantage_normalization="standardize"``): the x_r / x_c mix and the projections
  weigh like against like, and multiplying every cost, d and the slacks by k > 0 leaves the
  actor's step unchanged. Only the advantages feeding the actor are standardised; the cost
  critic's targets stay in cost units. The switching decisions compare J_c with d and the
  slacks, all in cost units. Gradient clipping (``grad_clip``) is per group, actor, reward
  critic and cost critic (``postprocess_gradients_for_module``), so the cost critic's
  gradient, which grows with the cost's units, never shrinks the actor's or the reward
  critic's step.
* Gradients. ``compute_gradients`` takes every gradient with ``torch.autograd.grad`` and
  never calls ``backward``: the critic gradients over the critic parameters and, first order,
  g_r (minus the loss's gradient over ``module.actor_parameters()``) and g_c. With several
  learners one all-reduce averages all of them (``autograd.grad`` bypasses DDP's hooks,
  docs/rllib-notes.md trap 2), so every learner manipulates the same global gradients and the
  learners stay identical. The actor's ``.grad`` receives minus the manipulated direction
  (optimisers minimise); Adam then steps actor and critics.
* Trust region (default). The minibatch loop trains only the critics: the actor gets no
  ``.grad``, so Adam leaves it alone. The actor takes ONE natural step per iteration on the
  whole train batch, in ``after_epochs``: the update loop's hook after its last SGD step, which
  gets all rows of the train batch (``rllib_safe.speed.update``; with ``fast_update=False``
  too, on the batch RLlib's loop trained on). The critics' minibatch steps do not
  touch the actor (separate encoders), so the actor is still at the parameters that sampled
  the batch. The step: g_r and g_c of mean(ratio * A) at theta_old (equal to PPO-clip's
  gradients there), the manipulation, conjugate gradient on Fisher-vector products of the
  mean KL(pi_old || pi), step scaled to ``max_kl``, backtracking line search. With
  ``trust_region_metric="fisher"`` (default) the soft region manipulates the natural
  gradients F^-1 g_r and F^-1 g_c in the Fisher metric (two CG solves), so the step s has
  g_r.s >= 0 and g_c.s >= 0; with "euclidean" it manipulates g_r and g_c and solves once
  for F^-1 d, and g_r.s can be negative even though d.g_r >= 0. A try is accepted when
  KL <= max_kl and the mode's objective does not decrease (``rllib_safe.core.mode_gain``):
  the reward surrogate for REWARD, the cost surrogate for COST, and in the soft modes
  *both* when the step promises both to first order (Fisher metric and theta* <= 90, and
  g_r.s, g_c.s >= 0 for the step taken: ``rllib_safe.core.step_soft_acceptance``), else
  the weighted x_r L_r + x_c L_c. Fisher-vector products and line-search numbers are
  all-reduced as well. The KL and log-probabilities use the module's action distribution
  class, so Gaussian and categorical policies work alike.
* The region comes from J_c (a Python float, the same on every learner); the conflict test,
  the projection and the guard against non-finite directions (a skipped step, counted in
  ``nonfinite_direction``) stay on the learner's device, with no host sync per minibatch.
* No measurement yet. Before the first finished episode J_c is unknown (``episode_cost`` is
  None): PCRPO then takes the soft-region step (as if J_c were within the band: neither
  objective is traded away on a made-up number); the warm-up still comes first. Every
  iteration logs ``cost_measured`` (1.0 once J_c is measured; ``SafePPOTorchLearner``).

Per-iteration learner metrics (per module): ``mode_<m>`` (1.0 for the mode of the actor
update; the fraction of minibatch updates first order) and, trust region,
``line_search_accepted_<m>`` (1.0 when that mode's step was accepted), for <m> in reward,
soft_aligned, soft_conflict, cost: summed over a run they count steps and accepted steps
per mode. Also ``line_search_accepted``, ``line_search_step_fraction``,
``line_search_tries``, ``expected_improvement`` (first-order change of the objective the
line search checks), ``expected_reward_gain``, ``expected_cost_gain`` (g_r.s, g_c.s),
``cos_angle`` (Euclidean; the Fisher-metric test can call a pair with cos_angle > 0 a
conflict), ``reward_grad_norm``, ``cost_grad_norm``, ``slack_upper``, ``slack_lower``.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override

from rllib_safe.algorithms.safe_ppo.safe_ppo_torch_learner import SafePPOTorchLearner, clips_by_global_norm, masked_mean
from rllib_safe.connectors.columns import COST_ADVANTAGES
from rllib_safe.core import (
    PAPER_CONFLICT_ANGLE,
    PAPER_REWARD_WEIGHT,
    GradientManipulation,
    InverseMetric,
    Region,
    SoftAcceptance,
    UpdateMode,
    assign_flat_grad,
    assign_flat_params,
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    flat_grad,
    flatten_params,
    manipulate_gradients,
    mode_gain,
    scale_to_trust_region,
    step_soft_acceptance,
)
from rllib_safe.core.distributed import all_reduce_mean
from rllib_safe.metrics import (
    COS_ANGLE,
    COST_GRAD_NORM,
    EXPECTED_COST_GAIN,
    EXPECTED_IMPROVEMENT,
    EXPECTED_REWARD_GAIN,
    LINE_SEARCH_ACCEPTED,
    LINE_SEARCH_STEP_FRACTION,
    LINE_SEARCH_TRIES,
    NONFINITE_DIRECTION,
    REWARD_GRAD_NORM,
    SOFT_ACCEPTANCE_FALLBACK,
    UPDATE_MODE,
    UPDATE_MODES,
    line_search_accepted_metric,
    mode_metric,
)
from rllib_safe.rllib_private import gradients_by_param_ref, zero_gradients

#: Learner metric of each mode: 1.0 for the mode of an actor update, else 0.0.
MODE_METRICS = {mode: mode_metric(name) for mode, name in zip(UpdateMode, UPDATE_MODES, strict=True)}

#: Learner metric of each mode's line search: 1.0 when a step of that mode was accepted.
LINE_SEARCH_METRICS = {
    mode: line_search_accepted_metric(name) for mode, name in zip(UpdateMode, UPDATE_MODES, strict=True)
}


def surrogate(
    ratio: torch.Tensor, advantages: torch.Tensor, batch: dict[str, Any], clip_param: float | None = None
) -> torch.Tensor:
    """mean(ratio * A), or PPO-clip's mean(min(ratio * A, clip(ratio) * A)) given ``clip_param``."""
    objective = ratio * advantages
    if clip_param is not None:
        objective = torch.min(objective, ratio.clamp(1.0 - clip_param, 1.0 + clip_param) * advantages)
    return masked_mean(objective, batch)


def split_parameters(module) -> tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]]:
    """(actor parameters, every other trainable parameter: the reward and cost critics)."""
    actor = module.actor_parameters()
    actor_ids = {id(p) for p in actor}
    critics = [p for p in module.parameters() if p.requires_grad and id(p) not in actor_ids]
    return actor, critics


class SwitchingTorchLearner(SafePPOTorchLearner):
    """The actor machinery of CRPO and PCRPO (module docstring); subclasses set ``region()``.

    The soft-region settings below are PCRPO's, set from its config in ``build``. CRPO's
    ``region()`` never returns SOFT: it keeps the core's paper values, which no step uses.
    """

    conflict_angle: float = PAPER_CONFLICT_ANGLE
    reward_weight: float = PAPER_REWARD_WEIGHT
    fisher_manipulation: bool = False  #: manipulate natural gradients in the Fisher metric
    soft_acceptance: SoftAcceptance = "both"  #: what a soft-mode try must not decrease

    @override(PPOTorchLearner)
    def build(self) -> None:
        super().build()
        self._cost_objectives: dict[str, torch.Tensor] = {}

    @property
    def trust_region(self) -> bool:
        return self.config.actor_step == "trust_region"

    def region(self) -> Region:
        """The region of this iteration's actor updates."""
        raise NotImplementedError

    @override(PPOTorchLearner)
    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        loss = super().compute_loss_for_module(
            module_id=module_id, config=config, batch=batch, fwd_out=fwd_out
        )
        if not self.trust_region:
            module = self.module[module_id].unwrapped()
            dist_cls = module.get_train_action_dist_cls()
            logp = dist_cls.from_logits(fwd_out[Columns.ACTION_DIST_INPUTS]).logp(batch[Columns.ACTIONS])
            ratio = torch.exp(logp - batch[Columns.ACTION_LOGP])
            self._cost_objectives[module_id] = surrogate(
                ratio, -batch[COST_ADVANTAGES], batch, config.clip_param
            )
        return loss

    @override(PPOTorchLearner)
    def postprocess_gradients_for_module(self, *, module_id, config=None, module_gradients_dict):
        """Global-norm clipping per group (actor, reward critic, cost critic), not over all three.

        One norm over the whole module lets the cost critic's gradient, which scales with the
        cost's units, shrink the actor's first-order step and the reward critic's: the update
        would depend on the units (module docstring). Logs each group's norm before clipping
        (``gradients_<group>_global_norm``) and, as RLlib does, the norm over all of them
        (``gradients_default_optimizer_global_norm``).
        """
        if not clips_by_global_norm(config):
            return super().postprocess_gradients_for_module(
                module_id=module_id, config=config, module_gradients_dict=module_gradients_dict
            )
        module = self.module[module_id].unwrapped()
        ref = self.get_param_ref
        actor = {ref(p) for p in module.actor_parameters()}
        cost_critic = {ref(p) for p in (*module.cost_encoder.parameters(), *module.cost_vf.parameters())}
        groups: dict[str, list[torch.Tensor]] = {"actor": [], "critic": [], "cost_critic": []}
        for param_ref, grad in module_gradients_dict.items():
            group = "actor" if param_ref in actor else "cost_critic" if param_ref in cost_critic else "critic"
            groups[group].append(grad)
        norms = self.clip_gradient_groups(module_id, groups, config.grad_clip)
        if norms:
            total = torch.linalg.vector_norm(torch.stack(norms))
            self.metrics.log_value((module_id, "gradients_default_optimizer_global_norm"), total, window=1)
        return module_gradients_dict

    @override(PPOTorchLearner)
    def compute_gradients(self, loss_per_module: dict[str, torch.Tensor], **kwargs) -> dict:
        zero_gradients(self)
        for module_id, loss in loss_per_module.items():
            actor, critics = split_parameters(self.module[module_id].unwrapped())
            if self.trust_region:
                (critic_grad,) = all_reduce_mean(flat_grad(loss, critics))
            else:
                grad = flat_grad(loss, actor + critics, retain_graph=True)
                g_c = flat_grad(self._cost_objectives.pop(module_id), actor)
                g_r, critic_grad = -grad[: g_c.numel()], grad[g_c.numel() :]
                g_r, g_c, critic_grad = all_reduce_mean(g_r, g_c, critic_grad)
                direction, _ = self.actor_direction(module_id, g_r, g_c)
                assign_flat_grad(actor, -direction)
            assign_flat_grad(critics, critic_grad)
        return gradients_by_param_ref(self)

    def actor_direction(
        self, module_id: str, g_r: torch.Tensor, g_c: torch.Tensor, inverse_metric: InverseMetric | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The manipulated ascent direction (M^-1-space given ``inverse_metric``) and its mode; logs."""
        result = manipulate_gradients(
            g_r,
            g_c,
            region=self.region(),
            conflict_angle_deg=self.conflict_angle,
            reward_weight=self.reward_weight,
            inverse_metric=inverse_metric,
            check_finite=False,
        )
        finite = torch.isfinite(result.direction).all()
        direction = torch.where(finite, result.direction, torch.zeros_like(result.direction))
        self._log_manipulation(module_id, result, finite)
        return direction, result.mode

    def _log_manipulation(self, module_id: str, result: GradientManipulation, finite: torch.Tensor) -> None:
        self.metrics.log_dict(
            {
                UPDATE_MODE: result.mode,
                COS_ANGLE: result.cos_angle,
                REWARD_GRAD_NORM: result.reward_grad_norm,
                COST_GRAD_NORM: result.cost_grad_norm,
                NONFINITE_DIRECTION: (~finite).float(),
            },
            key=module_id,
            window=1,
        )
        # Mean over the iteration's actor updates: one-hot with one trust-region step, the
        # fraction of minibatch updates per mode first order; sums over iterations count modes.
        for update_mode, name in MODE_METRICS.items():
            self.metrics.log_value((module_id, name), (result.mode == int(update_mode)).float(), reduce="mean")

    def after_epochs(self, columns: dict[str, dict[str, Any]]) -> None:
        """Trust region: the actor's one natural step per module, on all rows of the train batch."""
        super().after_epochs(columns)
        if self.trust_region:
            for module_id, batch in columns.items():
                self.natural_actor_step(module_id, batch)

    def natural_actor_step(self, module_id: str, batch: dict[str, Any]) -> None:
        """One trust-region step of the actor along the manipulated direction (module docstring)."""
        config = self.config
        module = self.module[module_id].unwrapped()
        actor, _ = split_parameters(module)
        dist_cls = module.get_train_action_dist_cls()
        actions = batch[Columns.ACTIONS]

        def dist_inputs() -> torch.Tensor:
            return module.forward_train(batch)[Columns.ACTION_DIST_INPUTS]

        inputs = dist_inputs()
        old_dist = dist_cls.from_logits(inputs.detach())
        old_logp = old_dist.logp(actions)

        def objectives(inputs: torch.Tensor) -> torch.Tensor:
            """[reward surrogate, cost surrogate], both to be maximised."""
            ratio = torch.exp(dist_cls.from_logits(inputs).logp(actions) - old_logp)
            return torch.stack(
                [
                    surrogate(ratio, batch[Postprocessing.ADVANTAGES], batch),
                    surrogate(ratio, -batch[COST_ADVANTAGES], batch),
                ]
            )

        def mean_kl(inputs: torch.Tensor) -> torch.Tensor:
            return masked_mean(old_dist.kl(dist_cls.from_logits(inputs)), batch)

        baseline = objectives(inputs)
        g_r = flat_grad(baseline[0], actor, retain_graph=True)
        g_c = flat_grad(baseline[1], actor, retain_graph=True)
        g_r, g_c = all_reduce_mean(g_r, g_c)

        local_fvp = fisher_vector_product(mean_kl(inputs), actor, damping=config.cg_damping)

        def fvp(v: torch.Tensor) -> torch.Tensor:
            return all_reduce_mean(local_fvp(v))[0]

        solve = functools.partial(conjugate_gradient, fvp, iterations=config.cg_iterations)

        if self.fisher_manipulation:
            natural, mode = self.actor_direction(module_id, g_r, g_c, inverse_metric=solve)
        else:
            direction, mode = self.actor_direction(module_id, g_r, g_c)
            natural = solve(direction)
        step = scale_to_trust_region(natural, fvp, max_kl=config.max_kl)
        theta_old = flatten_params(actor)
        baseline = baseline.detach()
        expected_reward_gain, expected_cost_gain = (g_r @ step).detach(), (g_c @ step).detach()
        acceptance = step_soft_acceptance(self.soft_acceptance, expected_reward_gain, expected_cost_gain)
        gain = functools.partial(
            mode_gain, mode=mode, soft_acceptance=acceptance.soft_acceptance, reward_weight=self.reward_weight
        )

        def evaluate(fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
            assign_flat_params(actor, theta_old + fraction * step)
            with torch.no_grad():
                inputs = dist_inputs()
                gains, kl = all_reduce_mean(objectives(inputs) - baseline, mean_kl(inputs))
            return gain(gains[0], gains[1]), kl

        search = backtracking_line_search(
            evaluate,
            max_kl=config.max_kl,
            decay=config.line_search_decay,
            max_backtracks=config.line_search_max_backtracks,
        )
        if not search.accepted:
            assign_flat_params(actor, theta_old)
        self.metrics.log_dict(
            {
                LINE_SEARCH_ACCEPTED: float(search.accepted),
                SOFT_ACCEPTANCE_FALLBACK: float(acceptance.fallback),
                LINE_SEARCH_STEP_FRACTION: search.step_fraction,
                LINE_SEARCH_TRIES: search.tries,
                EXPECTED_IMPROVEMENT: gain(expected_reward_gain, expected_cost_gain),
                EXPECTED_REWARD_GAIN: expected_reward_gain,
                EXPECTED_COST_GAIN: expected_cost_gain,
            }
            | {name: float(search.accepted) * (mode == int(m)).float() for m, name in LINE_SEARCH_METRICS.items()},
            key=module_id,
            window=1,
        )
