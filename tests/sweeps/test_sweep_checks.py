"""`rllib-safe sweep` refuses what cannot run before Ray starts, naming the field and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rllib_safe.cli import main
from rllib_safe.sweeps import load_spec

REPO = Path(__file__).resolve().parents[2]
TINY = Path(__file__).parent / "specs" / "tiny.yaml"


@pytest.fixture
def no_ray(monkeypatch):
    """Fails the test if the sweep gets as far as starting Ray; the local instance has 2 CPUs."""
    import rllib_safe.runs.service as service

    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started")

    monkeypatch.setattr(service, "init_ray", refuse)
    monkeypatch.setattr(service, "local_ray_cpus", lambda: 2.0)


def spec_file(tmp_path: Path, base: Path = TINY, **changes) -> Path:
    data = yaml.safe_load(base.read_text()) | {"storage_path": str(tmp_path / "results")} | changes
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_trial_larger_than_the_local_ray_instance_is_refused(no_ray, tmp_path, capsys):
    spec = spec_file(tmp_path, REPO / "tune_configs" / "pcrpo_sensitivity.yaml")
    assert main(["sweep", str(spec)]) == 2
    message = capsys.readouterr().err
    assert "one pcrpo trial needs 5 CPUs" in message and "has 2" in message
    assert "num_env_runners <= 1" in message and "--address" in message


def test_an_unwritable_storage_path_is_refused(no_ray, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main(["sweep", str(spec_file(tmp_path, storage_path=str(blocker / "results")))]) == 2
    assert "storage_path" in capsys.readouterr().err


def test_a_missing_tracker_is_refused(no_ray, tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    assert main(["sweep", str(spec_file(tmp_path)), "--mlflow"]) == 2
    assert "pip install 'rllib-safe[mlflow]'" in capsys.readouterr().err


def test_tracker_flags_do_not_apply_to_a_resume(no_ray, tmp_path, capsys):
    assert main(["sweep", "--resume", str(tmp_path), "--wandb"]) == 2
    assert "--resume keeps the sweep's own trackers" in capsys.readouterr().err


def test_a_smoke_run_has_a_directory_of_its_own():
    spec = REPO / "tune_configs" / "pcrpo_sensitivity.yaml"
    assert load_spec(spec).name == "pcrpo_sensitivity"
    assert load_spec(spec, smoke=True).name == "pcrpo_sensitivity-smoke"
