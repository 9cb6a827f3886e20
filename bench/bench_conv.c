/* bench_conv.c - the convolution rows of bnnc_bench (issue 6; results in
 * docs/performance.md, "Convolutions").
 *
 * Single thread, median of >= 7 repetitions after a warm-up, CPU time:
 *   conv64     one binary conv layer, 64 -> 64 channels, 3x3, pad 1, 28x28,
 *              f32 input: sign, binconv, BatchNorm (f32 output)
 *   conv64_thr the same followed by sign: the fused binconv_thr (bit output)
 *   xnor_lenet examples/xnor_lenet.bnn, u8 input
 * each compiled by bnnc at build time (--random-weights 1), against the same
 * network in f32 (sign as +-1 floats, convolutions as im2col + one
 * cblas_sgemm per layer and sample, BatchNorm as its affine, linear layers as
 * cblas_sgemv) and, for xnor_lenet, libbnn's eval mode. The weights are
 * re-created in process from the seed (the driver's weights_bind_random) and
 * the contenders' argmax / outputs checked against each other before timing.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bnn/bnn.h"
#include "frontend.h"
#include "ir_eval.h"
#include "lower.h"
#include "runtime_bridge.h"
#include "weights.h"

#include "conv64.h"
#include "conv64_thr.h"
#include "xnor_lenet.h"

enum { CONV_REPS = 7, CONV_MAX_BATCH = 64 };

typedef int (*ConvBatchFn)(const void *input, float *output, size_t n, void *scratch);

typedef struct ConvCase {
  const char *name, *path;
  int64_t in_size, out_size, scratch_bytes;
  bool u8_input, has_runtime;
  ConvBatchFn compiled;
} ConvCase;

static const ConvCase conv_cases[] = {
    {"conv64", BNNC_BENCH_GEN "/conv64.bnn", CONV64_INPUT_SIZE, CONV64_OUTPUT_SIZE, CONV64_SCRATCH_BYTES, false,
     false, (ConvBatchFn)conv64_infer_batch},
    {"conv64_thr", BNNC_BENCH_GEN "/conv64_thr.bnn", CONV64_THR_INPUT_SIZE, CONV64_THR_OUTPUT_SIZE,
     CONV64_THR_SCRATCH_BYTES, false, false, (ConvBatchFn)conv64_thr_infer_batch},
    {"xnor_lenet", BNNC_EXAMPLES "/xnor_lenet.bnn", XNOR_LENET_INPUT_SIZE, XNOR_LENET_OUTPUT_SIZE,
     XNOR_LENET_SCRATCH_BYTES, true, true, (ConvBatchFn)xnor_lenet_infer_batch},
};

/* ---- timing (CPU time of this thread: the machine is shared) ---- */

typedef BenchRunFn ConvRunFn;

/* Median seconds per call on this thread's CPU time, CONV_REPS + 2 repetitions. */
static double conv_median(ConvRunFn run, void *ctx, int64_t n) {
  return bench_median_seconds(true, run, ctx, n, CONV_REPS + 2);
}

static void *conv_alloc(size_t bytes) {
  void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) abort();
  memset(p, 0, bytes);
  return p;
}

/* ---- the f32 network: the lowered graph, im2col + sgemm for convolutions ---- */

typedef struct F32Conv {
  const IrGraph *g;
  float **val;      /* by node id: [numel] f32 (bits as +-1), NULL for params */
  float **wpm;      /* by node id: conv / dense weights as +-1 (binary) or as is, [O, K] */
  float **alpha;    /* by node id: XNOR-Net alpha [O] or NULL */
  float *col;       /* im2col rows [OH*OW, K] of the largest conv */
} F32Conv;

static const float *param_f32(const IrNode *p) { return p->data; }

