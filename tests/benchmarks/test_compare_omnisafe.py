"""Pure logic of the OmniSafe comparison (benchmarks/compare_omnisafe.py, benchmarks/omnisafe/run_omnisafe.py).

The comparison itself is a benchmark, never a test: nothing here needs the OmniSafe venv.
"""

from __future__ import annotations

import csv

import pytest

from benchmarks import compare_omnisafe
from benchmarks.omnisafe import patch_safety_gymnasium, run_omnisafe

#: OmniSafe 0.5 progress.csv header of PPOLag (as written by a real run).
PROGRESS_HEADER = (
    "Metrics/EpRet,Metrics/EpCost,Metrics/EpLen,Train/Epoch,Train/Entropy,Train/KL,Train/StopIter,Train/PolicyRatio,"
    "Train/PolicyRatio/Min,Train/PolicyRatio/Max,Train/PolicyRatio/Std,Train/LR,Train/PolicyStd,TotalEnvSteps,"
    "Loss/Loss_pi,Loss/Loss_pi/Delta,Value/Adv,Loss/Loss_reward_critic,Loss/Loss_reward_critic/Delta,Value/reward,"
    "Loss/Loss_cost_critic,Loss/Loss_cost_critic/Delta,Value/cost,Time/Total,Time/Rollout,Time/Update,Time/Epoch,"
    "Time/FPS,Metrics/LagrangeMultiplier,Metrics/LagrangeMultiplier/Min,Metrics/LagrangeMultiplier/Max,"
    "Metrics/LagrangeMultiplier/Std"
).split(",")
#: The parts of OmniSafe's PPOLag.yaml and OnCRPO.yaml that decide where custom_cfgs puts a value.
PPOLAG_DEFAULTS = {
    "algo_cfgs": {"steps_per_epoch": 20000, "update_iters": 40, "batch_size": 64, "target_kl": 0.02},
    "model_cfgs": {"actor": {"hidden_sizes": [64, 64], "lr": 0.0003}, "critic": {"lr": 0.0003}},
    "lagrange_cfgs": {"cost_limit": 25.0, "lagrangian_multiplier_init": 0.001},
}
ONCRPO_DEFAULTS = {
    "algo_cfgs": {"steps_per_epoch": 20000, "update_iters": 10, "cost_limit": 25.0, "distance": 2.0},
    "model_cfgs": {"actor": {"hidden_sizes": [64, 64], "lr": None}, "critic": {"lr": 0.001}},
}


def write_progress(path, epochs: list[dict[str, float]]) -> None:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=PROGRESS_HEADER)
        writer.writeheader()
        for values in epochs:
            writer.writerow(dict.fromkeys(PROGRESS_HEADER, "0.5") | {"Metrics/EpCost": "nan"} | values)


def test_epoch_figures_count_the_update_iterations_done_and_the_short_last_minibatch(tmp_path):
    path = tmp_path / "progress.csv"
    write_progress(path, [
        {"Time/Rollout": 10.0, "Time/Update": 4.0, "Time/Epoch": 14.5, "Train/StopIter": 40},
        {"Time/Rollout": 20.0, "Time/Update": 8.0, "Time/Epoch": 28.5, "Train/StopIter": 20},
    ])
    figures = run_omnisafe.epoch_figures(run_omnisafe.read_progress(path), steps_per_epoch=2000, batch_size=64)
    # 2000 / 64 -> 32 minibatches (the last one short); 60 iterations done in all, not 2 x 40.
    assert figures == {
        "rollout": 15.0, "update": 6.0, "epoch": 21.5, "update_iters_done": 30.0, "sgd_steps": 960.0,
        "ms_per_sgd_step": 6.25,
    }


def test_epoch_figures_name_an_empty_progress_file(tmp_path):
    path = tmp_path / "progress.csv"
    write_progress(path, [])
    with pytest.raises(ValueError, match="no epoch rows"):
        run_omnisafe.epoch_figures(run_omnisafe.read_progress(path), 2000, 64)


