/* lower.c - lowering: Model -> graph IR.
 *
 * Needs: a Model the front end has checked (shapes resolved and consistent).
 * Gives: a graph that passes ir_verify, one or a few nodes per layer, in
 * layer order, with value types made explicit:
 *   - a u8 input or a normalized input gets an `affine` node;
 *   - a binary layer that binarizes its input gets a `sign` node (bit result);
 *   - a float op fed with bits gets a `convert` node.
 * Shapes come from the Model; a disagreement here is a bnnc bug.
 */
#include "lower.h"

#include <stdarg.h>

typedef struct Lowering {
  IrGraph *g;
  const Model *model;
  const Layer *layer;     /* the layer being lowered, for labels and locations */
} Lowering;

static IrNode *emit_node(Lowering *l, IrOp op, IrType type, IrNode *const *inputs, int n_inputs) {
  IrNode *n = ir_node_new(l->g, op, type, inputs, n_inputs);
  if (l->layer) {
    n->label = l->layer->label;
    n->loc = l->layer->loc;
  }
  ir_append(l->g, n);
  return n;
}

static IrNode *emit(Lowering *l, IrOp op, IrType type, int n_inputs, ...) {
  IrNode *inputs[IR_MAX_INPUTS];
  va_list ap;
  va_start(ap, n_inputs);
  for (int i = 0; i < n_inputs; i++) inputs[i] = va_arg(ap, IrNode *);
  va_end(ap);
  return emit_node(l, op, type, inputs, n_inputs);
}

/* A learned tensor of the current layer: LABEL.suffix. */
static IrNode *param(Lowering *l, const char *suffix, IrType type) {
  IrNode *n = emit(l, IR_PARAM, type, 0);
  n->attrs.name = arena_printf(l->g->arena, "%s.%s", l->layer->label, suffix);
  return n;
}

/* A constant the compiler computes (bound right away). */
static IrNode *constant_f32(Lowering *l, const char *name, const float *values, int64_t n) {
  IrNode *c = emit(l, IR_PARAM, ir_type1(ELEM_F32, n), 0);
  c->attrs.name = name;
  c->data = (void *)values;   /* arena-owned, like the node */
  c->data_bytes = (size_t)n * sizeof *values;
  return c;
}

static IrNode *as_f32(Lowering *l, IrNode *x) {
  if (x->type.elem == ELEM_F32) return x;
  return emit(l, IR_CONVERT, ir_type(ELEM_F32, &x->type.shape), 1, x);
}

static IrNode *as_bits(Lowering *l, IrNode *x) {
  if (x->type.elem == ELEM_BIT) return x;
  return emit(l, IR_SIGN, ir_type(ELEM_BIT, &x->type.shape), 1, as_f32(l, x));
}

/* x * scale[c] + shift[c]: u8 -> /255, then (x - mean) / std. */
static IrNode *lower_input(Lowering *l) {
  const ModelInput *in = &l->model->input;
  IrNode *x = emit(l, IR_INPUT, ir_type(in->type == INPUT_U8 ? ELEM_U8 : ELEM_F32, &in->shape), 0);
  if (in->type != INPUT_U8 && !in->normalize) return x;

  int n = in->normalize ? in->n_channels_norm : 1;
  BNNC_ASSERT(n >= 1);
  float *scale = ARENA_ARRAY(l->g->arena, float, n);
  float *shift = ARENA_ARRAY(l->g->arena, float, n);
  for (int c = 0; c < n; c++) {
    float to_unit = in->type == INPUT_U8 ? 1.0f / 255.0f : 1.0f;
    float mean = in->normalize ? in->mean[c] : 0.0f;
    float std = in->normalize ? in->std[c] : 1.0f;
    /* Kept as two steps' worth of constants; the runtime computes
     * (x / 255 - mean) / std and a pass folds this into the first layer. */
    scale[c] = to_unit / std;
    shift[c] = -mean / std;
  }
  IrNode *scale_c = constant_f32(l, "input.scale", scale, n);
  IrNode *shift_c = constant_f32(l, "input.shift", shift, n);
  return emit(l, IR_AFFINE, ir_type(ELEM_F32, &in->shape), 3, x, scale_c, shift_c);
}

static void set_window(IrNode *n, const Layer *ly) {
  n->attrs.kernel_h = ly->kernel_h;
  n->attrs.kernel_w = ly->kernel_w;
  n->attrs.stride = ly->stride;
  n->attrs.pad = ly->pad;
}

