/* ops_internal.h: what op implementations share (not installed).
 *
 * Each op family file defines, for every op NAME in BNN_OP_TABLE, the public
 * forward bnn_NAME(...) and the backward `void op_NAME_backward(bnn_ctx *,
 * bnn_tensor *out)`, which reads out->grad and accumulates into the grads of
 * out->src[]. autograd.c builds the dispatch table from BNN_OP_TABLE, so a
 * missing backward is a link error, not a silent zero gradient. */
#ifndef BNN_OPS_INTERNAL_H
#define BNN_OPS_INTERNAL_H

#include "bnn/ops.h"

#include <stdbool.h>

#define BNN_OP_DECLARE_BACKWARD(E, name, n_src, flags) \
  void op_##name##_backward(bnn_ctx *ctx, bnn_tensor *out);
BNN_OP_TABLE(BNN_OP_DECLARE_BACKWARD)
#undef BNN_OP_DECLARE_BACKWARD

/* Record the first error in ctx (sticky) and return NULL. */
bnn_tensor *op_fail(bnn_ctx *ctx, bnn_status s, const char *fmt, ...) BNN_PRINTF(3, 4);

/* True when an op may run: ctx healthy and every listed source non-NULL
 * (optional sources are passed as non-NULL dummies by the caller). Records
 * an error for a NULL source on a healthy ctx. */
bool op_ready(bnn_ctx *ctx, const char *op, int n, bnn_tensor *const *srcs);

/* The output of `op`: arena tensor with data, sources recorded, and, in
 * training mode when a source requires a gradient, pushed on the tape. */
bnn_tensor *op_output(bnn_ctx *ctx, bnn_op op, int ndim, const int64_t *shape, bnn_tensor *s0,
                      bnn_tensor *s1, bnn_tensor *s2);

/* Arena scratch memory (NULL with ctx error set on failure). */
void *op_scratch(bnn_ctx *ctx, size_t bytes);

/* Gradient buffer of t for writing in backward. *beta is 0 when the buffer
 * holds no valid data yet (overwrite it) and 1 when it must be accumulated
 * into; the buffer is marked valid. NULL (ctx error set) if allocation
 * fails; NULL with *beta = -1 when t needs no gradient. */
float *op_grad(bnn_ctx *ctx, bnn_tensor *t, float *beta);

/* g = beta*g + v, where beta == 0 means g is garbage. */
static inline void grad_put(float *g, int64_t i, float v, float beta) {
  if (beta == 0.0f) g[i] = v;
  else g[i] += v;
}

static inline bool needs_grad(const bnn_tensor *t) {
  return t && (t->flags & BNN_TF_REQUIRES_GRAD);
}

#endif /* BNN_OPS_INTERNAL_H */
