"""Moved to ``rllib_safe.connectors.safety_metrics_callback``; kept for checkpoints.

Checkpoints written before the move pickle their config's ``callbacks_class`` by this module's
path, so restoring them needs the name here. New code imports it from
``rllib_safe.connectors``.
"""

from rllib_safe.connectors.safety_metrics_callback import SafetyMetricsCallback

__all__ = ["SafetyMetricsCallback"]
