"""What a user asks of a run, validated (pydantic): the options of `train` and `evaluate`.

argparse only collects strings; these models check them before anything starts, and their
``ValidationError``s name the flag (:func:`flag`), the value given and what is allowed
(``rllib_safe.cli.errors``). ``TrainOptions.settings()`` is what the config builder
(``rllib_safe.runs.config.build_config``) gets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Algorithm-specific flags and the ``--algo`` names they apply to.
ALGORITHM_FLAGS: dict[str, tuple[str, ...]] = {
    "slack_upper": ("pcrpo",),
    "slack_lower": ("pcrpo",),
    "conflict_angle": ("pcrpo",),
    "reward_weight": ("pcrpo",),
    "actor_step": ("pcrpo", "crpo"),
    "modulation_base": ("smpo",),
}

#: Resource flags: config settings of the same name.
RESOURCE_FLAGS = ("num_env_runners", "num_envs_per_env_runner", "num_learners", "num_gpus_per_learner")

#: Flags that shape the algorithm's config; a resumed run keeps its checkpoint's config.
CONFIG_FLAGS = (
    "algo", "env", "cost_limit", "seed", "num_env_runners", "num_envs_per_env_runner",
    "num_learners", "num_gpus_per_learner", "allow_gpu_fallback", "cluster_placement",
    "rollouts_on_gpu_nodes", "overrides", "preset", *ALGORITHM_FLAGS,
)


def flag(field: str) -> str:
    """The command-line spelling of a model field (``cost_limit`` -> ``--cost-limit``)."""
    return {"overrides": "--set", "checkpoint": "CHECKPOINT"}.get(field, "--" + field.replace("_", "-"))


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


class TrainOptions(BaseModel):
    """`rllib-safe train`: what to train, for how long, on which resources, where to write."""

    model_config = ConfigDict(extra="forbid")

    algo: str = "ppo"
    env: str = "SafetyPointGoal1-v0"
    cost_limit: float | None = Field(None, ge=0, allow_inf_nan=False)
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
    actor_step: Literal["trust_region", "first_order"] | None = None
    modulation_base: float | None = None
    dashboard: bool = False
    verbose: bool = False

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

    def settings(self) -> dict[str, Any]:
        """Config settings (``build_config``'s): cost limit, resources and algorithm flags given, then ``--set``.

        The preset is not included: ``build_config`` applies it first, so all of these override it.
        """
        given = {name: getattr(self, name) for name in ("cost_limit", *RESOURCE_FLAGS, *ALGORITHM_FLAGS)}
        settings = {name: value for name, value in given.items() if value is not None}
        if self.allow_gpu_fallback:
            settings["allow_gpu_fallback"] = True
        return settings | self.overrides

    def placement(self):
        """The cluster placement asked for (``--cluster-placement``), or None; learners not given
        are the algorithm's defaults."""
        from rllib_safe.algorithms import default_config
        from rllib_safe.runs.config import Placement

        if not self.cluster_placement:
            return None
        defaults = default_config(self.algo)
        return Placement(
            num_learners=defaults.num_learners if self.num_learners is None else self.num_learners,
            num_gpus_per_learner=(
                defaults.num_gpus_per_learner if self.num_gpus_per_learner is None else self.num_gpus_per_learner
            ),
            rollouts_on_gpu_nodes=self.rollouts_on_gpu_nodes,
        )


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
