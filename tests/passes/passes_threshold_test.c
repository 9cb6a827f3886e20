/* passes_threshold_test.c - fold_threshold is exact for EVERY accumulator value.
 *
 * For many random parameter sets (K up to 4096, with and without alpha and
 * bias; gamma negative, zero, tiny and denormal; tiny variance with tiny eps;
 * means far outside the range and means on exact integers and half-integers
 * so f32 hits 0 exactly), a layer `sign -> binlinear K->C -> batchnorm ->
 * sign` goes through the passes up to fold_threshold. Then:
 *   1. for every integer y in [-K, K] and every channel, the threshold rule
 *      equals sign(bn(affine((float)y))) computed here, independently, with
 *      the runtime's f32 formula (alpha recomputed from the latent weights);
 *   2. for a third of the cases, the interpreter runs the whole graph before
 *      and after on inputs chosen to make channel 0's accumulator every
 *      reachable y near its threshold and 256 others spread over [-K, K].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes_test_util.h"

#define CHANNELS 6

typedef struct Case {
  int64_t k;
  bool bias, scale;
  float eps;
  float gamma[CHANNELS], beta[CHANNELS], mean[CHANNELS], var[CHANNELS], b[CHANNELS];
  float weight_scale;
} Case;

static float pick_gamma(uint64_t *s, int c) {
  switch (c) {
  case 0: return 0.0f;
  case 1: return (float)rng_uniform(s, -3, -0.01);
  case 2: return (float)rng_uniform(s, 1e-38, 1e-30);   /* tiny, some denormal products */
  case 3: return -1e-40f;                                /* a denormal negative gamma */
  default: return (float)rng_uniform(s, -2, 2);
  }
}

static float pick_mean(uint64_t *s, int64_t k) {
  double r = rng_uniform(s, 0, 1);
  if (r < 0.15) return (float)rng_uniform(s, -1e7, 1e7);                 /* large */
  if (r < 0.45) return (float)floor(rng_uniform(s, -(double)k, (double)k));   /* exact integer */
  if (r < 0.60) return (float)(floor(rng_uniform(s, -(double)k, (double)k)) + 0.5);
  return (float)rng_uniform(s, -(double)k, (double)k);
}

static void make_case(Case *c, uint64_t *s, int index) {
  static const int64_t fixed_k[] = {1, 2, 3, 63, 64, 65, 127, 4096};
  c->k = index < 8 ? fixed_k[index] : 1 + (int64_t)(rng_next(s) % 4096);
  c->bias = rng_next(s) & 1;
  c->scale = rng_next(s) & 1;
  double er = rng_uniform(s, 0, 1);
  c->eps = er < 0.3 ? 1e-5f : er < 0.5 ? 1e-4f : er < 0.7 ? 1e-12f : (float)rng_uniform(s, 1e-6, 1e-2);
  c->weight_scale = (float)pow(10.0, rng_uniform(s, -6, 3));
  for (int ch = 0; ch < CHANNELS; ch++) {
    c->gamma[ch] = pick_gamma(s, ch);
    c->beta[ch] = rng_uniform(s, 0, 1) < 0.4 ? 0.0f : (float)rng_uniform(s, -2, 2);
    c->mean[ch] = pick_mean(s, c->k);
    double vr = rng_uniform(s, 0, 1);
    c->var[ch] = vr < 0.2 ? 1e-10f : vr < 0.3 ? 0.0f : (float)(rng_uniform(s, 0.01, 2) * (double)c->k);
    c->b[ch] = rng_uniform(s, 0, 1) < 0.5 ? (float)floor(rng_uniform(s, -50, 50))
                                          : (float)rng_uniform(s, -50, 50);
  }
}

static void bind(IrGraph *g, const Case *c, uint64_t seed) {
  uint64_t s = seed;
  for (IrNode *p = g->first; p; p = p->next) {
    if (p->op != IR_PARAM || p->data) continue;
    int64_t n = shape_numel(&p->type.shape);
    float *v = arena_array(g->arena, (size_t)n, sizeof(float));
    const char *name = strchr(p->attrs.name, '.') + 1;
    for (int64_t i = 0; i < n; i++) {
      if (!strcmp(p->attrs.name, "0.weight"))
        v[i] = rng_uniform(&s, 0, 1) < 0.02 ? 0.0f : (float)(rng_uniform(&s, -1, 1) * c->weight_scale);
      else if (!strcmp(p->attrs.name, "0.bias"))
        v[i] = c->b[i];
      else if (!strcmp(name, "weight"))
        v[i] = c->gamma[i];
      else if (!strcmp(name, "bias"))
        v[i] = c->beta[i];
      else if (!strcmp(name, "running_mean"))
        v[i] = c->mean[i];
      else if (!strcmp(name, "running_var"))
        v[i] = c->var[i];
    }
    p->data = v;
    p->data_bytes = (size_t)n * sizeof(float);
  }
}

static IrNode *find_param(const IrGraph *g, const char *name) {
  for (IrNode *n = g->first; n; n = n->next)
    if (n->op == IR_PARAM && !strcmp(n->attrs.name, name)) return n;
  return NULL;
}

