/* fold_input_affine.c - fold the input normalization into the first layer.
 *
 * Needs:      pack_weights has run; params bound.
 * Guarantees: where the input's affine(s, t) (possibly through a flatten)
 *             feeds only the first layer, it is gone:
 *   - bindense (a `real` binary first layer):
 *       sum_j w_ij (s x_j + t_c(j)) = s * S_i + T_i,  T_i = sum_j w_ij t_c(j),
 *     so the layer runs on the raw input (u8: S_i is an exact integer, which
 *     fold_threshold then thresholds directly) and the affine after it becomes
 *     affine(S, s * scale_i, scale_i * T_i + shift_i). Needs one scale s for
 *     all channels (per-channel shifts are fine); otherwise left alone.
 *   - linear: W'_ij = W_ij * s_c(j), b'_i = b_i + sum_j W_ij t_c(j) (computed
 *     in double, rounded once); the layer reads the input (converted to f32).
 * Not bit-exact with the runtime, which normalizes each x_j in f32 and sums:
 * the difference is a few f32 roundings of the first layer's pre-activation.
 */
#include "ir_eval.h"
#include "pass_util.h"
#include "passes.h"

typedef struct InputNorm {
  IrNode *input;      /* the graph input (u8 or f32) */
  IrNode *affine;     /* affine(input, scale, shift) */
  IrNode *flatten;    /* flatten(affine) or NULL */
  IrNode *layer;      /* the bindense or linear reading it */
  int64_t per_channel;/* features per channel of the flattened input */
} InputNorm;

static bool match(IrGraph *g, InputNorm *m) {
  m->input = ir_graph_input(g);
  if (!m->input) return false;
  m->affine = ir_single_user(g, m->input);
  if (!m->affine || m->affine->op != IR_AFFINE || m->affine->inputs[0] != m->input) return false;
  IrNode *user = ir_single_user(g, m->affine);
  m->flatten = NULL;
  if (user && user->op == IR_FLATTEN) {
    m->flatten = user;
    user = ir_single_user(g, user);
  }
  if (!user || user->inputs[0] != (m->flatten ? m->flatten : m->affine)) return false;
  if (user->op != IR_BINDENSE && user->op != IR_LINEAR) return false;
  m->layer = user;
  const Shape *s = &m->input->type.shape;
  m->per_channel = shape_numel(s) / s->dims[0];
  return true;
}

static bool uniform_scale(const IrNode *scale) {
  int64_t n = scale->type.shape.dims[0];
  for (int64_t c = 1; c < n; c++)
    if (pass_per_channel(scale, c) != pass_per_channel(scale, 0)) return false;
  return true;
}

/* The raw input as the layer's operand: converted (u8 -> f32 for linear)
 * and flattened like the original. */
static IrNode *raw_operand(IrGraph *g, const InputNorm *m, bool want_f32) {
  IrNode *x = m->input;
  if (want_f32 && x->type.elem != ELEM_F32) {
    IrNode *in[1] = {x};
    x = pass_new_node(g, m->layer, NULL, IR_CONVERT, ir_type(ELEM_F32, &x->type.shape), in, 1);
  }
  if (m->flatten) {
    IrNode *in[1] = {x};
    Shape flat = {1, {shape_numel(&x->type.shape)}};
    x = pass_new_node(g, m->layer, m->flatten, IR_FLATTEN, ir_type(x->type.elem, &flat), in, 1);
  }
  return x;
}

static bool fold_into_bindense(IrGraph *g, const InputNorm *m) {
  IrNode *dense = m->layer, *after = ir_single_user(g, dense);
  if (!after || after->op != IR_AFFINE || !uniform_scale(m->affine->inputs[1])) return false;
  const IrNode *w = dense->inputs[1];
  int64_t out = w->type.shape.dims[0], in = w->type.shape.dims[1];
  int64_t words = ir_bit_row_words(&w->type);
  double s = pass_per_channel(m->affine->inputs[1], 0);

  IrNode *scale = pass_new_param_f32(g, after, out, pass_const_name(g, after, "scale.folded"));
  IrNode *shift = pass_new_param_f32(g, after, out, pass_const_name(g, after, "shift.folded"));
  for (int64_t i = 0; i < out; i++) {
    const uint64_t *row = (const uint64_t *)w->data + i * words;
    double t_sum = 0;
    for (int64_t j = 0; j < in; j++)
      t_sum += ir_bit_get(row, j) * (double)pass_per_channel(m->affine->inputs[2], j / m->per_channel);
    double scale_i = pass_per_channel(after->inputs[1], i);
    ((float *)scale->data)[i] = (float)(s * scale_i);
    ((float *)shift->data)[i] = (float)(scale_i * t_sum + pass_per_channel(after->inputs[2], i));
  }
  IrNode *x = raw_operand(g, m, false);
  dense->inputs[0] = x;
  dense->type.elem = x->type.elem == ELEM_F32 ? ELEM_F32 : ELEM_I32;
  after->inputs[1] = scale;
  after->inputs[2] = shift;
  return true;
}

static void fold_into_linear(IrGraph *g, const InputNorm *m) {
  IrNode *lin = m->layer, *w = lin->inputs[1];
  int64_t out = w->type.shape.dims[0], in = w->type.shape.dims[1];
  const float *wf = pass_param_f32(w);
  const float *bf = lin->n_inputs == 3 ? pass_param_f32(lin->inputs[2]) : NULL;
  IrNode *w2 = pass_new_param(g, lin, w->type, pass_const_name(g, lin, "weight.folded"));
  IrNode *b2 = pass_new_param_f32(g, lin, out, pass_const_name(g, lin, "bias.folded"));
  for (int64_t i = 0; i < out; i++) {
    double b = bf ? bf[i] : 0.0;
    for (int64_t j = 0; j < in; j++) {
      int64_t c = j / m->per_channel;
      double wij = wf[i * in + j];
      ((float *)w2->data)[i * in + j] = (float)(wij * pass_per_channel(m->affine->inputs[1], c));
      b += wij * pass_per_channel(m->affine->inputs[2], c);
    }
    ((float *)b2->data)[i] = (float)b;
  }
  lin->inputs[0] = raw_operand(g, m, true);
  lin->inputs[1] = w2;
  lin->inputs[2] = b2;
  lin->n_inputs = 3;
}

int pass_fold_input_affine(IrGraph *g) {
  InputNorm m;
  if (!match(g, &m)) return 0;
  if (m.layer->op == IR_BINDENSE) {
    if (!fold_into_bindense(g, &m)) return 0;
  } else {
    fold_into_linear(g, &m);
  }
  pass_remove_dead(g);
  return 1;
}
