"""Named sets of settings: one word to reproduce a reference library's or paper's setup.

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

SMPO presets, SMPO's only (they set SMPO's own settings; docs/algorithms.md sections 3 and 3b):

``PRESETS["smpo-paper"]``: the modulation as the paper (arXiv 2504.03040) writes it, with
rllib-safe's PPO schedule: r~ = f r for every reward (a negative reward times a negative f
becomes a bonus), f unclamped, b = 3, d' relaxed from 2d to d over e_max = 50 epochs of
20,000 env steps, no warm-up, the term through Q^c at weight 1, Q^c regularised on its weights,
Q^c's target y = c + gamma (1 - done) E Q^c(s', a') stopped at every episode end (Safety Gym's
done is true at the time limit too).

``PRESETS["smpo-authors"]``: SMPO as the authors' public code runs it (``jajajag/smpo`` at
8d512ee; "code" below: ``algos/smpo.py``, ``algos/ppo_core.py``, ``critics/safety_critic.py``,
``utils/weighting.py``, ``envs/reward_shaping.py``; "3b": docs/algorithms.md section 3b):

====================================  =============  ==================================================
setting                               value          source
====================================  =============  ==================================================
modulation_target                     advantage      code: f times the standardised GAE advantage
reward_shift                          episode_min.   code: rewards shifted by minus the episode's lowest
min_weight                            -5             code: f clamped to [-5, 5] (f <= 1 for x >= 0, so
                                                     the upper bound never binds)
modulation_base                       4              3b (config.yaml at 8d512ee reads 3: --set
                                                     modulation_base=3 gives that reading)
modulation_warmup_env_steps           100,000        code: plain PPO for 5 epochs of 20,000 (3b)
threshold_anneal_env_steps            1,000,000      code: e_max = 50 epochs of 20,000 (3b)
critic_gradient_estimator             same_state     code: -0.1 W log pi(a'|s), a' ~ pi(.|s)
critic_gradient_coeff                 0.1            code: EXTRA_COEF
qc_regularizer / qc_l2                prediction 0.1 code: MSE + 0.1 mean(Q^c^2)
qc_target_tau                         1              code: no target network
qc_lr                                 3e-4           code: one Adam lr for both
cost_gamma                            0.99           code: Q^c's target uses gamma
qc_bootstrap_time_limit               True           code: the target ignores episode ends (a slip);
                                                     True keeps its bootstrap past time limits
train_batch_size_per_learner          20,000         3b: 20,000 steps per epoch (config.yaml at
                                                     8d512ee reads 30,000)
minibatch_size / num_epochs           20,000 / 80    code: 80 full-batch policy (and Q^c) updates
target_kl                             None           code: no KL early stop
lr / gamma / lambda_ / clip_param     3e-4 / 0.99 /  code (ppo_core.py, config.yaml)
                                      0.95 / 0.2
grad_clip                             0.5            code: PPOLoss.max_grad_norm (Q^c: 1.0 there)
entropy_coeff                         0              code: ent_coef 0
model_config                          256-256 tanh   code: actor, critic (Q^c: 256-256 ReLU there)
====================================  =============  ==================================================

Not reproduced: the authors' single scalar observation normaliser (rllib-safe normalises each
dimension), their initial log-std of -0.5, Q^c's ReLU and softplus output, and their slips
(section 3b: a Q^c target that ignores episode ends, costs rebuilt from a clamped running sum).

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

#: The paper's literal modulation with rllib-safe's schedule (module docstring).
PRESETS["smpo-paper"] = {
    "modulation_target": "reward",
    "negative_reward_modulation": "paper",
    "min_weight": None,
    "modulation_base": 3.0,
    "reward_shift": "none",
    "modulation_warmup_env_steps": 0,
    "critic_gradient_estimator": "next_state",
    "critic_gradient_coeff": 1.0,
    "qc_regularizer": "weight_l2",
    "qc_bootstrap_time_limit": False,
}

#: SMPO as the authors' public code runs it (the module docstring gives each value's source).
PRESETS["smpo-authors"] = {
    "modulation_target": "advantage",
    "reward_shift": "episode_minimum",
    "min_weight": -5.0,
    "modulation_base": 4.0,
    "modulation_warmup_env_steps": 100_000,
    "threshold_anneal_env_steps": 1_000_000,
    "critic_gradient_estimator": "same_state",
    "critic_gradient_coeff": 0.1,
    "qc_regularizer": "prediction_l2",
    "qc_l2": 0.1,
    "qc_target_tau": 1.0,
    "qc_lr": 3e-4,
    "cost_gamma": 0.99,
    "qc_bootstrap_time_limit": True,
    "train_batch_size_per_learner": 20_000,
    "minibatch_size": 20_000,
    "num_epochs": 80,
    "target_kl": None,
    "lr": 3e-4,
    "gamma": 0.99,
    "lambda_": 0.95,
    "clip_param": 0.2,
    "grad_clip": 0.5,
    "grad_clip_by": "global_norm",
    "entropy_coeff": 0.0,
    "model_config": {"fcnet_hiddens": [256, 256], "fcnet_activation": "tanh"},
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
