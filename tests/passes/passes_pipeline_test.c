/* passes_pipeline_test.c - every pass, and the whole pipeline, on models built
 * as the front end would: the reference interpreter before vs after.
 *
 * Expectation per model: where the first layer is binary, every bit of every
 * bit-valued activation and every argmax agree exactly, and the logits agree
 * to 1e-4 relative (max |a - b| over max |ref|); passes that do not change
 * f32 rounding give identical logits. Where the first layer takes real u8
 * inputs, its folded integer form rounds differently from the f32 runtime, so
 * a small fraction of first-layer bits may flip: >= 99.9% bits must agree.
 * The verifier runs after every pass.
 */
#include <string.h>

#include "passes_test_util.h"

/* EXACT_OUTPUT: the logits and argmax as EXACT_BITS, but the bit-valued
 * activations are not compared one by one: the conv passes add values in
 * another layout (hwc, bit maxpool); tests/conv compares those graphs'
 * outputs bit for bit. */
typedef enum Exactness { EXACT_BITS, EXACT_OUTPUT, REAL_FIRST_LAYER } Exactness;

typedef struct Step {
  const char *name;
  bool changes_rounding;   /* may change f32 logits (within 1e-4) */
} Step;

static const Step steps[] = {
    {"drop_training_ops", false}, {"sink_sign", false},      {"pack_weights", false},
    {"fold_input_affine", true},  {"fold_affines", true},    {"fold_threshold", false},
    {"fuse_threshold", false},    {"layout_hwc", false},     {"plan_memory", false},
};

static void run_step(IrGraph *g, int i) {
  switch (i) {
  case 0: pass_drop_training_ops(g); break;
  case 1: pass_sink_sign(g); break;
  case 2: pass_pack_weights(g); break;
  case 3: pass_fold_input_affine(g); break;
  case 4: pass_fold_affines(g, true); break;
  case 5: pass_fold_threshold(g); break;
  case 6: pass_fuse_threshold(g); break;
  case 7: pass_layout_hwc(g); break;
  case 8: pass_plan_memory(g); break;
  }
}

static bool rounding_changed;

static void check_agreement(const char *model, const char *after, Agreement a, Exactness ex) {
  double bit_rate = a.bits ? (double)a.bits_same / (double)a.bits : 1.0;
  printf("  %-18s after %-18s argmax %d/%d  bits %ld/%ld  max rel err %.3g\n", model, after,
         a.argmax_same, a.samples, a.bits_same, a.bits, a.max_rel_err);
  CHECK(a.bit_layout_same || ex == EXACT_OUTPUT, "%s after %s: bit values differ in number or size", model,
        after);
  if (ex == EXACT_BITS || ex == EXACT_OUTPUT) {
    CHECK(a.bits_same == a.bits, "%s after %s: %ld bits differ", model, after, a.bits - a.bits_same);
    CHECK(a.argmax_same == a.samples, "%s after %s: argmax differs", model, after);
    CHECK(a.max_rel_err <= (rounding_changed ? 1e-4 : 0.0), "%s after %s: logits differ by %g", model,
          after, a.max_rel_err);
  } else {
    CHECK(bit_rate >= 0.999, "%s after %s: only %.5f of bits agree", model, after, bit_rate);
    CHECK(a.argmax_same >= a.samples * 0.95, "%s after %s: argmax agrees on %d/%d", model, after,
          a.argmax_same, a.samples);
  }
}

/* Lower m twice with the same weights; run the passes one by one on the
 * second copy, comparing with the first after each. */
static IrGraph *check_model(Arena *arena, const TestModel *t, Exactness ex, uint64_t seed, int samples) {
  IrGraph *ref = lower_model(arena, &t->m);
  IrGraph *g = lower_model(arena, &t->m);
  bind_random(ref, seed);
  bind_random(g, seed);
  check_verify(g, "lowering");
  rounding_changed = false;
  for (int i = 0; i < (int)(sizeof steps / sizeof steps[0]); i++) {
    run_step(g, i);
    check_verify(g, steps[i].name);
    rounding_changed |= steps[i].changes_rounding;
    check_agreement(t->m.name, steps[i].name, compare_graphs(ref, g, samples, seed + 1000 + i), ex);
  }
  return g;
}

static void expect_ops(const IrGraph *g, const char *model) {
  CHECK(count_op(g, IR_DROPOUT) == 0, "%s: dropout left", model);
  CHECK(count_op(g, IR_BINLINEAR) == 0, "%s: binlinear left", model);
}

/* BNN MLP of the README, smaller: u8 input, real first layer. */
static void test_bnn_mlp(Arena *arena) {
  TestModel t;
  tm_init(&t, "bnn_mlp", (Shape){1, {784}}, INPUT_U8, true, 0.5f, 0.5f);
  tm_binlinear(&t, 256, true, false, false);
  tm_batchnorm(&t, 1e-5f);
  tm_binlinear(&t, 256, false, false, false);
  tm_batchnorm(&t, 1e-5f);
  tm_binlinear(&t, 256, false, false, false);
  tm_dropout(&t, 0.5f);
  tm_batchnorm(&t, 1e-5f);
  tm_linear(&t, 10, true);
  IrGraph *g = check_model(arena, &t, REAL_FIRST_LAYER, 11, 40);
  expect_ops(g, "bnn_mlp");
  CHECK(count_op(g, IR_BINDENSE_THR) == 2, "bnn_mlp: expected 2 fused layers");
  CHECK(count_op(g, IR_AFFINE) == 0 && count_op(g, IR_BATCHNORM) == 0, "bnn_mlp: affines left");
  CHECK(count_op(g, IR_SIGN) == 0, "bnn_mlp: signs left");
}

