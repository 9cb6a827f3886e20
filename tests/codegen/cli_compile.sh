#!/bin/sh
# cli_compile.sh BNNC CC NM EXAMPLES WORKDIR - the compile mode of the bnnc
# command: every --emit kind, -H, cross targets, and what a failed compile
# leaves behind (nothing new, the old output untouched, the model never
# overwritten).
set -u
bnnc=$1 cc=$2 nm=$3 examples=$4 work=$5
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_exit() {   # expect_exit CODE command...
  want=$1; shift
  "$@" >out.txt 2>err.txt; got=$?
  [ "$got" = "$want" ] || { fail "exit $got (want $want): $*"; cat err.txt >&2; }
}
no_undefined() { [ -z "$("$nm" -u "$1")" ] || fail "undefined symbols in $1: $("$nm" -u "$1" | tr '\n' ' ')"; }

mlp=$examples/bnn_mlp.bnn
cp "$mlp" model.bnn

# object + header, then the header alone under -std=c99 -Wall -Werror
expect_exit 0 "$bnnc" model.bnn --random-weights 7 -o bnn_mlp.o -H bnn_mlp.h
[ -s bnn_mlp.o ] && [ -s bnn_mlp.h ] || fail "bnn_mlp.o or bnn_mlp.h missing"
no_undefined bnn_mlp.o
"$cc" -std=c99 -Wall -Werror -fsyntax-only -x c bnn_mlp.h || fail "the header does not compile alone"
grep -q 'int bnn_mlp_infer_batch(const bnn_mlp_input_t \*input, float \*output, size_t n, void \*scratch);' bnn_mlp.h \
  || fail "the header lacks bnn_mlp_infer_batch"

# default output name: MODEL.o in the current directory
expect_exit 0 "$bnnc" model.bnn --random-weights 7
[ -s model.o ] || fail "default output model.o missing"

for kind in llvm asm header ir; do
  expect_exit 0 "$bnnc" model.bnn --random-weights 7 --emit=$kind -o out.$kind
  [ -s out.$kind ] || fail "--emit=$kind wrote nothing"
done
grep -q 'define i32 @bnn_mlp_infer_r' out.llvm || fail "--emit=llvm has no bnn_mlp_infer_r"
grep -q 'bnn_mlp_infer:' out.asm || fail "--emit=asm has no bnn_mlp_infer"

# a float model with softmax-free float layers, and cross targets
expect_exit 0 "$bnnc" "$examples/float_mlp.bnn" --random-weights 3 -o float.o
no_undefined float.o
expect_exit 0 "$bnnc" model.bnn --random-weights 7 --target aarch64-linux-gnu -o a64.o
no_undefined a64.o
expect_exit 0 "$bnnc" model.bnn --random-weights 7 --target thumbv7em-none-eabi --mcpu cortex-m4 -o m4.o
no_undefined m4.o

# no weights: exit 1, says how to get them, writes nothing
expect_exit 1 "$bnnc" model.bnn -o none.o
grep -q "bnnc --train model.bnn" err.txt || fail "the no-weights error does not say how to train"
grep -q -- "--random-weights" err.txt || fail "the no-weights error does not mention --random-weights"
[ ! -e none.o ] || fail "a failed compile created none.o"

# a failed compile leaves an existing output untouched and no temporary files
echo "old" > keep.o
expect_exit 1 "$bnnc" model.bnn --random-weights 7 --target no-such-arch -o keep.o
[ "$(cat keep.o)" = "old" ] || fail "a failed compile changed keep.o"
[ -z "$(ls -A | grep '\.tmp\.')" ] || fail "temporary files left behind: $(ls -A | grep '\.tmp\.')"

# the model is never overwritten
cp model.bnn before.bnn
expect_exit 2 "$bnnc" model.bnn --random-weights 7 --emit=ir -o model.bnn
cmp -s model.bnn before.bnn || fail "the model file was overwritten"

[ "$failures" = 0 ] && echo "ok cli_compile" || exit 1
