/* test_conv.c: the convolution and pooling forwards against direct loops.
 *
 * conv2d against the textbook 7-loop convolution with zero padding;
 * binconv2d against the same loops on sign(x) zero-padded (padding
 * contributes 0, not +1) and sign(w), times alpha = mean |w| per filter;
 * the packed XNOR forward (pad 0) bit-equal to the float forward; pooling
 * windows, floor mode and maxpool's tie rule; shape errors. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

static bnn_ctx ctx;
static bnn_rng rng;

typedef struct shape {
  int64_t N, C, H, W, O, kh, kw;
  int stride, pad;
} shape;

static const shape shapes[] = {
  {2, 3, 7, 6, 5, 3, 3, 1, 1}, {2, 5, 9, 8, 3, 5, 5, 2, 2}, {1, 3, 5, 5, 4, 1, 1, 2, 0},
  {3, 1, 28, 28, 6, 5, 5, 1, 0}, {2, 65, 6, 6, 3, 3, 3, 1, 1}, {1, 100, 5, 7, 70, 3, 3, 2, 1},
  {2, 4, 6, 9, 3, 3, 5, 1, 2}, {1, 3, 4, 4, 2, 5, 5, 1, 2},
};

static float *rand_buf(int64_t n, float lo, float hi) {
  float *p = malloc((size_t)n * sizeof *p);
  for (int64_t i = 0; i < n; i++) p[i] = bnn_rng_uniform_range(&rng, lo, hi);
  return p;
}

static int64_t out_dim(int64_t n, int64_t k, int stride, int pad) { return (n + 2 * pad - k) / stride + 1; }

/* y[n,o,oh,ow] = sum_{c,i,j} xv(n,c,oh*s-p+i,ow*s-p+j) wv(o,c,i,j), 0 outside
 * the image; binary: xv = sign(x), wv = sign(w), times alpha[o]. In double. */
static double *direct_conv(const shape *s, const float *x, const float *w, const float *b,
                           bool binary, bool bin_x, bool scale) {
  int64_t OH = out_dim(s->H, s->kh, s->stride, s->pad), OW = out_dim(s->W, s->kw, s->stride, s->pad);
  int64_t K = s->C * s->kh * s->kw;
  double *y = malloc((size_t)(s->N * s->O * OH * OW) * sizeof *y);
  for (int64_t n = 0; n < s->N; n++)
    for (int64_t o = 0; o < s->O; o++) {
      double alpha = 1;
      if (scale) {
        alpha = 0;
        for (int64_t k = 0; k < K; k++) alpha += fabs(w[o * K + k]);
        alpha /= (double)K;
      }
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double acc = 0;
          for (int64_t c = 0; c < s->C; c++)
            for (int64_t i = 0; i < s->kh; i++)
              for (int64_t j = 0; j < s->kw; j++) {
                int64_t h = oh * s->stride - s->pad + i, ww = ow * s->stride - s->pad + j;
                if (h < 0 || h >= s->H || ww < 0 || ww >= s->W) continue;
                double xv = x[((n * s->C + c) * s->H + h) * s->W + ww];
                double wv = w[((o * s->C + c) * s->kh + i) * s->kw + j];
                if (binary) wv = wv >= 0 ? 1 : -1;
                if (bin_x) xv = xv >= 0 ? 1 : -1;
                acc += xv * wv;
              }
          y[((n * s->O + o) * OH + oh) * OW + ow] = alpha * acc + (b ? b[o] : 0.0);
        }
    }
  return y;
}

static void test_conv2d_forward(void) {
  for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
    const shape *s = &shapes[t];
    int64_t nx = s->N * s->C * s->H * s->W, nw = s->O * s->C * s->kh * s->kw;
    float *x = rand_buf(nx, -1, 1), *w = rand_buf(nw, -1, 1), *b = rand_buf(s->O, -1, 1);
    double *ref = direct_conv(s, x, w, b, false, false, false);
    bnn_ctx_reset(&ctx, NULL);
    ctx.training = false;
    bnn_tensor *tx = bnn_wrap_tensor(&ctx, x, 4, (int64_t[]){s->N, s->C, s->H, s->W});
    bnn_tensor *tw = bnn_wrap_tensor(&ctx, w, 4, (int64_t[]){s->O, s->C, s->kh, s->kw});
    bnn_tensor *tb = bnn_wrap_tensor(&ctx, b, 1, (int64_t[]){s->O});
    bnn_tensor *y = bnn_conv2d(&ctx, tx, tw, tb, s->stride, s->pad);
    CHECK(y != NULL);
    if (y) {
      int64_t OH = out_dim(s->H, s->kh, s->stride, s->pad), OW = out_dim(s->W, s->kw, s->stride, s->pad);
      CHECK(y->ndim == 4 && y->shape[0] == s->N && y->shape[1] == s->O && y->shape[2] == OH &&
            y->shape[3] == OW);
      int bad = 0;
      for (int64_t i = 0; i < bnn_tensor_numel(y); i++)
        bad += !(fabs(y->data[i] - ref[i]) <= 1e-4 + 1e-4 * fabs(ref[i]));
      CHECK(bad == 0);
    }
    free(x), free(w), free(b), free(ref);
  }
  printf("  conv2d forward == direct 7-loop convolution (%zu shapes)\n", sizeof shapes / sizeof shapes[0]);
}

