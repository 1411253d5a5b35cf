"""Sweep specs: YAML files validated by pydantic, with errors that name the line and field.

A spec names one or more algorithms (CLI names: ``algorithm: pcrpo`` or
``algorithm: [ppo, ppo-lag, pcrpo]``), an env, a budget, seeds, fixed config settings shared by
all algorithms (``training``, ``env_runners``), settings of one algorithm only
(``per_algorithm: {pcrpo: {slack_upper: 9.0}}``) and a search space over config fields every
listed algorithm has. Each algorithm is run as its own Tune experiment (``RUN_DIR/<algorithm>``).

An axis of the search space is one field (``conflict_angle: {grid: [60, 90]}``) or several
fields that move together (``slack: {fields: [slack_upper, slack_lower], grid: [[0, 0], [.inf, 0]]}``).
``grid`` axes are crossed with each other. Random axes (``choice``, ``uniform``,
``loguniform``) are drawn once, ``num_samples`` points from a generator seeded by
``sample_seed``, and those points are crossed with the grid axes and with the seeds: every
configuration runs with every seed, so its std and 95% interval over seeds are defined.
Trials = (product of grid sizes) x num_samples x len(seeds), per algorithm.

``preset: omnisafe`` starts every algorithm's settings from a named preset
(``rllib_safe.algorithms.presets``); ``training``, ``env_runners``, ``per_algorithm`` and the
search space override its entries.

A ``search:`` block turns the sweep into a constrained search (``rllib_safe.sweeps.search``):
``num_samples`` trials whose points Tune's searcher (Optuna's TPE by default) proposes from the
random axes, early-stopped by ASHA, both maximising ``rllib_safe.sweeps.score``'s score (the
return where J_c <= d; below every feasible trial where not). Each point runs once, with the one
seed of ``seeds``; re-run the best points over several seeds with a grid sweep.

A ``tracking:`` block logs every trial to MLflow and/or Weights & Biases
(``rllib_safe.trackers.TrackingSettings``: ``tracking: {mlflow: {}, wandb: {mode: offline}}``).

A ``smoke:`` block holds overrides for a short run (entries of training, env_runners,
per_algorithm, search_space... override one by one; budget and other keys are replaced),
selected with ``--smoke``. A smoke run is named ``<name>-smoke`` unless its block gives a
``name``, so it never takes the real sweep's run directory.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rllib_safe.trackers import TrackingSettings

SPEC_FILE_NAME = "sweep_spec.yaml"


class SpecError(ValueError):
    """A spec that cannot be run; the message lists ``file:line: field: problem`` entries."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Axis(_Strict):
    """One axis of the search space: exactly one of grid, choice, uniform, loguniform."""

    fields: list[str] | None = None
    grid: list[Any] | None = None
    choice: list[Any] | None = None
    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Axis:
        kinds = [kind for kind in ("grid", "choice", "uniform", "loguniform") if getattr(self, kind) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of grid, choice, uniform, loguniform (got {kinds or 'none'})")
        values = self.values
        if kinds[0] in ("grid", "choice") and not values:
            raise ValueError(f"`{kinds[0]}` must list at least one value")
        if kinds[0] in ("uniform", "loguniform"):
            low, high = values
            if not low < high or (kinds[0] == "loguniform" and low <= 0):
                raise ValueError(f"`{kinds[0]}` = [{low}, {high}] needs low < high (and low > 0 for loguniform)")
            if self.fields is not None:
                raise ValueError("fields that move together need `grid` or `choice` (lists of tuples)")
        if self.fields is not None:
            if len(self.fields) < 2:
                raise ValueError("`fields` ties two or more config fields; use the field name as the axis name for one")
            for value in values:
                if not isinstance(value, list) or len(value) != len(self.fields):
                    raise ValueError(f"each value must be a list of {len(self.fields)} ({self.fields}); got {value!r}")
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in ("grid", "choice", "uniform", "loguniform") if getattr(self, kind) is not None)

    @property
    def is_random(self) -> bool:
        return self.kind != "grid"

    @property
    def values(self) -> Any:
        return getattr(self, self.kind)


class Budget(_Strict):
    """How long each trial trains: env steps or iterations (exactly one)."""

    timesteps: int | None = Field(None, gt=0)
    iterations: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> Budget:
        if (self.timesteps is None) == (self.iterations is None):
            raise ValueError("give exactly one of `timesteps` or `iterations`")
        return self

    def stop_criteria(self) -> dict[str, int]:
        if self.timesteps is not None:
            return {"num_env_steps_sampled_lifetime": self.timesteps}
        return {"training_iteration": self.iterations}


