/* kernels_conv.c - LLVM IR for the convolution and pooling ops.
 *
 *   conv2d, binconv2d (real input)  f32 [C,H,W] direct convolution; the sum
 *                 runs over (c, ky, kx) in that order, one rounded f32 add
 *                 per tap, as ir_eval and the runtime compute it, so the
 *                 result is bit for bit the interpreter's. Padded taps are
 *                 skipped (select), not added as 0 * w. Vectorized across
 *                 ox (one output per lane), never across the sum.
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
 *                 Out-of-image taps load a clamped (valid) address and AND
 *                 their terms with 0; with pad = 0 no test is emitted.
 *                 Vectorized across 64 output channels per pixel (weights
 *                 transposed, see binconv_pops). binconv_thr compares acc
 *                 with the channel's [lo, hi] range (from thr/flip) and packs
 *                 64 output channels per word of the channels-last result;
 *                 output channels are padded to a multiple of 64 with zero
 *                 weights and an always-+1 range.
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

/* ---- vector helpers ---------------------------------------------------------- */

enum {
  CONV_LANES = 8,        /* f32 lanes per vector: 8 consecutive ox of one output row */
  CONV_MAX_CHUNKS = 4,   /* vectors of one output row computed together */
  CONV_MAX_ACCS = 16,    /* output channels x chunks kept in registers */
  BCONV_GROUP = 64,      /* output channels per pass of a binary conv: one output word */
  BCONV_MAX_UNROLL = 8,  /* channel words per tap unrolled; above it, a loop */
};

/* <n x T> with every lane v. */
static LLVMValueRef splat(Cg *cg, LLVMValueRef v, unsigned n) {
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(v), n);
  LLVMValueRef one = LLVMBuildInsertElement(cg->b, LLVMGetUndef(vt), v, cg_i32(cg, 0), "");
  return LLVMBuildShuffleVector(cg->b, one, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(cg->i32, n)), "");
}

/* <8 x i64> {base + 0 * step, ..., base + 7 * step}. */
static LLVMValueRef lane_ramp(Cg *cg, LLVMValueRef base, int64_t step) {
  LLVMValueRef lanes[CONV_LANES];
  for (int i = 0; i < CONV_LANES; i++) lanes[i] = cg_i64(cg, i * step);
  return LLVMBuildAdd(cg->b, splat(cg, base, CONV_LANES), LLVMConstVector(lanes, CONV_LANES), "");
}

/* 0 <= v < n lane by lane, for an <8 x i64> v. */
static LLVMValueRef lanes_in_range(Cg *cg, LLVMValueRef v, int64_t n) {
  return LLVMBuildICmp(cg->b, LLVMIntULT, v, splat(cg, cg_i64(cg, n), CONV_LANES), "");
}

static LLVMValueRef ptr_to(Cg *cg, LLVMValueRef base, LLVMTypeRef elem, LLVMValueRef index) {
  LLVMValueRef typed = LLVMBuildPointerCast(cg->b, base, LLVMPointerType(elem, 0), "");
  return LLVMBuildGEP2(cg->b, elem, typed, &index, 1, "");   /* not inbounds: masked lanes may point outside */
}

/* Lanes of x[at + k * stride] (f32) where mask is set, 0 elsewhere; masked
 * lanes are not read. stride 1: one masked load, else a masked gather. */
