"""A learner on a GPU, where one exists: the update and its gradients stay on the device."""

from __future__ import annotations

import pytest
import torch

from rllib_safe.algorithms import PPOLagConfig
from tests.algorithms.learning import small_problem_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine"),
]


def test_local_gpu_learner_trains_with_parameters_on_the_gpu(ray_session):
    config = (
        small_problem_config(PPOLagConfig())
        .learners(num_learners=0, num_gpus_per_learner=1)
        .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
    )
    algo = config.build_algo()
    try:
        result = algo.train()
        learner = algo.learner_group._learner
        devices = {parameter.device.type for parameter in learner.module.parameters()}
        grads = {p.grad.device.type for p in learner.module.parameters() if p.grad is not None}
    finally:
        algo.stop()
    assert result["training_iteration"] == 1
    assert devices == {"cuda"}
    assert grads <= {"cuda"}
