/* make_dataset.c - writes a small synthetic 10-class image data set in the
 * four-file IDX layout, for the training tests (no download, deterministic).
 *
 *   make_dataset DIR [N_TRAIN N_TEST SEED]
 *
 * Each class k has its own random 28x28 prototype of bright and dark pixels;
 * an image is its class's prototype with 20% of the pixels replaced by noise.
 * A linear classifier can reach ~100%, so a test can demand high accuracy.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bnn/io.h"
#include "bnn/rng.h"

enum { SIDE = 28, PIXELS = SIDE * SIDE, CLASSES = 10 };

static int write_split(const char *dir, const char *prefix, uint32_t n, const uint8_t *protos,
                       bnn_rng *rng) {
  uint8_t *images = malloc((size_t)n * PIXELS), *labels = malloc(n);
  if (!images || !labels) return 1;
  for (uint32_t i = 0; i < n; i++) {
    int k = (int)bnn_rng_below(rng, CLASSES);
    labels[i] = (uint8_t)k;
    for (int p = 0; p < PIXELS; p++)
      images[(size_t)i * PIXELS + p] =
          bnn_rng_uniform(rng) < 0.2f ? (uint8_t)bnn_rng_below(rng, 256) : protos[k * PIXELS + p];
  }
  char path[4096];
  bnn_error err = {0};
  uint32_t image_dims[3] = {n, SIDE, SIDE}, label_dims[1] = {n};
  snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
  int bad = bnn_idx_write(path, 3, image_dims, images, true, &err) != BNN_OK;
  snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
  bad = bad || bnn_idx_write(path, 1, label_dims, labels, false, &err) != BNN_OK;
  if (bad) fprintf(stderr, "make_dataset: %s\n", err.msg);
  free(images);
  free(labels);
  return bad;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 5) {
    fprintf(stderr, "usage: make_dataset DIR [N_TRAIN N_TEST SEED]\n");
    return 2;
  }
  uint32_t n_train = argc == 5 ? (uint32_t)atol(argv[2]) : 2000;
  uint32_t n_test = argc == 5 ? (uint32_t)atol(argv[3]) : 500;
  uint64_t seed = argc == 5 ? (uint64_t)atoll(argv[4]) : 7;
  mkdir(argv[1], 0777);
  bnn_rng rng;
  bnn_rng_seed(&rng, seed);
  uint8_t protos[CLASSES * PIXELS];
  for (int i = 0; i < CLASSES * PIXELS; i++) protos[i] = bnn_rng_uniform(&rng) < 0.5f ? 230 : 20;
  return write_split(argv[1], "train", n_train, protos, &rng) ||
         write_split(argv[1], "t10k", n_test, protos, &rng);
}
