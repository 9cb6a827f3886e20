/* pack_weights.c - bit-pack the weights of binary dense layers.
 *
 * Needs:      binlinear weights bound (f32 latent weights [out, in]).
 * Guarantees: no binlinear, and no binconv2d with bit input, remains.
 *             A binconv2d(x bit[C,H,W]) {k, s, p} becomes
 *               binconv(hwc(x), "L.weight.packed" : bit[O,kh,kw,C]) {k, s, p}
 *                 -> affine(scale, shift)
 *             with the same scale/shift as below and the weight bit of
 *             (o, ky, kx, c) = sign(w[o,c,ky,kx]): XNOR-popcount over packed
 *             channels (docs/ir.md, "Convolutions"); the integer accumulator
 *             (padded taps add 0) is exactly the f32 sum of +-1 binconv2d
 *             forms, so this too is bit for bit. A binconv2d on real input
 *             stays (a float convolution with +-1 weights).
 *             Each binlinear becomes
 *               bindense(x, "L.weight.packed" : bit[out,in]) -> affine(scale, shift)
 *             where the packed row holds sign(w) (sign(0) = +1 -> bit 0, the
 *             layout of ir.h: 64-bit words, LSB first, rows padded with 0
 *             bits, which cancel in XOR), scale is "L.alpha" (alpha_i = mean_j
 *             |w_ij| computed as ir_eval_alpha does) or the constant 1, and
 *             shift is the layer's bias or the constant 0.
 *             The result is bit-for-bit the binlinear's: the accumulator of
 *             +-1 or of +-x_j is the same f32 sum (exact integers for bit x),
 *             and the affine performs the same `* alpha` then `+ b`.
 */
#include "ir_eval.h"
#include "pass_util.h"
#include "passes.h"

static IrNode *pack_rows(IrGraph *g, IrNode *before, const IrNode *w) {
  int64_t out = w->type.shape.dims[0], in = w->type.shape.dims[1];
  IrNode *packed = pass_new_param(g, before, ir_type2(ELEM_BIT, out, in),
                                  arena_printf(g->arena, "%s.packed", w->attrs.name));
  const float *wf = pass_param_f32(w);
  int64_t words = ir_bit_row_words(&packed->type);
  uint64_t *bits = packed->data;
  for (int64_t i = 0; i < out; i++)
    for (int64_t j = 0; j < in; j++) ir_bit_set(bits + i * words, j, !(wf[i * in + j] >= 0.0f));
  return packed;
}

static IrNode *constant(IrGraph *g, IrNode *before, const IrNode *layer, const char *what, float v) {
  IrNode *c = pass_new_param_f32(g, before, 1, pass_const_name(g, layer, what));
  ((float *)c->data)[0] = v;
  return c;
}

static void pack_binlinear(IrGraph *g, IrNode *n) {
  IrNode *x = n->inputs[0], *w = n->inputs[1];
  IrNode *bias = n->n_inputs == 3 ? n->inputs[2] : NULL;
  int64_t out = w->type.shape.dims[0], in = w->type.shape.dims[1];

  IrNode *packed = pack_rows(g, n, w);
  IrNode *scale;
  if (n->attrs.scale) {
    scale = pass_new_param_f32(g, n, out, pass_const_name(g, n, "alpha"));
    const float *wf = pass_param_f32(w);
    for (int64_t i = 0; i < out; i++) ((float *)scale->data)[i] = ir_eval_alpha(wf + i * in, in);
  } else {
    scale = constant(g, n, n, "one", 1.0f);
  }
  IrNode *shift = bias ? bias : constant(g, n, n, "zero", 0.0f);

  IrNode *dense_in[2] = {x, packed};
  ElemType acc = x->type.elem == ELEM_F32 ? ELEM_F32 : ELEM_I32;
  IrNode *dense = pass_new_node(g, n, n, IR_BINDENSE, ir_type1(acc, out), dense_in, 2);
  IrNode *affine_in[3] = {dense, scale, shift};
  IrNode *affine = pass_new_node(g, n, n, IR_AFFINE, n->type, affine_in, 3);
  ir_replace_uses(g, n, affine);
  ir_remove(g, n);
}

/* binconv2d with bit x: the weights [O,C,kh,kw] become bit[O,kh,kw,C], one
 * packed row of input channels per (o, ky, kx); x is read channels last. */
static void pack_binconv2d(IrGraph *g, IrNode *n) {
  IrNode *x = n->inputs[0], *w = n->inputs[1];
  IrNode *bias = n->n_inputs == 3 ? n->inputs[2] : NULL;
  const int64_t *wd = w->type.shape.dims;
  int64_t out = wd[0], C = wd[1], kh = wd[2], kw = wd[3], per_out = C * kh * kw;
  Shape ps = {4, {out, kh, kw, C}};
  IrNode *packed = pass_new_param(g, n, ir_type(ELEM_BIT, &ps),
                                  arena_printf(g->arena, "%s.packed", w->attrs.name));
  const float *wf = pass_param_f32(w);
  int64_t words = ir_bit_row_words(&packed->type);
  uint64_t *bits = packed->data;
  for (int64_t o = 0; o < out; o++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t ky = 0; ky < kh; ky++)
        for (int64_t kx = 0; kx < kw; kx++)
          ir_bit_set(bits + ((o * kh + ky) * kw + kx) * words, c,
                     !(wf[((o * C + c) * kh + ky) * kw + kx] >= 0.0f));
  IrNode *scale;
  if (n->attrs.scale) {
    scale = pass_new_param_f32(g, n, out, pass_const_name(g, n, "alpha"));
    for (int64_t o = 0; o < out; o++) ((float *)scale->data)[o] = ir_eval_alpha(wf + o * per_out, per_out);
  } else {
    scale = constant(g, n, n, "one", 1.0f);
  }
  IrNode *shift = bias ? bias : constant(g, n, n, "zero", 0.0f);

  const int64_t *xd = x->type.shape.dims;
  Shape hs = {3, {xd[1], xd[2], xd[0]}};
  IrNode *hwc = pass_new_node(g, n, n, IR_HWC, ir_type(ELEM_BIT, &hs), &x, 1);
  IrNode *conv_in[2] = {hwc, packed};
  IrNode *conv = pass_new_node(g, n, n, IR_BINCONV, ir_type(ELEM_I32, &n->type.shape), conv_in, 2);
  conv->attrs = n->attrs;
  conv->attrs.scale = false;
  IrNode *affine_in[3] = {conv, scale, shift};
  IrNode *affine = pass_new_node(g, n, n, IR_AFFINE, n->type, affine_in, 3);
  ir_replace_uses(g, n, affine);
  ir_remove(g, n);
}

int pass_pack_weights(IrGraph *g) {
  int packed = 0;
  for (IrNode *n = g->first, *next; n; n = next) {
    next = n->next;
    if (n->op == IR_BINLINEAR) {
      pack_binlinear(g, n);
      packed++;
    } else if (n->op == IR_BINCONV2D && n->inputs[0]->type.elem == ELEM_BIT) {
      pack_binconv2d(g, n);
      packed++;
    }
  }
  pass_remove_dead(g);   /* the latent f32 weights */
  return packed;
}