static LLVMValueRef masked_load_f32(Cg *cg, LLVMValueRef x, LLVMValueRef at, int64_t stride, LLVMValueRef mask) {
  LLVMValueRef zero = LLVMConstNull(cg->v8f32), align = cg_i32(cg, 4);
  if (stride == 1) {
    LLVMTypeRef pt = LLVMPointerType(cg->v8f32, 0);
    LLVMValueRef p = LLVMBuildPointerCast(cg->b, ptr_to(cg, x, cg->f32, at), pt, "");
    LLVMTypeRef ov[2] = {cg->v8f32, pt};
    LLVMValueRef args[4] = {p, align, mask, zero};
    return cg_call_intrinsic(cg, "llvm.masked.load", ov, 2, args, 4);
  }
  LLVMValueRef typed = LLVMBuildPointerCast(cg->b, x, LLVMPointerType(cg->f32, 0), "");
  LLVMValueRef idx = lane_ramp(cg, at, stride);
  LLVMValueRef ptrs = LLVMBuildGEP2(cg->b, cg->f32, typed, &idx, 1, "");
  LLVMTypeRef ov[2] = {cg->v8f32, LLVMTypeOf(ptrs)};
  LLVMValueRef args[4] = {ptrs, align, mask, zero};
  return cg_call_intrinsic(cg, "llvm.masked.gather", ov, 2, args, 4);
}

static void masked_store_f32(Cg *cg, LLVMValueRef v, LLVMValueRef y, LLVMValueRef at, LLVMValueRef mask) {
  LLVMTypeRef pt = LLVMPointerType(cg->v8f32, 0);
  LLVMValueRef p = LLVMBuildPointerCast(cg->b, ptr_to(cg, y, cg->f32, at), pt, "");
  LLVMTypeRef ov[2] = {cg->v8f32, pt};
  LLVMValueRef args[4] = {v, p, cg_i32(cg, 4), mask};
  cg_call_intrinsic(cg, "llvm.masked.store", ov, 2, args, 4);
}

/* ---- float convolution ------------------------------------------------------ */

/* conv2d, or binconv2d on real input (weights sign(w) as +-1 floats, then
 * alpha): y[o,oy,ox] = (sum over c, ky, kx of x * w) (* alpha) (+ b).
 *
 * Vectorized across ox, never across the sum: a lane is one output, and it
 * adds its taps in the interpreter's (c, ky, kx) order, one rounded fmul and
 * fadd each, so every output is bit for bit ir_eval's. A pass computes `ob`
 * output channels x `chunks` vectors of 8 consecutive ox of one output row
 * (up to 16 accumulators), so each input load serves ob channels and the
 * dependent adds of one output interleave with 15 others. Lanes past OW and
 * taps in the padding are masked (the padded term is skipped, as ir_eval
 * does). */
