/* ir_eval.c - the reference interpreter; see ir_eval.h for the arithmetic.
 *
 * Straightforward loops, one buffer per value (malloc'd, freed at the end),
 * no attempt at speed: this is the oracle the passes and the generated code
 * are checked against, so it must be obviously right.
 */
#include "ir_eval.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

typedef struct Evaluator {
  const IrGraph *g;
  void **values;      /* by node id: the node's value (params point at their data) */
  bool *owned;        /* by node id: values[id] was malloc'd here */
} Evaluator;

static const void *val(const Evaluator *e, const IrNode *n) { return e->values[n->id]; }
static const float *fval(const Evaluator *e, const IrNode *n) { return val(e, n); }

/* Channel of flat element i of a value of shape s: index along dim 0. */
static int64_t channel_of(const Shape *s, int64_t i) {
  int64_t per_channel = shape_numel(s) / s->dims[0];
  return i / per_channel;
}

/* A per-channel constant that may hold 1 value (broadcast) or C values. */
static float per_channel(const Evaluator *e, const IrNode *p, int64_t c) {
  return p->type.shape.dims[0] == 1 ? fval(e, p)[0] : fval(e, p)[c];
}

/* Element i of any non-bit value as f32. */
static float elem_f32(const Evaluator *e, const IrNode *x, int64_t i) {
  const void *v = val(e, x);
  switch (x->type.elem) {
  case ELEM_F32: return ((const float *)v)[i];
  case ELEM_I32: return (float)((const int32_t *)v)[i];
  case ELEM_U8: return (float)((const uint8_t *)v)[i];
  case ELEM_BIT: {
    int64_t n = x->type.shape.dims[x->type.shape.rank - 1];
    int64_t words = ir_bit_row_words(&x->type);
    return (float)ir_bit_get((const uint64_t *)v + (i / n) * words, i % n);
  }
  case ELEM_TYPE_COUNT: break;
  }
  BNNC_BUG("ir_eval: bad element type");
}

static void eval_dense(const Evaluator *e, const IrNode *n, float *y) {
  const IrNode *x = n->inputs[0];
  const float *w = fval(e, n->inputs[1]);
  const float *b = n->n_inputs == 3 ? fval(e, n->inputs[2]) : NULL;
  int64_t in = x->type.shape.dims[0], out = n->type.shape.dims[0];
  bool binary = n->op == IR_BINLINEAR;
  for (int64_t i = 0; i < out; i++) {
    const float *row = w + i * in;
    float acc = 0.0f;
    for (int64_t j = 0; j < in; j++) {
      float xj = elem_f32(e, x, j);
      if (binary)
        acc += row[j] >= 0.0f ? xj : -xj;
      else
        acc += xj * row[j];
    }
    if (binary && n->attrs.scale) acc = acc * ir_eval_alpha(row, in);
    y[i] = b ? acc + b[i] : acc;
  }
}

static void eval_conv(const Evaluator *e, const IrNode *n, float *y) {
  const IrNode *x = n->inputs[0];
  const float *w = fval(e, n->inputs[1]);
  const float *b = n->n_inputs == 3 ? fval(e, n->inputs[2]) : NULL;
  const IrAttrs *a = &n->attrs;
  int64_t C = x->type.shape.dims[0], H = x->type.shape.dims[1], W = x->type.shape.dims[2];
  int64_t O = n->type.shape.dims[0], OH = n->type.shape.dims[1], OW = n->type.shape.dims[2];
  int64_t kh = a->kernel_h, kw = a->kernel_w, per_out = C * kh * kw;
  bool binary = n->op == IR_BINCONV2D;
  for (int64_t o = 0; o < O; o++) {
    const float *wo = w + o * per_out;
    float alpha = binary && a->scale ? ir_eval_alpha(wo, per_out) : 1.0f;
    for (int64_t oy = 0; oy < OH; oy++)
      for (int64_t ox = 0; ox < OW; ox++) {
        float acc = 0.0f;
        for (int64_t c = 0; c < C; c++)
          for (int64_t ky = 0; ky < kh; ky++)
            for (int64_t kx = 0; kx < kw; kx++) {
              int64_t iy = oy * a->stride + ky - a->pad, ix = ox * a->stride + kx - a->pad;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;   /* zero padding */
              float xv = elem_f32(e, x, (c * H + iy) * W + ix);
              float wv = wo[(c * kh + ky) * kw + kx];
              if (binary)
                acc += wv >= 0.0f ? xv : -xv;
              else
                acc += xv * wv;
            }
        if (binary && a->scale) acc = acc * alpha;
        y[(o * OH + oy) * OW + ox] = b ? acc + b[o] : acc;
      }
  }
}

