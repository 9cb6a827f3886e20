/* drop_training_ops.c - remove ops that are the identity at inference.
 *
 * Needs:      a verified graph (any stage).
 * Guarantees: no `dropout` node remains (dropout is the identity in eval mode)
 *             and no `flatten` of a rank-1 value (a no-op); their users read
 *             the operand directly. Nothing else changes, so the result is
 *             bit-for-bit the same function.
 */
#include "pass_util.h"
#include "passes.h"

static bool is_identity(const IrNode *n) {
  if (n->op == IR_DROPOUT) return true;
  return n->op == IR_FLATTEN && n->inputs[0]->type.shape.rank == 1;
}

int pass_drop_training_ops(IrGraph *g) {
  int dropped = 0;
  for (IrNode *n = g->first, *next; n; n = next) {
    next = n->next;
    if (!is_identity(n)) continue;
    ir_replace_uses(g, n, n->inputs[0]);
    ir_remove(g, n);
    dropped++;
  }
  return dropped;
}
