/* test_batchnorm.c: BatchNorm against its formula, in training mode (batch
 * statistics, biased variance; running statistics updated with momentum and
 * the unbiased variance, as torch.nn.BatchNorm1d) and in eval mode (running
 * statistics, nothing recorded). */
#include "check.h"

enum { N = 4, C = 3 };

int main(void) {
  bnn_ctx ctx;
  CHECK_OK(bnn_ctx_init(&ctx, 0, 0, &err));
  float x[N * C] = {1, -2, 0.5f, 3, 0, 0.25f, -1, 4, 0.75f, 2, 2, 1};
  float g[C] = {1.5f, 0.5f, -1}, b[C] = {0.1f, -0.2f, 0.3f};
  float rm[C] = {0.2f, -0.1f, 0}, rv[C] = {1, 2, 0.5f};
  const float eps = 1e-5f, mom = 0.1f;
  double mean[C], var[C], rm0[C], rv0[C];
  for (int c = 0; c < C; c++) {
    rm0[c] = rm[c], rv0[c] = rv[c];
    double s = 0, s2 = 0;
    for (int n = 0; n < N; n++) s += x[n * C + c];
    mean[c] = s / N;
    for (int n = 0; n < N; n++) s2 += (x[n * C + c] - mean[c]) * (x[n * C + c] - mean[c]);
    var[c] = s2 / N; /* biased */
  }
  /* training */
  ctx.training = true;
  bnn_tensor *tx = bnn_wrap_tensor(&ctx, x, 2, (int64_t[]){N, C});
  bnn_tensor *tg = bnn_wrap_tensor(&ctx, g, 1, (int64_t[]){C});
  bnn_tensor *tb = bnn_wrap_tensor(&ctx, b, 1, (int64_t[]){C});
  tg->flags |= BNN_TF_REQUIRES_GRAD;
  bnn_tensor *y = bnn_batchnorm(&ctx, tx, tg, tb, rm, rv, eps, mom);
  CHECK(y != NULL);
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      CHECK_CLOSE(y->data[n * C + c], g[c] * (x[n * C + c] - mean[c]) / sqrt(var[c] + eps) + b[c], 1e-5, 1e-5);
  for (int c = 0; c < C; c++) {
    CHECK_CLOSE(rm[c], (1 - mom) * rm0[c] + mom * mean[c], 1e-6, 1e-6);
    CHECK_CLOSE(rv[c], (1 - mom) * rv0[c] + mom * var[c] * N / (N - 1), 1e-6, 1e-6); /* unbiased */
  }
  /* eval: running statistics, no tape, running stats untouched */
  CHECK_OK(bnn_ctx_reset(&ctx, &err));
  ctx.training = false;
  float rm1[C], rv1[C];
  for (int c = 0; c < C; c++) rm1[c] = rm[c], rv1[c] = rv[c];
  tx = bnn_wrap_tensor(&ctx, x, 2, (int64_t[]){N, C});
  tg = bnn_wrap_tensor(&ctx, g, 1, (int64_t[]){C});
  tb = bnn_wrap_tensor(&ctx, b, 1, (int64_t[]){C});
  tg->flags |= BNN_TF_REQUIRES_GRAD;
  y = bnn_batchnorm(&ctx, tx, tg, tb, rm, rv, eps, mom);
  CHECK(y != NULL && ctx.tape_len == 0);
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      CHECK_CLOSE(y->data[n * C + c], g[c] * (x[n * C + c] - rm1[c]) / sqrt(rv1[c] + eps) + b[c], 1e-5, 1e-5);
  for (int c = 0; c < C; c++) CHECK(rm[c] == rm1[c] && rv[c] == rv1[c]);

  /* 2-d: statistics over N, H, W per channel */
  CHECK_OK(bnn_ctx_reset(&ctx, &err));
  ctx.training = true;
  float x4[2 * 2 * 3] = {1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60}; /* [2,2,1,3] */
  float g2[2] = {1, 1}, b2[2] = {0, 0}, rm2[2] = {0, 0}, rv2[2] = {1, 1};
  bnn_tensor *t4 = bnn_wrap_tensor(&ctx, x4, 4, (int64_t[]){2, 2, 1, 3});
  y = bnn_batchnorm(&ctx, t4, bnn_wrap_tensor(&ctx, g2, 1, (int64_t[]){2}),
                    bnn_wrap_tensor(&ctx, b2, 1, (int64_t[]){2}), rm2, rv2, eps, 1.0f);
  CHECK(y != NULL);
  CHECK_CLOSE(rm2[0], 3.5, 1e-6, 1e-6);  /* mean of 1..6 */
  CHECK_CLOSE(rm2[1], 35, 1e-5, 1e-6);
  CHECK_CLOSE(rv2[0], 3.5, 1e-5, 1e-6);  /* unbiased var of 1..6 */
  bnn_ctx_free(&ctx);
  return CHECK_REPORT("runtime_test_batchnorm");
}
