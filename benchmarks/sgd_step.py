"""Milliseconds per SGD step of the PPO update: plain torch against rllib-safe's learner.

One JSON line per (implementation, minibatch size):

* ``eager``: the lower bound a hand-written trainer reaches: actor and two critics (64-64
  tanh, OmniSafe's networks), PPO-clip loss plus both critics' squared errors, global-norm
  gradient clipping at 40, torch's default Adam, minibatches sliced from a shuffled batch
  (networks, lr, clip and gradient clipping: the learner rows' config, ``--algo``);
* ``compiled``: the same step under ``torch.compile`` (``compile_s``: the first call, compiling);
* ``fast_path``: our learner's update (``fast_update=True``, the default), steps timed inside one
  ``Learner.update`` call of ``--steps`` minibatches;
* ``fast_path_compiled``: the same with ``compile_sgd_step=True``;
* ``rllib_loop``: the same learner with RLlib's own loop (``fast_update=False``).

``ms_per_step`` is wall-clock time, ``cpu_ms_per_step`` this thread's CPU time (steadier on a
shared machine); both are the median over ``--repeats`` timings after one warm-up. torch runs
on one thread, as OmniSafe's ``torch_threads: 1`` timing. ``--device cuda`` runs every row on the
GPU (the learner rows with ``num_gpus_per_learner=1``), each timing ended by a device sync.

    python -m benchmarks.sgd_step [--minibatch-sizes 64 4096] [--steps 200] [--repeats 3]
        [--impls eager compiled fast_path fast_path_compiled rllib_loop] [--algo ppo-lag] [--device cpu]
        [--torch-threads 1] [--out FILE]
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import torch

from benchmarks import record

IMPLEMENTATIONS = ("eager", "compiled", "fast_path", "fast_path_compiled", "rllib_loop")
#: SafetyHopperVelocity-v1's spaces.
OBS_DIM, ACT_DIM = 11, 3


def timed(run: Callable[[], None], repeats: int, device: str) -> tuple[float, float]:
    """Median (wall seconds, thread CPU seconds) of ``repeats`` calls of ``run`` (each ended by
    a sync on a GPU, so the time includes its queued kernels)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.thread_time()
        run()
        if device != "cpu":
            torch.cuda.synchronize(device)
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.thread_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def mlp(hidden: list[int], out_dim: int) -> torch.nn.Sequential:
    """Tanh MLP from the observations (the configs' ``fcnet_activation``)."""
    layers, width = [], OBS_DIM
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.Tanh()]
        width = size
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, out_dim))


def synthetic_rows(n: int, device: str = "cpu", seed: int = 0) -> dict[str, torch.Tensor]:
    """A batch of n rows with the columns a PPO step reads (values need not be meaningful)."""
    generator = torch.Generator().manual_seed(seed)
    rows = {
        "obs": torch.randn(n, OBS_DIM, generator=generator),
        "actions": torch.randn(n, ACT_DIM, generator=generator),
        "logp": torch.randn(n, generator=generator) - 3.0,
        "advantages": torch.randn(n, generator=generator),
        "value_targets": torch.randn(n, generator=generator),
        "cost_advantages": torch.randn(n, generator=generator),
        "cost_value_targets": torch.randn(n, generator=generator),
    }
    return {name: column.to(device) for name, column in rows.items()}


class PlainPPO:
    """The SGD step as a hand-written trainer writes it (the ``eager`` and ``compiled`` lower bounds)."""

    def __init__(self, config, device: str) -> None:
        """Networks, lr, PPO clip and gradient clipping from ``config`` (an rllib-safe config)."""
        hidden = config.model_config["fcnet_hiddens"]
        self.actor, self.critic, self.cost_critic = (mlp(hidden, out).to(device) for out in (ACT_DIM, 1, 1))
        self.log_std = torch.nn.Parameter(torch.zeros(ACT_DIM, device=device))
        networks = (self.actor, self.critic, self.cost_critic)
        self.params = [p for network in networks for p in network.parameters()] + [self.log_std]
        self.optimizer = torch.optim.Adam(self.params, lr=config.lr)
        self.clip_param, self.grad_clip = config.clip_param, config.grad_clip

    def step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        dist = torch.distributions.Normal(self.actor(batch["obs"]), self.log_std.exp())
        ratio = torch.exp(dist.log_prob(batch["actions"]).sum(-1) - batch["logp"])
        advantages = batch["advantages"] - 0.1 * batch["cost_advantages"]
        clipped = ratio.clamp(1.0 - self.clip_param, 1.0 + self.clip_param)
        surrogate = torch.min(ratio * advantages, clipped * advantages).mean()
        value_loss = (self.critic(batch["obs"]).squeeze(-1) - batch["value_targets"]).pow(2).mean()
        cost_loss = (self.cost_critic(batch["obs"]).squeeze(-1) - batch["cost_value_targets"]).pow(2).mean()
        loss = -surrogate + value_loss + cost_loss
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.optimizer.step()
        return loss.detach()