/* The runtime's f32 arithmetic for binlinear (+ alpha, + bias) -> BN -> sign. */
static bool expected_positive(const Case *c, const float *alpha, int ch, int64_t y) {
  float v = (float)y;
  if (c->scale) v = v * alpha[ch];
  if (c->bias) v = v + c->b[ch];
  /* libbnn's eval-mode batchnorm (runtime/src/ops_norm.c), written out again
   * here rather than shared, so a change on either side shows. */
  float invstd = (float)(1.0 / sqrt((double)c->var[ch] + (double)c->eps));
  float normed = (v - c->mean[ch]) * invstd;
  float scaled = c->gamma[ch] * normed;
  float out = scaled + c->beta[ch];
  return out >= 0.0f;
}

static long exhaustive_checks, interpreter_checks, steps_inside;

static void run_case(Arena *arena, int index, uint64_t *s) {
  Case c;
  make_case(&c, s, index);
  TestModel t;
  tm_init(&t, "thr", (Shape){1, {c.k}}, INPUT_F32, false, 0, 1);
  tm_binlinear(&t, CHANNELS, false, c.bias, c.scale);
  tm_batchnorm(&t, c.eps);
  tm_simple(&t, LAYER_SIGN);
  uint64_t seed = rng_next(s);
  IrGraph *ref = lower_model(arena, &t.m), *g = lower_model(arena, &t.m);
  bind(ref, &c, seed);
  bind(g, &c, seed);

  float alpha[CHANNELS];
  const float *w = find_param(ref, "0.weight")->data;
  for (int ch = 0; ch < CHANNELS; ch++) {
    double sum = 0.0; /* as libbnn's binlinear forward (runtime/src/ops_gemm.c) */
    for (int64_t j = 0; j < c.k; j++) sum += fabsf(w[ch * c.k + j]);
    alpha[ch] = (float)(sum / (double)c.k);
  }

  pass_drop_training_ops(g);
  pass_pack_weights(g);
  pass_fold_input_affine(g);
  pass_fold_affines(g, true);
  pass_fold_threshold(g);
  check_verify(g, "fold_threshold");
  CHECK(count_op(g, IR_THRESHOLD) == 1, "case %d: no threshold (K=%lld)", index, (long long)c.k);
  const IrNode *thr_node = NULL;
  for (const IrNode *n = g->first; n; n = n->next)
    if (n->op == IR_THRESHOLD) thr_node = n;
  if (!thr_node) return;
  const int32_t *thr = thr_node->inputs[1]->data, *flip = thr_node->inputs[2]->data;

  for (int ch = 0; ch < CHANNELS; ch++) steps_inside += thr[ch] > -c.k && thr[ch] <= c.k;
  for (int ch = 0; ch < CHANNELS; ch++)
    for (int64_t y = -c.k; y <= c.k; y++) {
      bool rule = flip[ch] ? y <= thr[ch] : y >= thr[ch];
      exhaustive_checks++;
      if (rule != expected_positive(&c, alpha, ch, y)) {
        CHECK(false, "case %d K=%lld ch %d y=%lld: thr %d flip %d gives %d (gamma %g mean %g var %g eps %g)",
              index, (long long)c.k, ch, (long long)y, thr[ch], flip[ch], rule, (double)c.gamma[ch],
              (double)c.mean[ch], (double)c.var[ch], (double)c.eps);
        return;
      }
    }

  /* Through the interpreter: x_j = +-1 chosen so channel 0 sees y. */
  if (index % 3 != 0 && index >= 8) return;
  const uint64_t *w0 = find_param(g, "0.weight.packed")->data;
  float *x = malloc((size_t)c.k * sizeof *x);
  float out_ref[CHANNELS], out_got[CHANNELS];
  int64_t step = c.k > 256 ? c.k / 256 : 1;
  for (int64_t agree = 0; agree <= c.k; agree++) {   /* y = 2 * agree - K */
    int64_t y = 2 * agree - c.k;
    if (agree % step != 0 && llabs(y - thr[0]) > 40) continue;   /* every y near the step */
    for (int64_t j = 0; j < c.k; j++) {
      float wsign = (float)ir_bit_get(w0, j);
      x[j] = j < agree ? wsign : -wsign;
    }
    CHECK(ir_eval(ref, x, out_ref, NULL, NULL) == IR_EVAL_OK, "eval");
    CHECK(ir_eval(g, x, out_got, NULL, NULL) == IR_EVAL_OK, "eval");
    interpreter_checks++;
    if (memcmp(out_ref, out_got, sizeof out_ref) != 0) {
      CHECK(false, "case %d: interpreter disagrees at y = %lld", index, (long long)y);
      break;
    }
  }
  free(x);
}

int main(void) {
  Arena arena;
  arena_init(&arena);
  uint64_t s = 42;
  int cases = 300;
  for (int i = 0; i < cases; i++) run_case(&arena, i, &s);
  arena_free(&arena);
  printf("%d cases, %ld channels with a step inside [-K, K], %ld exhaustive (channel, y) checks, "
         "%ld interpreter runs: %d failure(s)\n",
         cases, steps_inside, exhaustive_checks, interpreter_checks, test_failures);
  CHECK(steps_inside > cases, "too few non-constant thresholds: the test would prove little");
  return test_failures ? 1 : 0;
}
