"""PPO-Lagrangian's multiplier and penalised advantages, OmniSafe semantics (docs/algorithms.md section 4).

Once per iteration, before the policy step, lambda takes one Adam step on the loss
-lambda (J_c - d) and is then clamped to [0, upper_bound]: it rises while J_c > d and
falls toward 0 while J_c < d. The policy is trained by PPO-clip on the advantages
(A_r - lambda A_c) / (1 + lambda).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["LagrangeMultiplier", "lagrangian_advantages"]

_ADAM_STATE_KEYS = ("step", "exp_avg", "exp_avg_sq")


class LagrangeMultiplier(nn.Module):
    """A learnable scalar lambda >= 0 with its own Adam optimiser (OmniSafe's ``Lagrange``).

    ``state_dict()`` / ``load_state_dict()`` carry the value and the optimiser's moments
    (the latter as the module's extra state), so a restored multiplier makes exactly the
    same next update. ``get_state()`` / ``set_state()`` do the same with plain Python
    floats, for RLlib checkpoints.
    """

    def __init__(self, initial_value: float, lr: float, upper_bound: float | None = None) -> None:
        """lambda_0 = ``initial_value``, Adam at ``lr``, clamped to [0, ``upper_bound``] (None: no
        upper bound). OmniSafe's values, 0.001 and 0.035, are ``PPOLagConfig``'s defaults."""
        super().__init__()
        if not (math.isfinite(initial_value) and initial_value >= 0):
            raise ValueError(f"initial_value must be a finite number >= 0, got {initial_value!r}")
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if upper_bound is not None and not upper_bound >= initial_value:
            raise ValueError(
                f"upper_bound must be None or >= initial_value ({initial_value!r}), "
                f"got {upper_bound!r}"
            )
        self.upper_bound = upper_bound
        self.multiplier = nn.Parameter(torch.tensor(float(initial_value)))
        self.optimizer = torch.optim.Adam([self.multiplier], lr=lr)

    @property
    def value(self) -> float:
        """The current lambda as a Python float."""
        return float(self.multiplier.detach())

    def update(self, episode_cost: float, cost_limit: float) -> float:
        """One Adam step on -lambda (J_c - d), then clamp to [0, upper_bound]; returns lambda.

        ``episode_cost`` must be finite: with no finished episode yet the caller should
        skip the update rather than pass NaN, which would poison lambda for good.
        """
        if not math.isfinite(episode_cost):
            raise ValueError(f"episode_cost must be a finite number, got {episode_cost!r}")
        if not math.isfinite(cost_limit):
            raise ValueError(f"cost_limit must be a finite number, got {cost_limit!r}")
        self.optimizer.zero_grad()
        loss = -self.multiplier * (episode_cost - cost_limit)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            self.multiplier.clamp_(0.0, self.upper_bound)
        return self.value

    def get_extra_state(self) -> dict[str, Any]:
        """The optimiser's state, stored by ``state_dict()`` next to the parameter."""
        return self.optimizer.state_dict()

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)

    def get_state(self) -> dict[str, Any]:
        """Value and Adam moments as plain floats (``adam`` is None before the first update)."""
        adam = self.optimizer.state.get(self.multiplier)
        return {
            "value": self.value,
            "adam": None if not adam else {k: float(adam[k]) for k in _ADAM_STATE_KEYS},
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        with torch.no_grad():
            self.multiplier.fill_(float(state["value"]))
        adam = state.get("adam")
        optimizer_state = self.optimizer.state_dict()
        optimizer_state["state"] = {}
        if adam:
            optimizer_state["state"] = {
                0: {
                    key: torch.tensor(
                        float(adam[key]),
                        dtype=torch.float32 if key == "step" else self.multiplier.dtype,
                    )
                    for key in _ADAM_STATE_KEYS
                }
            }
        self.optimizer.load_state_dict(optimizer_state)


def lagrangian_advantages(
    reward_advantages: Tensor, cost_advantages: Tensor, multiplier: float | Tensor
) -> Tensor:
    """(A_r - lambda A_c) / (1 + lambda), the PPO-Lagrangian advantages (lambda >= 0)."""
    if not isinstance(multiplier, Tensor) and not (math.isfinite(multiplier) and multiplier >= 0):
        raise ValueError(f"multiplier must be a finite number >= 0, got {multiplier!r}")
    return (reward_advantages - multiplier * cost_advantages) / (1.0 + multiplier)
