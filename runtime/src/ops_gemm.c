/* ops_gemm.c: the GEMM ops (matmul, linear, binlinear) and the packed-bit
 * XNOR-popcount kernel.
 *
 * All float GEMMs go through cblas_sgemm, row-major, forward and both
 * backward products, accumulating straight into the gradient buffers
 * (beta = 0 for the first writer, 1 after), so no gradient is ever memset. */
#include "ops_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static const char *shp(const bnn_tensor *t, char *buf, size_t n) {
  return bnn_tensor_shape_str(t, buf, n);
}

/* ---- matmul: a [M,K] @ b [K,N] -> [M,N] ----------------------------------- */

bnn_tensor *bnn_matmul(bnn_ctx *ctx, bnn_tensor *a, bnn_tensor *b) {
  bnn_tensor *srcs[] = {a, b};
  if (!op_ready(ctx, "matmul", 2, srcs)) return NULL;
  char s1[64], s2[64];
  if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0])
    return op_fail(ctx, BNN_ERR_SHAPE, "matmul: %s @ %s: need [M,K] @ [K,N]", shp(a, s1, 64),
                   shp(b, s2, 64));
  int64_t M = a->shape[0], K = a->shape[1], N = b->shape[1];
  bnn_tensor *c = op_output(ctx, BNN_OP_MATMUL, 2, (int64_t[]){M, N}, a, b, NULL);
  if (!c) return NULL;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, a->data,
              (int)K, b->data, (int)N, 0.0f, c->data, (int)N);
  return c;
}

void op_matmul_backward(bnn_ctx *ctx, bnn_tensor *c) {
  bnn_tensor *a = c->src[0], *b = c->src[1];
  int M = (int)a->shape[0], K = (int)a->shape[1], N = (int)b->shape[1];
  float beta;
  float *da = op_grad(ctx, a, &beta); /* [M,K] += dc [M,N] @ b^T [N,K] */
  if (da)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.0f, c->grad, N, b->data, N,
                beta, da, K);
  float *db = op_grad(ctx, b, &beta); /* [K,N] += a^T [K,M] @ dc [M,N] */
  if (db)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, a->data, K, c->grad, N,
                beta, db, N);
}

/* ---- linear: x [N,in], w [out,in], b [out] -> y [N,out] -------------------- */

static bool check_linear(bnn_ctx *ctx, const char *op, bnn_tensor *x, bnn_tensor *w,
                         bnn_tensor *b) {
  char s1[64], s2[64], s3[64];
  if (x->ndim != 2 || w->ndim != 2 || x->shape[1] != w->shape[1]) {
    op_fail(ctx, BNN_ERR_SHAPE, "%s: input %s does not fit weight %s (need x [N,in], w [out,in])",
            op, shp(x, s1, 64), shp(w, s2, 64));
    return false;
  }
  if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) {
    op_fail(ctx, BNN_ERR_SHAPE, "%s: bias %s does not fit weight %s (need b [out])", op,
            shp(b, s3, 64), shp(w, s2, 64));
    return false;
  }
  return true;
}

/* y [N,out] += b [out] on every row */
static void add_bias(float *y, const float *b, int64_t n, int64_t out) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t o = 0; o < out; o++) y[i * out + o] += b[o];
}

/* db [out] (=|+=) column sums of dy [N,out] */
static void bias_backward(bnn_ctx *ctx, bnn_tensor *bias, const float *dy, int64_t n, int64_t out) {
  float beta;
  float *db = op_grad(ctx, bias, &beta);
  if (!db) return;
  if (beta == 0.0f) memset(db, 0, (size_t)out * sizeof *db);
  for (int64_t i = 0; i < n; i++)
    for (int64_t o = 0; o < out; o++) db[o] += dy[i * out + o];
}

bnn_tensor *bnn_linear(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b) {
  bnn_tensor *srcs[] = {x, w};
  if (!op_ready(ctx, "linear", 2, srcs) || !check_linear(ctx, "linear", x, w, b)) return NULL;
  int64_t N = x->shape[0], in = x->shape[1], out = w->shape[0];
  bnn_tensor *y = op_output(ctx, BNN_OP_LINEAR, 2, (int64_t[]){N, out}, x, w, b);
  if (!y) return NULL;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)out, (int)in, 1.0f, x->data,
              (int)in, w->data, (int)in, 0.0f, y->data, (int)out);
  if (b) add_bias(y->data, b->data, N, out);
  return y;
}

