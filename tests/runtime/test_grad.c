/* test_grad.c: every op's backward against central finite differences.
 *
 * The scalar checked is L = sum(out * R) for a fixed random R, built from the
 * ops themselves: reshape(out, [1, n]) @ R [n, 1]. Derivatives are computed
 * in float with step h; points are drawn away from every kink (relu at 0,
 * htanh at ±1, the hinge at margin 0). Ops whose forward is piecewise
 * constant (sign, binlinear's binarizations) are checked against the
 * definition of their straight-through estimator instead. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_LEAVES 3

typedef struct gcase {
  const char *name;
  int n_leaves;
  int ndim[MAX_LEAVES];
  int64_t shape[MAX_LEAVES][4];
  float *val[MAX_LEAVES];     /* leaf values (malloc) */
  float *grad[MAX_LEAVES];    /* analytic gradients */
  bnn_tensor *(*build)(bnn_ctx *ctx, bnn_tensor **x, const struct gcase *c);
  const uint8_t *labels;
  float p;                    /* op parameter (dropout p) */
  int flag;                   /* op flag (binlinear/binconv2d variant) */
  int stride, pad, kernel;    /* convolution and pooling windows */
  float *rm, *rv;             /* batchnorm buffers */
} gcase;

static bnn_ctx ctx;
static bnn_rng rng, drop_rng;

static int64_t leaf_numel(const gcase *c, int i) {
  int64_t n = 1;
  for (int d = 0; d < c->ndim[i]; d++) n *= c->shape[i][d];
  return n;
}

/* L = sum(out * R), R[k] = sin(1.3 k + 0.4) (fixed, non-degenerate) */
static float eval_case(gcase *c, bool want_grad) {
  bnn_ctx_reset(&ctx, NULL);
  ctx.training = true;
  ctx.use_xnor = false;
  bnn_rng_seed(&drop_rng, 99); /* the same dropout mask on every evaluation */
  ctx.rng = &drop_rng;
  bnn_tensor *x[MAX_LEAVES] = {0};
  for (int i = 0; i < c->n_leaves; i++) {
    x[i] = bnn_wrap_tensor(&ctx, c->val[i], c->ndim[i], c->shape[i]);
    if (x[i]) x[i]->flags |= BNN_TF_REQUIRES_GRAD;
  }
  bnn_tensor *out = c->build(&ctx, x, c);
  if (!out) {
    fprintf(stderr, "%s: build failed: %s\n", c->name, bnn_ctx_message(&ctx));
    check_failures++;
    return 0;
  }
  int64_t n = bnn_tensor_numel(out);
  bnn_tensor *r = bnn_new_tensor_2d(&ctx, n, 1);
  if (!r) return 0;
  for (int64_t k = 0; k < n; k++) r->data[k] = sinf(1.3f * (float)k + 0.4f);
  bnn_tensor *flat = bnn_reshape(&ctx, out, 2, (int64_t[]){1, n});
  bnn_tensor *loss = bnn_reshape(&ctx, bnn_matmul(&ctx, flat, r), 1, (int64_t[]){1});
  if (!loss) {
    fprintf(stderr, "%s: %s\n", c->name, bnn_ctx_message(&ctx));
    check_failures++;
    return 0;
  }
  if (want_grad) {
    CHECK_OK(bnn_backward(&ctx, loss, &err));
    for (int i = 0; i < c->n_leaves; i++) {
      int64_t m = leaf_numel(c, i);
      if (x[i]->flags & BNN_TF_GRAD_VALID) memcpy(c->grad[i], x[i]->grad, (size_t)m * sizeof(float));
      else memset(c->grad[i], 0, (size_t)m * sizeof(float));
    }
  }
  return loss->data[0];
}

