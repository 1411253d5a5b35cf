"""Every function of rllib_safe.rllib_private against the pinned RLlib: an upgrade that moves a
private name fails here first, with the function's name in the test. And no private RLlib name
used anywhere else in rllib_safe.

The rule the checker below applies. A *private Ray name* is a name with one leading underscore
(not a dunder) that Ray's own source of ``ray.rllib``, ``ray.tune``, ``ray.train`` and
``ray.air`` (tests and examples left out) defines: a function, method or class, an attribute or
variable it assigns, or a parameter with a default (a private keyword such as
``_no_metrics_reduce``). Outside ``rllib_safe/rllib_private.py`` no module of rllib_safe may

1. import from a private Ray module (``from ray._private... import``, ``import ray.train._internal``)
   or import a private name from any Ray module;
2. read, write or call ``x._name`` for a private Ray name ``_name``, except ``self._name``
   inside a class of rllib_safe that itself defines or assigns ``_name`` (our own attribute
   that happens to share a spelling with one of RLlib's: ``DeferredMetrics._logger``);
3. pass a private Ray name as a keyword argument (``f(_name=...)``) or accept one as a
   parameter with a default;
4. define a method named like a private Ray name (an override of a private RLlib method)
   unless ``rllib_private.PRIVATE_OVERRIDES`` lists it as ``Class.method``; its
   ``super()._name(...)`` call is part of the override.

Strings are not code: a logger name such as ``"ray._private.worker"`` is not a use. Private
names of other libraries (torch's ``_foreach_norm``, a tensor's ``_version``, safety-gymnasium's
``_init_jnt_sensors``) are not RLlib's and are not checked, unless Ray defines the same spelling;
those are allowed in :data:`NOT_RAYS` with the object they belong to.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import ray
from ray.rllib.connectors.env_to_module import MeanStdFilter
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.training_data import TrainingData

import rllib_safe
from rllib_safe import rllib_private
from rllib_safe.algorithms import default_config
from rllib_safe.envs import register_envs
from rllib_safe.runs.run_dir import find_checkpoint
from tests.algorithms.learning import small_problem_config


def test_registered_env_lookup():
    register_envs()
    assert rllib_private.is_registered_env("BudgetEnv")
    assert not rllib_private.is_registered_env("NoSuchEnv-v0")
    env = rllib_private.registered_env_creator("BudgetEnv")({"horizon": 3})
    assert env.reset(seed=0)[0].shape == env.observation_space.shape


def test_freeze_mean_std_filter_sets_rllibs_own_flag():
    """The flag RLlib reads is still called ``_update_stats`` (the freezing itself: evaluation tests)."""
    piece = MeanStdFilter(multi_agent=False)  # as SafePPOConfig builds it
    assert piece._update_stats is True
    rllib_private.freeze_mean_std_filter(piece)
    assert piece._update_stats is False


def test_trainable_default_logdir_is_tunes_module_value(tmp_path):
    from ray.tune.trainable import trainable

    before = trainable.DEFAULT_STORAGE_PATH
    with rllib_private.trainable_default_logdir(tmp_path / "logs"):
        assert trainable.DEFAULT_STORAGE_PATH == str((tmp_path / "logs").resolve())
    assert trainable.DEFAULT_STORAGE_PATH == before


@pytest.fixture(scope="module")
def algo(ray_session):
    config = small_problem_config(default_config("ppo-lag")).training(
        train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1
    )
    algorithm = config.build_algo()
    yield algorithm
    algorithm.stop()


@pytest.mark.slow
def test_sampling_state_components_and_learner_internals(algo):
    episodes, metrics = rllib_private.sample_episodes(algo)
    assert sum(len(episode) for episode in episodes) >= algo.config.total_train_batch_size and metrics

    assert rllib_private.wants_component(algo, "episode_cost_window", None, None)
    assert not rllib_private.wants_component(algo, "episode_cost_window", ["learner_group"], None)

    learner = algo.config.build_learner(env=algo.env_runner.env)
    assert rllib_private.learner_connector(learner) is not None
    batch = rllib_private.learner_train_batch(learner, TrainingData(episodes=episodes))
    module_batch = batch.policy_batches["default_policy"]
    output = rllib_private.forward_train(learner.module["default_policy"], dict(module_batch))
    assert output[Columns.ACTION_DIST_INPUTS].shape[0] == len(module_batch)


@pytest.mark.slow
def test_checkpoint_config_dict_reads_the_saved_config(algo, tmp_path):
    algo.save_to_path(str(tmp_path))
    config = rllib_private.checkpoint_config_dict(find_checkpoint(tmp_path))
    assert config["env"] == "BudgetEnv" and np.isclose(config["cost_limit"], algo.config.cost_limit)


def test_split_arrays_per_env_directly_keeps_rllibs_rows():
    from ray.rllib.env import single_agent_env_runner
    from ray.rllib.utils.spaces.space_utils import unbatch as rllib_unbatch

    rllib_private.split_arrays_per_env_directly()
    rllib_private.split_arrays_per_env_directly()  # idempotent: one wrapper, not two
    ours = single_agent_env_runner.unbatch
    assert ours.splits_arrays_directly and ours is not rllib_unbatch
    for batch in (np.arange(24.0).reshape(8, 3), np.arange(5), np.zeros((4, 2, 2), np.float32)):
        rows = ours(batch)
        expected = rllib_unbatch(batch)
        assert len(rows) == len(expected) == len(batch)
        for row, want in zip(rows, expected):
            assert type(row) is type(want)
            np.testing.assert_array_equal(row, want)
    nested = {"a": np.arange(4).reshape(2, 2), "b": (np.ones(2), np.zeros(2))}
    assert [str(row) for row in ours(nested)] == [str(row) for row in rllib_unbatch(nested)]


def test_pop_no_metrics_reduce_takes_rllibs_keyword_out():
    kwargs = {"_no_metrics_reduce": True, "num_epochs": 2}
    assert rllib_private.pop_no_metrics_reduce(kwargs) is True and kwargs == {"num_epochs": 2}
    assert rllib_private.pop_no_metrics_reduce(kwargs) is False


def test_observation_filter_and_running_stat_fields():
    import gymnasium as gym
    from ray.rllib.utils.filter import RunningStat

    piece = MeanStdFilter(multi_agent=False)
    piece.input_observation_space = gym.spaces.Box(-1.0, 1.0, (3,))  # as a pipeline sets it
    obs_filter = rllib_private.single_agent_observation_filter(piece)
    assert isinstance(obs_filter.running_stats, RunningStat)
    assert rllib_private.single_agent_observation_filter(piece) is obs_filter  # made once
    assert rllib_private.filter_updates_stats(piece)
    rllib_private.freeze_mean_std_filter(piece)
    assert not rllib_private.filter_updates_stats(piece)

    rows = np.random.default_rng(0).normal(size=(6, 3))
    pushed, set_ = RunningStat(shape=(3,)), RunningStat(shape=(3,))
    for start, stop in ((0, 2), (2, 6)):  # from no pushes, then on top of some
        for row in rows[start:stop]:
            pushed.push(row)
        rows_so_far = rows[:stop]
        mean = rows_so_far.mean(axis=0)
        rllib_private.set_running_stat_moments(set_, len(rows_so_far), mean, ((rows_so_far - mean) ** 2).sum(axis=0))
        for field in ("num_pushes", "num_pushes_delta"):
            assert getattr(set_, field) == getattr(pushed, field), field
        for field in ("mean_array", "sum_sq_diff_array", "mean_delta_array", "sum_sq_diff_delta_array"):
            np.testing.assert_allclose(getattr(set_, field), getattr(pushed, field), rtol=1e-12, err_msg=field)
    n, mean, m2 = rllib_private.running_stat_moments(pushed)
    assert n == 6 and np.allclose(mean, rows.mean(axis=0)) and np.allclose(m2, ((rows - mean) ** 2).sum(axis=0))


# --------------------------------------------------------------------------- no private RLlib name elsewhere

#: The part of Ray whose private names count (module docstring).
RAY_PACKAGES = ("rllib", "tune", "train", "air")
#: Private spellings Ray defines that rllib_safe uses for another library's object: name -> whose.
NOT_RAYS = {"_version": "torch.Tensor._version (the in-place version counter of the log-std parameter)"}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@functools.lru_cache(maxsize=1)
def ray_private_names() -> frozenset[str]:
    """Every private name Ray's rllib, tune, train and air define (module docstring)."""
    root = Path(ray.__file__).parent
    names: set[str] = set()
    for package in RAY_PACKAGES:
        for path in (root / package).rglob("*.py"):
            if {"tests", "examples"} & set(path.relative_to(root).parts):
                continue
            try:
                tree = ast.parse(path.read_bytes())
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    names.add(node.attr)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                elif isinstance(node, ast.arguments):
                    names.update(arg.arg for arg in keyword_parameters(node))
    return frozenset(name for name in names if is_private(name))


