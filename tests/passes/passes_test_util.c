/* passes_test_util.c - see passes_test_util.h. */
#include "passes_test_util.h"

#include <math.h>
#include <string.h>

int test_failures;

uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double rng_uniform(uint64_t *s, double lo, double hi) {
  return lo + (hi - lo) * (double)(rng_next(s) >> 11) / (double)(1ull << 53);
}

/* ---- models ---- */

void tm_init(TestModel *t, const char *name, Shape in, InputType type, bool normalize, float mean,
             float std) {
  memset(t, 0, sizeof *t);
  t->m.name = name;
  t->m.path = "test.bnn";
  t->m.input.shape = in;
  t->m.input.type = type;
  t->m.input.normalize = normalize;
  t->m.input.n_channels_norm = 1;
  t->mean[0] = mean;
  t->std[0] = std;
  t->m.input.mean = normalize ? t->mean : NULL;
  t->m.input.std = normalize ? t->std : NULL;
  t->m.layers = t->layers;
  t->cur = in;
}

static Layer *add(TestModel *t, LayerKind kind, Shape out) {
  if (t->m.n_layers >= TM_MAX_LAYERS) abort();
  int i = t->m.n_layers++;
  Layer *l = &t->layers[i];
  snprintf(t->labels[i], sizeof t->labels[i], "%d", i);
  l->kind = kind;
  l->label = t->labels[i];
  l->index = i;
  l->in_shape = t->cur;
  l->out_shape = out;
  t->cur = out;
  t->m.out_shape = out;
  return l;
}

void tm_binlinear(TestModel *t, int64_t out, bool real, bool bias, bool scale) {
  int64_t in = t->cur.dims[0];
  Layer *l = add(t, LAYER_BINLINEAR, (Shape){1, {out}});
  l->in_features = in;
  l->out_features = out;
  l->real_input = real;
  l->has_bias = bias;
  l->has_scale = scale;
}

void tm_linear(TestModel *t, int64_t out, bool bias) {
  int64_t in = t->cur.dims[0];
  Layer *l = add(t, LAYER_LINEAR, (Shape){1, {out}});
  l->in_features = in;
  l->out_features = out;
  l->has_bias = bias;
}

void tm_batchnorm(TestModel *t, float eps) {
  Layer *l = add(t, LAYER_BATCHNORM, t->cur);
  l->eps = eps;
  l->momentum = 0.1f;
}

void tm_dropout(TestModel *t, float p) { add(t, LAYER_DROPOUT, t->cur)->p = p; }

void tm_simple(TestModel *t, LayerKind kind) {
  Shape out = t->cur;
  if (kind == LAYER_FLATTEN) out = (Shape){1, {shape_numel(&t->cur)}};
  add(t, kind, out);
}

static int64_t window_out(int64_t in, int k, int stride, int pad) {
  return (in + 2 * pad - k) / stride + 1;
}

void tm_conv(TestModel *t, LayerKind kind, int64_t out_ch, int k, int stride, int pad, bool real,
             bool bias, bool scale) {
  Shape in = t->cur;
  Shape out = {3, {out_ch, window_out(in.dims[1], k, stride, pad), window_out(in.dims[2], k, stride, pad)}};
  Layer *l = add(t, kind, out);
  l->out_channels = out_ch;
  l->kernel_h = l->kernel_w = k;
  l->stride = stride;
  l->pad = pad;
  l->real_input = real;
  l->has_bias = bias;
  l->has_scale = scale;
}

void tm_pool(TestModel *t, LayerKind kind, int k) {
  Shape in = t->cur;
  Shape out = {3, {in.dims[0], window_out(in.dims[1], k, k, 0), window_out(in.dims[2], k, k, 0)}};
  Layer *l = add(t, kind, out);
  l->kernel_h = l->kernel_w = k;
  l->stride = k;
}

/* ---- weights ---- */

static const IrNode *user_of(const IrGraph *g, const IrNode *p, int *index) {
  for (const IrNode *n = g->first; n; n = n->next)
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i] == p) {
        *index = i;
        return n;
      }
  return NULL;
}

/* Fan-in of the accumulator feeding a batchnorm (1 for float layers). */
static double accumulator_scale(const IrNode *bn) {
  const IrNode *x = bn->inputs[0];
  while (x->op == IR_CONVERT || x->op == IR_DROPOUT) x = x->inputs[0];
  if (x->op == IR_BINLINEAR) return sqrt((double)x->inputs[1]->type.shape.dims[1]) * (x->attrs.scale ? 0.5 : 1);
  if (x->op == IR_BINCONV2D) {
    const Shape *w = &x->inputs[1]->type.shape;
    return sqrt((double)(w->dims[1] * w->dims[2] * w->dims[3])) * (x->attrs.scale ? 0.5 : 1);
  }
  return 1.0;
}

static float bn_gamma(uint64_t *s) {
  double r = rng_uniform(s, 0, 1);
  if (r < 0.08) return 0.0f;
  if (r < 0.13) return (float)rng_uniform(s, 1e-30, 1e-20);
  if (r < 0.40) return (float)rng_uniform(s, -2, -0.1);
  return (float)rng_uniform(s, 0.1, 2);
}

