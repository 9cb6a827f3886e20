/* passes_test_util.h - building models, binding seeded weights and comparing
 * the reference interpreter before and after passes, for tests/passes. */
#ifndef BNNC_PASSES_TEST_UTIL_H
#define BNNC_PASSES_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "ir.h"
#include "ir_eval.h"
#include "lower.h"
#include "model.h"
#include "passes.h"

extern int test_failures;

#define CHECK(cond, ...)                                                  \
  do {                                                                    \
    if (!(cond)) {                                                        \
      test_failures++;                                                    \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                       \
      fputc('\n', stderr);                                                \
    }                                                                     \
  } while (0)

/* Deterministic random numbers (splitmix64). */
uint64_t rng_next(uint64_t *s);
double rng_uniform(uint64_t *s, double lo, double hi);

/* A Model filled in as the front end would (shapes resolved, labels = index). */
#define TM_MAX_LAYERS 32
typedef struct TestModel {
  Model m;
  Layer layers[TM_MAX_LAYERS];
  char labels[TM_MAX_LAYERS][16];
  float mean[4], std[4];
  Shape cur;
} TestModel;

void tm_init(TestModel *t, const char *name, Shape in, InputType type, bool normalize, float mean,
             float std);
void tm_binlinear(TestModel *t, int64_t out, bool real, bool bias, bool scale);
void tm_linear(TestModel *t, int64_t out, bool bias);
void tm_batchnorm(TestModel *t, float eps);
void tm_dropout(TestModel *t, float p);
void tm_simple(TestModel *t, LayerKind kind);   /* sign, htanh, relu, sigmoid, softmax, flatten */
void tm_conv(TestModel *t, LayerKind kind, int64_t out_ch, int k, int stride, int pad, bool real,
             bool bias, bool scale);
void tm_pool(TestModel *t, LayerKind kind, int k);

/* Bind every unbound param with seeded random data shaped for its user
 * (latent weights with some exact zeros; batchnorm with negative, zero and
 * tiny gamma, means on the accumulator's scale). */
void bind_random(IrGraph *g, uint64_t seed);

/* A random input for g's input node (u8 bytes or f32 values). */
void *random_input(const IrGraph *g, uint64_t *s);

/* Outcome of comparing two graphs on random inputs. */
typedef struct Agreement {
  int samples;
  int argmax_same;
  long bits, bits_same;       /* over all bit-valued activations, in order */
  bool bit_layout_same;       /* same number and sizes of bit values */
  double max_rel_err;         /* max over samples of max|a-b| / max|ref| */
} Agreement;

Agreement compare_graphs(const IrGraph *ref, const IrGraph *got, int samples, uint64_t seed);

/* ir_verify to stderr; counts a failure. */
void check_verify(const IrGraph *g, const char *after);

/* Number of nodes with this op. */
int count_op(const IrGraph *g, IrOp op);

#endif
