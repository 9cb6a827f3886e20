/* bnn/ops.h: the op table, the autograd context and the differentiable ops.
 *
 * Every op is declared once in BNN_OP_TABLE with its properties; the op
 * names, the source counts and the backward dispatch all derive from it
 * (see src/autograd.c), guarded by static_asserts on BNN_OP_COUNT.
 *
 * Autograd is a tape: in training mode each op appends its output tensor to
 * ctx's tape, the tensor recording its sources and whatever its backward
 * needs. bnn_backward(ctx, loss) walks the tape in reverse, calling each
 * op's backward. In eval mode nothing is recorded and no gradient memory is
 * touched. Gradients accumulate (+=): a tensor used twice gets both shares.
 *
 * Errors are sticky, like a stdio stream: an op that fails (bad shapes, full
 * arena) records a message in ctx and returns NULL; every op given a NULL
 * source or called on a failed ctx returns NULL at once. Check
 * bnn_ctx_status(ctx) (or the final tensor for NULL) once after a chain. */
#ifndef BNN_OPS_H
#define BNN_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "bnn/rng.h"
#include "bnn/status.h"
#include "bnn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Op properties (the flags column). */
enum {
  BNN_OPF_ELEMENTWISE = 1u << 0, /* out[i] depends on in[i] only */
  BNN_OPF_STE = 1u << 1,         /* gradient is a straight-through estimator */
  BNN_OPF_GEMM = 1u << 2,        /* forward/backward run through cblas_sgemm */
  BNN_OPF_LOSS = 1u << 3,        /* scalar output [1], labels as input */
  BNN_OPF_VIEW = 1u << 4,        /* output shares the source's memory */
  BNN_OPF_STATS = 1u << 5,       /* behaves differently in train and eval */
};

/*  X(ENUM,        name,          n_src, flags)
 *  n_src counts tensor sources; optional ones (bias) may be NULL. */
#define BNN_OP_TABLE(X)                                                     \
  X(LEAF,          leaf,          0, 0)                                     \
  X(MATMUL,        matmul,        2, BNN_OPF_GEMM)                          \
  X(LINEAR,        linear,        3, BNN_OPF_GEMM)                          \
  X(BINLINEAR,     binlinear,     3, BNN_OPF_GEMM | BNN_OPF_STE)            \
  X(SIGN,          sign,          1, BNN_OPF_ELEMENTWISE | BNN_OPF_STE)     \
  X(RELU,          relu,          1, BNN_OPF_ELEMENTWISE)                   \
  X(HTANH,         htanh,         1, BNN_OPF_ELEMENTWISE)                   \
  X(SIGMOID,       sigmoid,       1, BNN_OPF_ELEMENTWISE)                   \
  X(SOFTMAX,       softmax,       1, 0)                                     \
  X(LOG_SOFTMAX,   log_softmax,   1, 0)                                     \
  X(BATCHNORM,     batchnorm,     3, BNN_OPF_STATS)                         \
  X(DROPOUT,       dropout,       1, BNN_OPF_ELEMENTWISE | BNN_OPF_STATS)   \
  X(RESHAPE,       reshape,       1, BNN_OPF_VIEW)                          \
  X(IM2COL,        im2col,        1, 0)                                     \
  X(NHWC_TO_NCHW,  nhwc_to_nchw,  1, 0)                                     \
  X(MAXPOOL2D,     maxpool2d,     1, 0)                                     \
  X(AVGPOOL2D,     avgpool2d,     1, 0)                                     \
  X(CROSS_ENTROPY, cross_entropy, 1, BNN_OPF_LOSS)                          \
  X(SQ_HINGE,      sq_hinge,      1, BNN_OPF_LOSS)

typedef enum bnn_op {
#define BNN_OP_ENUM(E, name, n_src, flags) BNN_OP_##E,
  BNN_OP_TABLE(BNN_OP_ENUM)
#undef BNN_OP_ENUM
  BNN_OP_COUNT
} bnn_op;

const char *bnn_op_name(bnn_op op);
int bnn_op_n_src(bnn_op op);
uint32_t bnn_op_flags(bnn_op op);

/* ---- context -------------------------------------------------------------- */

