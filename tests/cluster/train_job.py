"""The Ray job that test_e2e submits: PPO-Lag on BudgetEnv with cluster placement.

Usage: python tests/cluster/train_job.py OUT_DIR ITERATIONS. Writes OUT_DIR/result.json
(one row per iteration, the EnvRunners' nodes and the nodes offering `rollout`) and an
algorithm checkpoint in OUT_DIR/checkpoint.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import ray

from rllib_safe.algorithms import PPOLagConfig
from rllib_safe.envs import register_envs
from rllib_safe.runs.config import ROLLOUT_RESOURCE, Placement, apply_placement


def main(out_dir: Path, iterations: int) -> None:
    ray.init()  # the cluster this job was submitted to
    register_envs()  # BudgetEnv among them
    config = (
        PPOLagConfig()
        .environment("BudgetEnv", env_config={"horizon": 20})
        .env_runners(num_env_runners=1, num_envs_per_env_runner=2)
        .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1,
                  normalize_observations=False, cost_limit=5.0)
        .debugging(seed=0)
    )
    apply_placement(config, Placement(num_learners=0, num_gpus_per_learner=0))
    algo = config.build_algo()
    try:
        rows = []
        for _ in range(iterations):
            result = algo.train()
            rows.append({"training_iteration": result["training_iteration"],
                         "env_steps": result["env_runners"]["num_env_steps_sampled_lifetime"]})
        checkpoint = algo.save_to_path(str(out_dir / "checkpoint"))
        env_runner_nodes = algo.env_runner_group.foreach_env_runner(
            lambda runner: ray.get_runtime_context().get_node_id(), local_env_runner=False
        )
    finally:
        algo.stop()
    rollout_nodes = [
        node["NodeID"] for node in ray.nodes() if node["Alive"] and ROLLOUT_RESOURCE in node["Resources"]
    ]
    summary = {"results": rows, "checkpoint": checkpoint, "env_runner_nodes": env_runner_nodes,
               "rollout_nodes": rollout_nodes}
    (out_dir / "result.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
