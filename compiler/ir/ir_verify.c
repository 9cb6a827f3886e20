/* ir_verify.c - the IR verifier, run after lowering and after every pass.
 *
 * Generic checks come from the op table (input counts, attributes); the type
 * rule of each op is one case of a switch. A graph that fails verification
 * was produced by a bnnc bug: the driver reports it as an internal error.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct Verifier {
  const IrGraph *g;
  const char *after;
  FILE *out;
  int errors;
} Verifier;

__attribute__((format(printf, 3, 4))) static void fail(Verifier *v, const IrNode *n,
                                                       const char *fmt, ...) {
  if (v->errors++ >= 20) return;
  fprintf(v->out, "bnnc: IR verifier (after %s): %%%d = %s: ", v->after, n->id,
          ir_op_info[n->op].name);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(v->out, fmt, ap);
  va_end(ap);
  fputc('\n', v->out);
}

static const char *fmt_type(const IrType *t, char *buf, int size) {
  char shape[64];
  snprintf(buf, (size_t)size, "%s[%s]", elem_type_name(t->elem),
           shape_format(&t->shape, shape, sizeof shape));
  return buf;
}

/* Input i must have element type elem (or any of a mask of them). */
static bool want_elem(Verifier *v, const IrNode *n, int i, unsigned elem_mask) {
  const IrType *t = &n->inputs[i]->type;
  if (elem_mask & (1u << t->elem)) return true;
  char buf[96];
  fail(v, n, "input %d has type %s, which this op does not take", i,
       fmt_type(t, buf, sizeof buf));
  return false;
}

static bool want_shape(Verifier *v, const IrNode *n, const char *what, const Shape *got,
                       const Shape *expected) {
  if (shape_equal(got, expected)) return true;
  char a[64], b[64];
  fail(v, n, "%s has shape [%s], expected [%s]", what, shape_format(got, a, sizeof a),
       shape_format(expected, b, sizeof b));
  return false;
}

static bool want_vector(Verifier *v, const IrNode *n, int i, int64_t len) {
  Shape s = {1, {len}};
  char what[32];
  snprintf(what, sizeof what, "input %d", i);
  return want_elem(v, n, i, 1u << ELEM_F32) && want_shape(v, n, what, &n->inputs[i]->type.shape, &s);
}

static bool want_out(Verifier *v, const IrNode *n, ElemType elem, const Shape *s) {
  if (n->type.elem != elem) {
    fail(v, n, "result type is %s, expected %s", elem_type_name(n->type.elem), elem_type_name(elem));
    return false;
  }
  return want_shape(v, n, "the result", &n->type.shape, s);
}

/* Channels of a feature vector [F] or an image [C,H,W]. */
static int64_t channels_of(const Shape *s) { return s->dims[0]; }

static int64_t window_out(int64_t in, int k, int stride, int pad) {
  return (in + 2 * pad - k) / stride + 1;
}

static void verify_dense(Verifier *v, const IrNode *n, unsigned x_elems) {
  const IrType *x = &n->inputs[0]->type, *w = &n->inputs[1]->type;
  if (!want_elem(v, n, 0, x_elems) || !want_elem(v, n, 1, 1u << ELEM_F32)) return;
  if (x->shape.rank != 1 || w->shape.rank != 2) {
    fail(v, n, "needs x of rank 1 and w of rank 2");
    return;
  }
  if (w->shape.dims[1] != x->shape.dims[0])
    fail(v, n, "w has %" PRId64 " input features but x has %" PRId64, w->shape.dims[1],
         x->shape.dims[0]);
  if (n->n_inputs == 3) want_vector(v, n, 2, w->shape.dims[0]);
  Shape out = {1, {w->shape.dims[0]}};
  want_out(v, n, ELEM_F32, &out);
}

