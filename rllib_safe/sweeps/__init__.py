"""Multi-seed sensitivity sweeps: YAML specs, a Ray Tune runner and reports."""

from rllib_safe.sweeps.spec import SPEC_FILE_NAME, SpecError, SweepSpec, load_spec

__all__ = ["SPEC_FILE_NAME", "SpecError", "SweepSpec", "load_spec"]
