/* bench_f32.c - the f32 contender of bnnc_bench: a lowered graph evaluated
 * with OpenBLAS, one layer at a time over the whole batch. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct Step {
  const IrNode *node;
  int64_t in, out;      /* features */
  float *w;             /* [out, in] (binlinear: +-1) or NULL */
  float *scale, *shift; /* [out] per-feature affine after the product, or NULL */
  float *buf;           /* [max_batch, out] */
} Step;

struct F32Net {
  Step *steps;
  int n_steps;
  int64_t max_batch, in_size;
  bool u8_input;
  int64_t weight_bytes;
};

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

static int64_t numel(const IrNode *n) { return shape_numel(&n->type.shape); }

static const float *data_f32(const IrNode *p) { return p->data; }

/* A per-channel value of a 1-or-C param. */
static float chan(const IrNode *p, int64_t c) { return data_f32(p)[numel(p) == 1 ? 0 : c]; }

static int step_of(const F32Net *net, const IrNode *n) {
  for (int i = 0; i < net->n_steps; i++)
    if (net->steps[i].node == n) return i;
  return -1;
}

F32Net *f32net_create(const IrGraph *g, int64_t max_batch) {
  F32Net *net = calloc(1, sizeof *net);
  int count = 0;
  for (const IrNode *n = g->first; n; n = n->next) count++;
  net->steps = calloc((size_t)count, sizeof *net->steps);
  net->max_batch = max_batch;
  for (const IrNode *n = g->first; n; n = n->next) {
    if (n->op == IR_PARAM) continue;
    Step *s = &net->steps[net->n_steps++];
    s->node = n;
    s->out = numel(n);
    s->in = n->n_inputs ? numel(n->inputs[0]) : s->out;
    s->buf = xmalloc((size_t)(max_batch * s->out) * sizeof(float));
    if (n->op == IR_INPUT) {
      net->in_size = s->out;
      net->u8_input = n->type.elem == ELEM_U8;
    }
    if (n->op == IR_BINLINEAR || n->op == IR_LINEAR) {
      const float *w = data_f32(n->inputs[1]);
      s->w = xmalloc((size_t)(s->in * s->out) * sizeof(float));
      net->weight_bytes += s->in * s->out * 4;
      for (int64_t o = 0; o < s->out; o++) {
        double a = 0;
        for (int64_t j = 0; j < s->in; j++) {
          float v = w[o * s->in + j];
          s->w[o * s->in + j] = n->op == IR_LINEAR ? v : v < 0 ? -1.0f : 1.0f;
          a += fabs((double)v);
        }
        if (n->op == IR_BINLINEAR && n->attrs.scale) {
          if (!s->scale) s->scale = calloc((size_t)s->out, sizeof(float));
          s->scale[o] = (float)(a / (double)s->in);
        }
      }
      if (n->n_inputs > 2) {
        s->shift = xmalloc((size_t)s->out * sizeof(float));
        memcpy(s->shift, data_f32(n->inputs[2]), (size_t)s->out * sizeof(float));
        net->weight_bytes += s->out * 4;
      }
    } else if (n->op == IR_BATCHNORM || n->op == IR_AFFINE) {
      s->scale = xmalloc((size_t)s->out * sizeof(float));
      s->shift = xmalloc((size_t)s->out * sizeof(float));
      for (int64_t c = 0; c < s->out; c++) {
        if (n->op == IR_AFFINE) {
          s->scale[c] = chan(n->inputs[1], c);
          s->shift[c] = chan(n->inputs[2], c);
        } else {
          float inv = 1.0f / sqrtf(chan(n->inputs[4], c) + n->attrs.eps);
          s->scale[c] = inv * chan(n->inputs[1], c);
          s->shift[c] = chan(n->inputs[2], c) - chan(n->inputs[3], c) * s->scale[c];
        }
      }
      if (n->op == IR_BATCHNORM) net->weight_bytes += 4 * s->out * 4;
    }
  }
  return net;
}

void f32net_forward(F32Net *net, const void *input, int64_t n, float *logits) {
  for (int i = 0; i < net->n_steps; i++) {
    Step *s = &net->steps[i];
    const IrNode *node = s->node;
    const float *x = node->n_inputs ? net->steps[step_of(net, node->inputs[0])].buf : NULL;
    float *y = node->op == IR_OUTPUT ? logits : s->buf;
    int64_t len = n * s->out;
    switch (node->op) {
    case IR_INPUT:
      if (net->u8_input)
        for (int64_t k = 0; k < len; k++) y[k] = (float)((const uint8_t *)input)[k];
      else
        memcpy(y, input, (size_t)len * sizeof(float));
      break;
    case IR_BINLINEAR:
    case IR_LINEAR:
      if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)s->out, (int)s->in, 1.0f, s->w, (int)s->in, x, 1, 0.0f, y, 1);
      else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)s->out, (int)s->in, 1.0f, x, (int)s->in,
                    s->w, (int)s->in, 0.0f, y, (int)s->out);
      if (node->op == IR_BINLINEAR && s->scale)
        for (int64_t k = 0; k < len; k++) y[k] *= s->scale[k % s->out];
      if (s->shift)
        for (int64_t k = 0; k < len; k++) y[k] += s->shift[k % s->out];
      break;
    case IR_BATCHNORM:
    case IR_AFFINE:
      for (int64_t k = 0; k < len; k++) y[k] = x[k] * s->scale[k % s->out] + s->shift[k % s->out];
      break;
    case IR_SIGN:
      for (int64_t k = 0; k < len; k++) y[k] = x[k] >= 0 ? 1.0f : -1.0f;
      break;
    case IR_DROPOUT:
    case IR_CONVERT:
    case IR_FLATTEN:
    case IR_OUTPUT:
      memcpy(y, x, (size_t)len * sizeof(float));
      break;
    case IR_RELU:
      for (int64_t k = 0; k < len; k++) y[k] = x[k] > 0 ? x[k] : 0.0f;
      break;
    default:
      abort();   /* the bench's models use none of the others */
    }
  }
}

int64_t f32net_weight_bytes(const F32Net *net) { return net->weight_bytes; }

void f32net_free(F32Net *net) {
  for (int i = 0; i < net->n_steps; i++) {
    free(net->steps[i].w);
    free(net->steps[i].scale);
    free(net->steps[i].shift);
    free(net->steps[i].buf);
  }
  free(net->steps);
  free(net);
}
