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

from rllib_safe.trackers import DEFAULT_PROJECT

#: Algorithm-specific flags and the ``--algo`` names they apply to.
ALGORITHM_FLAGS: dict[str, tuple[str, ...]] = {
    "slack_upper": ("pcrpo",),
    "slack_lower": ("pcrpo",),
    "conflict_angle": ("pcrpo",),
    "reward_weight": ("pcrpo",),
    "actor_step": ("pcrpo", "crpo"),
    "modulation_base": ("smpo",),
}

#: Flags that apply with a tracker's flag only.
TRACKER_FLAGS: dict[str, tuple[str, ...]] = {
    "mlflow": ("mlflow_uri", "mlflow_experiment"),
    "wandb": ("wandb_project", "wandb_mode"),
}

#: Resource flags: config settings of the same name.
RESOURCE_FLAGS = ("num_env_runners", "num_envs_per_env_runner", "num_learners", "num_gpus_per_learner")

#: Flags that shape the algorithm's config; a resumed run keeps its checkpoint's config.
CONFIG_FLAGS = (
    "algo", "env", "cost_limit", "seed", "num_env_runners", "num_envs_per_env_runner",
    "num_learners", "num_gpus_per_learner", "allow_gpu_fallback", "cluster_placement",
    "rollouts_on_gpu_nodes", "overrides", "preset", *ALGORITHM_FLAGS,
)


#: Flags whose default is the algorithm config's own (None in ``TrainOptions``: not given).
CONFIG_DEFAULT_FLAGS = ("cost_limit", *RESOURCE_FLAGS, *ALGORITHM_FLAGS)


