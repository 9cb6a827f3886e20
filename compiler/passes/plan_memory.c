/* plan_memory.c - give every activation an offset in one scratch arena.
 *
 * Needs:      the final graph (run last; any later rewrite invalidates it).
 * Guarantees: every node except `param`, `input` and `output` (the
 *             activations: each computed value, including the operand of
 *             `output`) has scratch_offset >= 0, a multiple of 64, and its
 *             ir_type_bytes bytes at that offset do not overlap any other
 *             activation live at the same time; params, the input and the
 *             output node have -1 (the output node is the caller's buffer:
 *             the code generator writes or copies the output's operand
 *             there). g->scratch_bytes is the arena size (a multiple of 64,
 *             0 when nothing needs scratch).
 * Liveness: a value is live from its node to its last user, inclusive, so
 * an op's result never overlaps its operands (no op is computed in place).
 * Allocation is greedy first-fit in execution order: each value takes the
 * lowest 64-byte-aligned offset that no live-overlapping value occupies.
 */
#include <stdlib.h>

#include "pass_util.h"
#include "passes.h"

#define SCRATCH_ALIGN 64

typedef struct Interval {
  IrNode *node;
  int start, end;      /* positions in execution order, inclusive */
  int64_t offset, size;
} Interval;

static bool has_scratch(const IrNode *n) {
  return n->op != IR_PARAM && n->op != IR_INPUT && n->op != IR_OUTPUT;
}

static int cmp_offset(const void *a, const void *b) {
  const Interval *x = *(Interval *const *)a, *y = *(Interval *const *)b;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

int pass_plan_memory(IrGraph *g) {
  int count = 0;
  for (IrNode *n = g->first; n; n = n->next) count++;
  Interval *iv = ARENA_ARRAY(g->arena, Interval, count + 1);
  Interval **live = ARENA_ARRAY(g->arena, Interval *, count + 1);
  int *slot = ARENA_ARRAY(g->arena, int, g->next_id + 1);   /* node id -> interval, or -1 */
  for (int i = 0; i <= g->next_id; i++) slot[i] = -1;

  int n_iv = 0, pos = 0;
  for (IrNode *n = g->first; n; n = n->next, pos++) {
    n->scratch_offset = -1;
    for (int i = 0; i < n->n_inputs; i++) {
      int s = slot[n->inputs[i]->id];
      if (s >= 0) iv[s].end = pos;
    }
    if (!has_scratch(n)) continue;
    int64_t bytes = ir_type_bytes(&n->type);
    iv[n_iv] = (Interval){n, pos, pos, 0, (bytes + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN};
    slot[n->id] = n_iv++;
  }

  int64_t total = 0;
  for (int i = 0; i < n_iv; i++) {
    /* The already placed values whose lifetimes meet this one, by offset. */
    int n_live = 0;
    for (int j = 0; j < i; j++)
      if (iv[j].end >= iv[i].start) live[n_live++] = &iv[j];
    qsort(live, (size_t)n_live, sizeof *live, cmp_offset);
    int64_t offset = 0;
    for (int j = 0; j < n_live; j++) {
      if (live[j]->offset >= offset + iv[i].size) break;   /* fits in the gap before it */
      int64_t end = live[j]->offset + live[j]->size;
      if (end > offset) offset = end;
    }
    iv[i].offset = offset;
    iv[i].node->scratch_offset = offset;
    if (offset + iv[i].size > total) total = offset + iv[i].size;
  }
  g->scratch_bytes = (size_t)total;
  return n_iv;
}
