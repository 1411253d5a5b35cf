"""Runtime compatibility layer: safety-gymnasium 1.0.0 on gymnasium 1.x, numpy >= 2.4, Python 3.11.

safety-gymnasium 1.0.0 is installed with ``--no-deps`` (its pins conflict with ray[rllib]).
:func:`apply` patches, in memory only and idempotently, the six incompatibilities listed in
``docs/environments.md``:

1. gymnasium 1.x removed ``gymnasium.wrappers.{compatibility,autoreset,env_checker,time_limit,
   normalize}``: stand-in modules map the old names to the 1.x classes. Without
   ``gymnasium_robotics`` the multi-agent module is replaced by one that raises
   :class:`~rllib_safe.envs.errors.UnsupportedEnvError`.
2. ``EnvSpec`` lost ``autoreset`` / ``apply_api_compatibility``: accepted and dropped on
   construction, read as ``False``.
3. numpy arrays are not valid dataclass defaults on Python >= 3.11: the arrays of
   ``safety_gymnasium.assets.color.COLOR`` become read-only hashable arrays right after that
   module executes (an import hook), before any task module uses them.
4. numpy >= 2.4 does not turn 1-element arrays into numbers: the two call sites in
   ``BaseAgent`` (``model.jnt(objid)`` and ``float(sensor)``) get scalar conversions.
5. gymnasium 1.x's ``OffScreenViewer`` needs width and height: they default to the model's
   offscreen buffer size, which safety-gymnasium sets right before creating the viewer.
6. ``BaseAgent._build_action_space`` passes float32 bounds to a float64 ``Box``; gymnasium 1.x
   compares them with float64's range, which numpy 2 casts to float32 and warns
   ("RuntimeWarning: overflow encountered in cast", every navigation env). The bounds are
   widened to float64 first: the same space, no warning.

Everything is added beside gymnasium's own code paths; gymnasium's envs behave as before.
Nothing on disk changes.
"""

from __future__ import annotations

import builtins
import functools
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np

_applied = False


def apply() -> None:
    """Patch everything and import ``safety_gymnasium`` (registering its ids). Idempotent."""
    global _applied  # noqa: PLW0603 - process-wide one-time switch
    if _applied:
        return
    _install_removed_wrapper_modules()
    _patch_env_spec()
    _stub_multi_agent_if_unavailable()
    with _post_import_hook("safety_gymnasium.assets.color", _freeze_colors):
        import safety_gymnasium  # noqa: F401 - registers the ids
        import safety_gymnasium.builder  # noqa: F401 - loads every task module (uses COLOR)
    _patch_agent_scalars()
    _patch_action_space()
    _patch_offscreen_viewer()
    _applied = True


# 1. removed gymnasium.wrappers submodules --------------------------------------------------


def _install_removed_wrapper_modules() -> None:
    from gymnasium import wrappers
    from gymnasium.wrappers.utils import RunningMeanStd

    def _env_compatibility(*_args: Any, **_kwargs: Any) -> None:
        raise NotImplementedError("the gymnasium 0.x EnvCompatibility wrapper does not exist in 1.x")

    stand_ins = {
        "compatibility": {"EnvCompatibility": _env_compatibility},
        "autoreset": {"AutoResetWrapper": wrappers.Autoreset},
        "env_checker": {"PassiveEnvChecker": wrappers.PassiveEnvChecker},
        "time_limit": {"TimeLimit": wrappers.TimeLimit},
        "normalize": {
            "NormalizeObservation": wrappers.NormalizeObservation,
            "NormalizeReward": wrappers.NormalizeReward,
            "RunningMeanStd": RunningMeanStd,
        },
    }
    for short, names in stand_ins.items():
        name = f"gymnasium.wrappers.{short}"
        if name in sys.modules or importlib.util.find_spec(name) is not None:
            continue
        module = types.ModuleType(name, f"rllib_safe stand-in for the removed {name}")
        module.__dict__.update(names)
        sys.modules[name] = module


# 2. EnvSpec kwargs --------------------------------------------------------------------------

_DROPPED_SPEC_FIELDS = ("autoreset", "apply_api_compatibility")


def _patch_env_spec() -> None:
    from gymnasium.envs.registration import EnvSpec

    if getattr(EnvSpec.__init__, "_rllib_safe", False):
        return
    original = EnvSpec.__init__

    @functools.wraps(original)
    def __init__(self: EnvSpec, *args: Any, **kwargs: Any) -> None:
        for field in _DROPPED_SPEC_FIELDS:
            kwargs.pop(field, None)
        original(self, *args, **kwargs)

    __init__._rllib_safe = True  # type: ignore[attr-defined]
    EnvSpec.__init__ = __init__
    for field in _DROPPED_SPEC_FIELDS:
        if not hasattr(EnvSpec, field):
            setattr(EnvSpec, field, False)


