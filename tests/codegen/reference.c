/* reference.c - a plain-C evaluator of the graph IR, independent of the code
 * generator: the oracle of the codegen tests. Each op is the obvious loop over
 * the doc column of ir.h, in f32 as the runtime's eval mode computes it. */
#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t numel(const IrType *t) { return shape_numel(&t->shape); }
static int64_t last_dim(const IrType *t) { return t->shape.rank ? t->shape.dims[t->shape.rank - 1] : 1; }

/* Values unpacked: every value is held as float (bits as +-1, u8/i32 exact). */
static float get_bit(const uint64_t *w, const IrType *t, int64_t i) {
  int64_t last = last_dim(t), words = (last + 63) / 64, r = i / last, c = i % last;
  return (w[r * words + c / 64] >> (c % 64)) & 1 ? -1.0f : 1.0f;
}

static float param_at(const IrNode *p, int64_t i) {
  switch (p->type.elem) {
  case ELEM_F32: return ((const float *)p->data)[i];
  case ELEM_I32: return (float)((const int32_t *)p->data)[i];
  case ELEM_BIT: return get_bit(p->data, &p->type, i);
  default: abort();
  }
}

/* Row r, column j of a [out, in] param. */
static float w_at(const IrNode *w, int64_t r, int64_t j) { return param_at(w, r * w->type.shape.dims[1] + j); }

static float sign_of(float w) { return w < 0 ? -1.0f : 1.0f; }

void reference_eval(const IrGraph *g, const void *input, float *output) {
  float **val = calloc((size_t)g->next_id, sizeof *val);
  /* accumulators of integer ops are exact in double */
  for (const IrNode *n = g->first; n; n = n->next) {
    int64_t len = numel(&n->type);
    float *y = n->op == IR_PARAM ? NULL : calloc((size_t)len, sizeof *y);
    const IrNode *xn = n->n_inputs ? n->inputs[0] : NULL;
    const float *x = xn ? val[xn->id] : NULL;
    int64_t c = n->type.shape.rank ? n->type.shape.dims[0] : 1, inner = len / c;
    switch (n->op) {
    case IR_INPUT:
      for (int64_t i = 0; i < len; i++)
        y[i] = n->type.elem == ELEM_U8 ? (float)((const uint8_t *)input)[i] : ((const float *)input)[i];
      break;
    case IR_PARAM: break;
    case IR_AFFINE: {
      int64_t ns = numel(&n->inputs[1]->type), nt = numel(&n->inputs[2]->type);
      for (int64_t i = 0; i < len; i++)
        y[i] = x[i] * param_at(n->inputs[1], ns == 1 ? 0 : i / inner) + param_at(n->inputs[2], nt == 1 ? 0 : i / inner);
      break;
    }
    case IR_SIGN:
      for (int64_t i = 0; i < len; i++) y[i] = x[i] >= 0 ? 1.0f : -1.0f;
      break;
    case IR_CONVERT:
    case IR_DROPOUT:
    case IR_FLATTEN:
    case IR_OUTPUT:
      memcpy(y, x, (size_t)len * sizeof *y);
      break;
    case IR_LINEAR:
    case IR_BINLINEAR:
    case IR_BINDENSE: {
      const IrNode *w = n->inputs[1];
      int64_t in = w->type.shape.dims[1];
      bool binary = n->op != IR_LINEAR;
      for (int64_t o = 0; o < len; o++) {
        double s = 0;
        for (int64_t j = 0; j < in; j++) s += (double)x[j] * (binary ? sign_of(w_at(w, o, j)) : w_at(w, o, j));
        float v = (float)s;
        if (n->op == IR_BINLINEAR && n->attrs.scale) {
          double a = 0;
          for (int64_t j = 0; j < in; j++) a += fabs(w_at(w, o, j));
          v *= (float)(a / (double)in);
        }
        if (n->op != IR_BINDENSE && n->n_inputs == 3) v += param_at(n->inputs[2], o);
        y[o] = v;
      }
      break;
    }
    case IR_BATCHNORM:
      for (int64_t i = 0; i < len; i++) {
        int64_t k = i / inner;
        y[i] = (x[i] - param_at(n->inputs[3], k)) / sqrtf(param_at(n->inputs[4], k) + n->attrs.eps) *
                   param_at(n->inputs[1], k) + param_at(n->inputs[2], k);
      }
      break;
    case IR_RELU:
      for (int64_t i = 0; i < len; i++) y[i] = x[i] > 0 ? x[i] : 0;
      break;
    case IR_HTANH:
      for (int64_t i = 0; i < len; i++) y[i] = x[i] < -1 ? -1 : x[i] > 1 ? 1 : x[i];
      break;
    case IR_SIGMOID:
      for (int64_t i = 0; i < len; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
      break;
    case IR_SOFTMAX: {
      float m = x[0], s = 0;
      for (int64_t i = 1; i < len; i++) m = x[i] > m ? x[i] : m;
      for (int64_t i = 0; i < len; i++) s += y[i] = expf(x[i] - m);
      for (int64_t i = 0; i < len; i++) y[i] /= s;
      break;
    }
    case IR_THRESHOLD:
    case IR_BINDENSE_THR: {
      const IrNode *tn = n->inputs[n->op == IR_THRESHOLD ? 1 : 2], *fn = n->inputs[n->op == IR_THRESHOLD ? 2 : 3];
      for (int64_t i = 0; i < len; i++) {
        double acc = 0;
        int64_t k = i;
        if (n->op == IR_THRESHOLD) {
          acc = x[i];
          k = i / inner;
        } else {
          const IrNode *w = n->inputs[1];
          for (int64_t j = 0; j < w->type.shape.dims[1]; j++) acc += (double)x[j] * w_at(w, i, j);
        }
        double thr = param_at(tn, k);
        bool pos = param_at(fn, k) != 0 ? acc <= thr : acc >= thr;
        y[i] = pos ? 1.0f : -1.0f;
      }
      break;
    }
    default: abort();
    }
    val[n->id] = y;
    if (n->op == IR_OUTPUT) memcpy(output, y, (size_t)len * sizeof *y);
  }
  for (int i = 0; i < g->next_id; i++) free(val[i]);
  free(val);
}