/* Compare analytic and central-difference gradients of leaves in `mask`. */
static void fd_check(gcase *c, unsigned mask, float h, double atol, double rtol) {
  eval_case(c, true);
  int bad = 0;
  for (int i = 0; i < c->n_leaves; i++) {
    if (!(mask & (1u << i))) continue;
    int64_t m = leaf_numel(c, i);
    for (int64_t k = 0; k < m; k++) {
      float keep = c->val[i][k];
      c->val[i][k] = keep + h;
      double lp = eval_case(c, false);
      c->val[i][k] = keep - h;
      double lm = eval_case(c, false);
      c->val[i][k] = keep;
      double fd = (lp - lm) / (2.0 * h), an = c->grad[i][k];
      if (!(fabs(fd - an) <= atol + rtol * fmax(fabs(fd), fabs(an)))) {
        if (bad++ < 5)
          fprintf(stderr, "%s: leaf %d [%lld]: analytic %.6g, finite difference %.6g\n", c->name, i,
                  (long long)k, an, fd);
      }
    }
  }
  if (bad) check_failures++;
  else printf("  %-28s backward matches finite differences\n", c->name);
}

static gcase *new_case(const char *name, int n_leaves) {
  gcase *c = calloc(1, sizeof *c);
  c->name = name;
  c->n_leaves = n_leaves;
  return c;
}

static void set_leaf(gcase *c, int i, int ndim, const int64_t *shape, float lo, float hi) {
  c->ndim[i] = ndim;
  memcpy(c->shape[i], shape, (size_t)ndim * sizeof *shape);
  int64_t m = leaf_numel(c, i);
  c->val[i] = malloc((size_t)m * sizeof(float));
  c->grad[i] = malloc((size_t)m * sizeof(float));
  for (int64_t k = 0; k < m; k++) c->val[i][k] = bnn_rng_uniform_range(&rng, lo, hi);
}

/* Push every value at least `gap` away from each kink in kinks[]. */
static void avoid_kinks(gcase *c, int i, const float *kinks, int nk, float gap) {
  int64_t m = leaf_numel(c, i);
  for (int64_t k = 0; k < m; k++)
    for (int j = 0; j < nk; j++) {
      float d = c->val[i][k] - kinks[j];
      if (fabsf(d) < gap) c->val[i][k] = kinks[j] + (d >= 0 ? gap : -gap);
    }
}

static void free_case(gcase *c) {
  for (int i = 0; i < c->n_leaves; i++) free(c->val[i]), free(c->grad[i]);
  free(c);
}

/* ---- builders ---------------------------------------------------------------- */

static bnn_tensor *b_matmul(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_matmul(cx, x[0], x[1]); }
static bnn_tensor *b_matmul_self(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_matmul(cx, x[0], x[0]); }
static bnn_tensor *b_linear(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_linear(cx, x[0], x[1], x[2]); }
static bnn_tensor *b_relu(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_relu(cx, x[0]); }
static bnn_tensor *b_htanh(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_htanh(cx, x[0]); }
static bnn_tensor *b_sigmoid(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_sigmoid(cx, x[0]); }
static bnn_tensor *b_softmax(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_softmax(cx, x[0]); }
static bnn_tensor *b_log_softmax(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_log_softmax(cx, x[0]); }
static bnn_tensor *b_dropout(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_dropout(cx, x[0], c->p); }
static bnn_tensor *b_ce(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_cross_entropy(cx, x[0], c->labels); }
static bnn_tensor *b_hinge(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_sq_hinge(cx, x[0], c->labels); }
static bnn_tensor *b_batchnorm(bnn_ctx *cx, bnn_tensor **x, const gcase *c) {
  return bnn_batchnorm(cx, x[0], x[1], x[2], c->rm, c->rv, 1e-5f, 0.1f);
}
static bnn_tensor *b_binlinear(bnn_ctx *cx, bnn_tensor **x, const gcase *c) {
  return bnn_binlinear(cx, x[0], x[1], x[2], c->flag & 1, c->flag & 2);
}
static bnn_tensor *b_flatten_linear(bnn_ctx *cx, bnn_tensor **x, const gcase *c) {
  bnn_tensor *f = bnn_reshape(cx, x[0], 2, (int64_t[]){x[0]->shape[0], 12});
  return bnn_linear(cx, f, x[1], NULL);
}