void bind_random(IrGraph *g, uint64_t seed) {
  uint64_t s = seed;
  for (IrNode *p = g->first; p; p = p->next) {
    if (p->op != IR_PARAM || p->data) continue;
    int idx = -1;
    const IrNode *u = user_of(g, p, &idx);
    int64_t n = shape_numel(&p->type.shape);
    float *v = arena_array(g->arena, (size_t)n, sizeof(float));
    p->data = v;
    p->data_bytes = (size_t)n * sizeof(float);
    if (!u) continue;
    for (int64_t i = 0; i < n; i++) {
      float x = 0;
      switch (u->op) {
      case IR_BINLINEAR:
      case IR_BINCONV2D:
        if (idx == 1) {
          x = rng_uniform(&s, 0, 1) < 0.01 ? 0.0f : (float)rng_uniform(&s, -1, 1);
        } else {
          double k = sqrt((double)u->inputs[1]->type.shape.dims[1]);
          x = (float)(rng_uniform(&s, -0.5, 0.5) * k);
        }
        break;
      case IR_LINEAR:
      case IR_CONV2D: {
        double fan = (double)shape_numel(&u->inputs[1]->type.shape) / (double)u->inputs[1]->type.shape.dims[0];
        x = (float)(rng_uniform(&s, -1, 1) / sqrt(fan));
        break;
      }
      case IR_BATCHNORM: {
        double k = accumulator_scale(u);
        if (idx == 1) x = bn_gamma(&s);
        if (idx == 2) x = (float)rng_uniform(&s, -0.5, 0.5);
        if (idx == 3) x = (float)(rng_uniform(&s, -1, 1) * k);
        if (idx == 4) x = rng_uniform(&s, 0, 1) < 0.05 ? 1e-7f : (float)(rng_uniform(&s, 0.2, 1.5) * k * k);
        break;
      }
      default:
        x = (float)rng_uniform(&s, -1, 1);
      }
      v[i] = x;
    }
  }
}

void *random_input(const IrGraph *g, uint64_t *s) {
  const IrNode *in = ir_graph_input(g);
  int64_t n = shape_numel(&in->type.shape);
  if (in->type.elem == ELEM_U8) {
    uint8_t *x = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (uint8_t)(rng_next(s) >> 56);
    return x;
  }
  float *x = malloc((size_t)n * sizeof *x);
  for (int64_t i = 0; i < n; i++) x[i] = (float)rng_uniform(s, -1, 1);
  return x;
}

/* ---- comparison ---- */

typedef struct Trace {
  signed char *bits;
  long n, cap;
  long values[64];   /* element count of each bit value, in order */
  int n_values;
} Trace;

static void record_bits(const IrNode *n, const void *value, void *ctx) {
  Trace *t = ctx;
  if (n->type.elem != ELEM_BIT) return;
  int64_t numel = shape_numel(&n->type.shape), row = n->type.shape.dims[n->type.shape.rank - 1];
  int64_t words = ir_bit_row_words(&n->type);
  if (t->n_values < 64) t->values[t->n_values++] = (long)numel;
  if (t->n + numel > t->cap) {
    t->cap = (t->n + numel) * 2;
    t->bits = realloc(t->bits, (size_t)t->cap);
  }
  for (int64_t i = 0; i < numel; i++)
    t->bits[t->n++] = (signed char)ir_bit_get((const uint64_t *)value + (i / row) * words, i % row);
}

static int argmax(const float *v, int64_t n) {
  int best = 0;
  for (int64_t i = 1; i < n; i++)
    if (v[i] > v[best]) best = (int)i;
  return best;
}

Agreement compare_graphs(const IrGraph *ref, const IrGraph *got, int samples, uint64_t seed) {
  Agreement a = {0};
  a.bit_layout_same = true;
  uint64_t s = seed;
  int64_t n_out = shape_numel(&ir_graph_output(ref)->type.shape);
  float *y_ref = malloc((size_t)n_out * sizeof(float)), *y_got = malloc((size_t)n_out * sizeof(float));
  for (int k = 0; k < samples; k++) {
    void *x = random_input(ref, &s);
    Trace tr = {0}, tg = {0};
    int r1 = ir_eval(ref, x, y_ref, record_bits, &tr);
    int r2 = ir_eval(got, x, y_got, record_bits, &tg);
    CHECK(r1 == IR_EVAL_OK && r2 == IR_EVAL_OK, "ir_eval failed: %d %d", r1, r2);
    a.samples++;
    a.argmax_same += argmax(y_ref, n_out) == argmax(y_got, n_out);
    double max_ref = 0, max_diff = 0;
    for (int64_t i = 0; i < n_out; i++) {
      max_ref = fmax(max_ref, fabs(y_ref[i]));
      max_diff = fmax(max_diff, fabs((double)y_ref[i] - y_got[i]));
    }
    double rel = max_diff == 0 ? 0 : max_diff / fmax(max_ref, 1e-30);
    if (rel > a.max_rel_err) a.max_rel_err = rel;
    if (tr.n_values != tg.n_values || tr.n != tg.n) a.bit_layout_same = false;
    for (int i = 0; i < tr.n_values && i < tg.n_values; i++)
      if (tr.values[i] != tg.values[i]) a.bit_layout_same = false;
    if (a.bit_layout_same) {
      a.bits += tr.n;
      for (long i = 0; i < tr.n; i++) a.bits_same += tr.bits[i] == tg.bits[i];
    }
    free(tr.bits);
    free(tg.bits);
    free(x);
  }
  free(y_ref);
  free(y_got);
  return a;
}

void check_verify(const IrGraph *g, const char *after) {
  bool ok = ir_verify(g, after, stderr);
  CHECK(ok, "the IR does not verify after %s", after);
  if (!ok) ir_print(stderr, g);
}

int count_op(const IrGraph *g, IrOp op) {
  int k = 0;
  for (const IrNode *n = g->first; n; n = n->next) k += n->op == op;
  return k;
}