def keyword_parameters(arguments: ast.arguments) -> list[ast.arg]:
    """The parameters that have a default value."""
    positional = arguments.posonlyargs + arguments.args
    with_default = positional[len(positional) - len(arguments.defaults) :] if arguments.defaults else []
    return with_default + [arg for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults) if default]


@dataclass(frozen=True)
class Use:
    path: str
    line: int
    what: str  # import, attribute, keyword, parameter, override
    name: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} {self.name}"


class PrivateUseFinder(ast.NodeVisitor):
    """The uses of private Ray names in one module (rules 1 to 4 of the module docstring)."""

    def __init__(self, path: str, ray_names: frozenset[str], overrides) -> None:
        self.path, self.ray_names, self.overrides = path, ray_names, overrides
        self.uses: list[Use] = []
        self.overrides_found: set[str] = set()
        self._classes: list[tuple[str, set[str]]] = []  # (name, names it defines or assigns on self)
        self._functions: list[str] = []

    def _use(self, node, what: str, name: str) -> None:
        self.uses.append(Use(self.path, node.lineno, what, name))

    def _is_ray(self, name: str) -> bool:
        return is_private(name) and name in self.ray_names and name not in NOT_RAYS

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] == "ray" and any(is_private(part) for part in parts):
                self._use(node, "import", alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        parts = (node.module or "").split(".")
        if parts[0] != "ray" or node.level:
            return
        if any(is_private(part) for part in parts):
            self._use(node, "import", node.module)
        for alias in node.names:
            if is_private(alias.name):
                self._use(node, "import", f"{node.module}.{alias.name}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        own = {stmt.name for stmt in node.body if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) and is_self(sub.value):
                own.add(sub.attr)
            elif isinstance(sub, (ast.Assign, ast.AnnAssign)) and sub in node.body:
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                own.update(target.id for target in targets if isinstance(target, ast.Name))
        self._classes.append((node.name, own))
        self.generic_visit(node)
        self._classes.pop()

    def visit_FunctionDef(self, node) -> None:
        if self._classes and self._is_ray(node.name):
            qualified = f"{self._classes[-1][0]}.{node.name}"
            if qualified in self.overrides:
                self.overrides_found.add(qualified)
            else:
                self._use(node, "override", qualified)
        for arg in keyword_parameters(node.args):
            if self._is_ray(arg.arg):
                self._use(arg, "parameter", arg.arg)
        self._functions.append(node.name)
        self.generic_visit(node)
        self._functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for arg in keyword_parameters(node.args):
            if self._is_ray(arg.arg):
                self._use(arg, "parameter", arg.arg)
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg and self._is_ray(node.arg):
            self._use(node, "keyword", node.arg)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = node.attr
        if self._is_ray(name) and not self._allowed_attribute(node):
            self._use(node, "attribute", name)
        self.generic_visit(node)

    def _allowed_attribute(self, node: ast.Attribute) -> bool:
        if is_self(node.value) and self._classes and node.attr in self._classes[-1][1]:
            return True  # the class's own (a method of that name is an override: rule 4 checks its def)
        # super()._name(...) inside the listed override _name
        return (
            is_super_call(node.value)
            and bool(self._functions)
            and self._functions[-1] == node.attr
            and bool(self._classes)
            and f"{self._classes[-1][0]}.{node.attr}" in self.overrides
        )


def is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def is_super_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"


def private_ray_uses(source: str, path: str = "<string>", ray_names=None, overrides=None) -> PrivateUseFinder:
    finder = PrivateUseFinder(
        path,
        ray_private_names() if ray_names is None else frozenset(ray_names),
        rllib_private.PRIVATE_OVERRIDES if overrides is None else overrides,
    )
    finder.visit(ast.parse(source))
    return finder


PLANTED = """
from ray.rllib.core.learner.learner import Learner
from ray._private.worker import global_worker
from ray.tune.registry import _global_registry
import ray.train._internal.storage


class OurLearner(Learner):
    def build(self):
        self._own = 1                     # ours: assigned in this class
        self._logger = None               # ours, though Ray has a _logger too
        return self._own, self._logger

    def update(self, _no_metrics_reduce=False, **kwargs):
        self._check_is_built()            # Ray's
        device = self._device             # Ray's (Learner.device is public)
        return super().update(_no_metrics_reduce=True)

    def _make_batch_if_necessary(self, training_data):   # an override of a private RLlib method
        return super()._make_batch_if_necessary(training_data)


class Listed(Learner):
    def _make_batch_if_necessary(self, training_data):   # listed: allowed, with its super() call
        return super()._make_batch_if_necessary(training_data)


def elsewhere(learner, parameter):
    logger_name = "ray._private.worker"    # a string, not a use
    return learner._module, parameter._version, parameter.grad
"""
PLANTED_RAY_NAMES = {
    "_check_is_built", "_device", "_logger", "_make_batch_if_necessary", "_module", "_no_metrics_reduce", "_version",
}


def test_the_checker_finds_each_kind_of_planted_use():
    finder = private_ray_uses(PLANTED, ray_names=PLANTED_RAY_NAMES, overrides={"Listed._make_batch_if_necessary": ""})
    found = {(use.line, use.what, use.name) for use in finder.uses}

    def at(fragment: str) -> int:
        """The line of PLANTED (1-based, as ast counts) whose code starts with ``fragment``."""
        return next(n for n, text in enumerate(PLANTED.splitlines(), start=1) if text.strip().startswith(fragment))

    assert found == {
        (at("from ray._private"), "import", "ray._private.worker"),
        (at("from ray.tune.registry"), "import", "ray.tune.registry._global_registry"),
        (at("import ray.train"), "import", "ray.train._internal.storage"),
        (at("def update"), "parameter", "_no_metrics_reduce"),
        (at("self._check_is_built"), "attribute", "_check_is_built"),
        (at("device = self._device"), "attribute", "_device"),
        (at("return super().update"), "keyword", "_no_metrics_reduce"),
        (at("def _make_batch_if_necessary"), "override", "OurLearner._make_batch_if_necessary"),
        (at("return super()._make_batch_if_necessary"), "attribute", "_make_batch_if_necessary"),
        (at("return learner._module"), "attribute", "_module"),
    }, sorted(found)
    assert finder.overrides_found == {"Listed._make_batch_if_necessary"}


def rllib_safe_modules() -> list[Path]:
    root = Path(rllib_safe.__file__).parent
    return sorted(path for path in root.rglob("*.py") if path.name != "rllib_private.py")


def test_no_private_rllib_name_outside_rllib_private():
    root = Path(rllib_safe.__file__).parent.parent
    uses, overrides_found = [], set()
    for path in rllib_safe_modules():
        finder = private_ray_uses(path.read_text(), str(path.relative_to(root)))
        uses += finder.uses
        overrides_found |= finder.overrides_found
    assert not uses, "Private RLlib names outside rllib_safe/rllib_private.py (route them through it):\n" + "\n".join(
        map(str, uses)
    )
    assert overrides_found == set(rllib_private.PRIVATE_OVERRIDES), "PRIVATE_OVERRIDES lists an override that is gone"


def test_listed_copies_exist():
    """Each copy of RLlib code named in rllib_private.COPIES is still defined where the entry says."""
    defined = set()
    for path in rllib_safe_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                defined.update(
                    f"{node.name}.{item.name}" for item in node.body if isinstance(item, ast.FunctionDef)
                )
    assert set(rllib_private.COPIES) <= defined
