"""The learning benchmark (benchmarks/learning.py): its figures, its aggregation, and its code path end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import learning
from benchmarks.learning_report import (
    final_value,
    load_records,
    over_limit_fraction,
    run_figures,
    second_half_std,
    seed_band,
    summary_table,
)
from benchmarks.learning_suites import SMOKE, SMPO_DIAGNOSIS, STANDARD, run_key


def test_final_value_is_the_mean_of_the_last_tenth_of_iterations_rounded_up():
    # 15 iterations: the last ceil(1.5) = 2 (the last one alone would give 20, the whole run 2).
    assert final_value([0.0] * 13 + [10.0, 20.0]) == 15.0
    # Unmeasured iterations (no finished episode yet) are left out, not counted as 0.
    assert final_value([5.0] * 18 + [None, 7.0]) == 7.0
    assert final_value([None, None]) is None


def test_second_half_figures_start_at_the_middle_iteration():
    costs = [100.0, 100.0, 30.0, 20.0, 10.0]  # second half: values[5 // 2:] = [30, 20, 10]
    assert over_limit_fraction(costs, 25.0) == pytest.approx(1 / 3)  # the whole run would give 3/5
    assert second_half_std(costs) == pytest.approx(math.sqrt(200 / 3))  # ddof = 0: 8.16 (ddof = 1: 10)
    # Second half [30, None, 10]: the unmeasured iteration is left out.
    assert over_limit_fraction([None, None, None, 30.0, None, 10.0], 25.0) == 0.5
    assert second_half_std([None, None, None, 30.0, None, 10.0]) == 10.0


def test_curves_keep_the_diagnostics_a_run_logged_and_their_second_half_means():
    iterations = [
        {"num_env_steps_sampled_lifetime": 4000 * i, "env_runners/episode_cost_mean": 30.0,
         "learners/default_policy/modulation_weight_mean": weight,
         "learners/default_policy/mode_cost": float("nan") if i == 1 else 1.0}
        for i, weight in enumerate([0.9, 0.5, 0.1, -0.1], start=1)
    ]
    curve = learning.curve_of(iterations)
    assert curve["modulation_weight_mean"] == [0.9, 0.5, 0.1, -0.1]
    assert curve["mode_cost"] == [None, 1.0, 1.0, 1.0]
    assert "lagrangian_multiplier" not in curve  # not logged by this run: no curve of Nones
    diagnostics = run_figures(curve, 25.0)["diagnostics_second_half"]
    assert diagnostics["modulation_weight_mean"] == pytest.approx(0.0)
    assert diagnostics["mode_cost"] == 1.0


def test_variants_of_one_algorithm_train_in_their_own_directories():
    directories = {run.relative_dir() for run in SMPO_DIAGNOSIS.runs}
    assert len(directories) == len(SMPO_DIAGNOSIS.runs)
    assert len({run.key() for run in SMPO_DIAGNOSIS.runs}) == len(SMPO_DIAGNOSIS.runs)


def test_seed_band_interpolates_every_seed_onto_the_steps_all_of_them_cover():
    rising = {"env_steps": [0, 100], "return": [0.0, 10.0]}
    flat = {"env_steps": [0, 50, 80], "return": [10.0, 10.0, 10.0]}
    grid, mean, std = seed_band([rising, flat], "return")
    assert (grid[0], grid[-1]) == (0.0, 80.0)
    np.testing.assert_allclose(mean, (grid / 10 + 10) / 2)
    np.testing.assert_allclose(std, np.abs(grid / 10 - 10) / 2)


def run_record(task: str, algo: str, seed: int, final_return: float, **settings) -> dict:
    spec = next(run for run in STANDARD.runs if run.task == task and run.algo == algo)
    return {
        "task": task, "algo": algo, "seed": seed, "timesteps": spec.timesteps, "cost_limit": 25.0,
        "settings": settings or spec.settings, "env_steps": spec.timesteps, "final_return": final_return,
        "final_cost": 20.0 + seed, "over_limit_fraction": 0.0, "cost_std_second_half": 1.0, "steps_per_s": 900.0,
        "curve": {"env_steps": [4000, 8000], "return": [0.0, final_return], "cost": [30.0, 20.0 + seed]},
    }


def test_summary_over_seeds_gives_mean_std_t_interval_seeds_done_and_published_numbers():
    hopper = "SafetyHopperVelocity-v1"
    records = [run_record(hopper, "ppo-lag", seed, value) for seed, value in enumerate([1.0, 2.0, 3.0])]
    records += [run_record(hopper, "pcrpo", 0, 5.0)]
    table = summary_table(records, STANDARD).set_index("algo")
    lagrangian, pcrpo = table.loc["ppo-lag"], table.loc["pcrpo"]
    assert (lagrangian.seeds, lagrangian.seeds_planned, pcrpo.seeds, pcrpo.seeds_planned) == (3, 3, 1, 3)
    assert (lagrangian.final_return_mean, lagrangian.final_return_std) == (2.0, 1.0)
    assert lagrangian.final_return_ci95_high == pytest.approx(2.0 + 4.302653 / math.sqrt(3))  # t(0.975, 2 dof)
    assert (lagrangian.published_return, lagrangian.published_cost) == (962.0, 13.96)  # OmniSafe's PPOLag
    assert math.isnan(pcrpo.published_return) and math.isnan(pcrpo.final_return_std)
    assert pcrpo.settings == "slack_upper=9, slack_lower=-9"


def test_a_changed_budget_or_setting_is_another_run():
    spec = next(run for run in STANDARD.runs if run.algo == "pcrpo" and run.task == "SafetyHopperVelocity-v1")
    record = run_record(spec.task, spec.algo, spec.seed, 0.0)
    assert run_key(record) == spec.key()
    assert run_key(record | {"timesteps": 1000}) != spec.key()
    assert run_key(record | {"settings": {}}) != spec.key()


def crash_at_third_iteration(line: str) -> None:
    """An ``echo`` that fails after iteration 3 is written (its last checkpoint is iteration 2's)."""
    if line.startswith("iter 3 "):
        raise RuntimeError("crash")


@pytest.mark.slow
def test_smoke_suite_resumes_a_crashed_run_skips_finished_ones_and_reports(ray_session, tmp_path, capsys):
    out, runs_dir = tmp_path / "out", tmp_path / "runs"
    ppo_lag = next(run for run in SMOKE.runs if run.algo == "ppo-lag")
    with pytest.raises(RuntimeError, match="crash"):
        learning.train_run(SMOKE, ppo_lag, runs_dir, echo=crash_at_third_iteration)
    args = ["--suite", "smoke", "--out", str(out), "--runs-dir", str(runs_dir)]

    assert learning.main(args) == 0
    printed = capsys.readouterr().out
    assert "checkpoints/iter_000002 (target 2000 env steps)" in printed  # resumed, not started again
    records = load_records(out / "learning_smoke.jsonl")
    assert [(r["algo"], r["seed"], r["env_steps"], r["iterations"], r["starts"]) for r in records] == [
        ("ppo-lag", 0, 2000, 4, 2), ("pcrpo", 0, 2000, 4, 1),
    ]
    # Iteration 3, trained twice (before the crash and after the resume), counts once.
    assert records[0]["curve"]["env_steps"] == [500, 1000, 1500, 2000]
    for record in records:
        assert record["final_return"] == pytest.approx(record["curve"]["return"][-1], abs=0.01)
        assert record["steps_per_s"] > 0 and record["git_revision"] and record["provenance"]["versions"]["ray"]

    assert learning.main(args) == 0
    assert "2 already in" in capsys.readouterr().out
    assert len(load_records(out / "learning_smoke.jsonl")) == 2
    for name in ("learning_smoke.md", "learning_smoke.csv", "learning_smoke_SafetyPointCircle1-v0_curves.png",
                 "learning_smoke_SafetyPointCircle1-v0_tradeoff.png"):
        assert (out / name).stat().st_size > 0
    assert "| SafetyPointCircle1-v0 | pcrpo |" in (out / "learning_smoke.md").read_text()


def test_every_run_of_every_suite_has_settings_a_run_would_accept(tmp_path):
    """A typo in a suite (a preset, a setting, a warm-up past the budget) fails here, not hours into it."""
    from benchmarks.learning_suites import SUITES
    from rllib_safe.runs.service import prepare_config

    checked = set()
    for suite in SUITES.values():
        for spec in suite.runs:
            identity = (spec.task, spec.algo, spec.timesteps, spec.cost_limit, repr(spec.settings))
            if identity in checked:
                continue
            checked.add(identity)
            options = learning.train_options(spec, tmp_path / suite.name / spec.relative_dir(), suite.checkpoint_every)
            prepare_config(options)
    assert len(checked) > len(SUITES)


def test_runs_are_selected_by_variant_and_an_unknown_variant_names_the_known_ones():
    selected = learning.select_runs(SMPO_DIAGNOSIS, None, None, [1], ["floor0", "offset"])
    assert sorted((run.variant, run.seed) for run in selected) == [("floor0", 1), ("offset", 1)]
    with pytest.raises(SystemExit, match=r"--variants floor: not in suite 'smpo_diagnosis'; choose from .*floor0"):
        learning.select_runs(SMPO_DIAGNOSIS, None, None, None, ["floor"])
