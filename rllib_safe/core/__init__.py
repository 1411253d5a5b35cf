"""Pure-torch math of rllib-safe (no Ray imports): PCRPO gradient manipulation, the
TRPO-style trust-region step, SMPO modulation, the PPO-Lagrangian multiplier and the slack
schedules. See docs/algorithms.md, sections 2 to 4."""

from rllib_safe.core.gradients import (
    PAPER_CONFLICT_ANGLE,
    PAPER_REWARD_WEIGHT,
    GradientManipulation,
    InverseMetric,
    Region,
    UpdateMode,
    assign_flat_grad,
    assign_flat_params,
    flat_grad,
    flatten_params,
    hard_switch_region,
    manipulate_gradients,
    project_onto_normal_plane,
    select_region,
    validate_slacks,
)
from rllib_safe.core.lagrange import LagrangeMultiplier, lagrangian_advantages
from rllib_safe.core.modulation import (
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
    SoftAcceptance,
    StepAcceptance,
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    mode_gain,
    scale_to_trust_region,
    step_soft_acceptance,
)

__all__ = [
    "PAPER_CONFLICT_ANGLE",
    "PAPER_REWARD_WEIGHT",
    "GradientManipulation",
    "InverseMetric",
    "LagrangeMultiplier",
    "LineSearchResult",
    "Region",
    "SlackKind",
    "SlackSchedule",
    "SoftAcceptance",
    "StepAcceptance",
    "UpdateMode",
    "annealed_slack",
    "assign_flat_grad",
    "assign_flat_params",
    "backtracking_line_search",
    "conjugate_gradient",
    "fisher_vector_product",
    "flat_grad",
    "flatten_params",
    "hard_switch_region",
    "lagrangian_advantages",
    "manipulate_gradients",
    "mode_gain",
    "modulate_rewards",
    "modulation_weight",
    "modulation_weight_derivative",
    "project_onto_normal_plane",
    "reward_only_warmup",
    "scale_to_trust_region",
    "select_region",
    "step_soft_acceptance",
    "validate_slacks",
]