static void emit_conv_f32(Cg *cg, const IrNode *n) {
  const IrNode *x = n->inputs[0], *w = n->inputs[1];
  const IrAttrs *a = &n->attrs;
  LLVMBuilderRef b = cg->b;
  int64_t C = x->type.shape.dims[0], H = x->type.shape.dims[1], W = x->type.shape.dims[2];
  int64_t O = n->type.shape.dims[0], OH = n->type.shape.dims[1], OW = n->type.shape.dims[2];
  int64_t kh = a->kernel_h, kw = a->kernel_w, per_out = C * kh * kw, s = a->stride;
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

  int64_t row_vectors = (OW + CONV_LANES - 1) / CONV_LANES;
  int chunks = (int)(row_vectors < CONV_MAX_CHUNKS ? row_vectors : CONV_MAX_CHUNKS);
  int64_t groups = (row_vectors + chunks - 1) / chunks;
  int ob = 1;
  for (int cand = CONV_MAX_ACCS / chunks; cand > 1; cand--)
    if (O % cand == 0) {
      ob = cand;
      break;
    }
  LLVMValueRef xp = buf(cg, x), yp = buf(cg, n);
  CgLoop lo, ly, lg, lc, lky;
  cg_loop_begin(cg, &lo, cg_i64(cg, O / ob), "conv.o");
  cg_loop_begin(cg, &ly, cg_i64(cg, OH), "conv.y");
  cg_loop_begin(cg, &lg, cg_i64(cg, groups), "conv.xgroup");
  LLVMValueRef o0 = mul(cg, lo.index, ob);
  LLVMValueRef ox0[CONV_MAX_CHUNKS], oxv[CONV_MAX_CHUNKS], lane_ok[CONV_MAX_CHUNKS];
  for (int j = 0; j < chunks; j++) {
    ox0[j] = mad(cg, lg.index, chunks * CONV_LANES, cg_i64(cg, j * CONV_LANES));
    oxv[j] = lane_ramp(cg, ox0[j], 1);
    lane_ok[j] = lanes_in_range(cg, oxv[j], OW);
  }
  int n_acc = ob * chunks;
  LLVMValueRef acc_c[CONV_MAX_ACCS], acc_y[CONV_MAX_ACCS], acc[CONV_MAX_ACCS];
  cg_loop_begin(cg, &lc, cg_i64(cg, C), "conv.c");
  for (int k = 0; k < n_acc; k++) acc_c[k] = cg_loop_carry(cg, &lc, LLVMConstNull(cg->v8f32));
  cg_loop_begin(cg, &lky, cg_i64(cg, kh), "conv.ky");
  for (int k = 0; k < n_acc; k++) acc[k] = acc_y[k] = cg_loop_carry(cg, &lky, acc_c[k]);
  LLVMValueRef iy = add(cg, mul(cg, ly.index, s), LLVMBuildSub(b, lky.index, cg_i64(cg, a->pad), ""));
  LLVMValueRef row_ok = a->pad > 0 ? in_range(cg, iy, H) : NULL;
  LLVMValueRef xrow = mad(cg, mad(cg, lc.index, H, a->pad > 0 ? clamp(cg, iy, H) : iy), W, cg_i64(cg, 0));
  LLVMValueRef wrow = mad(cg, mad(cg, o0, C, lc.index), kh, lky.index);   /* row (o0, c, ky) of kw taps */
  for (int64_t kx = 0; kx < kw; kx++) {
    LLVMValueRef wv[CONV_MAX_ACCS];
    for (int j = 0; j < ob; j++)
      wv[j] = splat(cg, cg_load(cg, wg, cg->f32, add(cg, mul(cg, add(cg, wrow, cg_i64(cg, j * C * kh)), kw),
                                                     cg_i64(cg, kx)), 4), CONV_LANES);
    for (int ch = 0; ch < chunks; ch++) {
      LLVMValueRef mask = lane_ok[ch];
      LLVMValueRef ix0 = add(cg, mul(cg, ox0[ch], s), cg_i64(cg, kx - a->pad));
      if (a->pad > 0) {
        LLVMValueRef ixv = LLVMBuildAdd(b, LLVMBuildMul(b, oxv[ch], splat(cg, cg_i64(cg, s), CONV_LANES), ""),
                                        splat(cg, cg_i64(cg, kx - a->pad), CONV_LANES), "");
        mask = LLVMBuildAnd(b, mask, lanes_in_range(cg, ixv, W), "");
        mask = LLVMBuildAnd(b, mask, splat(cg, row_ok, CONV_LANES), "");
      }
      LLVMValueRef xv = masked_load_f32(cg, xp, add(cg, xrow, ix0), s, mask);
      for (int j = 0; j < ob; j++) {
        LLVMValueRef *ac = &acc[j * chunks + ch];
        LLVMValueRef sum = LLVMBuildFAdd(b, *ac, LLVMBuildFMul(b, xv, wv[j], ""), "");
        *ac = a->pad > 0 ? LLVMBuildSelect(b, mask, sum, *ac, "") : sum;
      }
    }
  }
  for (int k = 0; k < n_acc; k++) cg_loop_next(&lky, acc_y[k], acc[k]);
  cg_loop_end(cg, &lky);
  for (int k = 0; k < n_acc; k++) cg_loop_next(&lc, acc_c[k], lky.next[k]);
  cg_loop_end(cg, &lc);
  for (int j = 0; j < ob; j++) {
    LLVMValueRef o = add(cg, o0, cg_i64(cg, j));
    LLVMValueRef av = ag ? splat(cg, cg_load(cg, ag, cg->f32, o, 4), CONV_LANES) : NULL;
    LLVMValueRef bv = bg ? splat(cg, cg_load(cg, bg, cg->f32, o, 4), CONV_LANES) : NULL;
    for (int ch = 0; ch < chunks; ch++) {
      LLVMValueRef v = lc.next[j * chunks + ch];
      if (av) v = LLVMBuildFMul(b, v, av, "");
      if (bv) v = LLVMBuildFAdd(b, v, bv, "");
      masked_store_f32(cg, v, yp, mad(cg, mad(cg, o, OH, ly.index), OW, ox0[ch]), lane_ok[ch]);
    }
  }
  cg_loop_end(cg, &lg);
  cg_loop_end(cg, &ly);
  cg_loop_end(cg, &lo);
}