/* 784 -> 1000 -> 37 -> 10, binary first layer (sign of the normalized u8
 * input), biases and alpha scales, htanh, a binary classifier with BN. */
static void test_odd_widths(Arena *arena) {
  TestModel t;
  tm_init(&t, "odd_widths", (Shape){1, {784}}, INPUT_U8, true, 0.1307f, 0.3081f);
  tm_binlinear(&t, 1000, false, true, true);
  tm_batchnorm(&t, 1e-5f);
  tm_binlinear(&t, 37, false, false, true);
  tm_batchnorm(&t, 1e-4f);
  tm_simple(&t, LAYER_HTANH);
  tm_binlinear(&t, 10, false, true, false);
  tm_batchnorm(&t, 1e-5f);
  IrGraph *g = check_model(arena, &t, EXACT_BITS, 12, 30);
  expect_ops(g, "odd_widths");
  CHECK(count_op(g, IR_BINDENSE_THR) == 2, "odd_widths: expected 2 fused layers");
}

/* The BNN paper's MLP shape: input dropout, binlinear + bias, BN eps 1e-4. */
static void test_paper_mlp(Arena *arena) {
  TestModel t;
  tm_init(&t, "paper_mlp", (Shape){1, {784}}, INPUT_F32, false, 0, 1);
  tm_dropout(&t, 0.2f);
  for (int i = 0; i < 2; i++) {
    tm_binlinear(&t, 300, false, true, false);
    tm_batchnorm(&t, 1e-4f);
    tm_dropout(&t, 0.5f);
  }
  tm_binlinear(&t, 10, false, true, false);
  tm_batchnorm(&t, 1e-4f);
  IrGraph *g = check_model(arena, &t, EXACT_BITS, 13, 30);
  expect_ops(g, "paper_mlp");
  CHECK(count_op(g, IR_BINDENSE_THR) == 2, "paper_mlp: expected 2 fused layers");
}

/* A float MLP: the input normalization folds into the first linear. */
static void test_float_mlp(Arena *arena) {
  TestModel t;
  tm_init(&t, "float_mlp", (Shape){1, {784}}, INPUT_U8, true, 0.5f, 0.25f);
  tm_linear(&t, 60, true);
  tm_simple(&t, LAYER_RELU);
  tm_linear(&t, 10, true);
  IrGraph *g = check_model(arena, &t, EXACT_BITS, 14, 30);
  CHECK(count_op(g, IR_AFFINE) == 0, "float_mlp: input affine not folded");
}

/* A small XNOR LeNet: the first (float) conv stays, the binary conv is
 * packed (binconv, no sign after it), the binary dense layers fold. */
static void test_conv(Arena *arena) {
  TestModel t;
  tm_init(&t, "xnor_lenet", (Shape){3, {1, 12, 12}}, INPUT_U8, true, 0.5f, 0.5f);
  tm_conv(&t, LAYER_CONV2D, 4, 3, 1, 1, false, true, false);
  tm_batchnorm(&t, 1e-5f);
  tm_pool(&t, LAYER_MAXPOOL, 2);
  tm_conv(&t, LAYER_BINCONV2D, 8, 3, 1, 1, false, false, true);
  tm_batchnorm(&t, 1e-5f);
  tm_pool(&t, LAYER_AVGPOOL, 2);
  tm_simple(&t, LAYER_FLATTEN);
  tm_binlinear(&t, 16, false, false, false);
  tm_batchnorm(&t, 1e-5f);
  tm_binlinear(&t, 20, false, false, true);
  tm_batchnorm(&t, 1e-5f);
  tm_linear(&t, 10, true);
  IrGraph *g = check_model(arena, &t, EXACT_OUTPUT, 15, 20);
  expect_ops(g, "xnor_lenet");
  CHECK(count_op(g, IR_BINCONV2D) == 0 && count_op(g, IR_BINCONV) == 1, "xnor_lenet: binconv2d not packed");
  CHECK(count_op(g, IR_BINDENSE_THR) == 1, "xnor_lenet: expected 1 fused layer");
}

/* The driver's entry point: the hook runs after every pass, in order. */
static int hook_calls;
static void hook(const IrGraph *g, const char *name, const void *ctx) {
  (void)ctx;
  CHECK(strcmp(name, steps[hook_calls].name) == 0, "pass %d is %s, expected %s", hook_calls, name,
        steps[hook_calls].name);
  hook_calls++;
  check_verify(g, name);
}

static void test_run_inference(Arena *arena) {
  TestModel t;
  tm_init(&t, "pipeline", (Shape){1, {100}}, INPUT_F32, true, 0.0f, 2.0f);
  tm_binlinear(&t, 70, false, true, true);
  tm_batchnorm(&t, 1e-5f);
  tm_binlinear(&t, 10, false, false, false);
  IrGraph *ref = lower_model(arena, &t.m), *g = lower_model(arena, &t.m);
  bind_random(ref, 21);
  bind_random(g, 21);
  PassOptions o = passes_default_options();
  o.after_pass = hook;
  passes_run_inference(g, &o);
  CHECK(hook_calls == 9, "hook ran %d times", hook_calls);
  CHECK(g->scratch_bytes > 0, "no memory plan");
  Agreement a = compare_graphs(ref, g, 200, 22);
  rounding_changed = true;
  check_agreement("pipeline", "all passes", a, EXACT_BITS);
}

int main(void) {
  Arena arena;
  arena_init(&arena);
  test_bnn_mlp(&arena);
  test_odd_widths(&arena);
  test_paper_mlp(&arena);
  test_float_mlp(&arena);
  test_conv(&arena);
  test_run_inference(&arena);
  arena_free(&arena);
  printf("%s: %d failure(s)\n", __FILE__, test_failures);
  return test_failures ? 1 : 0;
}
