/* ops_conv.c: convolutions and pooling on NCHW tensors (PyTorch semantics).
 *
 * A convolution is a chain of recorded ops, so it reuses the GEMM ops exactly:
 *
 *   x [N,C,H,W] --im2col--> col [N*OH*OW, K]          K = C*kh*kw, (c,i,j) order
 *   w [O,C,kh,kw] --reshape--> [O, K]                 a view, no copy
 *   col, w --linear | binlinear--> [N*OH*OW, O]       one GEMM for the whole batch
 *   --reshape [N,OH,OW,O]--nhwc_to_nchw--> [N,O,OH,OW]
 *
 * binconv2d therefore gets binlinear's sign/STE/alpha definition (alpha over
 * the whole filter, since a row of the flattened weight is one filter).
 * Zero padding must contribute 0 after binarization (PyTorch:
 * conv2d(sign(x), sign(w), padding=p)), so a binarized input goes through
 * `sign` (with its STE) BEFORE im2col, which pads the ±1 map with zeros;
 * binlinear then takes the rows as real. Binarizing the [N,C,H,W] map once is
 * also cheaper than binarizing (and STE-masking) the K times larger im2col
 * matrix. In training the float GEMM runs on these ±1/0 rows (exact
 * integers; the backward needs the float rows anyway).
 *
 * In eval mode (ctx->use_xnor) a binarized binconv2d runs on packed bits
 * instead: binconv2d_packed below, bit-identical to the float path.
 *
 * Pools (maxpool2d, avgpool2d) are direct loops over each [H,W] plane: no
 * padding, floor mode. maxpool saves the argmax of each window (an offset in
 * its plane) for backward. */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

static const char *shp(const bnn_tensor *t, char *buf, size_t n) {
  return bnn_tensor_shape_str(t, buf, n);
}

/* floor((n + 2 pad - k) / stride) + 1, or 0 when the window does not fit */
static int64_t window_out(int64_t n, int64_t k, int64_t stride, int64_t pad) {
  int64_t span = n + 2 * pad - k;
  return span < 0 ? 0 : span / stride + 1;
}

/* Checks kernel/stride/pad and that the window fits x [N,C,H,W]. */
static bool check_window(bnn_ctx *ctx, const char *op, const bnn_tensor *x, int kh, int kw,
                         int stride, int pad, int64_t *oh, int64_t *ow) {
  char s1[64];
  if (x->ndim != 4) {
    op_fail(ctx, BNN_ERR_SHAPE, "%s: input %s is not an image batch [N,C,H,W]", op,
            shp(x, s1, 64));
    return false;
  }
  if (kh < 1 || kw < 1 || stride < 1 || pad < 0) {
    op_fail(ctx, BNN_ERR_ARG, "%s: kernel %dx%d, stride %d, pad %d: need kernel >= 1, stride >= 1, pad >= 0",
            op, kh, kw, stride, pad);
    return false;
  }
  *oh = window_out(x->shape[2], kh, stride, pad);
  *ow = window_out(x->shape[3], kw, stride, pad);
  if (*oh < 1 || *ow < 1) {
    op_fail(ctx, BNN_ERR_SHAPE, "%s: a %dx%d kernel (stride %d, pad %d) does not fit the input %s",
            op, kh, kw, stride, pad, shp(x, s1, 64));
    return false;
  }
  return true;
}

/* ---- im2col: x [N,C,H,W] -> col [N*OH*OW, C*kh*kw] -------------------------- */

typedef struct window {
  int64_t N, C, H, W, OH, OW, kh, kw, stride, pad;
} window;

static window window_of(const bnn_tensor *x, const int32_t *iparam, int64_t oh, int64_t ow) {
  return (window){x->shape[0], x->shape[1], x->shape[2], x->shape[3], oh, ow,
                  iparam[0], iparam[1], iparam[2], iparam[3]};
}

/* Visits every element of the im2col matrix: BODY(r, v) for those inside the
 * image (r the col element, v the x element, both lvalues), PAD(r) for those
 * in the zero padding. One copy of the loop nest serves the forward (copy)
 * and the backward (scatter-add). Rows are written contiguously; x is read
 * in runs of kw. */
