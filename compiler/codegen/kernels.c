/* kernels.c - LLVM IR for each op of the graph IR, one emit_* function per op.
 *
 * Every kernel reads its inputs from and writes its result to the buffers of
 * cg->node_ptr (the input, scratch, or the caller's output) and takes params
 * from their bound data at compile time, re-laid out for the kernel:
 *
 *   bit weights   bit inputs: rows of `stride` 64-bit words (stride = words
 *                 rounded up to 8 when there are >= 8 words, so each 8-word
 *                 chunk is one 64-byte aligned <8 x i64>); u8 inputs: rows of
 *                 in/8 bytes when whole (read a word at a time, unaligned);
 *                 zero padding, extra zero rows up to the kernel's row block;
 *                 a 64-byte aligned internal global.
 *   XNOR-popcount for each block of CG_ROWS (8) rows: one pass over the
 *                 input in <8 x i64> chunks (two passes of 4 rows without
 *                 AVX-512, so nothing spills), x loaded once per chunk and
 *                 XORed with each row's chunk, `llvm.ctpop.v8i64` summed per
 *                 row in a vector accumulator; the 8 accumulators reduced
 *                 together by a transposed shuffle tree into one <8 x i32>;
 *                 the tail words (< 8) as scalar i64 ctpop. In the batch
 *                 body (cg->n_samples = CG_BLOCK) the same block for all the
 *                 samples in one pass: 4 rows x 4 samples per pass.
 *   u8 x          vpdpbusd (u8 x times the weight bits as 0/-1 bytes) where
 *                 the target has AVX-512 VNNI, the bytes made by
 *                 vgf2p8affineqb where it also has GFNI and VBMI (else
 *                 vpmovm2b), else byte selects; the partial last chunk is
 *                 the 64 bytes ending at `in`.
 *   thresholds    fused into the epilogue as a vector: the block's <8 x i32>
 *                 against its thresholds (one per row, flipped rows stored
 *                 inverted; i8/i16/i32 plus a base, the narrowest that
 *                 fits), the <8 x i1> is one byte of the output word.
 *                 docs/performance.md has the measurements.
 *
 * Float ops follow the runtime's eval-mode arithmetic: batchnorm computes
 * (x - mean) / sqrtf(var + eps) * gamma + beta with the square root taken at
 * compile time; exp (sigmoid, softmax) is our own (no libm call can remain).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

enum { CG_ROWS = 8 };   /* output rows per pass over the input words: one <8 x i32> of results */

/* ---- small helpers ------------------------------------------------------ */

static LLVMValueRef ptr_of(Cg *cg, const IrNode *n) {
  LLVMValueRef p = cg->node_ptr[n->id];
  if (!p) BNNC_BUG("codegen: %%%d (%s) has no buffer", n->id, ir_op_info[n->op].name);
  return p;
}

static const void *param_data(const IrNode *p, ElemType elem) {
  BNNC_ASSERT(p->op == IR_PARAM && p->data && p->type.elem == elem);
  return p->data;
}

static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

static int64_t channels(const IrType *t) { return t->shape.rank == 0 ? 1 : t->shape.dims[0]; }

static int64_t last_dim(const IrType *t) { return t->shape.rank == 0 ? 1 : t->shape.dims[t->shape.rank - 1]; }

static int64_t numel(const IrType *t) { return shape_numel(&t->shape); }

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) BNNC_BUG("out of memory in code generation");
  return p;
}

static LLVMValueRef f32_table(Cg *cg, const char *what, const float *v, int64_t n) {
  return cg_const_global(cg, what, v, (size_t)n * sizeof *v, cg->f32);
}

static LLVMValueRef i32_table(Cg *cg, const char *what, const int32_t *v, int64_t n) {
  return cg_const_global(cg, what, v, (size_t)n * sizeof *v, cg->i32);
}

/* A per-channel f32 param (1 or C values) expanded to C values. */
static LLVMValueRef channel_table(Cg *cg, const char *what, const IrNode *p, int64_t c) {
  const float *src = param_data(p, ELEM_F32);
  int64_t n = numel(&p->type);
  float *v = xcalloc((size_t)c, sizeof *v);
  for (int64_t i = 0; i < c; i++) v[i] = src[n == 1 ? 0 : i];
  LLVMValueRef t = f32_table(cg, what, v, c);
  free(v);
  return t;
}

/* ---- exp: range reduction to [-ln2/2, ln2/2] and a degree-7 polynomial
 * (Cephes expf coefficients), about 1-2 ulp; no libm. ----------------------- */

static LLVMValueRef emit_exp(Cg *cg, LLVMValueRef x) {
  LLVMBuilderRef b = cg->b;
  /* exp(-87.3) is the smallest normal result; above 88 the result would
   * overflow the 2^k construction (and f32 itself soon after). */
  LLVMValueRef lo = cg_f32(cg, -87.33654f), hi = cg_f32(cg, 88.0f);
  x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, lo, ""), lo, x, "");
  x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, hi, ""), hi, x, "");
  /* k = floor(x * log2(e) + 0.5) without a floor() call */
  LLVMValueRef t = LLVMBuildFAdd(b, LLVMBuildFMul(b, x, cg_f32(cg, 1.44269504088896341f), ""),
                                 cg_f32(cg, 0.5f), "");
  LLVMValueRef k = LLVMBuildFPToSI(b, t, cg->i32, "");
  LLVMValueRef kf = LLVMBuildSIToFP(b, k, cg->f32, "");
  LLVMValueRef too_big = LLVMBuildFCmp(b, LLVMRealOGT, kf, t, "");
  k = LLVMBuildSub(b, k, LLVMBuildZExt(b, too_big, cg->i32, ""), "k");
  kf = LLVMBuildSIToFP(b, k, cg->f32, "");
  /* r = x - k ln2, ln2 split in two for accuracy */
  LLVMValueRef r = LLVMBuildFSub(b, x, LLVMBuildFMul(b, kf, cg_f32(cg, 0.693359375f), ""), "");
  r = LLVMBuildFSub(b, r, LLVMBuildFMul(b, kf, cg_f32(cg, -2.12194440e-4f), ""), "r");
  static const float poly[] = {1.9875691500E-4f, 1.3981999507E-3f, 8.3334519073E-3f,
                               4.1665795894E-2f, 1.6666665459E-1f, 5.0000001201E-1f};
  LLVMValueRef p = cg_f32(cg, poly[0]);
  for (size_t i = 1; i < sizeof poly / sizeof poly[0]; i++)
    p = LLVMBuildFAdd(b, LLVMBuildFMul(b, p, r, ""), cg_f32(cg, poly[i]), "");
  LLVMValueRef r2 = LLVMBuildFMul(b, r, r, "");
  LLVMValueRef y = LLVMBuildFAdd(b, LLVMBuildFAdd(b, LLVMBuildFMul(b, p, r2, ""), r, ""), cg_f32(cg, 1.0f), "");
  /* 2^k from the exponent bits; k is in [-126, 127] after the clamp */
  LLVMValueRef bits = LLVMBuildShl(b, LLVMBuildAdd(b, k, cg_i32(cg, 127), ""), cg_i32(cg, 23), "");
  LLVMValueRef pow2k = LLVMBuildBitCast(b, bits, cg->f32, "");
  return LLVMBuildFMul(b, y, pow2k, "exp");
}

/* ---- element loops ---------------------------------------------------------- */

/* y[i] = f(x[i]) for an elementwise f32 op. */
typedef LLVMValueRef (*UnaryFn)(Cg *cg, LLVMValueRef x);

static void emit_map_f32(Cg *cg, const IrNode *n, UnaryFn f) {
  LLVMValueRef x = ptr_of(cg, n->inputs[0]), y = ptr_of(cg, n);
  CgLoop l;
  cg_loop_begin(cg, &l, cg_i64(cg, numel(&n->type)), "map");
  LLVMValueRef v = cg_load(cg, x, cg->f32, l.index, 4);
  cg_store(cg, f(cg, v), y, cg->f32, l.index, 4);
  cg_loop_end(cg, &l);
}

static LLVMValueRef relu(Cg *cg, LLVMValueRef x) {
  LLVMValueRef pos = LLVMBuildFCmp(cg->b, LLVMRealOGT, x, cg_f32(cg, 0.0f), "");
  return LLVMBuildSelect(cg->b, pos, x, cg_f32(cg, 0.0f), "relu");
}

static LLVMValueRef htanh(Cg *cg, LLVMValueRef x) {
  LLVMValueRef lo = cg_f32(cg, -1.0f), hi = cg_f32(cg, 1.0f);
  x = LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOLT, x, lo, ""), lo, x, "");
  return LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, x, hi, ""), hi, x, "htanh");
}

static LLVMValueRef sigmoid(Cg *cg, LLVMValueRef x) {
  LLVMValueRef e = emit_exp(cg, LLVMBuildFNeg(cg->b, x, ""));
  return LLVMBuildFDiv(cg->b, cg_f32(cg, 1.0f), LLVMBuildFAdd(cg->b, cg_f32(cg, 1.0f), e, ""), "sigmoid");
}

static LLVMValueRef identity(Cg *cg, LLVMValueRef x) { return x; }

