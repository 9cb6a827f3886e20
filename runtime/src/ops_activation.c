/* ops_activation.c: elementwise and row-wise ops: sign (STE), relu, htanh,
 * sigmoid, softmax, log_softmax, dropout, reshape. Each forward is followed
 * by its backward; all buffers are [numel] (softmax rows: [rows, K]). */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

static bnn_tensor *unary_output(bnn_ctx *ctx, bnn_op op, bnn_tensor *x) {
  if (!op_ready(ctx, bnn_op_name(op), 1, &x)) return NULL;
  return op_output(ctx, op, x->ndim, x->shape, x, NULL, NULL);
}

/* ---- sign: sign(0) = +1; STE passes dy where |x| <= 1 ---------------------- */

bnn_tensor *bnn_sign(bnn_ctx *ctx, bnn_tensor *x) {
  bnn_tensor *y = unary_output(ctx, BNN_OP_SIGN, x);
  if (!y) return NULL;
  int64_t n = bnn_tensor_numel(x);
  for (int64_t i = 0; i < n; i++) y->data[i] = x->data[i] >= 0.0f ? 1.0f : -1.0f;
  return y;
}

void op_sign_backward(bnn_ctx *ctx, bnn_tensor *y) {
  bnn_tensor *x = y->src[0];
  float beta;
  float *dx = op_grad(ctx, x, &beta);
  if (!dx) return;
  int64_t n = bnn_tensor_numel(x);
  for (int64_t i = 0; i < n; i++) grad_put(dx, i, fabsf(x->data[i]) <= 1.0f ? y->grad[i] : 0.0f, beta);
}

/* ---- relu: gradient 0 at x == 0 (PyTorch) ---------------------------------- */

bnn_tensor *bnn_relu(bnn_ctx *ctx, bnn_tensor *x) {
  bnn_tensor *y = unary_output(ctx, BNN_OP_RELU, x);
  if (!y) return NULL;
  int64_t n = bnn_tensor_numel(x);
  for (int64_t i = 0; i < n; i++) y->data[i] = x->data[i] > 0.0f ? x->data[i] : 0.0f;
  return y;
}

void op_relu_backward(bnn_ctx *ctx, bnn_tensor *y) {
  bnn_tensor *x = y->src[0];
  float beta;
  float *dx = op_grad(ctx, x, &beta);
  if (!dx) return;
  int64_t n = bnn_tensor_numel(x);
  for (int64_t i = 0; i < n; i++) grad_put(dx, i, x->data[i] > 0.0f ? y->grad[i] : 0.0f, beta);
}

/* ---- htanh: clamp to [-1, 1]; gradient where -1 < x < 1 (PyTorch) ---------- */

bnn_tensor *bnn_htanh(bnn_ctx *ctx, bnn_tensor *x) {
  bnn_tensor *y = unary_output(ctx, BNN_OP_HTANH, x);
  if (!y) return NULL;
  int64_t n = bnn_tensor_numel(x);
  for (int64_t i = 0; i < n; i++) {
    float v = x->data[i];
    y->data[i] = v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
  }
  return y;
}

void op_htanh_backward(bnn_ctx *ctx, bnn_tensor *y) {
  bnn_tensor *x = y->src[0];
  float beta;
  float *dx = op_grad(ctx, x, &beta);
  if (!dx) return;
  int64_t n = bnn_tensor_numel(x);
  for (int64_t i = 0; i < n; i++) {
    float v = x->data[i];
    grad_put(dx, i, (v > -1.0f && v < 1.0f) ? y->grad[i] : 0.0f, beta);
  }
}

/* ---- sigmoid ----------------------------------------------------------------- */

bnn_tensor *bnn_sigmoid(bnn_ctx *ctx, bnn_tensor *x) {
  bnn_tensor *y = unary_output(ctx, BNN_OP_SIGMOID, x);
  if (!y) return NULL;
  int64_t n = bnn_tensor_numel(x);
  for (int64_t i = 0; i < n; i++) y->data[i] = 1.0f / (1.0f + expf(-x->data[i]));
  return y;
}

void op_sigmoid_backward(bnn_ctx *ctx, bnn_tensor *y) {
  float beta;
  float *dx = op_grad(ctx, y->src[0], &beta);
  if (!dx) return;
  int64_t n = bnn_tensor_numel(y);
  for (int64_t i = 0; i < n; i++) {
    float s = y->data[i];
    grad_put(dx, i, y->grad[i] * s * (1.0f - s), beta);
  }
}

/* ---- softmax / log_softmax over the last dimension: x [rows, K] ------------- */

static void softmax_rows(const float *x, float *y, int64_t rows, int64_t K, bool log_out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * K;
    float *yr = y + r * K;
    float mx = xr[0];
    for (int64_t k = 1; k < K; k++) mx = xr[k] > mx ? xr[k] : mx;
    double sum = 0;
    for (int64_t k = 0; k < K; k++) sum += exp((double)(xr[k] - mx));
    if (log_out) {
      float lse = (float)log(sum);
      for (int64_t k = 0; k < K; k++) yr[k] = xr[k] - mx - lse;
    } else {
      for (int64_t k = 0; k < K; k++) yr[k] = (float)(exp((double)(xr[k] - mx)) / sum);
    }
  }
}