static void verify_conv(Verifier *v, const IrNode *n, unsigned x_elems) {
  const IrType *x = &n->inputs[0]->type, *w = &n->inputs[1]->type;
  const IrAttrs *a = &n->attrs;
  if (!want_elem(v, n, 0, x_elems) || !want_elem(v, n, 1, 1u << ELEM_F32)) return;
  if (x->shape.rank != 3 || w->shape.rank != 4) {
    fail(v, n, "needs x of rank 3 [C,H,W] and w of rank 4 [O,C,kh,kw]");
    return;
  }
  if (w->shape.dims[1] != x->shape.dims[0] || w->shape.dims[2] != a->kernel_h ||
      w->shape.dims[3] != a->kernel_w)
    fail(v, n, "w's shape does not match the input channels and kernel");
  if (n->n_inputs == 3) want_vector(v, n, 2, w->shape.dims[0]);
  Shape out = {3,
               {w->shape.dims[0], window_out(x->shape.dims[1], a->kernel_h, a->stride, a->pad),
                window_out(x->shape.dims[2], a->kernel_w, a->stride, a->pad)}};
  want_out(v, n, ELEM_F32, &out);
}

static void verify_pool(Verifier *v, const IrNode *n) {
  const IrType *x = &n->inputs[0]->type;
  const IrAttrs *a = &n->attrs;
  unsigned elems = n->op == IR_AVGPOOL ? 1u << ELEM_F32
                   : n->op == IR_MAXPOOL ? 1u << ELEM_F32 | 1u << ELEM_BIT
                                         : 1u << ELEM_BIT;
  if (!want_elem(v, n, 0, elems)) return;
  if (x->shape.rank != 3) {
    fail(v, n, "needs an input of rank 3");
    return;
  }
  Shape out;
  if (n->op == IR_MAXPOOL_HWC)
    out = (Shape){3,
                  {window_out(x->shape.dims[0], a->kernel_h, a->stride, 0),
                   window_out(x->shape.dims[1], a->kernel_w, a->stride, 0), x->shape.dims[2]}};
  else
    out = (Shape){3,
                  {x->shape.dims[0], window_out(x->shape.dims[1], a->kernel_h, a->stride, 0),
                   window_out(x->shape.dims[2], a->kernel_w, a->stride, 0)}};
  want_out(v, n, x->elem, &out);
}

/* binconv and binconv_thr: x bit[H,W,C], w bit[O,kh,kw,C]. */
static void verify_binconv(Verifier *v, const IrNode *n) {
  const IrType *x = &n->inputs[0]->type, *w = &n->inputs[1]->type;
  const IrAttrs *a = &n->attrs;
  if (!want_elem(v, n, 0, 1u << ELEM_BIT) || !want_elem(v, n, 1, 1u << ELEM_BIT)) return;
  if (x->shape.rank != 3 || w->shape.rank != 4 || w->shape.dims[3] != x->shape.dims[2] ||
      w->shape.dims[1] != a->kernel_h || w->shape.dims[2] != a->kernel_w) {
    fail(v, n, "needs x[H,W,C] and w[O,kh,kw,C] matching the kernel");
    return;
  }
  int64_t o = w->shape.dims[0];
  int64_t oh = window_out(x->shape.dims[0], a->kernel_h, a->stride, a->pad);
  int64_t ow = window_out(x->shape.dims[1], a->kernel_w, a->stride, a->pad);
  if (n->op == IR_BINCONV) {
    Shape out = {3, {o, oh, ow}};
    want_out(v, n, ELEM_I32, &out);
    return;
  }
  Shape per_out = {1, {o}};
  for (int i = 2; i <= 3; i++)
    if (want_elem(v, n, i, 1u << ELEM_I32))
      want_shape(v, n, i == 2 ? "thr" : "flip", &n->inputs[i]->type.shape, &per_out);
  Shape out = {3, {oh, ow, o}};
  want_out(v, n, ELEM_BIT, &out);
}

/* hwc: [C,H,W] -> [H,W,C]; chw: the inverse. Bits only. */
static void verify_transpose(Verifier *v, const IrNode *n) {
  const IrType *x = &n->inputs[0]->type;
  if (!want_elem(v, n, 0, 1u << ELEM_BIT)) return;
  if (x->shape.rank != 3) {
    fail(v, n, "needs an input of rank 3");
    return;
  }
  const int64_t *d = x->shape.dims;
  Shape out = n->op == IR_HWC ? (Shape){3, {d[1], d[2], d[0]}} : (Shape){3, {d[2], d[0], d[1]}};
  want_out(v, n, ELEM_BIT, &out);
}

static void verify_elementwise_f32(Verifier *v, const IrNode *n) {
  if (want_elem(v, n, 0, 1u << ELEM_F32)) want_out(v, n, ELEM_F32, &n->inputs[0]->type.shape);
}

