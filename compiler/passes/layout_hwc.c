/* layout_hwc.c - keep packed convolution activations channels last.
 *
 * Needs:      fuse_threshold has run (binconv_thr results appear as
 *             chw(binconv_thr(...)), binconv inputs as hwc(...)).
 * Guarantees: the transposes between the two bit layouts are removed where
 *             an equivalent form without them exists, applied until none
 *             matches (each rule is the same function, bit for bit):
 *               hwc(chw(x))               -> x
 *               maxpool(chw(x)), x bit    -> chw(maxpool_hwc(x))
 *               flatten(chw(x)) read only as the input of bindense or
 *               bindense_thr              -> flatten(x), and each reader's
 *                                            weight columns permuted
 *             The last rule keeps PyTorch's C,H,W flatten order without
 *             moving a bit at run time: a dense layer's column j = (c*H +
 *             h)*W + w becomes column (h*W + w)*C + c of "L.weight...hwc",
 *             so it meets the same input element in the channels-last row.
 *             A chw or hwc that no rule removes stays (code generation
 *             implements it as a bit gather).
 */
#include "ir_eval.h"
#include "pass_util.h"
#include "passes.h"

/* Users of `flat` that can absorb the permutation: all of them must read it
 * as input 0 of a bindense or bindense_thr. */
static bool only_dense_users(IrGraph *g, const IrNode *flat) {
  int users = 0;
  for (IrNode *u = g->first; u; u = u->next)
    for (int i = 0; i < u->n_inputs; i++) {
      if (u->inputs[i] != flat) continue;
      if (i != 0 || (u->op != IR_BINDENSE && u->op != IR_BINDENSE_THR)) return false;
      users++;
    }
  return users > 0;
}

/* w bit[out, C*H*W] in C,H,W column order -> the same rows in H,W,C order. */
static IrNode *permute_columns(IrGraph *g, IrNode *before, const IrNode *w, const int64_t *hwc) {
  int64_t H = hwc[0], W = hwc[1], C = hwc[2];
  int64_t out = w->type.shape.dims[0], words = ir_bit_row_words(&w->type);
  IrNode *p = pass_new_param(g, before, w->type, arena_printf(g->arena, "%s.hwc", w->attrs.name));
  const uint64_t *src = w->data;
  uint64_t *dst = p->data;
  for (int64_t o = 0; o < out; o++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t x = 0; x < W; x++)
          ir_bit_set(dst + o * words, (h * W + x) * C + c,
                     ir_bit_get(src + o * words, (c * H + h) * W + x) < 0);
  return p;
}

static bool rewrite(IrGraph *g, IrNode *n) {
  if (n->n_inputs < 1 || n->inputs[0]->op != IR_CHW) return false;
  IrNode *x = n->inputs[0]->inputs[0];   /* bit[H,W,C] */
  switch (n->op) {
  case IR_HWC:
    ir_replace_uses(g, n, x);
    return true;
  case IR_MAXPOOL: {
    const int64_t *d = n->type.shape.dims;
    Shape hwc = {3, {d[1], d[2], d[0]}};
    IrNode *pool = pass_new_node(g, n, n, IR_MAXPOOL_HWC, ir_type(ELEM_BIT, &hwc), &x, 1);
    pool->attrs = n->attrs;
    IrNode *back = pass_new_node(g, n, n, IR_CHW, n->type, &pool, 1);
    ir_replace_uses(g, n, back);
    ir_remove(g, n);
    return true;
  }
  case IR_FLATTEN: {
    if (!only_dense_users(g, n)) return false;
    IrNode *flat = pass_new_node(g, n, n, IR_FLATTEN, n->type, &x, 1);
    for (IrNode *u = n->next; u; u = u->next)
      if (u->n_inputs > 0 && u->inputs[0] == n) {
        u->inputs[0] = flat;
        u->inputs[1] = permute_columns(g, u, u->inputs[1], x->type.shape.dims);
      }
    ir_remove(g, n);
    return true;
  }
  default:
    return false;
  }
}

int pass_layout_hwc(IrGraph *g) {
  int rewritten = 0;
  bool changed = true;
  while (changed) {
    changed = false;
    for (IrNode *n = g->first, *next; n; n = next) {
      next = n->next;
      if (rewrite(g, n)) {
        rewritten++;
        changed = true;
      }
    }
    pass_remove_dead(g);
  }
  return rewritten;
}
