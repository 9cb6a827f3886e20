/* autograd.c: the op table's derived tables, the context, the tape and the
 * reverse pass.
 *
 * Backward is one loop over the tape in reverse: each recorded tensor that
 * received a gradient hands it to its op's backward (looked up in a table
 * derived from BNN_OP_TABLE). Tensors that received none are skipped, so a
 * branch that does not reach the loss costs nothing. */
#include "ops_internal.h"

#include <assert.h>
#include <cblas.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*backward_fn)(bnn_ctx *ctx, bnn_tensor *out);

#define OP_NAME(E, name, n_src, flags) #name,
static const char *const op_names[] = {BNN_OP_TABLE(OP_NAME)};
#undef OP_NAME
#define OP_NSRC(E, name, n_src, flags) n_src,
static const int op_n_src[] = {BNN_OP_TABLE(OP_NSRC)};
#undef OP_NSRC
#define OP_FLAGS(E, name, n_src, flags) flags,
static const uint32_t op_flags[] = {BNN_OP_TABLE(OP_FLAGS)};
#undef OP_FLAGS
#define OP_BACKWARD(E, name, n_src, flags) op_##name##_backward,
static const backward_fn op_backward[] = {BNN_OP_TABLE(OP_BACKWARD)};
#undef OP_BACKWARD

static_assert(sizeof op_names / sizeof op_names[0] == BNN_OP_COUNT, "op_names out of sync");
static_assert(sizeof op_n_src / sizeof op_n_src[0] == BNN_OP_COUNT, "op_n_src out of sync");
static_assert(sizeof op_flags / sizeof op_flags[0] == BNN_OP_COUNT, "op_flags out of sync");
static_assert(sizeof op_backward / sizeof op_backward[0] == BNN_OP_COUNT, "op_backward out of sync");

const char *bnn_op_name(bnn_op op) {
  return (unsigned)op < BNN_OP_COUNT ? op_names[op] : "?";
}
int bnn_op_n_src(bnn_op op) { return (unsigned)op < BNN_OP_COUNT ? op_n_src[op] : 0; }
uint32_t bnn_op_flags(bnn_op op) { return (unsigned)op < BNN_OP_COUNT ? op_flags[op] : 0; }

void op_leaf_backward(bnn_ctx *ctx, bnn_tensor *out) { (void)ctx, (void)out; }

void bnn_set_num_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

/* ---- context -------------------------------------------------------------- */

bnn_status bnn_ctx_init(bnn_ctx *ctx, size_t arena_bytes, size_t arena_max, bnn_error *err) {
  memset(ctx, 0, sizeof *ctx);
  ctx->use_xnor = true;
  return bnn_arena_init(&ctx->arena, arena_bytes, arena_max, err);
}

void bnn_ctx_free(bnn_ctx *ctx) {
  if (!ctx) return;
  bnn_arena_free(&ctx->arena);
  free(ctx->tape);
  ctx->tape = NULL;
  ctx->tape_len = ctx->tape_cap = 0;
}

bnn_status bnn_ctx_reset(bnn_ctx *ctx, bnn_error *err) {
  ctx->tape_len = 0;
  bnn_error_clear(&ctx->err);
  return bnn_arena_reset(&ctx->arena, err);
}

bnn_status bnn_ctx_status(const bnn_ctx *ctx) { return ctx->err.status; }
const char *bnn_ctx_message(const bnn_ctx *ctx) { return ctx->err.msg; }

bnn_tensor *op_fail(bnn_ctx *ctx, bnn_status s, const char *fmt, ...) {
  if (ctx->err.status == BNN_OK) {
    ctx->err.status = s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err.msg, sizeof ctx->err.msg, fmt, ap);
    va_end(ap);
  }
  return NULL;
}

bool op_ready(bnn_ctx *ctx, const char *op, int n, bnn_tensor *const *srcs) {
  if (ctx->err.status) return false;
  for (int i = 0; i < n; i++)
    if (!srcs[i]) {
      op_fail(ctx, BNN_ERR_ARG, "%s: source %d is NULL", op, i);
      return false;
    }
  return true;
}

void *op_scratch(bnn_ctx *ctx, size_t bytes) {
  void *p;
  bnn_error e;
  if (bnn_arena_alloc(&ctx->arena, bytes, &p, &e)) {
    op_fail(ctx, e.status, "%s", e.msg);
    return NULL;
  }
  return p;
}