static IrNode *lower_layer(Lowering *l, IrNode *x) {
  const Layer *ly = l->layer;
  IrType out_f32 = ir_type(ELEM_F32, &ly->out_shape);
  switch (ly->kind) {
  case LAYER_BINLINEAR:
  case LAYER_LINEAR: {
    bool binary = ly->kind == LAYER_BINLINEAR;
    x = binary && !ly->real_input ? as_bits(l, x) : binary ? x : as_f32(l, x);
    IrNode *w = param(l, "weight", ir_type2(ELEM_F32, ly->out_features, ly->in_features));
    IrNode *b = ly->has_bias ? param(l, "bias", ir_type1(ELEM_F32, ly->out_features)) : NULL;
    IrNode *n = b ? emit(l, binary ? IR_BINLINEAR : IR_LINEAR, out_f32, 3, x, w, b)
                  : emit(l, binary ? IR_BINLINEAR : IR_LINEAR, out_f32, 2, x, w);
    n->attrs.scale = ly->has_scale;
    return n;
  }
  case LAYER_BINCONV2D:
  case LAYER_CONV2D: {
    bool binary = ly->kind == LAYER_BINCONV2D;
    x = binary && !ly->real_input ? as_bits(l, x) : binary ? x : as_f32(l, x);
    Shape ws = {4, {ly->out_channels, ly->in_shape.dims[0], ly->kernel_h, ly->kernel_w}};
    IrNode *w = param(l, "weight", ir_type(ELEM_F32, &ws));
    IrNode *b = ly->has_bias ? param(l, "bias", ir_type1(ELEM_F32, ly->out_channels)) : NULL;
    IrNode *n = b ? emit(l, binary ? IR_BINCONV2D : IR_CONV2D, out_f32, 3, x, w, b)
                  : emit(l, binary ? IR_BINCONV2D : IR_CONV2D, out_f32, 2, x, w);
    set_window(n, ly);
    n->attrs.scale = ly->has_scale;
    return n;
  }
  case LAYER_BATCHNORM: {
    x = as_f32(l, x);
    IrType per_channel = ir_type1(ELEM_F32, ly->in_shape.dims[0]);
    IrNode *gamma = param(l, "weight", per_channel);
    IrNode *beta = param(l, "bias", per_channel);
    IrNode *mean = param(l, "running_mean", per_channel);
    IrNode *var = param(l, "running_var", per_channel);
    IrNode *n = emit(l, IR_BATCHNORM, out_f32, 5, x, gamma, beta, mean, var);
    n->attrs.eps = ly->eps;
    return n;
  }
  case LAYER_SIGN:
    return emit(l, IR_SIGN, ir_type(ELEM_BIT, &ly->out_shape), 1, as_f32(l, x));
  case LAYER_HTANH:
    return emit(l, IR_HTANH, out_f32, 1, as_f32(l, x));
  case LAYER_RELU:
    return emit(l, IR_RELU, out_f32, 1, as_f32(l, x));
  case LAYER_SIGMOID:
    return emit(l, IR_SIGMOID, out_f32, 1, as_f32(l, x));
  case LAYER_SOFTMAX:
    return emit(l, IR_SOFTMAX, out_f32, 1, as_f32(l, x));
  case LAYER_DROPOUT: {
    IrNode *n = emit(l, IR_DROPOUT, out_f32, 1, as_f32(l, x));
    n->attrs.p = ly->p;
    return n;
  }
  case LAYER_MAXPOOL:
  case LAYER_AVGPOOL: {
    IrNode *n = emit(l, ly->kind == LAYER_MAXPOOL ? IR_MAXPOOL : IR_AVGPOOL, out_f32, 1, as_f32(l, x));
    set_window(n, ly);
    return n;
  }
  case LAYER_FLATTEN:
    return emit(l, IR_FLATTEN, ir_type(x->type.elem, &ly->out_shape), 1, x);
  case LAYER_KIND_COUNT:
    break;
  }
  BNNC_BUG("lower_layer: unknown layer kind %d", (int)ly->kind);
}

IrGraph *lower_model(Arena *arena, const Model *model) {
  IrGraph *g = ARENA_NEW(arena, IrGraph);
  ir_graph_init(g, arena, model->name);
  Lowering l = {g, model, NULL};
  IrNode *x = lower_input(&l);
  for (int i = 0; i < model->n_layers; i++) {
    l.layer = &model->layers[i];
    x = lower_layer(&l, x);
    BNNC_ASSERT(shape_equal(&x->type.shape, &l.layer->out_shape));
  }
  l.layer = NULL;
  x = as_f32(&l, x);
  emit(&l, IR_OUTPUT, x->type, 1, x);
  return g;
}
