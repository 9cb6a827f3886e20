/* ir.c - construction and editing of the graph IR; see ir.h. */
#include "ir.h"

#include <string.h>

const IrOpInfo ir_op_info[IR_OP_COUNT] = {
#define X(e, name, lo, hi, attrs, doc) [e] = {name, lo, hi, attrs, doc},
    BNNC_IR_OPS(X)
#undef X
};

void ir_graph_init(IrGraph *g, Arena *arena, const char *name) {
  memset(g, 0, sizeof *g);
  g->arena = arena;
  g->name = name;
}

IrNode *ir_node_new(IrGraph *g, IrOp op, IrType type, IrNode *const *inputs, int n_inputs) {
  BNNC_ASSERT(op >= 0 && op < IR_OP_COUNT);
  BNNC_ASSERT(n_inputs >= 0 && n_inputs <= IR_MAX_INPUTS);
  IrNode *n = ARENA_NEW(g->arena, IrNode);
  n->op = op;
  n->id = g->next_id++;
  n->type = type;
  for (int i = 0; i < n_inputs; i++) n->inputs[i] = inputs[i];
  n->n_inputs = n_inputs;
  n->scratch_offset = -1;
  return n;
}

void ir_append(IrGraph *g, IrNode *n) {
  n->prev = g->last;
  n->next = NULL;
  if (g->last)
    g->last->next = n;
  else
    g->first = n;
  g->last = n;
}

void ir_insert_before(IrGraph *g, IrNode *before, IrNode *n) {
  n->next = before;
  n->prev = before->prev;
  if (before->prev)
    before->prev->next = n;
  else
    g->first = n;
  before->prev = n;
}

void ir_remove(IrGraph *g, IrNode *n) {
  if (n->prev)
    n->prev->next = n->next;
  else
    g->first = n->next;
  if (n->next)
    n->next->prev = n->prev;
  else
    g->last = n->prev;
  n->prev = n->next = NULL;
}

void ir_replace_uses(IrGraph *g, IrNode *from, IrNode *to) {
  for (IrNode *n = g->first; n; n = n->next)
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i] == from) n->inputs[i] = to;
}

int ir_count_uses(const IrGraph *g, const IrNode *x) {
  int uses = 0;
  for (const IrNode *n = g->first; n; n = n->next)
    for (int i = 0; i < n->n_inputs; i++) uses += n->inputs[i] == x;
  return uses;
}

IrNode *ir_single_user(const IrGraph *g, const IrNode *x) {
  IrNode *user = NULL;
  for (IrNode *n = g->first; n; n = n->next)
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i] == x) {
        if (user && user != n) return NULL;
        user = n;
      }
  return user;
}

static IrNode *find_op(const IrGraph *g, IrOp op) {
  for (IrNode *n = g->first; n; n = n->next)
    if (n->op == op) return n;
  return NULL;
}

IrNode *ir_graph_input(const IrGraph *g) { return find_op(g, IR_INPUT); }
IrNode *ir_graph_output(const IrGraph *g) { return find_op(g, IR_OUTPUT); }

IrType ir_type(ElemType elem, const Shape *shape) {
  IrType t = {elem, *shape};
  return t;
}

IrType ir_type1(ElemType elem, int64_t n) {
  IrType t = {elem, {1, {n}}};
  return t;
}

IrType ir_type2(ElemType elem, int64_t a, int64_t b) {
  IrType t = {elem, {2, {a, b}}};
  return t;
}

const char *elem_type_name(ElemType t) {
  static const char *const names[ELEM_TYPE_COUNT] = {
      [ELEM_F32] = "f32", [ELEM_I32] = "i32", [ELEM_U8] = "u8", [ELEM_BIT] = "bit"};
  BNNC_ASSERT(t >= 0 && t < ELEM_TYPE_COUNT);
  return names[t];
}

int64_t ir_bit_row_words(const IrType *t) {
  BNNC_ASSERT(t->elem == ELEM_BIT && t->shape.rank >= 1);
  int64_t last = t->shape.dims[t->shape.rank - 1];
  return (last + IR_BIT_WORD_BITS - 1) / IR_BIT_WORD_BITS;
}

int64_t ir_type_bytes(const IrType *t) {
  switch (t->elem) {
  case ELEM_F32:
  case ELEM_I32:
    return shape_numel(&t->shape) * 4;
  case ELEM_U8:
    return shape_numel(&t->shape);
  case ELEM_BIT: {
    if (t->shape.rank == 0) return 8;
    int64_t rows = 1;
    for (int i = 0; i < t->shape.rank - 1; i++) rows *= t->shape.dims[i];
    return rows * ir_bit_row_words(t) * 8;
  }
  case ELEM_TYPE_COUNT:
    break;
  }
  BNNC_BUG("ir_type_bytes: bad element type %d", (int)t->elem);
}
