/* sink_sign.c - move a sign above the max pooling and flatten it follows.
 *
 * Needs:      a verified graph (run before pack_weights).
 * Guarantees: no `sign` reads a maxpool or a flatten that has no other user:
 *               sign(maxpool(v)) -> maxpool(sign(v))     (maxpool on bits)
 *               sign(flatten(v)) -> flatten(sign(v))
 *             applied until neither matches, so a sign ends next to the
 *             per-channel chain (batchnorm, affine) of its layer, where
 *             fold_threshold can turn it into an integer threshold.
 *
 * Why it is exact. sign is non-decreasing (+1 iff x >= 0), and any
 * non-decreasing f commutes with max: f(max_i v_i) = max_i f(v_i). So the
 * sign of a window's maximum is the maximum of the window's signs, whatever
 * the sign of BatchNorm's gamma, because the batchnorm stays below the sign
 * (gamma < 0 only matters when a max is moved below a decreasing function,
 * which this pass never does). On packed bits the max of +-1 is +1 (bit 0)
 * unless every bit is 1 (-1): the AND of the window's bits. Flatten only
 * renames indices, so it commutes with any elementwise op. The one
 * exception is NaN, which the f32 maxpool propagates differently; trained
 * values are finite (fold_threshold checks finiteness for what it folds).
 */
#include "pass_util.h"
#include "passes.h"

static bool sink_one(IrGraph *g, IrNode *sign) {
  IrNode *v = sign->inputs[0];
  if ((v->op != IR_MAXPOOL && v->op != IR_FLATTEN) || v->type.elem != ELEM_F32) return false;
  if (ir_single_user(g, v) != sign) return false;
  IrNode *src = v->inputs[0];
  IrNode *s = pass_new_node(g, sign, sign, IR_SIGN, ir_type(ELEM_BIT, &src->type.shape), &src, 1);
  IrNode *moved = pass_new_node(g, sign, v, v->op, ir_type(ELEM_BIT, &v->type.shape), &s, 1);
  moved->attrs = v->attrs;
  ir_replace_uses(g, sign, moved);
  ir_remove(g, sign);
  ir_remove(g, v);
  return true;
}

int pass_sink_sign(IrGraph *g) {
  int moved = 0;
  bool changed = true;
  while (changed) {
    changed = false;
    for (IrNode *n = g->first, *next; n; n = next) {
      next = n->next;
      if (n->op == IR_SIGN && sink_one(g, n)) {
        moved++;
        changed = true;
      }
    }
  }
  return moved;
}