static bnn_tensor *tensor_alloc(bnn_ctx *ctx, int ndim, const int64_t *shape, float *data) {
  bnn_tensor *t = op_scratch(ctx, sizeof *t);
  if (!t) return NULL;
  memset(t, 0, sizeof *t);
  bnn_error e;
  if (bnn_tensor_set_shape(t, ndim, shape, &e)) return op_fail(ctx, e.status, "%s", e.msg);
  t->op = BNN_OP_LEAF;
  if (data) {
    t->data = data;
  } else {
    t->data = op_scratch(ctx, (size_t)bnn_tensor_numel(t) * sizeof(float));
    if (!t->data) return NULL;
  }
  return t;
}

bnn_tensor *bnn_new_tensor(bnn_ctx *ctx, int ndim, const int64_t *shape) {
  if (ctx->err.status) return NULL;
  return tensor_alloc(ctx, ndim, shape, NULL);
}

bnn_tensor *bnn_new_tensor_2d(bnn_ctx *ctx, int64_t n0, int64_t n1) {
  int64_t shape[2] = {n0, n1};
  return bnn_new_tensor(ctx, 2, shape);
}

bnn_tensor *bnn_wrap_tensor(bnn_ctx *ctx, float *data, int ndim, const int64_t *shape) {
  if (ctx->err.status) return NULL;
  if (!data) return op_fail(ctx, BNN_ERR_ARG, "bnn_wrap_tensor: data is NULL");
  return tensor_alloc(ctx, ndim, shape, data);
}

static bool tape_push(bnn_ctx *ctx, bnn_tensor *t) {
  if (ctx->tape_len == ctx->tape_cap) {
    int64_t cap = ctx->tape_cap ? 2 * ctx->tape_cap : 64;
    bnn_tensor **tape = realloc(ctx->tape, (size_t)cap * sizeof *tape);
    if (!tape) {
      op_fail(ctx, BNN_ERR_NOMEM, "tape: cannot grow to %lld entries", (long long)cap);
      return false;
    }
    ctx->tape = tape;
    ctx->tape_cap = cap;
  }
  ctx->tape[ctx->tape_len++] = t;
  return true;
}

bnn_tensor *op_output(bnn_ctx *ctx, bnn_op op, int ndim, const int64_t *shape, bnn_tensor *s0,
                      bnn_tensor *s1, bnn_tensor *s2) {
  bool view = bnn_op_flags(op) & BNN_OPF_VIEW;
  bnn_tensor *t = tensor_alloc(ctx, ndim, shape, view ? s0->data : NULL);
  if (!t) return NULL;
  t->op = op;
  t->src[0] = s0, t->src[1] = s1, t->src[2] = s2;
  if (ctx->training && (needs_grad(s0) || needs_grad(s1) || needs_grad(s2))) {
    t->flags |= BNN_TF_REQUIRES_GRAD;
    if (!tape_push(ctx, t)) return NULL;
  }
  return t;
}

float *op_grad(bnn_ctx *ctx, bnn_tensor *t, float *beta) {
  if (!needs_grad(t)) {
    *beta = -1.0f;
    return NULL;
  }
  if (!t->grad) {
    t->grad = op_scratch(ctx, (size_t)bnn_tensor_numel(t) * sizeof(float));
    if (!t->grad) {
      *beta = -1.0f;
      return NULL;
    }
  }
  *beta = (t->flags & BNN_TF_GRAD_VALID) ? 1.0f : 0.0f;
  t->flags |= BNN_TF_GRAD_VALID;
  return t->grad;
}

bnn_status bnn_backward(bnn_ctx *ctx, bnn_tensor *loss, bnn_error *err) {
  if (ctx->err.status) return bnn_error_set(err, ctx->err.status, "%s", ctx->err.msg);
  if (!loss) return bnn_error_set(err, BNN_ERR_ARG, "backward: loss is NULL");
  if (!ctx->training)
    return bnn_error_set(err, BNN_ERR_STATE, "backward: ctx is in eval mode, nothing was recorded");
  if (bnn_tensor_numel(loss) != 1)
    return bnn_error_set(err, BNN_ERR_SHAPE, "backward: loss must have one element, has %lld",
                         (long long)bnn_tensor_numel(loss));
  if (!needs_grad(loss))
    return bnn_error_set(err, BNN_ERR_STATE, "backward: loss does not depend on any parameter");
  float beta;
  float *g = op_grad(ctx, loss, &beta);
  if (!g) return bnn_error_set(err, ctx->err.status, "%s", ctx->err.msg);
  g[0] = 1.0f;
  for (int64_t i = ctx->tape_len - 1; i >= 0; i--) {
    bnn_tensor *t = ctx->tape[i];
    if (!(t->flags & BNN_TF_GRAD_VALID)) continue;
    op_backward[t->op](ctx, t);
    if (ctx->err.status) return bnn_error_set(err, ctx->err.status, "%s", ctx->err.msg);
  }
  return BNN_OK;
}