/* ---- binary convolution ------------------------------------------------------ */

/* binconv and binconv_thr, vectorized across output channels: for one output
 * pixel, 64 output channels at a time (8 x <8 x i64> accumulators, one lane
 * per channel), each word of the input window is broadcast and XORed with the
 * 64 channels' weight words, which are stored transposed for this:
 *   wt[g][k][j] = word k of the packed row of channel o = 64 g + j,
 *   k = (ky * kw + kx) * words + word,  zero for o >= O.
 * A tap outside the image ANDs its terms with 0 (its address clamped inside)
 * and K_valid counts C per tap inside, so acc = K_valid - 2 * popcount over
 * the valid taps: exact, as described at the top of the file. */
typedef struct BinConv {
  const IrNode *n;
  LLVMValueRef x, wt;         /* x bit[H,W,C] rows; wt as above */
  int64_t H, W, C, words, kh, kw, stride, pad, O, groups;
  int passes;                 /* 1, or 2 half groups of 32 channels where registers are few */
} BinConv;

static BinConv bin_conv(Cg *cg, const IrNode *n, int64_t O) {
  const IrNode *x = n->inputs[0], *w = n->inputs[1];
  BinConv bc = {n, buf(cg, x), NULL, x->type.shape.dims[0], x->type.shape.dims[1], x->type.shape.dims[2],
                ir_bit_row_words(&x->type), n->attrs.kernel_h, n->attrs.kernel_w, n->attrs.stride, n->attrs.pad,
                O, (O + BCONV_GROUP - 1) / BCONV_GROUP, cg->x86_avx512 ? 1 : 2};
  int64_t K = bc.kh * bc.kw * bc.words;
  const uint64_t *src = data_of(w, ELEM_BIT);
  uint64_t *wt = zalloc((size_t)(bc.groups * K * BCONV_GROUP), 8);
  for (int64_t o = 0; o < O; o++)
    for (int64_t k = 0; k < K; k++) wt[((o / BCONV_GROUP) * K + k) * BCONV_GROUP + o % BCONV_GROUP] = src[o * K + k];
  bc.wt = cg_const_global(cg, "bconv.w", wt, (size_t)(bc.groups * K * BCONV_GROUP) * 8, cg->i64);
  free(wt);
  return bc;
}

/* popcount sums of the taps of output (oy, ox) for channels 64 g + lane0 ..
 * + 8 n_vec - 1, as n_vec <8 x i32>; *k_valid: C x the taps inside (i32). */