static bnn_tensor *b_conv2d(bnn_ctx *cx, bnn_tensor **x, const gcase *c) {
  return bnn_conv2d(cx, x[0], x[1], c->n_leaves > 2 ? x[2] : NULL, c->stride, c->pad);
}
static bnn_tensor *b_binconv2d(bnn_ctx *cx, bnn_tensor **x, const gcase *c) {
  return bnn_binconv2d(cx, x[0], x[1], x[2], c->stride, c->pad, c->flag & 1, c->flag & 2);
}
static bnn_tensor *b_maxpool(bnn_ctx *cx, bnn_tensor **x, const gcase *c) {
  return bnn_maxpool2d(cx, x[0], c->kernel, c->kernel, c->stride);
}
static bnn_tensor *b_avgpool(bnn_ctx *cx, bnn_tensor **x, const gcase *c) {
  return bnn_avgpool2d(cx, x[0], c->kernel, c->kernel, c->stride);
}

/* conv2d over odd shapes: channels 3 and 5, kernels 1, 3, 5, strides 1 and 2,
 * pads 0, 1, 2 (with and without bias). */
static void test_conv2d_grad(void) {
  static const struct { int64_t N, C, H, W, O, k; int stride, pad; bool bias; } cs[] = {
    {2, 3, 7, 6, 5, 3, 1, 1, true},  {2, 5, 9, 8, 3, 5, 2, 2, true}, {1, 3, 5, 5, 4, 1, 2, 0, false},
    {2, 3, 6, 7, 5, 3, 2, 0, true},  {1, 5, 6, 6, 3, 5, 1, 2, false}, {2, 3, 5, 4, 2, 1, 1, 1, true},
  };
  static char names[6][64];
  for (int t = 0; t < 6; t++) {
    snprintf(names[t], sizeof names[t], "conv2d C%lld k%lld s%d p%d%s", (long long)cs[t].C,
             (long long)cs[t].k, cs[t].stride, cs[t].pad, cs[t].bias ? " +b" : "");
    gcase *c = new_case(names[t], cs[t].bias ? 3 : 2);
    set_leaf(c, 0, 4, (int64_t[]){cs[t].N, cs[t].C, cs[t].H, cs[t].W}, -1, 1);
    set_leaf(c, 1, 4, (int64_t[]){cs[t].O, cs[t].C, cs[t].k, cs[t].k}, -1, 1);
    if (cs[t].bias) set_leaf(c, 2, 1, (int64_t[]){cs[t].O}, -1, 1);
    c->stride = cs[t].stride, c->pad = cs[t].pad, c->build = b_conv2d;
    fd_check(c, cs[t].bias ? 7u : 3u, 1e-2f, 3e-3, 1e-2);
    free_case(c);
  }
}

/* Pools: window values kept well apart (no argmax change under +-h). */
static void test_pool_grad(void) {
  static const struct { int64_t N, C, H, W; int k, stride; } cs[] = {
    {2, 3, 6, 6, 2, 2}, {1, 2, 7, 5, 3, 2}, {2, 2, 5, 5, 2, 1}, {1, 3, 7, 7, 3, 3},
  };
  static char names[2][4][64];
  for (int avg = 0; avg < 2; avg++)
    for (int t = 0; t < 4; t++) {
      snprintf(names[avg][t], sizeof names[avg][t], "%s k%d s%d [%lld,%lld,%lld,%lld]",
               avg ? "avgpool2d" : "maxpool2d", cs[t].k, cs[t].stride, (long long)cs[t].N,
               (long long)cs[t].C, (long long)cs[t].H, (long long)cs[t].W);
      gcase *c = new_case(names[avg][t], 1);
      set_leaf(c, 0, 4, (int64_t[]){cs[t].N, cs[t].C, cs[t].H, cs[t].W}, -1, 1);
      int64_t m = leaf_numel(c, 0);
      for (int64_t k = 0; k < m; k++) /* distinct values 0.05 apart, shuffled */
        c->val[0][k] = 0.05f * (float)((k * 37) % m) - 0.025f * (float)m;
      c->kernel = cs[t].k, c->stride = cs[t].stride;
      c->build = avg ? b_avgpool : b_maxpool;
      fd_check(c, 1u, 1e-2f, 2e-3, 1e-2);
      free_case(c);
    }
}

