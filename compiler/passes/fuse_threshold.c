/* fuse_threshold.c - fuse a binary layer with its threshold.
 *
 * Needs:      fold_threshold has run (threshold nodes on bindense results).
 * Guarantees: every bindense (bit or u8 x) whose only user is a threshold is
 *             replaced, together with it, by one bindense_thr whose output is
 *             packed bits: no integer activations are stored between binary
 *             layers. Same function, bit for bit. Likewise a binconv whose
 *             only user is a threshold becomes binconv_thr, whose packed
 *             result is channels last, followed by a chw giving the
 *             threshold's [O,H',W'] view back to its users.
 */
#include "pass_util.h"
#include "passes.h"

/* threshold(binconv(x, w)) : bit[O,H',W'] -> chw(binconv_thr(x, w, thr, flip)
 * : bit[H',W',O]): the fused result is channels last, ready for the next
 * binary convolution; layout_hwc removes the chw where it can. */
static void fuse_conv(IrGraph *g, IrNode *conv, IrNode *t) {
  IrNode *inputs[4] = {conv->inputs[0], conv->inputs[1], t->inputs[1], t->inputs[2]};
  const int64_t *d = t->type.shape.dims;
  Shape hwc = {3, {d[1], d[2], d[0]}};
  IrNode *f = pass_new_node(g, t, conv, IR_BINCONV_THR, ir_type(ELEM_BIT, &hwc), inputs, 4);
  f->attrs = conv->attrs;
  IrNode *back = pass_new_node(g, t, t, IR_CHW, t->type, &f, 1);
  ir_replace_uses(g, t, back);
  ir_remove(g, t);
  ir_remove(g, conv);
}

int pass_fuse_threshold(IrGraph *g) {
  int fused = 0;
  for (IrNode *t = g->first, *next; t; t = next) {
    next = t->next;
    if (t->op != IR_THRESHOLD) continue;
    IrNode *dense = t->inputs[0];
    if (dense->op == IR_BINCONV && ir_single_user(g, dense) == t) {
      fuse_conv(g, dense, t);
      fused++;
      continue;
    }
    if (dense->op != IR_BINDENSE || dense->inputs[0]->type.elem == ELEM_F32) continue;
    if (ir_single_user(g, dense) != t) continue;
    IrNode *inputs[4] = {dense->inputs[0], dense->inputs[1], t->inputs[1], t->inputs[2]};
    IrNode *f = pass_new_node(g, t, dense, IR_BINDENSE_THR, t->type, inputs, 4);
    ir_replace_uses(g, t, f);
    ir_remove(g, t);
    ir_remove(g, dense);
    fused++;
  }
  return fused;
}
