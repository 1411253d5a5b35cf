#!/usr/bin/env bash
# GPU check (benchmarks/gpu/README.md): the per-SGD-step figure at minibatch 64 and 4096
# (benchmarks/sgd_step.py --device cuda: plain eager torch, our fast path, RLlib's loop) and a
# short PPO-Lag and PCRPO run with the learner on the GPU (num_gpus_per_learner=1). Results
# under $OUT (default results/gpu_check).
#
# With rllib-safe installed:  SKIP_INSTALL=1 PY=python PYTHONPATH=$PWD bash benchmarks/gpu/check.sh run
# CPU dry run:                SKIP_INSTALL=1 DEVICE=cpu RUNNERS=1 PY=.venv/bin/python PYTHONPATH=$PWD \
#                                 bash benchmarks/gpu/check.sh run
# Offline, from the wheel bundles of benchmarks/gpu/wheels.sh (.whl/1 .. .whl/N, copied over):
#     bash benchmarks/gpu/check.sh stage .whl/1     # ... each bundle but the last
#     bash benchmarks/gpu/check.sh run .whl/N       # the last: installs into $SITE, then runs
set -euo pipefail
STAGE=/tmp/rllib-safe-wheels SITE=/tmp/rllib-safe-site
OUT="${OUT:-results/gpu_check}" DEVICE="${DEVICE:-cuda}" PY="${PY:-python3}" RUNNERS="${RUNNERS:-4}"
mode="${1:?usage: check.sh stage|run [BUNDLE]}" bundle="${2:-}"
export PYTHONUNBUFFERED=1

if [ -n "$bundle" ]; then mkdir -p "$STAGE" && cp "$bundle"/* "$STAGE"/ && ls "$STAGE" | wc -l; fi
[ "$mode" = stage ] && exit 0
[ "$mode" = run ] || { echo "check.sh: mode '$mode' is not one of: stage, run" >&2; exit 2; }

mkdir -p "$OUT"
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    mkdir -p "$STAGE/whl"
    for first in "$STAGE"/*.part01; do
        wheel=$(basename "${first%.part01}")
        cat "$STAGE/$wheel".part* > "$STAGE/whl/$wheel"
    done
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$STAGE"/whl/*.whl
    export PYTHONPATH="$SITE:$PWD"
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true; "$PY" -c "import torch, ray; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'ray', ray.__version__)"; } | tee "$OUT/machine.txt"

"$PY" -m benchmarks.sgd_step --device "$DEVICE" --minibatch-sizes 64 4096 --impls eager fast_path rllib_loop \
    --steps 200 --repeats 3 | tee "$OUT/sgd_step.jsonl"

gpus=$([ "$DEVICE" = cuda ] && echo 1 || echo 0)
for algo in ppo-lag pcrpo; do
    "$PY" -m rllib_safe train --algo "$algo" --env SafetyHopperVelocity-v1 --cost-limit 25 --timesteps 16000 \
        --seed 0 --set num_gpus_per_learner="$gpus" --set num_env_runners="$RUNNERS" --run-dir "$OUT/run-$algo" \
        2>&1 | tail -25 | tee "$OUT/train-$algo.txt"
done
