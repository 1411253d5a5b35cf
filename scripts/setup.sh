#!/usr/bin/env bash
# Creates (or updates) the virtual environment that every Makefile target uses.
# Order matters: torch's CPU build first so no CUDA wheels are pulled, then the
# package with its exact pins, then safety-gymnasium without its (conflicting) pins.
set -euo pipefail
VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install --quiet --upgrade pip
$PIP install --quiet torch==2.13.0
$PIP install --quiet -e ".[test,mlflow,wandb,search]"  # every extra: the tests cover them all
$PIP install --quiet --no-deps safety-gymnasium==1.0.0
touch "$VENV/.installed"
