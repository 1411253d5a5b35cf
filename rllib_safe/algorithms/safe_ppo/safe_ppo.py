"""The shared base of every rllib-safe algorithm: PPO with a cost pipeline.

``SafePPOConfig`` adds the cost settings (limit, cost GAE, cost critic) and sets the
safe-RL defaults of OmniSafe instead of RLlib's PPO defaults. ``SafePPO`` samples, measures
J_c (the mean undiscounted episode cost over the last ``episode_cost_window`` episodes) on
the EnvRunners and hands it to the learners with each update. The unconstrained baseline
(``--algo ppo``) is ``UnconstrainedPPO``, which adds nothing to this base.

Beside this module: ``resources.py`` (GPUs and CPUs of the cluster, the GPU fallback),
``pipelines.py`` (the EnvRunners' connector pipelines); renamed settings are
``rllib_safe.renamed``'s.
"""

from __future__ import annotations

import math
from typing import Any, get_args

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.ppo import PPO, PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import (
    ALL_MODULES,
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_MODULE_STEPS_TRAINED_LIFETIME,
    SYNCH_WORKER_WEIGHTS_TIMER,
    TIMERS,
)

from rllib_safe.algorithms.safe_ppo.pipelines import env_to_module_pipeline, module_to_env_pipeline
from rllib_safe.algorithms.safe_ppo.resources import check_learner_gpus, learner_gpu_fallback, warn_if_ray_lacks_cpus
from rllib_safe.checks import check_choice, check_count, check_range
from rllib_safe.connectors.columns import (
    CUMULATIVE_COST_INFO,
    EPISODE_LENGTH_INFO,
    EPISODE_RETURN_INFO,
    TIMESTEP_EPISODE_COST,
    TIMESTEP_ITERATION,
)
from rllib_safe.connectors.cost_gae import AdvantageNormalization
from rllib_safe.connectors.safety_metrics_callback import SafetyMetricsCallback
from rllib_safe.core.episode_cost import EpisodeWindow, RecentEpisodeCosts
from rllib_safe.metrics import (
    EPISODE_COST_ITERATION_MEAN,
    EPISODE_COST_MEAN,
    EPISODE_LENGTH_WINDOW_MEAN,
    EPISODE_RETURN_WINDOW_MEAN,
    EPISODES_IN_COST_WINDOW,
    EPISODES_OVER_LIMIT,
)
from rllib_safe.renamed import RenamedSettings
from rllib_safe.rllib_private import sample_episodes, wants_component
from rllib_safe.speed.env_runner import SafeEnvRunner

#: Key of J_c's episode window in the algorithm's (checkpointed) state.
EPISODE_COST_WINDOW_STATE = "episode_cost_window"
#: Keys of the same episodes' returns and lengths (absent from checkpoints written before them:
#: those windows then start empty, and fill with the next finished episodes).
EPISODE_RETURN_WINDOW_STATE = "episode_return_window"
EPISODE_LENGTH_WINDOW_STATE = "episode_length_window"
#: Key of the steering J_c's episodes (``steering_cost_env_steps``; absent without it).
STEERING_COSTS_STATE = "steering_costs"

#: Settings in ``training()`` shared by every safe algorithm, with their defaults.
SAFE_TRAINING_DEFAULTS: dict[str, Any] = {
    "cost_limit": 25.0,
    "cost_gamma": 0.99,
    "cost_lambda": 0.95,
    "cost_vf_loss_coeff": 1.0,
    "cost_advantage_normalization": "center",
    "normalize_observations": True,
    "episode_cost_window": 100,
    "steering_cost_env_steps": None,
    "steering_cost_min_episodes": 5,
    "allow_gpu_fallback": False,
    "fast_update": True,
    "target_kl": None,
    "compile_sgd_step": False,
}


