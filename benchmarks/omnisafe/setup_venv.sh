#!/usr/bin/env bash
# Builds OmniSafe 0.5.0's own venv (default: .venv-omnisafe at the repo root), apart from ours:
# it needs gymnasium 0.28 and numpy < 1.24, rllib-safe gymnasium 1.x and numpy 2.x.
# Order matters: torch's local CPU wheel first (a looser pin pulls GBs of CUDA packages), then the
# runtime deps with exact pins, then safety-gymnasium and omnisafe without deps (safety-gymnasium's
# pygame pin has no Python 3.11 wheel), then the Python 3.11 dataclass patch of safety-gymnasium.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-.venv-omnisafe}"
PYTHON="${PYTHON:-python3}"
rm -f "$VENV/.installed"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install --quiet torch==2.13.0
$PIP install --quiet -r "$HERE/requirements.txt"
$PIP install --quiet --no-deps safety-gymnasium==1.0.0 omnisafe==0.5.0
"$VENV/bin/python" "$HERE/patch_safety_gymnasium.py"
"$VENV/bin/python" -c "import omnisafe, safety_gymnasium; print('omnisafe', omnisafe.__version__)"
touch "$VENV/.installed"
