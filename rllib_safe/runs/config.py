"""The one place an algorithm config is built from settings: `train`, sweeps and benchmarks.

A setting is any keyword of the config's builder methods (``training``, ``env_runners``,
``learners``, ``resources``, ...), the names RLlib documents: ``lr``, ``cost_limit``,
``num_env_runners``, ``num_gpus_per_learner``. :func:`build_config` routes each to its method,
so ``rllib-safe train --set num_env_runners=2``, a sweep spec's ``training: {num_env_runners: 2}``
and a benchmark's settings dict all mean the same and fail the same way on a name that is not a
setting (the message names it and the close names). Cluster placement (``Placement``) is part of
building the config, not of the cluster helpers.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: AlgorithmConfig methods whose keyword arguments are settings, in the order they are applied
#: (a name two methods take goes to the first).
SETTING_METHODS = (
    "training", "env_runners", "learners", "resources", "environment", "debugging",
    "fault_tolerance", "reporting", "checkpointing", "evaluation", "rl_module", "framework",
)

#: Custom resource of the CPU worker nodes of ``cluster/``, asked for by every EnvRunner.
ROLLOUT_RESOURCE = "rollout"
#: Custom resource of the GPU worker nodes of ``cluster/``, asked for by every GPU learner.
LEARNER_GPU_RESOURCE = "learner_gpu"


class ConfigError(ValueError):
    """Settings that do not make a valid config; the message names the setting and what is allowed."""


def check_known_keys(keys: Iterable[str], known: Iterable[str], what: str) -> None:
    """ConfigError for the first key not in ``known``, listing the close names."""
    known = sorted(known)
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3)
            hint = f" Close names: {', '.join(close)}." if close else ""
            raise ConfigError(f"`{key}` is not {what}.{hint}")


def setting_parameters(config) -> dict[str, tuple[str, Any]]:
    """Every setting name of ``config`` -> the builder method that takes it and the parameter's type
    annotation (``inspect.Parameter.empty`` where it has none or it cannot be resolved)."""
    parameters: dict[str, tuple[str, Any]] = {}
    for method_name in SETTING_METHODS:
        for cls in type(config).__mro__:
            method = cls.__dict__.get(method_name)
            if method is None:
                continue
            hints = resolved_annotations(method)
            for name, parameter in inspect.signature(method).parameters.items():
                if parameter.kind is inspect.Parameter.KEYWORD_ONLY or (
                    name != "self" and parameter.default is not inspect.Parameter.empty
                ):
                    parameters.setdefault(name, (method_name, hints.get(name, parameter.annotation)))
    # Old names of renamed settings (rllib_safe.renamed) go where the new names go.
    for old, new in getattr(config, "renamed_settings", dict)().items():
        if new in parameters:
            parameters.setdefault(old, parameters[new])
    return parameters


def resolved_annotations(method) -> dict[str, Any]:
    """``method``'s type hints with string annotations resolved (``from __future__ import annotations``);
    empty where one of them cannot be (RLlib's forward references), then the raw ones serve."""
    try:
        return typing.get_type_hints(method)
    except Exception:  # NameError for forward references; TypeError for odd ones
        return {}


def setting_routes(config) -> dict[str, str]:
    """Every setting name of ``config`` -> the builder method that takes it."""
    return {name: method_name for name, (method_name, _) in setting_parameters(config).items()}


def setting_names(algo: str) -> set[str]:
    """The settings ``build_config`` accepts for the algorithm named ``algo``."""
    from rllib_safe.algorithms import default_config

    return set(setting_routes(default_config(algo)))


def check_env_id(env_id: str) -> None:
    """UnknownEnvError (with close ids) unless ``env_id`` is a registered env (Tune or gymnasium)."""
    import gymnasium as gym

    from rllib_safe.envs import UnknownEnvError, known_env_ids, register_envs
    from rllib_safe.rllib_private import is_registered_env

    register_envs()
    if not (is_registered_env(env_id) or env_id in gym.registry):
        raise UnknownEnvError(env_id, [*known_env_ids(), *gym.registry])


@dataclass(frozen=True)
class Placement:
    """Where the parts of a training run go on a cluster built from ``cluster/``.

    CPU worker nodes carry the custom resource ``rollout`` and GPU worker nodes
    ``learner_gpu`` (1000 units each, a marker that never limits; CPUs and GPUs do).
    EnvRunners ask for one ``rollout`` unit, so they never land on a GPU node (nor on the
    head) unless allowed; GPU learners ask for one ``learner_gpu`` unit besides their GPUs.

    Attributes:
        num_learners: Remote learner actors (at least 1 for GPU learners, so the learner
            is placed on a GPU node rather than in the driver).
        num_gpus_per_learner: GPUs per learner (0: CPU learners, placed anywhere).
        rollouts_on_gpu_nodes: Let EnvRunners use any node with free CPUs, GPU nodes
            included, instead of only the ``rollout`` nodes.
    """

    num_learners: int = 1
    num_gpus_per_learner: float = 1.0
    rollouts_on_gpu_nodes: bool = False


def apply_placement(config, placement: Placement = Placement()):
    """Sets EnvRunner and learner resources on an AlgorithmConfig; returns the config."""
    from rllib_safe.checks import check_range

    check_range("num_gpus_per_learner", placement.num_gpus_per_learner, 0.0, float("inf"))
    if type(placement.num_learners) is not int or placement.num_learners < 0:
        raise ConfigError(f"`num_learners` = {placement.num_learners!r} is invalid: it must be an int >= 0.")
    if placement.num_gpus_per_learner > 0 and placement.num_learners < 1:
        raise ConfigError(
            f"`num_learners` = {placement.num_learners} is invalid with num_gpus_per_learner = "
            f"{placement.num_gpus_per_learner}: GPU learners must be remote actors "
            "(num_learners >= 1) to be placed on the GPU nodes."
        )

    env_runner_resources = dict(config.custom_resources_per_env_runner)
    env_runner_resources.pop(ROLLOUT_RESOURCE, None)
    if not placement.rollouts_on_gpu_nodes:
        env_runner_resources[ROLLOUT_RESOURCE] = 1
    learner_resources = dict(config.custom_resources_per_learner or {})
    learner_resources.pop(LEARNER_GPU_RESOURCE, None)
    if placement.num_gpus_per_learner > 0:
        learner_resources[LEARNER_GPU_RESOURCE] = 1

    config.env_runners(num_gpus_per_env_runner=0, custom_resources_per_env_runner=env_runner_resources)
    config.learners(
        num_learners=placement.num_learners,
        num_gpus_per_learner=placement.num_gpus_per_learner,
        custom_resources_per_learner=learner_resources,
    )
    return config


#: Settings RLlib also takes as a schedule, ``[[timestep, value], ...]`` (validated by its ``Scheduler``),
#: whether or not their type annotation says so (``entropy_coeff``'s does not).
SCHEDULE_SETTINGS = ("lr", "entropy_coeff")

#: What a value of each kind (``value_kind``) is called in a message.
KIND_NAMES = {"bool": "true or false", "number": "a number", "string": "a string", "list": "a list",
              "dict": "a mapping"}


def value_kind(value: Any) -> str | None:
    """The kind of a setting's value as YAML gives it (bool, number, string, list, dict); None for others."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    return "dict" if isinstance(value, Mapping) else None


def annotation_kinds(annotation: Any) -> set[str] | None:
    """The kinds of value a type annotation allows (``Union[float, List[...]]`` -> number, list); None
    where it allows anything (``Any``). Types YAML cannot give (classes, callables) add nothing."""
    if annotation is Any:
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return {value_kind(value) for value in typing.get_args(annotation)} - {None}
    if origin in (typing.Union, types.UnionType):
        kinds: set[str] = set()
        for member in typing.get_args(annotation):
            member_kinds = annotation_kinds(member)
            if member_kinds is None:
                return None
            kinds |= member_kinds
        return kinds
    base = origin or annotation
    if base is bool:
        return {"bool"}
    if base in (int, float):
        return {"number"}
    if base is str:
        return {"string"}
    if base in (list, tuple):
        return {"list"}
    return {"dict"} if base in (dict, Mapping) else set()


def setting_value_problem(name: str, default: Any, annotation: Any, value: Any) -> str | None:
    """What is wrong with ``value`` for setting ``name`` with this default and type annotation, or None.

    The kinds allowed are the default's and the annotation's, and a list for the settings that
    take a schedule (``lr``: a number or a list). Left to the config's own checks: None values,
    settings whose default is None or of a kind YAML cannot give, and annotations that allow anything.
    """
    default_kind, allowed_by_annotation = value_kind(default), annotation_kinds(annotation)
    if value is None or default_kind is None or allowed_by_annotation is None:
        return None
    allowed = {default_kind} | allowed_by_annotation | ({"list"} if name in SCHEDULE_SETTINGS else set())
    if value_kind(value) in allowed:
        return None
    names = [KIND_NAMES[kind] for kind in KIND_NAMES if kind in allowed]
    return f"takes {' or '.join(names)} (default {default!r})"


def quoted_setting(name: str, value: Any) -> str:
    """How a setting and its value are named in a message: ```lr` = 'abc'``."""
    return f"`{name}` = {value!r}"


def check_setting_values(config, settings: Mapping[str, Any],
                         describe: Callable[[str, Any], str] = quoted_setting) -> None:
    """ConfigError for the first setting whose value is not of a kind its default or its type annotation
    allows (a string for a number, ...), before the config's methods turn it into an obscure error.

    ``describe(name, value)`` names the setting and value in the message (``--set lr='abc'``).
    Names that are not settings are left to ``check_known_keys``.
    """
    parameters = setting_parameters(config)
    for name, value in settings.items():
        if name not in parameters:
            continue
        problem = setting_value_problem(name, setting_default(config, name), parameters[name][1], value)
        if problem:
            raise ConfigError(f"{describe(name, value)}: {name} {problem}.")


def setting_default(config, name: str) -> Any:
    """The config's current value of setting ``name``; None where it has no attribute of that name (or a
    deprecated one that raises)."""
    try:
        return getattr(config, name, None)
    except Exception:  # RLlib's deprecated attributes raise ValueError
        return None


def apply_settings(config, settings: Mapping[str, Any], what: str):
    """Routes each setting to the builder method that takes it; ConfigError on an unknown name or a value
    of the wrong kind (``check_setting_values``)."""
    routes = setting_routes(config)
    check_known_keys(settings, routes, what)
    check_setting_values(config, settings)
    by_method: dict[str, dict[str, Any]] = {}
    for name, value in settings.items():
        by_method.setdefault(routes[name], {})[name] = value
    for method_name in SETTING_METHODS:
        if method_name in by_method:
            getattr(config, method_name)(**by_method[method_name])
    return config


def build_config(
    algo: str,
    env: str | None = None,
    settings: Mapping[str, Any] | None = None,
    *,
    preset: str | None = None,
    env_config: Mapping[str, Any] | None = None,
    seed: int | None = None,
    placement: Placement | None = None,
):
    """The validated config of ``algo`` on ``env``: its defaults, the preset, then ``settings``.

    Needs no running Ray: every check (algorithm, env id, setting names and values, GPUs)
    happens here, before a run starts anything.

    Raises:
        ConfigError: an unknown algorithm or setting, or a value ``config.validate()`` refuses.
        UnknownEnvError: ``env`` is not registered.
    """
    from rllib_safe.algorithms import default_config
    from rllib_safe.algorithms.presets import preset_settings
    from rllib_safe.algorithms.safe_ppo.resources import learner_gpu_fallback

    try:
        config = default_config(algo)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if env is not None:
        check_env_id(env)
        config.environment(env, env_config=dict(env_config or {}))
    try:
        apply_settings(config, preset_settings(preset) | dict(settings or {}), f"a setting of {algo}")
        if seed is not None:
            config.debugging(seed=seed)
        if placement is not None:
            apply_placement(config, placement)
        config = learner_gpu_fallback(config)  # CPU learners, with a warning, where allowed and no GPU
        config.validate()
    except ConfigError:
        raise
    except (ValueError, TypeError) as err:
        raise ConfigError(f"invalid settings for {algo}: {err}") from None
    return config