static void verify_node(Verifier *v, const IrNode *n) {
  const IrOpInfo *info = &ir_op_info[n->op];
  if (n->n_inputs < info->min_inputs || n->n_inputs > info->max_inputs) {
    fail(v, n, "has %d inputs, expected %d to %d", n->n_inputs, info->min_inputs, info->max_inputs);
    return;
  }
  for (int i = 0; i < n->n_inputs; i++)
    if (!n->inputs[i]) {
      fail(v, n, "input %d is missing", i);
      return;
    }
  if (n->type.shape.rank < 0 || n->type.shape.rank > SHAPE_MAX_RANK) {
    fail(v, n, "result has rank %d", n->type.shape.rank);
    return;
  }
  for (int i = 0; i < n->type.shape.rank; i++)
    if (n->type.shape.dims[i] < 1) fail(v, n, "result dimension %d is %" PRId64, i, n->type.shape.dims[i]);
  if ((info->attrs & IR_ATTR_KERNEL) && (n->attrs.kernel_h < 1 || n->attrs.kernel_w < 1))
    fail(v, n, "kernel must be at least 1x1");
  if ((info->attrs & IR_ATTR_STRIDE) && n->attrs.stride < 1) fail(v, n, "stride must be >= 1");
  if ((info->attrs & IR_ATTR_PAD) && n->attrs.pad < 0) fail(v, n, "pad must be >= 0");

  const IrType *x = n->n_inputs ? &n->inputs[0]->type : NULL;
  switch (n->op) {
  case IR_INPUT:
    if (n->type.elem != ELEM_U8 && n->type.elem != ELEM_F32) fail(v, n, "the input must be u8 or f32");
    break;
  case IR_PARAM:
    if (!n->attrs.name || !*n->attrs.name) fail(v, n, "a param needs a name");
    if (n->data && (int64_t)n->data_bytes != ir_type_bytes(&n->type))
      fail(v, n, "bound data has %zu bytes, the type needs %" PRId64, n->data_bytes,
           ir_type_bytes(&n->type));
    break;
  case IR_AFFINE: {
    if (!want_elem(v, n, 0, 1u << ELEM_U8 | 1u << ELEM_I32 | 1u << ELEM_F32)) break;
    int64_t c = x->shape.dims[0];
    for (int i = 1; i <= 2; i++) {
      const Shape *s = &n->inputs[i]->type.shape;
      if (!want_elem(v, n, i, 1u << ELEM_F32)) continue;
      if (s->rank != 1 || (s->dims[0] != 1 && s->dims[0] != c))
        fail(v, n, "input %d must hold 1 or %" PRId64 " per-channel values", i, c);
    }
    want_out(v, n, ELEM_F32, &x->shape);
    break;
  }
  case IR_SIGN:
    if (want_elem(v, n, 0, 1u << ELEM_F32 | 1u << ELEM_I32)) want_out(v, n, ELEM_BIT, &x->shape);
    break;
  case IR_CONVERT:
    if (want_elem(v, n, 0, 1u << ELEM_BIT | 1u << ELEM_I32 | 1u << ELEM_U8))
      want_out(v, n, ELEM_F32, &x->shape);
    break;
  case IR_LINEAR:
    verify_dense(v, n, 1u << ELEM_F32);
    break;
  case IR_BINLINEAR:
    verify_dense(v, n, 1u << ELEM_F32 | 1u << ELEM_BIT);
    break;
  case IR_BATCHNORM: {
    if (!want_elem(v, n, 0, 1u << ELEM_F32)) break;
    if (x->shape.rank != 1 && x->shape.rank != 3) {
      fail(v, n, "needs an input of rank 1 or 3");
      break;
    }
    for (int i = 1; i < 5; i++) want_vector(v, n, i, channels_of(&x->shape));
    if (!(n->attrs.eps > 0)) fail(v, n, "eps must be > 0");
    want_out(v, n, ELEM_F32, &x->shape);
    break;
  }
  case IR_RELU:
  case IR_HTANH:
  case IR_SIGMOID:
  case IR_SOFTMAX:
    verify_elementwise_f32(v, n);
    break;
  case IR_DROPOUT:
    if (!(n->attrs.p >= 0 && n->attrs.p < 1)) fail(v, n, "p must be in [0, 1)");
    verify_elementwise_f32(v, n);
    break;
  case IR_CONV2D:
    verify_conv(v, n, 1u << ELEM_F32);
    break;
  case IR_BINCONV2D:
    verify_conv(v, n, 1u << ELEM_F32 | 1u << ELEM_BIT);
    break;
  case IR_MAXPOOL:
  case IR_AVGPOOL:
    verify_pool(v, n);
    break;
  case IR_FLATTEN: {
    Shape flat = {1, {shape_numel(&x->shape)}};
    want_out(v, n, x->elem, &flat);
    break;
  }
  case IR_BINDENSE:
  case IR_BINDENSE_THR: {
    const IrType *w = &n->inputs[1]->type;
    bool fused = n->op == IR_BINDENSE_THR;
    unsigned x_elems = 1u << ELEM_BIT | 1u << ELEM_U8 | (fused ? 0 : 1u << ELEM_F32);
    if (!want_elem(v, n, 0, x_elems) || !want_elem(v, n, 1, 1u << ELEM_BIT)) break;
    if (x->shape.rank != 1 || w->shape.rank != 2 || w->shape.dims[1] != x->shape.dims[0]) {
      fail(v, n, "needs x[in] and w[out,in]");
      break;
    }
    if (fused)
      for (int i = 2; i <= 3; i++)
        if (want_elem(v, n, i, 1u << ELEM_I32)) {
          Shape per_out = {1, {w->shape.dims[0]}};
          want_shape(v, n, i == 2 ? "thr" : "flip", &n->inputs[i]->type.shape, &per_out);
        }
    Shape out = {1, {w->shape.dims[0]}};
    want_out(v, n, fused ? ELEM_BIT : x->elem == ELEM_F32 ? ELEM_F32 : ELEM_I32, &out);
    break;
  }
  case IR_THRESHOLD: {
    if (!want_elem(v, n, 0, 1u << ELEM_I32)) break;
    Shape per_channel = {1, {x->shape.dims[0]}};
    for (int i = 1; i <= 2; i++)
      if (want_elem(v, n, i, 1u << ELEM_I32))
        want_shape(v, n, i == 1 ? "thr" : "flip", &n->inputs[i]->type.shape, &per_channel);
    want_out(v, n, ELEM_BIT, &x->shape);
    break;
  }
  case IR_HWC:
  case IR_CHW:
    verify_transpose(v, n);
    break;
  case IR_BINCONV:
  case IR_BINCONV_THR:
    verify_binconv(v, n);
    break;
  case IR_MAXPOOL_HWC:
    verify_pool(v, n);
    break;
  case IR_OUTPUT:
    if (want_elem(v, n, 0, 1u << ELEM_F32)) want_out(v, n, ELEM_F32, &x->shape);
    break;
  case IR_OP_COUNT:
    fail(v, n, "bad op");
    break;
  }
}

