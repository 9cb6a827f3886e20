#!/usr/bin/env bash
# Command-line training tests on a generated data set (make_dataset):
#   train -> eval accuracy, determinism, resume == uninterrupted (bit for bit),
#   Ctrl-C saves a checkpoint that resumes, metrics CSV and SVG plot,
#   bad data directories and weights files give clear errors.
# Usage: train_test.sh BNNC MAKE_DATASET EXAMPLES_DIR
set -u
bnnc=$1 make_dataset=$2 examples=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

"$make_dataset" "$work/data" 3000 500 7 || { echo "make_dataset failed"; exit 1; }
common=(--data "$work/data" --threads 1 -q)

# 1. A binary MLP learns the data set; --eval reproduces the last test accuracy.
cat > "$work/small_bnn.bnn" <<'M'
model small_bnn
input 784 u8 normalize mean=0.5 std=0.5
binlinear 784 -> 256 real
batchnorm
binlinear 256 -> 256
batchnorm
linear 256 -> 10
train {
  optimizer adam lr=0.01
  batch 100
  epochs 3
}
M
out=$("$bnnc" --train "$work/small_bnn.bnn" "${common[@]}" --metrics "$work/m.csv" --plot "$work/p.svg" 2>&1)
check '[ $? -eq 0 ]' "training exits 0: $out"
last=$(echo "$out" | grep '^epoch 3/3')
acc=$(echo "$last" | sed -n 's/.*test-acc \([0-9.]*\)%.*/\1/p')
check '[ -n "$acc" ] && awk "BEGIN{exit !($acc >= 90)}"' "test accuracy after 3 epochs >= 90% (got '$acc'): $out"
check '[ -f "$work/small_bnn.safetensors" ] && [ -f "$work/small_bnn.safetensors.ckpt" ]' "weights and checkpoint beside the model"
check '[ "$(wc -l < "$work/m.csv")" -eq 4 ] && head -1 "$work/m.csv" | grep -q "^epoch,loss,train_acc,test_acc,lr,seconds$"' "metrics CSV has a header and 3 rows"
check 'grep -q "<polyline" "$work/p.svg"' "SVG plot drawn"
eval_out=$("$bnnc" --eval "$work/small_bnn.bnn" --data "$work/data" --predictions "$work/pred.txt" 2>&1)
check 'echo "$eval_out" | grep -q "test accuracy ${acc}0*%"' "eval accuracy equals the last epoch's ($acc): $eval_out"
check '[ "$(wc -l < "$work/pred.txt")" -eq 500 ]' "one prediction per test image"
check 'echo "$eval_out" | grep -q "^confusion matrix"' "eval prints a confusion matrix"

# 2. Determinism and resume: 2 epochs == 1 epoch + resume to 2, bit for bit.
"$bnnc" --train "$work/small_bnn.bnn" "${common[@]}" --epochs 2 -o "$work/a.safetensors" > "$work/a.log" 2>&1
"$bnnc" --train "$work/small_bnn.bnn" "${common[@]}" --epochs 2 -o "$work/a2.safetensors" > "$work/a2.log" 2>&1
check 'cmp -s "$work/a.safetensors" "$work/a2.safetensors"' "same seed gives identical weights"
check 'diff <(cut -d" " -f1-9 "$work/a.log") <(cut -d" " -f1-9 "$work/a2.log") > /dev/null' "same seed gives the same loss curve"
"$bnnc" --train "$work/small_bnn.bnn" "${common[@]}" --epochs 1 -o "$work/b.safetensors" > /dev/null 2>&1
"$bnnc" --train "$work/small_bnn.bnn" "${common[@]}" --epochs 2 -o "$work/b.safetensors" --resume "$work/b.safetensors.ckpt" > /dev/null 2>&1
check 'cmp -s "$work/a.safetensors" "$work/b.safetensors"' "1 epoch + resume 1 == 2 epochs, bit for bit"

# 3. Ctrl-C in the middle of an epoch saves a checkpoint; resuming finishes
#    bit-identical to the uninterrupted run.
"$bnnc" --train "$work/small_bnn.bnn" --data "$work/data" --threads 1 --epochs 2 -o "$work/c.safetensors" > "$work/c.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -f "$work/c.safetensors.ckpt" ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
code=$?
if [ $code -eq 130 ]; then
  check 'grep -q "resume with: bnnc --train" "$work/c.log"' "Ctrl-C says how to resume"
  "$bnnc" --train "$work/small_bnn.bnn" "${common[@]}" --epochs 2 -o "$work/c.safetensors" --resume "$work/c.safetensors.ckpt" > /dev/null 2>&1
  check 'cmp -s "$work/a.safetensors" "$work/c.safetensors"' "interrupted + resumed == uninterrupted, bit for bit"
else
  check '[ $code -eq 0 ]' "training interrupted too late finished normally (exit $code)"
fi

# 4. Bad input: clear errors, exit 1, nothing written.
out=$("$bnnc" --train "$work/small_bnn.bnn" --data "$work/nowhere" -o "$work/x.safetensors" 2>&1)
check '[ $? -eq 1 ] && echo "$out" | grep -q "nowhere" && [ ! -e "$work/x.safetensors" ]' "missing data dir: $out"
printf 'not a weights file' > "$work/junk.safetensors"
out=$("$bnnc" --eval "$work/small_bnn.bnn" --data "$work/data" --weights "$work/junk.safetensors" 2>&1)
check '[ $? -eq 1 ] && echo "$out" | grep -q "junk.safetensors"' "malformed weights: $out"
cat > "$work/wide.bnn" <<'M'
model wide
input 784 u8
binlinear 784 -> 300 real
batchnorm
linear 300 -> 10
M
out=$("$bnnc" --eval "$work/wide.bnn" --data "$work/data" --weights "$work/a.safetensors" 2>&1)
check '[ $? -eq 1 ] && echo "$out" | grep -q "0.weight"' "weights of another model are rejected by name: $out"

# 5. A checkpoint resumes only with the optimizer that wrote it.
sed 's/optimizer adam lr=0.01/optimizer sgd lr=0.01/' "$work/small_bnn.bnn" > "$work/sgd.bnn"
sed -i 's/model small_bnn/model small_bnn/' "$work/sgd.bnn"
out=$("$bnnc" --train "$work/sgd.bnn" "${common[@]}" --epochs 2 -o "$work/s.safetensors" --resume "$work/b.safetensors.ckpt" 2>&1)
check '[ $? -eq 1 ] && echo "$out" | grep -q "written by a run with optimizer .adam., this run uses .sgd."' "resume with another optimizer: $out"

# 6. --train on a model without a train block warns in the compiler's format.
out=$("$bnnc" --train "$work/wide.bnn" "${common[@]}" --epochs 1 -o "$work/wide.safetensors" 2>&1)
check 'echo "$out" | grep -q "^$work/wide.bnn: warning: no .train { ... }. block: training with the defaults"' "missing train block warning: $out"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