#define IM2COL_LOOP(g, x, col, BODY, PAD)                                                \
  do {                                                                                   \
    int64_t K_ = (g).C * (g).kh * (g).kw;                                                \
    for (int64_t n = 0; n < (g).N; n++)                                                  \
      for (int64_t oh = 0; oh < (g).OH; oh++)                                            \
        for (int64_t ow = 0; ow < (g).OW; ow++) {                                        \
          float *row_ = (col) + ((n * (g).OH + oh) * (g).OW + ow) * K_;                  \
          int64_t h0 = oh * (g).stride - (g).pad, w0 = ow * (g).stride - (g).pad;        \
          bool inside_w = w0 >= 0 && w0 + (g).kw <= (g).W;                               \
          for (int64_t c = 0; c < (g).C; c++)                                            \
            for (int64_t i = 0; i < (g).kh; i++) {                                       \
              float *r = row_ + (c * (g).kh + i) * (g).kw;                               \
              int64_t ih = h0 + i;                                                       \
              if (ih < 0 || ih >= (g).H) {                                               \
                for (int64_t j = 0; j < (g).kw; j++) PAD(r[j]);                          \
                continue;                                                                \
              }                                                                          \
              float *xr = (x) + ((n * (g).C + c) * (g).H + ih) * (g).W; /* row ih */     \
              if (inside_w) {                                                            \
                for (int64_t j = 0; j < (g).kw; j++) BODY(r[j], xr[w0 + j]);             \
              } else {                                                                   \
                for (int64_t j = 0; j < (g).kw; j++) {                                   \
                  if (w0 + j >= 0 && w0 + j < (g).W) BODY(r[j], xr[w0 + j]);             \
                  else PAD(r[j]);                                                        \
                }                                                                        \
              }                                                                          \
            }                                                                            \
        }                                                                                \
  } while (0)

#define COPY_IN(r, v) ((r) = (v))
#define ZERO_PAD(r) ((r) = 0.0f)
#define ADD_BACK(r, v) ((v) += (r))
#define SKIP_PAD(r) ((void)0)

/* iparam: kh, kw, stride, pad */
bnn_tensor *bnn_im2col(bnn_ctx *ctx, bnn_tensor *x, int kh, int kw, int stride, int pad) {
  if (!op_ready(ctx, "im2col", 1, &x)) return NULL;
  int64_t OH, OW;
  if (!check_window(ctx, "im2col", x, kh, kw, stride, pad, &OH, &OW)) return NULL;
  int64_t N = x->shape[0], K = x->shape[1] * kh * kw;
  bnn_tensor *col = op_output(ctx, BNN_OP_IM2COL, 2, (int64_t[]){N * OH * OW, K}, x, NULL, NULL);
  if (!col) return NULL;
  col->iparam[0] = kh, col->iparam[1] = kw, col->iparam[2] = stride, col->iparam[3] = pad;
  window g = window_of(x, col->iparam, OH, OW);
  float *xd = x->data, *cd = col->data;
  IM2COL_LOOP(g, xd, cd, COPY_IN, ZERO_PAD);
  return col;
}

/* col2im: every col element's gradient goes back to the pixel it came from. */
void op_im2col_backward(bnn_ctx *ctx, bnn_tensor *col) {
  bnn_tensor *x = col->src[0];
  float beta;
  float *dx = op_grad(ctx, x, &beta); /* [N,C,H,W] */
  if (!dx) return;
  if (beta == 0.0f) memset(dx, 0, (size_t)bnn_tensor_numel(x) * sizeof *dx);
  int64_t OH = window_out(x->shape[2], col->iparam[0], col->iparam[2], col->iparam[3]);
  int64_t OW = window_out(x->shape[3], col->iparam[1], col->iparam[2], col->iparam[3]);
  window g = window_of(x, col->iparam, OH, OW);
  float *dcol = col->grad;
  IM2COL_LOOP(g, dx, dcol, ADD_BACK, SKIP_PAD);
}

/* ---- nhwc_to_nchw: [N,H,W,C] -> [N,C,H,W] ------------------------------------ */

/* dst[c*P + p] = src[p*C + c] for one image, in 32x32 tiles (both sides
 * stay in cache). */