/* binconv2d == conv(sign(x) zero-padded, sign(w)) * alpha + b; the packed
 * path (use_xnor, pad 0) equals the float path bit for bit. */
static void test_binconv2d_forward(void) {
  for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
    const shape *s = &shapes[t];
    int64_t nx = s->N * s->C * s->H * s->W, nw = s->O * s->C * s->kh * s->kw;
    float *x = rand_buf(nx, -1, 1), *w = rand_buf(nw, -1, 1), *b = rand_buf(s->O, -1, 1);
    x[0] = 0.0f, w[0] = -0.0f; /* sign(0) = +1 */
    for (int variant = 0; variant < 8; variant++) {
      bool bin_x = variant & 1, scale = variant & 2, bias = variant & 4;
      double *ref = direct_conv(s, x, w, bias ? b : NULL, true, bin_x, scale);
      float *first = NULL;
      for (int mode = 0; mode < 4; mode++) { /* xnor on/off x eval/training */
        bnn_ctx_reset(&ctx, NULL);
        ctx.use_xnor = mode & 1, ctx.training = mode & 2;
        bnn_tensor *tx = bnn_wrap_tensor(&ctx, x, 4, (int64_t[]){s->N, s->C, s->H, s->W});
        bnn_tensor *tw = bnn_wrap_tensor(&ctx, w, 4, (int64_t[]){s->O, s->C, s->kh, s->kw});
        bnn_tensor *tb = bnn_wrap_tensor(&ctx, b, 1, (int64_t[]){s->O});
        if (tw) tw->flags |= BNN_TF_REQUIRES_GRAD;
        bnn_tensor *y = bnn_binconv2d(&ctx, tx, tw, bias ? tb : NULL, s->stride, s->pad, bin_x, scale);
        CHECK(y != NULL);
        if (!y) continue;
        int64_t n = bnn_tensor_numel(y);
        int bad = 0;
        for (int64_t i = 0; i < n; i++) bad += !(fabs(y->data[i] - ref[i]) <= 1e-4 + 1e-5 * fabs(ref[i]));
        if (bad) fprintf(stderr, "shape %zu variant %d mode %d: %d values differ\n", t, variant, mode, bad);
        CHECK(bad == 0);
        if (!first) {
          first = malloc((size_t)n * sizeof *first);
          memcpy(first, y->data, (size_t)n * sizeof *first);
        } else {
          CHECK(memcmp(first, y->data, (size_t)n * sizeof *first) == 0);
        }
      }
      free(first), free(ref);
    }
    free(x), free(w), free(b);
  }
  ctx.use_xnor = true;
  printf("  binconv2d forward == conv(sign(x) zero-padded, sign(w)) * alpha + b;\n"
         "    packed XNOR forward == float forward, bit for bit\n");
}

/* Padding contributes 0: an all-positive 1x1x3x3 input, 3x3 all-positive
 * filter, pad 1: corners see 4 pixels, edges 6, the center 9. */
