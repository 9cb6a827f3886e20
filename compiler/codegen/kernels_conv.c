/* kernels_conv.c - LLVM IR for the convolution and pooling ops.
 *
 *   conv2d, binconv2d (real input)  f32 [C,H,W] direct convolution; the sum
 *                 runs over (c, ky, kx) in that order, one rounded f32 add
 *                 per tap, as ir_eval and the runtime compute it, so the
 *                 result is bit for bit the interpreter's. Padded taps are
 *                 skipped (select), not added as 0 * w.
 *   maxpool, avgpool  f32 [C,H,W], taps unrolled (windows never leave the
 *                 image); maxpool on bits [C,H,W]: the AND of the window.
 *   maxpool_hwc   bits [H,W,C]: the AND of the window's words, 64 channels
 *                 at a time (padding bits stay 0).
 *   hwc, chw      bit gathers between the two layouts.
 *   binconv, binconv_thr  XNOR-popcount over packed channels: for output
 *                 (o, oy, ox), over the taps (ky, kx) inside the image,
 *                 acc += C - 2 * popcount(x[iy,ix,:] XOR w[o,ky,kx,:]);
 *                 summing C over the valid taps gives K_valid(oy, ox), so
 *                 acc = K_valid - 2 * popcount(valid taps): padded taps add
 *                 0 exactly, as PyTorch's conv on sign(x) with zero padding.
 *                 Out-of-image taps load a clamped (valid) address and are
 *                 masked with a select; with pad = 0 no test is emitted.
 *                 binconv_thr compares acc with the channel's [lo, hi] range
 *                 (from thr/flip) and packs 64 output channels per word of
 *                 the channels-last result; output channels are padded to a
 *                 multiple of 64 with zero weights and an always-+1 range.
 *
 * Params are baked in as internal constant globals, as in kernels.c.
 */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "ir_eval.h"

/* ---- helpers (kernels.c keeps its own static ones) ------------------------ */

static LLVMValueRef buf(Cg *cg, const IrNode *n) {
  LLVMValueRef p = cg->node_ptr[n->id];
  if (!p) BNNC_BUG("codegen: %%%d (%s) has no buffer", n->id, ir_op_info[n->op].name);
  return p;
}

static const void *data_of(const IrNode *p, ElemType elem) {
  BNNC_ASSERT(p->op == IR_PARAM && p->data && p->type.elem == elem);
  return p->data;
}

static void *zalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) BNNC_BUG("out of memory in code generation");
  return p;
}

static LLVMValueRef add(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(cg->b, a, b, ""); }
static LLVMValueRef mul(Cg *cg, LLVMValueRef a, int64_t k) { return LLVMBuildMul(cg->b, a, cg_i64(cg, k), ""); }

/* a * k + b, for flat indices. */
static LLVMValueRef mad(Cg *cg, LLVMValueRef a, int64_t k, LLVMValueRef b) { return add(cg, mul(cg, a, k), b); }

/* 0 <= v < n, for an i64 v that may be negative. */
static LLVMValueRef in_range(Cg *cg, LLVMValueRef v, int64_t n) {
  return LLVMBuildICmp(cg->b, LLVMIntULT, v, cg_i64(cg, n), "");
}

/* v clamped into [0, n) (only used for addresses of masked-out taps). */
static LLVMValueRef clamp(Cg *cg, LLVMValueRef v, int64_t n) {
  LLVMValueRef lo = LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, v, cg_i64(cg, 0), ""),
                                    cg_i64(cg, 0), v, "");
  return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGT, lo, cg_i64(cg, n - 1), ""),
                         cg_i64(cg, n - 1), lo, "");
}

