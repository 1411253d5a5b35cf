"""Deterministic evaluation of a checkpoint: episode return, cost and cost rate, optional video.

The policy is rebuilt without an Algorithm: the trained RLModule from
``learner_group/learner/rl_module/default_policy`` and the EnvRunner's connector pipelines
(observation normalisation statistics included, frozen) from ``env_runner/``. Actions are
the mode of the action distribution (``explore=False``: ``to_deterministic()``).

From a run directory, :func:`load_newest_policy` takes the newest checkpoint whose policy
loads, naming a broken one as ``train --resume`` does (``rllib_safe.runs.fallback``).
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rllib_safe.runs.fallback import failure_reason, restore_newest

DEFAULT_MODULE = "default_policy"


@dataclass
class Policy:
    checkpoint: Path
    module: object
    env_to_module: object
    module_to_env: object
    env_id: str
    env_config: dict


@dataclass
class Episode:
    episode_return: float
    episode_cost: float
    length: int

    @property
    def cost_rate(self) -> float:
        return self.episode_cost / max(1, self.length)


def freeze_observation_filters(pipeline) -> None:
    """Stops MeanStdFilter pieces from updating their statistics with evaluation data."""
    from ray.rllib.connectors.env_to_module import MeanStdFilter

    from rllib_safe.rllib_private import freeze_mean_std_filter

    for piece in pipeline.connectors:
        if isinstance(piece, MeanStdFilter):
            freeze_mean_std_filter(piece)


def load_policy(checkpoint: Path) -> Policy:
    from ray.rllib.connectors.connector_pipeline_v2 import ConnectorPipelineV2
    from ray.rllib.core import (
        COMPONENT_ENV_RUNNER,
        COMPONENT_ENV_TO_MODULE_CONNECTOR,
        COMPONENT_LEARNER,
        COMPONENT_LEARNER_GROUP,
        COMPONENT_MODULE_TO_ENV_CONNECTOR,
        COMPONENT_RL_MODULE,
    )
    from ray.rllib.core.rl_module.rl_module import RLModule

    from rllib_safe.rllib_private import checkpoint_config_dict

    checkpoint = Path(checkpoint).resolve()
    learner = checkpoint / COMPONENT_LEARNER_GROUP / COMPONENT_LEARNER
    module_path = learner / COMPONENT_RL_MODULE / DEFAULT_MODULE
    runner = checkpoint / COMPONENT_ENV_RUNNER
    env_to_module = ConnectorPipelineV2.from_checkpoint(str(runner / COMPONENT_ENV_TO_MODULE_CONNECTOR))
    freeze_observation_filters(env_to_module)
    config = checkpoint_config_dict(checkpoint)
    return Policy(
        checkpoint=checkpoint,
        module=RLModule.from_checkpoint(str(module_path)),
        env_to_module=env_to_module,
        module_to_env=ConnectorPipelineV2.from_checkpoint(str(runner / COMPONENT_MODULE_TO_ENV_CONNECTOR)),
        env_id=config["env"],
        env_config=dict(config.get("env_config") or {}),
    )


def load_newest_policy(checkpoints: list[Path], echo: Callable[[str], None]) -> Policy:
    """The policy of the newest of ``checkpoints`` that loads; a broken one is named through ``echo``."""
    return restore_newest(checkpoints, load_policy, echo)[1]


def build_env(env_id: str, env_config: dict, render_mode: str | None = None):
    """The env via ``make_env`` for rllib_safe's ids, else via its Tune registration."""
    from rllib_safe.envs import known_env_ids, make_env, register_envs

    register_envs()  # the known-optimum problems (BudgetEnv, ...) are found by their Tune names
    if env_id in known_env_ids():
        return make_env(env_id, render_mode=render_mode, **env_config)
    from ray.rllib.env.env_context import EnvContext

    from rllib_safe.rllib_private import is_registered_env, registered_env_creator

    if not is_registered_env(env_id):
        return make_env(env_id, render_mode=render_mode, **env_config)  # gymnasium ids, or a clear error
    extra = {"render_mode": render_mode} if render_mode else {}
    return registered_env_creator(env_id)(EnvContext(env_config | extra, worker_index=0))