static void test_smooth_ops(void) {
  const float h = 1e-2f;
  gcase *c;

  c = new_case("matmul", 2);
  set_leaf(c, 0, 2, (int64_t[]){3, 4}, -1, 1), set_leaf(c, 1, 2, (int64_t[]){4, 5}, -1, 1);
  c->build = b_matmul, fd_check(c, 3, h, 2e-3, 1e-2), free_case(c);

  c = new_case("matmul (shared source)", 1);
  set_leaf(c, 0, 2, (int64_t[]){4, 4}, -1, 1);
  c->build = b_matmul_self, fd_check(c, 1, h, 2e-3, 1e-2), free_case(c);

  c = new_case("linear", 3);
  set_leaf(c, 0, 2, (int64_t[]){5, 6}, -1, 1), set_leaf(c, 1, 2, (int64_t[]){4, 6}, -1, 1);
  set_leaf(c, 2, 1, (int64_t[]){4}, -1, 1);
  c->build = b_linear, fd_check(c, 7, h, 2e-3, 1e-2), free_case(c);

  c = new_case("reshape (flatten) + linear", 2);
  set_leaf(c, 0, 4, (int64_t[]){2, 3, 2, 2}, -1, 1), set_leaf(c, 1, 2, (int64_t[]){3, 12}, -1, 1);
  c->build = b_flatten_linear, fd_check(c, 3, h, 2e-3, 1e-2), free_case(c);

  c = new_case("relu (away from 0)", 1);
  set_leaf(c, 0, 2, (int64_t[]){4, 5}, -2, 2);
  avoid_kinks(c, 0, (float[]){0}, 1, 0.05f);
  c->build = b_relu, fd_check(c, 1, h, 2e-3, 1e-2), free_case(c);

  c = new_case("htanh (away from ±1)", 1);
  set_leaf(c, 0, 2, (int64_t[]){4, 5}, -2, 2);
  avoid_kinks(c, 0, (float[]){-1, 1}, 2, 0.05f);
  c->build = b_htanh, fd_check(c, 1, h, 2e-3, 1e-2), free_case(c);

  c = new_case("sigmoid", 1);
  set_leaf(c, 0, 2, (int64_t[]){4, 5}, -3, 3);
  c->build = b_sigmoid, fd_check(c, 1, h, 2e-3, 1e-2), free_case(c);

  c = new_case("softmax", 1);
  set_leaf(c, 0, 2, (int64_t[]){3, 6}, -2, 2);
  c->build = b_softmax, fd_check(c, 1, h, 2e-3, 1e-2), free_case(c);

  c = new_case("log_softmax", 1);
  set_leaf(c, 0, 2, (int64_t[]){3, 6}, -2, 2);
  c->build = b_log_softmax, fd_check(c, 1, h, 2e-3, 1e-2), free_case(c);

  c = new_case("dropout p=0.3 (fixed mask)", 1);
  set_leaf(c, 0, 2, (int64_t[]){6, 7}, -2, 2);
  c->p = 0.3f, c->build = b_dropout, fd_check(c, 1, h, 2e-3, 1e-2), free_case(c);

  static const uint8_t labels[6] = {0, 3, 2, 5, 1, 3};
  c = new_case("cross_entropy", 1);
  set_leaf(c, 0, 2, (int64_t[]){6, 6}, -3, 3);
  c->labels = labels, c->build = b_ce, fd_check(c, 1, h, 2e-3, 1e-2), free_case(c);

  c = new_case("sq_hinge (away from the kink)", 1);
  set_leaf(c, 0, 2, (int64_t[]){6, 6}, -2, 2);
  /* margins 1 - t*y are 0 at y = ±1 */
  avoid_kinks(c, 0, (float[]){-1, 1}, 2, 0.05f);
  c->labels = labels, c->build = b_hinge, fd_check(c, 1, h, 2e-3, 1e-2), free_case(c);

  float rm[4] = {0}, rv[4] = {1, 1, 1, 1};
  c = new_case("batchnorm 1d [N,C]", 3);
  set_leaf(c, 0, 2, (int64_t[]){8, 4}, -2, 2), set_leaf(c, 1, 1, (int64_t[]){4}, 0.5f, 1.5f);
  set_leaf(c, 2, 1, (int64_t[]){4}, -1, 1);
  c->rm = rm, c->rv = rv, c->build = b_batchnorm, fd_check(c, 7, h, 3e-3, 2e-2), free_case(c);

  float rm2[3] = {0}, rv2[3] = {1, 1, 1};
  c = new_case("batchnorm 2d [N,C,H,W]", 3);
  set_leaf(c, 0, 4, (int64_t[]){3, 3, 2, 2}, -2, 2), set_leaf(c, 1, 1, (int64_t[]){3}, 0.5f, 1.5f);
  set_leaf(c, 2, 1, (int64_t[]){3}, -1, 1);
  c->rm = rm2, c->rv = rv2, c->build = b_batchnorm, fd_check(c, 7, h, 3e-3, 2e-2), free_case(c);
}