/* Byte copy of a value (dropout, flatten of unpacked types, output). */
static void emit_copy(Cg *cg, LLVMValueRef from, LLVMValueRef to, int64_t bytes) {
  bool words = bytes % 4 == 0;
  LLVMTypeRef t = words ? cg->i32 : cg->i8;
  CgLoop l;
  cg_loop_begin(cg, &l, cg_i64(cg, words ? bytes / 4 : bytes), "copy");
  cg_store(cg, cg_load(cg, from, t, l.index, words ? 4 : 1), to, t, l.index, words ? 4 : 1);
  cg_loop_end(cg, &l);
}

/* Load element i of a u8/i32/f32 buffer as f32. */
static LLVMValueRef load_as_f32(Cg *cg, LLVMValueRef base, ElemType elem, LLVMValueRef i) {
  switch (elem) {
  case ELEM_U8: return LLVMBuildUIToFP(cg->b, cg_load(cg, base, cg->i8, i, 1), cg->f32, "");
  case ELEM_I32: return LLVMBuildSIToFP(cg->b, cg_load(cg, base, cg->i32, i, 4), cg->f32, "");
  case ELEM_F32: return cg_load(cg, base, cg->f32, i, 4);
  default: BNNC_BUG("load_as_f32: element type %s", elem_type_name(elem));
  }
}

/* ---- per-channel ops: affine and batchnorm -------------------------------- */

/* y = x * scale[c] + shift[c]; with div: y = (x - shift[c]) / scale[c] * mul[c] + add[c]. */
static void emit_affine(Cg *cg, const IrNode *n) {
  const IrType *xt = &n->inputs[0]->type;
  int64_t c = channels(xt), inner = numel(xt) / c;
  LLVMValueRef scale = channel_table(cg, "scale", n->inputs[1], c);
  LLVMValueRef shift = channel_table(cg, "shift", n->inputs[2], c);
  LLVMValueRef x = ptr_of(cg, n->inputs[0]), y = ptr_of(cg, n);
  CgLoop lc, li;
  cg_loop_begin(cg, &lc, cg_i64(cg, c), "affine.c");
  LLVMValueRef s = cg_load(cg, scale, cg->f32, lc.index, 4);
  LLVMValueRef t = cg_load(cg, shift, cg->f32, lc.index, 4);
  cg_loop_begin(cg, &li, cg_i64(cg, inner), "affine.i");
  LLVMValueRef i = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, lc.index, cg_i64(cg, inner), ""), li.index, "");
  LLVMValueRef v = load_as_f32(cg, x, xt->elem, i);
  v = LLVMBuildFAdd(cg->b, LLVMBuildFMul(cg->b, v, s, ""), t, "");
  cg_store(cg, v, y, cg->f32, i, 4);
  cg_loop_end(cg, &li);
  cg_loop_end(cg, &lc);
}

static void emit_batchnorm(Cg *cg, const IrNode *n) {
  const IrType *xt = &n->inputs[0]->type;
  int64_t c = channels(xt), inner = numel(xt) / c;
  const float *var = param_data(n->inputs[4], ELEM_F32);
  float *denom = xcalloc((size_t)c, sizeof *denom);
  for (int64_t k = 0; k < c; k++) denom[k] = sqrtf(var[k] + n->attrs.eps);
  LLVMValueRef gamma = channel_table(cg, "gamma", n->inputs[1], c);
  LLVMValueRef beta = channel_table(cg, "beta", n->inputs[2], c);
  LLVMValueRef mean = channel_table(cg, "mean", n->inputs[3], c);
  LLVMValueRef den = f32_table(cg, "denom", denom, c);
  free(denom);
  LLVMValueRef x = ptr_of(cg, n->inputs[0]), y = ptr_of(cg, n);
  CgLoop lc, li;
  cg_loop_begin(cg, &lc, cg_i64(cg, c), "bn.c");
  LLVMValueRef g = cg_load(cg, gamma, cg->f32, lc.index, 4);
  LLVMValueRef bt = cg_load(cg, beta, cg->f32, lc.index, 4);
  LLVMValueRef m = cg_load(cg, mean, cg->f32, lc.index, 4);
  LLVMValueRef d = cg_load(cg, den, cg->f32, lc.index, 4);
  cg_loop_begin(cg, &li, cg_i64(cg, inner), "bn.i");
  LLVMValueRef i = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, lc.index, cg_i64(cg, inner), ""), li.index, "");
  LLVMValueRef v = cg_load(cg, x, cg->f32, i, 4);
  v = LLVMBuildFDiv(cg->b, LLVMBuildFSub(cg->b, v, m, ""), d, "");
  v = LLVMBuildFAdd(cg->b, LLVMBuildFMul(cg->b, v, g, ""), bt, "");
  cg_store(cg, v, y, cg->f32, i, 4);
  cg_loop_end(cg, &li);
  cg_loop_end(cg, &lc);
}

/* ---- packing values into bits (sign, threshold) --------------------------- */

/* Returns i1: 1 when element `i` (i64) of the source is -1. */
typedef LLVMValueRef (*NegBitFn)(Cg *cg, const IrNode *n, const void *state, LLVMValueRef i);

/* Packs numel(n) elements into n's bit rows: row r, column j -> word
 * r*W + j/64, bit j%64; padding bits are 0. */
static void emit_pack(Cg *cg, const IrNode *n, NegBitFn neg_bit, const void *state) {
  int64_t last = last_dim(&n->type), rows = numel(&n->type) / last;
  int64_t words = (last + 63) / 64;
  LLVMValueRef y = ptr_of(cg, n);
  CgLoop lr, lw, lb;
  cg_loop_begin(cg, &lr, cg_i64(cg, rows), "pack.row");
  cg_loop_begin(cg, &lw, cg_i64(cg, words), "pack.word");
  LLVMValueRef col0 = LLVMBuildMul(cg->b, lw.index, cg_i64(cg, 64), "");
  cg_loop_begin(cg, &lb, cg_i64(cg, 64), "pack.bit");
  LLVMValueRef word = cg_loop_carry(cg, &lb, cg_i64(cg, 0));
  LLVMValueRef col = LLVMBuildAdd(cg->b, col0, lb.index, "");
  LLVMValueRef inside = LLVMBuildICmp(cg->b, LLVMIntULT, col, cg_i64(cg, last), "");
  LLVMValueRef safe_col = LLVMBuildSelect(cg->b, inside, col, cg_i64(cg, last - 1), "");
  LLVMValueRef i = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, lr.index, cg_i64(cg, last), ""), safe_col, "");
  LLVMValueRef bit = LLVMBuildAnd(cg->b, neg_bit(cg, n, state, i), inside, "");
  LLVMValueRef shifted = LLVMBuildShl(cg->b, LLVMBuildZExt(cg->b, bit, cg->i64, ""), lb.index, "");
  cg_loop_next(&lb, word, LLVMBuildOr(cg->b, word, shifted, ""));
  cg_loop_end(cg, &lb);
  LLVMValueRef wi = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, lr.index, cg_i64(cg, words), ""), lw.index, "");
  cg_store(cg, lb.next[0], y, cg->i64, wi, 8);
  cg_loop_end(cg, &lw);
  cg_loop_end(cg, &lr);
}

static LLVMValueRef sign_neg_bit(Cg *cg, const IrNode *n, const void *state, LLVMValueRef i) {
  const IrNode *x = n->inputs[0];
  LLVMValueRef xp = ptr_of(cg, x);
  if (x->type.elem == ELEM_I32)
    return LLVMBuildICmp(cg->b, LLVMIntSLT, cg_load(cg, xp, cg->i32, i, 4), cg_i32(cg, 0), "");
  /* +1 where x >= 0: anything else (negative, NaN) is -1 */
  return LLVMBuildFCmp(cg->b, LLVMRealULT, cg_load(cg, xp, cg->f32, i, 4), cg_f32(cg, 0.0f), "neg");
}

/* sign of f32 or i32 rows whose length is a multiple of 64: each output word
 * is one <64 x float|i32> compare bit-cast to i64 (no per-bit loop). */
static void emit_sign_words(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0];
  bool f32 = x->type.elem == ELEM_F32;
  LLVMTypeRef v64 = LLVMVectorType(f32 ? cg->f32 : cg->i32, 64);
  LLVMValueRef xp = ptr_of(cg, x), y = ptr_of(cg, n);
  CgLoop l;
  cg_loop_begin(cg, &l, cg_i64(cg, numel(&n->type) / 64), "sign.word");
  LLVMValueRef v = cg_load(cg, xp, v64, l.index, 4);
  LLVMValueRef neg = f32 ? LLVMBuildFCmp(cg->b, LLVMRealULT, v, LLVMConstNull(v64), "")
                         : LLVMBuildICmp(cg->b, LLVMIntSLT, v, LLVMConstNull(v64), "");
  cg_store(cg, LLVMBuildBitCast(cg->b, neg, cg->i64, ""), y, cg->i64, l.index, 8);
  cg_loop_end(cg, &l);
}

typedef struct ThresholdState {
  LLVMValueRef lo, hi;    /* i32 tables: +1 iff lo[c] <= x <= hi[c] */
  int64_t inner;          /* elements per channel */
} ThresholdState;

static LLVMValueRef threshold_neg_bit(Cg *cg, const IrNode *n, const void *state, LLVMValueRef i) {
  const ThresholdState *s = state;
  LLVMValueRef x = cg_load(cg, ptr_of(cg, n->inputs[0]), cg->i32, i, 4);
  LLVMValueRef c = i;
  if (s->inner > 1) {
    /* 32-bit division by a constant: no i64 division helper on 32-bit targets */
    LLVMValueRef i32 = LLVMBuildTrunc(cg->b, i, cg->i32, "");
    c = LLVMBuildZExt(cg->b, LLVMBuildUDiv(cg->b, i32, cg_i32(cg, s->inner), ""), cg->i64, "");
  }
  LLVMValueRef lo = cg_load(cg, s->lo, cg->i32, c, 4), hi = cg_load(cg, s->hi, cg->i32, c, 4);
  LLVMValueRef pos = LLVMBuildAnd(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGE, x, lo, ""),
                                  LLVMBuildICmp(cg->b, LLVMIntSLE, x, hi, ""), "");
  return LLVMBuildNot(cg->b, pos, "");
}

