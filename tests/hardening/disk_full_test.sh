#!/usr/bin/env bash
# Writing to a full disk: every output of bnnc fails with exit 1 and
# "cannot write 'FILE': No space left on device", the previous version of the
# file is intact and no temporary file is left behind.
#   disk_full_test.sh BNNC MAKE_DATASET tmpfs    on a small tmpfs, pre-filled
#                                                (root; exit 77 = skipped when
#                                                mount is not permitted)
#   disk_full_test.sh BNNC MAKE_DATASET devfull  /dev/full and standard output
set -u
bnnc=$1 make_dataset=$2 mode=$3
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
full=$work/full
cleanup() { mountpoint -q "$full" 2> /dev/null && umount "$full"; rm -rf "$work"; }
trap cleanup EXIT

"$make_dataset" "$work/data" 200 50 5 || { echo "make_dataset failed"; exit 1; }
cat > "$work/d.bnn" <<'M'
model d
input 784 u8 normalize mean=0.5 std=0.5
binlinear 784 -> 8 real
batchnorm
linear 8 -> 10
train {
  batch 50
  epochs 1
}
M
model=$work/d.bnn
compile=("$bnnc" "$model" --random-weights 1)
train=("$bnnc" --train "$model" --data "$work/data" --threads 1 -q)
nospace="No space left on device \\(nothing was changed; the old file, if any, is intact\\)"

if [ "$mode" = devfull ]; then
  # /dev/full is a device: the atomic writer refuses it before writing anything.
  notreg="cannot write '/dev/full': it exists and is not a regular file"
  expect_error 1 "^bnnc: error: $notreg" "compile -o /dev/full" -- "${compile[@]}" -o /dev/full
  expect_error 1 "^bnnc: error: $notreg" "compile -H /dev/full" -- "${compile[@]}" -o "$work/x.o" -H /dev/full
  expect_error 1 "^bnnc: error: $notreg" "--emit=llvm -o /dev/full" -- "${compile[@]}" --emit=llvm -o /dev/full
  expect_error 1 "^bnnc: error: $notreg" "train --metrics /dev/full" -- "${train[@]}" -o "$work/w.safetensors" --metrics /dev/full
  expect_error 1 "^bnnc: error: $notreg" "train -o /dev/full" -- "${train[@]}" -o /dev/full
  expect_error 1 "^bnnc: error: $notreg" "eval --predictions /dev/full" -- "$bnnc" --eval "$model" --data "$work/data" --weights "$work/w.safetensors" -q --predictions /dev/full
  # Standard output that is full.
  for kind in ir asm llvm header; do
    expect_error 1 "^bnnc: error: cannot write to standard output: No space left on device" "--emit=$kind to a full stdout" -- \
      sh -c '"$@" > /dev/full' sh "${compile[@]}" --emit=$kind -o -
  done
  check '[ -z "$(temps "$work")" ]' "no temporary files: $(temps "$work")"
  finish
  exit
fi

# ---- a small tmpfs, pre-filled ------------------------------------------------
mkdir "$full"
if ! mount -t tmpfs -o size=1m tmpfs "$full" 2> /dev/null; then
  echo "cannot mount a tmpfs (needs root): skipped"
  exit 77
fi
# The previous versions: real outputs, written while there is room.
"${compile[@]}" -o "$full/d.o" -H "$full/d.h" 2> /dev/null &&
  "${compile[@]}" --emit=asm -o "$full/d.s" && "${compile[@]}" --emit=llvm -o "$full/d.ll" &&
  "${compile[@]}" --emit=ir -o "$full/d.ir" &&
  "${train[@]}" -o "$full/w.safetensors" --metrics "$full/m.csv" --plot "$full/p.svg" &&
  "$bnnc" --eval "$model" --data "$work/data" --weights "$full/w.safetensors" -q --predictions "$full/pred.txt" > /dev/null ||
  { echo "writing the first versions failed"; exit 1; }
mkdir "$work/old"
cp -a "$full"/. "$work/old/"
dd if=/dev/zero of="$full/filler" bs=4k 2> /dev/null   # until the disk is full
check '[ "$(df --output=avail -B1 "$full" | tail -1)" -lt 4096 ]' "the tmpfs is full"

intact() { cmp -s "$full/$1" "$work/old/$1"; }
# expect_full WHAT FILE CMD...: exit 1, the message names FILE, FILE intact.
expect_full() {
  local what=$1 file=$2
  shift 2
  expect_error 1 "^bnnc: error: cannot write '$full/$file': $nospace" "$what" -- "$@"
  check 'intact "$file"' "$what: the old $file is intact"
  check '[ -z "$(temps "$full")" ]' "$what: no temporary file left: $(temps "$full")"
}
expect_full "compile -o" d.o "${compile[@]}" -o "$full/d.o"
expect_full "compile -H" d.h "${compile[@]}" -o "$work/d.o" -H "$full/d.h"
expect_full "--emit=asm" d.s "${compile[@]}" --emit=asm -o "$full/d.s"
expect_full "--emit=llvm" d.ll "${compile[@]}" --emit=llvm -o "$full/d.ll"
expect_full "--emit=ir" d.ir "${compile[@]}" --emit=ir -o "$full/d.ir"
expect_full "--emit=header" d.h "${compile[@]}" --emit=header -o "$full/d.h"
expect_full "train: weights" w.safetensors "${train[@]}" -o "$full/w.safetensors" --epochs 2 --resume "$full/w.safetensors.ckpt"
check 'intact w.safetensors.ckpt' "train: the checkpoint is intact after the weights failed"
# The checkpoint, metrics and plot on the full disk, the weights elsewhere (a
# symbolic link puts WEIGHTS.ckpt on the full disk).
mkdir "$work/side"
ln -s "$full/w.safetensors.ckpt" "$work/side/w.safetensors.ckpt"
expect_full "train: checkpoint" w.safetensors.ckpt "${train[@]}" -o "$work/side/w.safetensors" --epochs 2 --resume "$full/w.safetensors.ckpt"
expect_full "train: --metrics" m.csv "${train[@]}" -o "$work/w2.safetensors" --metrics "$full/m.csv"
expect_full "train: --plot" p.svg "${train[@]}" -o "$work/w3.safetensors" --plot "$full/p.svg"
expect_full "eval: --predictions" pred.txt "$bnnc" --eval "$model" --data "$work/data" --weights "$full/w.safetensors" -q --predictions "$full/pred.txt"
# Everything that was there before is there still, byte for byte.
check 'diff -r --exclude=filler "$work/old" "$full" > /dev/null' "the full disk holds exactly the old files: $(diff -r --exclude=filler "$work/old" "$full" 2>&1 | head -5)"

# A read-only file system: the temporary file cannot be created.
rm -f "$full/filler"
mount -o remount,ro "$full"
expect_error 1 "^bnnc: error: cannot write '$full/d.o': cannot create a temporary file in '$full': Read-only file system" \
  "compile -o on a read-only file system" -- "${compile[@]}" -o "$full/d.o"
expect_error 1 "^bnnc: error: cannot write '$full/w.safetensors': cannot create a temporary file in '$full': Read-only file system" \
  "train -o on a read-only file system" -- "${train[@]}" -o "$full/w.safetensors"
check 'intact d.o && intact w.safetensors' "read-only: old files intact"
finish
