/* bnnc_bench.c - how fast is the code bnnc generates? (issue 5; results and
 * how to read them in docs/performance.md; run with scripts/bench.sh)
 *
 * For each model (bnn_mlp, bnn_paper_mlp, one 2048x2048 and one 4096x4096
 * binary layer) and batch 1, 64 and 256, single thread, the median of at
 * least 7 timed repetitions after a warm-up, of:
 *   compiled  the object bnnc made at build time (--random-weights 1), for
 *             the host, and for generic targets: without VPOPCNTDQ and
 *             AVX2 only (same weights, another model name);
 *   hand      the bench's own XNOR-popcount kernels (xnor_kernel.c) running
 *             the same post-pass network: the practical ceiling;
 *   f32       the same network in f32 through OpenBLAS (bench_f32.c);
 *   libbnn    the runtime's eval-mode forward (the MLPs).
 * The bench re-creates the weights with the driver's own code from the same
 * seed and checks that compiled, hand and libbnn agree before timing.
 * Then: model bytes, 2-thread scaling of _infer_batch, compile time of bnn_mlp.
 *
 *   bnnc_bench [CSV]        (default bnnc_bench.csv)
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bnn/bnn.h"
#include "frontend.h"
#include "lower.h"
#include "passes.h"
#include "runtime_bridge.h"
#include "weights.h"
#include "xnor_kernel.h"

#include "bnn_mlp.h"
#include "bnn_mlp_avx2.h"
#include "bnn_mlp_nopopcnt.h"
#include "bnn_paper_mlp.h"
#include "bnn_paper_mlp_avx2.h"
#include "bnn_paper_mlp_nopopcnt.h"
#include "layer2048.h"
#include "layer2048_avx2.h"
#include "layer2048_nopopcnt.h"
#include "layer4096.h"
#include "layer4096_avx2.h"
#include "layer4096_nopopcnt.h"

enum { MAX_BATCH = 256, MIN_REPS = 7, N_VARIANTS = 3 };
static const int64_t batches[] = {1, 64, 256};
static const char *const variant_names[N_VARIANTS] = {"host", "no-vpopcntdq", "avx2"};

/* Peak of this machine class (issue 5): one 512-bit XOR + VPOPCNTQ + add
 * every 0.77 cycles at about 3.6 GHz = 4.8 T binary-ops/s per core. */
static const double peak_gops = 4800.0;

typedef int (*BatchFn)(const void *input, float *output, size_t n, void *scratch);

typedef struct Case {
  const char *name, *path;
  int64_t in_size, out_size, scratch_bytes[N_VARIANTS];
  bool u8_input, has_runtime;
  BatchFn compiled[N_VARIANTS];
  const char *objects[N_VARIANTS];
} Case;

#define OBJ(n) BNNC_BENCH_GEN "/" n ".o"
#define VARIANTS(p, P) {(BatchFn)p##_infer_batch, (BatchFn)p##_nopopcnt_infer_batch, (BatchFn)p##_avx2_infer_batch}
#define SCRATCH(P) {P##_SCRATCH_BYTES, P##_NOPOPCNT_SCRATCH_BYTES, P##_AVX2_SCRATCH_BYTES}
#define OBJECTS(n) {OBJ(n), OBJ(n "_nopopcnt"), OBJ(n "_avx2")}

static Case cases[] = {
    {"bnn_mlp", BNNC_EXAMPLES "/bnn_mlp.bnn", BNN_MLP_INPUT_SIZE, BNN_MLP_OUTPUT_SIZE, SCRATCH(BNN_MLP), true, true,
     VARIANTS(bnn_mlp, BNN_MLP), OBJECTS("bnn_mlp")},
    {"bnn_paper_mlp", BNNC_EXAMPLES "/bnn_paper_mlp.bnn", BNN_PAPER_MLP_INPUT_SIZE, BNN_PAPER_MLP_OUTPUT_SIZE,
     SCRATCH(BNN_PAPER_MLP), true, true, VARIANTS(bnn_paper_mlp, BNN_PAPER_MLP), OBJECTS("bnn_paper_mlp")},
    {"layer2048", BNNC_BENCH_MODELS "/layer2048.bnn", LAYER2048_INPUT_SIZE, LAYER2048_OUTPUT_SIZE,
     SCRATCH(LAYER2048), false, false, VARIANTS(layer2048, LAYER2048), OBJECTS("layer2048")},
    {"layer4096", BNNC_BENCH_MODELS "/layer4096.bnn", LAYER4096_INPUT_SIZE, LAYER4096_OUTPUT_SIZE,
     SCRATCH(LAYER4096), false, false, VARIANTS(layer4096, LAYER4096), OBJECTS("layer4096")},
};

