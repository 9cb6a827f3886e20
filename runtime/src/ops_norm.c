/* ops_norm.c: batch normalization over the channel dimension.
 *
 * x is [N, C] (BatchNorm1d) or [N, C, H, W] (BatchNorm2d); S = H*W (1 for
 * 2-d), M = N*S values per channel. Element (n, c, s) is x[(n*C + c)*S + s].
 * Training (as torch.nn.BatchNorm*d.train()):
 *   mean = sum x / M,  var = sum (x - mean)^2 / M   (biased, to normalize)
 *   y = gamma * (x - mean) / sqrt(var + eps) + beta
 *   running_mean = (1 - momentum) running_mean + momentum mean
 *   running_var  = (1 - momentum) running_var  + momentum var * M / (M - 1)
 * Eval: the same normalization with running_mean/running_var; nothing recorded.
 * Statistics are accumulated in double. */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

/* saved[0] xhat [N*C*S], saved[1] invstd [C] */
bnn_tensor *bnn_batchnorm(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *gamma, bnn_tensor *beta,
                          float *running_mean, float *running_var, float eps, float momentum) {
  bnn_tensor *srcs[] = {x, gamma, beta};
  if (!op_ready(ctx, "batchnorm", 3, srcs)) return NULL;
  char s1[64], s2[64];
  if ((x->ndim != 2 && x->ndim != 4) || gamma->ndim != 1 || gamma->shape[0] != x->shape[1] ||
      !bnn_tensor_same_shape(gamma, beta))
    return op_fail(ctx, BNN_ERR_SHAPE,
                   "batchnorm: input %s with gamma %s: need x [N,C] or [N,C,H,W] and gamma, beta [C]",
                   bnn_tensor_shape_str(x, s1, 64), bnn_tensor_shape_str(gamma, s2, 64));
  if (!running_mean || !running_var)
    return op_fail(ctx, BNN_ERR_ARG, "batchnorm: running_mean/running_var buffers are NULL");
  int64_t N = x->shape[0], C = x->shape[1], S = x->ndim == 4 ? x->shape[2] * x->shape[3] : 1;
  int64_t M = N * S;
  if (ctx->training && M < 2)
    return op_fail(ctx, BNN_ERR_SHAPE,
                   "batchnorm: training needs more than 1 value per channel, got %lld (batch size 1?)",
                   (long long)M);
  bnn_tensor *y = op_output(ctx, BNN_OP_BATCHNORM, x->ndim, x->shape, x, gamma, beta);
  if (!y) return NULL;
  float *invstd = op_scratch(ctx, (size_t)C * sizeof *invstd); /* [C] */
  float *mean = op_scratch(ctx, (size_t)C * sizeof *mean);     /* [C] */
  if (!invstd || !mean) return NULL;

  if (ctx->training) {
    double *acc = op_scratch(ctx, (size_t)C * sizeof *acc); /* [C] */
    if (!acc) return NULL;
    memset(acc, 0, (size_t)C * sizeof *acc);
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t s = 0; s < S; s++) acc[c] += x->data[(n * C + c) * S + s];
    for (int64_t c = 0; c < C; c++) mean[c] = (float)(acc[c] / (double)M), acc[c] = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t s = 0; s < S; s++) {
          double d = (double)x->data[(n * C + c) * S + s] - mean[c];
          acc[c] += d * d;
        }
    for (int64_t c = 0; c < C; c++) {
      double var = acc[c] / (double)M;
      invstd[c] = (float)(1.0 / sqrt(var + (double)eps));
      running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
      running_var[c] = (1.0f - momentum) * running_var[c] +
                       momentum * (float)(var * (double)M / (double)(M - 1));
    }
  } else {
    for (int64_t c = 0; c < C; c++) {
      mean[c] = running_mean[c];
      invstd[c] = (float)(1.0 / sqrt((double)running_var[c] + (double)eps));
    }
  }

  float *xhat = NULL; /* [N,C,S], kept for backward */
  if (y->flags & BNN_TF_REQUIRES_GRAD) {
    xhat = op_scratch(ctx, (size_t)bnn_tensor_numel(x) * sizeof *xhat);
    if (!xhat) return NULL;
  }
  const float *g = gamma->data, *b = beta->data;
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t s = 0; s < S; s++) {
        int64_t i = (n * C + c) * S + s;
        float h = (x->data[i] - mean[c]) * invstd[c];
        if (xhat) xhat[i] = h;
        y->data[i] = g[c] * h + b[c];
      }
  y->saved[0] = xhat, y->saved[1] = invstd;
  return y;
}

/* dgamma = sum dy*xhat, dbeta = sum dy,
 * dx = gamma*invstd/M * (M*dy - sum dy - xhat * sum dy*xhat) */
void op_batchnorm_backward(bnn_ctx *ctx, bnn_tensor *y) {
  bnn_tensor *x = y->src[0], *gamma = y->src[1], *beta_t = y->src[2];
  const float *xhat = y->saved[0], *invstd = y->saved[1], *dy = y->grad;
  int64_t N = x->shape[0], C = x->shape[1], S = x->ndim == 4 ? x->shape[2] * x->shape[3] : 1;
  int64_t M = N * S;
  double *sum_dy = op_scratch(ctx, 2 * (size_t)C * sizeof *sum_dy); /* [2, C] */
  if (!sum_dy) return;
  double *sum_dyx = sum_dy + C;
  memset(sum_dy, 0, 2 * (size_t)C * sizeof *sum_dy);
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t s = 0; s < S; s++) {
        int64_t i = (n * C + c) * S + s;
        sum_dy[c] += dy[i];
        sum_dyx[c] += (double)dy[i] * xhat[i];
      }
  float bg, bb, bx;
  float *dgamma = op_grad(ctx, gamma, &bg);
  if (dgamma)
    for (int64_t c = 0; c < C; c++) grad_put(dgamma, c, (float)sum_dyx[c], bg);
  float *dbeta = op_grad(ctx, beta_t, &bb);
  if (dbeta)
    for (int64_t c = 0; c < C; c++) grad_put(dbeta, c, (float)sum_dy[c], bb);
  if (ctx->err.status) return;
  float *dx = op_grad(ctx, x, &bx);
  if (!dx) return;
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      float k = gamma->data[c] * invstd[c] / (float)M;
      float mdy = (float)sum_dy[c], mdyx = (float)sum_dyx[c];
      for (int64_t s = 0; s < S; s++) {
        int64_t i = (n * C + c) * S + s;
        grad_put(dx, i, k * ((float)M * dy[i] - mdy - xhat[i] * mdyx), bx);
      }
    }
}
