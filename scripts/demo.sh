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
echo "== The graph IR of examples/bnn_mlp.bnn as lowered (bnnc --emit=ir --no-passes)"
"$bnnc" --emit=ir --no-passes examples/bnn_mlp.bnn

# The main job: train briefly, check the compiled code against the runtime,
# compile to an object + header, build examples/embed against them (no libbnn
# linked) and classify the test set with it.
data=${DATA_DIR:-/usr/share/datasets/fashion-mnist}
out="$build/demo"
mkdir -p "$out"
cp examples/bnn_mlp.bnn "$out/bnn_mlp.bnn"
echo
echo "== Train examples/bnn_mlp.bnn for 1 epoch on $data (bnnc --train)"
"$bnnc" --train "$out/bnn_mlp.bnn" --data "$data" --epochs 1
echo
echo "== Evaluate it with the runtime (bnnc --eval)"
eval_line=$("$bnnc" --eval "$out/bnn_mlp.bnn" --data "$data" -q)
echo "$eval_line"
echo
echo "== What it costs (bnnc --stats)"
"$bnnc" --stats "$out/bnn_mlp.bnn"
echo
echo "== The compiled model against the runtime (bnnc --verify)"
"$bnnc" --verify "$out/bnn_mlp.bnn" --data "$data"
echo
echo "== Compile it: $build/bnn_mlp.o + $build/bnn_mlp.h"
"$bnnc" "$out/bnn_mlp.bnn" -o "$build/bnn_mlp.o" -H "$build/bnn_mlp.h"
ls -l "$build/bnn_mlp.o" "$build/bnn_mlp.h"
echo
echo "== Build examples/embed against the trained weights (bnnc_add_model) and run it"
cmake -S . -B "$build" -DBNNC_EMBED_WEIGHTS="$(cd "$out" && pwd)/bnn_mlp.safetensors" > /dev/null
cmake --build "$build" --target embed -j"$(nproc)"
embed_line=$("$build/examples/embed/embed" "$data")
echo "$embed_line"
echo
echo "runtime (bnnc --eval):      $(echo "$eval_line" | sed -n 's/.*test accuracy \([0-9.]*%\).*/\1/p')"
echo "compiled (examples/embed):  $(echo "$embed_line" | sed -n 's/.*test accuracy \([0-9.]*%\).*/\1/p')" \
     "at $(echo "$embed_line" | sed -n 's/.*, \([0-9.]* us\) per image.*/\1/p') per image"