/* thr/flip -> the accumulator range that gives +1: flip ? x <= thr : x >= thr. */
static void acc_range(int32_t thr, int32_t flip, int32_t *lo, int32_t *hi) {
  *lo = flip ? INT32_MIN : thr;
  *hi = flip ? thr : INT32_MAX;
}

static void emit_threshold(Cg *cg, const IrNode *n) {
  int64_t c = numel(&n->inputs[1]->type);
  const int32_t *thr = param_data(n->inputs[1], ELEM_I32), *flip = param_data(n->inputs[2], ELEM_I32);
  int32_t *lo = xcalloc((size_t)c, sizeof *lo), *hi = xcalloc((size_t)c, sizeof *hi);
  for (int64_t k = 0; k < c; k++) acc_range(thr[k], flip[k], &lo[k], &hi[k]);
  ThresholdState s = {i32_table(cg, "thr.lo", lo, c), i32_table(cg, "thr.hi", hi, c),
                      numel(&n->inputs[0]->type) / channels(&n->inputs[0]->type)};
  free(lo);
  free(hi);
  emit_pack(cg, n, threshold_neg_bit, &s);
}

/* ---- convert and flatten ------------------------------------------------- */

static void emit_convert(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0];
  LLVMValueRef xp = ptr_of(cg, x), y = ptr_of(cg, n);
  if (x->type.elem != ELEM_BIT) {
    CgLoop l;
    cg_loop_begin(cg, &l, cg_i64(cg, numel(&n->type)), "convert");
    cg_store(cg, load_as_f32(cg, xp, x->type.elem, l.index), y, cg->f32, l.index, 4);
    cg_loop_end(cg, &l);
    return;
  }
  int64_t last = last_dim(&x->type), rows = numel(&x->type) / last, words = (last + 63) / 64;
  CgLoop lr, lc;
  cg_loop_begin(cg, &lr, cg_i64(cg, rows), "unpack.row");
  cg_loop_begin(cg, &lc, cg_i64(cg, last), "unpack.col");
  LLVMValueRef wi = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, lr.index, cg_i64(cg, words), ""),
                                 LLVMBuildLShr(cg->b, lc.index, cg_i64(cg, 6), ""), "");
  LLVMValueRef word = cg_load(cg, xp, cg->i64, wi, 8);
  LLVMValueRef bit = LLVMBuildTrunc(
      cg->b, LLVMBuildLShr(cg->b, word, LLVMBuildAnd(cg->b, lc.index, cg_i64(cg, 63), ""), ""), cg->i1, "");
  LLVMValueRef v = LLVMBuildSelect(cg->b, bit, cg_f32(cg, -1.0f), cg_f32(cg, 1.0f), "");
  LLVMValueRef i = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, lr.index, cg_i64(cg, last), ""), lc.index, "");
  cg_store(cg, v, y, cg->f32, i, 4);
  cg_loop_end(cg, &lc);
  cg_loop_end(cg, &lr);
}

/* Bits of [.., last] rows re-packed as one row: element k -> word k/64. */
static void emit_flatten_bits(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0];
  int64_t last = last_dim(&x->type), rows = numel(&x->type) / last, words = (last + 63) / 64;
  int64_t out_words = (numel(&n->type) + 63) / 64;
  LLVMValueRef xp = ptr_of(cg, x), y = ptr_of(cg, n);
  CgLoop lz, lr, lc;
  cg_loop_begin(cg, &lz, cg_i64(cg, out_words), "flat.zero");
  cg_store(cg, cg_i64(cg, 0), y, cg->i64, lz.index, 8);
  cg_loop_end(cg, &lz);
  cg_loop_begin(cg, &lr, cg_i64(cg, rows), "flat.row");
  cg_loop_begin(cg, &lc, cg_i64(cg, last), "flat.col");
  LLVMValueRef wi = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, lr.index, cg_i64(cg, words), ""),
                                 LLVMBuildLShr(cg->b, lc.index, cg_i64(cg, 6), ""), "");
  LLVMValueRef bit = LLVMBuildAnd(
      cg->b,
      LLVMBuildLShr(cg->b, cg_load(cg, xp, cg->i64, wi, 8), LLVMBuildAnd(cg->b, lc.index, cg_i64(cg, 63), ""), ""),
      cg_i64(cg, 1), "");
  LLVMValueRef k = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, lr.index, cg_i64(cg, last), ""), lc.index, "");
  LLVMValueRef ok = LLVMBuildLShr(cg->b, k, cg_i64(cg, 6), "");
  LLVMValueRef old = cg_load(cg, y, cg->i64, ok, 8);
  LLVMValueRef set = LLVMBuildShl(cg->b, bit, LLVMBuildAnd(cg->b, k, cg_i64(cg, 63), ""), "");
  cg_store(cg, LLVMBuildOr(cg->b, old, set, ""), y, cg->i64, ok, 8);
  cg_loop_end(cg, &lc);
  cg_loop_end(cg, &lr);
}

/* ---- float dot products (linear, and real-input binary layers) ----------- */

/* sum_j x[j] * w[row * in + j] in f32: DOT_ACCS independent <8 x float>
 * partial sums (so the adds do not wait on one another), combined, then the
 * remaining 8-float chunks and the tail, then the lanes added in order. */
enum { DOT_ACCS = 4 };

static LLVMValueRef emit_dot_f32(Cg *cg, LLVMValueRef x, LLVMValueRef w, LLVMValueRef row, int64_t in) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef base = LLVMBuildMul(b, row, cg_i64(cg, in), "");
  LLVMValueRef wrow = cg_elem_ptr(cg, w, cg->f32, base);
  int64_t chunks = in / 8, groups = chunks / DOT_ACCS;
  LLVMValueRef vsum = LLVMConstNull(cg->v8f32);
  if (groups > 0) {
    CgLoop l;
    LLVMValueRef acc[DOT_ACCS];
    cg_loop_begin(cg, &l, cg_i64(cg, groups), "dot");
    for (int k = 0; k < DOT_ACCS; k++) acc[k] = cg_loop_carry(cg, &l, LLVMConstNull(cg->v8f32));
    for (int k = 0; k < DOT_ACCS; k++) {
      LLVMValueRef c = LLVMBuildAdd(b, LLVMBuildMul(b, l.index, cg_i64(cg, DOT_ACCS), ""), cg_i64(cg, k), "");
      LLVMValueRef xv = cg_load(cg, x, cg->v8f32, c, 4), wv = cg_load(cg, wrow, cg->v8f32, c, 4);
      cg_loop_next(&l, acc[k], LLVMBuildFAdd(b, acc[k], LLVMBuildFMul(b, xv, wv, ""), ""));
    }
    cg_loop_end(cg, &l);
    vsum = LLVMBuildFAdd(b, LLVMBuildFAdd(b, l.next[0], l.next[1], ""), LLVMBuildFAdd(b, l.next[2], l.next[3], ""), "");
  }
  for (int64_t c = groups * DOT_ACCS; c < chunks; c++) {
    LLVMValueRef xv = cg_load(cg, x, cg->v8f32, cg_i64(cg, c), 4), wv = cg_load(cg, wrow, cg->v8f32, cg_i64(cg, c), 4);
    vsum = LLVMBuildFAdd(b, vsum, LLVMBuildFMul(b, xv, wv, ""), "");
  }
  LLVMValueRef sum = cg_f32(cg, 0.0f);
  if (chunks > 0)
    for (int k = 0; k < 8; k++) sum = LLVMBuildFAdd(b, sum, LLVMBuildExtractElement(b, vsum, cg_i32(cg, k), ""), "");
  for (int64_t j = chunks * 8; j < in; j++) {
    LLVMValueRef xj = cg_load(cg, x, cg->f32, cg_i64(cg, j), 4);
    LLVMValueRef wj = cg_load(cg, wrow, cg->f32, cg_i64(cg, j), 4);
    sum = LLVMBuildFAdd(b, sum, LLVMBuildFMul(b, xj, wj, ""), "");
  }
  return sum;
}

/* Optional alpha and bias applied to a f32 row result. */
typedef struct RowAffine {
  LLVMValueRef alpha;     /* f32 table or NULL */
  LLVMValueRef bias;      /* f32 table or NULL */
} RowAffine;

static LLVMValueRef apply_row_affine(Cg *cg, const RowAffine *a, LLVMValueRef row, LLVMValueRef v) {
  if (a->alpha) v = LLVMBuildFMul(cg->b, v, cg_load(cg, a->alpha, cg->f32, row, 4), "");
  if (a->bias) v = LLVMBuildFAdd(cg->b, v, cg_load(cg, a->bias, cg->f32, row, 4), "");
  return v;
}

