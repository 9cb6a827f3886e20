#!/usr/bin/env bash
# Writes the files the hardening error tests read into DIR: a small model
# trained for one epoch, its checkpoint, another model's checkpoint, and
# damaged weights files and data sets, each wrong in one way.
# Usage: fixtures.sh BNNC MAKE_DATASET DIR
set -eu
bnnc=$1 make_dataset=$2 dir=$3
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"

"$make_dataset" data 200 50 9 > /dev/null
model() {   # model NAME INPUT LAYERS... (one per argument)
  local name=$1 input=$2
  shift 2
  { echo "model $name"; echo "input $input"; printf '%s\n' "$@"; printf 'train {\n  batch 50\n  epochs 1\n}\n'; } > "$name.bnn"
}
model m "784 u8 normalize mean=0.5 std=0.5" "binlinear 784 -> 16 real" "batchnorm" "linear 16 -> 10"
model other "784 u8 normalize mean=0.5 std=0.5" "binlinear 784 -> 16 real" "batchnorm" "linear 16 -> 10"
model small "100 u8" "binlinear 100 -> 16 real" "batchnorm" "linear 16 -> 10"
model image "1x28x28 u8" "conv2d 4 3x3"
model huge "784 u8" "binlinear 784 -> 99999999999"
model toobig "784 u8" "binlinear 784 -> 1048576 real" "linear 1048576 -> 10"
sed 's/batch 50/batch 50\n  optimizer sgd lr=0.1/' m.bnn > sgd.bnn
"$bnnc" --train m.bnn --data data --threads 1 -q > /dev/null
"$bnnc" --train other.bnn --data data --threads 1 -q > /dev/null
"$bnnc" --train sgd.bnn --data data --threads 1 -q > /dev/null
mkdir adir

# safetensors: st FILE JSON DATA_BYTES (header padded with spaces to 8 bytes)
st() {
  local json=$2
  while [ $(( ${#json} % 8 )) -ne 0 ]; do json="$json "; done
  local n=${#json}
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x00\\x00\\x00' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)))" > "$1"
  printf '%s' "$json" >> "$1"
  head -c "$3" /dev/zero >> "$1"
}
t() { echo "\"$1\":{\"dtype\":\"${4:-F32}\",\"shape\":[$2],\"data_offsets\":[$3]}"; }
# m's tensors, byte offsets: 0.weight 16x784 floats, then 16s and 10s.
w0=$(t 0.weight 16,784 0,50176)
bn="$(t 1.weight 16 50176,50240),$(t 1.bias 16 50240,50304),$(t 1.running_mean 16 50304,50368),$(t 1.running_var 16 50368,50432)"
st missing_key.safetensors "{$w0,$bn,$(t 2.weight 10,16 50432,51072)}" 51072
st extra_key.safetensors "{$w0,$bn,$(t 2.weight 10,16 50432,51072),$(t 2.bias 10 51072,51112),$(t 9.bias 10 51112,51152)}" 51152
st wrong_shape.safetensors "{$(t 0.weight 16,700 0,44800),$bn,$(t 2.weight 10,16 50432,51072),$(t 2.bias 10 51072,51112)}" 51112
st wrong_dtype.safetensors "{$w0,$bn,$(t 2.weight 10,16 50432,51072),$(t 2.bias 10 51072,51092 F16)}" 51092
st huge_tensor.safetensors "{$(t 0.weight 1000000,1000000 0,4000000000000)}" 0
head -c 30000 m.safetensors > truncated.safetensors
printf 'not a weights file' > junk.safetensors

# IDX data sets, each wrong in one way.
idx() {   # idx FILE MAGIC_NDIM DIMS... < data
  local f=$1 nd=$2
  shift 2
  printf "\\x00\\x00\\x08\\x$(printf %02x "$nd")" > "$f"
  for d in "$@"; do
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((d >> 24 & 255)) $((d >> 16 & 255)) $((d >> 8 & 255)) $((d & 255)))" >> "$f"
  done
  cat >> "$f"
}
copy_data() { mkdir "$1"; cp data/* "$1/"; gunzip "$1"/*.gz; }
mkdir data_missing && cp data/train-* data_missing/
copy_data data_trunc && truncate -s 10016 data_trunc/train-images-idx3-ubyte
copy_data data_huge && idx data_huge/train-images-idx3-ubyte 3 100000 1000 1000 < /dev/null
copy_data data_count && head -c 18 data/t10k-labels-idx1-ubyte | tail -c 10 | idx data_count/train-labels-idx1-ubyte 1 10
copy_data data_label && { head -c 49 /dev/zero; printf '\x0c'; } | idx data_label/t10k-labels-idx1-ubyte 1 50
mkdir data_size
head -c 400 /dev/zero | idx data_size/train-images-idx3-ubyte 3 4 10 10
head -c 400 /dev/zero | idx data_size/t10k-images-idx3-ubyte 3 4 10 10
head -c 4 /dev/zero | idx data_size/train-labels-idx1-ubyte 1 4
head -c 4 /dev/zero | idx data_size/t10k-labels-idx1-ubyte 1 4
cp -r data_size data_shape
head -c 392 /dev/zero | idx data_shape/t10k-images-idx3-ubyte 3 4 14 7
