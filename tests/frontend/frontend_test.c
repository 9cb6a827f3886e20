/* frontend_test.c - the examples parse and check, and the checked Model says
 * what the source says: labels, resolved shapes, options and train settings.
 * Also a few small valid programs for defaults and corner cases.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static int failures;

#define ASSERT(expected, actual) assert_eq((long long)(expected), (long long)(actual), #actual, __LINE__)
#define ASSERT_STR(expected, actual) assert_str((expected), (actual), #actual, __LINE__)
#define ASSERT_FLOAT(expected, actual) assert_float((expected), (actual), #actual, __LINE__)
#define ASSERT_SHAPE(expected, shape) assert_shape((expected), &(shape), #shape, __LINE__)

static void assert_eq(long long want, long long got, const char *code, int line) {
  if (want == got) return;
  printf("line %d: %s => %lld, expected %lld\n", line, code, got, want);
  failures++;
}

static void assert_str(const char *want, const char *got, const char *code, int line) {
  if (got && strcmp(want, got) == 0) return;
  printf("line %d: %s => \"%s\", expected \"%s\"\n", line, code, got ? got : "(null)", want);
  failures++;
}

static void assert_float(double want, double got, const char *code, int line) {
  if (fabs(want - got) <= 1e-6 * fabs(want) + 1e-12) return;
  printf("line %d: %s => %g, expected %g\n", line, code, got, want);
  failures++;
}

static void assert_shape(const char *want, const Shape *s, const char *code, int line) {
  char buf[64];
  assert_str(want, shape_format(s, buf, sizeof buf), code, line);
}

static Arena arena;

/* Parse an example file; every example must check without a diagnostic. */
static Model *parse_example(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", BNNC_EXAMPLES_DIR, name);
  Diagnostics diag;
  diag_init(&diag, path, NULL, 0);
  Model *m = frontend_parse_file(&arena, &diag, path);
  if (!m || diag.n_errors || diag.n_warnings) {
    printf("%s: %d errors, %d warnings\n", name, diag.n_errors, diag.n_warnings);
    failures++;
    exit(1);
  }
  return m;
}

/* Parse a program from a string; expect_errors says whether it is wrong. */
static Model *parse_text(const char *text, int expect_errors) {
  Diagnostics diag;
  diag_init(&diag, "<test>", NULL, 0);
  char *msgs = NULL;
  size_t msgs_len = 0;
  diag.out = open_memstream(&msgs, &msgs_len);
  Model *m = frontend_parse(&arena, &diag, "<test>", text, strlen(text));
  fclose(diag.out);
  if ((diag.n_errors > 0) != expect_errors || (m == NULL) != (diag.n_errors > 0)) {
    printf("unexpected result for:\n%s\n%s", text, msgs);
    failures++;
  }
  free(msgs);
  return m;
}

static void test_bnn_mlp(void) {
  Model *m = parse_example("bnn_mlp.bnn");
  ASSERT_STR("bnn_mlp", m->name);
  ASSERT(8, m->n_layers);  /* labels "0".."7": every layer counts, dropout included */
  for (int i = 0; i < m->n_layers; i++) {
    char label[16];
    snprintf(label, sizeof label, "%d", i);
    ASSERT_STR(label, m->layers[i].label);
    ASSERT(i, m->layers[i].index);
  }
  ASSERT_SHAPE("784", m->input.shape);
  ASSERT(INPUT_U8, m->input.type);
  ASSERT(1, m->input.normalize);
  ASSERT(1, m->input.n_channels_norm);
  ASSERT_FLOAT(0.5, m->input.mean[0]);
  ASSERT_FLOAT(0.5, m->input.std[0]);

  Layer *l = m->layers;
  ASSERT(LAYER_BINLINEAR, l[0].kind);
  ASSERT(784, l[0].in_features);
  ASSERT(2048, l[0].out_features);
  ASSERT(1, l[0].real_input);
  ASSERT(0, l[0].has_bias);
  ASSERT(0, l[0].has_scale);
  ASSERT(0, l[2].real_input);
  ASSERT(LAYER_BATCHNORM, l[1].kind);
  ASSERT(2048, l[1].out_features);
  ASSERT_FLOAT(1e-5, l[1].eps);
  ASSERT_FLOAT(0.1, l[1].momentum);
  ASSERT(LAYER_DROPOUT, l[5].kind);
  ASSERT_FLOAT(0.5, l[5].p);
  ASSERT(LAYER_BATCHNORM, l[6].kind);
  ASSERT(LAYER_LINEAR, l[7].kind);
  ASSERT(1, l[7].has_bias);
  ASSERT_SHAPE("784", l[0].in_shape);
  ASSERT_SHAPE("2048", l[0].out_shape);
  ASSERT_SHAPE("2048", l[7].in_shape);
  ASSERT_SHAPE("10", l[7].out_shape);
  ASSERT_SHAPE("10", m->out_shape);
  ASSERT(14, l[7].loc.line);
  ASSERT(1, l[7].loc.col);

  TrainConfig *t = &m->train;
  ASSERT(1, t->present);
  ASSERT(LOSS_CROSS_ENTROPY, t->loss);
  ASSERT(OPT_ADAM, t->optimizer);
  ASSERT_FLOAT(0.01, t->lr);
  ASSERT_FLOAT(0.9, t->beta1);
  ASSERT_FLOAT(0.999, t->beta2);
  ASSERT(SCHED_STEP, t->schedule);
  ASSERT(40, t->step_every);
  ASSERT_FLOAT(0.1, t->step_gamma);
  ASSERT(100, t->batch);
  ASSERT(100, t->epochs);
  ASSERT(1, t->seed);
  ASSERT(0, t->clip_weights);
}