def format_default(value: Any) -> str:
    """A default as the help shows it: ``25``, ``0.5``, ``trust_region``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def config_default_text(field: str) -> str:
    """``default: the algorithm config's (5)``, read from the config class of every algorithm the flag
    applies to (each named where they differ), so the help stays true when a config's default changes."""
    from rllib_safe.algorithms import ALGORITHMS, default_config

    defaults = {algo: format_default(getattr(default_config(algo), field))
                for algo in ALGORITHM_FLAGS.get(field, tuple(ALGORITHMS))}
    if len(set(defaults.values())) == 1:
        return f"default: the algorithm config's ({next(iter(defaults.values()))})"
    return "default: the algorithm config's (" + ", ".join(f"{algo} {value}" for algo, value in defaults.items()) + ")"


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
    """`rllib-safe train`: what to train, for how long, on which resources, where to write.

    Each field's ``description`` is its flag's help text (:meth:`help_text` adds the default).
    """

    model_config = ConfigDict(extra="forbid")

    algo: str = Field("ppo", description="algorithm: ppo, ppo-lag, crpo, pcrpo or smpo")
    env: str = Field("SafetyPointGoal1-v0", description="env id")
    cost_limit: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="episode cost budget d (docs/algorithms.md)"
    )
    timesteps: int = Field(
        200_000, gt=0, description="total env steps; training runs whole iterations (train_batch_size_per_learner "
        "env steps per learner each), so it stops at the first iteration that reaches it"
    )
    seed: int = Field(0, ge=0, description="random seed")
    run_dir: Path | None = Field(None, description="run directory; default: runs/<algo>-<env>-seed<seed>-<time>")
    address: str | None = Field(
        None, description="Ray cluster address ('auto' for a running one); default: RAY_ADDRESS, else a local "
        "embedded Ray instance"
    )
    num_env_runners: int | None = Field(None, ge=0, description="EnvRunner actors sampling in parallel (0: the "
                                        "driver samples)")
    num_envs_per_env_runner: int | None = Field(None, ge=1, description="envs each EnvRunner steps as one "
                                                "vector env")
    num_learners: int | None = Field(None, ge=0, description="remote learner actors (0: the driver learns)")
    num_gpus_per_learner: float | None = Field(None, ge=0, description="GPUs per learner (fractions share one)")
    allow_gpu_fallback: bool = Field(False, description="train the learners on CPU when the requested GPUs are "
                                     "missing")
    cluster_placement: bool = Field(False, description="EnvRunners only on 'rollout' nodes, GPU learners only on "
                                    "'learner_gpu' nodes")
    rollouts_on_gpu_nodes: bool = Field(False, description="with --cluster-placement: let EnvRunners use GPU nodes' "
                                        "CPUs too")
    checkpoint_every: int = Field(10, ge=0, description="iterations between checkpoints (0: at the end only; "
                                  "--resume keeps the run's own)")
    resume: Path | None = Field(None, description="run directory or checkpoint to continue from, up to --timesteps")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="any config setting (training, env_runners, learners, resources ...: "
        "lr, num_epochs, num_env_runners), value parsed as YAML (repeatable)"
    )
    preset: str | None = Field(None, description="named training settings, e.g. omnisafe (OmniSafe's on-policy "
                               "schedule, rllib_safe/algorithms/presets.py); flags and --set override it")
    slack_upper: float | None = Field(None, description="h+ >= 0: cost-only steps while J_c > d + h+")
    slack_lower: float | None = Field(None, description="h- <= 0: reward-only steps while J_c < d + h-")
    conflict_angle: float | None = Field(None, description="theta* in degrees, (0, 180]: between the slack bounds "
                                         "the gradients are projected onto each other's normal plane when their "
                                         "angle exceeds it")
    reward_weight: float | None = Field(None, description="x_r in [0, 1]: the reward gradient's weight between "
                                        "the slack bounds; the cost's is 1 - x_r")
    actor_step: Literal["trust_region", "first_order"] | None = Field(
        None, description="PCRPO and CRPO: trust_region or first_order"
    )
    modulation_base: float | None = Field(None, description="b > 1 of the modulation f(x) = (1 - b^(x - d')) / "
                                          "(1 - b^(-d'))")
    dashboard: bool = Field(False, description="serve the Ray dashboard of the local Ray instance on 127.0.0.1 and "
                            "print its URL")
    verbose: bool = Field(False, description="show Ray's and RLlib's own log lines and warnings too")
    mlflow: bool = Field(False, description="log the run to MLflow: config as params, every result per iteration, "
                         "the run's files as artefacts (needs rllib-safe[mlflow]; view with `mlflow ui`)")
    mlflow_uri: str | None = Field(None, description="with --mlflow: the tracking URI (default: MLFLOW_TRACKING_URI, "
                                   "else MLflow's own sqlite:///mlflow.db in the working directory)")
    mlflow_experiment: str | None = Field(None, min_length=1, description="with --mlflow: the experiment; default: "
                                          f"{DEFAULT_PROJECT}")
    wandb: bool = Field(False, description="log the run to Weights & Biases, files under RUN_DIR/wandb "
                        "(needs rllib-safe[wandb])")
    wandb_project: str | None = Field(None, min_length=1, description="with --wandb: the project; default: "
                                                                      f"{DEFAULT_PROJECT}")
    wandb_mode: Literal["online", "offline"] | None = Field(
        None, description="with --wandb: online (needs `wandb login`) or offline (`wandb sync` later); default: "
        "WANDB_MODE, else online")

    @classmethod
    def help_text(cls, name: str) -> str:
        """The help text of field ``name``'s flag: its description and the default it states, read from the
        model or, for settings of the algorithm's config, from the config classes."""
        field = cls.model_fields[name]
        if name in CONFIG_DEFAULT_FLAGS:
            default = config_default_text(name)
        elif field.default is None or field.default is False or field.default_factory is not None:
            default = None
        else:
            default = f"default: {field.default}"
        return f"{field.description}; {default}" if default else str(field.description)

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
        for tracker, fields in TRACKER_FLAGS.items():
            given = [flag(name) for name in fields if getattr(self, name) is not None]
            if given and not getattr(self, tracker):
                raise ValueError(f"{', '.join(given)} applies with {flag(tracker)} only.")
        if self.resume is not None:
            given = sorted(flag(name) for name in set(CONFIG_FLAGS) & self.model_fields_set)
            if given:
                raise ValueError(
                    f"--resume continues with the checkpoint's config; drop {', '.join(given)}."
                )
        return self

    def tracking(self):
        """The experiment trackers asked for (``rllib_safe.trackers.TrackingSettings``)."""
        from rllib_safe.trackers import MLflowSettings, TrackingSettings, WandbSettings

        def given(**values):
            return {name: value for name, value in values.items() if value is not None}

        return TrackingSettings(
            mlflow=MLflowSettings(**given(tracking_uri=self.mlflow_uri, experiment=self.mlflow_experiment))
            if self.mlflow else None,
            wandb=WandbSettings(**given(project=self.wandb_project, mode=self.wandb_mode)) if self.wandb else None,
        )

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