def hyperparameters(**changes) -> dict:
    hp = compare_omnisafe.HYPERPARAMETERS | {"epochs": 3, "torch_threads": 1, "vector_env_nums": 1, "seed": 0}
    return hp | {"log_dir": "/tmp/x"} | changes


def test_custom_cfgs_put_the_cost_limit_in_lagrange_cfgs_for_ppolag():
    cfgs = run_omnisafe.custom_cfgs(hyperparameters(cost_limit=7.0), PPOLAG_DEFAULTS)
    assert cfgs["lagrange_cfgs"] == {"cost_limit": 7.0}
    assert "cost_limit" not in cfgs["algo_cfgs"]
    assert cfgs["algo_cfgs"] == {
        "steps_per_epoch": 20000, "update_iters": 40, "batch_size": 64, "kl_early_stop": True, "target_kl": 0.02,
    }
    assert cfgs["train_cfgs"] == {
        "device": "cpu", "torch_threads": 1, "vector_env_nums": 1, "parallel": 1, "total_steps": 60000,
    }
    assert cfgs["model_cfgs"]["actor"] == {"hidden_sizes": [64, 64], "activation": "tanh", "lr": 3e-4}
    assert cfgs["model_cfgs"]["critic"] == {"hidden_sizes": [64, 64], "activation": "tanh", "lr": 3e-4}
    assert cfgs["logger_cfgs"] == {"use_wandb": False, "use_tensorboard": False, "log_dir": "/tmp/x"}


def test_custom_cfgs_put_the_cost_limit_in_algo_cfgs_and_leave_a_natural_gradient_actor_without_lr():
    cfgs = run_omnisafe.custom_cfgs(hyperparameters(cost_limit=7.0, target_kl=None), ONCRPO_DEFAULTS)
    assert cfgs["algo_cfgs"]["cost_limit"] == 7.0
    assert "lagrange_cfgs" not in cfgs
    assert "lr" not in cfgs["model_cfgs"]["actor"]
    assert cfgs["algo_cfgs"]["kl_early_stop"] is False
    assert "target_kl" not in cfgs["algo_cfgs"]


def test_the_omnisafe_command_carries_every_hyperparameter_to_run_omnisafe():
    argv = compare_omnisafe.omnisafe_argv("python", "ppo-lag", "SafetyHopperVelocity-v1", 3, 1,
                                          compare_omnisafe.HYPERPARAMETERS | {"steps_per_epoch": 4000})
    args = run_omnisafe.parse_args(argv[2:])
    assert (args.algo, args.env_id, args.epochs, args.torch_threads, args.vector_env_nums) == (
        "PPOLag", "SafetyHopperVelocity-v1", 3, 1, 1)
    parsed = {key: getattr(args, key) for key in compare_omnisafe.HYPERPARAMETERS}
    assert parsed == compare_omnisafe.HYPERPARAMETERS | {"steps_per_epoch": 4000}


def test_a_negative_target_kl_turns_omnisafes_early_stop_off():
    assert run_omnisafe.parse_args(["--target-kl", "-1"]).target_kl is None


def ours_row(**changes) -> dict:
    """A throughput.py row at OmniSafe's hyperparameters."""
    row = {
        "algo": "ppo-lag", "env_id": "SafetyHopperVelocity-v1", "num_env_runners": 2, "num_envs_per_env_runner": 4,
        "train_batch_size_per_learner": 20000, "minibatch_size": 64, "num_epochs": 40, "train_steps_per_s": 600.0,
        "seconds_per_iteration": {"sampling": 8.0, "learner_update": 25.04, "weight_sync": 0.01, "other": 0.1,
                                  "iteration": 33.2},
        "setting": "omnisafe",
    }
    return row | changes


def omnisafe_row(**changes) -> dict:
    row = {
        "side": "omnisafe", "algo": "PPOLag", "steps_per_epoch": 20000, "batch_size": 64, "update_iters": 40,
        "target_kl": 0.02, "train_steps_per_s": 300.0,
        "seconds_per_epoch": {"rollout": 18.0, "update": 47.0, "epoch": 65.0, "update_iters_done": 40.0,
                              "sgd_steps": 12520.0, "ms_per_sgd_step": 3.754},
    }
    return row | changes


