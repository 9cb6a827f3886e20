/* pass_util.h - small helpers the passes share (private to compiler/passes). */
#ifndef BNNC_PASS_UTIL_H
#define BNNC_PASS_UTIL_H

#include "ir.h"

/* A new param node with bound data (zeroed, arena-owned), inserted before
 * `before`; the caller fills the returned node's data. */
IrNode *pass_new_param(IrGraph *g, IrNode *before, IrType type, const char *name);
IrNode *pass_new_param_f32(IrGraph *g, IrNode *before, int64_t n, const char *name);
IrNode *pass_new_param_i32(IrGraph *g, IrNode *before, int64_t n, const char *name);

/* A new node with the same label and location as `like`, inserted before `before`. */
IrNode *pass_new_node(IrGraph *g, IrNode *before, const IrNode *like, IrOp op, IrType type,
                      IrNode *const *inputs, int n_inputs);

/* A param's data, checked to be bound; a missing binding is a driver bug. */
const float *pass_param_f32(const IrNode *p);

/* Name for a derived constant: "LABEL.what", or "what" without a label. */
const char *pass_const_name(IrGraph *g, const IrNode *like, const char *what);

/* Remove nodes whose value nobody uses (never the input or output).
 * Returns the number removed. */
int pass_remove_dead(IrGraph *g);

/* The per-channel value of a [1] or [C] f32 param. */
float pass_per_channel(const IrNode *p, int64_t c);

#endif
