/* ops_loss.c: the losses. Both take logits/outputs [N,K] and labels [N] (each
 * < K) and return a [1] tensor: the mean over the batch (and, for the hinge,
 * over the classes too), matching torch's default reduction='mean'. */
#include "ops_internal.h"

#include <math.h>

static bool check_loss(bnn_ctx *ctx, const char *op, bnn_tensor *y, const uint8_t *labels) {
  if (!op_ready(ctx, op, 1, &y)) return false;
  char s[64];
  if (y->ndim != 2) {
    op_fail(ctx, BNN_ERR_SHAPE, "%s: input %s must be [N, classes]", op,
            bnn_tensor_shape_str(y, s, sizeof s));
    return false;
  }
  if (!labels) {
    op_fail(ctx, BNN_ERR_ARG, "%s: labels are NULL", op);
    return false;
  }
  for (int64_t n = 0; n < y->shape[0]; n++)
    if (labels[n] >= y->shape[1]) {
      op_fail(ctx, BNN_ERR_ARG, "%s: label %u of example %lld is not below the %lld classes", op,
              labels[n], (long long)n, (long long)y->shape[1]);
      return false;
    }
  return true;
}

static uint8_t *copy_labels(bnn_ctx *ctx, const uint8_t *labels, int64_t n) {
  uint8_t *l = op_scratch(ctx, (size_t)n);
  if (l)
    for (int64_t i = 0; i < n; i++) l[i] = labels[i];
  return l;
}

/* ---- cross entropy: saved[0] softmax [N,K], saved[1] labels [N] ---------- */

bnn_tensor *bnn_cross_entropy(bnn_ctx *ctx, bnn_tensor *logits, const uint8_t *labels) {
  if (!check_loss(ctx, "cross_entropy", logits, labels)) return NULL;
  int64_t N = logits->shape[0], K = logits->shape[1];
  bnn_tensor *loss = op_output(ctx, BNN_OP_CROSS_ENTROPY, 1, (int64_t[]){1}, logits, NULL, NULL);
  float *prob = op_scratch(ctx, (size_t)(N * K) * sizeof *prob); /* [N,K] */
  uint8_t *lab = loss ? copy_labels(ctx, labels, N) : NULL;
  if (!loss || !prob || !lab) return NULL;
  double total = 0;
  for (int64_t n = 0; n < N; n++) {
    const float *z = logits->data + n * K;
    float mx = z[0];
    for (int64_t k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
    double sum = 0;
    for (int64_t k = 0; k < K; k++) sum += exp((double)(z[k] - mx));
    for (int64_t k = 0; k < K; k++) prob[n * K + k] = (float)(exp((double)(z[k] - mx)) / sum);
    total += log(sum) - (double)(z[lab[n]] - mx);
  }
  loss->data[0] = (float)(total / (double)N);
  loss->saved[0] = prob, loss->saved[1] = lab;
  return loss;
}

/* dlogits = (softmax - onehot) * dloss / N */
void op_cross_entropy_backward(bnn_ctx *ctx, bnn_tensor *loss) {
  bnn_tensor *z = loss->src[0];
  float beta;
  float *dz = op_grad(ctx, z, &beta);
  if (!dz) return;
  const float *prob = loss->saved[0];
  const uint8_t *lab = loss->saved[1];
  int64_t N = z->shape[0], K = z->shape[1];
  float k_scale = loss->grad[0] / (float)N;
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++)
      grad_put(dz, n * K + k, (prob[n * K + k] - (k == lab[n] ? 1.0f : 0.0f)) * k_scale, beta);
}

/* ---- squared hinge: saved[0] labels [N] ------------------------------------ */

bnn_tensor *bnn_sq_hinge(bnn_ctx *ctx, bnn_tensor *y, const uint8_t *labels) {
  if (!check_loss(ctx, "sq_hinge", y, labels)) return NULL;
  int64_t N = y->shape[0], K = y->shape[1];
  bnn_tensor *loss = op_output(ctx, BNN_OP_SQ_HINGE, 1, (int64_t[]){1}, y, NULL, NULL);
  uint8_t *lab = loss ? copy_labels(ctx, labels, N) : NULL;
  if (!loss || !lab) return NULL;
  double total = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) {
      float t = k == lab[n] ? 1.0f : -1.0f;
      float m = 1.0f - t * y->data[n * K + k];
      if (m > 0.0f) total += (double)m * m;
    }
  loss->data[0] = (float)(total / (double)(N * K));
  loss->saved[0] = lab;
  return loss;
}

/* dy = -2 t max(0, 1 - t y) * dloss / (N K) */
void op_sq_hinge_backward(bnn_ctx *ctx, bnn_tensor *loss) {
  bnn_tensor *y = loss->src[0];
  float beta;
  float *dy = op_grad(ctx, y, &beta);
  if (!dy) return;
  const uint8_t *lab = loss->saved[0];
  int64_t N = y->shape[0], K = y->shape[1];
  float k_scale = loss->grad[0] / (float)(N * K);
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) {
      float t = k == lab[n] ? 1.0f : -1.0f;
      float m = 1.0f - t * y->data[n * K + k];
      grad_put(dy, n * K + k, m > 0.0f ? -2.0f * t * m * k_scale : 0.0f, beta);
    }
}
