/* ir_test.c - lowering and the verifier, on models built by hand (the
 * front end is tested separately): lowered graphs verify, and each kind of
 * broken graph is caught with a message naming the problem. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "lower.h"
#include "test.h"

static Layer dense(LayerKind kind, const char *label, int64_t in, int64_t out) {
  Layer l = {.kind = kind, .label = label, .in_features = in, .out_features = out,
             .in_shape = {1, {in}}, .out_shape = {1, {out}}};
  return l;
}

static Layer same(LayerKind kind, const char *label, int64_t n) {
  Layer l = {.kind = kind, .label = label, .in_shape = {1, {n}}, .out_shape = {1, {n}},
             .eps = 1e-5f, .momentum = 0.1f, .p = 0.5f};
  return l;
}

/* 784 u8 -> binlinear real -> bn -> binlinear -> bn -> dropout -> linear. */
static Model small_mlp(Layer *layers) {
  static const float mean = 0.5f, std = 0.5f;
  layers[0] = dense(LAYER_BINLINEAR, "0", 784, 100);
  layers[0].real_input = true;
  layers[1] = same(LAYER_BATCHNORM, "1", 100);
  layers[2] = dense(LAYER_BINLINEAR, "2", 100, 37);
  layers[2].has_scale = true;
  layers[2].has_bias = true;
  layers[3] = same(LAYER_BATCHNORM, "3", 37);
  layers[4] = same(LAYER_DROPOUT, "4", 37);
  layers[5] = dense(LAYER_LINEAR, "5", 37, 10);
  layers[5].has_bias = true;
  Model m = {.name = "small", .layers = layers, .n_layers = 6, .out_shape = {1, {10}}};
  m.input.shape = (Shape){1, {784}};
  m.input.type = INPUT_U8;
  m.input.normalize = true;
  m.input.n_channels_norm = 1;
  m.input.mean = &mean;
  m.input.std = &std;
  return m;
}

static char *print_to_string(const IrGraph *g) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ir_print(f, g);
  fclose(f);
  return buf;
}

/* Verify g and return the verifier's messages ("" when valid). */
static char *verify_messages(const IrGraph *g, bool *ok) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  *ok = ir_verify(g, "test", f);
  fclose(f);
  return buf;
}

static IrNode *find(IrGraph *g, IrOp op, int nth) {
  for (IrNode *n = g->first; n; n = n->next)
    if (n->op == op && nth-- == 0) return n;
  return NULL;
}

static void test_lowering_verifies(void) {
  Arena arena;
  arena_init(&arena);
  Layer layers[6];
  Model m = small_mlp(layers);
  IrGraph *g = lower_model(&arena, &m);
  bool ok;
  char *msgs = verify_messages(g, &ok);
  CHECK(ok);
  CHECK_STR(msgs, "");
  free(msgs);

  /* The structure lowering promises: u8 input + affine, sign before the
   * second binary layer only, params named like a PyTorch state_dict. */
  CHECK_EQ_INT(ir_graph_input(g)->type.elem, ELEM_U8);
  CHECK(find(g, IR_AFFINE, 0) != NULL);
  CHECK_EQ_INT(find(g, IR_BINLINEAR, 0)->inputs[0]->op, IR_AFFINE);
  CHECK_EQ_INT(find(g, IR_BINLINEAR, 1)->inputs[0]->op, IR_SIGN);
  CHECK(find(g, IR_SIGN, 1) == NULL);
  CHECK(find(g, IR_BINLINEAR, 1)->attrs.scale);
  CHECK_EQ_INT(find(g, IR_BINLINEAR, 1)->n_inputs, 3);
  CHECK_STR(find(g, IR_BATCHNORM, 1)->inputs[3]->attrs.name, "3.running_mean");
  CHECK_STR(find(g, IR_LINEAR, 0)->inputs[1]->attrs.name, "5.weight");
  CHECK_EQ_INT(ir_graph_output(g)->type.shape.dims[0], 10);

  char *text = print_to_string(g);
  CHECK(strstr(text, "graph small {\n") == text);
  CHECK(strstr(text, "= param \"0.weight\" : f32[100,784]\n") != NULL);
  CHECK(strstr(text, "= binlinear %") != NULL);
  CHECK(strstr(text, "{scale} : f32[37]    ; layer 2\n") != NULL);
  CHECK(strstr(text, "{p=0.5} : f32[37]    ; layer 4\n") != NULL);
  CHECK(strstr(text, ": bit[100]    ; layer 2\n") != NULL);
  free(text);
  arena_free(&arena);
}