/* Bit `i` (i64) of a packed row as i1 (1 = -1). */
static LLVMValueRef load_bit(Cg *cg, LLVMValueRef words, LLVMValueRef row_word0, LLVMValueRef i) {
  LLVMValueRef w = cg_load(cg, words, cg->i64, add(cg, row_word0, LLVMBuildLShr(cg->b, i, cg_i64(cg, 6), "")), 8);
  LLVMValueRef sh = LLVMBuildAnd(cg->b, i, cg_i64(cg, 63), "");
  return LLVMBuildTrunc(cg->b, LLVMBuildLShr(cg->b, w, sh, ""), cg->i1, "");
}

/* ---- packing bits element by element -------------------------------------- */

/* i1 (1 = -1) of logical element (row, col) of n's value. */
typedef LLVMValueRef (*BitFn)(Cg *cg, const IrNode *n, LLVMValueRef row, LLVMValueRef col);

/* Packs n's value row by row (rows of the last dim, 64-bit words, padding 0). */
static void pack_rows(Cg *cg, const IrNode *n, BitFn bit_of) {
  const Shape *s = &n->type.shape;
  int64_t last = s->dims[s->rank - 1], rows = shape_numel(s) / last, words = (last + 63) / 64;
  LLVMValueRef y = buf(cg, n);
  CgLoop lr, lw, lb;
  cg_loop_begin(cg, &lr, cg_i64(cg, rows), "cpack.row");
  cg_loop_begin(cg, &lw, cg_i64(cg, words), "cpack.word");
  cg_loop_begin(cg, &lb, cg_i64(cg, 64), "cpack.bit");
  LLVMValueRef word = cg_loop_carry(cg, &lb, cg_i64(cg, 0));
  LLVMValueRef col = mad(cg, lw.index, 64, lb.index);
  LLVMValueRef inside = in_range(cg, col, last);
  LLVMValueRef safe = LLVMBuildSelect(cg->b, inside, col, cg_i64(cg, last - 1), "");
  LLVMValueRef bit = LLVMBuildAnd(cg->b, bit_of(cg, n, lr.index, safe), inside, "");
  LLVMValueRef sh = LLVMBuildShl(cg->b, LLVMBuildZExt(cg->b, bit, cg->i64, ""), lb.index, "");
  cg_loop_next(&lb, word, LLVMBuildOr(cg->b, word, sh, ""));
  cg_loop_end(cg, &lb);
  cg_store(cg, lb.next[0], y, cg->i64, mad(cg, lr.index, words, lw.index), 8);
  cg_loop_end(cg, &lw);
  cg_loop_end(cg, &lr);
}

/* Bit of the [C,H,W] or [H,W,C] source at (a, b, col) of its own rows. */
static LLVMValueRef src_bit(Cg *cg, const IrNode *x, LLVMValueRef row, LLVMValueRef col) {
  int64_t words = ir_bit_row_words(&x->type);
  return load_bit(cg, buf(cg, x), mul(cg, row, words), col);
}

/* hwc: y[h,w,c] = x[c,h,w]; y's row is h*W + w, its column c. */
static LLVMValueRef hwc_bit(Cg *cg, const IrNode *n, LLVMValueRef row, LLVMValueRef col) {
  const IrNode *x = n->inputs[0];
  int64_t H = x->type.shape.dims[1], W = x->type.shape.dims[2];
  LLVMValueRef h = LLVMBuildUDiv(cg->b, row, cg_i64(cg, W), ""), w = LLVMBuildURem(cg->b, row, cg_i64(cg, W), "");
  return src_bit(cg, x, mad(cg, col, H, h), w);
}

/* chw: y[c,h,w] = x[h,w,c]; y's row is c*H + h, its column w. */
static LLVMValueRef chw_bit(Cg *cg, const IrNode *n, LLVMValueRef row, LLVMValueRef col) {
  const IrNode *x = n->inputs[0];
  int64_t H = x->type.shape.dims[0], W = x->type.shape.dims[1];
  LLVMValueRef c = LLVMBuildUDiv(cg->b, row, cg_i64(cg, H), ""), h = LLVMBuildURem(cg->b, row, cg_i64(cg, H), "");
  return src_bit(cg, x, mad(cg, h, W, col), c);
}

