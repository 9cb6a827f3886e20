/* fuse_threshold.c - fuse a binary layer with its threshold.
 *
 * Needs:      fold_threshold has run (threshold nodes on bindense results).
 * Guarantees: every bindense (bit or u8 x) whose only user is a threshold is
 *             replaced, together with it, by one bindense_thr whose output is
 *             packed bits: no integer activations are stored between binary
 *             layers. Same function, bit for bit.
 */
#include "pass_util.h"
#include "passes.h"

int pass_fuse_threshold(IrGraph *g) {
  int fused = 0;
  for (IrNode *t = g->first, *next; t; t = next) {
    next = t->next;
    if (t->op != IR_THRESHOLD) continue;
    IrNode *dense = t->inputs[0];
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