static void binconv_pops(Cg *cg, const BinConv *bc, LLVMValueRef oy, LLVMValueRef ox, LLVMValueRef g, int lane0,
                         int n_vec, LLVMValueRef *pops, LLVMValueRef *k_valid) {
  LLVMBuilderRef b = cg->b;
  int64_t K = bc->kh * bc->kw * bc->words;
  bool padded = bc->pad > 0, word_loop = bc->words > BCONV_MAX_UNROLL;
  LLVMValueRef wbase = mul(cg, g, K * BCONV_GROUP);
  CgLoop lky, lkx, lwd;
  LLVMValueRef acc_y[BCONV_GROUP / CONV_LANES], acc_x[BCONV_GROUP / CONV_LANES], acc[BCONV_GROUP / CONV_LANES];
  LLVMValueRef taps_y = NULL, taps_x = NULL;
  cg_loop_begin(cg, &lky, cg_i64(cg, bc->kh), "bconv.ky");
  for (int v = 0; v < n_vec; v++) acc_y[v] = cg_loop_carry(cg, &lky, LLVMConstNull(cg->v8i64));
  if (padded) taps_y = cg_loop_carry(cg, &lky, cg_i32(cg, 0));
  cg_loop_begin(cg, &lkx, cg_i64(cg, bc->kw), "bconv.kx");
  for (int v = 0; v < n_vec; v++) acc_x[v] = cg_loop_carry(cg, &lkx, acc_y[v]);
  if (padded) taps_x = cg_loop_carry(cg, &lkx, taps_y);
  LLVMValueRef iy = add(cg, mul(cg, oy, bc->stride), LLVMBuildSub(b, lky.index, cg_i64(cg, bc->pad), ""));
  LLVMValueRef ix = add(cg, mul(cg, ox, bc->stride), LLVMBuildSub(b, lkx.index, cg_i64(cg, bc->pad), ""));
  LLVMValueRef mask = NULL, taps_next = NULL;
  if (padded) {
    LLVMValueRef valid = LLVMBuildAnd(b, in_range(cg, iy, bc->H), in_range(cg, ix, bc->W), "");
    mask = splat(cg, LLVMBuildSExt(b, valid, cg->i64, ""), CONV_LANES);
    taps_next = LLVMBuildAdd(b, taps_x, LLVMBuildZExt(b, valid, cg->i32, ""), "");
    iy = clamp(cg, iy, bc->H);
    ix = clamp(cg, ix, bc->W);
  }
  LLVMValueRef xrow = mul(cg, mad(cg, iy, bc->W, ix), bc->words);
  LLVMValueRef k0 = mul(cg, mad(cg, lky.index, bc->kw, lkx.index), bc->words);
  for (int v = 0; v < n_vec; v++) acc[v] = acc_x[v];
  int64_t unrolled = word_loop ? 1 : bc->words;
  LLVMValueRef word0 = cg_i64(cg, 0), acc_w[BCONV_GROUP / CONV_LANES];
  if (word_loop) {
    cg_loop_begin(cg, &lwd, cg_i64(cg, bc->words), "bconv.word");
    for (int v = 0; v < n_vec; v++) acc[v] = acc_w[v] = cg_loop_carry(cg, &lwd, acc_x[v]);
    word0 = lwd.index;
  }
  for (int64_t u = 0; u < unrolled; u++) {
    LLVMValueRef word = add(cg, word0, cg_i64(cg, u));
    LLVMValueRef xv = splat(cg, cg_load(cg, bc->x, cg->i64, add(cg, xrow, word), 8), CONV_LANES);
    LLVMValueRef wrow = mad(cg, add(cg, k0, word), BCONV_GROUP, wbase);
    for (int v = 0; v < n_vec; v++) {
      LLVMValueRef wv = cg_load(cg, bc->wt, cg->v8i64, LLVMBuildLShr(b, add(cg, wrow, cg_i64(cg, lane0 + v * CONV_LANES)),
                                                                   cg_i64(cg, 3), ""), 64);
      LLVMValueRef bits = LLVMBuildXor(b, xv, wv, "");
      if (mask) bits = LLVMBuildAnd(b, bits, mask, "");
      acc[v] = LLVMBuildAdd(b, acc[v], cg_call_intrinsic(cg, "llvm.ctpop", &cg->v8i64, 1, &bits, 1), "");
    }
  }
  if (word_loop) {
    for (int v = 0; v < n_vec; v++) cg_loop_next(&lwd, acc_w[v], acc[v]);
    cg_loop_end(cg, &lwd);
    for (int v = 0; v < n_vec; v++) acc[v] = lwd.next[v];
  }
  for (int v = 0; v < n_vec; v++) cg_loop_next(&lkx, acc_x[v], acc[v]);
  if (padded) cg_loop_next(&lkx, taps_x, taps_next);
  cg_loop_end(cg, &lkx);
  for (int v = 0; v < n_vec; v++) cg_loop_next(&lky, acc_y[v], lkx.next[v]);
  if (padded) cg_loop_next(&lky, taps_y, lkx.next[n_vec]);
  cg_loop_end(cg, &lky);
  LLVMTypeRef v8i32 = LLVMVectorType(cg->i32, CONV_LANES);
  for (int v = 0; v < n_vec; v++) pops[v] = LLVMBuildTrunc(b, lky.next[v], v8i32, "");
  *k_valid = padded ? LLVMBuildMul(b, lky.next[n_vec], cg_i32(cg, bc->C), "")
                    : cg_i32(cg, bc->C * bc->kh * bc->kw);
}