/* y[o] = dot(x, w[o]) then alpha/bias, for f32 x and a dense f32 matrix. */
static void emit_dense_f32(Cg *cg, const IrNode *n, LLVMValueRef w, int64_t out, int64_t in,
                           const RowAffine *a) {
  LLVMValueRef x = ptr_of(cg, n->inputs[0]), y = ptr_of(cg, n);
  CgLoop l;
  cg_loop_begin(cg, &l, cg_i64(cg, out), "dense");
  LLVMValueRef v = apply_row_affine(cg, a, l.index, emit_dot_f32(cg, x, w, l.index, in));
  cg_store(cg, v, y, cg->f32, l.index, 4);
  cg_loop_end(cg, &l);
}

static RowAffine bias_only(Cg *cg, const IrNode *n, int bias_input) {
  RowAffine a = {NULL, NULL};
  if (n->n_inputs > bias_input) {
    const IrNode *b = n->inputs[bias_input];
    a.bias = f32_table(cg, "bias", param_data(b, ELEM_F32), numel(&b->type));
  }
  return a;
}

static void emit_linear(Cg *cg, const IrNode *n) {
  const IrNode *w = n->inputs[1];
  int64_t out = w->type.shape.dims[0], in = w->type.shape.dims[1];
  LLVMValueRef wt = f32_table(cg, "weight", param_data(w, ELEM_F32), out * in);
  RowAffine a = bias_only(cg, n, 2);
  emit_dense_f32(cg, n, wt, out, in, &a);
}

/* ---- XNOR-popcount ------------------------------------------------------- */

typedef struct BitMatrix {
  LLVMValueRef bytes;     /* i8* global */
  int64_t rows, in;       /* logical rows and input bits */
  int64_t n_words;        /* words per row holding data: ceil(in / 64) */
  int64_t row_bytes;      /* bytes from one row to the next in the global */
} BitMatrix;

/* Re-lays out packed rows (IR layout: ceil(in/64) words per row) for the
 * kernels; see the top of this file. vector_rows (bit inputs): rows of whole
 * <8 x i64> chunks; otherwise (u8 inputs, read a word at a time) rows of
 * in/8 bytes when that is whole, with 8 spare bytes at the end so the last
 * row's tail word loads inside the global. negate (NULL: none): rows whose
 * real bits are inverted (bindense_thr's flipped rows). */
static BitMatrix bit_matrix(Cg *cg, const uint64_t *src, int64_t rows, int64_t in, int64_t row_multiple,
                            bool vector_rows, const bool *negate) {
  BitMatrix m = {NULL, rows, in, (in + 63) / 64, 0};
  if (vector_rows)
    m.row_bytes = (m.n_words >= 8 ? round_up(m.n_words, 8) : m.n_words) * 8;
  else
    m.row_bytes = in % 8 == 0 ? in / 8 : m.n_words * 8;
  int64_t copy = m.row_bytes < m.n_words * 8 ? m.row_bytes : m.n_words * 8;
  size_t size = (size_t)(round_up(rows, row_multiple) * m.row_bytes + (m.row_bytes % 8 ? 8 : 0));
  unsigned char *dst = xcalloc(size, 1);
  uint64_t *row = xcalloc((size_t)m.n_words, sizeof *row);
  for (int64_t r = 0; r < rows; r++) {
    memcpy(row, src + r * m.n_words, (size_t)m.n_words * 8);
    if (negate && negate[r]) {
      for (int64_t k = 0; k < in / 64; k++) row[k] = ~row[k];
      if (in % 64) row[in / 64] ^= ((uint64_t)1 << (in % 64)) - 1;
    }
    memcpy(dst + r * m.row_bytes, row, (size_t)copy);   /* little-endian words: bit j is byte j/8 */
  }
  m.bytes = cg_const_global(cg, "bits", dst, size, cg->i8);
  free(row);
  free(dst);
  return m;
}

/* Alignment of loads from a row, for loads of `want` bytes. */
static unsigned row_align(const BitMatrix *m, unsigned want) { return m->row_bytes % want == 0 ? want : 1; }

/* sign(w) of an f32 [rows, in] matrix in the IR's packed layout (sign(0) = +1). */
static uint64_t *pack_signs(const float *w, int64_t rows, int64_t in) {
  int64_t words = (in + 63) / 64;
  uint64_t *bits = xcalloc((size_t)(rows * words), sizeof *bits);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < in; j++)
      if (w[r * in + j] < 0) bits[r * words + j / 64] |= (uint64_t)1 << (j % 64);
  return bits;
}

static LLVMValueRef splat_i32(Cg *cg, int64_t v) {
  LLVMValueRef e[CG_ROWS];
  for (int r = 0; r < CG_ROWS; r++) e[r] = cg_i32(cg, v);
  return LLVMConstVector(e, CG_ROWS);
}

/* Lane r of the result = the sum of the 8 lanes of v[r], for 8 vectors of 8
 * lanes: a transposed tree (3 levels of shuffle pairs and adds, 21
 * operations) instead of 8 separate horizontal reductions. The shuffles are
 * chosen so that level 1 stays inside 128-bit lanes (unpack) and levels 2
 * and 3 move whole 128-/256-bit blocks (vshufi64x2), not arbitrary lanes;
 * lanes come out in row order:
 *   1: (a, b) -> [a01 b01 a23 b23 a45 b45 a67 b67]
 *   2: (ab, cd) -> [a0-3 b0-3 c0-3 d0-3 a4-7 b4-7 c4-7 d4-7]
 *   3: (abcd, efgh) -> [a b c d e f g h] */
static LLVMValueRef transpose_sum(Cg *cg, const LLVMValueRef *v) {
  static const int masks[3][2][CG_ROWS] = {
      {{0, 8, 2, 10, 4, 12, 6, 14}, {1, 9, 3, 11, 5, 13, 7, 15}},
      {{0, 1, 8, 9, 4, 5, 12, 13}, {2, 3, 10, 11, 6, 7, 14, 15}},
      {{0, 1, 2, 3, 8, 9, 10, 11}, {4, 5, 6, 7, 12, 13, 14, 15}},
  };
  LLVMValueRef cur[CG_ROWS];
  for (int i = 0; i < CG_ROWS; i++) cur[i] = v[i];
  for (int level = 0, n = CG_ROWS; n > 1; level++, n /= 2) {
    LLVMValueRef m[2];
    for (int k = 0; k < 2; k++) {
      LLVMValueRef idx[CG_ROWS];
      for (int i = 0; i < CG_ROWS; i++) idx[i] = cg_i32(cg, masks[level][k][i]);
      m[k] = LLVMConstVector(idx, CG_ROWS);
    }
    for (int i = 0; i < n / 2; i++) {
      LLVMValueRef lo = LLVMBuildShuffleVector(cg->b, cur[2 * i], cur[2 * i + 1], m[0], "");
      LLVMValueRef hi = LLVMBuildShuffleVector(cg->b, cur[2 * i], cur[2 * i + 1], m[1], "");
      cur[i] = LLVMBuildAdd(cg->b, lo, hi, "");
    }
  }
  return cur[0];
}

/* Pointers (i8*) to the first byte of rows row .. row + CG_ROWS - 1. */
static void row_bases(Cg *cg, const BitMatrix *m, LLVMValueRef row, LLVMValueRef *base) {
  for (int r = 0; r < CG_ROWS; r++) {
    LLVMValueRef rr = LLVMBuildAdd(cg->b, row, cg_i64(cg, r), "");
    base[r] = cg_elem_ptr(cg, m->bytes, cg->i8, LLVMBuildMul(cg->b, rr, cg_i64(cg, m->row_bytes), ""));
  }
}

/* The buffers of node n for each sample the current kernel runs on. */
static void sample_ptrs(Cg *cg, const IrNode *n, LLVMValueRef *p) {
  for (int s = 0; s < cg->n_samples; s++) {
    p[s] = cg->sample_ptr[s][n->id];
    if (!p[s]) BNNC_BUG("codegen: %%%d (%s) has no buffer for sample %d", n->id, ir_op_info[n->op].name, s);
  }
}

/* pop[s] (<CG_ROWS x i32>): popcount(x[s] XOR w[row + r]) in lane r, for
 * ns samples. One pass over the input in <8 x i64> chunks per group of
 * rows: each chunk of each sample's x is loaded once and each weight chunk
 * once, XORed with every sample's, `llvm.ctpop` summed in one vector
 * accumulator per (row, sample); one transposed reduction per sample at the
 * end; the tail words (< 8) as scalar i64 ctpop. Group sizes keep the
 * accumulators in registers: AVX-512 (32 registers) 8 rows x 1 sample or
 * 4 rows x 4 samples (16 accumulators + 4 x + 1 w); without AVX-512 (16
 * registers, two per <8 x i64>) 4 rows and one sample at a time. */