static F32Conv *f32conv_create(const IrGraph *g) {
  F32Conv *f = calloc(1, sizeof *f);
  int ids = 0;
  for (const IrNode *n = g->first; n; n = n->next) ids = n->id + 1 > ids ? n->id + 1 : ids;
  f->g = g;
  f->val = calloc((size_t)ids, sizeof *f->val);
  f->wpm = calloc((size_t)ids, sizeof *f->wpm);
  f->alpha = calloc((size_t)ids, sizeof *f->alpha);
  size_t col = 1;
  for (const IrNode *n = g->first; n; n = n->next) {
    if (n->op == IR_PARAM) continue;
    f->val[n->id] = conv_alloc((size_t)shape_numel(&n->type.shape) * sizeof(float));
    bool conv = n->op == IR_CONV2D || n->op == IR_BINCONV2D;
    bool binary = n->op == IR_BINCONV2D || n->op == IR_BINLINEAR;
    if (!conv && !binary && n->op != IR_LINEAR) continue;
    const IrNode *w = n->inputs[1];
    int64_t O = w->type.shape.dims[0], K = shape_numel(&w->type.shape) / O;
    float *wp = conv_alloc((size_t)(O * K) * sizeof *wp);
    const float *src = param_f32(w);
    for (int64_t k = 0; k < O * K; k++) wp[k] = binary ? (src[k] >= 0.0f ? 1.0f : -1.0f) : src[k];
    f->wpm[n->id] = wp;
    if (binary && n->attrs.scale) {
      f->alpha[n->id] = conv_alloc((size_t)O * sizeof(float));
      for (int64_t o = 0; o < O; o++) f->alpha[n->id][o] = ir_eval_alpha(src + o * K, K);
    }
    if (conv) {
      size_t rows = (size_t)(n->type.shape.dims[1] * n->type.shape.dims[2]);
      if (rows * (size_t)K > col) col = rows * (size_t)K;
    }
  }
  f->col = conv_alloc(col * sizeof(float));
  return f;
}

static void f32conv_free(F32Conv *f) {
  for (const IrNode *n = f->g->first; n; n = n->next) {
    free(f->val[n->id]);
    free(f->wpm[n->id]);
    free(f->alpha[n->id]);
  }
  free(f->val);
  free(f->wpm);
  free(f->alpha);
  free(f->col);
  free(f);
}

/* y [O, OH*OW] = W [O, K] x col^T, col [OH*OW, K] from x [C,H,W] (0 in the padding). */
static void f32conv_conv(F32Conv *f, const IrNode *n, const float *x, float *y) {
  const IrAttrs *a = &n->attrs;
  int64_t C = n->inputs[0]->type.shape.dims[0], H = n->inputs[0]->type.shape.dims[1];
  int64_t W = n->inputs[0]->type.shape.dims[2], O = n->type.shape.dims[0], OH = n->type.shape.dims[1];
  int64_t OW = n->type.shape.dims[2], K = C * a->kernel_h * a->kernel_w;
  float *col = f->col;
  for (int64_t oy = 0; oy < OH; oy++)
    for (int64_t ox = 0; ox < OW; ox++) {
      float *row = col + (oy * OW + ox) * K;
      for (int64_t c = 0; c < C; c++)
        for (int ky = 0; ky < a->kernel_h; ky++) {
          int64_t iy = oy * a->stride - a->pad + ky;
          for (int kx = 0; kx < a->kernel_w; kx++) {
            int64_t ix = ox * a->stride - a->pad + kx;
            *row++ = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[(c * H + iy) * W + ix] : 0.0f;
          }
        }
    }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)O, (int)(OH * OW), (int)K, 1.0f, f->wpm[n->id],
              (int)K, col, (int)K, 0.0f, y, (int)(OH * OW));
  const float *alpha = f->alpha[n->id], *bias = n->n_inputs > 2 ? param_f32(n->inputs[2]) : NULL;
  for (int64_t o = 0; o < O; o++)
    for (int64_t i = 0; i < OH * OW; i++) {
      float *v = &y[o * OH * OW + i];
      if (alpha) *v *= alpha[o];
      if (bias) *v += bias[o];
    }
}

static void f32conv_dense(F32Conv *f, const IrNode *n, const float *x, float *y) {
  const IrNode *w = n->inputs[1];
  int64_t O = w->type.shape.dims[0], K = w->type.shape.dims[1];
  cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)O, (int)K, 1.0f, f->wpm[n->id], (int)K, x, 1, 0.0f, y, 1);
  const float *alpha = f->alpha[n->id], *bias = n->n_inputs > 2 ? param_f32(n->inputs[2]) : NULL;
  for (int64_t o = 0; o < O; o++) {
    if (alpha) y[o] *= alpha[o];
    if (bias) y[o] += bias[o];
  }
}