/* Packs logical values (+-1 for bits) into n's bit layout: -1 where v < 0. */
static void pack_values(const IrNode *n, const float *v, void *y) {
  int64_t numel = shape_numel(&n->type.shape);
  int64_t row = n->type.shape.dims[n->type.shape.rank - 1];
  int64_t words = ir_bit_row_words(&n->type);
  for (int64_t i = 0; i < numel; i++) ir_bit_set((uint64_t *)y + (i / row) * words, i % row, v[i] < 0);
}

/* maxpool (f32 or bit [C,H,W]), avgpool, and maxpool_hwc (bit [H,W,C]):
 * values are read as floats (bits as +-1), so max over bits is max of +-1. */
static void eval_pool(const Evaluator *e, const IrNode *n, float *y) {
  const IrNode *xn = n->inputs[0];
  const Shape *xs = &xn->type.shape;
  bool hwc = n->op == IR_MAXPOOL_HWC;
  int64_t C = hwc ? xs->dims[2] : xs->dims[0], H = hwc ? xs->dims[0] : xs->dims[1],
          W = hwc ? xs->dims[1] : xs->dims[2];
  int64_t OH = n->type.shape.dims[hwc ? 0 : 1], OW = n->type.shape.dims[hwc ? 1 : 2];
  const IrAttrs *a = &n->attrs;
  for (int64_t c = 0; c < C; c++)
    for (int64_t oy = 0; oy < OH; oy++)
      for (int64_t ox = 0; ox < OW; ox++) {
        float acc = n->op == IR_AVGPOOL ? 0.0f : -FLT_MAX;
        bool first = true;
        for (int64_t ky = 0; ky < a->kernel_h; ky++)
          for (int64_t kx = 0; kx < a->kernel_w; kx++) {
            int64_t iy = oy * a->stride + ky, ix = ox * a->stride + kx;
            if (iy >= H || ix >= W) continue;
            float v = elem_f32(e, xn, hwc ? (iy * W + ix) * C + c : (c * H + iy) * W + ix);
            if (n->op == IR_AVGPOOL)
              acc += v;
            else if (first || v > acc)
              acc = v;
            first = false;
          }
        if (n->op == IR_AVGPOOL) acc = acc / (float)(a->kernel_h * a->kernel_w);
        y[hwc ? (oy * OW + ox) * C + c : (c * OH + oy) * OW + ox] = acc;
      }
}

/* hwc / chw: element (c, h, w) of the [C,H,W] view moves between layouts. */
static void eval_transpose(const Evaluator *e, const IrNode *n, float *y) {
  const IrNode *x = n->inputs[0];
  const int64_t *d = n->op == IR_HWC ? x->type.shape.dims : n->type.shape.dims;
  int64_t C = d[0], H = d[1], W = d[2];
  for (int64_t c = 0; c < C; c++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t w = 0; w < W; w++) {
        int64_t chw = (c * H + h) * W + w, hwc = (h * W + w) * C + c;
        if (n->op == IR_HWC)
          y[hwc] = elem_f32(e, x, chw);
        else
          y[chw] = elem_f32(e, x, hwc);
      }
}

/* binconv's exact accumulator at (o, oy, ox): over the taps inside the image,
 * C - 2 * popcount(x[iy,ix,:] XOR w[o,ky,kx,:]) (0-padded rows cancel); taps
 * in the zero padding add nothing. */
static int64_t binconv_int(const Evaluator *e, const IrNode *n, int64_t o, int64_t oy, int64_t ox) {
  const IrNode *x = n->inputs[0], *w = n->inputs[1];
  const IrAttrs *a = &n->attrs;
  int64_t H = x->type.shape.dims[0], W = x->type.shape.dims[1], C = x->type.shape.dims[2];
  int64_t words = ir_bit_row_words(&x->type);
  const uint64_t *xb = val(e, x), *wb = val(e, w);
  int64_t acc = 0;
  for (int64_t ky = 0; ky < a->kernel_h; ky++)
    for (int64_t kx = 0; kx < a->kernel_w; kx++) {
      int64_t iy = oy * a->stride + ky - a->pad, ix = ox * a->stride + kx - a->pad;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      const uint64_t *xr = xb + (iy * W + ix) * words;
      const uint64_t *wr = wb + ((o * a->kernel_h + ky) * a->kernel_w + kx) * words;
      int64_t ones = 0;
      for (int64_t k = 0; k < words; k++) ones += __builtin_popcountll(xr[k] ^ wr[k]);
      acc += C - 2 * ones;
    }
  return acc;
}

static bool threshold_bit(const Evaluator *e, const IrNode *thr, const IrNode *flip, int64_t c,
                          int64_t x);

