"""Validated command-line input shared by the sub-commands (pydantic models).

argparse only collects strings; these models check them, and ``ValidationError``s become
messages that name the flag, the value given and what is allowed (:func:`describe_errors`).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: Algorithm-specific flags and the ``--algo`` names they apply to.
ALGORITHM_FLAGS: dict[str, tuple[str, ...]] = {
    "slack_upper": ("pcrpo",),
    "slack_lower": ("pcrpo",),
    "conflict_angle": ("pcrpo",),
    "reward_weight": ("pcrpo",),
    "update": ("pcrpo", "crpo"),
    "modulation_base": ("smpo",),
}

#: Flags that shape the algorithm's config; a resumed run keeps its checkpoint's config.
CONFIG_FLAGS = (
    "algo", "env", "cost_limit", "seed", "num_env_runners", "num_envs_per_env_runner",
    "num_learners", "num_gpus_per_learner", "allow_gpu_fallback", "cluster_placement",
    "rollouts_on_gpu_nodes", "overrides", "preset", *ALGORITHM_FLAGS,
)


def flag(field: str) -> str:
    """The command-line spelling of a model field (``cost_limit`` -> ``--cost-limit``)."""
    return {"overrides": "--set", "checkpoint": "CHECKPOINT"}.get(field, "--" + field.replace("_", "-"))


def describe_errors(error: ValidationError) -> str:
    """One line per error: flag, value given, what is allowed."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        where = f"{flag(field)} = {item['input']!r}: " if field else ""
        lines.append(f"{where}{item['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def usage_error(command: str, error: Exception) -> int:
    """Prints ``error`` as ``rllib-safe COMMAND: ...`` on stderr (flag by flag for pydantic); returns 2."""
    if isinstance(error, ValidationError):
        message = f"invalid arguments:\n{describe_errors(error)}"
    else:
        message = str(error)
    print(f"rllib-safe {command}: {message}", file=sys.stderr)
    return 2


def yaml_scalar(text: str) -> Any:
    """A YAML value; numbers YAML 1.1 leaves as strings (``1e-4``) become floats."""
    value = yaml.safe_load(text) if text.strip() else None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["lr=1e-4", "num_epochs=5"]`` -> ``{"lr": 1e-4, "num_epochs": 5}`` (values as YAML scalars)."""
    overrides = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {pair!r} is invalid: it must look like key=value (e.g. lr=1e-4).")
        overrides[key.strip()] = yaml_scalar(text)
    return overrides


def check_known_keys(keys, known, what: str) -> None:
    """ValueError listing the close names of every key not in ``known``."""
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3)
            hint = f" Close names: {', '.join(close)}." if close else ""
            raise ValueError(f"`{key}` is not {what}.{hint}")


class TrainOptions(BaseModel):
    """`rllib-safe train`: what to train, for how long, on which resources, where to write."""

    model_config = ConfigDict(extra="forbid")

    algo: str = "ppo"
    env: str = "SafetyPointGoal1-v0"
    cost_limit: float = Field(25.0, ge=0, allow_inf_nan=False)
    timesteps: int = Field(200_000, gt=0)
    seed: int = Field(0, ge=0)
    run_dir: Path | None = None
    address: str | None = None
    num_env_runners: int | None = Field(None, ge=0)
    num_envs_per_env_runner: int | None = Field(None, ge=1)
    num_learners: int | None = Field(None, ge=0)
    num_gpus_per_learner: float | None = Field(None, ge=0)
    allow_gpu_fallback: bool = False
    cluster_placement: bool = False
    rollouts_on_gpu_nodes: bool = False
    checkpoint_every: int = Field(10, ge=0, description="iterations between checkpoints; 0: only at the end")
    resume: Path | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    preset: str | None = None
    slack_upper: float | None = None
    slack_lower: float | None = None
    conflict_angle: float | None = None
    reward_weight: float | None = None
    update: Literal["trust_region", "first_order"] | None = None
    modulation_base: float | None = None

    @field_validator("algo")
    @classmethod
    def _known_algo(cls, name: str) -> str:
        from rllib_safe.algorithms import ALGORITHMS

        if name not in ALGORITHMS:
            raise ValueError(f"unknown algorithm; choose one of {sorted(ALGORITHMS)}")
        return name

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str | None) -> str | None:
        from rllib_safe.algorithms.presets import known_preset

        return known_preset(name)

    @field_validator("resume")
    @classmethod
    def _existing_path(cls, path: Path | None) -> Path | None:
        if path is not None and not path.exists():
            raise ValueError("no such run directory or checkpoint")
        return path

    @model_validator(mode="after")
    def _flags_fit(self) -> TrainOptions:
        for field, algos in ALGORITHM_FLAGS.items():
            if getattr(self, field) is not None and self.algo not in algos:
                raise ValueError(
                    f"{flag(field)} applies to --algo {' or '.join(algos)} only, not --algo {self.algo}."
                )
        if self.rollouts_on_gpu_nodes and not self.cluster_placement:
            raise ValueError("--rollouts-on-gpu-nodes applies with --cluster-placement only.")
        if self.resume is not None:
            given = sorted(flag(name) for name in set(CONFIG_FLAGS) & self.model_fields_set)
            if given:
                raise ValueError(
                    f"--resume continues with the checkpoint's config; drop {', '.join(given)}."
                )
        return self

    def training_settings(self) -> dict[str, Any]:
        """Settings for ``config.training(...)``: the preset, cost limit, algorithm flags, then ``--set``."""
        from rllib_safe.algorithms.presets import preset_settings

        preset = preset_settings(self.preset)
        flags = {name: getattr(self, name) for name in ALGORITHM_FLAGS if getattr(self, name) is not None}
        settings = {"cost_limit": self.cost_limit, "allow_gpu_fallback": self.allow_gpu_fallback}
        return preset | settings | flags | self.overrides


class EvaluateOptions(BaseModel):
    """`rllib-safe evaluate`: deterministic episodes from a checkpoint."""

    model_config = ConfigDict(extra="forbid")

    checkpoint: Path
    episodes: int = Field(10, ge=1)
    seed: int = Field(0, ge=0)
    video: Path | None = None
    json_out: Path | None = None

    @field_validator("checkpoint")
    @classmethod
    def _existing_path(cls, path: Path) -> Path:
        if not path.exists():
            raise ValueError("no such run directory or checkpoint")
        return path

    @field_validator("video")
    @classmethod
    def _mp4(cls, path: Path | None) -> Path | None:
        if path is not None and path.suffix.lower() != ".mp4":
            raise ValueError("the video file must end in .mp4")
        return path
