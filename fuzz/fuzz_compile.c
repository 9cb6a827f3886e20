/* fuzz_compile.c - bytes -> front end -> lowering -> verify -> weights -> the
 * inference passes, each followed by verify.
 *
 * This is `bnnc --random-weights` without code generation: any model the
 * front end accepts must lower to IR that verifies, and stay valid through
 * every pass, whatever the weights. Weights come from a generator seeded by
 * the input, so a saved input replays the same way. Half of the inputs get
 * ordinary weights (uniform in [-1, 1], positive running variances); the
 * other half also get, rarely or often, the values a weights file may hold
 * and a pass must survive: zeros, signed zeros, denormals, huge values,
 * infinities and NaN (running variances stay positive: tiny or huge, never
 * zero or NaN).
 * Models with more than FUZZ_MAX_WEIGHTS learned values are skipped so each
 * input stays fast; the front end's own limits are covered by fuzz_frontend.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "frontend.h"
#include "fuzz.h"
#include "lower.h"
#include "passes.h"

enum { FUZZ_MAX_WEIGHTS = 1 << 20 };

static const float special_values[] = {
    0.0f, -0.0f, 1.0f, -1.0f, 1e-30f, -1e-30f, FLT_MIN / 4, 1e30f, -1e30f, FLT_MAX, -FLT_MAX,
    INFINITY, -INFINITY, NAN, 0.5f, 2147483648.0f, -2147483904.0f,
};
static const float special_positive[] = {1e-30f, FLT_MIN / 4, 1e-7f, 1.0f, 1e30f, FLT_MAX};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static float uniform(uint64_t r, float lo, float hi) {
  return lo + (hi - lo) * (float)(r >> 40) * (1.0f / 16777216.0f);
}

/* special_mask: a value is special when (r & special_mask) == 0; 0 = never.
 * The low 8 bits decide that, the bits above pick the value. */
static float weight_value(uint64_t *rng, bool positive, uint64_t special_mask) {
  uint64_t r = fuzz_rand(rng);
  if (special_mask && (r & special_mask) == 0) {
    if (positive) return special_positive[(r >> 8) % COUNT(special_positive)];
    return special_values[(r >> 8) % COUNT(special_values)];
  }
  return positive ? uniform(r, 0.01f, 2.0f) : uniform(r, -1.0f, 1.0f);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Learned values the model needs, or -1 when over FUZZ_MAX_WEIGHTS. */
static int64_t count_weights(const IrGraph *g) {
  int64_t total = 0;
  for (const IrNode *n = g->first; n; n = n->next) {
    if (n->op != IR_PARAM || n->data) continue;
    total += shape_numel(&n->type.shape);
    if (total > FUZZ_MAX_WEIGHTS) return -1;
  }
  return total;
}

/* Half of the seeds bind ordinary weights; a quarter make one value in 256
 * special (a pass sees a few odd channels among normal ones), a quarter one
 * in 8. */
static void bind_weights(IrGraph *g, uint64_t seed) {
  uint64_t special_mask = (seed >> 62) == 3 ? 7 : (seed >> 62) == 2 ? 255 : 0;
  uint64_t rng = seed;
  for (IrNode *n = g->first; n; n = n->next) {
    if (n->op != IR_PARAM || n->data) continue;
    FUZZ_CHECK(n->type.elem == ELEM_F32, "param %s is %s before binding, not f32", n->attrs.name,
               elem_type_name(n->type.elem));
    int64_t bytes = ir_type_bytes(&n->type);
    int64_t count = bytes / (int64_t)sizeof(float);
    float *v = arena_alloc(g->arena, (size_t)bytes);
    bool positive = ends_with(n->attrs.name, ".running_var");
    for (int64_t i = 0; i < count; i++) v[i] = weight_value(&rng, positive, special_mask);
    n->data = v;
    n->data_bytes = (size_t)bytes;
  }
}

static void verify_or_die(const IrGraph *g, const char *stage) {
  if (!ir_verify(g, stage, stderr)) fuzz_fail("the IR is invalid after %s", stage);
}

static void verify_after_pass(const IrGraph *g, const char *pass_name, const void *ctx) {
  (void)ctx;
  verify_or_die(g, pass_name);
}

/* Lowering through the last pass, for a model the front end accepted. */
static void compile(Arena *arena, const Model *model, uint64_t seed) {
  IrGraph *g = lower_model(arena, model);
  verify_or_die(g, "lowering");
  if (count_weights(g) < 0) return;
  bind_weights(g, seed);

  PassOptions options = passes_default_options();
  options.after_pass = verify_after_pass;
  options.fold_float_affines = (seed >> 61) & 1;
  passes_run_inference(g, &options);
  verify_or_die(g, "the inference passes");
  ir_print(fuzz_diag_stream(), g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Arena arena;
  arena_init(&arena);
  Diagnostics diag;
  diag_init(&diag, "fuzz.bnn", NULL, 0);
  diag.out = fuzz_diag_stream();

  Model *model = frontend_parse(&arena, &diag, "fuzz.bnn", (const char *)data, size);
  FUZZ_CHECK((model == NULL) == (diag.n_errors > 0), "result %s but %d errors reported",
             model ? "non-NULL" : "NULL", diag.n_errors);
  if (model) compile(&arena, model, fuzz_hash(data, size));
  arena_free(&arena);
  return 0;
}
