"""Small constrained problems whose constrained optimum is known in closed form.

Used by the learning tests and as a sanity check for new algorithms: they train in
seconds, and the right answer is known.

``BudgetEnv`` (continuous): each of ``horizon`` steps the agent picks an effort
u = (a + 1) / 2 in [0, 1] (a in [-1, 1]); reward = cost = u. Unconstrained, the optimum is
u = 1 (return = cost = horizon). Under the limit d the best return is d (any policy whose
mean effort is d / horizon); return and cost move together, so an algorithm ends "near the
limit" exactly when it solves the problem.

``RiskySafeEnv`` (discrete): action 0 is safe (reward ``safe_reward``, cost 0), action 1 is
risky (reward 1, cost 1). Under limit d the optimum takes the risky action d times per
episode: return = d + (horizon - d) * safe_reward, cost = d.

``TradeOffEnv`` (continuous, 2-D action): two efforts u1, u2 in [0, 1]; reward
``costly_reward`` u1 + 0.5 u2 + ``reward_offset``, cost u1 (default horizon 10). Rewards are not
costs: u2 is free, u1 pays. With ``costly_reward`` > 0 the optimum under d spends the budget on
u1 and always takes u2 (return costly_reward min(d, H) + 0.5 H + offset H; with the defaults and
d = 4: 9 at cost 4). With ``costly_reward=0`` the costly effort earns nothing where its cost is
paid (the optimum: u1 = 0, return 0.5 H + offset H at cost 0, while an indifferent policy spends
about H / 2). A negative ``reward_offset`` makes the rewards signed without changing the
optimal policy (episodes have a fixed length).

``cost_scale`` (env_config, default 1): every emitted cost is multiplied by it, as if the
cost were measured in other units; the observation (the fraction of the budget used) does
not change. With d and the slacks scaled alike the constrained problem is the same, which
``tests/algorithms/test_cost_units.py`` uses to check that an algorithm's update does not
depend on the cost's units.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class _BudgetBase(gym.Env):
    """Observation: the fraction of the episode elapsed and of the horizon's budget used."""

    def __init__(self, config: dict | None = None):
        config = dict(config or {})
        self.horizon = int(config.get("horizon", 20))
        if self.horizon < 1:
            raise ValueError(f"`horizon` = {self.horizon} is invalid: it must be >= 1.")
        self.cost_scale = float(config.get("cost_scale", 1.0))
        if not (np.isfinite(self.cost_scale) and self.cost_scale > 0):
            raise ValueError(f"`cost_scale` = {self.cost_scale} is invalid: it must be finite and > 0.")
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self._t = 0
        self._spent = 0.0

    def _obs(self) -> np.ndarray:
        return np.array([self._t / self.horizon, self._spent / self.horizon], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t, self._spent = 0, 0.0
        return self._obs(), {"cost": 0.0}

    def _advance(self, reward: float, cost: float):
        self._t += 1
        self._spent += cost  # in the problem's own units: the observation ignores cost_scale
        return self._obs(), reward, False, self._t >= self.horizon, {"cost": self.cost_scale * cost}


class BudgetEnv(_BudgetBase):
    def __init__(self, config: dict | None = None):
        super().__init__(config)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def step(self, action):
        effort = float(np.clip((np.asarray(action, dtype=np.float64).reshape(-1)[0] + 1.0) / 2.0, 0.0, 1.0))
        return self._advance(effort, effort)


class RiskySafeEnv(_BudgetBase):
    def __init__(self, config: dict | None = None):
        super().__init__(config)
        self.safe_reward = float((config or {}).get("safe_reward", 0.1))
        self.action_space = gym.spaces.Discrete(2)

    def step(self, action):
        risky = int(action) == 1
        return self._advance(1.0 if risky else self.safe_reward, 1.0 if risky else 0.0)


class TradeOffEnv(_BudgetBase):
    def __init__(self, config: dict | None = None):
        config = {"horizon": 10, **dict(config or {})}
        super().__init__(config)
        self.costly_reward = float(config.get("costly_reward", 1.0))
        self.reward_offset = float(config.get("reward_offset", 0.0))
        for name, value in (("costly_reward", self.costly_reward), ("reward_offset", self.reward_offset)):
            if not np.isfinite(value):
                raise ValueError(f"`{name}` = {value} is invalid: it must be a finite number.")
        if self.costly_reward < 0:
            raise ValueError(f"`costly_reward` = {self.costly_reward} is invalid: it must be >= 0.")
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def step(self, action):
        costly, free = np.clip((np.asarray(action, dtype=np.float64).reshape(-1)[:2] + 1.0) / 2.0, 0.0, 1.0)
        reward = self.costly_reward * costly + FREE_REWARD * free + self.reward_offset
        return self._advance(float(reward), float(costly))


#: TradeOffEnv's reward per unit of the free effort u2.
FREE_REWARD = 0.5

#: The known-optimum problems by the env id ``register_envs`` gives them.
KNOWN_OPTIMUM_ENVS = {"BudgetEnv": BudgetEnv, "RiskySafeEnv": RiskySafeEnv, "TradeOffEnv": TradeOffEnv}

#: Training settings at which these problems learn in seconds, shared by the learning tests and
#: ``benchmarks/known_optimum.py`` (with 4 envs sampled on the local EnvRunner): 1,600 env steps
#: per iteration, minibatches of 400, 5 epochs, lr 1e-3, no observation normalisation (the
#: observation is already the fraction of the budget used).
SMALL_PROBLEM_TRAINING = {
    "train_batch_size_per_learner": 1600, "minibatch_size": 400, "num_epochs": 5, "lr": 1e-3,
    "normalize_observations": False,
}


def constrained_optimum_return(env: _BudgetBase, cost_limit: float) -> float:
    """The best episode return with episode cost <= cost_limit (in the env's emitted units)."""
    budget = min(float(cost_limit) / env.cost_scale, float(env.horizon))
    if isinstance(env, RiskySafeEnv):
        return budget + (env.horizon - budget) * env.safe_reward
    if isinstance(env, TradeOffEnv):
        return env.costly_reward * budget + (FREE_REWARD + env.reward_offset) * env.horizon
    return budget