static void transpose_plane(const float *src, float *dst, int64_t P, int64_t C, bool add) {
  enum { T = 32 };
  for (int64_t p0 = 0; p0 < P; p0 += T)
    for (int64_t c0 = 0; c0 < C; c0 += T) {
      int64_t p1 = p0 + T < P ? p0 + T : P, c1 = c0 + T < C ? c0 + T : C;
      for (int64_t c = c0; c < c1; c++)
        for (int64_t p = p0; p < p1; p++) {
          if (add) dst[c * P + p] += src[p * C + c];
          else dst[c * P + p] = src[p * C + c];
        }
    }
}

bnn_tensor *bnn_nhwc_to_nchw(bnn_ctx *ctx, bnn_tensor *x) {
  if (!op_ready(ctx, "nhwc_to_nchw", 1, &x)) return NULL;
  char s1[64];
  if (x->ndim != 4)
    return op_fail(ctx, BNN_ERR_SHAPE, "nhwc_to_nchw: input %s is not [N,H,W,C]", shp(x, s1, 64));
  int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3], P = H * W;
  bnn_tensor *y = op_output(ctx, BNN_OP_NHWC_TO_NCHW, 4, (int64_t[]){N, C, H, W}, x, NULL, NULL);
  if (!y) return NULL;
  for (int64_t n = 0; n < N; n++) transpose_plane(x->data + n * P * C, y->data + n * P * C, P, C, false);
  return y;
}

void op_nhwc_to_nchw_backward(bnn_ctx *ctx, bnn_tensor *y) {
  bnn_tensor *x = y->src[0];
  float beta;
  float *dx = op_grad(ctx, x, &beta); /* [N,H,W,C] */
  if (!dx) return;
  int64_t N = y->shape[0], C = y->shape[1], P = y->shape[2] * y->shape[3];
  for (int64_t n = 0; n < N; n++) /* dx[p*C + c] (+)= dy[c*P + p]: the transpose with P, C swapped */
    transpose_plane(y->grad + n * P * C, dx + n * P * C, C, P, beta != 0.0f);
}

/* ---- conv2d and binconv2d: compositions of the ops above ---------------------- */

static bool check_conv(bnn_ctx *ctx, const char *op, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b,
                       int stride, int pad, int64_t *oh, int64_t *ow) {
  char s1[64], s2[64];
  if (x->ndim != 4 || w->ndim != 4 || x->shape[1] != w->shape[1]) {
    op_fail(ctx, BNN_ERR_SHAPE,
            "%s: input %s does not fit weight %s (need x [N,C,H,W], w [O,C,kh,kw] with the same C)",
            op, shp(x, s1, 64), shp(w, s2, 64));
    return false;
  }
  if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) {
    op_fail(ctx, BNN_ERR_SHAPE, "%s: bias %s does not fit weight %s (need b [O])", op,
            shp(b, s1, 64), shp(w, s2, 64));
    return false;
  }
  if (w->shape[2] > INT32_MAX || w->shape[3] > INT32_MAX) {
    op_fail(ctx, BNN_ERR_LIMIT, "%s: kernel %s too large", op, shp(w, s2, 64));
    return false;
  }
  return check_window(ctx, op, x, (int)w->shape[2], (int)w->shape[3], stride, pad, oh, ow);
}

/* y [N*OH*OW, O] (rows in n, oh, ow order) -> [N,O,OH,OW] */
static bnn_tensor *rows_to_nchw(bnn_ctx *ctx, bnn_tensor *y, int64_t N, int64_t OH, int64_t OW) {
  if (!y) return NULL;
  bnn_tensor *nhwc = bnn_reshape(ctx, y, 4, (int64_t[]){N, OH, OW, y->shape[1]});
  return bnn_nhwc_to_nchw(ctx, nhwc);
}

bnn_tensor *bnn_conv2d(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b, int stride,
                       int pad) {
  bnn_tensor *srcs[] = {x, w};
  int64_t OH, OW;
  if (!op_ready(ctx, "conv2d", 2, srcs) || !check_conv(ctx, "conv2d", x, w, b, stride, pad, &OH, &OW))
    return NULL;
  int64_t O = w->shape[0], K = w->shape[1] * w->shape[2] * w->shape[3];
  bnn_tensor *col = bnn_im2col(ctx, x, (int)w->shape[2], (int)w->shape[3], stride, pad);
  bnn_tensor *wf = bnn_reshape(ctx, w, 2, (int64_t[]){O, K}); /* [O,K] */
  return rows_to_nchw(ctx, bnn_linear(ctx, col, wf, b), x->shape[0], OH, OW);
}

