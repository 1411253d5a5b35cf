"""The speed layer: RLlib's hot paths re-implemented with the same results, faster.

Nothing here is safe RL. Each piece replaces a piece of RLlib (or gymnasium) that does the same
work with more Python around it, and each is proved equal to what it replaces by the test named
below (tests/speed/ mirrors this package). On a Ray upgrade, this package and
``rllib_safe.rllib_private`` are what must be re-read.

===========================  ============================================  ==========================================
module                       replaces                                      proved equal by (tests/speed/...)
===========================  ============================================  ==========================================
``update``                   ``Learner.update``'s epoch x minibatch loop   ``test_update.py``: same weights and metrics
                             (``FastUpdateMixin``): minibatches gathered   as RLlib's loop with one and two learners
                             by index on the device, metrics logged once   (``test_*_same_update_as_rllibs_loop``),
                             per update (``DeferredMetrics``)              ``test_deferred_metrics_reduce_as_the_
                                                                           logger_does``, ``test_compiled_step_
                                                                           matches_eager``
``minibatches``              ``MiniBatchCyclicIterator``'s row order and   ``test_minibatches.py``: same rows, same
                             reshuffles, as index arrays                   permutations, same RNG state after
``optim``                    ``torch.optim.Adam`` (fused) and RLlib's      ``test_optim.py``: every learner's Adam is
                             ``clip_gradients(grad_clip_by=                fused; clipping equals ``clip_gradients``
                             "global_norm")`` (foreach kernels)
``sampling_connectors``      the EnvRunner's connector pipelines: their    ``test_sampling_connectors.py``: RLlib's
                             per-piece timers, ``MeanStdFilter``'s per-    statistics and state, batched actions and
                             observation update, the default env-to-       observations as RLlib's pieces give them,
                             module and module-to-env pieces, fused        the same episodes from the same seed
``env_runner``               ``SingleAgentEnvRunner`` (``SafeEnvRunner``:  ``test_env_runner.py``: the episodes RLlib's
                             leaner vector env, rows split as arrays,      EnvRunner samples; every callback that
                             ``on_episode_step`` only where wanted)        wants a step sees it
``vector_env``               gymnasium's ``DictInfoToList(SyncVector       ``test_vector_env.py``: gymnasium's results
                             Env)`` (``ListInfoSyncVectorEnv``)            through episode ends, each env's own infos
``module_sampling``          ``forward_exploration`` + the ``GetActions``  ``test_module_sampling.py``: RLlib's
                             piece for a diagonal Gaussian policy          Gaussian sample, logp and dist inputs
                             (``GaussianSamplingInModule``)                for the same seed
===========================  ============================================  ==========================================

Where the safe-RL rooms plug it in (the only places that name this package):

* ``algorithms/safe_ppo/safe_ppo.py``: ``env_runner_cls = SafeEnvRunner``;
  ``algorithms/safe_ppo/pipelines.py``: the EnvRunner pipelines (``MeanStdFilter``,
  ``fused_default_pieces``, ``timed_as_one``);
* ``algorithms/safe_ppo/safe_ppo_torch_learner.py``: ``FastUpdateMixin`` (``fast_update``
  selects it or RLlib's loop; its ``after_epochs`` hook carries the train batch to the switching
  learners' trust-region step in either loop), ``adam``, ``clip_by_global_norm_``;
  ``smpo_torch_learner.py``: ``adam``;
* ``modules/safe_ppo_rl_module.py``: ``GaussianSamplingInModule``.

The modules are imported where used (this ``__init__`` imports none of them).
"""
