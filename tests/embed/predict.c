/* predict.c - a compiled model linked into a plain C program, for the
 * embedding tests; built at test time by embed_test.sh with the host or a
 * cross C compiler (so it uses nothing but the C library):
 *
 *   cc -DMODEL_HEADER='"m.h"' -DP=bnn_mlp -DM=BNN_MLP predict.c m.o -o predict
 *   predict PIXELS N PREDICTIONS LOGITS
 *
 * PIXELS holds N raw images (bytes, M_INPUT_SIZE each: an IDX file without
 * its header). Writes one predicted class per line to PREDICTIONS and the
 * N x M_OUTPUT_SIZE logits as raw floats to LOGITS. f32 models get the
 * pixels / 255, as `bnnc --eval` feeds them. The first image goes through
 * _infer, the second through _infer_r, the rest through _infer_batch.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(P, suffix)
#define MAC(suffix) CAT(M, suffix)

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: predict PIXELS N PREDICTIONS LOGITS\n");
    return 2;
  }
  size_t n = (size_t)atol(argv[2]), size = MAC(_INPUT_SIZE), classes = MAC(_OUTPUT_SIZE);
  uint8_t *pixels = malloc(n * size + 1);
  FN(_input_t) *input = malloc(n * size * sizeof *input + 1);
  float *logits = malloc(n * classes * sizeof *logits + 1);
  void *scratch = malloc(MAC(_SCRATCH_BYTES) + 64);
  FILE *f = fopen(argv[1], "rb");
  if (!pixels || !input || !logits || !scratch || !f || fread(pixels, 1, n * size, f) != n * size) {
    fprintf(stderr, "predict: cannot read %zu images from %s\n", n, argv[1]);
    return 1;
  }
  fclose(f);
  for (size_t i = 0; i < n * size; i++)
    input[i] = (FN(_input_t))(sizeof *input == 1 ? pixels[i] : pixels[i] / 255.0f);
  /* malloc aligns to at least 16 bytes, the generated code's requirement */
  int rc = 0;
  if (n > 0) rc |= FN(_infer)(input, logits);
  if (n > 1) rc |= FN(_infer_r)(input + size, logits + classes, scratch);
  if (n > 2) rc |= FN(_infer_batch)(input + 2 * size, logits + 2 * classes, n - 2, scratch);
  if (rc != MAC(_OK)) {
    fprintf(stderr, "predict: inference returned an error\n");
    return 1;
  }
  FILE *p = fopen(argv[3], "w"), *l = fopen(argv[4], "wb");
  if (!p || !l) return 1;
  for (size_t i = 0; i < n; i++) {
    size_t best = 0;
    for (size_t k = 1; k < classes; k++)
      if (logits[i * classes + k] > logits[i * classes + best]) best = k;
    fprintf(p, "%zu\n", best);
  }
  if (fwrite(logits, sizeof *logits, n * classes, l) != n * classes || fclose(l) != 0 || fclose(p) != 0) return 1;
  free(pixels);
  free(input);
  free(logits);
  free(scratch);
  return 0;
}
