#!/usr/bin/env bash
# Installs the Debian packages bnnc needs to build, test and train. Idempotent:
# packages already present are skipped, so a second run makes no network call.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  flex bison
  llvm-dev clang libclang-rt-dev   # LLVM C API; clang + compiler-rt for sanitizers/fuzzers
  zlib1g-dev libopenblas-dev
  dataset-fashion-mnist            # default training data (/usr/share/datasets/fashion-mnist)
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user   # cross tests: link for aarch64, run under qemu-aarch64

)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y --no-install-recommends "${missing[@]}"