/* One sample: input (u8 or f32) -> logits. */
static void f32conv_forward_one(F32Conv *f, const void *input, bool u8, float *out) {
  for (const IrNode *n = f->g->first; n; n = n->next) {
    if (n->op == IR_PARAM) continue;
    float *y = f->val[n->id];
    const float *x = n->n_inputs ? f->val[n->inputs[0]->id] : NULL;
    int64_t m = shape_numel(&n->type.shape);
    int64_t per_c = n->type.shape.rank == 3 ? n->type.shape.dims[1] * n->type.shape.dims[2] : 1;
    switch (n->op) {
    case IR_INPUT:
      for (int64_t i = 0; i < m; i++) y[i] = u8 ? (float)((const uint8_t *)input)[i] : ((const float *)input)[i];
      break;
    case IR_AFFINE: {
      const IrNode *s = n->inputs[1], *t = n->inputs[2];
      bool s1 = shape_numel(&s->type.shape) == 1, t1 = shape_numel(&t->type.shape) == 1;
      for (int64_t i = 0; i < m; i++)
        y[i] = x[i] * param_f32(s)[s1 ? 0 : i / per_c] + param_f32(t)[t1 ? 0 : i / per_c];
      break;
    }
    case IR_BATCHNORM:
      for (int64_t i = 0; i < m; i++) {
        int64_t c = i / per_c;
        y[i] = (x[i] - param_f32(n->inputs[3])[c]) / sqrtf(param_f32(n->inputs[4])[c] + n->attrs.eps) *
                   param_f32(n->inputs[1])[c] + param_f32(n->inputs[2])[c];
      }
      break;
    case IR_SIGN:
      for (int64_t i = 0; i < m; i++) y[i] = x[i] >= 0.0f ? 1.0f : -1.0f;
      break;
    case IR_MAXPOOL: {
      const IrAttrs *a = &n->attrs;
      int64_t H = n->inputs[0]->type.shape.dims[1], W = n->inputs[0]->type.shape.dims[2];
      int64_t OH = n->type.shape.dims[1], OW = n->type.shape.dims[2];
      for (int64_t c = 0; c < n->type.shape.dims[0]; c++)
        for (int64_t oy = 0; oy < OH; oy++)
          for (int64_t ox = 0; ox < OW; ox++) {
            float best = -INFINITY;
            for (int ky = 0; ky < a->kernel_h; ky++)
              for (int kx = 0; kx < a->kernel_w; kx++) {
                float v = x[(c * H + oy * a->stride + ky) * W + ox * a->stride + kx];
                best = v > best ? v : best;
              }
            y[(c * OH + oy) * OW + ox] = best;
          }
      break;
    }
    case IR_FLATTEN:
    case IR_DROPOUT:
    case IR_CONVERT:   /* bit -> f32: already +-1 here */
      memcpy(y, x, (size_t)m * sizeof *y);
      break;
    case IR_CONV2D:
    case IR_BINCONV2D: f32conv_conv(f, n, x, y); break;
    case IR_BINLINEAR:
    case IR_LINEAR: f32conv_dense(f, n, x, y); break;
    case IR_OUTPUT: memcpy(out, x, (size_t)m * sizeof *out); break;
    default:
      fprintf(stderr, "bench_conv: op %s not in the f32 network\n", ir_op_info[n->op].name);
      abort();
    }
  }
}

/* ---- contenders ---- */

typedef struct ConvCtx {
  const ConvCase *c;
  const uint8_t *input;
  float *out;
  void *scratch;
  F32Conv *f32;
  bnn_net *net;
} ConvCtx;

static size_t sample_bytes(const ConvCase *c) { return (size_t)c->in_size * (c->u8_input ? 1 : 4); }

static void conv_run_compiled(void *p, int64_t n) {
  ConvCtx *x = p;
  if (x->c->compiled(x->input, x->out, (size_t)n, x->scratch) != 0) abort();
}
static void conv_run_f32(void *p, int64_t n) {
  ConvCtx *x = p;
  for (int64_t s = 0; s < n; s++)
    f32conv_forward_one(x->f32, x->input + s * sample_bytes(x->c), x->c->u8_input, x->out + s * x->c->out_size);
}
static void conv_run_runtime(void *p, int64_t n) {
  ConvCtx *x = p;
  bnn_error err = {0};
  if (bnn_net_forward_eval(x->net, x->input, n, x->out, &err) != BNN_OK) abort();
}

/* Outputs that differ by more than 1e-3 relative (binary nets: a sign flip
 * moves an output a lot, rounding does not), and argmax agreement. */
static int64_t outputs_apart(const float *a, const float *b, int64_t len) {
  int64_t bad = 0;
  for (int64_t i = 0; i < len; i++) bad += fabsf(a[i] - b[i]) > 1e-3f * fmaxf(1.0f, fabsf(b[i]));
  return bad;
}

