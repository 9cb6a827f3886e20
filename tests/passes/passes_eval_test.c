/* passes_eval_test.c - the reference interpreter on hand-computed cases, so
 * the oracle of the other pass tests is itself checked. */
#include <math.h>
#include <string.h>

#include "passes_test_util.h"

static IrNode *param(IrGraph *g, const char *name, IrType t, const void *data) {
  IrNode *p = ir_node_new(g, IR_PARAM, t, NULL, 0);
  p->attrs.name = name;
  p->data_bytes = (size_t)ir_type_bytes(&t);
  p->data = arena_alloc(g->arena, p->data_bytes);
  memcpy(p->data, data, p->data_bytes);
  ir_append(g, p);
  return p;
}

static IrNode *node(IrGraph *g, IrOp op, IrType t, int n, IrNode *a, IrNode *b, IrNode *c) {
  IrNode *in[3] = {a, b, c};
  IrNode *x = ir_node_new(g, op, t, in, n);
  ir_append(g, x);
  return x;
}

/* sign -> binlinear (scale, bias) with sign(0) = +1 for inputs and weights. */
static void test_binlinear(Arena *arena) {
  IrGraph g;
  ir_graph_init(&g, arena, "t");
  IrNode *x = node(&g, IR_INPUT, ir_type1(ELEM_F32, 3), 0, NULL, NULL, NULL);
  IrNode *s = node(&g, IR_SIGN, ir_type1(ELEM_BIT, 3), 1, x, NULL, NULL);
  float w[6] = {1, -2, 0, -1, -1, 4}, b[2] = {0.5f, -1};
  IrNode *wp = param(&g, "w", ir_type2(ELEM_F32, 2, 3), w);
  IrNode *bp = param(&g, "b", ir_type1(ELEM_F32, 2), b);
  IrNode *l = node(&g, IR_BINLINEAR, ir_type1(ELEM_F32, 2), 3, s, wp, bp);
  l->attrs.scale = true;
  node(&g, IR_OUTPUT, l->type, 1, l, NULL, NULL);
  check_verify(&g, "building");
  float in[3] = {0.0f, -3, 2}, out[2];
  CHECK(ir_eval(&g, in, out, NULL, NULL) == IR_EVAL_OK, "eval");
  /* x = (+1, -1, +1); row 0 signs (+,-,+): 3 * alpha 1 + 0.5; row 1 (-,-,+): 1 * 2 - 1 */
  CHECK(out[0] == 3.5f && out[1] == 1.0f, "got %g %g", (double)out[0], (double)out[1]);
}

/* 70-wide bit rows (two words, padding bits) through bindense and threshold. */
static void test_bit_rows(Arena *arena) {
  IrGraph g;
  ir_graph_init(&g, arena, "t");
  IrNode *x = node(&g, IR_INPUT, ir_type1(ELEM_F32, 70), 0, NULL, NULL, NULL);
  IrNode *s = node(&g, IR_SIGN, ir_type1(ELEM_BIT, 70), 1, x, NULL, NULL);
  uint64_t w[2] = {0, 0};   /* all +1 */
  int32_t thr[1] = {10}, flip[1] = {0};
  IrNode *wp = param(&g, "w", ir_type2(ELEM_BIT, 1, 70), w);
  IrNode *d = node(&g, IR_BINDENSE, ir_type1(ELEM_I32, 1), 2, s, wp, NULL);
  IrNode *tp = param(&g, "thr", ir_type1(ELEM_I32, 1), thr);
  IrNode *fp = param(&g, "flip", ir_type1(ELEM_I32, 1), flip);
  IrNode *t = node(&g, IR_THRESHOLD, ir_type1(ELEM_BIT, 1), 3, d, tp, fp);
  IrNode *c = node(&g, IR_CONVERT, ir_type1(ELEM_F32, 1), 1, t, NULL, NULL);
  node(&g, IR_OUTPUT, c->type, 1, c, NULL, NULL);
  check_verify(&g, "building");
  float in[70], out[1];
  for (int negatives = 0; negatives <= 70; negatives++) {
    for (int j = 0; j < 70; j++) in[j] = j < negatives ? -1.0f : 1.0f;
    CHECK(ir_eval(&g, in, out, NULL, NULL) == IR_EVAL_OK, "eval");
    float want = 70 - 2 * negatives >= 10 ? 1.0f : -1.0f;
    CHECK(out[0] == want, "negatives %d: got %g", negatives, (double)out[0]);
  }
}

