"""Pure-torch math of rllib-safe (no Ray imports): PCRPO gradient manipulation, the
TRPO-style trust-region step, SMPO modulation, the PPO-Lagrangian multiplier and the slack
schedules. See docs/algorithms.md, sections 2 to 4."""

from rllib_safe.core.gradients import (
    GradientManipulation,
    Region,
    UpdateMode,
    assign_flat_grad,
    assign_flat_params,
    flat_grad,
    flatten_params,
    manipulate_gradients,
    project_onto_normal_plane,
    select_region,
    validate_slacks,
)
from rllib_safe.core.lagrange import LagrangeMultiplier, lagrangian_advantages
from rllib_safe.core.modulation import (
    dynamic_threshold,
    modulate_rewards,
    modulation_weight,
    modulation_weight_derivative,
)
from rllib_safe.core.schedules import (
    SlackKind,
    SlackSchedule,
    annealed_slack,
    reward_only_warmup,
)
from rllib_safe.core.trust_region import (
    LineSearchResult,
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    natural_gradient_step,
)

__all__ = [
    "GradientManipulation",
    "LagrangeMultiplier",
    "LineSearchResult",
    "Region",
    "SlackKind",
    "SlackSchedule",
    "UpdateMode",
    "annealed_slack",
    "assign_flat_grad",
    "assign_flat_params",
    "backtracking_line_search",
    "conjugate_gradient",
    "dynamic_threshold",
    "fisher_vector_product",
    "flat_grad",
    "flatten_params",
    "lagrangian_advantages",
    "manipulate_gradients",
    "modulate_rewards",
    "modulation_weight",
    "modulation_weight_derivative",
    "natural_gradient_step",
    "project_onto_normal_plane",
    "reward_only_warmup",
    "select_region",
    "validate_slacks",
]