/* maxpool on bits [C,H,W]: -1 only if every bit of the window is -1. */
static LLVMValueRef maxpool_bit(Cg *cg, const IrNode *n, LLVMValueRef row, LLVMValueRef col) {
  const IrNode *x = n->inputs[0];
  const IrAttrs *a = &n->attrs;
  int64_t H = x->type.shape.dims[1], OH = n->type.shape.dims[1];
  LLVMValueRef c = LLVMBuildUDiv(cg->b, row, cg_i64(cg, OH), ""), oy = LLVMBuildURem(cg->b, row, cg_i64(cg, OH), "");
  LLVMValueRef all = LLVMConstInt(cg->i1, 1, 0);
  for (int ky = 0; ky < a->kernel_h; ky++) {
    LLVMValueRef iy = add(cg, mul(cg, oy, a->stride), cg_i64(cg, ky));
    for (int kx = 0; kx < a->kernel_w; kx++) {
      LLVMValueRef ix = add(cg, mul(cg, col, a->stride), cg_i64(cg, kx));
      all = LLVMBuildAnd(cg->b, all, src_bit(cg, x, mad(cg, c, H, iy), ix), "");
    }
  }
  return all;
}

/* ---- pooling --------------------------------------------------------------- */

/* f32 maxpool/avgpool [C,H,W] with the interpreter's arithmetic. */
static void emit_pool_f32(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0];
  const IrAttrs *a = &n->attrs;
  int64_t C = x->type.shape.dims[0], H = x->type.shape.dims[1], W = x->type.shape.dims[2];
  int64_t OH = n->type.shape.dims[1], OW = n->type.shape.dims[2];
  LLVMValueRef xp = buf(cg, x), yp = buf(cg, n);
  CgLoop lc, ly, lx;
  cg_loop_begin(cg, &lc, cg_i64(cg, C), "pool.c");
  cg_loop_begin(cg, &ly, cg_i64(cg, OH), "pool.y");
  cg_loop_begin(cg, &lx, cg_i64(cg, OW), "pool.x");
  LLVMValueRef acc = n->op == IR_AVGPOOL ? cg_f32(cg, 0.0f) : NULL;
  for (int ky = 0; ky < a->kernel_h; ky++)
    for (int kx = 0; kx < a->kernel_w; kx++) {
      LLVMValueRef iy = add(cg, mul(cg, ly.index, a->stride), cg_i64(cg, ky));
      LLVMValueRef ix = add(cg, mul(cg, lx.index, a->stride), cg_i64(cg, kx));
      LLVMValueRef v = cg_load(cg, xp, cg->f32, mad(cg, mad(cg, lc.index, H, iy), W, ix), 4);
      if (n->op == IR_AVGPOOL)
        acc = LLVMBuildFAdd(cg->b, acc, v, "");
      else
        acc = acc ? LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, v, acc, ""), v, acc, "") : v;
    }
  if (n->op == IR_AVGPOOL) acc = LLVMBuildFDiv(cg->b, acc, cg_f32(cg, (float)(a->kernel_h * a->kernel_w)), "");
  cg_store(cg, acc, yp, cg->f32, mad(cg, mad(cg, lc.index, OH, ly.index), OW, lx.index), 4);
  cg_loop_end(cg, &lx);
  cg_loop_end(cg, &ly);
  cg_loop_end(cg, &lc);
}