bool ir_verify(const IrGraph *g, const char *after, FILE *out) {
  Verifier v = {g, after, out, 0};
  int n_inputs = 0, n_outputs = 0;
  /* Inputs must be defined earlier in the list: mark each node as we pass it. */
  int max_id = g->next_id;
  unsigned char *seen = calloc((size_t)max_id + 1, 1);
  if (!seen) BNNC_BUG("out of memory in the IR verifier");
  for (const IrNode *n = g->first; n; n = n->next) {
    if (n->id < 0 || n->id >= max_id || seen[n->id]) {
      fail(&v, n, "node id is out of range or not unique");
      continue;
    }
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i] && (n->inputs[i]->id < 0 || n->inputs[i]->id >= max_id || !seen[n->inputs[i]->id]))
        fail(&v, n, "input %d (%%%d) is not defined before its use", i, n->inputs[i]->id);
    seen[n->id] = 1;
    n_inputs += n->op == IR_INPUT;
    n_outputs += n->op == IR_OUTPUT;
    verify_node(&v, n);
  }
  free(seen);
  if (n_inputs != 1 || n_outputs != 1) {
    fprintf(out, "bnnc: IR verifier (after %s): the graph has %d inputs and %d outputs, expected 1 and 1\n",
            after, n_inputs, n_outputs);
    v.errors++;
  }
  return v.errors == 0;
}