static int64_t argmax_same(const float *a, const float *b, int64_t n, int64_t k) {
  int64_t same = 0;
  for (int64_t s = 0; s < n; s++) same += bnn_argmax(a + s * k, k) == bnn_argmax(b + s * k, k);
  return same;
}

void bench_conv(FILE *csv) {
  printf("\nconvolutions (issue 6): single thread, us per sample, median of >= %d reps\n", CONV_REPS);
  printf("%-12s %5s | %9s | %9s %9s | %7s %7s\n", "model", "batch", "bnnc us", "f32 us", "libbnn us", "vs f32",
         "vs libbnn");
  srand(11);
  size_t max_in = 0, max_out = 0, max_scratch = 0;
  for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
    const ConvCase *c = &conv_cases[i];
    if (sample_bytes(c) > max_in) max_in = sample_bytes(c);
    if ((size_t)c->out_size > max_out) max_out = (size_t)c->out_size;
    if ((size_t)c->scratch_bytes > max_scratch) max_scratch = (size_t)c->scratch_bytes;
  }
  uint8_t *input = conv_alloc(CONV_MAX_BATCH * max_in);
  float *out = conv_alloc(CONV_MAX_BATCH * max_out * 4), *ref = conv_alloc(CONV_MAX_BATCH * max_out * 4);
  void *scratch = conv_alloc(max_scratch + 64);
  for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
    const ConvCase *c = &conv_cases[i];
    Arena a;
    arena_init(&a);
    Diagnostics d;
    diag_init(&d, c->path, NULL, 0);
    Model *m = frontend_parse_file(&a, &d, c->path);
    if (!m) exit(1);
    IrGraph *g = lower_model(&a, m);
    weights_bind_random(g, BNNC_BENCH_SEED);
    if (c->u8_input)
      for (size_t k = 0; k < CONV_MAX_BATCH * sample_bytes(c); k++) input[k] = (uint8_t)(rand() % 256);
    else   /* f32 inputs in [-2, 2] */
      for (int64_t k = 0; k < CONV_MAX_BATCH * c->in_size; k++) ((float *)input)[k] = (float)(rand() % 4001) / 1000 - 2;
    ConvCtx ctx = {c, input, out, scratch, f32conv_create(g), c->has_runtime ? bench_runtime_net(m, g) : NULL};
    int64_t n = CONV_MAX_BATCH, k = c->out_size;
    conv_run_f32(&ctx, n);
    memcpy(ref, out, (size_t)(n * k) * sizeof *ref);
    conv_run_compiled(&ctx, n);
    printf("  check %s: compiled vs f32: argmax %lld/%lld, outputs apart (>1e-3 rel) %lld/%lld\n", c->name,
           (long long)argmax_same(out, ref, n, k), (long long)n, (long long)outputs_apart(out, ref, n * k),
           (long long)(n * k));
    if (ctx.net) {
      memcpy(ref, out, (size_t)(n * k) * sizeof *ref);
      conv_run_runtime(&ctx, n);
      printf("  check %s: libbnn vs compiled: argmax %lld/%lld\n", c->name, (long long)argmax_same(out, ref, n, k),
             (long long)n);
    }
    static const int64_t conv_batches[] = {1, CONV_MAX_BATCH};
    for (int bi = 0; bi < 2; bi++) {
      int64_t b = conv_batches[bi];
      double us = conv_median(conv_run_compiled, &ctx, b) / (double)b * 1e6;
      double f32_us = conv_median(conv_run_f32, &ctx, b) / (double)b * 1e6;
      double rt_us = ctx.net ? conv_median(conv_run_runtime, &ctx, b) / (double)b * 1e6 : NAN;
      printf("%-12s %5lld | %9.2f | %9.1f %9.1f | %6.1fx %6.1fx\n", c->name, (long long)b, us, f32_us, rt_us,
             f32_us / us, rt_us / us);
      fprintf(csv, "%s,%lld,bnnc-host,%.3f,\n%s,%lld,f32-openblas,%.3f,\n", c->name, (long long)b, us, c->name,
              (long long)b, f32_us);
      if (ctx.net) fprintf(csv, "%s,%lld,libbnn-eval,%.3f,\n", c->name, (long long)b, rt_us);
    }
    f32conv_free(ctx.f32);
    if (ctx.net) bnn_net_free(ctx.net);
    arena_free(&a);
  }
  free(input);
  free(out);
  free(ref);
  free(scratch);
}