/* maxpool_hwc: each output word is the AND of the window's words. */
static void emit_maxpool_hwc(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0];
  const IrAttrs *a = &n->attrs;
  int64_t W = x->type.shape.dims[1], OH = n->type.shape.dims[0], OW = n->type.shape.dims[1];
  int64_t words = ir_bit_row_words(&x->type);
  LLVMValueRef xp = buf(cg, x), yp = buf(cg, n);
  CgLoop ly, lx, lw;
  cg_loop_begin(cg, &ly, cg_i64(cg, OH), "bpool.y");
  cg_loop_begin(cg, &lx, cg_i64(cg, OW), "bpool.x");
  cg_loop_begin(cg, &lw, cg_i64(cg, words), "bpool.w");
  LLVMValueRef acc = cg_i64(cg, -1);
  for (int ky = 0; ky < a->kernel_h; ky++)
    for (int kx = 0; kx < a->kernel_w; kx++) {
      LLVMValueRef iy = add(cg, mul(cg, ly.index, a->stride), cg_i64(cg, ky));
      LLVMValueRef ix = add(cg, mul(cg, lx.index, a->stride), cg_i64(cg, kx));
      LLVMValueRef at = mad(cg, mad(cg, iy, W, ix), words, lw.index);
      acc = LLVMBuildAnd(cg->b, acc, cg_load(cg, xp, cg->i64, at, 8), "");
    }
  cg_store(cg, acc, yp, cg->i64, mad(cg, mad(cg, ly.index, OW, lx.index), words, lw.index), 8);
  cg_loop_end(cg, &lw);
  cg_loop_end(cg, &lx);
  cg_loop_end(cg, &ly);
}

/* ---- float convolution ------------------------------------------------------ */

/* conv2d, or binconv2d on real input (weights sign(w) as +-1 floats, then
 * alpha): y[o,oy,ox] = (sum over c, ky, kx of x * w) (* alpha) (+ b). */
static void emit_conv_f32(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0], *w = n->inputs[1];
  const IrAttrs *a = &n->attrs;
  int64_t C = x->type.shape.dims[0], H = x->type.shape.dims[1], W = x->type.shape.dims[2];
  int64_t O = n->type.shape.dims[0], OH = n->type.shape.dims[1], OW = n->type.shape.dims[2];
  int64_t kh = a->kernel_h, kw = a->kernel_w, per_out = C * kh * kw;
  bool binary = n->op == IR_BINCONV2D;
  const float *wf = data_of(w, ELEM_F32);
  float *wt = zalloc((size_t)(O * per_out), sizeof *wt);
  float *alpha = zalloc((size_t)O, sizeof *alpha);
  for (int64_t o = 0; o < O; o++) {
    alpha[o] = binary && a->scale ? ir_eval_alpha(wf + o * per_out, per_out) : 1.0f;
    for (int64_t k = 0; k < per_out; k++)
      wt[o * per_out + k] = binary ? (wf[o * per_out + k] >= 0.0f ? 1.0f : -1.0f) : wf[o * per_out + k];
  }
  LLVMValueRef wg = cg_const_global(cg, "conv.w", wt, (size_t)(O * per_out) * sizeof *wt, cg->f32);
  LLVMValueRef ag = binary && a->scale ? cg_const_global(cg, "conv.alpha", alpha, (size_t)O * sizeof *alpha, cg->f32)
                                       : NULL;
  LLVMValueRef bg = n->n_inputs == 3 ? cg_const_global(cg, "conv.b", data_of(n->inputs[2], ELEM_F32),
                                                       (size_t)O * sizeof(float), cg->f32)
                                     : NULL;
  free(wt);
  free(alpha);
  LLVMValueRef xp = buf(cg, x), yp = buf(cg, n);
  CgLoop lo, ly, lx, lc, lky, lkx;
  cg_loop_begin(cg, &lo, cg_i64(cg, O), "conv.o");
  cg_loop_begin(cg, &ly, cg_i64(cg, OH), "conv.y");
  cg_loop_begin(cg, &lx, cg_i64(cg, OW), "conv.x");
  cg_loop_begin(cg, &lc, cg_i64(cg, C), "conv.c");
  LLVMValueRef acc_c = cg_loop_carry(cg, &lc, cg_f32(cg, 0.0f));
  cg_loop_begin(cg, &lky, cg_i64(cg, kh), "conv.ky");
  LLVMValueRef acc_y = cg_loop_carry(cg, &lky, acc_c);
  cg_loop_begin(cg, &lkx, cg_i64(cg, kw), "conv.kx");
  LLVMValueRef acc = cg_loop_carry(cg, &lkx, acc_y);
  LLVMValueRef iy = add(cg, mul(cg, ly.index, a->stride), LLVMBuildSub(cg->b, lky.index, cg_i64(cg, a->pad), ""));
  LLVMValueRef ix = add(cg, mul(cg, lx.index, a->stride), LLVMBuildSub(cg->b, lkx.index, cg_i64(cg, a->pad), ""));
  LLVMValueRef valid = NULL;
  if (a->pad > 0) {
    valid = LLVMBuildAnd(cg->b, in_range(cg, iy, H), in_range(cg, ix, W), "");
    iy = clamp(cg, iy, H);
    ix = clamp(cg, ix, W);
  }
  LLVMValueRef xv = cg_load(cg, xp, cg->f32, mad(cg, mad(cg, lc.index, H, iy), W, ix), 4);
  LLVMValueRef wi = mad(cg, mad(cg, mad(cg, lo.index, C, lc.index), kh, lky.index), kw, lkx.index);
  LLVMValueRef sum = LLVMBuildFAdd(cg->b, acc, LLVMBuildFMul(cg->b, xv, cg_load(cg, wg, cg->f32, wi, 4), ""), "");
  if (valid) sum = LLVMBuildSelect(cg->b, valid, sum, acc, "");
  cg_loop_next(&lkx, acc, sum);
  cg_loop_end(cg, &lkx);
  cg_loop_next(&lky, acc_y, lkx.next[0]);
  cg_loop_end(cg, &lky);
  cg_loop_next(&lc, acc_c, lky.next[0]);
  cg_loop_end(cg, &lc);
  LLVMValueRef v = lc.next[0];
  if (ag) v = LLVMBuildFMul(cg->b, v, cg_load(cg, ag, cg->f32, lo.index, 4), "");
  if (bg) v = LLVMBuildFAdd(cg->b, v, cg_load(cg, bg, cg->f32, lo.index, 4), "");
  cg_store(cg, v, yp, cg->f32, mad(cg, mad(cg, lo.index, OH, ly.index), OW, lx.index), 4);
  cg_loop_end(cg, &lx);
  cg_loop_end(cg, &ly);
  cg_loop_end(cg, &lo);
}