/* ---- timing ---- */

/* The machine is shared: single-thread figures use the thread's CPU time
 * (time while descheduled does not count); wall time for 2 threads and the
 * compile time. */
static clockid_t bench_clock = CLOCK_THREAD_CPUTIME_ID;

static double clock_seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void) { return clock_seconds(bench_clock); }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median_seconds(bool thread_cpu_time, BenchRunFn run, void *ctx, int64_t n, int reps) {
  clockid_t clock = thread_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
  double t0 = clock_seconds(clock);
  run(ctx, n);
  run(ctx, n);
  double once = (clock_seconds(clock) - t0) / 2;
  int64_t calls = once > 2e-3 ? 1 : (int64_t)(2e-3 / (once > 1e-9 ? once : 1e-9)) + 1;
  double t[32];
  if (reps > 32) reps = 32;
  for (int r = 0; r < reps; r++) {
    double s = clock_seconds(clock);
    for (int64_t c = 0; c < calls; c++) run(ctx, n);
    t[r] = (clock_seconds(clock) - s) / (double)calls;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  return t[reps / 2];
}

typedef BenchRunFn RunFn;

/* Median of MIN_REPS + 2 repetitions on the current bench_clock. */
static double median_seconds(RunFn run, void *ctx, int64_t n) {
  return bench_median_seconds(bench_clock == CLOCK_THREAD_CPUTIME_ID, run, ctx, n, MIN_REPS + 2);
}

/* ---- the hand-written network: the post-pass graph on xnor_kernel.c ---- */

typedef struct HandLayer {
  const IrNode *node;
  int64_t in, out, rows, stride;   /* rows padded to 4, stride to 8 words */
  uint64_t *w;                     /* [rows, stride] */
  const int32_t *thr, *flip;       /* bindense_thr, else NULL */
} HandLayer;

typedef struct HandNet {
  const IrGraph *g;
  HandLayer layers[8];
  int n_layers;
  const IrNode *tail;              /* the first float node after the binary layers */
  uint64_t *bits[2];               /* [MAX_BATCH, stride] packed activations */
  uint8_t *u8;                     /* [MAX_BATCH, stride * 64] padded input */
  int32_t *acc;                    /* [MAX_BATCH, rows] */
  float *f[2];                     /* [MAX_BATCH, features] float tail */
  int64_t max_features;
} HandNet;

static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }


static void *xaligned(size_t bytes) {
  void *p = aligned_alloc(64, round_up((int64_t)bytes, 64));
  if (!p) abort();
  memset(p, 0, bytes);
  return p;
}

static void hand_init(HandNet *h, const IrGraph *g) {
  memset(h, 0, sizeof *h);
  h->g = g;
  int64_t max_stride = 0;
  h->max_features = 16;
  for (const IrNode *n = g->first; n; n = n->next) {
    if (n->op != IR_BINDENSE && n->op != IR_BINDENSE_THR) {
      if (h->n_layers && !h->tail && n->op != IR_PARAM) h->tail = n;
      if (n->op != IR_PARAM && shape_numel(&n->type.shape) > h->max_features)
        h->max_features = shape_numel(&n->type.shape);
      continue;
    }
    HandLayer *l = &h->layers[h->n_layers++];
    const IrNode *w = n->inputs[1];
    l->node = n;
    l->out = w->type.shape.dims[0];
    l->in = w->type.shape.dims[1];
    l->rows = round_up(l->out, 64);
    int64_t words = (l->in + 63) / 64;
    l->stride = round_up(words, 8);
    l->w = xaligned((size_t)(l->rows * l->stride) * 8);
    const uint64_t *src = w->data;
    for (int64_t r = 0; r < l->out; r++) memcpy(l->w + r * l->stride, src + r * words, (size_t)words * 8);
    if (n->op == IR_BINDENSE_THR) {
      l->thr = n->inputs[2]->data;
      l->flip = n->inputs[3]->data;
    }
    if (l->stride > max_stride) max_stride = l->stride;
    if (l->rows > h->max_features) h->max_features = l->rows;
  }
  for (int i = 0; i < 2; i++) {
    h->bits[i] = xaligned((size_t)(MAX_BATCH * max_stride) * 8);
    h->f[i] = xaligned((size_t)(MAX_BATCH * h->max_features) * 4);
  }
  h->u8 = xaligned((size_t)(MAX_BATCH * max_stride * 64));
  h->acc = xaligned((size_t)(MAX_BATCH * h->max_features) * 4);
}

