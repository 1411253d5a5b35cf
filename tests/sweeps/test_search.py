"""A constrained search: its spec checks, and the example spec end to end at a tiny budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rllib_safe.sweeps import SpecError, load_spec
from rllib_safe.sweeps.runner import param_space, tune_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tune_configs" / "pcrpo_search.yaml"


def write_spec(tmp_path: Path, **changes) -> Path:
    """The example search spec with top-level ``changes`` (None deletes a key)."""
    data = yaml.safe_load(EXAMPLE.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_example_search_spec_builds_a_searcher_and_asha(tmp_path):
    spec = load_spec(EXAMPLE)
    space = param_space(spec, "pcrpo")
    assert space["seed"] == 0 and space["cost_limit"] == 25.0
    assert type(space["conflict_angle"]).__name__ == "Float"  # a distribution for the searcher, not a grid
    config = tune_config(spec)
    assert (config.metric, config.mode, config.num_samples) == ("constrained_score", "max", 24)
    assert type(config.search_alg).__name__ == "OptunaSearch"
    assert type(config.scheduler).__name__ == "AsyncHyperBandScheduler"


@pytest.mark.parametrize(("changes", "message"), [
    ({"search_space": {"conflict_angle": {"grid": [60, 90]}}}, "give `choice`, `uniform` or `loguniform`"),
    ({"search_space": {"slack": {"fields": ["slack_upper", "slack_lower"], "choice": [[0, 0], [9, -9]]}}},
     "one config field per axis"),
    ({"seeds": [0, 1]}, "give one seed"),
    ({"search": {"algorithm": "hyperopt"}}, "search.algorithm"),
    ({"search": {"scheduler": "pbt"}}, "search.scheduler"),
    ({"search": {"grace_period": 600000}}, "longer than the budget"),
    ({"search": {"reduction_factor": 1}}, "search.reduction_factor"),
    ({"search_space": None}, "needs a search_space"),
])
def test_bad_search_blocks_name_the_field_and_what_is_allowed(tmp_path, changes, message):
    with pytest.raises(SpecError, match="spec.yaml:") as err:
        load_spec(write_spec(tmp_path, **changes))
    assert message in str(err.value)


def test_unknown_search_algorithm_lists_the_allowed_ones(tmp_path):
    with pytest.raises(SpecError) as err:
        load_spec(write_spec(tmp_path, search={"algorithm": "hyperopt"}))
    assert "'optuna'" in str(err.value) and "'random'" in str(err.value) and "hyperopt" in str(err.value)


@pytest.mark.slow
def test_example_search_runs_end_to_end_and_ranks_feasible_first(ray_session, tmp_path):
    from rllib_safe.sweeps.report import write_report
    from rllib_safe.sweeps.runner import run_sweep
    from rllib_safe.sweeps.score import FEASIBLE_FLOOR

    spec = load_spec(EXAMPLE, smoke=True).model_copy(update={
        "storage_path": str(tmp_path), "num_samples": 3, "checkpoint_every": 0,
    })
    spec = spec.model_copy(update={"budget": spec.budget.model_copy(update={"timesteps": 3000})})
    summary = run_sweep(spec, verbose=0)
    assert len(summary.statuses) == 3 and set(summary.statuses.values()) == {"TERMINATED"}

    trials = sorted((summary.run_dir / "pcrpo").glob("PCRPOSearch_*/result.json"))
    assert len(trials) == 3
    finals = []
    for path in trials:
        results = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        assert all("constrained_score" in result for result in results)
        last = results[-1]
        feasible = last["env_runners"]["episode_cost_mean"] <= last["config"]["cost_limit"]
        assert (last["constrained_score"] >= FEASIBLE_FLOOR) == feasible
        finals.append(last["config"]["conflict_angle"])
    assert len(set(finals)) == 3  # the searcher proposed three different points

    index = (write_report(summary.run_dir, None) / "index.html").read_text()
    assert "feasible" in index.lower()
