/* embed.c - a compiled model inside a plain C program.
 *
 *   embed [DATA_DIR | IMAGES LABELS] [--runs N]
 *
 * Reads the IDX test set (t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
 * each plain or .gz, from DATA_DIR; default /usr/share/datasets/fashion-mnist),
 * classifies every image with the model bnnc compiled (bnn_mlp.o by default, linked by
 * bnnc_add_model in CMakeLists.txt) and prints the accuracy and the time per
 * image: the median over N runs (default 5) of one pass over the test set,
 * one image at a time, one thread.
 *
 * It links the model's object and zlib (to read .gz files), nothing of bnnc:
 * the compiled model needs no runtime library.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* The compiled model: bnn_mlp unless the build names another one of u8 or f32
 * 28x28 input and 10 outputs, e.g. xnor_lenet (CMake: -DBNNC_EMBED_MODEL=...
 * defines EMBED_MODEL, EMBED_MACRO and MODEL_HEADER). */
#ifndef EMBED_MODEL
#define EMBED_MODEL bnn_mlp
#define EMBED_MACRO BNN_MLP
#define MODEL_HEADER "bnn_mlp.h"
#endif
#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(EMBED_MODEL, suffix)     /* FN(_infer_r): bnn_mlp_infer_r */
#define MAC(suffix) CAT(EMBED_MACRO, suffix)    /* MAC(_OK): BNN_MLP_OK */
#define STR_(x) #x
#define STR(x) STR_(x)

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
enum { MAX_RUNS = 101 };

/* An IDX file: magic 0x0000 0x08 (u8) NDIM, NDIM big-endian u32 sizes, data. */
typedef struct Idx {
  uint32_t dims[4];
  int ndim;
  uint8_t *data;
  size_t size;
} Idx;

static uint32_t big_endian_u32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool read_exactly(gzFile f, void *buf, size_t n) {
  uint8_t *p = buf;
  while (n > 0) {
    unsigned chunk = n > (1u << 30) ? 1u << 30 : (unsigned)n;
    int got = gzread(f, p, chunk);
    if (got <= 0) return false;
    p += got;
    n -= (size_t)got;
  }
  return true;
}

/* gzopen reads plain files too, so one reader serves both. */
static bool read_idx(const char *path, Idx *idx) {
  memset(idx, 0, sizeof *idx);
  gzFile f = gzopen(path, "rb");
  if (!f) return false;
  uint8_t head[4], dim[4];
  bool ok = read_exactly(f, head, 4) && head[0] == 0 && head[1] == 0 && head[2] == 0x08 && head[3] >= 1 &&
            head[3] <= 4;
  idx->ndim = ok ? head[3] : 0;
  idx->size = 1;
  for (int i = 0; ok && i < idx->ndim; i++) {
    ok = read_exactly(f, dim, 4);
    idx->dims[i] = big_endian_u32(dim);
    idx->size *= idx->dims[i];
  }
  if (ok) {
    idx->data = malloc(idx->size ? idx->size : 1);
    ok = idx->data && read_exactly(f, idx->data, idx->size);
  }
  gzclose(f);
  if (!ok) {
    fprintf(stderr, "embed: %s is not a readable IDX file of bytes\n", path);
    free(idx->data);
    idx->data = NULL;
  }
  return ok;
}

/* DIR/NAME, or DIR/NAME.gz when only that exists. */
static bool read_idx_in(const char *dir, const char *name, Idx *idx) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *plain = fopen(path, "rb");
  if (plain) fclose(plain);
  else snprintf(path, sizeof path, "%s/%s.gz", dir, name);
  return read_idx(path, idx);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int argmax(const float *v, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

int main(int argc, char **argv) {
  const char *dir = DEFAULT_DATA_DIR, *images_path = NULL, *labels_path = NULL;
  int runs = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = atoi(argv[++i]);
      if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "embed: --runs must be 1 to %d\n", MAX_RUNS);
        return 2;
      }
    } else if (!images_path && i + 1 < argc && argv[i + 1][0] != '-') {
      images_path = argv[i];
      labels_path = argv[++i];
    } else if (argv[i][0] != '-') {
      dir = argv[i];
    } else {
      fprintf(stderr, "usage: embed [DATA_DIR | IMAGES LABELS] [--runs N]\n");
      return 2;
    }
  }

  Idx images, labels;
  bool ok = images_path ? read_idx(images_path, &images) && read_idx(labels_path, &labels)
                        : read_idx_in(dir, "t10k-images-idx3-ubyte", &images) &&
                              read_idx_in(dir, "t10k-labels-idx1-ubyte", &labels);
  if (!ok) return 1;
  size_t n = images.dims[0], pixels = images.size / (n ? n : 1);
  if (labels.ndim != 1 || labels.dims[0] != n || pixels != MAC(_INPUT_SIZE)) {
    fprintf(stderr, "embed: %zu images of %zu pixels and %u labels do not fit a model of %d inputs\n", n, pixels,
            labels.dims[0], MAC(_INPUT_SIZE));
    return 1;
  }

  /* The model's input type: the raw bytes for u8 models, pixels / 255 for f32. */
  FN(_input_t) *input = malloc(sizeof *input * images.size);
  float *logits = malloc(sizeof *logits * MAC(_OUTPUT_SIZE) * (n ? n : 1));
  void *scratch = aligned_alloc(64, (MAC(_SCRATCH_BYTES) + 63) / 64 * 64 + 64);
  if (!input || !logits || !scratch) {
    fprintf(stderr, "embed: out of memory\n");
    return 1;
  }
  for (size_t i = 0; i < images.size; i++)
    input[i] = (FN(_input_t))(sizeof *input == 1 ? images.data[i] : images.data[i] / 255.0f);

  double seconds[MAX_RUNS];
  for (int r = 0; r < runs; r++) {
    double t0 = now_seconds();
    for (size_t i = 0; i < n; i++) {
      if (FN(_infer_r)(input + i * MAC(_INPUT_SIZE), logits + i * MAC(_OUTPUT_SIZE), scratch) != MAC(_OK)) {
        fprintf(stderr, "embed: %s_infer_r failed on image %zu\n", STR(EMBED_MODEL), i);
        return 1;
      }
    }
    seconds[r] = now_seconds() - t0;
  }
  qsort(seconds, (size_t)runs, sizeof seconds[0], compare_doubles);

  size_t correct = 0;
  for (size_t i = 0; i < n; i++) correct += argmax(logits + i * MAC(_OUTPUT_SIZE), MAC(_OUTPUT_SIZE)) == labels.data[i];
  printf("%s (compiled): test accuracy %.2f%% (%zu/%zu), %.2f us per image (median of %d runs, one thread)\n",
         STR(EMBED_MODEL), n ? 100.0 * (double)correct / (double)n : 0.0, correct, n, n ? 1e6 * seconds[runs / 2] / (double)n : 0.0,
         runs);
  free(input);
  free(logits);
  free(scratch);
  free(images.data);
  free(labels.data);
  return 0;
}