bnn_tensor *bnn_softmax(bnn_ctx *ctx, bnn_tensor *x) {
  bnn_tensor *y = unary_output(ctx, BNN_OP_SOFTMAX, x);
  if (!y) return NULL;
  int64_t K = x->shape[x->ndim - 1];
  softmax_rows(x->data, y->data, bnn_tensor_numel(x) / K, K, false);
  return y;
}

/* dx = y * (dy - sum_k dy*y) */
void op_softmax_backward(bnn_ctx *ctx, bnn_tensor *y) {
  float beta;
  float *dx = op_grad(ctx, y->src[0], &beta);
  if (!dx) return;
  int64_t K = y->shape[y->ndim - 1], rows = bnn_tensor_numel(y) / K;
  for (int64_t r = 0; r < rows; r++) {
    const float *yr = y->data + r * K, *gr = y->grad + r * K;
    double dot = 0;
    for (int64_t k = 0; k < K; k++) dot += (double)gr[k] * yr[k];
    for (int64_t k = 0; k < K; k++) grad_put(dx, r * K + k, yr[k] * (gr[k] - (float)dot), beta);
  }
}

bnn_tensor *bnn_log_softmax(bnn_ctx *ctx, bnn_tensor *x) {
  bnn_tensor *y = unary_output(ctx, BNN_OP_LOG_SOFTMAX, x);
  if (!y) return NULL;
  int64_t K = x->shape[x->ndim - 1];
  softmax_rows(x->data, y->data, bnn_tensor_numel(x) / K, K, true);
  return y;
}

/* dx = dy - exp(y) * sum_k dy */
void op_log_softmax_backward(bnn_ctx *ctx, bnn_tensor *y) {
  float beta;
  float *dx = op_grad(ctx, y->src[0], &beta);
  if (!dx) return;
  int64_t K = y->shape[y->ndim - 1], rows = bnn_tensor_numel(y) / K;
  for (int64_t r = 0; r < rows; r++) {
    const float *yr = y->data + r * K, *gr = y->grad + r * K;
    double sum = 0;
    for (int64_t k = 0; k < K; k++) sum += gr[k];
    for (int64_t k = 0; k < K; k++) grad_put(dx, r * K + k, gr[k] - expf(yr[k]) * (float)sum, beta);
  }
}

/* ---- dropout: saved[0] mask [numel] bytes, fparam[0] = 1/(1-p) ------------- */

bnn_tensor *bnn_dropout(bnn_ctx *ctx, bnn_tensor *x, float p) {
  if (!op_ready(ctx, "dropout", 1, &x)) return NULL;
  if (!(p >= 0.0f && p < 1.0f)) return op_fail(ctx, BNN_ERR_ARG, "dropout: p = %g outside [0, 1)", p);
  if (!ctx->training || p == 0.0f) return x;
  if (!ctx->rng) return op_fail(ctx, BNN_ERR_STATE, "dropout: ctx->rng is not set");
  bnn_tensor *y = op_output(ctx, BNN_OP_DROPOUT, x->ndim, x->shape, x, NULL, NULL);
  if (!y) return NULL;
  int64_t n = bnn_tensor_numel(x);
  uint8_t *mask = op_scratch(ctx, (size_t)n);
  if (!mask) return NULL;
  float scale = 1.0f / (1.0f - p);
  /* An element is dropped when u < p, u uniform on [0,1) from ctx->rng. */
  for (int64_t i = 0; i < n; i++) {
    mask[i] = bnn_rng_uniform(ctx->rng) >= p;
    y->data[i] = mask[i] ? x->data[i] * scale : 0.0f;
  }
  y->saved[0] = mask;
  y->fparam[0] = scale;
  return y;
}

void op_dropout_backward(bnn_ctx *ctx, bnn_tensor *y) {
  float beta;
  float *dx = op_grad(ctx, y->src[0], &beta);
  if (!dx) return;
  const uint8_t *mask = y->saved[0];
  float scale = y->fparam[0];
  int64_t n = bnn_tensor_numel(y);
  for (int64_t i = 0; i < n; i++) grad_put(dx, i, mask[i] ? y->grad[i] * scale : 0.0f, beta);
}

/* ---- reshape (flatten): a view of the same data ----------------------------- */

bnn_tensor *bnn_reshape(bnn_ctx *ctx, bnn_tensor *x, int ndim, const int64_t *shape) {
  if (!op_ready(ctx, "reshape", 1, &x)) return NULL;
  int64_t n = 1;
  for (int d = 0; d < ndim && d < BNN_MAX_DIMS; d++) n *= shape[d];
  if (ndim < 1 || ndim > BNN_MAX_DIMS || n != bnn_tensor_numel(x)) {
    char s[64];
    return op_fail(ctx, BNN_ERR_SHAPE, "reshape: %s (%lld elements) cannot become a rank-%d shape of %lld elements",
                   bnn_tensor_shape_str(x, s, sizeof s), (long long)bnn_tensor_numel(x), ndim, (long long)n);
  }
  return op_output(ctx, BNN_OP_RESHAPE, ndim, shape, x, NULL, NULL);
}

void op_reshape_backward(bnn_ctx *ctx, bnn_tensor *y) {
  float beta;
  float *dx = op_grad(ctx, y->src[0], &beta);
  if (!dx) return;
  int64_t n = bnn_tensor_numel(y);
  if (beta == 0.0f) memcpy(dx, y->grad, (size_t)n * sizeof *dx);
  else
    for (int64_t i = 0; i < n; i++) dx[i] += y->grad[i];
}
