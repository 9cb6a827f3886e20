/* fold_affines.c - fold float affine/batchnorm chains that no sign follows.
 *
 * Needs:      pack_weights and fold_input_affine have run; params bound.
 * Guarantees:
 *   - (fold_into_linear) a chain of affine / batchnorm nodes on a rank-1
 *     value v, each used only by the next, ending in a float `linear`, is
 *     folded into that linear: the chain is y_j = a_j v_j + b_j (composed in
 *     double), so W'_ij = W_ij a_j and b'_i = b_i + sum_j W_ij b_j, rounded
 *     to f32 once. The linear then reads v (converted to f32 if needed).
 *     This changes f32 rounding (the runtime rounds every step), so the
 *     logits agree to about 1e-6 relative rather than bit for bit.
 *   - an affine with scale 1 and shift 0 everywhere is removed (f32 x) or
 *     becomes a `convert` (i32/u8 x): exact.
 * Chains that end in a sign are left for fold_threshold, which turns them
 * into integer thresholds that reproduce the f32 arithmetic exactly; merging
 * them here would change that arithmetic. A chain ending at the output is
 * left as it is (a handful of exact f32 ops beats a rounding change).
 */
#include <math.h>

#include "pass_util.h"
#include "passes.h"

static bool is_scale_shift(const IrNode *n) {
  return (n->op == IR_AFFINE || n->op == IR_BATCHNORM) && n->type.shape.rank == 1;
}

/* Compose y = a * x + b with one more op, per feature j. */
static void compose(const IrNode *op, int64_t j, double *a, double *b) {
  if (op->op == IR_AFFINE) {
    double s = pass_per_channel(op->inputs[1], j), t = pass_per_channel(op->inputs[2], j);
    *a = *a * s;
    *b = *b * s + t;
    return;
  }
  double gamma = pass_param_f32(op->inputs[1])[j], beta = pass_param_f32(op->inputs[2])[j];
  double mean = pass_param_f32(op->inputs[3])[j], var = pass_param_f32(op->inputs[4])[j];
  double k = gamma / sqrt(var + (double)op->attrs.eps);
  *a = *a * k;
  *b = (*b - mean) * k + beta;
}

static bool fold_chain_into_linear(IrGraph *g, IrNode *lin) {
  IrNode *chain[64];
  int n = 0;
  for (IrNode *x = lin->inputs[0]; is_scale_shift(x) && ir_single_user(g, x) && n < 64; x = x->inputs[0])
    chain[n++] = x;   /* chain[n-1] is the first op */
  if (n == 0) return false;
  IrNode *v = chain[n - 1]->inputs[0], *w = lin->inputs[1];
  int64_t out = w->type.shape.dims[0], in = w->type.shape.dims[1];
  const float *wf = pass_param_f32(w);
  const float *bf = lin->n_inputs == 3 ? pass_param_f32(lin->inputs[2]) : NULL;

  double *a = ARENA_ARRAY(g->arena, double, in), *b = ARENA_ARRAY(g->arena, double, in);
  for (int64_t j = 0; j < in; j++) {
    a[j] = 1.0;
    b[j] = 0.0;
    for (int k = n - 1; k >= 0; k--) compose(chain[k], j, &a[j], &b[j]);
    if (!isfinite(a[j]) || !isfinite(b[j])) return false;
  }
  IrNode *w2 = pass_new_param(g, lin, w->type, pass_const_name(g, lin, "weight.folded"));
  IrNode *b2 = pass_new_param_f32(g, lin, out, pass_const_name(g, lin, "bias.folded"));
  for (int64_t i = 0; i < out; i++) {
    double bias = bf ? bf[i] : 0.0;
    for (int64_t j = 0; j < in; j++) {
      ((float *)w2->data)[i * in + j] = (float)(wf[i * in + j] * a[j]);
      bias += wf[i * in + j] * b[j];
    }
    ((float *)b2->data)[i] = (float)bias;
  }
  if (v->type.elem != ELEM_F32) {
    IrNode *in1[1] = {v};
    v = pass_new_node(g, lin, chain[n - 1], IR_CONVERT, ir_type(ELEM_F32, &v->type.shape), in1, 1);
  }
  lin->inputs[0] = v;
  lin->inputs[1] = w2;
  lin->inputs[2] = b2;
  lin->n_inputs = 3;
  return true;
}

static bool is_identity_affine(const IrNode *n) {
  if (n->op != IR_AFFINE) return false;
  for (int k = 1; k <= 2; k++) {
    const IrNode *p = n->inputs[k];
    for (int64_t c = 0; c < p->type.shape.dims[0]; c++)
      if (pass_per_channel(p, c) != (k == 1 ? 1.0f : 0.0f)) return false;
  }
  return true;
}

static void remove_identity_affine(IrGraph *g, IrNode *n) {
  IrNode *x = n->inputs[0];
  if (x->type.elem != ELEM_F32) {
    IrNode *in1[1] = {x};
    x = pass_new_node(g, n, n, IR_CONVERT, n->type, in1, 1);
  }
  ir_replace_uses(g, n, x);
  ir_remove(g, n);
}

int pass_fold_affines(IrGraph *g, bool fold_into_linear) {
  int folded = 0;
  for (IrNode *n = g->first, *next; n; n = next) {
    next = n->next;
    if (is_identity_affine(n)) {
      remove_identity_affine(g, n);
      folded++;
    } else if (fold_into_linear && n->op == IR_LINEAR && fold_chain_into_linear(g, n)) {
      folded++;
    }
  }
  pass_remove_dead(g);
  return folded;
}