/* ---- straight-through ops against their definitions --------------------------- */

static void test_sign_ste(void) {
  gcase *c = new_case("sign forward", 1);
  set_leaf(c, 0, 2, (int64_t[]){4, 5}, -2, 2);
  c->val[0][0] = 0.0f, c->val[0][1] = 1.0f, c->val[0][2] = -1.0f; /* edges of the STE window */
  bnn_ctx_reset(&ctx, NULL);
  ctx.training = true;
  bnn_tensor *x = bnn_wrap_tensor(&ctx, c->val[0], 2, c->shape[0]);
  x->flags |= BNN_TF_REQUIRES_GRAD;
  bnn_tensor *y = bnn_sign(&ctx, x);
  CHECK(y != NULL);
  for (int k = 0; k < 20; k++) CHECK(y->data[k] == (c->val[0][k] >= 0 ? 1.0f : -1.0f));
  CHECK(y->data[0] == 1.0f); /* sign(0) = +1 */
  free_case(c);
}

static bnn_tensor *b_sign(bnn_ctx *cx, bnn_tensor **x, const gcase *c) { return bnn_sign(cx, x[0]); }

static void test_sign_ste_backward(void) {
  gcase *c = new_case("sign STE backward", 1);
  set_leaf(c, 0, 2, (int64_t[]){4, 5}, -2, 2);
  c->val[0][0] = 1.0f, c->val[0][1] = -1.0f, c->val[0][2] = 1.0001f, c->val[0][3] = 0.0f;
  c->build = b_sign;
  eval_case(c, true);
  for (int k = 0; k < 20; k++) {
    float r = sinf(1.3f * (float)k + 0.4f);
    float want = fabsf(c->val[0][k]) <= 1.0f ? r : 0.0f;
    CHECK_CLOSE(c->grad[0][k], want, 1e-6, 1e-6);
  }
  printf("  %-28s backward is the STE definition\n", c->name);
  free_case(c);
}