/* binconv2d on bits with zero padding: padded positions add 0. */
static void test_binconv_padding(Arena *arena) {
  IrGraph g;
  ir_graph_init(&g, arena, "t");
  Shape xs = {3, {1, 2, 2}}, ws = {4, {1, 1, 3, 3}}, ys = {3, {1, 2, 2}};
  IrNode *x = node(&g, IR_INPUT, ir_type(ELEM_F32, &xs), 0, NULL, NULL, NULL);
  IrNode *s = node(&g, IR_SIGN, ir_type(ELEM_BIT, &xs), 1, x, NULL, NULL);
  float w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  IrNode *wp = param(&g, "w", ir_type(ELEM_F32, &ws), w);
  IrNode *cv = node(&g, IR_BINCONV2D, ir_type(ELEM_F32, &ys), 2, s, wp, NULL);
  cv->attrs.kernel_h = cv->attrs.kernel_w = 3;
  cv->attrs.stride = 1;
  cv->attrs.pad = 1;
  node(&g, IR_OUTPUT, cv->type, 1, cv, NULL, NULL);
  check_verify(&g, "building");
  float in[4] = {1, -1, -1, -1}, out[4];
  CHECK(ir_eval(&g, in, out, NULL, NULL) == IR_EVAL_OK, "eval");
  for (int i = 0; i < 4; i++) CHECK(out[i] == -2.0f, "out[%d] = %g, expected -2", i, (double)out[i]);
}

/* u8 input -> affine -> batchnorm uses the documented formula. */
static void test_affine_batchnorm(Arena *arena) {
  IrGraph g;
  ir_graph_init(&g, arena, "t");
  IrNode *x = node(&g, IR_INPUT, ir_type1(ELEM_U8, 2), 0, NULL, NULL, NULL);
  float sc[1] = {1.0f / 255}, sh[1] = {-0.5f}, ga[2] = {2, -1}, be[2] = {0.25f, 0}, me[2] = {0.1f, 0},
        va[2] = {4, 1};
  IrNode *a = node(&g, IR_AFFINE, ir_type1(ELEM_F32, 2), 3, x, param(&g, "s", ir_type1(ELEM_F32, 1), sc),
                   param(&g, "t", ir_type1(ELEM_F32, 1), sh));
  IrNode *in5[5] = {a, param(&g, "g", ir_type1(ELEM_F32, 2), ga), param(&g, "b", ir_type1(ELEM_F32, 2), be),
                    param(&g, "m", ir_type1(ELEM_F32, 2), me), param(&g, "v", ir_type1(ELEM_F32, 2), va)};
  IrNode *bn = ir_node_new(&g, IR_BATCHNORM, ir_type1(ELEM_F32, 2), in5, 5);
  bn->attrs.eps = 1e-5f;
  ir_append(&g, bn);
  node(&g, IR_OUTPUT, bn->type, 1, bn, NULL, NULL);
  check_verify(&g, "building");
  uint8_t in[2] = {255, 0};
  float out[2];
  CHECK(ir_eval(&g, in, out, NULL, NULL) == IR_EVAL_OK, "eval");
  float x0 = 255.0f * (1.0f / 255) + -0.5f, x1 = 0.0f * (1.0f / 255) + -0.5f;
  float y0 = (x0 - 0.1f) / sqrtf(4.0f + 1e-5f) * 2.0f + 0.25f, y1 = (x1 - 0.0f) / sqrtf(1.0f + 1e-5f) * -1.0f + 0.0f;
  CHECK(out[0] == y0 && out[1] == y1, "got %.9g %.9g want %.9g %.9g", (double)out[0], (double)out[1],
        (double)y0, (double)y1);
}

int main(void) {
  Arena arena;
  arena_init(&arena);
  test_binlinear(&arena);
  test_bit_rows(&arena);
  test_binconv_padding(&arena);
  test_affine_batchnorm(&arena);
  arena_free(&arena);
  printf("%s: %d failure(s)\n", __FILE__, test_failures);
  return test_failures ? 1 : 0;
}