static float chan(const IrNode *p, int64_t c) {
  return ((const float *)p->data)[shape_numel(&p->type.shape) == 1 ? 0 : c];
}

/* The float ops after the last binary layer, sample by sample. */
static void hand_tail(const HandNet *h, const int32_t *acc, int64_t rows, float *out) {
  float *cur = h->f[0], *nxt = h->f[1];
  const IrNode *last = h->layers[h->n_layers - 1].node;
  int64_t len = shape_numel(&last->type.shape);
  for (int64_t k = 0; k < len; k++) cur[k] = (float)acc[k];
  for (const IrNode *n = h->tail; n; n = n->next) {
    if (n->op == IR_PARAM) continue;
    int64_t m = shape_numel(&n->type.shape);
    switch (n->op) {
    case IR_CONVERT: continue;
    case IR_AFFINE:
      for (int64_t c = 0; c < m; c++) nxt[c] = cur[c] * chan(n->inputs[1], c) + chan(n->inputs[2], c);
      break;
    case IR_BATCHNORM:
      for (int64_t c = 0; c < m; c++)
        nxt[c] = (cur[c] - chan(n->inputs[3], c)) / sqrtf(chan(n->inputs[4], c) + n->attrs.eps) *
                     chan(n->inputs[1], c) + chan(n->inputs[2], c);
      break;
    case IR_LINEAR: {
      const float *w = n->inputs[1]->data, *b = n->n_inputs > 2 ? n->inputs[2]->data : NULL;
      for (int64_t o = 0; o < m; o++) {
        float s = 0;
        for (int64_t j = 0; j < len; j++) s += cur[j] * w[o * len + j];
        nxt[o] = s + (b ? b[o] : 0.0f);
      }
      break;
    }
    case IR_OUTPUT:
      memcpy(out, cur, (size_t)m * sizeof *out);
      return;
    default: abort();
    }
    float *t = cur;
    cur = nxt;
    nxt = t;
    len = m;
  }
  (void)rows;
}

/* acc >= thr (flip: <=) gives +1, i.e. bit 0. */
static void hand_pack(const HandLayer *l, const int32_t *acc, uint64_t *y) {
  for (int64_t w = 0; w < l->rows / 64; w++) {
    uint64_t word = 0;
    for (int64_t b = 0; b < 64; b++) {
      int64_t o = w * 64 + b;
      if (o >= l->out) break;
      bool pos = l->flip[o] ? acc[o] <= l->thr[o] : acc[o] >= l->thr[o];
      word |= (uint64_t)!pos << b;
    }
    y[w] = word;
  }
}

static void hand_forward(HandNet *h, const uint8_t *input, int64_t n, float *out) {
  int64_t in0 = h->layers[0].in, out_size = 0;
  for (const IrNode *p = h->g->first; p; p = p->next)
    if (p->op == IR_OUTPUT) out_size = shape_numel(&p->type.shape);
  int cur = 0;
  for (int li = 0; li < h->n_layers; li++) {
    const HandLayer *l = &h->layers[li];
    int32_t *acc = h->acc;
    if (li == 0) {
      for (int64_t s = 0; s < n; s++) {
        uint8_t *x = h->u8 + s * l->stride * 64;
        memcpy(x, input + s * in0, (size_t)in0);
        int32_t total = 0;
        for (int64_t j = 0; j < in0; j++) total += x[j];
        hk_u8_gemv(l->w, l->rows, l->stride, x, acc + s * l->rows);
        for (int64_t r = 0; r < l->rows; r++) acc[s * l->rows + r] = total - 2 * acc[s * l->rows + r];
      }
    } else {
      hk_xnor_gemm(l->w, l->rows, l->stride, h->bits[cur], n, acc);
      for (int64_t k = 0; k < n * l->rows; k++) acc[k] = (int32_t)l->in - 2 * acc[k];
    }
    if (l->thr) {
      int64_t next_stride = li + 1 < h->n_layers ? h->layers[li + 1].stride : 0;
      for (int64_t s = 0; s < n; s++) hand_pack(l, acc + s * l->rows, h->bits[!cur] + s * next_stride);
      cur = !cur;
    } else {
      for (int64_t s = 0; s < n; s++) hand_tail(h, acc + s * l->rows, l->rows, out + s * out_size);
    }
  }
}