/* binlinear: y = (xb wb^T) * alpha + b. With loss sum(y*R), dy = R, so
 *   G = R^T xb;  dw = alpha*G*1{|w|<=1} + (sum_i G*wb)/in * sgn(w);  db = sum_n R;
 *   dx = (R*alpha) wb, times 1{|x|<=1} when x is binarized.
 * computed here in double with plain loops. */
static void test_binlinear(int flag) {
  static char names[4][64];
  snprintf(names[flag], sizeof names[flag], "binlinear%s%s", flag & 1 ? " sign(x)" : " real x",
           flag & 2 ? " +alpha" : "");
  enum { N = 5, IN = 7, OUT = 4 };
  gcase *c = new_case(names[flag], 3);
  set_leaf(c, 0, 2, (int64_t[]){N, IN}, -1.5f, 1.5f), set_leaf(c, 1, 2, (int64_t[]){OUT, IN}, -1.5f, 1.5f);
  set_leaf(c, 2, 1, (int64_t[]){OUT}, -1, 1);
  c->flag = flag, c->build = b_binlinear;
  eval_case(c, true);
  const float *x = c->val[0], *w = c->val[1];
  double alpha[OUT], R[N][OUT];
  for (int o = 0; o < OUT; o++) {
    double s = 0;
    for (int i = 0; i < IN; i++) s += fabs(w[o * IN + i]);
    alpha[o] = flag & 2 ? s / IN : 1.0;
  }
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OUT; o++) R[n][o] = sinf(1.3f * (float)(n * OUT + o) + 0.4f);
  for (int n = 0; n < N; n++)
    for (int i = 0; i < IN; i++) {
      double g = 0;
      for (int o = 0; o < OUT; o++) g += R[n][o] * alpha[o] * (w[o * IN + i] >= 0 ? 1 : -1);
      if ((flag & 1) && fabsf(x[n * IN + i]) > 1) g = 0;
      CHECK_CLOSE(c->grad[0][n * IN + i], g, 1e-5, 1e-4);
    }
  for (int o = 0; o < OUT; o++) {
    double G[IN], dalpha = 0, db = 0;
    for (int i = 0; i < IN; i++) {
      G[i] = 0;
      for (int n = 0; n < N; n++) {
        float xv = x[n * IN + i];
        G[i] += R[n][o] * ((flag & 1) ? (xv >= 0 ? 1 : -1) : xv);
      }
      dalpha += G[i] * (w[o * IN + i] >= 0 ? 1 : -1);
    }
    for (int n = 0; n < N; n++) db += R[n][o];
    CHECK_CLOSE(c->grad[2][o], db, 1e-5, 1e-4);
    for (int i = 0; i < IN; i++) {
      float wv = w[o * IN + i];
      double g = fabsf(wv) <= 1 ? alpha[o] * G[i] : 0;
      if (flag & 2) g += dalpha / IN * ((wv > 0) - (wv < 0));
      CHECK_CLOSE(c->grad[1][o * IN + i], g, 1e-5, 1e-4);
    }
  }
  printf("  %-28s backward is the STE definition\n", c->name);
  /* The smooth parts also pass finite differences: the bias always, and x
   * when it is not binarized (y is linear in a real x). */
  fd_check(c, (flag & 1) ? 4u : 5u, 1e-2f, 2e-3, 1e-2);
  free_case(c);
}

/* binconv2d: y[n,o,p] = alpha[o] * sum_{c,i,j} xb[n,c,h,w] wb[o,c,i,j] + b[o],
 * h = oh*s - pad + i, w = ow*s - pad + j, and xb = 0 in the padding (sign
 * first, then zero padding). With dy = R:
 *   dx[n,c,h,w] = sum over the windows covering (h,w) of R*alpha*wb, times 1{|x|<=1} if binarized;
 *   G[o,k] = sum_{n,p} R[n,o,p] xb[n,k at p];  dw = alpha*G*1{|w|<=1} + (sum_k G*wb)/K * sgn(w);
 * computed here in double with direct loops over the padded input. */