/* Eval-mode binconv2d with a binarized input on packed bits.
 *
 * Layout (internal to this function): channels are packed per pixel, CW =
 * ceil(C/64) u64 words, bit c%64 of word c/64 set <=> value >= 0 (+1), bits
 * of channels >= C zero in both operands. The weight row of filter o is
 * [kh, kw, CW] words, (i, j, c) order; the input row of output (n, oh, ow)
 * is the [kh, kw, CW] words of the pixels under its window. A dot product
 * does not depend on the order of its terms, so binlinear's XNOR kernel
 * (bnn_xnor_gemm) applies to these rows as they are.
 *
 * Padding: a pixel in the zero padding is packed as all bits clear (-1 in
 * every channel), so the kernel counts -sum_c wb[o,c,i,j] for it where PyTorch
 * counts 0; the correction adds S[o,i,j] = sum_c wb[o,c,i,j] back for every
 * padded (i, j) of a border output. Every value is an exact integer, and
 * alpha and the bias are applied as binlinear applies them, so the result is
 * bit-identical to the float path. */
static bnn_tensor *binconv2d_packed(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b,
                                    int stride, int pad, bool scale, int64_t OH, int64_t OW) {
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t O = w->shape[0], kh = w->shape[2], kw = w->shape[3], K = C * kh * kw;
  int64_t CW = bnn_packed_words(C), RW = kh * kw * CW, R = N * OH * OW, P = OH * OW;
  bnn_tensor *y = bnn_new_tensor(ctx, 4, (int64_t[]){N, O, OH, OW});
  uint64_t *xpix = op_scratch(ctx, (size_t)(N * H * W * CW) * sizeof *xpix); /* [N,H,W,CW] */
  uint64_t *wrow = op_scratch(ctx, (size_t)(O * RW) * sizeof *wrow);         /* [O,kh,kw,CW] */
  uint64_t *xrow = op_scratch(ctx, (size_t)(R * RW) * sizeof *xrow);         /* [R,kh,kw,CW] */
  float *dot = op_scratch(ctx, (size_t)(R * O) * sizeof *dot);               /* [R,O] */
  float *S = op_scratch(ctx, (size_t)(O * kh * kw) * sizeof *S);             /* [O,kh,kw] */
  float *alpha = op_scratch(ctx, (size_t)O * sizeof *alpha);                 /* [O] */
  if (!y || !xpix || !wrow || !xrow || !dot || !S || !alpha) return NULL;

  memset(xpix, 0, (size_t)(N * H * W * CW) * sizeof *xpix);
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      const float *plane = x->data + (n * C + c) * H * W;
      uint64_t *dst = xpix + n * H * W * CW + c / 64, bit = (uint64_t)1 << (c % 64);
      for (int64_t q = 0; q < H * W; q++)
        if (plane[q] >= 0.0f) dst[q * CW] |= bit;
    }
  memset(wrow, 0, (size_t)(O * RW) * sizeof *wrow);
  memset(S, 0, (size_t)(O * kh * kw) * sizeof *S);
  for (int64_t o = 0; o < O; o++) {
    double a = 0;
    for (int64_t k = 0; k < K; k++) a += fabsf(w->data[o * K + k]); /* binlinear's order */
    alpha[o] = scale ? (float)(a / (double)K) : 1.0f;
    for (int64_t c = 0; c < C; c++)
      for (int64_t ij = 0; ij < kh * kw; ij++) {
        bool plus = w->data[(o * C + c) * kh * kw + ij] >= 0.0f;
        if (plus) wrow[(o * kh * kw + ij) * CW + c / 64] |= (uint64_t)1 << (c % 64);
        S[o * kh * kw + ij] += plus ? 1.0f : -1.0f;
      }
  }
  for (int64_t n = 0; n < N; n++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        uint64_t *dst = xrow + ((n * OH + oh) * OW + ow) * RW;
        for (int64_t i = 0; i < kh; i++)
          for (int64_t j = 0; j < kw; j++, dst += CW) {
            int64_t h = oh * stride - pad + i, v = ow * stride - pad + j;
            if (h < 0 || h >= H || v < 0 || v >= W) memset(dst, 0, (size_t)CW * sizeof *dst);
            else memcpy(dst, xpix + ((n * H + h) * W + v) * CW, (size_t)CW * sizeof *dst);
          }
      }
  /* dot = RW*64 - 2 popcount: every real bit counts ±1, the channel padding bits
   * (RW*64 - K of them) agree and count +1 each, so subtract them. */
  bnn_xnor_gemm(xrow, wrow, R, O, RW * 64, dot);
  float extra = (float)(RW * 64 - K);
  for (int64_t n = 0; n < N; n++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        float *d = dot + ((n * OH + oh) * OW + ow) * O;
        for (int64_t o = 0; o < O; o++) d[o] -= extra;
        int64_t h0 = oh * stride - pad, w0 = ow * stride - pad;
        if (h0 >= 0 && h0 + kh <= H && w0 >= 0 && w0 + kw <= W) continue;
        for (int64_t i = 0; i < kh; i++)
          for (int64_t j = 0; j < kw; j++) {
            if (h0 + i >= 0 && h0 + i < H && w0 + j >= 0 && w0 + j < W) continue;
            for (int64_t o = 0; o < O; o++) d[o] += S[o * kh * kw + i * kw + j];
          }
      }
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < O; o++) {
      float *yo = y->data + (n * O + o) * P;
      const float *d = dot + n * P * O + o;
      for (int64_t q = 0; q < P; q++) {
        float v = d[q * O];
        if (scale) v *= alpha[o];
        if (b) v += b->data[o];
        yo[q] = v;
      }
    }
  return y;
}