# 1b. multi-agent envs without gymnasium_robotics -------------------------------------------


def _stub_multi_agent_if_unavailable() -> None:
    from rllib_safe.envs.errors import UnsupportedEnvError

    name = "safety_gymnasium.tasks.safe_multi_agent.safe_mujoco_multi"
    if name in sys.modules or importlib.util.find_spec("gymnasium_robotics") is not None:
        return

    def unsupported(*_args: Any, **_kwargs: Any) -> None:
        raise UnsupportedEnvError(
            "safety-gymnasium multi-agent envs are unsupported by rllib_safe "
            "(they need gymnasium_robotics, which is not installed with the current stack)"
        )

    module = types.ModuleType(name, "rllib_safe stand-in: multi-agent envs unsupported")
    module.make_ma = module.SafeMAEnv = unsupported
    sys.modules[name] = module


# 3. hashable colors -------------------------------------------------------------------------


class _Color(np.ndarray):
    """Read-only RGBA array that is hashable, so dataclasses accept it as a default."""

    __hash__ = object.__hash__


def _freeze_colors(module: types.ModuleType) -> None:
    for key, value in module.COLOR.items():
        frozen = np.array(value).view(_Color)
        frozen.flags.writeable = False
        module.COLOR[key] = frozen


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Runs ``patch(module)`` right after the module named ``name`` executes."""

    def __init__(self, name: str, patch: Callable[[types.ModuleType], None]) -> None:
        self.name, self.patch = name, patch

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module: types.ModuleType) -> None:
            exec_module(module)
            self.patch(module)

        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


class _post_import_hook:  # noqa: N801 - used as a context manager
    def __init__(self, name: str, patch: Callable[[types.ModuleType], None]) -> None:
        self.finder = _PostImportFinder(name, patch)

    def __enter__(self) -> None:
        sys.meta_path.insert(0, self.finder)

    def __exit__(self, *_exc: object) -> None:
        sys.meta_path.remove(self.finder)


# 4. numpy >= 2.4 scalar conversions in BaseAgent -------------------------------------------


def _scalar(value: Any) -> Any:
    """The Python number inside a scalar or 1-element array."""
    return np.asarray(value).item()


class _ScalarIndexModel:
    """``MjModel`` view whose ``jnt()`` accepts the 1-element id arrays mujoco returns."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def jnt(self, index: Any) -> Any:
        return self._model.jnt(index if isinstance(index, str) else int(_scalar(index)))


def _patch_agent_scalars() -> None:
    from safety_gymnasium.bases import base_agent

    agent_cls = base_agent.BaseAgent
    if getattr(agent_cls._init_jnt_sensors, "_rllib_safe", False):
        return
    original = agent_cls._init_jnt_sensors

    @functools.wraps(original)
    def _init_jnt_sensors(self: Any) -> None:
        engine = self.engine
        self.engine = types.SimpleNamespace(model=_ScalarIndexModel(engine.model), data=engine.data)
        try:
            original(self)
        finally:
            self.engine = engine

    _init_jnt_sensors._rllib_safe = True  # type: ignore[attr-defined]
    agent_cls._init_jnt_sensors = _init_jnt_sensors
    # obs_sensor's `float(self.get_sensor(hinge))`: a module-level `float` shadows the builtin
    # in base_agent only, accepting the 1-element sensor array.
    base_agent.float = lambda value=0.0: builtins.float(_scalar(value))


# 5. offscreen viewer size -------------------------------------------------------------------


def _patch_offscreen_viewer() -> None:
    from gymnasium.envs.mujoco.mujoco_rendering import OffScreenViewer
    from safety_gymnasium.bases import underlying

    if underlying.OffScreenViewer is not OffScreenViewer:
        return

    class SizedOffScreenViewer(OffScreenViewer):
        """Width and height default to the model's offscreen buffer size."""

        def __init__(self, model: Any, data: Any, width: int | None = None, height: int | None = None, **kw: Any):
            width = width or model.vis.global_.offwidth
            height = height or model.vis.global_.offheight
            super().__init__(model, data, width, height, **kw)

    underlying.OffScreenViewer = SizedOffScreenViewer


# 6. float64 action-space bounds ------------------------------------------------------------


def _patch_action_space() -> None:
    from safety_gymnasium.bases import base_agent

    agent_cls = base_agent.BaseAgent
    if getattr(agent_cls._build_action_space, "_rllib_safe", False):
        return

    def _build_action_space(self: Any) -> Any:
        # safety-gymnasium rounds the ctrlrange to float32; keep that, then widen to the dtype.
        low, high = self.engine.model.actuator_ctrlrange.astype(np.float32).astype(np.float64).T
        return base_agent.spaces.Box(low=low, high=high, dtype=np.float64)

    _build_action_space._rllib_safe = True  # type: ignore[attr-defined]
    agent_cls._build_action_space = _build_action_space