static void test_binconv2d(int flag, int stride, int pad) {
  static char names[16][64];
  static int used;
  char *name = names[used++ % 16];
  snprintf(name, 64, "binconv2d%s%s s%d p%d", flag & 1 ? " sign(x)" : " real x",
           flag & 2 ? " +alpha" : "", stride, pad);
  enum { N = 2, C = 3, H = 6, W = 5, O = 4, KH = 3, KW = 3 };
  const int K = C * KH * KW;
  int OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  gcase *c = new_case(name, 3);
  set_leaf(c, 0, 4, (int64_t[]){N, C, H, W}, -1.5f, 1.5f);
  set_leaf(c, 1, 4, (int64_t[]){O, C, KH, KW}, -1.5f, 1.5f);
  set_leaf(c, 2, 1, (int64_t[]){O}, -1, 1);
  c->flag = flag, c->stride = stride, c->pad = pad, c->build = b_binconv2d;
  eval_case(c, true);
  const float *x = c->val[0], *w = c->val[1];
  double alpha[O];
  for (int o = 0; o < O; o++) {
    double s = 0;
    for (int k = 0; k < K; k++) s += fabs(w[o * K + k]);
    alpha[o] = flag & 2 ? s / K : 1.0;
  }
  double *dx = calloc(N * C * H * W, sizeof *dx), *G = calloc((size_t)O * K, sizeof *G);
  double db[O] = {0};
  for (int n = 0; n < N; n++)
    for (int o = 0; o < O; o++)
      for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
          double r = sinf(1.3f * (float)(((n * O + o) * OH + oh) * OW + ow) + 0.4f);
          db[o] += r;
          for (int ci = 0; ci < C; ci++)
            for (int i = 0; i < KH; i++)
              for (int j = 0; j < KW; j++) {
                int h = oh * stride - pad + i, ww = ow * stride - pad + j;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue; /* padding: xb = 0 */
                int xi = ((n * C + ci) * H + h) * W + ww, k = (ci * KH + i) * KW + j;
                double xb = (flag & 1) ? (x[xi] >= 0 ? 1 : -1) : x[xi];
                dx[xi] += r * alpha[o] * (w[o * K + k] >= 0 ? 1 : -1);
                G[o * K + k] += r * xb;
              }
        }
  for (int i = 0; i < N * C * H * W; i++)
    CHECK_CLOSE(c->grad[0][i], (flag & 1) && fabsf(x[i]) > 1 ? 0.0 : dx[i], 1e-5, 1e-4);
  for (int o = 0; o < O; o++) {
    CHECK_CLOSE(c->grad[2][o], db[o], 1e-5, 1e-4);
    double dalpha = 0;
    for (int k = 0; k < K; k++) dalpha += G[o * K + k] * (w[o * K + k] >= 0 ? 1 : -1);
    for (int k = 0; k < K; k++) {
      float wv = w[o * K + k];
      double g = fabsf(wv) <= 1 ? alpha[o] * G[o * K + k] : 0;
      if (flag & 2) g += dalpha / K * ((wv > 0) - (wv < 0));
      CHECK_CLOSE(c->grad[1][o * K + k], g, 1e-5, 1e-4);
    }
  }
  free(dx), free(G);
  printf("  %-28s backward is the STE definition\n", c->name);
  /* smooth parts: the bias always, x when it is not binarized */
  fd_check(c, (flag & 1) ? 4u : 5u, 1e-2f, 2e-3, 1e-2);
  free_case(c);
}

/* ---- packed bits: the XNOR path equals the float path exactly --------------- */

