/* pass_util.c - helpers shared by the passes; see pass_util.h. */
#include "pass_util.h"

#include <string.h>

IrNode *pass_new_node(IrGraph *g, IrNode *before, const IrNode *like, IrOp op, IrType type,
                      IrNode *const *inputs, int n_inputs) {
  IrNode *n = ir_node_new(g, op, type, inputs, n_inputs);
  if (like) {
    n->label = like->label;
    n->loc = like->loc;
  }
  ir_insert_before(g, before, n);
  return n;
}

IrNode *pass_new_param(IrGraph *g, IrNode *before, IrType type, const char *name) {
  IrNode *p = pass_new_node(g, before, NULL, IR_PARAM, type, NULL, 0);
  p->attrs.name = name;
  p->data_bytes = (size_t)ir_type_bytes(&type);
  p->data = arena_alloc(g->arena, p->data_bytes);
  return p;
}

IrNode *pass_new_param_f32(IrGraph *g, IrNode *before, int64_t n, const char *name) {
  return pass_new_param(g, before, ir_type1(ELEM_F32, n), name);
}

IrNode *pass_new_param_i32(IrGraph *g, IrNode *before, int64_t n, const char *name) {
  return pass_new_param(g, before, ir_type1(ELEM_I32, n), name);
}

const float *pass_param_f32(const IrNode *p) {
  if (p->op != IR_PARAM || p->type.elem != ELEM_F32)
    BNNC_BUG("a pass expected an f32 param, got %%%d", p->id);
  if (!p->data)
    BNNC_BUG("param \"%s\" has no data: the driver must bind weights before the inference passes",
             p->attrs.name);
  return p->data;
}

const char *pass_const_name(IrGraph *g, const IrNode *like, const char *what) {
  if (like && like->label) return arena_printf(g->arena, "%s.%s", like->label, what);
  return arena_strdup(g->arena, what);
}

int pass_remove_dead(IrGraph *g) {
  int removed = 0;
  bool changed = true;
  while (changed) {
    changed = false;
    /* Walk backwards so a chain of dead nodes goes in one sweep. */
    for (IrNode *n = g->last, *prev; n; n = prev) {
      prev = n->prev;
      if (n->op == IR_INPUT || n->op == IR_OUTPUT || ir_count_uses(g, n) > 0) continue;
      ir_remove(g, n);
      removed++;
      changed = true;
    }
  }
  return removed;
}

float pass_per_channel(const IrNode *p, int64_t c) {
  const float *v = pass_param_f32(p);
  return p->type.shape.dims[0] == 1 ? v[0] : v[c];
}