static void emit_popcount_block(Cg *cg, const LLVMValueRef *x, int ns, const BitMatrix *m, LLVMValueRef row,
                                LLVMValueRef *pop) {
  if (ns > 1 && !cg->x86_avx512) {   /* sample by sample; the block's rows stay in L1 */
    for (int s = 0; s < ns; s++) emit_popcount_block(cg, &x[s], 1, m, row, &pop[s]);
    return;
  }
  LLVMBuilderRef b = cg->b;
  LLVMTypeRef v8i32 = LLVMVectorType(cg->i32, CG_ROWS);
  int64_t chunks = m->n_words >= 8 ? m->n_words / 8 : 0;
  LLVMValueRef base[CG_ROWS];
  row_bases(cg, m, row, base);
  for (int s = 0; s < ns; s++) pop[s] = LLVMConstNull(v8i32);
  if (chunks > 0) {
    int group = ns == 1 ? (cg->x86_avx512 ? CG_ROWS : CG_ROWS / 2) : (16 / ns > 0 ? 16 / ns : 1);
    if (group > CG_ROWS) group = CG_ROWS;
    BNNC_ASSERT(CG_ROWS % group == 0 && group * ns <= CG_LOOP_MAX_CARRIED);
    LLVMValueRef sums[CG_BLOCK][CG_ROWS];
    for (int g0 = 0; g0 < CG_ROWS; g0 += group) {
      CgLoop l;
      LLVMValueRef acc[CG_ROWS][CG_BLOCK], xv[CG_BLOCK];
      cg_loop_begin(cg, &l, cg_i64(cg, chunks), "xnor");
      for (int r = 0; r < group; r++)
        for (int s = 0; s < ns; s++) acc[r][s] = cg_loop_carry(cg, &l, LLVMConstNull(cg->v8i64));
      for (int s = 0; s < ns; s++) xv[s] = cg_load(cg, x[s], cg->v8i64, l.index, 8);
      for (int r = 0; r < group; r++) {
        LLVMValueRef wv = cg_load(cg, base[g0 + r], cg->v8i64, l.index, row_align(m, 64));
        for (int s = 0; s < ns; s++) {
          LLVMValueRef bits = LLVMBuildXor(b, xv[s], wv, "");
          LLVMValueRef pc = cg_call_intrinsic(cg, "llvm.ctpop", &cg->v8i64, 1, &bits, 1);
          cg_loop_next(&l, acc[r][s], LLVMBuildAdd(b, acc[r][s], pc, ""));
        }
      }
      cg_loop_end(cg, &l);
      for (int r = 0; r < group; r++)
        for (int s = 0; s < ns; s++) sums[s][g0 + r] = l.next[r * ns + s];
    }
    for (int s = 0; s < ns; s++) pop[s] = LLVMBuildTrunc(b, transpose_sum(cg, sums[s]), v8i32, "");
  }
  if (chunks * 8 < m->n_words)
    for (int s = 0; s < ns; s++) {
      LLVMValueRef tail = LLVMGetUndef(v8i32);
      for (int r = 0; r < CG_ROWS; r++) {
        LLVMValueRef sum = cg_i64(cg, 0);
        for (int64_t t = chunks * 8; t < m->n_words; t++) {
          LLVMValueRef xs = cg_load(cg, x[s], cg->i64, cg_i64(cg, t), 8);
          LLVMValueRef bits = LLVMBuildXor(b, xs, cg_load(cg, base[r], cg->i64, cg_i64(cg, t), row_align(m, 8)), "");
          sum = LLVMBuildAdd(b, sum, cg_call_intrinsic(cg, "llvm.ctpop", &cg->i64, 1, &bits, 1), "");
        }
        tail = LLVMBuildInsertElement(b, tail, LLVMBuildTrunc(b, sum, cg->i32, ""), cg_i32(cg, r), "");
      }
      pop[s] = LLVMBuildAdd(b, pop[s], tail, "pop");
    }
}

/* 64 input bytes x and the weight word w (bit 1 = -1) -> the contribution of
 * the -1 weights, as a running sum:
 *   VNNI:     acc (<16 x i32>) -= x . bits, by vpdpbusd of u8 x and the mask
 *             expanded to 0/-1 bytes (s8), one instruction per 64 bytes;
 *   portable: acc (<64 x i16|i32>) += x where the bit is set (a select). */
static LLVMValueRef u8_step(Cg *cg, LLVMValueRef acc, LLVMValueRef xv, LLVMValueRef word, LLVMTypeRef vacc) {
  LLVMBuilderRef b = cg->b;
  LLVMTypeRef v64i1 = LLVMVectorType(cg->i1, 64), v64i8 = LLVMVectorType(cg->i8, 64);
  LLVMValueRef mask = LLVMBuildBitCast(b, word, v64i1, "");
  if (cg->x86_vnni512) {
    LLVMTypeRef v16i32 = LLVMVectorType(cg->i32, 16);
    LLVMValueRef args[] = {acc, LLVMBuildBitCast(b, xv, v16i32, ""),
                           LLVMBuildBitCast(b, LLVMBuildSExt(b, mask, v64i8, ""), v16i32, "")};
    return cg_call_intrinsic(cg, "llvm.x86.avx512.vpdpbusd.512", NULL, 0, args, 3);
  }
  LLVMValueRef sel = LLVMBuildSelect(b, mask, xv, LLVMConstNull(v64i8), "");
  return LLVMBuildAdd(b, acc, LLVMBuildZExt(b, sel, vacc, ""), "");
}

/* ---- u8 x with GFNI: vgf2p8affineqb of the weight word broadcast to the
 * 8 lanes, with the constant matrix of lane q selecting bit q, gives the
 * 0/-1 bytes of the word in one instruction (no mask register): byte
 * 8q + i of the result is weight bit 8i + q (an 8x8 bit transpose). The
 * input chunks are permuted the same way once per layer (a vpermb each), so
 * vpdpbusd pairs every byte with its weight bit. The last partial chunk is
 * the 64 bytes ending at `in`, its first 64 - in % 64 bytes zeroed (they were
 * counted in the previous chunk), against the 8 weight bytes ending at the
 * row's end (rows are in/8 bytes: no shift). ------------------------------ */

static LLVMValueRef transpose_mask(Cg *cg) {
  LLVMValueRef idx[64];
  for (int p = 0; p < 64; p++) idx[p] = cg_i32(cg, (p % 8) * 8 + p / 8);
  return LLVMConstVector(idx, 64);
}

