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

    config.training(**PRESETS["omnisafe"])            # Python; later settings override
    rllib-safe train --preset omnisafe                # CLI; --set and flags override
    preset: omnisafe                                  # sweep spec; training: and the axes override
"""

from __future__ import annotations

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