/* acc = K_valid - 2 * pop, lane by lane. */
static LLVMValueRef binconv_acc(Cg *cg, LLVMValueRef pop, LLVMValueRef k_valid) {
  return LLVMBuildSub(cg->b, splat(cg, k_valid, CONV_LANES), LLVMBuildShl(cg->b, pop, splat(cg, cg_i32(cg, 1), CONV_LANES), ""), "");
}

/* binconv: i32 [O,OH,OW], channel-major; 8 channels per scatter. */
static void emit_binconv(Cg *cg, const IrNode *n) {
  int64_t O = n->type.shape.dims[0], OH = n->type.shape.dims[1], OW = n->type.shape.dims[2];
  BinConv bc = bin_conv(cg, n, O);
  LLVMValueRef yp = LLVMBuildPointerCast(cg->b, buf(cg, n), LLVMPointerType(cg->i32, 0), "");
  LLVMBuilderRef b = cg->b;
  int per_pass = BCONV_GROUP / CONV_LANES / bc.passes;
  CgLoop ly, lx, lg;
  cg_loop_begin(cg, &ly, cg_i64(cg, OH), "bconv.y");
  cg_loop_begin(cg, &lx, cg_i64(cg, OW), "bconv.x");
  cg_loop_begin(cg, &lg, cg_i64(cg, bc.groups), "bconv.group");
  for (int p = 0; p < bc.passes; p++) {
    LLVMValueRef pops[BCONV_GROUP / CONV_LANES], k_valid;
    int lane0 = p * per_pass * CONV_LANES;
    binconv_pops(cg, &bc, ly.index, lx.index, lg.index, lane0, per_pass, pops, &k_valid);
    for (int v = 0; v < per_pass; v++) {
      LLVMValueRef o = lane_ramp(cg, mad(cg, lg.index, BCONV_GROUP, cg_i64(cg, lane0 + v * CONV_LANES)), 1);
      LLVMValueRef at = LLVMBuildAdd(b, LLVMBuildMul(b, o, splat(cg, cg_i64(cg, OH * OW), CONV_LANES), ""),
                                     splat(cg, mad(cg, ly.index, OW, lx.index), CONV_LANES), "");
      LLVMValueRef ptrs = LLVMBuildGEP2(b, cg->i32, yp, &at, 1, "");
      LLVMTypeRef ov[2] = {LLVMVectorType(cg->i32, CONV_LANES), LLVMTypeOf(ptrs)};
      LLVMValueRef args[4] = {binconv_acc(cg, pops[v], k_valid), ptrs, cg_i32(cg, 4), lanes_in_range(cg, o, O)};
      cg_call_intrinsic(cg, "llvm.masked.scatter", ov, 2, args, 4);
    }
  }
  cg_loop_end(cg, &lg);
  cg_loop_end(cg, &lx);
  cg_loop_end(cg, &ly);
}

/* <8k x i1> of two <4k x i1> (or any two equal vectors), a then b. */
static LLVMValueRef concat(Cg *cg, LLVMValueRef a, LLVMValueRef b) {
  unsigned n = LLVMGetVectorSize(LLVMTypeOf(a));
  LLVMValueRef idx[BCONV_GROUP];
  for (unsigned i = 0; i < 2 * n; i++) idx[i] = cg_i32(cg, i);
  return LLVMBuildShuffleVector(cg->b, a, b, LLVMConstVector(idx, 2 * n), "");
}

