"""rllib-safe's benchmarks: speed and learning, one JSON line per result (benchmarks/README.md).

Each benchmark is a module run from the repository root, ``python -m benchmarks.NAME --help``;
:mod:`benchmarks.record` is their shared frame (options, torch and Ray start, the JSON writer
with each line's provenance).
"""