def measure_plain(algo: str, minibatch_size: int, steps: int, repeats: int, device: str, compiled: bool) -> dict:
    from rllib_safe.algorithms import default_config

    trainer = PlainPPO(default_config(algo), device)
    step = torch.compile(trainer.step) if compiled else trainer.step
    rows = synthetic_rows(minibatch_size * steps, device)
    order = torch.randperm(minibatch_size * steps, device=device)

    def run() -> None:
        for k in range(steps):
            step({name: column[order[k * minibatch_size : (k + 1) * minibatch_size]] for name, column in rows.items()})

    start = time.perf_counter()
    run()  # warm-up (compiles when compiled)
    extra = {"compile_s": round(time.perf_counter() - start, 2)} if compiled else {}
    return extra | per_step(timed(run, repeats, device), steps)


def learner_batch(learner, n: int):
    """A train batch of n rows for the learner's module: its own actions and log-probabilities."""
    from ray.rllib.core.columns import Columns
    from ray.rllib.evaluation.postprocessing import Postprocessing
    from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

    from rllib_safe.connectors.columns import COST_ADVANTAGES, COST_VALUE_TARGETS
    from rllib_safe.metrics import DEFAULT_MODULE

    module = learner.module[DEFAULT_MODULE].unwrapped()
    rows = synthetic_rows(n, learner.device)
    with torch.no_grad():
        inputs = module.forward_train({Columns.OBS: rows["obs"]})[Columns.ACTION_DIST_INPUTS]
        dist = module.get_train_action_dist_cls().from_logits(inputs)
        actions = dist.sample()
    columns = {
        Columns.OBS: rows["obs"],
        Columns.ACTIONS: actions,
        Columns.ACTION_LOGP: dist.logp(actions),
        Columns.ACTION_DIST_INPUTS: inputs,
        Columns.LOSS_MASK: torch.ones(n, dtype=torch.bool, device=learner.device),
        Postprocessing.ADVANTAGES: rows["advantages"],
        Postprocessing.VALUE_TARGETS: rows["value_targets"],
        COST_ADVANTAGES: rows["cost_advantages"],
        COST_VALUE_TARGETS: rows["cost_value_targets"],
    }
    return MultiAgentBatch({DEFAULT_MODULE: SampleBatch({k: v.cpu().numpy() for k, v in columns.items()})}, n)


def measure_learner(algo: str, minibatch_size: int, steps: int, repeats: int, device: str, **training) -> dict:
    from rllib_safe.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME
    from rllib_safe.runs.config import build_config

    spaces = {"observation_space": gym.spaces.Box(-1.0, 1.0, (OBS_DIM,)),
              "action_space": gym.spaces.Box(-1.0, 1.0, (ACT_DIM,))}
    gpus = {"num_gpus_per_learner": 1} if device != "cpu" else {}
    config = build_config(algo, None, spaces | gpus | training, seed=0)
    learner = config.build_learner()
    batch = learner_batch(learner, minibatch_size * steps)

    def run() -> None:
        learner.update(
            batch=batch,
            timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: 0},
            num_epochs=1,
            minibatch_size=minibatch_size,
            shuffle_batch_per_epoch=True,
        )

    start = time.perf_counter()
    run()  # warm-up (compiles with compile_sgd_step)
    extra = {"compile_s": round(time.perf_counter() - start, 2)} if training.get("compile_sgd_step") else {}
    return extra | per_step(timed(run, repeats, device), steps)


def per_step(seconds: tuple[float, float], steps: int) -> dict:
    wall, cpu = seconds
    return {"ms_per_step": round(1000 * wall / steps, 3), "cpu_ms_per_step": round(1000 * cpu / steps, 3)}


def measure(impl: str, algo: str, minibatch_size: int, steps: int, repeats: int, device: str) -> dict:
    if impl in ("eager", "compiled"):
        return measure_plain(algo, minibatch_size, steps, repeats, device, compiled=impl == "compiled")
    training = {
        "fast_path": {},
        "fast_path_compiled": {"compile_sgd_step": True},
        "rllib_loop": {"fast_update": False},
    }[impl]
    return measure_learner(algo, minibatch_size, steps, repeats, device, **training)


def main() -> None:
    parser = record.parser(__doc__)
    parser.add_argument("--minibatch-sizes", nargs="+", type=int, default=[64, 4096])
    parser.add_argument("--steps", type=int, default=200, help="SGD steps per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per result (median)")
    parser.add_argument("--impls", nargs="+", default=list(IMPLEMENTATIONS), choices=IMPLEMENTATIONS)
    parser.add_argument("--algo", default="ppo-lag", help="rllib-safe algorithm of the learner rows (and "
                        "whose config sets the plain rows' networks, lr and clipping)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where every row runs")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here (torch.cuda.is_available() is False)")
    record.set_torch_threads(args.torch_threads)
    for minibatch_size in args.minibatch_sizes:
        for impl in args.impls:
            row = {"impl": impl, "algo": args.algo if impl not in ("eager", "compiled") else None,
                   "minibatch_size": minibatch_size, "steps": args.steps, "threads": args.torch_threads,
                   "device": args.device}
            measured = measure(impl, args.algo, minibatch_size, args.steps, args.repeats, args.device)
            record.emit(row | measured, args.out)


if __name__ == "__main__":
    main()
