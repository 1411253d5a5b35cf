"""SMPO safety modulation: weight, its derivative, modulated rewards, dynamic threshold (docs/algorithms.md section 3).

SMPO (Zhang and Guo, arXiv 2504.03040) multiplies each reward by
f(x) = (1 - b^(x - d')) / (1 - b^(-d')), x = C_t + clip(Q^c(s, a), 0, d'), the accumulated
plus predicted episode cost. f(0) = 1, f(d') = 0, f is decreasing and negative past d'.
With L = ln b the weight is evaluated as expm1(L (x - d')) / expm1(-L d'), which neither
overflows for large d' and b (b^d' is never formed) nor loses precision near x = d'.

Units. The paper's f works in absolute cost units: with b = 3 it falls from 0.96 to -1 within
about 3 cost units of d', whatever d' is, so b barely matters once d' is more than a few
units. ``units="normalized"`` evaluates the same curve on u = x / d' with threshold 1:
f(x) = (1 - b^(x/d' - 1)) / (1 - b^(-1)), still f(0) = 1, f(d') = 0, decreasing, and
f'(x) = -ln(b) b^(x/d' - 1) / (d' (1 - b^(-1))); b then shapes the whole curve on [0, d'].

Range. Far past d' the paper's f tends to -inf (b^(x - d') overflows float32 once x - d'
exceeds 88 / ln b); an infinite weight times the zero reward of RLlib's phantom step is NaN,
and a weight of -1e30 overflows GAE's squares. So the weight is always clamped to
[max(min_weight, WEIGHT_FLOOR), 1]: ``min_weight=None`` is the paper's unclamped f down to
``WEIGHT_FLOOR`` (-1e6, reached 12.6 cost units past d' with b = 3), below which rewards,
returns and their squares would stop being finite numbers.

Negative rewards. Past d' the weight is negative, so the paper's r~ = f r turns a negative
reward (a penalty, e.g. Safety-Gymnasium's distance deltas, SafetyMujocoReacher's reward)
into a bonus for spending past the budget. ``modulate_rewards`` offers three rules, each
r~ = r + (f - 1) s(r) with s = d r~ / d f:
"penalise" (s = |r|: r~ = f r for r >= 0, (2 - f) r for r < 0; a lower weight never makes
any reward better, a penalty never becomes a bonus), "unmodulated" (s = max(r, 0): only
r >= 0 is scaled) and "paper" (s = r: r~ = f r).

Where f acts (``ModulationTarget``). The paper modulates the reward ("reward": the critic and
GAE learn r~). The authors' public code (``jajajag/smpo``, ``algos/smpo.py``) multiplies the
standardised GAE advantage of the unmodulated reward instead ("advantage": A~ = f A, the critic
learns the unmodulated return); a negative f then reverses the advantage's sign.

Reward shift (``RewardShift``, before either). The authors' code learns from rewards shifted so
that none is negative: r_t - min(0, min_{k <= t} r_k), the lowest reward so far in the episode
("episode_minimum", ``envs/reward_shaping.py`` there). ``reward_offset`` adds a constant to every
reward the learner sees (a diagnostic: on tasks that never end early it leaves the optimal
policy unchanged). Returns are always reported in the env's rewards.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import torch
from torch import Tensor

from rllib_safe.checks import check_choice

__all__ = [
    "WEIGHT_FLOOR",
    "ModulationTarget",
    "ModulationUnits",
    "NegativeRewardModulation",
    "RewardShift",
    "modulate_rewards",
    "modulation_weight",
    "modulation_weight_derivative",
    "resampled_action_weights",
    "reward_weight_sensitivity",
    "shift_rewards",
]

ModulationUnits = Literal["absolute", "normalized"]
NegativeRewardModulation = Literal["penalise", "unmodulated", "paper"]
ModulationTarget = Literal["reward", "advantage"]
RewardShift = Literal["none", "episode_minimum"]

#: The lowest weight any setting produces (see "Range" above).
WEIGHT_FLOOR = -1e6


def _log_base(base: float) -> float:
    if not (math.isfinite(base) and base > 1):
        raise ValueError(f"base must be a finite number > 1, got {base!r}")
    return math.log(base)


def _check_threshold(threshold: float | Tensor) -> None:
    """d' must be finite and > 0: as d' -> 0, f tends to a step (1 at x = 0, -inf beyond)."""
    if isinstance(threshold, Tensor):
        ok = bool((torch.isfinite(threshold) & (threshold > 0)).all())
    else:
        ok = math.isfinite(threshold) and threshold > 0
    if not ok:
        raise ValueError(
            f"threshold must be finite and > 0, got {threshold!r}; as the threshold tends "
            "to 0 the weight becomes a step (1 at x = 0, -inf beyond) without a gradient, "
            "so SMPO needs a positive cost limit"
        )


def _denominator(log_b: float, threshold: float | Tensor) -> float | Tensor:
    """expm1(-L d') = -(1 - b^(-d')); the numerators carry the matching minus sign."""
    if isinstance(threshold, Tensor):
        return torch.expm1(-log_b * threshold)
    return math.expm1(-log_b * threshold)


def _lower_bound(min_weight: float | None) -> float:
    """The weight's lower clamp: ``min_weight``, or ``WEIGHT_FLOOR`` for the unclamped f."""
    if min_weight is None:
        return WEIGHT_FLOOR
    if not WEIGHT_FLOOR <= min_weight <= 1:
        raise ValueError(f"min_weight must be in [{WEIGHT_FLOOR}, 1] (or None for no clamp), got {min_weight!r}")
    return float(min_weight)


