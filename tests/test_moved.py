"""Old module paths keep loading through rllib_safe._moved's one table, or fail naming the version
that wrote them."""

from __future__ import annotations

import importlib
import inspect
import pickle
import sys

import pytest

import rllib_safe
from rllib_safe._moved import MOVED, version_tuple
from rllib_safe.speed.env_runner import SafeEnvRunner


def a_global_of(module):
    """A class (else a function) the module defines: what a pickle names by module path."""
    defined = [v for _, v in sorted(vars(module).items()) if getattr(v, "__module__", None) == module.__name__]
    return next(v for v in defined if inspect.isclass(v) or inspect.isfunction(v))


def old_global(old_path: str, name: str) -> bytes:
    """A pickle (protocol 0) of the global ``old_path.name``: what a checkpoint written before the move holds."""
    return b"c" + old_path.encode() + b"\n" + name.encode() + b"\n."


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_path_is_the_moved_module_and_unpickles_what_it_defines(old):
    new = importlib.import_module(MOVED[old].new)
    assert importlib.import_module(old) is new
    assert new.__spec__.name == new.__name__ == MOVED[old].new  # the module keeps its own identity
    value = a_global_of(new)
    assert pickle.loads(old_global(old, value.__name__)) is value


def test_a_config_pickled_under_an_old_path_restores():
    """A pickled config entry, its class written under the old module path (text protocol, one GLOBAL line)."""
    data = pickle.dumps({"env_runner_cls": SafeEnvRunner}, protocol=0)
    old = data.replace(b"rllib_safe.speed.env_runner\n", b"rllib_safe.envs.env_runner\n")
    assert old != data
    assert pickle.loads(old) == {"env_runner_cls": SafeEnvRunner}


def test_past_its_removal_an_old_path_names_the_version_that_wrote_it(monkeypatch):
    old = "rllib_safe.envs.env_runner"
    monkeypatch.setattr(rllib_safe, "__version__", MOVED[old].removed_in)
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.raises(ModuleNotFoundError, match=rf"written by rllib-safe {MOVED[old].written_by}") as error:
        pickle.loads(old_global(old, "SafeEnvRunner"))
    assert MOVED[old].new in str(error.value) and MOVED[old].removed_in in str(error.value)


def test_every_alias_is_still_due():
    """An entry past its removal version only fails; delete it once no one needs the message."""
    for old, moved in MOVED.items():
        assert version_tuple(rllib_safe.__version__) < version_tuple(moved.removed_in), old
        assert importlib.util.find_spec(moved.new) is not None, moved.new


def test_other_paths_are_not_aliased():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("rllib_safe.no_such_module")
