#!/usr/bin/env bash
# SIGKILL at random moments during `bnnc --train`, KILLS times (default 24,
# seeded delays within the next one or two epochs): after every kill the weights file and the checkpoint are
# absent (killed before the first epoch ended) or complete, loadable files;
# no more than one temporary file is left behind and leftovers never pile up
# (training removes them when it starts); resuming, kill after kill, ends
# bit-identical to a run that was never interrupted.
# Usage: kill_test.sh BNNC MAKE_DATASET [KILLS]
set -u
bnnc=$1 make_dataset=$2 kills=${3:-24}
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$make_dataset" "$work/data" 1000 200 3 || { echo "make_dataset failed"; exit 1; }
cat > "$work/k.bnn" <<'M'
model k
input 784 u8 normalize mean=0.5 std=0.5
binlinear 784 -> 64 real
batchnorm
binlinear 64 -> 64
batchnorm
dropout 0.2
linear 64 -> 10
train {
  optimizer adam lr=0.01
  batch 50
  epochs 6
}
M
train=("$bnnc" --train "$work/k.bnn" --data "$work/data" --threads 1 -q)

# The uninterrupted reference run, timed: kills land anywhere in [0, its length].
mkdir "$work/ref"
start=$(date +%s%N)
"${train[@]}" -o "$work/ref/w.safetensors" --metrics "$work/ref/m.csv" > /dev/null 2>&1 || { echo "reference run failed"; exit 1; }
span_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$span_ms" -ge 50 ] || span_ms=50
echo "an uninterrupted run takes ${span_ms} ms"
epoch_ms=$((span_ms / 6))
[ "$epoch_ms" -ge 10 ] || epoch_ms=10
rows() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }

run=$work/run
w=$run/w.safetensors ckpt=$run/w.safetensors.ckpt
mkdir "$run"
seed=12345
# rand N sets r to a pseudo-random number in [0, N). Not echoed: a $(rand N)
# subshell would not advance the seed, and every "random" delay would be equal.
rand() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); r=$(( (seed >> 8) % $1 )); }

loadable() { "$bnnc" --eval "$work/k.bnn" --data "$work/data" --weights "$1" -q > /dev/null 2>&1; }
finished=0 resumed=0 absent=0
for i in $(seq 1 "$kills"); do
  args=(-o "$w" --metrics "$run/m.csv")
  [ -f "$ckpt" ] && args+=(--resume "$ckpt") && resumed=$((resumed + 1))
  "${train[@]}" "${args[@]}" > "$work/log" 2>&1 &
  pid=$!
  # Kill at a random moment of the run's next epoch or the one after, judged
  # by the metrics file (a row per finished epoch), not by the clock alone:
  # on a loaded machine a run can take many times the reference's time.
  rows_before=$(rows "$run/m.csv")
  rand 2; wait_epochs=$r
  for _ in $(seq 1 600); do
    [ "$(rows "$run/m.csv")" -ge $((rows_before + wait_epochs)) ] && break
    kill -0 $pid 2> /dev/null || break
    sleep 0.05
  done
  rand "$epoch_ms"; delay=$r
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -KILL $pid 2> /dev/null
  wait $pid 2> /dev/null
  code=$?
  if [ $code -eq 0 ]; then finished=$((finished + 1)); fi
  check '[ $code -eq 137 ] || [ $code -eq 0 ]' "kill $i: exit $code, expected 137 (killed) or 0 (done): $(cat "$work/log")"
  # Each file is absent or complete: it loads as weights, and the checkpoint resumes.
  [ -f "$w" ] || [ -f "$ckpt" ] || absent=$((absent + 1))
  check '[ -f "$ckpt" ] || [ ! -f "$w" ] || loadable "$w"' "kill $i (delay ${delay} ms): weights file damaged"
  check '[ ! -f "$ckpt" ] || loadable "$ckpt"' "kill $i (delay ${delay} ms): checkpoint damaged"
  check '[ ! -f "$w" ] || loadable "$w"' "kill $i (delay ${delay} ms): weights file not loadable"
  n_temps=$(temps "$run" | wc -l)
  check '[ "$n_temps" -le 1 ]' "kill $i: $n_temps temporary files left: $(temps "$run")"
  if [ $code -eq 0 ]; then
    # A run that finished must equal the reference, bit for bit.
    check 'cmp -s "$w" "$work/ref/w.safetensors"' "kill $i: finished run differs from the uninterrupted one"
    rm -f "$run"/* "$run"/.*.tmp.* 2> /dev/null
  fi
done

# Resume whatever the last kill left, to the end.
args=(-o "$w" --metrics "$run/m.csv")
[ -f "$ckpt" ] && args+=(--resume "$ckpt")
out=$("${train[@]}" "${args[@]}" 2>&1)
check '[ $? -eq 0 ]' "the final resume finishes: $out"
check 'cmp -s "$w" "$work/ref/w.safetensors"' "killed and resumed == uninterrupted, bit for bit"
check 'loadable "$ckpt"' "the final checkpoint loads"
check 'diff <(cut -d, -f1-5 "$run/m.csv") <(cut -d, -f1-5 "$work/ref/m.csv") > /dev/null' "the metrics history survives the kills"
check '[ -z "$(temps "$run")" ]' "no temporary file after a clean finish: $(temps "$run")"

# A leftover from a kill mid-write is removed by the next start, and nothing else is.
touch "$run/.w.safetensors.tmp.AbC123" "$run/.w.safetensors.ckpt.tmp.xyz789" "$run/.w.safetensors.tmp.keepme1" "$run/.other.tmp.AbC123"
out=$("${train[@]}" -o "$w" --epochs 1 2>&1)
check '[ ! -e "$run/.w.safetensors.tmp.AbC123" ] && [ ! -e "$run/.w.safetensors.ckpt.tmp.xyz789" ]' "stale temporary files removed at start"
check '[ -e "$run/.w.safetensors.tmp.keepme1" ] && [ -e "$run/.other.tmp.AbC123" ]' "files of other names kept"

echo "$kills kills: $resumed started from a checkpoint, $finished finished before the kill, $absent before any file was written"
check '[ "$resumed" -ge 5 ]' "at least 5 runs resumed from a killed run's checkpoint (got $resumed)"
finish
