"""Old module paths that checkpoints pickle, each with its new place and the version that removes it.

An Algorithm checkpoint pickles its config, and the config names classes by their module path:
``env_runner_cls`` (``SafeEnvRunner``), ``callbacks_class``, the connector pieces of the
EnvRunners' pipelines (``MeanStdFilter``, ``StackedObservations``, ``ActionsForVectorEnv``). A
module that moves stays importable under its old path through :data:`MOVED`: the old path is the
new module itself (``old.SafeEnvRunner is new.SafeEnvRunner``), so those checkpoints restore as
before. Once ``rllib_safe.__version__`` reaches an entry's ``removed_in``, importing the old path
fails with an error that names the versions that wrote such checkpoints and the module's new path.

The finder is installed by ``rllib_safe/__init__.py``, so every process that unpickles an
``rllib_safe.*`` path (the driver, EnvRunners, learners) has it before the first submodule import.
This is the one place for such aliases: a module that moves gets a line here, not a shim file.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import NamedTuple


class Moved(NamedTuple):
    new: str  #: the module's path now
    written_by: str  #: the versions whose checkpoints pickle the old path
    removed_in: str  #: from this version on, the old path fails with a message instead of loading


MOVED: dict[str, Moved] = {
    # The cost callback left the package root for the cost pipeline.
    "rllib_safe.callbacks": Moved("rllib_safe.connectors.safety_metrics_callback", "0.1.0", "0.3.0"),
    # The speed layer got a package of its own (rllib_safe.speed).
    "rllib_safe.algorithms.safe_ppo.fast_update": Moved("rllib_safe.speed.update", "0.1.0", "0.3.0"),
    "rllib_safe.connectors.sampling": Moved("rllib_safe.speed.sampling_connectors", "0.1.0", "0.3.0"),
    "rllib_safe.envs.env_runner": Moved("rllib_safe.speed.env_runner", "0.1.0", "0.3.0"),
    "rllib_safe.envs.vector_env": Moved("rllib_safe.speed.vector_env", "0.1.0", "0.3.0"),
    "rllib_safe.core.minibatches": Moved("rllib_safe.speed.minibatches", "0.1.0", "0.3.0"),
    "rllib_safe.core.optim": Moved("rllib_safe.speed.optim", "0.1.0", "0.3.0"),
}


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.10.1"`` -> ``(0, 10, 1)`` (release numbers only; a suffix such as ``.dev0`` is dropped)."""
    parts = []
    for part in version.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def removal_message(old: str, moved: Moved, version: str) -> str:
    return (
        f"Module {old!r} moved to {moved.new!r}, and rllib-safe {moved.removed_in} removed its old path "
        f"(this is rllib-safe {version}). Checkpoints that name it were written by rllib-safe {moved.written_by}: "
        f"restore them with that version, or with one before {moved.removed_in}."
    )


class _AliasLoader(importlib.abc.Loader):
    """Loads an old path as the module at its new path (the same module object)."""

    def __init__(self, new: str) -> None:
        self.new = new
        self._new_spec = None

    def create_module(self, spec):
        module = importlib.import_module(self.new)
        self._new_spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        # The import system set the alias's spec on the module it got: the module keeps its own.
        module.__spec__ = self._new_spec


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the old paths of :data:`MOVED` (and nothing else)."""

    def find_spec(self, fullname, path=None, target=None):
        moved = MOVED.get(fullname)
        if moved is None:
            return None
        import rllib_safe

        if version_tuple(rllib_safe.__version__) >= version_tuple(moved.removed_in):
            raise ModuleNotFoundError(removal_message(fullname, moved, rllib_safe.__version__), name=fullname)
        return importlib.util.spec_from_loader(fullname, _AliasLoader(moved.new))


def install() -> None:
    """Puts the finder first on ``sys.meta_path`` (once per process)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