static void test_bnn_paper_mlp(void) {
  Model *m = parse_example("bnn_paper_mlp.bnn");
  ASSERT(12, m->n_layers);
  static const LayerKind kinds[] = {LAYER_DROPOUT,   LAYER_BINLINEAR, LAYER_BATCHNORM, LAYER_DROPOUT,
                                    LAYER_BINLINEAR, LAYER_BATCHNORM, LAYER_DROPOUT,   LAYER_BINLINEAR,
                                    LAYER_BATCHNORM, LAYER_DROPOUT,   LAYER_BINLINEAR, LAYER_BATCHNORM};
  for (int i = 0; i < 12; i++) ASSERT(kinds[i], m->layers[i].kind);
  ASSERT_FLOAT(0.2, m->layers[0].p);
  ASSERT(1, m->layers[1].real_input);
  ASSERT(1, m->layers[1].has_bias);
  ASSERT(0, m->layers[4].real_input);
  ASSERT(4096, m->layers[7].out_features);
  ASSERT(10, m->layers[10].out_features);
  ASSERT_FLOAT(1e-4, m->layers[11].eps);
  ASSERT(10, m->layers[11].in_features);
  ASSERT_STR("11", m->layers[11].label);
  ASSERT_SHAPE("10", m->out_shape);
  TrainConfig *t = &m->train;
  ASSERT(LOSS_SQ_HINGE, t->loss);
  ASSERT_FLOAT(0.003, t->lr);
  ASSERT(SCHED_EXP, t->schedule);
  ASSERT_FLOAT(3e-7, t->exp_to);
  ASSERT(1, t->clip_weights);
  ASSERT(1, t->lr_scale_glorot);
  ASSERT(50, t->epochs);
}

static void test_xnor_lenet(void) {
  Model *m = parse_example("xnor_lenet.bnn");
  ASSERT(10, m->n_layers);
  ASSERT_SHAPE("1x28x28", m->input.shape);
  static const char *const out[] = {"32x24x24", "32x24x24", "32x12x12", "64x8x8", "64x8x8",
                                    "64x4x4",   "1024",     "512",      "512",    "10"};
  for (int i = 0; i < 10; i++) ASSERT_SHAPE(out[i], m->layers[i].out_shape);
  ASSERT_SHAPE("1x28x28", m->layers[0].in_shape);
  ASSERT_SHAPE("64x4x4", m->layers[6].in_shape);
  Layer *conv = &m->layers[0], *bconv = &m->layers[3], *pool = &m->layers[2];
  ASSERT(LAYER_CONV2D, conv->kind);
  ASSERT(32, conv->out_channels);
  ASSERT(5, conv->kernel_h);
  ASSERT(5, conv->kernel_w);
  ASSERT(1, conv->stride);
  ASSERT(0, conv->pad);
  ASSERT(1, conv->has_bias);
  ASSERT(LAYER_BINCONV2D, bconv->kind);
  ASSERT(1, bconv->has_scale);
  ASSERT(0, bconv->has_bias);
  ASSERT(0, bconv->real_input);
  ASSERT(LAYER_MAXPOOL, pool->kind);
  ASSERT(2, pool->stride);
  ASSERT(32, m->layers[1].out_features);  /* batchnorm over channels */
  ASSERT(64, m->layers[4].out_features);
  ASSERT(1, m->layers[7].has_scale);
  ASSERT(1024, m->layers[7].in_features);
  ASSERT_FLOAT(0.1307, m->input.mean[0]);
}