/* binconv_thr: bit [OH,OW,O] channels last; a group of 64 channels is one
 * output word, bit j set (-1) unless lo[o] <= acc <= hi[o]. */
static void emit_binconv_thr(Cg *cg, const IrNode *n) {
  int64_t OH = n->type.shape.dims[0], OW = n->type.shape.dims[1], O = n->type.shape.dims[2];
  int64_t out_words = (O + 63) / 64, padded = out_words * 64;
  const int32_t *thr = data_of(n->inputs[2], ELEM_I32), *flip = data_of(n->inputs[3], ELEM_I32);
  int32_t *range = zalloc((size_t)padded * 2, sizeof *range);   /* lo[padded], then hi[padded] */
  for (int64_t o = 0; o < padded; o++) {
    bool real = o < O;
    range[o] = real && !flip[o] ? thr[o] : INT32_MIN;
    range[padded + o] = real && flip[o] ? thr[o] : INT32_MAX;
  }
  LLVMTypeRef v8i32 = LLVMVectorType(cg->i32, CONV_LANES);
  LLVMValueRef tab = cg_const_global(cg, "bconv.range", range, (size_t)padded * 2 * sizeof *range, v8i32);
  free(range);
  BinConv bc = bin_conv(cg, n, O);
  BNNC_ASSERT(bc.groups == out_words);
  LLVMValueRef yp = buf(cg, n);
  LLVMBuilderRef b = cg->b;
  int per_pass = BCONV_GROUP / CONV_LANES / bc.passes;
  CgLoop ly, lx, lg;
  cg_loop_begin(cg, &ly, cg_i64(cg, OH), "bconvt.y");
  cg_loop_begin(cg, &lx, cg_i64(cg, OW), "bconvt.x");
  cg_loop_begin(cg, &lg, cg_i64(cg, out_words), "bconvt.word");
  LLVMValueRef word = cg_i64(cg, 0);
  for (int p = 0; p < bc.passes; p++) {
    LLVMValueRef pops[BCONV_GROUP / CONV_LANES], neg[BCONV_GROUP / CONV_LANES] = {NULL}, k_valid;
    int lane0 = p * per_pass * CONV_LANES;
    binconv_pops(cg, &bc, ly.index, lx.index, lg.index, lane0, per_pass, pops, &k_valid);
    for (int v = 0; v < per_pass; v++) {
      LLVMValueRef acc = binconv_acc(cg, pops[v], k_valid);
      LLVMValueRef vec = mad(cg, lg.index, BCONV_GROUP / CONV_LANES, cg_i64(cg, lane0 / CONV_LANES + v));
      LLVMValueRef lo = cg_load(cg, tab, v8i32, vec, 32);
      LLVMValueRef hi = cg_load(cg, tab, v8i32, add(cg, vec, cg_i64(cg, padded / CONV_LANES)), 32);
      LLVMValueRef pos = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, acc, lo, ""), LLVMBuildICmp(b, LLVMIntSLE, acc, hi, ""), "");
      neg[v] = LLVMBuildNot(b, pos, "");
    }
    for (int len = per_pass; len > 1; len /= 2)
      for (int i = 0; i < len / 2; i++) neg[i] = concat(cg, neg[2 * i], neg[2 * i + 1]);
    int nbits = per_pass * CONV_LANES;
    LLVMValueRef part = LLVMBuildBitCast(b, neg[0], LLVMIntTypeInContext(cg->ctx, (unsigned)nbits), "");
    if (nbits < 64) part = LLVMBuildZExt(b, part, cg->i64, "");
    word = LLVMBuildOr(b, word, LLVMBuildShl(b, part, cg_i64(cg, lane0), ""), "");
  }
  cg_store(cg, word, yp, cg->i64, mad(cg, mad(cg, ly.index, OW, lx.index), out_words, lg.index), 8);
  cg_loop_end(cg, &lg);
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