static void eval_binconv(const Evaluator *e, const IrNode *n, void *y) {
  int64_t O = n->inputs[1]->type.shape.dims[0];
  bool fused = n->op == IR_BINCONV_THR;
  int64_t OH = n->type.shape.dims[fused ? 0 : 1], OW = n->type.shape.dims[fused ? 1 : 2];
  int64_t words = fused ? ir_bit_row_words(&n->type) : 0;
  for (int64_t o = 0; o < O; o++)
    for (int64_t oy = 0; oy < OH; oy++)
      for (int64_t ox = 0; ox < OW; ox++) {
        int64_t acc = binconv_int(e, n, o, oy, ox);
        if (fused)
          ir_bit_set((uint64_t *)y + (oy * OW + ox) * words, o,
                     threshold_bit(e, n->inputs[2], n->inputs[3], o, acc));
        else
          ((int32_t *)y)[(o * OH + oy) * OW + ox] = (int32_t)acc;
      }
}

/* bindense and bindense_thr's exact integer accumulator for output i (bit
 * or u8 x); f32 x is summed in eval_bindense. */
static int64_t bindense_int(const Evaluator *e, const IrNode *n, int64_t i) {
  const IrNode *x = n->inputs[0];
  const IrNode *w = n->inputs[1];
  int64_t in = x->type.shape.dims[0], words = ir_bit_row_words(&w->type);
  const uint64_t *wrow = (const uint64_t *)val(e, w) + i * words;
  if (x->type.elem == ELEM_BIT) {
    const uint64_t *xb = val(e, x);
    int64_t ones = 0;
    for (int64_t k = 0; k < words; k++) ones += __builtin_popcountll(xb[k] ^ wrow[k]);
    return in - 2 * ones;
  }
  BNNC_ASSERT(x->type.elem == ELEM_U8);
  const uint8_t *xu = val(e, x);
  int64_t acc = 0;
  for (int64_t j = 0; j < in; j++) acc += ir_bit_get(wrow, j) * (int64_t)xu[j];
  return acc;
}

static void eval_bindense(const Evaluator *e, const IrNode *n, void *y) {
  const IrNode *x = n->inputs[0];
  int64_t in = x->type.shape.dims[0], out = n->type.shape.dims[0];
  int64_t words = ir_bit_row_words(&n->inputs[1]->type);
  for (int64_t i = 0; i < out; i++) {
    if (x->type.elem == ELEM_F32) {
      const uint64_t *wrow = (const uint64_t *)val(e, n->inputs[1]) + i * words;
      const float *xf = fval(e, x);
      float acc = 0.0f;
      for (int64_t j = 0; j < in; j++) acc += ir_bit_get(wrow, j) > 0 ? xf[j] : -xf[j];
      ((float *)y)[i] = acc;
    } else {
      ((int32_t *)y)[i] = (int32_t)bindense_int(e, n, i);
    }
  }
}

static bool threshold_bit(const Evaluator *e, const IrNode *thr, const IrNode *flip, int64_t c,
                          int64_t x) {
  int32_t t = ((const int32_t *)val(e, thr))[c];
  bool positive = ((const int32_t *)val(e, flip))[c] ? x <= t : x >= t;
  return !positive;
}