/* ---- binary convolution ------------------------------------------------------ */

typedef struct BinConv {
  const IrNode *n;
  LLVMValueRef x, w;          /* x bit[H,W,C] rows; w rows (o, ky, kx) */
  int64_t H, W, C, words, kh, kw, stride, pad;
} BinConv;

/* The exact accumulator of output (o, oy, ox): see the top of the file. */
static LLVMValueRef binconv_acc(Cg *cg, const BinConv *bc, LLVMValueRef o, LLVMValueRef oy, LLVMValueRef ox) {
  LLVMBuilderRef b = cg->b;
  CgLoop lky, lkx;
  cg_loop_begin(cg, &lky, cg_i64(cg, bc->kh), "bconv.ky");
  LLVMValueRef acc_y = cg_loop_carry(cg, &lky, cg_i32(cg, 0));
  cg_loop_begin(cg, &lkx, cg_i64(cg, bc->kw), "bconv.kx");
  LLVMValueRef acc = cg_loop_carry(cg, &lkx, acc_y);
  LLVMValueRef iy = add(cg, mul(cg, oy, bc->stride), LLVMBuildSub(b, lky.index, cg_i64(cg, bc->pad), ""));
  LLVMValueRef ix = add(cg, mul(cg, ox, bc->stride), LLVMBuildSub(b, lkx.index, cg_i64(cg, bc->pad), ""));
  LLVMValueRef valid = NULL;
  if (bc->pad > 0) {
    valid = LLVMBuildAnd(b, in_range(cg, iy, bc->H), in_range(cg, ix, bc->W), "");
    iy = clamp(cg, iy, bc->H);
    ix = clamp(cg, ix, bc->W);
  }
  LLVMValueRef xrow = mul(cg, mad(cg, iy, bc->W, ix), bc->words);
  LLVMValueRef wrow = mul(cg, mad(cg, mad(cg, o, bc->kh, lky.index), bc->kw, lkx.index), bc->words);
  LLVMValueRef pop = cg_i64(cg, 0);
  for (int64_t k = 0; k < bc->words; k++) {
    LLVMValueRef xw = cg_load(cg, bc->x, cg->i64, add(cg, xrow, cg_i64(cg, k)), 8);
    LLVMValueRef ww = cg_load(cg, bc->w, cg->i64, add(cg, wrow, cg_i64(cg, k)), 8);
    LLVMValueRef bits = LLVMBuildXor(b, xw, ww, "");
    pop = LLVMBuildAdd(b, pop, cg_call_intrinsic(cg, "llvm.ctpop", &cg->i64, 1, &bits, 1), "");
  }
  LLVMValueRef tap = LLVMBuildSub(b, cg_i32(cg, bc->C), LLVMBuildShl(b, LLVMBuildTrunc(b, pop, cg->i32, ""),
                                                                     cg_i32(cg, 1), ""), "");
  if (valid) tap = LLVMBuildSelect(b, valid, tap, cg_i32(cg, 0), "");
  cg_loop_next(&lkx, acc, LLVMBuildAdd(b, acc, tap, ""));
  cg_loop_end(cg, &lkx);
  cg_loop_next(&lky, acc_y, lkx.next[0]);
  cg_loop_end(cg, &lky);
  return lky.next[0];
}