/* ---- contenders as RunFn ---- */

typedef struct Ctx {
  Case *c;
  int variant;
  const void *input;
  float *out;
  void *scratch;
  F32Net *f32;
  bnn_net *net;
  HandNet *hand;
} Ctx;

static void run_compiled(void *p, int64_t n) {
  Ctx *x = p;
  if (x->c->compiled[x->variant](x->input, x->out, (size_t)n, x->scratch) != 0) abort();
}
static void run_f32(void *p, int64_t n) {
  Ctx *x = p;
  f32net_forward(x->f32, x->input, n, x->out);
}
static void run_runtime(void *p, int64_t n) {
  Ctx *x = p;
  bnn_error err = {0};
  if (bnn_net_forward_eval(x->net, x->input, n, x->out, &err) != BNN_OK) abort();
}
static void run_hand(void *p, int64_t n) {
  Ctx *x = p;
  hand_forward(x->hand, x->input, n, x->out);
}

/* ---- 2 threads on disjoint slices, each with its own scratch ---- */

typedef struct Slice {
  Case *c;
  const uint8_t *input;
  float *out;
  int64_t n;
  void *scratch;
} Slice;

static void *run_slice(void *p) {
  Slice *s = p;
  if (s->c->compiled[0](s->input, s->out, (size_t)s->n, s->scratch) != 0) abort();
  return NULL;
}

typedef struct ThreadCtx {
  Case *c;
  const uint8_t *input;
  float *out;
  void *scratch[2];
} ThreadCtx;

static void run_two_threads(void *p, int64_t n) {
  ThreadCtx *t = p;
  size_t in_bytes = (size_t)t->c->in_size * (t->c->u8_input ? 1 : 4);
  int64_t half = n / 2;
  Slice s[2] = {{t->c, t->input, t->out, half, t->scratch[0]},
                {t->c, t->input + half * in_bytes, t->out + half * t->c->out_size, n - half, t->scratch[1]}};
  pthread_t th;
  if (pthread_create(&th, NULL, run_slice, &s[1]) != 0) abort();
  run_slice(&s[0]);
  pthread_join(th, NULL);
}

/* ---- model facts ---- */

/* Binary ops per sample: 2 per weight bit of every binary layer (the u8
 * first layer counted the same way: one +-1 MAC = 2 ops). */
static double binary_ops(const IrGraph *g) {
  double ops = 0;
  for (const IrNode *n = g->first; n; n = n->next)
    if (n->op == IR_BINDENSE || n->op == IR_BINDENSE_THR)
      ops += 2.0 * (double)n->inputs[1]->type.shape.dims[0] * (double)n->inputs[1]->type.shape.dims[1];
  return ops;
}

/* Bytes of the data sections of an ELF64 object (.rodata*, .data*, .bss
 * excluded): the packed weights and thresholds the object carries. */
static int64_t object_data_bytes(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)size);
  if (!b || fread(b, 1, (size_t)size, f) != (size_t)size) abort();
  fclose(f);
  uint64_t shoff;
  uint16_t shentsize, shnum, shstrndx;
  memcpy(&shoff, b + 0x28, 8);
  memcpy(&shentsize, b + 0x3a, 2);
  memcpy(&shnum, b + 0x3c, 2);
  memcpy(&shstrndx, b + 0x3e, 2);
  uint64_t stroff;
  memcpy(&stroff, b + shoff + (uint64_t)shstrndx * shentsize + 0x18, 8);
  int64_t total = 0;
  for (uint16_t i = 0; i < shnum; i++) {
    const unsigned char *sh = b + shoff + (uint64_t)i * shentsize;
    uint32_t name, type;
    uint64_t sz;
    memcpy(&name, sh, 4);
    memcpy(&type, sh + 4, 4);
    memcpy(&sz, sh + 0x20, 8);
    const char *s = (const char *)b + stroff + name;
    if (type == 1 /* PROGBITS */ && (strncmp(s, ".rodata", 7) == 0 || strncmp(s, ".lrodata", 8) == 0 ||
                                     strncmp(s, ".data", 5) == 0))
      total += (int64_t)sz;
  }
  free(b);
  return total;
}

