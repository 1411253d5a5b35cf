"""The compat layer is idempotent and leaves gymnasium's own envs untouched."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from rllib_safe.envs import compat

# Seeded rollouts of gymnasium's own envs: run here (compat applied) and in a fresh process
# that never imports rllib_safe; they must agree bit for bit.
_ROLLOUT = textwrap.dedent(
    """
    import gymnasium as gym, numpy as np
    def rollout(env_id):
        env = gym.make(env_id)
        obs, _ = env.reset(seed=3)
        env.action_space.seed(3)
        out = [np.asarray(obs, dtype=np.float64).sum()]
        for _ in range(20):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            out += [np.asarray(obs, dtype=np.float64).sum(), float(reward), terminated, truncated]
            if terminated or truncated:
                obs, _ = env.reset()
        return repr((out, sorted(info), gym.spec(env_id).to_json()))
    """
)


def _rollouts_in_fresh_process() -> str:
    code = _ROLLOUT + "print(rollout('CartPole-v1')); print(rollout('Hopper-v5'))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_gymnasium_envs_untouched() -> None:
    compat.apply()
    namespace: dict = {}
    exec(_ROLLOUT, namespace)  # noqa: S102 - the same code as in the fresh process
    here = f"{namespace['rollout']('CartPole-v1')}\n{namespace['rollout']('Hopper-v5')}\n"
    assert here == _rollouts_in_fresh_process()


def test_apply_is_idempotent() -> None:
    compat.apply()
    patched = (EnvSpec.__init__, sys.modules["gymnasium.wrappers.time_limit"], list(sys.meta_path))
    compat._applied = False  # force the whole layer to run again
    compat.apply()
    assert (EnvSpec.__init__, sys.modules["gymnasium.wrappers.time_limit"], list(sys.meta_path)) == patched
    env = gym.make("SafetyHopperVelocityGymnasium-v1")
    env.reset(seed=0)
    assert "cost" in env.step(env.action_space.sample())[4]


def test_env_spec_accepts_old_kwargs() -> None:
    compat.apply()
    spec = EnvSpec("X-v0", autoreset=True, apply_api_compatibility=False)
    assert spec.autoreset is False and "autoreset" not in spec.to_json()