static void test_binconv2d_padding(void) {
  float x[9], w[9];
  for (int i = 0; i < 9; i++) x[i] = 0.5f, w[i] = 0.25f;
  bnn_ctx_reset(&ctx, NULL);
  ctx.training = false;
  bnn_tensor *tx = bnn_wrap_tensor(&ctx, x, 4, (int64_t[]){1, 1, 3, 3});
  bnn_tensor *tw = bnn_wrap_tensor(&ctx, w, 4, (int64_t[]){1, 1, 3, 3});
  bnn_tensor *y = bnn_binconv2d(&ctx, tx, tw, NULL, 1, 1, true, false);
  static const float want[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
  CHECK(y != NULL);
  for (int i = 0; y && i < 9; i++) CHECK(y->data[i] == want[i]);
  printf("  binconv2d zero padding contributes 0 after sign (corners 4, edges 6, center 9)\n");
}

static void test_pools(void) {
  /* [1,1,5,5] = 0..24, maxpool 2x2 stride 2 floor mode -> [1,1,2,2] */
  float x[25];
  for (int i = 0; i < 25; i++) x[i] = (float)i;
  bnn_ctx_reset(&ctx, NULL);
  ctx.training = false;
  bnn_tensor *tx = bnn_wrap_tensor(&ctx, x, 4, (int64_t[]){1, 1, 5, 5});
  bnn_tensor *m = bnn_maxpool2d(&ctx, tx, 2, 2, 2), *a = bnn_avgpool2d(&ctx, tx, 2, 2, 2);
  CHECK(m && a && m->shape[2] == 2 && m->shape[3] == 2);
  if (m && a) {
    static const float wm[4] = {6, 8, 16, 18}, wa[4] = {3, 5, 13, 15};
    for (int i = 0; i < 4; i++) CHECK(m->data[i] == wm[i] && a->data[i] == wa[i]);
  }
  /* 3x3 stride 1 overlapping windows */
  m = bnn_maxpool2d(&ctx, tx, 3, 3, 1);
  CHECK(m && m->shape[2] == 3 && m->data[0] == 12 && m->data[8] == 24);

  /* ties: the gradient goes to the first maximum in window order (PyTorch) */
  float t[16] = {1, 3, 3, 0, 3, 3, 0, 0, /* window (0,0) = {1,3,3,3}: first max at (0,1) */
                 2, 2, 5, 5, 2, 2, 5, 5};
  bnn_ctx_reset(&ctx, NULL);
  ctx.training = true;
  tx = bnn_wrap_tensor(&ctx, t, 4, (int64_t[]){1, 1, 4, 4});
  tx->flags |= BNN_TF_REQUIRES_GRAD;
  m = bnn_maxpool2d(&ctx, tx, 2, 2, 2);
  bnn_tensor *flat = bnn_reshape(&ctx, m, 2, (int64_t[]){1, 4});
  bnn_tensor *ones = bnn_new_tensor_2d(&ctx, 4, 1);
  for (int i = 0; ones && i < 4; i++) ones->data[i] = (float)(i + 1);
  bnn_tensor *loss = bnn_reshape(&ctx, bnn_matmul(&ctx, flat, ones), 1, (int64_t[]){1});
  CHECK_OK(bnn_backward(&ctx, loss, &err));
  static const float want[16] = {0, 1, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0};
  for (int i = 0; i < 16; i++) CHECK(tx->grad[i] == want[i]);
  printf("  pools: floor mode, overlapping windows, maxpool gradient to the first maximum\n");
}

static void test_errors(void) {
  bnn_ctx_reset(&ctx, NULL);
  bnn_tensor *x = bnn_new_tensor(&ctx, 4, (int64_t[]){2, 3, 8, 8});
  bnn_tensor *w = bnn_new_tensor(&ctx, 4, (int64_t[]){4, 5, 3, 3});
  CHECK(bnn_conv2d(&ctx, x, w, NULL, 1, 0) == NULL);
  CHECK(bnn_ctx_status(&ctx) == BNN_ERR_SHAPE);
  CHECK(strstr(bnn_ctx_message(&ctx), "conv2d: input [2, 3, 8, 8] does not fit weight [4, 5, 3, 3]") != NULL);

  bnn_ctx_reset(&ctx, NULL);
  x = bnn_new_tensor(&ctx, 4, (int64_t[]){2, 3, 4, 4});
  w = bnn_new_tensor(&ctx, 4, (int64_t[]){4, 3, 5, 5});
  CHECK(bnn_binconv2d(&ctx, x, w, NULL, 1, 0, true, true) == NULL);
  CHECK(strstr(bnn_ctx_message(&ctx), "binconv2d: a 5x5 kernel (stride 1, pad 0) does not fit the input [2, 3, 4, 4]") != NULL);

  bnn_ctx_reset(&ctx, NULL);
  x = bnn_new_tensor(&ctx, 4, (int64_t[]){2, 3, 4, 4});
  w = bnn_new_tensor(&ctx, 4, (int64_t[]){4, 3, 3, 3});
  bnn_tensor *b = bnn_new_tensor(&ctx, 1, (int64_t[]){5});
  CHECK(bnn_conv2d(&ctx, x, w, b, 1, 0) == NULL);
  CHECK(strstr(bnn_ctx_message(&ctx), "bias [5] does not fit weight [4, 3, 3, 3]") != NULL);

  bnn_ctx_reset(&ctx, NULL);
  x = bnn_new_tensor_2d(&ctx, 2, 12);
  CHECK(bnn_maxpool2d(&ctx, x, 2, 2, 2) == NULL);
  CHECK(strstr(bnn_ctx_message(&ctx), "maxpool2d: input [2, 12] is not an image batch [N,C,H,W]") != NULL);

  bnn_ctx_reset(&ctx, NULL);
  x = bnn_new_tensor(&ctx, 4, (int64_t[]){1, 1, 4, 4});
  CHECK(bnn_avgpool2d(&ctx, x, 2, 2, 0) == NULL);
  CHECK(bnn_ctx_status(&ctx) == BNN_ERR_ARG);
  CHECK(strstr(bnn_ctx_message(&ctx), "stride 0") != NULL);
  printf("  shape errors name the op and both shapes\n");
}

int main(void) {
  bnn_rng_seed(&rng, 77);
  CHECK_OK(bnn_ctx_init(&ctx, 1 << 20, 0, &err));
  bnn_set_num_threads(1);
  test_conv2d_forward();
  test_binconv2d_forward();
  test_binconv2d_padding();
  test_pools();
  test_errors();
  bnn_ctx_free(&ctx);
  return CHECK_REPORT("runtime_test_conv");
}
