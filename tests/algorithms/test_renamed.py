"""Renamed classes and settings: the new names, and the old ones still working (with a warning)."""

from __future__ import annotations

import pytest
from ray.tune.registry import get_trainable_cls

from rllib_safe.algorithms import (
    RENAMED_TRAINABLES,
    SafePPOConfig,
    UnconstrainedPPO,
    UnconstrainedPPOConfig,
    algorithm_class,
    default_config,
    trainable_names,
)
from rllib_safe.algorithms.crpo import CRPOConfig
from rllib_safe.algorithms.pcrpo import PCRPOConfig
from rllib_safe.algorithms.smpo import SMPOConfig

#: (config class, old name, new name, a value other than the default)
RENAMES = [
    (PCRPOConfig, "start_safety", "warmup_iterations", 3),
    (PCRPOConfig, "update", "actor_step", "first_order"),
    (CRPOConfig, "update", "actor_step", "first_order"),
    (SMPOConfig, "threshold_epochs", "threshold_anneal_iterations", 7),
]


def test_the_ppo_baseline_is_unconstrained_ppo_and_keeps_its_tune_name():
    assert algorithm_class("ppo") is UnconstrainedPPO
    assert type(default_config("ppo")) is UnconstrainedPPOConfig
    assert isinstance(default_config("ppo"), SafePPOConfig)
    assert default_config("ppo").algo_class is UnconstrainedPPO
    assert get_trainable_cls("UnconstrainedPPO") is UnconstrainedPPO
    assert get_trainable_cls("SafePPO") is UnconstrainedPPO  # scripts and experiments started before
    assert trainable_names("ppo") == ("UnconstrainedPPO", "SafePPO")
    assert trainable_names("pcrpo") == ("PCRPO",)
    assert set(RENAMED_TRAINABLES) == {"SafePPO"}


@pytest.mark.parametrize("cls, old, new, value", RENAMES)
def test_old_keyword_of_training_warns_and_sets_the_new_name(cls, old, new, value):
    assert getattr(cls(), new) != value
    with pytest.warns(FutureWarning, match=f"`{old}` is now called `{new}`"):
        config = cls().training(**{old: value})
    assert getattr(config, new) == value and getattr(config, old) == value
    assert old not in config.to_dict() and config.to_dict()[new] == value
    config.validate()


@pytest.mark.parametrize("cls, old, new, value", RENAMES)
def test_old_and_new_name_together_are_an_error(cls, old, new, value):
    with pytest.raises(ValueError, match=f"`{old}` is the old name of `{new}`"):
        cls().training(**{old: value, new: value})


@pytest.mark.parametrize("cls, old, new, value", RENAMES)
def test_tune_dicts_with_the_old_name_set_the_new_name(cls, old, new, value):
    """Tune param spaces and sweep specs reach the config through ``update_from_dict``."""
    with pytest.warns(FutureWarning):
        config = cls().update_from_dict({old: value})
    assert getattr(config, new) == value


@pytest.mark.parametrize("cls, old, new, value", RENAMES)
def test_checkpointed_state_with_the_old_name_restores_onto_the_new_name(cls, old, new, value):
    state = cls().get_state()
    del state[new]
    state[old] = value  # as a checkpoint written before the rename holds it
    config = cls().from_state(state)
    assert getattr(config, new) == value and old not in vars(config)


def test_the_old_callbacks_module_still_names_the_callback():
    """Checkpoints pickle ``callbacks_class`` by its module path."""
    import importlib

    from rllib_safe.connectors import SafetyMetricsCallback

    old = importlib.import_module("rllib_safe.callbacks").SafetyMetricsCallback  # through rllib_safe._moved

    assert old is SafetyMetricsCallback
    assert SafePPOConfig().callbacks_class is SafetyMetricsCallback


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


def test_every_old_name_is_in_the_one_table_and_goes_in_its_version():
    """Release ``removed_in`` without the entry: this fails until the old name is removed."""
    import rllib_safe
    from rllib_safe import renamed

    entries = [*(r for group in renamed.SETTINGS.values() for r in group), *renamed.TRAINABLES, *renamed.CLI_FLAGS]
    entries += [r for group in renamed.RETIRED_SETTINGS.values() for r in group.values()]
    for entry in entries:
        assert version(rllib_safe.__version__) < version(entry.removed_in), entry
    assert {(cls, old, new) for cls, old, new, _ in RENAMES} == {
        (cls, r.old, r.new)
        for cls in (PCRPOConfig, CRPOConfig, SMPOConfig)
        for r in (r for klass in cls.__mro__ for r in renamed.SETTINGS.get(klass.__name__, ()))
    }


def test_old_keywords_are_not_in_the_training_signatures():
    """They are the table's, translated before ``training()`` runs; the signature shows new names only."""
    import inspect

    for cls, old, _new, _ in RENAMES:
        parameters = inspect.signature(cls.training).parameters
        assert old not in parameters


def test_the_old_cli_flag_still_sets_the_new_setting():
    from rllib_safe.cli import build_parser

    args = build_parser().parse_args(["train", "--algo", "pcrpo", "--update", "first_order"])
    assert args.actor_step == "first_order"


@pytest.mark.parametrize("cls, old, new, value", RENAMES)
def test_set_with_the_old_name_sets_the_new_name(cls, old, new, value):
    """``--set old=...`` and sweep specs reach the config through ``build_config``."""
    from rllib_safe.runs.config import build_config

    algo = {PCRPOConfig: "pcrpo", CRPOConfig: "crpo", SMPOConfig: "smpo"}[cls]
    with pytest.warns(FutureWarning, match=f"`{old}` is now called `{new}`"):
        config = build_config(algo, "CartPole-v1", {old: value})
    assert getattr(config, new) == value