typedef struct bnn_ctx {
  bnn_arena arena;   /* activations, saved data, gradients of activations */
  bnn_tensor **tape; /* [tape_cap], malloc'd; survives resets */
  int64_t tape_len, tape_cap;
  bool training;     /* record the tape, batch statistics, apply dropout */
  bool use_xnor;     /* binlinear with binarized input runs forward on packed
                        bits (XNOR-popcount); false = float GEMM oracle */
  bnn_rng *rng;      /* dropout masks; must be set before a training dropout */
  bnn_error err;     /* first failure since the last reset (sticky) */
} bnn_ctx;

/* arena_bytes: first chunk; arena_max: growth limit (0 = none). */
bnn_status bnn_ctx_init(bnn_ctx *ctx, size_t arena_bytes, size_t arena_max, bnn_error *err);
void bnn_ctx_free(bnn_ctx *ctx);
/* One call per step: frees every arena tensor, empties the tape, clears the
 * sticky error. Tensors from before the reset must not be used again. */
bnn_status bnn_ctx_reset(bnn_ctx *ctx, bnn_error *err);
bnn_status bnn_ctx_status(const bnn_ctx *ctx);
const char *bnn_ctx_message(const bnn_ctx *ctx);

/* A fresh arena tensor (a leaf; data uninitialized, no gradient). */
bnn_tensor *bnn_new_tensor(bnn_ctx *ctx, int ndim, const int64_t *shape);
bnn_tensor *bnn_new_tensor_2d(bnn_ctx *ctx, int64_t n0, int64_t n1);
/* Wrap caller memory (not copied, not owned) as a leaf tensor. */
bnn_tensor *bnn_wrap_tensor(bnn_ctx *ctx, float *data, int ndim, const int64_t *shape);

/* Reverse pass from a scalar `loss` (shape [1]): d loss/d loss = 1, then every
 * recorded op's backward in reverse order. Needs training mode. */
bnn_status bnn_backward(bnn_ctx *ctx, bnn_tensor *loss, bnn_error *err);

/* ---- ops (shapes: N batch, K features/classes) ---------------------------- */

/* a [M,K] @ b [K,N] -> [M,N] */
bnn_tensor *bnn_matmul(bnn_ctx *ctx, bnn_tensor *a, bnn_tensor *b);
/* x [N,in], w [out,in], b [out] or NULL -> x w^T + b [N,out] (nn.Linear) */
bnn_tensor *bnn_linear(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b);
/* Binary linear: wb = sign(w) with STE (grad where |w| <= 1); input xb =
 * sign(x) with STE when binarize_input, else x; with `scale`, XNOR-Net
 * alpha[o] = mean_i |w[o,i]| multiplies output o (gradient flows through
 * alpha too). y = (xb wb^T) * alpha + b.  x [N,in], w [out,in], b [out]|NULL. */
bnn_tensor *bnn_binlinear(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b,
                          bool binarize_input, bool scale);
/* sign(x) in {-1,+1}, sign(0) = +1; backward: dy where |x| <= 1, else 0. */
bnn_tensor *bnn_sign(bnn_ctx *ctx, bnn_tensor *x);
bnn_tensor *bnn_relu(bnn_ctx *ctx, bnn_tensor *x);
/* clamp(x, -1, 1); backward passes dy where -1 < x < 1 (PyTorch hardtanh). */
bnn_tensor *bnn_htanh(bnn_ctx *ctx, bnn_tensor *x);
bnn_tensor *bnn_sigmoid(bnn_ctx *ctx, bnn_tensor *x);
/* over the last dimension */
bnn_tensor *bnn_softmax(bnn_ctx *ctx, bnn_tensor *x);
bnn_tensor *bnn_log_softmax(bnn_ctx *ctx, bnn_tensor *x);
/* x [N,C] or [N,C,H,W]; gamma, beta [C]; running_mean/var [C] (persistent
 * buffers, updated in training as PyTorch: r = (1-momentum) r + momentum s,
 * with the unbiased variance). Training normalizes with the batch mean and
 * biased variance; eval with the running statistics. */
bnn_tensor *bnn_batchnorm(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *gamma, bnn_tensor *beta,
                          float *running_mean, float *running_var, float eps, float momentum);
/* Inverted dropout: training zeroes each element with probability p and
 * scales the survivors by 1/(1-p); eval returns x itself. */
bnn_tensor *bnn_dropout(bnn_ctx *ctx, bnn_tensor *x, float p);
/* Same data, new shape (flatten): a view, no copy. */
bnn_tensor *bnn_reshape(bnn_ctx *ctx, bnn_tensor *x, int ndim, const int64_t *shape);