def run_episode(policy: Policy, env, seed: int, frames: list | None = None) -> Episode:
    """One episode with deterministic actions through the checkpoint's connector pipelines."""
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.env.single_agent_episode import SingleAgentEpisode

    obs, _ = env.reset(seed=seed)
    episode = SingleAgentEpisode(
        observations=[obs], observation_space=env.observation_space, action_space=env.action_space
    )
    total_cost, done = 0.0, False
    while not done:
        if frames is not None:
            frames.append(env.render())
        shared_data = {}
        batch = policy.env_to_module(
            episodes=[episode], rl_module=policy.module, explore=False, shared_data=shared_data
        )
        with torch.no_grad():
            output = policy.module.forward_inference(batch)
        to_env = policy.module_to_env(
            batch=output, episodes=[episode], rl_module=policy.module, explore=False, shared_data=shared_data
        )
        action = to_env.pop(Columns.ACTIONS)[0]
        action_for_env = to_env.pop(Columns.ACTIONS_FOR_ENV, [action])[0]
        obs, reward, terminated, truncated, info = env.step(action_for_env)
        total_cost += float(info.get("cost", 0.0))
        done = terminated or truncated
        episode.add_env_step(
            obs, action, reward, infos=info, terminated=terminated, truncated=truncated,
            extra_model_outputs={key: value[0] for key, value in to_env.items()},
        )
    return Episode(float(episode.get_return()), total_cost, len(episode))


def nearest_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_file(path: Path) -> None:
    """OSError (its filename: the path at fault) unless ``path`` can be written, checked without a trace.

    An existing file is opened for appending (its content unchanged); else a probe file is
    created and removed in the nearest existing directory on the way (writing creates the rest).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if path.exists():
        with open(path, "ab"):
            return
    directory = nearest_existing(path.parent)
    if not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))
    probe = directory / f".{path.name}.write-check-{os.getpid()}"
    try:
        with open(probe, "x"):
            pass
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(directory)) from None
    probe.unlink()


def write_video(frames: list, path: Path, fps: int) -> None:
    """The frames as an mp4 at ``path``; a file cut short by an error is removed."""
    import imageio

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        imageio.mimsave(str(path), [np.asarray(frame) for frame in frames], fps=fps)
    except BaseException:
        if path.is_file():
            path.unlink()
        raise


def save_video(frames: list, path: Path, fps: int) -> dict:
    """Writes the video; its report entries: ``video`` (the path, None if not written) and ``video_error``."""
    try:
        write_video(frames, path, fps)
    except Exception as err:  # a full disk, a missing ffmpeg...: the episodes' results are kept
        return {"video": None, "video_error": f"{path}: {failure_reason(err)}"}
    return {"video": str(path)}


def evaluate(checkpoint: Path, episodes: int, seed: int = 0, video: Path | None = None) -> dict:
    """Mean/std return, cost and cost rate over ``episodes`` deterministic episodes (seeds seed, seed+1, ...).

    With ``video``, the first episode is rendered (rgb frames, MUJOCO_GL=egl unless set) into an mp4.
    """
    return evaluate_policy(load_policy(checkpoint), episodes, seed, video)


def evaluate_policy(policy: Policy, episodes: int, seed: int = 0, video: Path | None = None) -> dict:
    """:func:`evaluate` with a loaded policy. A video that cannot be written costs no results: the
    report says why (``video_error``) and ``video`` is None."""
    if video is not None:
        os.environ.setdefault("MUJOCO_GL", "egl")
    env = build_env(policy.env_id, policy.env_config, render_mode="rgb_array" if video else None)
    frames = [] if video is not None else None
    try:
        runs = [run_episode(policy, env, seed + i, frames if i == 0 else None) for i in range(episodes)]
        fps = int(env.metadata.get("render_fps", 30))
    finally:
        env.close()
    report = {"checkpoint": str(policy.checkpoint), "env": policy.env_id, "episodes": episodes, "seed": seed}
    for name, values in (
        ("return", [r.episode_return for r in runs]),
        ("cost", [r.episode_cost for r in runs]),
        ("cost_rate", [r.cost_rate for r in runs]),
        ("length", [r.length for r in runs]),
    ):
        report[f"{name}_mean"] = float(np.mean(values))
        report[f"{name}_std"] = float(np.std(values))
    return report | ({"video": None} if video is None else save_video(frames, Path(video), fps))


def write_report(report: dict, path: Path) -> None:
    """The report as indented JSON at ``path`` (its directory created if needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


def format_report(report: dict) -> str:
    """A small table: one row per measure, mean and std."""
    rows = [f"{'':10} {'mean':>12} {'std':>12}"]
    for name in ("return", "cost", "cost_rate", "length"):
        rows.append(f"{name:10} {report[name + '_mean']:12.4f} {report[name + '_std']:12.4f}")
    header = f"{report['env']}: {report['episodes']} deterministic episodes from {report['checkpoint']}"
    return "\n".join([header, *rows])