def test_mismatches_name_each_differing_hyperparameter_and_a_missing_target_kl():
    assert compare_omnisafe.mismatches(ours_row(target_kl=0.02), omnisafe_row()) == {}
    assert compare_omnisafe.mismatches(ours_row(minibatch_size=256), omnisafe_row()) == {
        "minibatch_size": {"ours": 256, "omnisafe": 64},
        "target_kl": {"ours": None, "omnisafe": 0.02},
    }


def test_ours_ms_per_sgd_step_counts_the_epochs_run_or_every_epoch_without_an_early_stop():
    # 40 epochs x ceil(20000 / 64) = 313 minibatches: 25.04 s / 12520 steps = 2 ms.
    assert compare_omnisafe.ours_ms_per_sgd_step(ours_row()) == 2.0
    assert compare_omnisafe.ours_ms_per_sgd_step(ours_row(target_kl=0.02)) is None
    # An early stop after 10 epochs: 25.04 s / 3130 steps.
    assert compare_omnisafe.ours_ms_per_sgd_step(ours_row(target_kl=0.02, epochs_run=10)) == 8.0


def test_ratio_row_divides_our_rate_by_omnisafes():
    row = compare_omnisafe.ratio_row(ours_row(), omnisafe_row())
    assert row["ratio"] == 2.0
    assert row["setting"] == "2x4"
    assert row["ms_per_sgd_step"] == {"ours": 2.0, "omnisafe": 3.754}
    assert row["omnisafe_s_per_epoch"] == {"rollout": 18.0, "update": 47.0}
    assert row["epochs_run"] == {"ours": 40, "omnisafe": 40.0}
    assert row["mismatched"] == {"target_kl": {"ours": None, "omnisafe": 0.02}}


def test_smoke_runs_ours_at_our_defaults_and_the_real_run_with_omnisafes_hyperparameters():
    real = compare_omnisafe.ours_argv("ppo-lag", "SafetyHopperVelocity-v1", ["0x1", "2x4"], 2, smoke=False)
    smoke = compare_omnisafe.ours_argv("ppo-lag", "SafetyHopperVelocity-v1", ["0x1"], 1, smoke=True)
    assert real[1:3] == ["-m", "benchmarks.throughput"]
    assert real[3:] == ["--algos", "ppo-lag", "--envs", "SafetyHopperVelocity-v1", "--settings", "0x1", "2x4",
                        "--iterations", "2", "--omnisafe"]
    assert "--omnisafe" not in smoke


VASES_SOURCE = '''from dataclasses import dataclass

@dataclass
class Vases:
    alpha: float = COLOR['vase'][-1]
    color: np.array = COLOR['vase']
    group: np.array = GROUP['vase']
'''


def test_the_safety_gymnasium_patch_wraps_array_defaults_once_and_imports_field():
    patched = patch_safety_gymnasium.patch_source(VASES_SOURCE)
    assert patched == VASES_SOURCE.replace("import dataclass\n", "import dataclass, field\n").replace(
        "color: np.array = COLOR['vase']", "color: np.array = field(default_factory=lambda: COLOR['vase'])")
    assert patch_safety_gymnasium.patch_source(patched) == patched


def test_the_safety_gymnasium_patch_leaves_a_module_without_array_defaults_alone():
    source = "from dataclasses import dataclass\n\nalpha: float = COLOR['vase'][-1]\n"
    assert patch_safety_gymnasium.patch_source(source) == source


def test_only_json_object_lines_count_as_results():
    assert compare_omnisafe.json_object('{"side": "omnisafe", "train_steps_per_s": 1.5}\n') == {
        "side": "omnisafe", "train_steps_per_s": 1.5}
    assert compare_omnisafe.json_object("{'not': json}\n") is None
    assert compare_omnisafe.json_object("[1, 2]\n") is None
    assert compare_omnisafe.json_object("Early stopping at iter 19 due to reaching max kl\n") is None
