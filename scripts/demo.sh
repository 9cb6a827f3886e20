#!/usr/bin/env bash
# The README's main command: installs what bnnc needs, builds it (optimised),
# and runs the main job end to end on the example BNN MLP.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$(nproc)"
bnnc="$build/compiler/driver/bnnc"

echo
echo "== bnnc --version"
"$bnnc" --version
echo
echo "== The graph IR of examples/bnn_mlp.bnn (bnnc --emit=ir)"
"$bnnc" --emit=ir examples/bnn_mlp.bnn