bnn_tensor *bnn_binconv2d(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b, int stride,
                          int pad, bool binarize_input, bool scale) {
  bnn_tensor *srcs[] = {x, w};
  int64_t OH, OW;
  if (!op_ready(ctx, "binconv2d", 2, srcs) ||
      !check_conv(ctx, "binconv2d", x, w, b, stride, pad, &OH, &OW))
    return NULL;
  if (binarize_input && !ctx->training && ctx->use_xnor)
    return binconv2d_packed(ctx, x, w, b, stride, pad, scale, OH, OW);
  int64_t O = w->shape[0], K = w->shape[1] * w->shape[2] * w->shape[3];
  /* binarize, then zero-pad: padding contributes 0, not sign(0) = +1 */
  bnn_tensor *xin = binarize_input ? bnn_sign(ctx, x) : x;
  bnn_tensor *col = bnn_im2col(ctx, xin, (int)w->shape[2], (int)w->shape[3], stride, pad);
  bnn_tensor *wf = bnn_reshape(ctx, w, 2, (int64_t[]){O, K}); /* [O,K] */
  bnn_tensor *y = bnn_binlinear(ctx, col, wf, b, false, scale);
  return rows_to_nchw(ctx, y, x->shape[0], OH, OW);
}

/* ---- pooling ------------------------------------------------------------------ */

/* saved[0] argmax [N,C,OH,OW] (int32 offset in the input plane), training only;
 * iparam: kh, kw, stride */
bnn_tensor *bnn_maxpool2d(bnn_ctx *ctx, bnn_tensor *x, int kh, int kw, int stride) {
  if (!op_ready(ctx, "maxpool2d", 1, &x)) return NULL;
  int64_t OH, OW;
  if (!check_window(ctx, "maxpool2d", x, kh, kw, stride, 0, &OH, &OW)) return NULL;
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  if (H * W > INT32_MAX)
    return op_fail(ctx, BNN_ERR_LIMIT, "maxpool2d: a %lldx%lld plane is too large", (long long)H,
                   (long long)W);
  bnn_tensor *y = op_output(ctx, BNN_OP_MAXPOOL2D, 4, (int64_t[]){N, C, OH, OW}, x, NULL, NULL);
  if (!y) return NULL;
  y->iparam[0] = kh, y->iparam[1] = kw, y->iparam[2] = stride;
  int32_t *arg = NULL;
  if (y->flags & BNN_TF_REQUIRES_GRAD) {
    arg = op_scratch(ctx, (size_t)bnn_tensor_numel(y) * sizeof *arg);
    if (!arg) return NULL;
  }
  /* One output row at a time: the window offsets (i, j) outside, the outputs
   * of the row inside (a vectorizable loop); each output still sees its
   * window in row-major order, so ties keep PyTorch's first maximum. */
  float *m = op_scratch(ctx, (size_t)OW * sizeof *m);          /* [OW] running max */
  int32_t *best = op_scratch(ctx, (size_t)OW * sizeof *best);  /* [OW] its plane offset */
  if (!m || !best) return NULL;
  for (int64_t nc = 0; nc < N * C; nc++) {
    const float *plane = x->data + nc * H * W;
    for (int64_t oh = 0; oh < OH; oh++) {
      for (int64_t ow = 0; ow < OW; ow++) m[ow] = -INFINITY, best[ow] = (int32_t)(oh * stride * W + ow * stride);
      for (int64_t i = 0; i < kh; i++)
        for (int64_t j = 0; j < kw; j++) {
          int32_t base = (int32_t)((oh * stride + i) * W + j);
          const float *src = plane + base;
          for (int64_t ow = 0; ow < OW; ow++) {
            float v = src[ow * stride];
            bool take = (v > m[ow]) | (v != v); /* first max wins; NaN propagates (PyTorch) */
            m[ow] = take ? v : m[ow];
            best[ow] = take ? base + (int32_t)(ow * stride) : best[ow];
          }
        }
      int64_t o = (nc * OH + oh) * OW;
      memcpy(y->data + o, m, (size_t)OW * sizeof *m);
      if (arg) memcpy(arg + o, best, (size_t)OW * sizeof *best);
    }
  }
  y->saved[0] = arg;
  return y;
}