/* Weights with `rows_to` output channels (zero rows added). */
static BinConv bin_conv(Cg *cg, const IrNode *n, int64_t rows_to) {
  const IrNode *x = n->inputs[0], *w = n->inputs[1];
  BinConv bc = {n, buf(cg, x), NULL, x->type.shape.dims[0], x->type.shape.dims[1], x->type.shape.dims[2],
                ir_bit_row_words(&x->type), n->attrs.kernel_h, n->attrs.kernel_w, n->attrs.stride, n->attrs.pad};
  size_t have = (size_t)ir_type_bytes(&w->type);
  size_t want = (size_t)(rows_to * bc.kh * bc.kw * bc.words) * 8;
  uint64_t *words = zalloc(want / 8, 8);
  memcpy(words, data_of(w, ELEM_BIT), have);
  bc.w = cg_const_global(cg, "bconv.w", words, want, cg->i64);
  free(words);
  return bc;
}

static void emit_binconv(Cg *cg, const IrNode *n) {
  int64_t O = n->type.shape.dims[0], OH = n->type.shape.dims[1], OW = n->type.shape.dims[2];
  BinConv bc = bin_conv(cg, n, O);
  LLVMValueRef yp = buf(cg, n);
  CgLoop lo, ly, lx;
  cg_loop_begin(cg, &lo, cg_i64(cg, O), "bconv.o");
  cg_loop_begin(cg, &ly, cg_i64(cg, OH), "bconv.y");
  cg_loop_begin(cg, &lx, cg_i64(cg, OW), "bconv.x");
  LLVMValueRef acc = binconv_acc(cg, &bc, lo.index, ly.index, lx.index);
  cg_store(cg, acc, yp, cg->i32, mad(cg, mad(cg, lo.index, OH, ly.index), OW, lx.index), 4);
  cg_loop_end(cg, &lx);
  cg_loop_end(cg, &ly);
  cg_loop_end(cg, &lo);
}