void op_linear_backward(bnn_ctx *ctx, bnn_tensor *y) {
  bnn_tensor *x = y->src[0], *w = y->src[1], *b = y->src[2];
  int N = (int)x->shape[0], in = (int)x->shape[1], out = (int)w->shape[0];
  float beta;
  float *dx = op_grad(ctx, x, &beta); /* [N,in] += dy [N,out] @ w [out,in] */
  if (dx)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, y->grad, out, w->data,
                in, beta, dx, in);
  float *dw = op_grad(ctx, w, &beta); /* [out,in] += dy^T [out,N] @ x [N,in] */
  if (dw)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, y->grad, out, x->data,
                in, beta, dw, in);
  if (b) bias_backward(ctx, b, y->grad, N, out);
}

/* ---- packed bits ----------------------------------------------------------- */

int64_t bnn_packed_words(int64_t cols) { return (cols + 63) / 64; }

void bnn_pack_signs(const float *x, int64_t rows, int64_t cols, uint64_t *out) {
  int64_t words = bnn_packed_words(cols);
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    uint64_t *dst = out + r * words;
    for (int64_t w = 0; w < words; w++) {
      int64_t base = w * 64, end = base + 64 < cols ? base + 64 : cols;
      uint64_t bits = 0;
      for (int64_t j = base; j < end; j++) bits |= (uint64_t)(row[j] >= 0.0f) << (j - base);
      dst[w] = bits;
    }
  }
}

/* Popcount kernel, compiled twice: with the POPCNT instruction when the CPU
 * has it (checked once at run time) and portable otherwise. Blocks of 64
 * weight rows stay in L1 while every input row passes over them. */
#define XNOR_BLOCK 64
#define XNOR_KERNEL_BODY                                                           \
  int64_t words = bnn_packed_words(cols);                                          \
  for (int64_t o0 = 0; o0 < out; o0 += XNOR_BLOCK) {                               \
    int64_t o1 = o0 + XNOR_BLOCK < out ? o0 + XNOR_BLOCK : out;                    \
    for (int64_t i = 0; i < n; i++) {                                              \
      const uint64_t *xr = xbits + i * words;                                      \
      for (int64_t o = o0; o < o1; o++) {                                          \
        const uint64_t *wr = wbits + o * words;                                    \
        int64_t diff = 0;                                                          \
        for (int64_t k = 0; k < words; k++) diff += __builtin_popcountll(xr[k] ^ wr[k]); \
        y[i * out + o] = (float)(cols - 2 * diff);                                 \
      }                                                                            \
    }                                                                              \
  }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("popcnt"))) static void xnor_gemm_popcnt(
    const uint64_t *xbits, const uint64_t *wbits, int64_t n, int64_t out, int64_t cols, float *y) {
  XNOR_KERNEL_BODY
}
#endif

static void xnor_gemm_generic(const uint64_t *xbits, const uint64_t *wbits, int64_t n, int64_t out,
                              int64_t cols, float *y) {
  XNOR_KERNEL_BODY
}

void bnn_xnor_gemm(const uint64_t *xbits, const uint64_t *wbits, int64_t n, int64_t out,
                   int64_t cols, float *y) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (__builtin_cpu_supports("popcnt")) {
    xnor_gemm_popcnt(xbits, wbits, n, out, cols, y);
    return;
  }
#endif
  xnor_gemm_generic(xbits, wbits, n, out, cols, y);
}

/* ---- binlinear ------------------------------------------------------------- */

/* saved[0] wb [out,in] = sign(w) as ±1 floats
 * saved[1] xb [N,in]   = sign(x) (binarized input) or x itself (real input)
 * saved[2] alpha [out] = mean |w[o,:]| (scale only)
 * iparam[0] binarize_input, iparam[1] scale */
