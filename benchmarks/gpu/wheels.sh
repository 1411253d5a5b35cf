#!/usr/bin/env bash
# Offline installation for the GPU check (benchmarks/gpu/README.md), run on a machine that
# reaches a package registry: downloads rllib-safe's runtime dependencies as wheels for
# CPython 3.12 on x86-64 Linux, except torch and the packages the target machine already
# holds (IMAGE below; edit it for yours). For transfers limited in size, the wheels are cut
# into parts of at most 30 MiB and dealt into bundles .whl/1, .whl/2, ... of at most 60 MiB;
# benchmarks/gpu/check.sh stages the bundles and reassembles the wheels on the GPU machine.
#
#     bash benchmarks/gpu/wheels.sh [.whl]
set -euo pipefail
DEST="${1:-.whl}"
PY="${PY:-.venv/bin/python}"
PLATFORMS=()
for tag in manylinux_2_{17,24,27,28,31,34,35}_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    PLATFORMS+=(--platform "$tag")
done
TARGET=(--only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none "${PLATFORMS[@]}")
# On the target image already: its own versions serve (numpy too, which its torch was built
# against).
IMAGE="numpy scipy pandas pyarrow matplotlib contourpy cycler fonttools kiwisolver pillow pyparsing
python-dateutil six pytz tzdata requests urllib3 idna certifi charset-normalizer pyyaml protobuf
msgpack packaging filelock click aiohttp aiosignal frozenlist multidict yarl propcache
aiohappyeyeballs attrs grpcio fsspec jinja2 markupsafe imageio typing-extensions hypothesis
sortedcontainers pytest pluggy iniconfig absl-py cloudpickle psutil prometheus-client rich
markdown-it-py mdurl pygments tensorboard tensorboard-data-server werkzeug markdown
scikit-image networkx lazy-loader tifffile opencv-python-headless tqdm h11 httpx httpcore anyio
sympy mpmath torch triton setuptools wheel pip
imageio-ffmpeg py-spy"  # the last two: not needed by the check (videos, profiling)

rm -rf "$DEST" && mkdir -p "$DEST/all"
deps=$("$PY" - <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print(" ".join(d.split("#")[0].strip() for d in project["dependencies"] if not d.startswith("torch")))
PY
)
# shellcheck disable=SC2086
"$PY" -m pip download --quiet "${TARGET[@]}" -d "$DEST/all" $deps
"$PY" -m pip download --quiet "${TARGET[@]}" --no-deps -d "$DEST/all" safety-gymnasium==1.0.0
for name in $IMAGE; do
    pattern=$(echo "$name" | tr '-' '_')
    rm -f "$DEST/all/${pattern}"-[0-9]*.whl "$DEST/all/${name}"-[0-9]*.whl
done
# Cut, then deal the parts into bundles of at most 60 MiB.
mkdir -p "$DEST/parts"
for wheel in "$DEST"/all/*.whl; do
    split --bytes=30M --numeric-suffixes=1 --suffix-length=2 "$wheel" "$DEST/parts/$(basename "$wheel").part"
done
bundle=1 size=0 limit=$((60 * 1024 * 1024))
for part in $(ls -S "$DEST"/parts/*); do
    bytes=$(stat -c %s "$part")
    if [ $((size + bytes)) -gt $limit ]; then bundle=$((bundle + 1)) size=0; fi
    mkdir -p "$DEST/$bundle" && mv "$part" "$DEST/$bundle/" && size=$((size + bytes))
done
rm -rf "$DEST/all" "$DEST/parts"
du -sh "$DEST"/[0-9]*