static void test_lenet_bn(void) {
  Model *m = parse_example("lenet_bn.bnn");
  ASSERT(16, m->n_layers);
  ASSERT(INPUT_U8, m->input.type);
  ASSERT(0, m->input.normalize);
  ASSERT_SHAPE("6x24x24", m->layers[0].out_shape);
  ASSERT_SHAPE("6x12x12", m->layers[3].out_shape);
  ASSERT_SHAPE("16x8x8", m->layers[4].out_shape);
  ASSERT_SHAPE("16x4x4", m->layers[7].out_shape);
  ASSERT_SHAPE("256", m->layers[8].out_shape);
  ASSERT(LAYER_SIGMOID, m->layers[14].kind);
  ASSERT(84, m->layers[13].in_features);
  ASSERT_SHAPE("10", m->out_shape);
  ASSERT(OPT_SGD, m->train.optimizer);
  ASSERT_FLOAT(1.0, m->train.lr);
  ASSERT(256, m->train.batch);
}

static void test_float_mlp(void) {
  Model *m = parse_example("float_mlp.bnn");
  ASSERT(5, m->n_layers);
  ASSERT_STR("hidden1", m->layers[0].label);
  ASSERT_STR("1", m->layers[1].label);
  ASSERT_STR("hidden2", m->layers[2].label);
  ASSERT_STR("3", m->layers[3].label);
  ASSERT_STR("out", m->layers[4].label);
  ASSERT(INPUT_U8, m->input.type);
  ASSERT(OPT_SGD, m->train.optimizer);
  ASSERT_FLOAT(0.01, m->train.lr);
  ASSERT_FLOAT(0, m->train.sgd_momentum);
  ASSERT(256, m->train.batch);
  ASSERT(10, m->train.epochs);
}

/* Defaults, and what the examples do not show. */
static void test_small_programs(void) {
  Model *m = parse_text("model m\ninput 3x32x32\nconv2d 16 3x3 pad=1 stride=2 nobias\n"
                        "binconv2d 8 3 real bias\navgpool 2x2 stride=1\nbatchnorm momentum=0.2\n"
                        "flatten\nsoftmax", 0);
  if (m) {
    ASSERT(INPUT_F32, m->input.type);
    ASSERT_SHAPE("16x16x16", m->layers[0].out_shape);
    ASSERT(0, m->layers[0].has_bias);
    ASSERT(2, m->layers[0].stride);
    ASSERT(1, m->layers[0].pad);
    ASSERT_SHAPE("8x14x14", m->layers[1].out_shape);
    ASSERT(1, m->layers[1].real_input);
    ASSERT(1, m->layers[1].has_bias);
    ASSERT(3, m->layers[1].kernel_w);
    ASSERT_SHAPE("8x13x13", m->layers[2].out_shape);
    ASSERT(1, m->layers[2].stride);
    ASSERT(8, m->layers[3].in_features);
    ASSERT_FLOAT(0.2, m->layers[3].momentum);
    ASSERT_SHAPE("1352", m->out_shape);
    ASSERT(0, m->train.present);
    ASSERT(100, m->train.batch);
    ASSERT(10, m->train.epochs);
    ASSERT_FLOAT(1e-3, m->train.lr);
    ASSERT(1, m->train.seed);
    ASSERT(OPT_ADAM, m->train.optimizer);
    ASSERT(SCHED_NONE, m->train.schedule);
  }
  /* per-channel normalization; PyTorch floor mode in pooling; no final newline */
  m = parse_text("model rgb\ninput 3x7x7 normalize mean=0.4,0.5,0.6 std=0.2\nmaxpool 2x2\n"
                 "train {\n  seed 42\n  optimizer adam betas=0.8,0.99 lr=1e-2\n}", 0);
  if (m) {
    ASSERT(3, m->input.n_channels_norm);
    ASSERT_FLOAT(0.6, m->input.mean[2]);
    ASSERT_FLOAT(0.2, m->input.std[2]);
    ASSERT_SHAPE("3x3x3", m->out_shape);
    ASSERT(42, m->train.seed);
    ASSERT_FLOAT(0.8, m->train.beta1);
    ASSERT_FLOAT(0.99, m->train.beta2);
  }
  /* comments, blank lines, tabs, CRLF, a one-line train block */
  m = parse_text("# c\n\n\tmodel  t   # x\r\ninput 4\r\n\n  a: relu\ntrain { epochs 3 }\n", 0);
  if (m) {
    ASSERT_STR("a", m->layers[0].label);
    ASSERT(3, m->train.epochs);
  }
  /* the checks that need no source file */
  parse_text("", 1);
  parse_text("model x\ninput 4\nrelu\nrelu extra\n", 1);
  m = parse_text("model d\ninput 4\ndropout 0\n", 0);  /* a warning is not an error */
  if (m) ASSERT_FLOAT(0, m->layers[0].p);
}

int main(void) {
  arena_init(&arena);
  test_bnn_mlp();
  test_bnn_paper_mlp();
  test_xnor_lenet();
  test_lenet_bn();
  test_float_mlp();
  test_small_programs();
  arena_free(&arena);
  if (failures) {
    printf("%d failures\n", failures);
    return 1;
  }
  printf("frontend_examples: OK\n");
  return 0;
}
