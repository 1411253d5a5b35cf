"""Safety-MuJoCo ``-v1`` tasks against the authors' definitions, computed by hand from the env's state."""

from __future__ import annotations

import numpy as np
import pytest

from rllib_safe.envs import known_env_ids, make_env

TASK_NAMES = ["Walker2d", "HumanoidStandup", "Reacher", "Hopper", "Ant", "Humanoid", "HalfCheetah"]


def _sq(x) -> float:
    return float(np.sum(np.square(x)))


def _hopper_unhealthy(base) -> bool:
    z, angle = base.data.qpos[1:3]
    state = base.state_vector()[2:]
    return not (z > 0.7 and -0.2 < angle < 0.2 and np.all(np.abs(state) < 100.0))


def _walker_conditions(base) -> int:
    z, angle = base.data.qpos[1:3]
    return int(0.8 < z < 2.0) + int(-1.0 < angle < 1.0)


def _expected(name: str, base, action: np.ndarray, info: dict) -> tuple[float, float]:
    """(reward, cost) by the authors' formulas, from the state after the step."""
    v_x, qpos = info.get("x_velocity"), base.data.qpos
    if name == "Walker2d":
        return v_x + _walker_conditions(base), np.sqrt(1e-3 * _sq(action))
    if name == "HumanoidStandup":
        return qpos[2] / base.model.opt.timestep, min(0.5e-6 * _sq(base.data.cfrc_ext), 10.0) + 0.1 * _sq(action)
    if name == "Reacher":
        return -np.linalg.norm(base.get_body_com("fingertip") - base.get_body_com("target")), _sq(action)
    if name == "Hopper":
        return v_x, 0.5 * _sq(action) + _hopper_unhealthy(base)
    if name == "Ant":
        return v_x, 0.5 * _sq(action)
    if name == "Humanoid":
        return 1.25 * v_x, 0.1 * _sq(action) + (not 1.0 < qpos[2] < 2.0)
    assert name == "HalfCheetah"
    return -abs(v_x - 1.0), abs(qpos[1])


def test_v1_ids_are_known_next_to_v0() -> None:
    ids = set(known_env_ids())
    for name in TASK_NAMES:
        assert {f"SafetyMujoco{name}-v0", f"SafetyMujoco{name}-v1"} <= ids


@pytest.mark.parametrize("name", TASK_NAMES)
def test_v1_reward_and_cost_match_the_authors_terms(name: str) -> None:
    env = make_env(f"SafetyMujoco{name}-v1")
    env.reset(seed=0)
    space = env.action_space
    actions = np.random.default_rng(0).uniform(space.low, space.high, size=(30, *space.shape))  # ctrl == a
    for action in actions:
        _, reward, terminated, _, info = env.step(action)
        expected_reward, expected_cost = _expected(name, env.unwrapped, action, info)
        assert reward == pytest.approx(expected_reward, rel=1e-9, abs=1e-9)
        assert info["cost"] == pytest.approx(expected_cost, rel=1e-9, abs=1e-9)
        assert not terminated
    env.close()


def test_fallen_hopper_v1_keeps_running_and_paying() -> None:
    action = np.array([1.0, -1.0, 1.0])
    v0 = make_env("SafetyMujocoHopper-v0")
    v0.reset(seed=0)
    ended_at = next(step for step in range(1, 1001) if v0.step(action)[2])
    assert ended_at < 100  # the same actions end a -v0 episode early

    env = make_env("SafetyMujocoHopper-v1")
    env.reset(seed=0)
    unhealthy_steps = 0
    for step in range(1, 1001):
        _, reward, terminated, truncated, info = env.step(action)
        assert not terminated
        assert truncated == (step == 1000)
        unhealthy = _hopper_unhealthy(env.unwrapped)
        unhealthy_steps += unhealthy
        assert info["cost"] == pytest.approx(0.5 * 3.0 + unhealthy)
        assert reward == pytest.approx(info["x_velocity"])
    assert unhealthy_steps > 900  # fallen for good, charged 1 every step
    assert info["cumulative_cost"] == pytest.approx(1.5 * 1000 + unhealthy_steps)


def test_reacher_v1_truncates_at_50() -> None:
    env = make_env("SafetyMujocoReacher-v1")
    env.reset(seed=0)
    zero = np.zeros(env.action_space.shape)
    ends = [env.step(zero)[2:4] for _ in range(50)]
    assert ends[-1] == (False, True)
    assert not any(terminated or truncated for terminated, truncated in ends[:-1])


@pytest.mark.parametrize(
    ("z", "angle", "bonus"),
    [(1.25, 0.0, 2), (1.25, 1.5, 1), (2.5, 0.0, 1), (2.5, 1.5, 0)],
)
def test_walker2d_v1_bonus_counts_health_conditions(z: float, angle: float, bonus: int) -> None:
    env = make_env("SafetyMujocoWalker2d-v1")
    env.reset(seed=0)
    base = env.unwrapped
    qpos = base.init_qpos.copy()
    qpos[1:3] = z, angle
    base.set_state(qpos, np.zeros(base.model.nv))
    _, reward, terminated, _, info = env.step(np.zeros(env.action_space.shape))
    assert _walker_conditions(base) == bonus  # one step does not move the state across a bound
    assert reward == pytest.approx(info["x_velocity"] + bonus)
    assert not terminated