class Resources(_Strict):
    """Resources of one trial; Tune reserves what the algorithm's config asks for."""

    cpus_for_main_process: float = Field(1.0, ge=0)
    num_learners: int = Field(0, ge=0)
    gpus_per_learner: float = Field(0.0, ge=0)
    cpus_per_env_runner: float = Field(1.0, ge=0)

    def settings(self) -> dict[str, float | int]:
        """The same resources as config settings (``build_config``'s names)."""
        return {
            "num_cpus_for_main_process": self.cpus_for_main_process,
            "num_learners": self.num_learners,
            "num_gpus_per_learner": self.gpus_per_learner,
            "num_cpus_per_env_runner": self.cpus_per_env_runner,
        }


class Search(_Strict):
    """A constrained search instead of a grid (module docstring)."""

    algorithm: Literal["optuna", "random"] = Field(
        "optuna", description="optuna: Optuna's TPE sampler; random: independent draws (Tune's)")
    scheduler: Literal["asha", "none"] = Field("asha", description="asha: stop the lowest scores early")
    grace_period: int | None = Field(
        None, gt=0, description="budget units (env steps or iterations) before ASHA may stop a trial; "
        "default: a quarter of the budget")
    reduction_factor: float = Field(3.0, gt=1, description="ASHA keeps 1 / reduction_factor of the trials per rung")

    def grace_period_in(self, budget: Budget) -> int:
        """The grace period in the budget's unit (its default: a quarter of the budget, at least 1)."""
        total = budget.timesteps if budget.timesteps is not None else budget.iterations
        return self.grace_period if self.grace_period is not None else max(1, total // 4)


def _known_preset(name: str | None) -> str | None:
    from rllib_safe.algorithms.presets import known_preset

    return known_preset(name)


def _known_algorithm(name: str) -> str:
    from rllib_safe.algorithms import algorithm_class

    algorithm_class(name)
    return name


class SweepSpec(_Strict):
    """A validated sweep: see the module docstring and ``tune_configs/*.yaml``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    algorithm: list[Annotated[str, AfterValidator(_known_algorithm)]] = Field(min_length=1)
    env: str
    env_config: dict[str, Any] = {}
    budget: Budget
    seeds: list[int] = Field(min_length=1)
    preset: Annotated[str | None, AfterValidator(_known_preset)] = None
    training: dict[str, Any] = {}
    env_runners: dict[str, Any] = {}
    per_algorithm: dict[str, dict[str, Any]] = {}
    search_space: dict[str, Axis] = {}
    num_samples: int = Field(1, gt=0, description="points drawn from the random axes")
    sample_seed: int = Field(0, description="seeds the draw of the random axes' points")
    resources: Resources = Resources()
    stop: dict[str, float] = {}
    storage_path: str = "~/rllib_safe_results"
    max_failures: int = Field(2, ge=-1)
    checkpoint_every: int = Field(10, ge=0)
    max_concurrent_trials: int | None = Field(None, gt=0)
    final_iterations: int = Field(5, gt=0, description="K: final metrics are the mean of the last K iterations")
    search: Search | None = None
    tracking: TrackingSettings = TrackingSettings()

    @field_validator("algorithm", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        """A single algorithm is the one-element list."""
        return [value] if isinstance(value, str) else value

    @field_validator("algorithm", "seeds")
    @classmethod
    def _distinct(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError(f"entries must be distinct; got {values}")
        return values

    @model_validator(mode="after")
    def _samples_need_random_axes(self) -> SweepSpec:
        random_axes = any(axis.is_random for axis in self.search_space.values())
        if self.num_samples > 1 and not random_axes and self.search is None:  # a search's axes: _search_problems
            raise ValueError(f"num_samples = {self.num_samples} needs a choice/uniform/loguniform axis to draw from")
        return self

    @property
    def config_fields(self) -> list[str]:
        """Every config field the search space sets."""
        return [field for name, axis in self.search_space.items() for field in axis.fields or [name]]

    def settings(self, algorithm: str) -> dict[str, Any]:
        """The fixed config settings of one algorithm: shared ones, then its own (the preset is
        applied first by ``build_config``)."""
        return {**self.training, **self.env_runners, **self.per_algorithm.get(algorithm, {})}


def _mark_lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Maps every key path of a YAML node tree to its 1-based line."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines |= _mark_lines(value, path + (key.value,))
            lines[path + (key.value,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines |= _mark_lines(item, path + (index,))
    return lines


#: Blocks whose entries a ``smoke:`` block overrides one by one; other keys are replaced whole.
MERGED_BLOCKS = ("training", "env_runners", "per_algorithm", "env_config", "resources", "stop", "search_space")


def _apply_overrides(base: dict, overrides: dict) -> dict:
    merged = dict(base)
    for key, value in overrides.items():
        if key in MERGED_BLOCKS and isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


class _Locator:
    """Turns a field path into ``file:line: a.b.c`` using the YAML marks."""

    def __init__(self, path: Path, lines: dict[tuple, int]):
        self.path, self.lines = path, lines

    def __call__(self, loc: tuple) -> str:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                line = self.lines[loc[:end]]
                break
        field = ".".join(str(part) for part in loc) or "<spec>"
        return f"{self.path}:{line}: {field}"


def _shared_fields(spec: SweepSpec) -> list[tuple[tuple, str]]:
    """(location, config field) of every setting that applies to all algorithms."""
    fields = [(("training", name), name) for name in spec.training]
    fields += [(("env_runners", name), name) for name in spec.env_runners]
    for axis_name, axis in spec.search_space.items():
        if axis.fields is None:
            fields.append((("search_space", axis_name), axis_name))
        else:
            fields += [(("search_space", axis_name, "fields", i), f) for i, f in enumerate(axis.fields)]
    return fields


def _unknown_fields(spec: SweepSpec) -> list[tuple[tuple, str]]:
    """Config fields an algorithm does not have (checked per algorithm), with the closest names."""
    from rllib_safe.runs.config import setting_names

    problems = [
        (("per_algorithm", name), f"{name!r} is not in `algorithm` ({spec.algorithm})")
        for name in spec.per_algorithm
        if name not in spec.algorithm
    ]
    lacking: dict[tuple[tuple, str], list[str]] = {}  # (location, field) -> the algorithms without it
    close: dict[tuple[tuple, str], set[str]] = {}
    for algorithm in spec.algorithm:
        known = setting_names(algorithm)
        for axis_name, axis in spec.search_space.items():
            if axis.fields and axis_name in known:
                message = f"axis name {axis_name!r} is a config field; name a tied axis differently (e.g. 'slack')"
                problems.append((("search_space", axis_name), message))
        fields = _shared_fields(spec)
        fields += [(("per_algorithm", algorithm, name), name) for name in spec.per_algorithm.get(algorithm, {})]
        for loc, name in fields:
            if name not in known:
                lacking.setdefault((loc, name), []).append(algorithm)
                close.setdefault((loc, name), set()).update(difflib.get_close_matches(name, known, n=3))
    for (loc, name), algorithms in lacking.items():
        hint = f"; did you mean {', '.join(sorted(close[loc, name]))}?" if close[loc, name] else ""
        subject = f"{algorithms[0]} has" if len(algorithms) == 1 else f"{', '.join(algorithms)} have"
        problems.append((loc, f"{subject} no config field {name!r}{hint}"))
    return list(dict.fromkeys(problems))


def _search_problems(spec: SweepSpec) -> list[tuple[tuple, str]]:
    """(location, message) of what a ``search:`` block cannot run: grid or tied axes, several seeds,
    a grace period past the budget."""
    if spec.search is None:
        return []
    if not spec.search_space:
        return [(("search",), "a `search` needs a search_space of choice/uniform/loguniform axes to search")]
    problems = []
    for name, axis in spec.search_space.items():
        if not axis.is_random:
            problems.append((("search_space", name), "a `search` proposes points itself: give `choice`, `uniform` "
                             "or `loguniform` instead of `grid`"))
        if axis.fields is not None:
            problems.append((("search_space", name), f"a `search` takes one config field per axis: give each of "
                             f"{axis.fields} its own axis"))
    if len(spec.seeds) != 1:
        problems.append((("seeds",), f"a `search` runs each point once, with one seed: give one seed (got "
                         f"{spec.seeds}) and re-run the best points over several seeds with a grid sweep"))
    total = spec.budget.timesteps or spec.budget.iterations
    if spec.search.scheduler == "asha" and spec.search.grace_period_in(spec.budget) > total:
        problems.append((("search", "grace_period"), f"{spec.search.grace_period} is longer than the budget "
                         f"({total}): it must be at most the budget"))
    return problems


def load_spec(path: str | Path, *, smoke: bool = False) -> SweepSpec:
    """Reads and validates a spec (with its ``smoke:`` overrides when ``smoke``).

    Raises:
        SpecError: listing each problem as ``file:line: field: message``.
    """
    path = Path(path)
    text = path.read_text()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}:1: <spec>: a spec is a mapping of settings, got {type(data).__name__}")
    lines = _mark_lines(node)
    smoke_block = data.pop("smoke", None)
    if smoke:
        if not isinstance(smoke_block, dict):
            raise SpecError(f"{path}: smoke: --smoke needs a `smoke:` mapping of overrides in the spec")
        data = _apply_overrides(data, {"name": f"{data.get('name')}-smoke", **smoke_block})
        lines |= {key[1:]: line for key, line in lines.items() if key[:1] == ("smoke",) and len(key) > 1}
    locate = _Locator(path, lines)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        messages = [f"{locate(tuple(e['loc']))}: {e['msg']}" + (f" (got {e.get('input')!r})" if e["loc"] else "")
                    for e in err.errors()]
        raise SpecError("invalid sweep spec:\n  " + "\n  ".join(messages)) from None
    problems = _unknown_fields(spec) + _search_problems(spec)
    if problems:
        raise SpecError("invalid sweep spec:\n  " + "\n  ".join(f"{locate(loc)}: {msg}" for loc, msg in problems))
    return spec