static double compile_seconds(const char *model) {
  bench_clock = CLOCK_MONOTONIC;
  char cmd[1024];
  char out[] = "/tmp/bnnc_bench_XXXXXX";
  int fd = mkstemp(out);
  if (fd < 0) return -1;
  close(fd);
  snprintf(cmd, sizeof cmd, "%s %s --random-weights 1 -o %s", BNNC_PATH, model, out);
  double t[5];
  for (int i = 0; i < 5; i++) {
    double s = now();
    if (system(cmd) != 0) return -1;
    t[i] = now() - s;
  }
  remove(out);
  qsort(t, 5, sizeof *t, cmp_double);
  return t[2];
}

/* The 1-minute load average (/proc/loadavg), or -1: the 2-thread figure
 * only means something when the other core is idle (load < 1). */
static double load_average(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1) l = -1;
    fclose(f);
  }
  return l;
}

/* ---- building the in-process networks ---- */

static IrGraph *load_graph(Arena *a, const char *path, Model **model_out, bool passes) {
  Diagnostics d;
  diag_init(&d, path, NULL, 0);
  Model *m = frontend_parse_file(a, &d, path);
  if (!m) exit(1);
  IrGraph *g = lower_model(a, m);
  weights_bind_random(g, BNNC_BENCH_SEED);
  if (passes) {
    PassOptions po = passes_default_options();
    passes_run_inference(g, &po);
  }
  if (model_out) *model_out = m;
  return g;
}

bnn_net *bench_runtime_net(const Model *m, const IrGraph *g) {
  bnn_net *net = bridge_create_net(m, 0);
  if (!net) exit(1);
  for (const IrNode *p = g->first; p; p = p->next) {
    if (p->op != IR_PARAM || !p->attrs.name || strncmp(p->attrs.name, "input.", 6) == 0) continue;
    bnn_named_tensor t;
    bnn_error err = {0};
    if (bnn_net_find_tensor(net, p->attrs.name, &t, &err) != BNN_OK) continue;
    memcpy(t.data, p->data, (size_t)t.numel * sizeof(float));
  }
  return net;
}

static double max_rel_diff(const float *a, const float *b, int64_t len) {
  double m = 0;
  for (int64_t i = 0; i < len; i++) {
    double d = fabs((double)a[i] - (double)b[i]) / fmax(1.0, fabs((double)b[i]));
    if (d > m) m = d;
  }
  return m;
}

static int agree_argmax(const float *a, const float *b, int64_t n, int64_t k) {
  int same = 0;
  for (int64_t s = 0; s < n; s++) same += bnn_argmax(a + s * k, k) == bnn_argmax(b + s * k, k);
  return same;
}

/* ---- main ---- */