static void emit_binconv_thr(Cg *cg, const IrNode *n) {
  int64_t OH = n->type.shape.dims[0], OW = n->type.shape.dims[1], O = n->type.shape.dims[2];
  int64_t out_words = (O + 63) / 64, padded = out_words * 64;
  const int32_t *thr = data_of(n->inputs[2], ELEM_I32), *flip = data_of(n->inputs[3], ELEM_I32);
  int32_t *range = zalloc((size_t)padded * 2, sizeof *range);   /* +1 iff lo <= acc <= hi */
  for (int64_t o = 0; o < padded; o++) {
    bool real = o < O;
    range[2 * o] = real && !flip[o] ? thr[o] : INT32_MIN;
    range[2 * o + 1] = real && flip[o] ? thr[o] : INT32_MAX;
  }
  LLVMValueRef tab = cg_const_global(cg, "bconv.range", range, (size_t)padded * 2 * sizeof *range, cg->i32);
  free(range);
  BinConv bc = bin_conv(cg, n, padded);
  LLVMValueRef yp = buf(cg, n);
  LLVMBuilderRef b = cg->b;
  CgLoop ly, lx, lw, lb;
  cg_loop_begin(cg, &ly, cg_i64(cg, OH), "bconvt.y");
  cg_loop_begin(cg, &lx, cg_i64(cg, OW), "bconvt.x");
  cg_loop_begin(cg, &lw, cg_i64(cg, out_words), "bconvt.word");
  cg_loop_begin(cg, &lb, cg_i64(cg, 64), "bconvt.bit");
  LLVMValueRef word = cg_loop_carry(cg, &lb, cg_i64(cg, 0));
  LLVMValueRef o = mad(cg, lw.index, 64, lb.index);
  LLVMValueRef acc = binconv_acc(cg, &bc, o, ly.index, lx.index);
  LLVMValueRef lo = cg_load(cg, tab, cg->i32, mul(cg, o, 2), 4);
  LLVMValueRef hi = cg_load(cg, tab, cg->i32, add(cg, mul(cg, o, 2), cg_i64(cg, 1)), 4);
  LLVMValueRef pos = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, acc, lo, ""), LLVMBuildICmp(b, LLVMIntSLE, acc, hi, ""), "");
  LLVMValueRef neg = LLVMBuildZExt(b, LLVMBuildNot(b, pos, ""), cg->i64, "");
  cg_loop_next(&lb, word, LLVMBuildOr(b, word, LLVMBuildShl(b, neg, lb.index, ""), ""));
  cg_loop_end(cg, &lb);
  cg_store(cg, lb.next[0], yp, cg->i64, mad(cg, mad(cg, ly.index, OW, lx.index), out_words, lw.index), 8);
  cg_loop_end(cg, &lw);
  cg_loop_end(cg, &lx);
  cg_loop_end(cg, &ly);
}

/* ---- dispatch ------------------------------------------------------------------ */

bool cg_emit_conv_node(Cg *cg, const IrNode *n) {
  switch (n->op) {
  case IR_CONV2D:
  case IR_BINCONV2D:
    if (n->inputs[0]->type.elem != ELEM_F32) break;   /* bit binconv2d: pack_weights makes it binconv */
    emit_conv_f32(cg, n);
    return true;
  case IR_MAXPOOL:
    if (n->type.elem == ELEM_BIT) {
      pack_rows(cg, n, maxpool_bit);
      return true;
    }
    emit_pool_f32(cg, n);
    return true;
  case IR_AVGPOOL: emit_pool_f32(cg, n); return true;
  case IR_MAXPOOL_HWC: emit_maxpool_hwc(cg, n); return true;
  case IR_HWC: pack_rows(cg, n, hwc_bit); return true;
  case IR_CHW: pack_rows(cg, n, chw_bit); return true;
  case IR_BINCONV: emit_binconv(cg, n); return true;
  case IR_BINCONV_THR: emit_binconv_thr(cg, n); return true;
  default: break;
  }
  bnnc_error("layer %s: %s on %s input is not supported by the code generator (run the inference passes first)",
             n->label ? n->label : "?", ir_op_info[n->op].name, elem_type_name(n->inputs[0]->type.elem));
  return false;
}