/* Each mutation must make the verifier fail with a message containing `want`. */
static void expect_broken(void (*mutate)(IrGraph *), const char *want) {
  Arena arena;
  arena_init(&arena);
  Layer layers[6];
  Model m = small_mlp(layers);
  IrGraph *g = lower_model(&arena, &m);
  mutate(g);
  bool ok;
  char *msgs = verify_messages(g, &ok);
  CHECK(!ok);
  if (!strstr(msgs, want)) {
    fprintf(stderr, "verifier said:\n%s\nexpected to find: %s\n", msgs, want);
    CHECK(!"verifier message");
  }
  free(msgs);
  arena_free(&arena);
}

static void wrong_weight_shape(IrGraph *g) { find(g, IR_PARAM, 2)->type.shape.dims[1] = 700; }
static void wrong_result_shape(IrGraph *g) { find(g, IR_BINLINEAR, 0)->type.shape.dims[0] = 99; }
static void missing_input(IrGraph *g) { find(g, IR_BATCHNORM, 0)->n_inputs = 4; }
static void float_into_xnor(IrGraph *g) { find(g, IR_SIGN, 0)->type.elem = ELEM_F32; }
static void use_before_def(IrGraph *g) {
  IrNode *bn = find(g, IR_BATCHNORM, 0);
  ir_remove(g, bn);
  ir_insert_before(g, g->first, bn);
}
static void bad_dropout(IrGraph *g) { find(g, IR_DROPOUT, 0)->attrs.p = 1.5f; }
static void bad_data_size(IrGraph *g) { find(g, IR_PARAM, 0)->data_bytes = 3; }
static void two_outputs(IrGraph *g) {
  IrNode *out = ir_graph_output(g);
  ir_append(g, ir_node_new(g, IR_OUTPUT, out->type, out->inputs, 1));
}
static void bad_channels(IrGraph *g) { find(g, IR_BATCHNORM, 1)->inputs[1]->type.shape.dims[0] = 36; }

static void test_verifier_catches(void) {
  expect_broken(wrong_weight_shape, "w has 700 input features but x has 784");
  expect_broken(wrong_result_shape, "the result has shape [99], expected [100]");
  expect_broken(missing_input, "has 4 inputs, expected 5 to 5");
  expect_broken(float_into_xnor, "result type is f32, expected bit");
  expect_broken(use_before_def, "is not defined before its use");
  expect_broken(bad_dropout, "p must be in [0, 1)");
  expect_broken(bad_data_size, "bound data has 3 bytes, the type needs 4");
  expect_broken(two_outputs, "the graph has 1 inputs and 2 outputs");
  expect_broken(bad_channels, "input 1 has shape [36], expected [37]");
}

static void test_bit_layout(void) {
  IrType t = ir_type2(ELEM_BIT, 2048, 784);
  CHECK_EQ_INT(ir_bit_row_words(&t), 13);
  CHECK_EQ_INT(ir_type_bytes(&t), 2048 * 13 * 8);
  IrType v = ir_type1(ELEM_BIT, 64);
  CHECK_EQ_INT(ir_type_bytes(&v), 8);
  IrType w = ir_type1(ELEM_BIT, 65);
  CHECK_EQ_INT(ir_type_bytes(&w), 16);
}

int main(void) {
  test_lowering_verifies();
  test_verifier_catches();
  test_bit_layout();
  TEST_MAIN_END();
}