/* A 64-byte aligned stack buffer in the function's entry block. */
static LLVMValueRef entry_alloca(Cg *cg, LLVMTypeRef t, const char *name) {
  LLVMBuilderRef tmp = LLVMCreateBuilderInContext(cg->ctx);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(cg->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(tmp, first);
  else
    LLVMPositionBuilderAtEnd(tmp, entry);
  LLVMValueRef a = LLVMBuildAlloca(tmp, t, name);
  LLVMSetAlignment(a, 64);
  LLVMDisposeBuilder(tmp);
  return a;
}

/* The permuted input chunks of one sample: [in / 64 (+1 partial)] x <64 x i8>. */
static LLVMValueRef gfni_inputs(Cg *cg, LLVMValueRef x, int64_t in) {
  LLVMBuilderRef b = cg->b;
  int64_t full = in / 64, tail = in % 64;
  LLVMTypeRef v64i8 = LLVMVectorType(cg->i8, 64);
  LLVMValueRef buf = entry_alloca(cg, LLVMArrayType(v64i8, (unsigned)(full + (tail ? 1 : 0))), "xperm");
  LLVMValueRef perm = transpose_mask(cg);
  CgLoop l;
  cg_loop_begin(cg, &l, cg_i64(cg, full), "xperm");
  LLVMValueRef v = cg_load(cg, x, v64i8, l.index, 1);
  cg_store(cg, LLVMBuildShuffleVector(b, v, LLVMGetUndef(v64i8), perm, ""), buf, v64i8, l.index, 64);
  cg_loop_end(cg, &l);
  if (tail) {
    LLVMValueRef keep[64];
    for (int k = 0; k < 64; k++) keep[k] = LLVMConstInt(cg->i8, k < 64 - tail ? 0 : 0xff, 0);
    LLVMValueRef v2 = LLVMBuildLoad2(b, v64i8, cg_elem_ptr(cg, x, cg->i8, cg_i64(cg, in - 64)), "");
    LLVMSetAlignment(v2, 1);
    v2 = LLVMBuildAnd(b, v2, LLVMConstVector(keep, 64), "");
    cg_store(cg, LLVMBuildShuffleVector(b, v2, LLVMGetUndef(v64i8), perm, ""), buf, v64i8, cg_i64(cg, full), 64);
  }
  return buf;
}

/* acc (<16 x i32>) -= the permuted chunk xv . the bits of word (i64). */
static LLVMValueRef gfni_step(Cg *cg, LLVMValueRef acc, LLVMValueRef xv, LLVMValueRef word) {
  LLVMBuilderRef b = cg->b;
  LLVMTypeRef v64i8 = LLVMVectorType(cg->i8, 64), v16i32 = LLVMVectorType(cg->i32, 16);
  LLVMValueRef zero8[8], lane_bits[64];
  for (int k = 0; k < 8; k++) zero8[k] = cg_i32(cg, 0);
  for (int p = 0; p < 64; p++) lane_bits[p] = LLVMConstInt(cg->i8, 1u << (p / 8), 0);
  LLVMValueRef one = LLVMBuildInsertElement(b, LLVMGetUndef(cg->v8i64), word, cg_i32(cg, 0), "");
  LLVMValueRef bcast = LLVMBuildShuffleVector(b, one, LLVMGetUndef(cg->v8i64), LLVMConstVector(zero8, 8), "");
  LLVMValueRef gf_args[] = {LLVMBuildBitCast(b, bcast, v64i8, ""), LLVMConstVector(lane_bits, 64),
                            LLVMConstInt(cg->i8, 0, 0)};
  LLVMValueRef bytes = cg_call_intrinsic(cg, "llvm.x86.vgf2p8affineqb.512", NULL, 0, gf_args, 3);
  LLVMValueRef args[] = {acc, LLVMBuildBitCast(b, xv, v16i32, ""), LLVMBuildBitCast(b, bytes, v16i32, "")};
  return cg_call_intrinsic(cg, "llvm.x86.avx512.vpdpbusd.512", NULL, 0, args, 3);
}

/* <CG_ROWS x i32>: acc[r] = sum_j x_j * (w[row+r]_j ? -1 : +1) for u8 x:
 * total - 2 * (the sum of x where the weight bit is 1); total = sum_j x_j.
 * The last partial 64-byte chunk is the 64 bytes ending at `in`, with the
 * weight word shifted to match (never reads past the input). The VNNI
 * accumulators are folded to 8 lanes and reduced together (transpose_sum). */
static LLVMValueRef emit_u8_block(Cg *cg, LLVMValueRef x, LLVMValueRef xperm, const BitMatrix *m,
                                  const LLVMValueRef *base, LLVMValueRef total) {
  LLVMBuilderRef b = cg->b;
  int64_t full = m->in / 64, tail = m->in % 64;
  bool vnni = cg->x86_vnni512;
  unsigned walign = row_align(m, 8);
  /* u16 lanes hold at most 257 chunks of bytes; wider models use u32 lanes */
  LLVMTypeRef lane = vnni || full + 1 > 256 ? cg->i32 : cg->i16;
  LLVMTypeRef vacc = LLVMVectorType(lane, vnni ? 16 : 64), v64i8 = LLVMVectorType(cg->i8, 64);
  LLVMTypeRef v8i32 = LLVMVectorType(cg->i32, CG_ROWS);
  LLVMValueRef acc[CG_ROWS];
  for (int r = 0; r < CG_ROWS; r++) acc[r] = LLVMConstNull(vacc);
  if (xperm) {   /* GFNI: see gfni_inputs */
    CgLoop l;
    cg_loop_begin(cg, &l, cg_i64(cg, full), "u8dot");
    LLVMValueRef carried[CG_ROWS];
    for (int r = 0; r < CG_ROWS; r++) carried[r] = cg_loop_carry(cg, &l, acc[r]);
    LLVMValueRef xv = cg_load(cg, xperm, v64i8, l.index, 64);
    for (int r = 0; r < CG_ROWS; r++)
      cg_loop_next(&l, carried[r], gfni_step(cg, carried[r], xv, cg_load(cg, base[r], cg->i64, l.index, walign)));
    cg_loop_end(cg, &l);
    for (int r = 0; r < CG_ROWS; r++) acc[r] = l.next[r];
    if (tail > 0) {
      LLVMValueRef xv_tail = cg_load(cg, xperm, v64i8, cg_i64(cg, full), 64);
      for (int r = 0; r < CG_ROWS; r++) {
        LLVMValueRef last = cg_elem_ptr(cg, base[r], cg->i8, cg_i64(cg, m->in / 8 - 8));
        acc[r] = gfni_step(cg, acc[r], xv_tail, cg_load(cg, last, cg->i64, cg_i64(cg, 0), 1));
      }
    }
  } else if (full > 0) {
    CgLoop l;
    cg_loop_begin(cg, &l, cg_i64(cg, full), "u8dot");
    LLVMValueRef carried[CG_ROWS];
    for (int r = 0; r < CG_ROWS; r++) carried[r] = cg_loop_carry(cg, &l, acc[r]);
    LLVMValueRef xv = cg_load(cg, x, v64i8, l.index, 1);
    for (int r = 0; r < CG_ROWS; r++)
      cg_loop_next(&l, carried[r], u8_step(cg, carried[r], xv, cg_load(cg, base[r], cg->i64, l.index, walign), vacc));
    cg_loop_end(cg, &l);
    for (int r = 0; r < CG_ROWS; r++) acc[r] = l.next[r];
    if (tail > 0) {
      LLVMValueRef at = cg_i64(cg, m->in - 64);
      LLVMValueRef xv_tail = LLVMBuildLoad2(b, v64i8, cg_elem_ptr(cg, x, cg->i8, at), "");
      LLVMSetAlignment(xv_tail, 1);
      for (int r = 0; r < CG_ROWS; r++) {
        LLVMValueRef last = cg_load(cg, base[r], cg->i64, cg_i64(cg, full), walign);
        LLVMValueRef w = LLVMBuildShl(b, last, cg_i64(cg, 64 - tail), "");
        acc[r] = u8_step(cg, acc[r], xv_tail, w, vacc);
      }
    }
  }
  LLVMValueRef neg = LLVMGetUndef(v8i32);
  if (full > 0 && vnni) {
    LLVMValueRef lo_idx[CG_ROWS], hi_idx[CG_ROWS], half[CG_ROWS];
    for (int i = 0; i < CG_ROWS; i++) {
      lo_idx[i] = cg_i32(cg, i);
      hi_idx[i] = cg_i32(cg, i + CG_ROWS);
    }
    LLVMValueRef lo_mask = LLVMConstVector(lo_idx, CG_ROWS), hi_mask = LLVMConstVector(hi_idx, CG_ROWS);
    for (int r = 0; r < CG_ROWS; r++)
      half[r] = LLVMBuildAdd(b, LLVMBuildShuffleVector(b, acc[r], acc[r], lo_mask, ""),
                             LLVMBuildShuffleVector(b, acc[r], acc[r], hi_mask, ""), "");
    neg = LLVMBuildNeg(b, transpose_sum(cg, half), "");
  } else {
    for (int r = 0; r < CG_ROWS; r++) {
      LLVMValueRef s;
      if (full == 0) {
        s = cg_i32(cg, 0);   /* fewer than 64 inputs: bit by bit */
        LLVMValueRef word = cg_load(cg, base[r], cg->i64, cg_i64(cg, 0), walign);
        for (int64_t j = 0; j < tail; j++) {
          LLVMValueRef xj = LLVMBuildZExt(b, cg_load(cg, x, cg->i8, cg_i64(cg, j), 1), cg->i32, "");
          LLVMValueRef bit = LLVMBuildTrunc(b, LLVMBuildLShr(b, word, cg_i64(cg, j), ""), cg->i1, "");
          s = LLVMBuildAdd(b, s, LLVMBuildSelect(b, bit, xj, cg_i32(cg, 0), ""), "");
        }
      } else {
        LLVMTypeRef wide_t = LLVMVectorType(cg->i32, 64);
        LLVMValueRef wide = LLVMBuildZExt(b, acc[r], wide_t, "");
        s = cg_call_intrinsic(cg, "llvm.vector.reduce.add", &wide_t, 1, &wide, 1);
      }
      neg = LLVMBuildInsertElement(b, neg, s, cg_i32(cg, r), "");
    }
  }
  LLVMValueRef totals = LLVMGetUndef(v8i32);
  for (int r = 0; r < CG_ROWS; r++) totals = LLVMBuildInsertElement(b, totals, total, cg_i32(cg, r), "");
  return LLVMBuildSub(b, totals, LLVMBuildShl(b, neg, splat_i32(cg, 1), ""), "acc");
}

static LLVMValueRef emit_u8_total(Cg *cg, LLVMValueRef x, int64_t in) {
  CgLoop l;
  cg_loop_begin(cg, &l, cg_i64(cg, in), "u8sum");
  LLVMValueRef s = cg_loop_carry(cg, &l, cg_i32(cg, 0));
  LLVMValueRef xj = LLVMBuildZExt(cg->b, cg_load(cg, x, cg->i8, l.index, 1), cg->i32, "");
  cg_loop_next(&l, s, LLVMBuildAdd(cg->b, s, xj, ""));
  cg_loop_end(cg, &l);
  return l.next[0];
}

/* A binary layer's rows against the inputs of the cg->n_samples samples. */
typedef struct BinaryRows {
  bool bits;                      /* bit x (popcounts); else u8 x (byte dot products) */
  BitMatrix m;
  LLVMValueRef x[CG_BLOCK];       /* each sample's input */
  LLVMValueRef total[CG_BLOCK];   /* u8 x: the sum of each sample's input bytes */
  LLVMValueRef xperm[CG_BLOCK];   /* u8 x with GFNI: each sample's 64-byte chunks permuted (gfni_inputs), or NULL */
} BinaryRows;

static BinaryRows binary_rows(Cg *cg, const IrNode *x, const uint64_t *w, int64_t rows, int64_t in,
                              int64_t row_multiple, const bool *negate) {
  BinaryRows br;
  memset(&br, 0, sizeof br);
  br.bits = x->type.elem == ELEM_BIT;
  br.m = bit_matrix(cg, w, rows, in, row_multiple, br.bits, negate);
  sample_ptrs(cg, x, br.x);
  if (!br.bits)
    for (int s = 0; s < cg->n_samples; s++) {
      br.total[s] = emit_u8_total(cg, br.x[s], in);
      if (cg->x86_gfni512 && in % 8 == 0 && in >= 64) br.xperm[s] = gfni_inputs(cg, br.x[s], in);
    }
  return br;
}

/* v[s] (<CG_ROWS x i32>) for rows [row, row + CG_ROWS) and each sample:
 * bit x: the popcounts of x XOR w; u8 x: the accumulators (byte dot products
 * with the +-1 rows). The block's weight rows are read once for all samples
 * (bits) or stay in L1 from one sample to the next (u8). */
static void emit_binary_block(Cg *cg, const BinaryRows *br, LLVMValueRef row, LLVMValueRef *v) {
  if (br->bits) {
    emit_popcount_block(cg, br->x, cg->n_samples, &br->m, row, v);
    return;
  }
  LLVMValueRef base[CG_ROWS];
  row_bases(cg, &br->m, row, base);
  for (int s = 0; s < cg->n_samples; s++) v[s] = emit_u8_block(cg, br->x[s], br->xperm[s], &br->m, base, br->total[s]);
}

/* What to do with the integer accumulators (<CG_ROWS x i32>, acc = the
 * +-1 dot product) of rows [row, row + lanes) of one sample, y its output. */
typedef void (*RowSink)(Cg *cg, LLVMValueRef y, const void *state, LLVMValueRef row, LLVMValueRef acc,
                        int64_t lanes);

/* Runs the accumulators of all `rows` rows in blocks of CG_ROWS (the matrix
 * has zero rows up to a multiple of CG_ROWS) for every sample; the last
 * block passes on only its real rows. */
static void emit_rows(Cg *cg, const IrNode *n, const BinaryRows *br, int64_t rows, RowSink sink,
                      const void *state) {
  int64_t blocks = rows / CG_ROWS, rest = rows % CG_ROWS;
  LLVMValueRef y[CG_BLOCK], v[CG_BLOCK];
  sample_ptrs(cg, n, y);
  for (int part = 0; part < 2; part++) {
    if (part == 0 ? blocks == 0 : rest == 0) continue;
    CgLoop l;
    LLVMValueRef row = cg_i64(cg, blocks * CG_ROWS);
    if (part == 0) {
      cg_loop_begin(cg, &l, cg_i64(cg, blocks), "rows");
      row = LLVMBuildMul(cg->b, l.index, cg_i64(cg, CG_ROWS), "row");
    }
    emit_binary_block(cg, br, row, v);
    for (int s = 0; s < cg->n_samples; s++) {
      LLVMValueRef acc = v[s];
      if (br->bits)   /* acc = in - 2 pop */
        acc = LLVMBuildSub(cg->b, splat_i32(cg, br->m.in), LLVMBuildShl(cg->b, acc, splat_i32(cg, 1), ""), "acc");
      sink(cg, y[s], state, row, acc, part == 0 ? CG_ROWS : rest);
    }
    if (part == 0) cg_loop_end(cg, &l);
  }
}

static void sink_i32(Cg *cg, LLVMValueRef y, const void *state, LLVMValueRef row, LLVMValueRef acc, int64_t lanes) {
  (void)state;
  if (lanes == CG_ROWS) {
    cg_store(cg, acc, cg_elem_ptr(cg, y, cg->i32, row), LLVMTypeOf(acc), cg_i64(cg, 0), 4);
    return;
  }
  for (int64_t r = 0; r < lanes; r++)
    cg_store(cg, LLVMBuildExtractElement(cg->b, acc, cg_i32(cg, r), ""), y, cg->i32,
             LLVMBuildAdd(cg->b, row, cg_i64(cg, r), ""), 4);
}

static void sink_f32(Cg *cg, LLVMValueRef y, const void *state, LLVMValueRef row, LLVMValueRef acc, int64_t lanes) {
  const RowAffine *a = state;
  if (lanes == CG_ROWS) {   /* the same arithmetic as below, 8 lanes at once */
    LLVMTypeRef v8f32 = cg->v8f32;
    LLVMValueRef v = LLVMBuildSIToFP(cg->b, acc, v8f32, "");
    LLVMValueRef zero = cg_i64(cg, 0);
    if (a->alpha) v = LLVMBuildFMul(cg->b, v, cg_load(cg, cg_elem_ptr(cg, a->alpha, cg->f32, row), v8f32, zero, 4), "");
    if (a->bias) v = LLVMBuildFAdd(cg->b, v, cg_load(cg, cg_elem_ptr(cg, a->bias, cg->f32, row), v8f32, zero, 4), "");
    cg_store(cg, v, cg_elem_ptr(cg, y, cg->f32, row), v8f32, cg_i64(cg, 0), 4);
    return;
  }
  for (int64_t r = 0; r < lanes; r++) {
    LLVMValueRef rr = LLVMBuildAdd(cg->b, row, cg_i64(cg, r), "");
    LLVMValueRef v = LLVMBuildSIToFP(cg->b, LLVMBuildExtractElement(cg->b, acc, cg_i32(cg, r), ""), cg->f32, "");
    cg_store(cg, apply_row_affine(cg, a, rr, v), y, cg->f32, rr, 4);
  }
}

/* +-1 floats of packed rows, for real-valued inputs. */
static float *unpack_signs(const uint64_t *bits, int64_t rows, int64_t in) {
  int64_t words = (in + 63) / 64;
  float *w = xcalloc((size_t)(rows * in), sizeof *w);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < in; j++) w[r * in + j] = (bits[r * words + j / 64] >> (j % 64)) & 1 ? -1.0f : 1.0f;
  return w;
}

