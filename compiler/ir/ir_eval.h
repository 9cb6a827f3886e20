/* ir_eval.h - the reference interpreter of the graph IR.
 *
 * ir_eval runs any valid graph (as lowered, or after any inference pass) on
 * one sample with plain loops. It is the oracle the passes are tested
 * against, and it defines the f32 arithmetic the training runtime's eval mode
 * and the generated code must reproduce. Every f32 operation below is one
 * IEEE single-precision operation, rounded on its own (no FMA contraction,
 * no reassociation); sums run in increasing index order.
 *
 *   affine      y = x * scale[c] + shift[c]           (x converted to f32 first)
 *   batchnorm   invstd = (float)(1 / sqrt((double)var + (double)eps)) (in double, as libbnn);
 *               y = gamma * ((x - mean) * invstd) + beta, each step rounded to f32
 *   sign        +1 (bit 0) where x >= 0, else -1 (bit 1); NaN gives -1
 *   binlinear   acc = sum_j x_j * sign(w_ij) (sign(0) = +1), f32, j ascending;
 *               y = acc * alpha_i (when `scale`) then + b_i (when a bias is given);
 *               alpha_i = (float)((sum_j |w_ij| in double, j ascending) / in), as libbnn
 *   linear      acc = sum_j x_j * w_ij (f32, j ascending); y = acc + b_i
 *   conv2d, binconv2d: the same, summing over (c, ky, kx) in that order;
 *               zero padding contributes nothing (a padded bit input adds 0,
 *               as PyTorch's conv on sign(x) with zero padding);
 *               binconv2d's alpha is the mean |w| over C*kh*kw per output channel
 *   maxpool     max over the window; avgpool: f32 sum over the window (row
 *               major) divided by (float)(kh * kw)
 *   htanh       x < -1 ? -1 : x > 1 ? 1 : x;   relu: x > 0 ? x : 0
 *   sigmoid     1 / (1 + expf(-x));  softmax: e_i = expf(x_i - max), / sum(e) (f32, ascending)
 *   bindense    bit x: in - 2 * popcount(x XOR w) (an exact integer); u8 x: the
 *               exact integer sum of +-x_j; f32 x: f32 sum of +-x_j, j ascending
 *   threshold   +1 iff (flip[c] ? x <= thr[c] : x >= thr[c])
 *   binconv     over the taps inside the image, C - 2 * popcount(x row XOR w
 *               row) (an exact integer; padded taps add 0); binconv_thr:
 *               threshold of it, packed channels last
 *   maxpool on bits, maxpool_hwc: the max of +-1 (the AND of the bits);
 *               hwc, chw: the same elements in the other layout
 *
 * The helpers below are the single definition of the per-element formulas;
 * the threshold pass evaluates them to choose integer thresholds that agree
 * with this arithmetic for every possible accumulator value.
 */
#ifndef BNNC_IR_EVAL_H
#define BNNC_IR_EVAL_H

#include <math.h>

#include "ir.h"

typedef enum IrEvalStatus {
  IR_EVAL_OK = 0,
  IR_EVAL_NO_MEMORY = 1,      /* a value buffer could not be allocated */
  IR_EVAL_UNBOUND_PARAM = 2,  /* a param node has no data bound */
  IR_EVAL_BAD_GRAPH = 3,      /* no input/output node, or an op it cannot run */
} IrEvalStatus;

/* Called after each non-param node is computed with its value in the IR's
 * layout (f32/i32 arrays, u8 bytes, packed bits); may be NULL. */
typedef void (*IrEvalObserver)(const IrNode *n, const void *value, void *ctx);

/* Run g on one sample. input: u8 or f32 elements as the input node says;
 * output: shape_numel of the output node's value. Returns an IrEvalStatus. */
int ir_eval(const IrGraph *g, const void *input, float *output, IrEvalObserver observe, void *ctx);

/* Element i of a packed bit row as +1 / -1. */
static inline int ir_bit_get(const uint64_t *row, int64_t i) {
  return (row[i / IR_BIT_WORD_BITS] >> (i % IR_BIT_WORD_BITS)) & 1 ? -1 : 1;
}
/* Make element i of a zeroed packed row -1 (bit 1) when `negative`. */
static inline void ir_bit_set(uint64_t *row, int64_t i, bool negative) {
  if (negative) row[i / IR_BIT_WORD_BITS] |= (uint64_t)1 << (i % IR_BIT_WORD_BITS);
}

static inline float ir_eval_affine1(float x, float scale, float shift) {
  float scaled = x * scale;
  return scaled + shift;
}

static inline float ir_eval_batchnorm1(float x, float gamma, float beta, float mean, float var,
                                       float eps) {
  float invstd = (float)(1.0 / sqrt((double)var + (double)eps));
  float normed = (x - mean) * invstd;
  float scaled = gamma * normed;
  return scaled + beta;
}

static inline float ir_eval_htanh1(float x) { return x < -1.0f ? -1.0f : x > 1.0f ? 1.0f : x; }
static inline float ir_eval_relu1(float x) { return x > 0.0f ? x : 0.0f; }
/* sign as a bit: false = +1 (x >= 0), true = -1 (x < 0 or NaN). */
static inline bool ir_eval_sign_bit(float x) { return !(x >= 0.0f); }

/* XNOR-Net alpha of one weight row, computed exactly as libbnn does:
 * sum |w_j| in double, j ascending, divided by n in double, rounded once. */
static inline float ir_eval_alpha(const float *w, int64_t n) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; j++) sum += fabsf(w[j]);
  return (float)(sum / (double)n);
}

#endif