static void eval_node(const Evaluator *e, const IrNode *n, void *y) {
  const IrNode *x = n->n_inputs ? n->inputs[0] : NULL;
  int64_t numel = shape_numel(&n->type.shape);
  float *yf = y;
  switch (n->op) {
  case IR_AFFINE:
    for (int64_t i = 0; i < numel; i++) {
      int64_t c = channel_of(&x->type.shape, i);
      yf[i] = ir_eval_affine1(elem_f32(e, x, i), per_channel(e, n->inputs[1], c),
                              per_channel(e, n->inputs[2], c));
    }
    return;
  case IR_SIGN:
  case IR_THRESHOLD: {
    int64_t row = n->type.shape.dims[n->type.shape.rank - 1];
    int64_t words = ir_bit_row_words(&n->type);
    for (int64_t i = 0; i < numel; i++) {
      bool neg = n->op == IR_SIGN ? ir_eval_sign_bit(elem_f32(e, x, i))
                                  : threshold_bit(e, n->inputs[1], n->inputs[2],
                                                  channel_of(&x->type.shape, i),
                                                  ((const int32_t *)val(e, x))[i]);
      ir_bit_set((uint64_t *)y + (i / row) * words, i % row, neg);
    }
    return;
  }
  case IR_CONVERT:
    for (int64_t i = 0; i < numel; i++) yf[i] = elem_f32(e, x, i);
    return;
  case IR_LINEAR:
  case IR_BINLINEAR:
    eval_dense(e, n, yf);
    return;
  case IR_BATCHNORM:
    for (int64_t i = 0; i < numel; i++) {
      int64_t c = channel_of(&x->type.shape, i);
      yf[i] = ir_eval_batchnorm1(fval(e, x)[i], fval(e, n->inputs[1])[c], fval(e, n->inputs[2])[c],
                                 fval(e, n->inputs[3])[c], fval(e, n->inputs[4])[c], n->attrs.eps);
    }
    return;
  case IR_RELU:
    for (int64_t i = 0; i < numel; i++) yf[i] = ir_eval_relu1(fval(e, x)[i]);
    return;
  case IR_HTANH:
    for (int64_t i = 0; i < numel; i++) yf[i] = ir_eval_htanh1(fval(e, x)[i]);
    return;
  case IR_SIGMOID:
    for (int64_t i = 0; i < numel; i++) yf[i] = 1.0f / (1.0f + expf(-fval(e, x)[i]));
    return;
  case IR_SOFTMAX: {
    const float *xf = fval(e, x);
    float max = xf[0], sum = 0.0f;
    for (int64_t i = 1; i < numel; i++) max = xf[i] > max ? xf[i] : max;
    for (int64_t i = 0; i < numel; i++) sum += yf[i] = expf(xf[i] - max);
    for (int64_t i = 0; i < numel; i++) yf[i] = yf[i] / sum;
    return;
  }
  case IR_DROPOUT:
  case IR_FLATTEN:
  case IR_OUTPUT:
    /* Identity at inference; flatten keeps the bytes (a rank-1 bit row of
     * C*H*W elements is repacked since rows are padded per last dim). */
    if (x->type.elem == ELEM_BIT) {
      int64_t row = n->type.shape.dims[n->type.shape.rank - 1];
      int64_t words = ir_bit_row_words(&n->type);
      for (int64_t i = 0; i < numel; i++)
        ir_bit_set((uint64_t *)y + (i / row) * words, i % row, elem_f32(e, x, i) < 0);
    } else {
      memcpy(y, val(e, x), (size_t)ir_type_bytes(&n->type));
    }
    return;
  case IR_CONV2D:
  case IR_BINCONV2D:
    eval_conv(e, n, yf);
    return;
  case IR_MAXPOOL:
  case IR_AVGPOOL:
  case IR_MAXPOOL_HWC:
  case IR_HWC:
  case IR_CHW: {
    if (n->type.elem != ELEM_BIT) {
      eval_pool(e, n, yf);
      return;
    }
    float *v = malloc((size_t)numel * sizeof *v);
    if (!v) BNNC_BUG("ir_eval: out of memory");
    if (n->op == IR_HWC || n->op == IR_CHW)
      eval_transpose(e, n, v);
    else
      eval_pool(e, n, v);
    pack_values(n, v, y);
    free(v);
    return;
  }
  case IR_BINCONV:
  case IR_BINCONV_THR:
    eval_binconv(e, n, y);
    return;
  case IR_BINDENSE:
    eval_bindense(e, n, y);
    return;
  case IR_BINDENSE_THR: {
    int64_t out = n->type.shape.dims[0];
    for (int64_t i = 0; i < out; i++)
      ir_bit_set(y, i, threshold_bit(e, n->inputs[2], n->inputs[3], i, bindense_int(e, n, i)));
    return;
  }
  case IR_INPUT:
  case IR_PARAM:
  case IR_OP_COUNT:
    break;
  }
  BNNC_BUG("ir_eval: unexpected op %s", ir_op_info[n->op].name);
}

int ir_eval(const IrGraph *g, const void *input, float *output, IrEvalObserver observe, void *ctx) {
  const IrNode *in = ir_graph_input(g), *out = ir_graph_output(g);
  if (!in || !out) return IR_EVAL_BAD_GRAPH;
  Evaluator e = {g, calloc((size_t)g->next_id + 1, sizeof(void *)),
                 calloc((size_t)g->next_id + 1, sizeof(bool))};
  int status = IR_EVAL_OK;
  if (!e.values || !e.owned) {
    status = IR_EVAL_NO_MEMORY;
    goto done;
  }
  for (const IrNode *n = g->first; n; n = n->next) {
    if (n->op == IR_PARAM) {
      if (!n->data) {
        status = IR_EVAL_UNBOUND_PARAM;
        goto done;
      }
      e.values[n->id] = n->data;
      continue;
    }
    if (n->op == IR_INPUT) {
      e.values[n->id] = (void *)input;
    } else {
      /* calloc: packed bit rows must start with zero padding bits. */
      void *y = calloc((size_t)ir_type_bytes(&n->type) + 1, 1);
      if (!y) {
        status = IR_EVAL_NO_MEMORY;
        goto done;
      }
      e.values[n->id] = y;
      e.owned[n->id] = true;
      eval_node(&e, n, y);
    }
    if (observe) observe(n, e.values[n->id], ctx);
  }
  memcpy(output, e.values[out->id], (size_t)ir_type_bytes(&out->type));
done:
  if (e.values && e.owned)
    for (int i = 0; i < g->next_id; i++)
      if (e.owned[i]) free(e.values[i]);
  free(e.values);
  free(e.owned);
  return status;
}