def _curve_coordinates(
    x: Tensor, threshold: float | Tensor, units: ModulationUnits
) -> tuple[Tensor, float | Tensor, float | Tensor]:
    """(u, t, du/dx): the curve is f = expm1(L (u - t)) / expm1(-L t) in either units."""
    check_choice("units", units, get_args(ModulationUnits))
    _check_threshold(threshold)
    if units == "absolute":
        return x, threshold, 1.0
    return x / threshold, 1.0, 1.0 / threshold


def _curve(u: Tensor, t: float | Tensor, log_b: float) -> Tensor:
    """The unclamped f: finite or -inf (b^(u - t) may overflow), never NaN for finite u."""
    return torch.expm1(log_b * (u - t)) / _denominator(log_b, t)


def modulation_weight(
    x: Tensor,
    threshold: float | Tensor,
    *,
    base: float,
    units: ModulationUnits,
    min_weight: float | None,
) -> Tensor:
    """f(x) = (1 - b^(x - d')) / (1 - b^(-d')) clamped to [max(min_weight, WEIGHT_FLOOR), 1].

    ``units="normalized"``: f(x) = (1 - b^(x/d' - 1)) / (1 - b^(-1)). Finite for every finite
    x. ``threshold`` (d') may be a float or a tensor broadcastable against ``x``. No defaults:
    the settings are ``SMPOConfig``'s (the paper's f is b = 3, absolute units, ``min_weight=None``).
    """
    lower = _lower_bound(min_weight)
    log_b = _log_base(base)
    u, t, _ = _curve_coordinates(x, threshold, units)
    return _curve(u, t, log_b).clamp(lower, 1.0)


def modulation_weight_derivative(
    x: Tensor,
    threshold: float | Tensor,
    *,
    base: float,
    units: ModulationUnits,
    min_weight: float | None,
) -> Tensor:
    """d/dx of ``modulation_weight``: f'(x) where the clamp does not bite, 0 where it does.

    f'(x) = -ln(b) b^(x - d') / (1 - b^(-d')) (absolute units) or
    -ln(b) b^(x/d' - 1) / (d' (1 - b^(-1))) (normalized), always negative and finite where
    it is not zeroed. Zeroing where Q^c was clipped is the caller's.
    """
    lower = _lower_bound(min_weight)
    log_b = _log_base(base)
    u, t, du_dx = _curve_coordinates(x, threshold, units)
    weight = _curve(u, t, log_b)
    slope = log_b * torch.exp(log_b * (u - t)) / _denominator(log_b, t) * du_dx
    unclamped = (weight >= lower) & (weight <= 1.0)
    return torch.where(unclamped, slope, torch.zeros_like(slope))


def reward_weight_sensitivity(rewards: Tensor, negative_rewards: NegativeRewardModulation) -> Tensor:
    """s(r) = d r~ / d f: |r| ("penalise"), max(r, 0) ("unmodulated") or r ("paper")."""
    check_choice("negative_rewards", negative_rewards, get_args(NegativeRewardModulation))
    if negative_rewards == "penalise":
        return rewards.abs()
    if negative_rewards == "unmodulated":
        return rewards.clamp(min=0.0)
    return rewards


def modulate_rewards(rewards: Tensor, weight: Tensor, negative_rewards: NegativeRewardModulation) -> Tensor:
    """r~ = r + (f - 1) s(r): f r for r >= 0; for r < 0 (2 - f) r, r or f r (see the module docstring).

    With "penalise" r~ is non-decreasing in f for every r and r~ <= r for f <= 1: spending
    closer to (or past) the budget never makes a reward better, and a penalty stays one.
    """
    return rewards + (weight - 1.0) * reward_weight_sensitivity(rewards, negative_rewards)


def shift_rewards(rewards: Tensor, *, offset: float = 0.0, episode_reward_minimum: Tensor | None = None) -> Tensor:
    """The rewards SMPO learns from: r_t + offset - m_t, m_t = min(0, lowest reward of the episode up to t).

    With ``episode_reward_minimum`` (m_t <= 0, the authors' per-episode shift) and offset >= 0,
    every shifted reward is >= 0. Without it only the constant ``offset`` is added.
    """
    shifted = rewards + offset if offset else rewards
    if episode_reward_minimum is not None:
        shifted = shifted - episode_reward_minimum.clamp(max=0.0)
    return shifted


def resampled_action_weights(reward_to_go: Tensor, resampled_cost_q: Tensor, weight_grad: Tensor) -> Tensor:
    """W_t = G_t Q^c(s_t, a') f'(x_t), a' ~ pi(.|s_t): the authors' weight of -log pi(a'|s_t).

    The authors' code (``jajajag/smpo``, ``algos/smpo.py``) adds -0.1 mean(W log pi(a'|s_t)) to
    PPO's loss, a' sampled once per update at the same state, G_t the discounted reward-to-go,
    f' = df/dQ^c (0 where Q^c was clipped or f clamped). In reward x cost units: no normalisation.
    """
    return reward_to_go * resampled_cost_q * weight_grad