int main(int argc, char **argv) {
  const char *csv_path = argc > 1 ? argv[1] : "bnnc_bench.csv";
  openblas_set_num_threads(1);
  FILE *csv = fopen(csv_path, "w");
  if (!csv) {
    perror(csv_path);
    return 1;
  }
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  printf("bnnc_bench: single thread, median of >= %d reps after warm-up; hand kernel ISA %s; OpenBLAS %s "
         "(OPENBLAS_CORETYPE=%s); peak taken as %.1f T binary-ops/s\n\n",
         MIN_REPS, hk_isa_name(hk_best_isa()), openblas_get_config(), coretype ? coretype : "unset",
         peak_gops / 1000);
  fprintf(csv, "model,batch,contender,us_per_sample,gops\n");

  srand(7);
  uint8_t *input = xaligned((size_t)MAX_BATCH * 4096 * 4);
  float *out = xaligned((size_t)MAX_BATCH * 16 * 4096), *ref = xaligned((size_t)MAX_BATCH * 16 * 4096);
  size_t scratch_cap = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int v = 0; v < N_VARIANTS; v++)
      if ((size_t)cases[i].scratch_bytes[v] > scratch_cap) scratch_cap = (size_t)cases[i].scratch_bytes[v];
  void *scratch = xaligned(scratch_cap + 64), *scratch2 = xaligned(scratch_cap + 64);

  printf("%-14s %5s | %9s %7s %5s | %9s %9s | %9s %9s %9s | %7s %7s\n", "model", "batch", "bnnc us", "Gbop/s",
         "%peak", "no-popcnt", "avx2 us", "hand us", "f32 us", "libbnn us", "vs f32", "vs hand");
  for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
    Case *c = &cases[ci];
    Arena a;
    arena_init(&a);
    Model *m;
    IrGraph *lowered = load_graph(&a, c->path, &m, false);
    IrGraph *fused = load_graph(&a, c->path, NULL, true);
    size_t in_bytes = (size_t)c->in_size * (c->u8_input ? 1 : 4);
    for (size_t k = 0; k < MAX_BATCH * in_bytes; k++) input[k] = (uint8_t)(rand() % 256);
    if (!c->u8_input)   /* f32 inputs in [-2, 2] */
      for (int64_t k = 0; k < MAX_BATCH * c->in_size; k++) ((float *)input)[k] = (float)(rand() % 4001) / 1000 - 2;
    F32Net *f32 = f32net_create(lowered, MAX_BATCH);
    bnn_net *net = c->has_runtime ? bench_runtime_net(m, lowered) : NULL;
    HandNet hand;
    if (c->u8_input) hand_init(&hand, fused);
    double ops = binary_ops(fused);
    Ctx ctx = {c, 0, input, out, scratch, f32, net, c->u8_input ? &hand : NULL};

    /* agreement before timing: compiled vs the f32 network (and libbnn, hand) */
    int64_t n = MAX_BATCH, k = c->out_size;
    f32net_forward(f32, input, n, ref);
    for (int v = 0; v < N_VARIANTS; v++) {
      ctx.variant = v;
      run_compiled(&ctx, n);
      int same = agree_argmax(out, ref, n, k);
      printf("  check %s %s: argmax agrees with f32 on %d/%lld, max rel diff %.2g\n", c->name, variant_names[v],
             same, (long long)n, max_rel_diff(out, ref, n * k));
    }
    ctx.variant = 0;
    run_compiled(&ctx, n);
    memcpy(ref, out, (size_t)(n * k) * sizeof *ref);
    if (net) {
      run_runtime(&ctx, n);
      printf("  check %s libbnn: argmax agrees with compiled on %d/%lld\n", c->name, agree_argmax(out, ref, n, k),
             (long long)n);
    }
    if (ctx.hand) {
      run_hand(&ctx, n);
      printf("  check %s hand: max rel diff to compiled %.2g\n", c->name, max_rel_diff(out, ref, n * k));
    }

    for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
      int64_t b = batches[bi];
      double us[N_VARIANTS];
      for (int v = 0; v < N_VARIANTS; v++) {
        ctx.variant = v;
        us[v] = median_seconds(run_compiled, &ctx, b) / (double)b * 1e6;
      }
      ctx.variant = 0;
      double hand_us = ctx.hand ? median_seconds(run_hand, &ctx, b) / (double)b * 1e6 : NAN;
      double f32_us = median_seconds(run_f32, &ctx, b) / (double)b * 1e6;
      double rt_us = net ? median_seconds(run_runtime, &ctx, b) / (double)b * 1e6 : NAN;
      double gops = ops / us[0] * 1e-3;
      printf("%-14s %5lld | %9.2f %7.0f %4.0f%% | %9.2f %9.2f | %9.2f %9.1f %9.1f | %6.0fx %6.2fx\n", c->name,
             (long long)b, us[0], gops, 100 * gops / peak_gops, us[1], us[2], hand_us, f32_us, rt_us,
             f32_us / us[0], ctx.hand ? hand_us / us[0] : NAN);
      for (int v = 0; v < N_VARIANTS; v++)
        fprintf(csv, "%s,%lld,bnnc-%s,%.3f,%.1f\n", c->name, (long long)b, variant_names[v], us[v], ops / us[v] * 1e-3);
      if (ctx.hand) fprintf(csv, "%s,%lld,hand,%.3f,%.1f\n", c->name, (long long)b, hand_us, ops / hand_us * 1e-3);
      fprintf(csv, "%s,%lld,f32-openblas,%.3f,\n", c->name, (long long)b, f32_us);
      if (net) fprintf(csv, "%s,%lld,libbnn-eval,%.3f,\n", c->name, (long long)b, rt_us);
    }
    /* the layer alone, hand kernel at batch 1 / 64 (no float epilogue) */
    if (!c->u8_input) {
      const IrNode *d = NULL;
      for (const IrNode *x = fused->first; x; x = x->next)
        if (x->op == IR_BINDENSE) d = x;
      HandNet hn;
      memset(&hn, 0, sizeof hn);
      int64_t rows = d->inputs[1]->type.shape.dims[0], stride = (d->inputs[1]->type.shape.dims[1] + 63) / 64;
      uint64_t *w = xaligned((size_t)(rows * stride) * 8);
      memcpy(w, d->inputs[1]->data, (size_t)(rows * stride) * 8);
      int32_t *pop = xaligned((size_t)(MAX_BATCH * rows) * 4);
      for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
        int64_t b = batches[bi];
        double t0 = 0, t[MIN_REPS];
        for (int r = 0; r < MIN_REPS; r++) {
          int calls = b == 1 ? 2000 : 20;
          double s = now();
          for (int i = 0; i < calls; i++) hk_xnor_gemm(w, rows, stride, (const uint64_t *)input, b, pop);
          t[r] = (now() - s) / calls / (double)b * 1e6;
        }
        qsort(t, MIN_REPS, sizeof *t, cmp_double);
        t0 = t[MIN_REPS / 2];
        printf("%-14s %5lld | hand XNOR-popcount kernel alone: %.2f us/sample, %.0f Gbop/s (%.0f%% of peak)\n",
               c->name, (long long)b, t0, ops / t0 * 1e-3, 100 * ops / t0 * 1e-3 / peak_gops);
        fprintf(csv, "%s,%lld,hand-kernel-only,%.3f,%.1f\n", c->name, (long long)b, t0, ops / t0 * 1e-3);
      }
      free(w);
      free(pop);
    }
    /* 2 threads on disjoint halves of 256 samples, separate scratch */
    {
      ThreadCtx tc = {c, input, out, {scratch, scratch2}};
      bench_clock = CLOCK_MONOTONIC;
      double one = median_seconds(run_compiled, &ctx, MAX_BATCH);
      double two = median_seconds(run_two_threads, &tc, MAX_BATCH);
      bench_clock = CLOCK_THREAD_CPUTIME_ID;
      printf("%-14s   256 | 2 threads: %.2f us/sample vs %.2f on one: %.2fx (wall; load average %.2f)\n", c->name,
             two / MAX_BATCH * 1e6, one / MAX_BATCH * 1e6, one / two, load_average());
      fprintf(csv, "%s,256,bnnc-host-2threads,%.3f,%.1f\n", c->name, two / MAX_BATCH * 1e6,
              ops / (two / MAX_BATCH * 1e6) * 1e-3);
    }
    int64_t obj = object_data_bytes(c->objects[0]), fw = f32net_weight_bytes(f32);
    printf("%-14s model bytes: object data %lld vs f32 weights %lld (1/%.1f)\n\n", c->name, (long long)obj,
           (long long)fw, (double)fw / (double)obj);
    fprintf(csv, "%s,,object-data-bytes,%lld,\n%s,,f32-weight-bytes,%lld,\n", c->name, (long long)obj, c->name,
            (long long)fw);
    f32net_free(f32);
    if (net) bnn_net_free(net);
    arena_free(&a);
  }
  double ct = compile_seconds(BNNC_EXAMPLES "/bnn_mlp.bnn");
  printf("compile time of bnn_mlp (bnnc -O2, median of 5): %.3f s\n", ct);
  fprintf(csv, "bnn_mlp,,compile-seconds,%.3f,\n", ct);
  bench_conv(csv);
  fclose(csv);
  printf("CSV written to %s\n", csv_path);
  return 0;
}