class SafePPOConfig(RenamedSettings, PPOConfig):
    """PPO config with the cost settings every safe algorithm shares.

    Example:
        >>> config = SafePPOConfig().environment("SafetyPointGoal1-v0").training(cost_limit=25)
        >>> algo = config.build_algo()
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or SafePPO)
        # Safe-RL defaults (OmniSafe), not RLlib's PPO defaults (docs/rllib-notes.md, trap 7).
        self.lr = 3e-4
        self.gamma = 0.99
        self.lambda_ = 0.95
        self.clip_param = 0.2
        self.use_kl_loss = False
        self.kl_coeff = 0.0
        self.entropy_coeff = 0.0
        self.vf_clip_param = float("inf")  # docs/rllib-notes.md trap 3: clipping the squared error kills its gradient
        self.grad_clip = 40.0
        self.grad_clip_by = "global_norm"
        self.num_epochs = 10
        self.train_batch_size_per_learner = 4000
        self.minibatch_size = 256
        self.num_envs_per_env_runner = 8  # 2x8: ~71% of the per-core raw rate (README: Performance)
        self.env_runner_cls = SafeEnvRunner  # RLlib's, on a leaner vector env (speed/vector_env.py)
        self.torch_skip_nan_gradients = True  # skips a per-parameter isfinite sync per step
        self.callbacks_class = SafetyMetricsCallback
        self._update_settings(SAFE_TRAINING_DEFAULTS)

    def _update_settings(self, values: dict[str, Any], names=None) -> None:
        """Sets ``values[name]`` for each of ``names`` (default: all), skipping NotProvided ones.

        Subclasses call it with their defaults in ``__init__`` and with ``locals()`` of their
        ``training()`` (``names`` = their defaults' keys). Old names of renamed settings are
        ``rllib_safe.renamed``'s (``RenamedSettings`` translates them before ``training()`` runs).
        """
        for name in values if names is None else names:
            if values[name] is not NotProvided:
                setattr(self, name, values[name])

    @override(PPOConfig)
    def environment(self, env=NotProvided, **kwargs) -> SafePPOConfig:
        """As RLlib's; safety-gymnasium and Safety-MuJoCo ids are registered with Tune first."""
        if isinstance(env, str) and env.startswith("Safety"):
            from rllib_safe.envs import register_envs

            register_envs()
        return super().environment(env, **kwargs)

    @override(PPOConfig)
    def training(
        self,
        *,
        cost_limit: float = NotProvided,
        cost_gamma: float = NotProvided,
        cost_lambda: float = NotProvided,
        cost_vf_loss_coeff: float = NotProvided,
        cost_advantage_normalization: AdvantageNormalization = NotProvided,
        normalize_observations: bool = NotProvided,
        episode_cost_window: int = NotProvided,
        steering_cost_env_steps: int | None = NotProvided,
        steering_cost_min_episodes: int = NotProvided,
        allow_gpu_fallback: bool = NotProvided,
        fast_update: bool = NotProvided,
        target_kl: float | None = NotProvided,
        compile_sgd_step: bool = NotProvided,
        **kwargs,
    ) -> SafePPOConfig:
        """PPO's training settings plus the cost settings.

        Args:
            cost_limit: d, the budget on the undiscounted episode cost.
            cost_gamma: Discount of the cost GAE.
            cost_lambda: Lambda of the cost GAE.
            cost_vf_loss_coeff: Weight of the cost critic's loss.
            cost_advantage_normalization: "center" (OmniSafe), "standardize" or "none".
            normalize_observations: Running mean/std observation filter on the EnvRunners.
            episode_cost_window: Number of finished episodes J_c is averaged over.
            steering_cost_env_steps: None (default): the learners steer by that J_c. An
                integer N: they steer by the mean cost of the episodes that finished within
                the last N env steps sampled (``rllib_safe.core.episode_cost.RecentEpisodeCosts``),
                a lag set in env steps; the reported J_c stays the ``episode_cost_window`` one.
            steering_cost_min_episodes: With ``steering_cost_env_steps``: where fewer episodes
                finished within the N env steps, the last this many finished episodes.
            allow_gpu_fallback: With ``num_gpus_per_learner > 0`` and no GPU available,
                train the learners on CPU (with a warning) instead of failing.
            fast_update: Run each update's epoch x minibatch loop in one call, minibatches
                gathered by index on the learner's device (``rllib_safe.speed.update``); the same
                minibatches and weights as RLlib's loop, which False selects.
            target_kl: OmniSafe's early stop: after each epoch, end the update once the mean
                KL(pi_old || pi) over the batch exceeds it (logged as ``policy_kl`` and
                ``epochs_run``). None: all ``num_epochs`` run. Needs ``fast_update``. Not
                RLlib's ``kl_target``, which steers the KL-loss coefficient.
            compile_sgd_step: Run the forward pass and losses of each SGD step under
                ``torch.compile`` (fast path, one learner); falls back to eager mode with a
                warning where compiling fails.
        """
        super().training(**kwargs)
        self._update_settings(locals(), SAFE_TRAINING_DEFAULTS)
        return self

    @property
    @override(PPOConfig)
    def _model_config_auto_includes(self) -> dict[str, Any]:  # listed in rllib_private.PRIVATE_OVERRIDES
        # OmniSafe's networks: 64-64 tanh, separate critics, state-independent log-std
        # (SafePPOCatalog drops the log-std for non-Box action spaces).
        return super()._model_config_auto_includes | {
            "fcnet_hiddens": [64, 64],
            "fcnet_activation": "tanh",
            "vf_share_layers": False,
            "free_log_std": True,
        }

    @override(PPOConfig)
    def validate(self) -> None:
        check_learner_gpus(self)  # docs/rllib-notes.md trap 4; the fallback is learner_gpu_fallback's
        self.check_not_retired()
        super().validate()
        check_range("cost_limit", self.cost_limit, 0.0, math.inf)
        check_range("cost_gamma", self.cost_gamma, 0.0, 1.0, low_open=True)
        check_range("cost_lambda", self.cost_lambda, 0.0, 1.0)
        check_range("cost_vf_loss_coeff", self.cost_vf_loss_coeff, 0.0, math.inf)
        check_range("gamma", self.gamma, 0.0, 1.0, low_open=True)
        check_range("lambda_", self.lambda_, 0.0, 1.0)
        check_count("episode_cost_window", self.episode_cost_window, 1)
        if self.steering_cost_env_steps is not None:
            check_count("steering_cost_env_steps", self.steering_cost_env_steps, 1)
        check_count("steering_cost_min_episodes", self.steering_cost_min_episodes, 1)
        normalization = self.cost_advantage_normalization
        check_choice("cost_advantage_normalization", normalization, get_args(AdvantageNormalization))
        self._check_update_path()
        if self.is_multi_agent and self.env_runner_cls is SafeEnvRunner:
            raise ValueError(
                "`env_runner_cls` = SafeEnvRunner runs single-agent envs; a multi-agent config needs "
                "env_runners(env_runner_cls=MultiAgentEnvRunner)."
            )
        if self.model_config.get("vf_share_layers") or self.model_config.get("use_lstm"):
            raise ValueError(
                "`model_config` must keep vf_share_layers=False and use_lstm=False: the "
                "actor's parameters must be exactly the actor encoder and the pi head."
            )

    def _check_update_path(self) -> None:
        """target_kl and compile_sgd_step exist only in the fast update path."""
        check_choice("fast_update", self.fast_update, (True, False))
        check_choice("compile_sgd_step", self.compile_sgd_step, (True, False))
        if self.target_kl is not None:
            check_range("target_kl", self.target_kl, 0.0, math.inf, low_open=True, high_open=True)
        for name, value in (("target_kl", self.target_kl), ("compile_sgd_step", self.compile_sgd_step)):
            if value not in (None, False) and not self.fast_update:
                raise ValueError(f"`{name}` = {value!r} needs `fast_update=True` (RLlib's own loop has no {name}).")
        if self.compile_sgd_step and self.num_learners > 1:
            raise ValueError(
                f"`compile_sgd_step` = True is invalid with num_learners = {self.num_learners}: "
                "compiling is supported with one learner only (torch.compile with DDP is untested)."
            )

    @override(PPOConfig)
    def get_default_learner_class(self):
        from rllib_safe.algorithms.safe_ppo.safe_ppo_torch_learner import SafePPOTorchLearner

        return SafePPOTorchLearner

    @override(PPOConfig)
    def get_default_rl_module_spec(self) -> RLModuleSpec:
        from rllib_safe.modules import SafePPOCatalog, SafePPOTorchRLModule

        return RLModuleSpec(module_class=SafePPOTorchRLModule, catalog_class=SafePPOCatalog)

    @override(PPOConfig)
    def build_env_to_module_connector(self, env=None, spaces=None, device=None):
        return env_to_module_pipeline(
            super().build_env_to_module_connector(env=env, spaces=spaces, device=device),
            normalize_observations=self.normalize_observations,
            multi_agent=self.is_multi_agent,
            device=device,
        )

    @override(PPOConfig)
    def build_module_to_env_connector(self, env=None, spaces=None):
        pipeline = super().build_module_to_env_connector(env=env, spaces=spaces)
        return module_to_env_pipeline(pipeline, multi_agent=self.is_multi_agent)


class SafePPO(PPO):
    """PPO whose learners receive the measured episode cost J_c with every update.

    J_c is kept here, on the driver, as the mean cost of the last ``episode_cost_window``
    finished episodes of every EnvRunner (``EpisodeWindow``), each episode counted once;
    the window is part of the algorithm's checkpointed state. Before the first episode has
    finished there is no measurement: the learners are told none (``episode_cost`` None) and
    each algorithm documents what it does then.
    """

    @classmethod
    @override(PPO)
    def get_default_config(cls) -> SafePPOConfig:
        return SafePPOConfig()

    def __init__(self, config=None, env=None, **kwargs):
        # The config the algorithm is built from, with CPU learners where it allows the GPU fallback.
        super().__init__(learner_gpu_fallback(config), env, **kwargs)

    @classmethod
    @override(PPO)
    def default_resource_request(cls, config):
        # What Tune reserves for a trial: the same fallback as the trial's algorithm will apply.
        return super().default_resource_request(learner_gpu_fallback(config))

    @override(PPO)
    def setup(self, config) -> None:
        warn_if_ray_lacks_cpus(self.config)
        super().setup(config)
        self.episode_cost_window = EpisodeWindow(self.config.episode_cost_window)
        self.episode_return_window = EpisodeWindow(self.config.episode_cost_window)
        self.episode_length_window = EpisodeWindow(self.config.episode_cost_window)
        self.steering_costs = None
        if self.config.steering_cost_env_steps is not None:
            self.steering_costs = RecentEpisodeCosts(
                self.config.steering_cost_env_steps, self.config.steering_cost_min_episodes
            )

    def episode_windows(self) -> dict[str, EpisodeWindow]:
        """The finished episodes' windows by their key in the algorithm's state."""
        return {
            EPISODE_COST_WINDOW_STATE: self.episode_cost_window,
            EPISODE_RETURN_WINDOW_STATE: self.episode_return_window,
            EPISODE_LENGTH_WINDOW_STATE: self.episode_length_window,
        }

    def measured_episode_cost(self) -> float | None:
        """J_c: mean undiscounted cost of the last finished episodes; None before the first."""
        return self.episode_cost_window.mean()

    def steering_episode_cost(self) -> float | None:
        """The J_c the learners steer by: ``measured_episode_cost``, or with ``steering_cost_env_steps``
        the mean cost of the episodes of the last that many env steps; None before the first episode."""
        if self.steering_costs is None:
            return self.measured_episode_cost()
        return self.steering_costs.mean()

    def record_finished_episodes(self, episodes) -> None:
        """Adds the cost, return and length of the episodes that finished in ``episodes`` to their
        windows and logs J_c, the return and length over the same episodes, this iteration's mean
        cost and the share of the window over the limit."""
        last_infos = [episode.get_infos(-1) for episode in episodes if episode.is_done]
        finished = [float(info[CUMULATIVE_COST_INFO]) for info in last_infos]
        self.episode_cost_window.extend(finished)
        if self.steering_costs is not None:
            self.steering_costs.extend(
                finished, self.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)
            )
        # Written by SafetyMetricsCallback.on_episode_end (absent only where a user replaced it).
        for window, key in ((self.episode_return_window, EPISODE_RETURN_INFO),
                            (self.episode_length_window, EPISODE_LENGTH_INFO)):
            window.extend(info[key] for info in last_infos if key in info)
        results = {
            EPISODE_COST_MEAN: self.episode_cost_window.mean(),
            EPISODE_RETURN_WINDOW_MEAN: self.episode_return_window.mean(),
            EPISODE_LENGTH_WINDOW_MEAN: self.episode_length_window.mean(),
            EPISODE_COST_ITERATION_MEAN: sum(finished) / len(finished) if finished else None,
            EPISODES_OVER_LIMIT: self.episode_cost_window.fraction_over(self.config.cost_limit),
            EPISODES_IN_COST_WINDOW: len(self.episode_cost_window),
        }
        for name, value in results.items():
            if value is not None:
                self.metrics.log_value((ENV_RUNNER_RESULTS, name), value, window=1)

    def kept_episode_state(self) -> dict:
        """Every record of finished episodes the algorithm checkpoints, by its key in the state."""
        kept = dict(self.episode_windows())
        if self.steering_costs is not None:
            kept[STEERING_COSTS_STATE] = self.steering_costs
        return kept

    @override(PPO)
    def get_state(self, components=None, *, not_components=None, **kwargs):
        state = super().get_state(components, not_components=not_components, **kwargs)
        for key, window in self.kept_episode_state().items():
            if wants_component(self, key, components, not_components):
                state[key] = window.get_state()
        return state

    @override(PPO)
    def set_state(self, state) -> None:
        super().set_state(state)
        for key, window in self.kept_episode_state().items():
            if key in state:
                window.set_state(state[key])

    @override(PPO)
    def training_step(self) -> None:
        # PPO's new-stack step, with J_c and the iteration passed to the learners.
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, env_runner_results = sample_episodes(self)
            if not episodes:
                return
            self.metrics.aggregate(env_runner_results, key=ENV_RUNNER_RESULTS)
        self.record_finished_episodes(episodes)

        episode_cost = self.steering_episode_cost()
        safety_timesteps = {TIMESTEP_ITERATION: self.iteration}
        if episode_cost is not None:
            safety_timesteps[TIMESTEP_EPISODE_COST] = episode_cost
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            learner_results = self.learner_group.update(
                episodes=episodes,
                timesteps={
                    NUM_ENV_STEPS_SAMPLED_LIFETIME: self.metrics.peek(
                        (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
                    ),
                    NUM_MODULE_STEPS_TRAINED_LIFETIME: self.metrics.peek(
                        (LEARNER_RESULTS, ALL_MODULES, NUM_MODULE_STEPS_TRAINED_LIFETIME),
                        default=0,
                    ),
                    **safety_timesteps,
                },
                num_epochs=self.config.num_epochs,
                minibatch_size=self.config.minibatch_size,
                shuffle_batch_per_epoch=self.config.shuffle_batch_per_epoch,
            )
            self.metrics.aggregate(learner_results, key=LEARNER_RESULTS)

        with self.metrics.log_time((TIMERS, SYNCH_WORKER_WEIGHTS_TIMER)):
            self.env_runner_group.sync_weights(
                from_worker_or_learner_group=self.learner_group,
                policies=set(learner_results[0].keys()) - {ALL_MODULES},
                inference_only=True,
            )