static void test_xnor_equals_float(void) {
  int64_t sizes[][3] = {{3, 1, 5}, {7, 63, 9}, {5, 64, 3}, {4, 65, 17}, {10, 200, 33}, {2, 1000, 70}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    int64_t N = sizes[s][0], IN = sizes[s][1], OUT = sizes[s][2];
    float *x = malloc((size_t)(N * IN) * sizeof *x), *w = malloc((size_t)(OUT * IN) * sizeof *w);
    float *y1 = malloc((size_t)(N * OUT) * sizeof *y1);
    for (int64_t i = 0; i < N * IN; i++) x[i] = bnn_rng_uniform_range(&rng, -1, 1);
    for (int64_t i = 0; i < OUT * IN; i++) w[i] = bnn_rng_uniform_range(&rng, -1, 1);
    x[0] = 0.0f, w[0] = -0.0f; /* zeros are +1 on both paths */
    for (int mode = 0; mode < 2; mode++) { /* eval, then training */
      for (int scale = 0; scale < 2; scale++) {
        for (int xnor = 1; xnor >= 0; xnor--) {
          bnn_ctx_reset(&ctx, NULL);
          ctx.training = mode == 1;
          ctx.use_xnor = xnor;
          bnn_tensor *tx = bnn_wrap_tensor(&ctx, x, 2, (int64_t[]){N, IN});
          bnn_tensor *tw = bnn_wrap_tensor(&ctx, w, 2, (int64_t[]){OUT, IN});
          if (tw) tw->flags |= BNN_TF_REQUIRES_GRAD;
          bnn_tensor *y = bnn_binlinear(&ctx, tx, tw, NULL, true, scale);
          CHECK(y != NULL);
          if (!y) continue;
          if (xnor) memcpy(y1, y->data, (size_t)(N * OUT) * sizeof *y1);
          else CHECK(memcmp(y1, y->data, (size_t)(N * OUT) * sizeof *y1) == 0);
        }
      }
    }
    free(x), free(w), free(y1);
  }
  printf("  %-28s XNOR-popcount forward == float GEMM forward, bit for bit\n", "binlinear packed");
}

static void test_errors(void) {
  bnn_ctx_reset(&ctx, NULL);
  bnn_tensor *a = bnn_new_tensor_2d(&ctx, 3, 4), *b = bnn_new_tensor_2d(&ctx, 5, 2);
  CHECK(bnn_matmul(&ctx, a, b) == NULL);
  CHECK(bnn_ctx_status(&ctx) == BNN_ERR_SHAPE);
  CHECK(strstr(bnn_ctx_message(&ctx), "[3, 4] @ [5, 2]") != NULL);
  CHECK(bnn_relu(&ctx, a) == NULL); /* sticky */
  bnn_ctx_reset(&ctx, NULL);
  CHECK(bnn_ctx_status(&ctx) == BNN_OK);
  static const uint8_t bad[3] = {0, 9, 1};
  bnn_tensor *z = bnn_new_tensor_2d(&ctx, 3, 4);
  CHECK(bnn_cross_entropy(&ctx, z, bad) == NULL);
  CHECK(strstr(bnn_ctx_message(&ctx), "label 9 of example 1") != NULL);
}

int main(void) {
  bnn_rng_seed(&rng, 1234);
  CHECK_OK(bnn_ctx_init(&ctx, 1 << 16, 0, &err));
  bnn_set_num_threads(1);
  test_smooth_ops();
  test_conv2d_grad();
  test_pool_grad();
  test_sign_ste();
  test_sign_ste_backward();
  for (int flag = 0; flag < 4; flag++) test_binlinear(flag);
  for (int flag = 0; flag < 4; flag++) {
    test_binconv2d(flag, 1, 0); /* pad 0: binlinear binarizes the rows (packed path) */
    test_binconv2d(flag, 1, 1); /* pad > 0: sign, then zero padding */
    test_binconv2d(flag, 2, 2);
  }
  test_xnor_equals_float();
  test_errors();
  bnn_ctx_free(&ctx);
  return CHECK_REPORT("runtime_test_grad");
}