void op_maxpool2d_backward(bnn_ctx *ctx, bnn_tensor *y) {
  bnn_tensor *x = y->src[0];
  const int32_t *arg = y->saved[0];
  float beta;
  float *dx = op_grad(ctx, x, &beta);
  if (!dx) return;
  if (beta == 0.0f) memset(dx, 0, (size_t)bnn_tensor_numel(x) * sizeof *dx);
  int64_t NC = y->shape[0] * y->shape[1], P = y->shape[2] * y->shape[3];
  int64_t HW = x->shape[2] * x->shape[3];
  for (int64_t nc = 0; nc < NC; nc++)
    for (int64_t p = 0; p < P; p++) dx[nc * HW + arg[nc * P + p]] += y->grad[nc * P + p];
}

/* iparam: kh, kw, stride */
bnn_tensor *bnn_avgpool2d(bnn_ctx *ctx, bnn_tensor *x, int kh, int kw, int stride) {
  if (!op_ready(ctx, "avgpool2d", 1, &x)) return NULL;
  int64_t OH, OW;
  if (!check_window(ctx, "avgpool2d", x, kh, kw, stride, 0, &OH, &OW)) return NULL;
  int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  bnn_tensor *y = op_output(ctx, BNN_OP_AVGPOOL2D, 4, (int64_t[]){N, C, OH, OW}, x, NULL, NULL);
  if (!y) return NULL;
  y->iparam[0] = kh, y->iparam[1] = kw, y->iparam[2] = stride;
  float area = (float)(kh * kw);
  for (int64_t nc = 0; nc < N * C; nc++) {
    const float *plane = x->data + nc * H * W;
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        const float *win = plane + oh * stride * W + ow * stride;
        float s = 0.0f;
        for (int64_t i = 0; i < kh; i++)
          for (int64_t j = 0; j < kw; j++) s += win[i * W + j];
        y->data[(nc * OH + oh) * OW + ow] = s / area;
      }
  }
  return y;
}

void op_avgpool2d_backward(bnn_ctx *ctx, bnn_tensor *y) {
  bnn_tensor *x = y->src[0];
  float beta;
  float *dx = op_grad(ctx, x, &beta);
  if (!dx) return;
  if (beta == 0.0f) memset(dx, 0, (size_t)bnn_tensor_numel(x) * sizeof *dx);
  int64_t kh = y->iparam[0], kw = y->iparam[1], stride = y->iparam[2];
  int64_t NC = y->shape[0] * y->shape[1], OH = y->shape[2], OW = y->shape[3];
  int64_t H = x->shape[2], W = x->shape[3];
  float area = (float)(kh * kw);
  for (int64_t nc = 0; nc < NC; nc++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        float g = y->grad[(nc * OH + oh) * OW + ow] / area;
        float *win = dx + nc * H * W + oh * stride * W + ow * stride;
        for (int64_t i = 0; i < kh; i++)
          for (int64_t j = 0; j < kw; j++) win[i * W + j] += g;
      }
}
