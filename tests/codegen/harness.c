/* harness.c - links with a compiled model and runs it; built by codegen_test
 * at test time with the system C compiler:
 *
 *   cc -std=c11 -Wall -Werror -DMODEL_HEADER='"m.h"' -DP=m -DM=M harness.c m.o
 *   ./harness INPUTS N OUTPUTS [iterations]
 *
 * Reads N samples of M_INPUT_SIZE inputs, writes N x M_OUTPUT_SIZE floats,
 * using _infer for sample 0, _infer_r for sample 1 and _infer_batch for the
 * rest; checks the error codes. Then checks that _infer_batch gives, bit for
 * bit, the outputs of one _infer_r call per sample for n = 1, 3, 7, 64 and 65
 * (whole batch blocks and remainders; the inputs cycle through the N given).
 * With an iteration count it also times _infer_r on sample 0 and prints
 * microseconds per sample. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(P, suffix)
#define MAC(suffix) CAT(M, suffix)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  size_t n = (size_t)atol(argv[2]);
  FN(_input_t) *in = malloc(n * MAC(_INPUT_SIZE) * sizeof *in);
  float *out = calloc(n * MAC(_OUTPUT_SIZE), sizeof *out);
  void *scratch = aligned_alloc(64, MAC(_SCRATCH_BYTES) + 64);
  FILE *f = fopen(argv[1], "rb");
  if (!in || !out || !scratch || !f || fread(in, sizeof *in, n * MAC(_INPUT_SIZE), f) != n * MAC(_INPUT_SIZE)) {
    fprintf(stderr, "harness: cannot read inputs\n");
    return 1;
  }
  fclose(f);
  /* error codes */
  if (FN(_infer_r)(NULL, out, scratch) != MAC(_ERR_NULL) || FN(_infer_r)(in, NULL, scratch) != MAC(_ERR_NULL) ||
      (MAC(_SCRATCH_BYTES) > 0 && FN(_infer_r)(in, out, NULL) != MAC(_ERR_NULL)) ||
      (MAC(_SCRATCH_BYTES) > 0 && FN(_infer_r)(in, out, (char *)scratch + 1) != MAC(_ERR_ALIGN)) ||
      FN(_infer_batch)(NULL, NULL, 0, NULL) != MAC(_OK) || FN(_infer)(NULL, out) != MAC(_ERR_NULL)) {
    fprintf(stderr, "harness: wrong error codes\n");
    return 1;
  }
  int rc = 0;
  if (n > 0) rc |= FN(_infer)(in, out);
  if (n > 1) rc |= FN(_infer_r)(in + MAC(_INPUT_SIZE), out + MAC(_OUTPUT_SIZE), scratch);
  if (n > 2) rc |= FN(_infer_batch)(in + 2 * MAC(_INPUT_SIZE), out + 2 * MAC(_OUTPUT_SIZE), n - 2, scratch);
  if (rc != 0) {
    fprintf(stderr, "harness: inference returned an error\n");
    return 1;
  }
  if (n > 0) {   /* batch == one sample at a time, bit for bit */
    enum { MAX_N = 65 };
    static const size_t counts[] = {1, 3, 7, 64, 65};
    FN(_input_t) *many = malloc(MAX_N * MAC(_INPUT_SIZE) * sizeof *many);
    float *one = calloc(MAX_N * MAC(_OUTPUT_SIZE), sizeof *one), *all = calloc(MAX_N * MAC(_OUTPUT_SIZE), sizeof *all);
    if (!many || !one || !all) return 1;
    for (size_t s = 0; s < MAX_N; s++)
      memcpy(many + s * MAC(_INPUT_SIZE), in + (s % n) * MAC(_INPUT_SIZE), MAC(_INPUT_SIZE) * sizeof *in);
    for (size_t s = 0; s < MAX_N; s++)
      rc |= FN(_infer_r)(many + s * MAC(_INPUT_SIZE), one + s * MAC(_OUTPUT_SIZE), scratch);
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
      memset(all, 0xff, MAX_N * MAC(_OUTPUT_SIZE) * sizeof *all);
      rc |= FN(_infer_batch)(many, all, counts[c], scratch);
      if (memcmp(all, one, counts[c] * MAC(_OUTPUT_SIZE) * sizeof *all) != 0) {
        fprintf(stderr, "harness: _infer_batch of %zu samples differs from one sample at a time\n", counts[c]);
        return 1;
      }
    }
    if (rc != 0) {
      fprintf(stderr, "harness: inference returned an error\n");
      return 1;
    }
    free(many);
    free(one);
    free(all);
  }
  f = fopen(argv[3], "wb");
  if (!f || fwrite(out, sizeof *out, n * MAC(_OUTPUT_SIZE), f) != n * MAC(_OUTPUT_SIZE) || fclose(f) != 0) return 1;
  if (argc > 4) {
    long iters = atol(argv[4]);
    double best = 1e30;
    for (int rep = 0; rep < 7; rep++) {
      double t0 = now();
      for (long i = 0; i < iters; i++) FN(_infer_r)(in, out, scratch);
      double t = (now() - t0) / (double)iters;
      best = t < best ? t : best;
    }
    printf("%.3f us per sample (batch 1, best of 7 x %ld)\n", best * 1e6, iters);
  }
  free(in);
  free(out);
  free(scratch);
  return 0;
}