bool cg_node_takes_block(const IrNode *n) {
  if (n->op != IR_BINDENSE && n->op != IR_BINDENSE_THR && n->op != IR_BINLINEAR) return false;
  ElemType x = n->inputs[0]->type.elem;
  return x == ELEM_BIT || x == ELEM_U8;
}

/* binlinear(x, w f32, b?) {scale}: x . sign(w) * alpha + b. */
static void emit_binlinear(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0], *w = n->inputs[1];
  int64_t out = w->type.shape.dims[0], in = w->type.shape.dims[1];
  const float *wf = param_data(w, ELEM_F32);
  RowAffine a = bias_only(cg, n, 2);
  if (n->attrs.scale) {
    float *alpha = xcalloc((size_t)out, sizeof *alpha);
    for (int64_t o = 0; o < out; o++) {
      double s = 0;
      for (int64_t j = 0; j < in; j++) s += fabs((double)wf[o * in + j]);
      alpha[o] = (float)(s / (double)in);
    }
    a.alpha = f32_table(cg, "alpha", alpha, out);
    free(alpha);
  }
  uint64_t *bits = pack_signs(wf, out, in);
  if (x->type.elem == ELEM_F32) {
    float *signs = unpack_signs(bits, out, in);
    emit_dense_f32(cg, n, f32_table(cg, "signs", signs, out * in), out, in, &a);
    free(signs);
  } else {
    BinaryRows br = binary_rows(cg, x, bits, out, in, CG_ROWS, NULL);
    emit_rows(cg, n, &br, out, sink_f32, &a);
  }
  free(bits);
}

/* The convert of n's i32 result when it is n's only user and the next node
 * computed (so its buffer holds nothing live in between), else NULL. */
static const IrNode *next_convert(Cg *cg, const IrNode *n) {
  const IrNode *next = n->next;
  while (next && next->op == IR_PARAM) next = next->next;
  if (!next || next->op != IR_CONVERT || next->inputs[0] != n || ir_single_user(cg->g, n) != next ||
      next->type.elem != ELEM_F32)
    return NULL;
  return next;
}

/* bindense(x bit|u8|f32, w bit) -> i32 (or f32 for f32 x); with the convert
 * after it fused (next_convert). */
static void emit_bindense(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0], *w = n->inputs[1];
  int64_t out = w->type.shape.dims[0], in = w->type.shape.dims[1];
  const uint64_t *bits = param_data(w, ELEM_BIT);
  if (x->type.elem == ELEM_F32) {
    float *signs = unpack_signs(bits, out, in);
    RowAffine none = {NULL, NULL};
    emit_dense_f32(cg, n, f32_table(cg, "signs", signs, out * in), out, in, &none);
    free(signs);
    return;
  }
  BinaryRows br = binary_rows(cg, x, bits, out, in, CG_ROWS, NULL);
  /* convert fused in the batch body: the f32 accumulators go straight to its
   * buffer (one pass less per sample; measured slower at batch 1) */
  const IrNode *convert = cg->n_samples > 1 ? next_convert(cg, n) : NULL;
  if (convert) {
    RowAffine none = {NULL, NULL};
    emit_rows(cg, convert, &br, out, sink_f32, &none);
    cg->fused_convert = convert;
    return;
  }
  emit_rows(cg, n, &br, out, sink_i32, NULL);
}

/* Per-row thresholds t[o] stored as base + d[o], d in the narrowest integer
 * type (i8, i16, i32) holding every t - base: the tables are most of a
 * model's data besides the weights. */
typedef struct ThresholdTable {
  LLVMValueRef d;         /* iW* global */
  LLVMTypeRef elem;       /* iW */
  int64_t base;
} ThresholdTable;

static ThresholdTable threshold_table(Cg *cg, const int64_t *t, int64_t n) {
  int64_t lo = t[0], hi = t[0];
  for (int64_t i = 1; i < n; i++) {
    if (t[i] < lo) lo = t[i];
    if (t[i] > hi) hi = t[i];
  }
  int width = hi - lo <= 255 ? 1 : hi - lo <= 65535 ? 2 : 4;
  ThresholdTable tt = {NULL, LLVMIntTypeInContext(cg->ctx, (unsigned)(8 * width)), 0};
  if (width < 4) tt.base = lo + (width == 1 ? 128 : 32768);
  BNNC_ASSERT(width < 4 || (lo >= INT32_MIN && hi <= INT32_MAX));
  unsigned char *d = xcalloc((size_t)n, (size_t)width);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = t[i] - tt.base;
    if (width == 1) ((int8_t *)d)[i] = (int8_t)v;
    else if (width == 2) ((int16_t *)d)[i] = (int16_t)v;
    else ((int32_t *)d)[i] = (int32_t)v;
  }
  tt.d = cg_const_global(cg, "thr", d, (size_t)(n * width), tt.elem);
  free(d);
  return tt;
}