bnn_tensor *bnn_binlinear(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b,
                          bool binarize_input, bool scale) {
  bnn_tensor *srcs[] = {x, w};
  if (!op_ready(ctx, "binlinear", 2, srcs) || !check_linear(ctx, "binlinear", x, w, b))
    return NULL;
  int64_t N = x->shape[0], in = x->shape[1], out = w->shape[0];
  bnn_tensor *y = op_output(ctx, BNN_OP_BINLINEAR, 2, (int64_t[]){N, out}, x, w, b);
  if (!y) return NULL;
  y->iparam[0] = binarize_input, y->iparam[1] = scale;

  bool xnor = binarize_input && ctx->use_xnor;
  float *wb = NULL; /* [out,in]; eval on packed bits does not need it */
  if (ctx->training || !xnor) {
    wb = op_scratch(ctx, (size_t)(out * in) * sizeof *wb);
    if (!wb) return NULL;
    for (int64_t i = 0; i < out * in; i++) wb[i] = w->data[i] >= 0.0f ? 1.0f : -1.0f;
  }
  float *xb = x->data; /* [N,in] */
  if (binarize_input && (ctx->training || !xnor)) {
    xb = op_scratch(ctx, (size_t)(N * in) * sizeof *xb);
    if (!xb) return NULL;
    for (int64_t i = 0; i < N * in; i++) xb[i] = x->data[i] >= 0.0f ? 1.0f : -1.0f;
  }
  if (xnor) {
    int64_t words = bnn_packed_words(in);
    uint64_t *xbits = op_scratch(ctx, (size_t)(N * words) * sizeof *xbits);   /* [N,words] */
    uint64_t *wbits = op_scratch(ctx, (size_t)(out * words) * sizeof *wbits); /* [out,words] */
    if (!xbits || !wbits) return NULL;
    bnn_pack_signs(x->data, N, in, xbits);
    bnn_pack_signs(w->data, out, in, wbits);
    bnn_xnor_gemm(xbits, wbits, N, out, in, y->data);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)out, (int)in, 1.0f, xb,
                (int)in, wb, (int)in, 0.0f, y->data, (int)out);
  }
  float *alpha = NULL;
  if (scale) {
    alpha = op_scratch(ctx, (size_t)out * sizeof *alpha); /* [out] */
    if (!alpha) return NULL;
    for (int64_t o = 0; o < out; o++) {
      double s = 0;
      for (int64_t i = 0; i < in; i++) s += fabsf(w->data[o * in + i]);
      alpha[o] = (float)(s / (double)in);
    }
    for (int64_t i = 0; i < N; i++)
      for (int64_t o = 0; o < out; o++) y->data[i * out + o] *= alpha[o];
  }
  if (b) add_bias(y->data, b->data, N, out);
  y->saved[0] = wb, y->saved[1] = xb, y->saved[2] = alpha;
  return y;
}

void op_binlinear_backward(bnn_ctx *ctx, bnn_tensor *y) {
  bnn_tensor *x = y->src[0], *w = y->src[1], *b = y->src[2];
  bool binarize_input = y->iparam[0], scale = y->iparam[1];
  const float *wb = y->saved[0], *xb = y->saved[1], *alpha = y->saved[2];
  int N = (int)x->shape[0], in = (int)x->shape[1], out = (int)w->shape[0];
  const float *dy = y->grad; /* [N,out] */

  if (b) bias_backward(ctx, b, dy, N, out);
  const float *dys = dy; /* [N,out] = dy * alpha */
  if (scale) {
    float *t = op_scratch(ctx, (size_t)N * (size_t)out * sizeof *t);
    if (!t) return;
    for (int64_t i = 0; i < N; i++)
      for (int64_t o = 0; o < out; o++) t[i * out + o] = dy[i * out + o] * alpha[o];
    dys = t;
  }

  float beta;
  if (needs_grad(x)) {
    if (!binarize_input) {
      float *dx = op_grad(ctx, x, &beta); /* [N,in] += dys @ wb */
      if (!dx) return;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dys, out, wb, in,
                  beta, dx, in);
    } else {
      float *dxb = op_scratch(ctx, (size_t)N * (size_t)in * sizeof *dxb); /* [N,in] */
      if (!dxb) return;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dys, out, wb, in,
                  0.0f, dxb, in);
      float *dx = op_grad(ctx, x, &beta);
      if (!dx) return;
      for (int64_t i = 0; i < (int64_t)N * in; i++)
        grad_put(dx, i, fabsf(x->data[i]) <= 1.0f ? dxb[i] : 0.0f, beta);
    }
  }

  if (needs_grad(w)) {
    /* G [out,in] = dy^T @ xb. Then
     *   dw = alpha*G*1{|w|<=1} + (sum_i G*wb)[o] * sgn(w)/in   (scale)
     *   dw = G*1{|w|<=1}                                        (no scale) */
    int64_t n_w = (int64_t)out * in;
    float *dw = op_grad(ctx, w, &beta);
    if (!dw) return;
    float *G = dw;
    if (beta != 0.0f) {
      G = op_scratch(ctx, (size_t)n_w * sizeof *G);
      if (!G) return;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, dy, out, xb, in, 0.0f,
                G, in);
    for (int64_t o = 0; o < out; o++) {
      float a = scale ? alpha[o] : 1.0f, dalpha_n = 0.0f;
      const float *wr = w->data + o * in, *wbr = wb + o * in;
      float *Gr = G + o * in, *dwr = dw + o * in;
      if (scale) {
        double s = 0;
        for (int64_t i = 0; i < in; i++) s += (double)Gr[i] * wbr[i];
        dalpha_n = (float)(s / in);
      }
      for (int64_t i = 0; i < in; i++) {
        float g = fabsf(wr[i]) <= 1.0f ? a * Gr[i] : 0.0f;
        if (scale) g += dalpha_n * (float)((wr[i] > 0.0f) - (wr[i] < 0.0f));
        if (beta == 0.0f) dwr[i] = g;
        else dwr[i] += g;
      }
    }
  }
}
