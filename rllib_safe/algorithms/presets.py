"""Named sets of ``training()`` settings: one word to reproduce a reference library's schedule.

``PRESETS["omnisafe"]`` is OmniSafe 0.5's on-policy schedule (``configs/on-policy/PPOLag.yaml``,
shared by its first-order on-policy algorithms): 20,000 env steps per iteration, 40 epochs of
minibatches of 64 with the target-KL early stop at 0.02, Adam at 3e-4, gamma 0.99, GAE lambda
0.95, clip 0.2, gradients clipped at a global norm of 40, no entropy bonus. It holds only
settings every rllib-safe algorithm has; each algorithm's own settings keep their defaults,
which for PPO-Lag and CRPO are OmniSafe's already (64-64 tanh networks, observation
normalisation, cost GAE 0.99 / 0.95, centred cost advantages, multiplier init 0.001 and lr
0.035, cost limit 25).

Not reproduced, for want of an equivalent setting: OmniSafe's linear decay of the actor's lr
to 0 over the run, the critics' L2 penalty (``critic_norm_coef`` 0.001), the initial policy
std of 0.5, and separate Adam optimisers per network. ``train_batch_size_per_learner`` is
per learner: with several learners the batch of an iteration is that many times larger.

``PRESETS["pcrpo-authors"]`` is the PCRPO authors' Safety-MuJoCo setup, PCRPO's only (it sets
PCRPO's own settings, so other algorithms refuse it; give CRPO the shared ones with ``--set``).
Where each value comes from ("ESPO table": the hyperparameter table of the authors' ESPO paper,
arXiv 2405.20860, which restates PCRPO's runs; "PCRPO paper": arXiv 2405.01677; docs/algorithms.md
section 2):

====================================  ===========  ================================================
setting                               value        source
====================================  ===========  ================================================
gamma                                 0.995        ESPO table
lambda_ (GAE)                         0.97         ESPO table
train_batch_size_per_learner          16,000       ESPO table: 16,000 samples per iteration
actor_step                            trust_region PCRPO paper: a TRPO-style natural-gradient step
max_kl                                0.05         ESPO table: KL 0.05 (the paper's range 0.01-0.05)
cg_damping                            0.1          ESPO table
cg_iterations                         10           authors' TRPO base (10-15; docs section 2)
line_search_decay                     0.8          authors' TRPO base (docs section 2)
line_search_max_backtracks            15           authors' TRPO base (docs section 2)
reward_weight (x_r; x_c = 1 - x_r)    0.5          PCRPO paper and ESPO table: x_r = x_c = 0.5
conflict_angle                        90           PCRPO paper: project when the angle exceeds 90
warmup_env_steps                      640,000      authors' runs: 40 iterations x 16,000 samples
====================================  ===========  ================================================

Hidden layers 64-64 (ESPO table) are rllib-safe's default already. The ESPO table's 500
iterations are 8,000,000 env steps: ``--timesteps 8000000``.

Task presets, one word per task of the PCRPO paper: the authors' setup plus the limit d and the
slacks (h+, h-) they report (PCRPO paper / ESPO table), for the env ``PRESET_ENVS`` names (the
Safety-MuJoCo ``-v1`` ids follow the authors' task definitions, docs/environments.md):

=========================  ================================  ======  ============
preset                     env                               d       (h+, h-)
=========================  ================================  ======  ============
pcrpo-walker2d             SafetyMujocoWalker2d-v1           40      (inf, 0)
pcrpo-humanoidstandup      SafetyMujocoHumanoidStandup-v1    1400    (300, 0)
pcrpo-reacher              SafetyMujocoReacher-v1            40      (0, -inf)
pcrpo-hopper               SafetyHopperVelocity-v1           25      (9, -9)
=========================  ================================  ======  ============

    config.training(**PRESETS["omnisafe"])            # Python; later settings override
    rllib-safe train --preset omnisafe                # CLI; --set and flags override
    preset: omnisafe                                  # sweep spec; training: and the axes override
    rllib-safe train --algo pcrpo --env SafetyMujocoWalker2d-v1 --preset pcrpo-walker2d --timesteps 8000000
"""

from __future__ import annotations

import math
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "omnisafe": {
        "train_batch_size_per_learner": 20_000,
        "minibatch_size": 64,
        "num_epochs": 40,
        "target_kl": 0.02,
        "lr": 3e-4,
        "gamma": 0.99,
        "lambda_": 0.95,
        "clip_param": 0.2,
        "grad_clip": 40.0,
        "grad_clip_by": "global_norm",
        "entropy_coeff": 0.0,
    },
}

#: The PCRPO authors' Safety-MuJoCo setup (the module docstring gives each value's source).
PRESETS["pcrpo-authors"] = {
    "gamma": 0.995,
    "lambda_": 0.97,
    "train_batch_size_per_learner": 16_000,
    "actor_step": "trust_region",
    "max_kl": 0.05,
    "cg_damping": 0.1,
    "cg_iterations": 10,
    "line_search_decay": 0.8,
    "line_search_max_backtracks": 15,
    "reward_weight": 0.5,
    "conflict_angle": 90.0,
    "warmup_env_steps": 40 * 16_000,
}

#: Per task of the PCRPO paper: (preset, env id, d, h+, h-), as the authors report them.
PCRPO_TASKS: tuple[tuple[str, str, float, float, float], ...] = (
    ("pcrpo-walker2d", "SafetyMujocoWalker2d-v1", 40.0, math.inf, 0.0),
    ("pcrpo-humanoidstandup", "SafetyMujocoHumanoidStandup-v1", 1400.0, 300.0, 0.0),
    ("pcrpo-reacher", "SafetyMujocoReacher-v1", 40.0, 0.0, -math.inf),
    ("pcrpo-hopper", "SafetyHopperVelocity-v1", 25.0, 9.0, -9.0),
)

#: The env each task preset is for (``--env``); presets hold training settings only.
PRESET_ENVS: dict[str, str] = {}

for _name, _env, _limit, _upper, _lower in PCRPO_TASKS:
    PRESETS[_name] = PRESETS["pcrpo-authors"] | {"cost_limit": _limit, "slack_upper": _upper, "slack_lower": _lower}
    PRESET_ENVS[_name] = _env


def preset_settings(name: str | None) -> dict[str, Any]:
    """A copy of the named preset's settings ({} for None), or a ValueError naming the known presets."""
    if name is None:
        return {}
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return dict(PRESETS[name])


def known_preset(name: str | None) -> str | None:
    """``name`` unchanged if it is None or a preset (the validator of the CLI and sweep specs)."""
    preset_settings(name)
    return name