/* ---- convolution and pooling (NCHW, PyTorch semantics; src/ops_conv.c) -----
 * Output size per spatial dimension: OH = floor((H + 2 pad - kh) / stride) + 1
 * (PyTorch floor mode). Weights are [O, C, kh, kw], flattened to [O, K] with
 * K = C*kh*kw in (c, i, j) order, so a PyTorch state_dict loads unchanged. */

/* x [N,C,H,W] -> [N*OH*OW, C*kh*kw]: row (n, oh, ow) holds the receptive
 * field of that output in (c, i, j) order; positions in the zero padding are
 * 0. Backward (col2im) sums each row's gradient back into dx. */
bnn_tensor *bnn_im2col(bnn_ctx *ctx, bnn_tensor *x, int kh, int kw, int stride, int pad);
/* x [N,H,W,C] -> [N,C,H,W] (a copy; the GEMM output of a convolution is NHWC). */
bnn_tensor *bnn_nhwc_to_nchw(bnn_ctx *ctx, bnn_tensor *x);
/* nn.Conv2d: x [N,C,H,W], w [O,C,kh,kw], b [O] or NULL -> [N,O,OH,OW].
 * im2col + linear (one cblas_sgemm over the whole batch) + nhwc_to_nchw. */
bnn_tensor *bnn_conv2d(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b, int stride,
                       int pad);
/* Binary convolution, binlinear over the im2col rows: wb = sign(w) with STE,
 * optional XNOR-Net alpha[o] = mean |w[o,:,:,:]| over the whole filter,
 * input sign(x) with STE when binarize_input. Zero padding is applied AFTER
 * binarization, so padded positions contribute 0 (not ±1), exactly as
 * F.conv2d(sign(x), sign(w), padding=pad) * alpha + b. In eval mode with a
 * binarized input and ctx->use_xnor the forward runs on packed bits (any
 * pad, with an exact border correction); the result is bit-identical to
 * the float path. */
bnn_tensor *bnn_binconv2d(bnn_ctx *ctx, bnn_tensor *x, bnn_tensor *w, bnn_tensor *b, int stride,
                          int pad, bool binarize_input, bool scale);
/* nn.MaxPool2d(kernel=(kh,kw), stride), no padding, floor mode: x [N,C,H,W]
 * -> [N,C,OH,OW]. Backward routes dy to the argmax of each window (the first
 * maximum in row-major window order on ties, as PyTorch). */
bnn_tensor *bnn_maxpool2d(bnn_ctx *ctx, bnn_tensor *x, int kh, int kw, int stride);
/* nn.AvgPool2d(kernel=(kh,kw), stride), no padding, floor mode. */
bnn_tensor *bnn_avgpool2d(bnn_ctx *ctx, bnn_tensor *x, int kh, int kw, int stride);

/* logits [N,K], labels [N] (< K) -> [1]: mean_n -log softmax(logits)[n, label]. */
bnn_tensor *bnn_cross_entropy(bnn_ctx *ctx, bnn_tensor *logits, const uint8_t *labels);
/* y [N,K], t[n,k] = +1 if k == label[n] else -1 -> [1]:
 * mean over n and k of max(0, 1 - t y)^2 (the BNN paper's loss). */
bnn_tensor *bnn_sq_hinge(bnn_ctx *ctx, bnn_tensor *y, const uint8_t *labels);

/* ---- packed bits ---------------------------------------------------------- */

/* Packed ±1 layout used by the XNOR path: row r of a [rows, cols] matrix
 * takes words = ceil(cols/64) u64 words; bit j of word w holds element
 * 64*w + j (LSB first); bit set <=> value >= 0 (+1), clear <=> -1. Padding
 * bits past cols are 0 in both operands, so they XOR to 0 and do not count.
 * dot(a,b) = cols - 2 * popcount(a XOR b). */
int64_t bnn_packed_words(int64_t cols);
void bnn_pack_signs(const float *x, int64_t rows, int64_t cols, uint64_t *out);
/* y[n,o] = sum_i xb[n,i] wb[o,i] on packed rows: xbits [N, words], wbits [out, words] -> y [N,out] */
void bnn_xnor_gemm(const uint64_t *xbits, const uint64_t *wbits, int64_t n, int64_t out,
                   int64_t cols, float *y);

/* Threads used by the BLAS GEMMs (openblas_set_num_threads). n >= 1. */
void bnn_set_num_threads(int n);

#ifdef __cplusplus
}
#endif

#endif /* BNN_OPS_H */