/* bindense_thr: 64 rows per output word (rows padded to a whole word), in
 * blocks of CG_ROWS: the block's <CG_ROWS x i32> accumulators are compared
 * with its thresholds as one vector, the <CG_ROWS x i1> result is the block's
 * byte of the output word (no integer round trip through memory). A row
 * whose test is `acc <= thr` (flip) is stored inverted, which negates its
 * accumulator, so every row's test is one compare against one threshold t:
 *   bit x: +1 iff pop <= t, pop = popcount(x XOR w);
 *   u8 x:  +1 iff acc >= t. */
static void emit_bindense_thr(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0], *w = n->inputs[1];
  int64_t out = w->type.shape.dims[0], in = w->type.shape.dims[1];
  int64_t out_words = (out + 63) / 64, padded = out_words * 64;
  const int32_t *thr = param_data(n->inputs[2], ELEM_I32), *flip = param_data(n->inputs[3], ELEM_I32);
  bool bits_in = x->type.elem == ELEM_BIT;
  int64_t reach = bits_in ? in : 255 * in;   /* |acc| <= reach */
  int64_t *t = xcalloc((size_t)padded, sizeof *t);
  bool *negate = xcalloc((size_t)out, sizeof *negate);
  for (int64_t o = 0; o < padded; o++) {
    int64_t v;
    if (o >= out) {   /* padding rows (zero weights): always +1, i.e. bit 0 */
      v = bits_in ? in : -reach - 1;
    } else if (bits_in) {
      /* acc = in - 2 pop: acc >= thr <=> pop <= floor((in - thr) / 2);
       * acc <= thr <=> pop >= ceil((in - thr) / 2) <=> in - pop <= in - ceil(..) */
      int64_t d = in - (int64_t)thr[o];
      int64_t floor_half = d >= 0 ? d / 2 : -((-d + 1) / 2);
      int64_t ceil_half = d >= 0 ? (d + 1) / 2 : -((-d) / 2);
      negate[o] = flip[o] != 0;
      v = flip[o] ? in - ceil_half : floor_half;
      v = v < -1 ? -1 : v > in ? in : v;
    } else {
      negate[o] = flip[o] != 0;
      v = flip[o] ? -(int64_t)thr[o] : (int64_t)thr[o];
      v = v < -reach - 1 ? -reach - 1 : v > reach + 1 ? reach + 1 : v;
    }
    t[o] = v;
  }
  ThresholdTable tt = threshold_table(cg, t, padded);
  free(t);
  BinaryRows br = binary_rows(cg, x, param_data(w, ELEM_BIT), out, in, 64, negate);
  free(negate);
  LLVMValueRef y[CG_BLOCK], v[CG_BLOCK];
  sample_ptrs(cg, n, y);
  int ns = cg->n_samples;
  LLVMBuilderRef b = cg->b;
  LLVMTypeRef v8i32 = LLVMVectorType(cg->i32, CG_ROWS), vt = LLVMVectorType(tt.elem, CG_ROWS);
  LLVMTypeRef mask_int = LLVMIntTypeInContext(cg->ctx, CG_ROWS);
  CgLoop lw, lb;
  cg_loop_begin(cg, &lw, cg_i64(cg, out_words), "thr.word");
  cg_loop_begin(cg, &lb, cg_i64(cg, 64 / CG_ROWS), "thr.block");
  LLVMValueRef word[CG_BLOCK];
  for (int s = 0; s < ns; s++) word[s] = cg_loop_carry(cg, &lb, cg_i64(cg, 0));
  LLVMValueRef first = LLVMBuildMul(b, lb.index, cg_i64(cg, CG_ROWS), "");
  LLVMValueRef row = LLVMBuildAdd(b, LLVMBuildMul(b, lw.index, cg_i64(cg, 64), ""), first, "row");
  emit_binary_block(cg, &br, row, v);
  LLVMValueRef d = LLVMBuildLoad2(b, vt, cg_elem_ptr(cg, tt.d, tt.elem, row), "");
  LLVMSetAlignment(d, (unsigned)(LLVMGetIntTypeWidth(tt.elem) / 8 * CG_ROWS));
  LLVMValueRef tv = LLVMBuildSExt(b, d, v8i32, "");
  if (tt.base) tv = LLVMBuildAdd(b, tv, splat_i32(cg, tt.base), "t");
  for (int s = 0; s < ns; s++) {
    LLVMValueRef neg = LLVMBuildICmp(b, bits_in ? LLVMIntSGT : LLVMIntSLT, v[s], tv, "");
    LLVMValueRef byte = LLVMBuildZExt(b, LLVMBuildBitCast(b, neg, mask_int, ""), cg->i64, "");
    cg_loop_next(&lb, word[s], LLVMBuildOr(b, word[s], LLVMBuildShl(b, byte, first, ""), ""));
  }
  cg_loop_end(cg, &lb);
  for (int s = 0; s < ns; s++) cg_store(cg, lb.next[s], y[s], cg->i64, lw.index, 8);
  cg_loop_end(cg, &lw);
}

/* ---- softmax -------------------------------------------------------------- */

static void emit_softmax(Cg *cg, const IrNode *n) {
  LLVMBuilderRef b = cg->b;
  int64_t len = numel(&n->type);
  LLVMValueRef x = ptr_of(cg, n->inputs[0]), y = ptr_of(cg, n);
  CgLoop lm, le, ld;
  cg_loop_begin(cg, &lm, cg_i64(cg, len), "softmax.max");
  LLVMValueRef mx = cg_loop_carry(cg, &lm, cg_f32(cg, -INFINITY));
  LLVMValueRef v = cg_load(cg, x, cg->f32, lm.index, 4);
  cg_loop_next(&lm, mx, LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, v, mx, ""), v, mx, ""));
  cg_loop_end(cg, &lm);
  LLVMValueRef max = lm.next[0];
  cg_loop_begin(cg, &le, cg_i64(cg, len), "softmax.exp");
  LLVMValueRef sum = cg_loop_carry(cg, &le, cg_f32(cg, 0.0f));
  LLVMValueRef e = emit_exp(cg, LLVMBuildFSub(b, cg_load(cg, x, cg->f32, le.index, 4), max, ""));
  cg_store(cg, e, y, cg->f32, le.index, 4);
  cg_loop_next(&le, sum, LLVMBuildFAdd(b, sum, e, ""));
  cg_loop_end(cg, &le);
  LLVMValueRef total = le.next[0];
  cg_loop_begin(cg, &ld, cg_i64(cg, len), "softmax.div");
  cg_store(cg, LLVMBuildFDiv(b, cg_load(cg, y, cg->f32, ld.index, 4), total, ""), y, cg->f32, ld.index, 4);
  cg_loop_end(cg, &ld);
}

/* ---- dispatch ------------------------------------------------------------- */

bool cg_emit_node(Cg *cg, const IrNode *n) {
  switch (n->op) {
  case IR_INPUT:
  case IR_PARAM:
    return true;
  case IR_AFFINE: emit_affine(cg, n); return true;
  case IR_SIGN:
    if (last_dim(&n->type) % 64 == 0)
      emit_sign_words(cg, n);
    else
      emit_pack(cg, n, sign_neg_bit, NULL);
    return true;
  case IR_CONVERT:
    if (cg->fused_convert == n) return true;   /* computed by the bindense before it */
    emit_convert(cg, n);
    return true;
  case IR_LINEAR: emit_linear(cg, n); return true;
  case IR_BINLINEAR: emit_binlinear(cg, n); return true;
  case IR_BATCHNORM: emit_batchnorm(cg, n); return true;
  case IR_RELU: emit_map_f32(cg, n, relu); return true;
  case IR_HTANH: emit_map_f32(cg, n, htanh); return true;
  case IR_SIGMOID: emit_map_f32(cg, n, sigmoid); return true;
  case IR_SOFTMAX: emit_softmax(cg, n); return true;
  case IR_DROPOUT:
  case IR_FLATTEN:
    /* An alias of the input unless the memory plan gave it its own buffer. */
    if (cg->node_ptr[n->id] == cg->node_ptr[n->inputs[0]->id]) return true;
    if (n->type.elem == ELEM_BIT && n->inputs[0]->type.shape.rank > 1 && last_dim(&n->inputs[0]->type) % 64)
      emit_flatten_bits(cg, n);
    else if (n->op == IR_DROPOUT)
      emit_map_f32(cg, n, identity);
    else
      emit_copy(cg, ptr_of(cg, n->inputs[0]), ptr_of(cg, n), ir_type_bytes(&n->type));
    return true;
  case IR_THRESHOLD: emit_threshold(cg, n); return true;
  case IR_BINDENSE: emit_bindense(cg, n); return true;
  case IR_BINDENSE_THR: emit_bindense_thr(cg, n); return true;
  case IR_OUTPUT:
    if (cg->node_ptr[n->id] == cg->node_ptr[n->inputs[0]->id]) return true;
    emit_copy(cg, ptr_of(cg, n->inputs[0]), ptr_of(cg, n), ir_type_bytes(&n->type));
    return true;
  case IR_CONV2D:
  case IR_BINCONV2D:
  case IR_MAXPOOL:
  case IR_AVGPOOL:
  case IR_HWC:
  case IR_CHW:
  case IR_BINCONV:
  case IR_BINCONV_THR:
  case IR_MAXPOOL_HWC:
    return cg_emit_conv_node(cg, n);   /* kernels_conv.c */
  case IR_OP_COUNT:
    break;
  }
  BNNC_BUG("cg_emit_node: bad op %d", (int)n->op);
}
