/* train_bench.c: training speed of the runtime on the issue-3 models.
 *
 * Trains examples/bnn_mlp.bnn (784-2048-2048-2048-10, Adam, batch 100) and
 * examples/float_mlp.bnn (784-200-60-10 ReLU, SGD, batch 256) on random u8
 * images (no data files needed) for a fixed number of batches, repeats, and
 * prints the median time extrapolated to one Fashion-MNIST epoch (60,000
 * images), images/s, and the bnn/float ratio. The BNN runs twice: binary
 * forward on packed bits (XNOR-popcount) and the float-GEMM oracle.
 *
 * usage: train_bench [--threads N] [--batches N] [--reps N] */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bnn/bnn.h"

#define EPOCH_IMAGES 60000.0

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int layer(bnn_layer_desc *L, int n, bnn_layer_kind k, int64_t in, int64_t out) {
  bnn_layer_desc_init(&L[n], k);
  L[n].in_features = in, L[n].out_features = out;
  return n + 1;
}

typedef struct model {
  const char *name;
  bnn_layer_desc layers[12];
  int n_layers;
  bnn_optim_desc opt;
  int batch;
  bool xnor;
} model;

static void bnn_mlp(model *m, bool xnor) {
  bnn_layer_desc *L = m->layers;
  int n = 0;
  n = layer(L, n, BNN_LAYER_BINLINEAR, 784, 2048);
  L[n - 1].real_input = true;
  n = layer(L, n, BNN_LAYER_BATCHNORM, 0, 0);
  n = layer(L, n, BNN_LAYER_BINLINEAR, 2048, 2048);
  n = layer(L, n, BNN_LAYER_BATCHNORM, 0, 0);
  n = layer(L, n, BNN_LAYER_BINLINEAR, 2048, 2048);
  n = layer(L, n, BNN_LAYER_DROPOUT, 0, 0);
  L[n - 1].p = 0.5f;
  n = layer(L, n, BNN_LAYER_BATCHNORM, 0, 0);
  n = layer(L, n, BNN_LAYER_LINEAR, 2048, 10);
  m->n_layers = n;
  m->name = xnor ? "bnn_mlp (xnor fwd)" : "bnn_mlp (float fwd)";
  bnn_optim_desc_init(&m->opt, BNN_OPTIM_ADAM, 0.01f);
  m->batch = 100;
  m->xnor = xnor;
}

static void float_mlp(model *m) {
  bnn_layer_desc *L = m->layers;
  int n = 0;
  n = layer(L, n, BNN_LAYER_LINEAR, 784, 200);
  n = layer(L, n, BNN_LAYER_RELU, 0, 0);
  n = layer(L, n, BNN_LAYER_LINEAR, 200, 60);
  n = layer(L, n, BNN_LAYER_RELU, 0, 0);
  n = layer(L, n, BNN_LAYER_LINEAR, 60, 10);
  m->n_layers = n;
  m->name = "float_mlp";
  bnn_optim_desc_init(&m->opt, BNN_OPTIM_SGD, 0.01f);
  m->batch = 256;
  m->xnor = false;
}

/* Median seconds per batch over `reps` runs of `batches` batches. */
static int run(const model *m, int batches, int reps, double *sec_per_batch) {
  bnn_error err = {0};
  bnn_net_desc d = {.input = {.ndim = 1, .shape = {784}, .type = BNN_INPUT_U8, .normalize = true,
                              .n_norm = 1, .mean = {0.5f}, .std = {0.5f}},
                    .layers = m->layers, .n_layers = m->n_layers, .loss = BNN_LOSS_CROSS_ENTROPY};
  bnn_net *net = NULL;
  bnn_optim *opt = NULL;
  if (bnn_net_create(&net, &d, 1, &err) || bnn_optim_create(&opt, net, &m->opt, &err)) {
    fprintf(stderr, "train_bench: %s\n", err.msg);
    bnn_net_free(net);
    return 1;
  }
  bnn_net_ctx(net)->use_xnor = m->xnor;
  size_t n_img = (size_t)m->batch * 8;
  uint8_t *x = malloc(n_img * 784), *y = malloc(n_img);
  if (!x || !y) {
    fprintf(stderr, "train_bench: out of memory\n");
    return 1;
  }
  bnn_rng r;
  bnn_rng_seed(&r, 7);
  for (size_t i = 0; i < n_img * 784; i++) x[i] = (uint8_t)bnn_rng_below(&r, 256);
  for (size_t i = 0; i < n_img; i++) y[i] = (uint8_t)bnn_rng_below(&r, 10);
  double *t = calloc((size_t)reps, sizeof *t);
  int status = 0;
  for (int rep = -1; rep < reps && !status; rep++) { /* rep -1 warms up (arena, BLAS threads) */
    double t0 = now();
    for (int b = 0; b < (rep < 0 ? 2 : batches); b++) {
      size_t off = (size_t)(b % 8) * (size_t)m->batch;
      float loss;
      int64_t correct;
      if (bnn_net_train_batch(net, opt, x + off * 784, y + off, m->batch, &loss, &correct, &err)) {
        fprintf(stderr, "train_bench: %s\n", err.msg);
        status = 1;
        break;
      }
    }
    if (rep >= 0) t[rep] = (now() - t0) / batches;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  *sec_per_batch = t[reps / 2];
  free(t), free(x), free(y);
  bnn_optim_free(opt);
  bnn_net_free(net);
  return status;
}

int main(int argc, char **argv) {
  int threads = 2, batches = 20, reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batches")) batches = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: train_bench [--threads N] [--batches N] [--reps N]\n");
      return 2;
    }
  }
  if (threads < 1 || batches < 1 || reps < 1) {
    fprintf(stderr, "train_bench: --threads, --batches and --reps must be >= 1\n");
    return 2;
  }
  bnn_set_num_threads(threads);
  const char *core = getenv("OPENBLAS_CORETYPE");
  printf("train_bench: %d thread(s), %d batches x %d reps (median), random u8 data, OPENBLAS_CORETYPE=%s\n",
         threads, batches, reps, core ? core : "(unset)");
  printf("s/epoch is extrapolated to 60,000 images from the measured batches.\n\n");
  printf("%-22s %6s %12s %10s %12s\n", "model", "batch", "ms/batch", "s/epoch", "images/s");
  model models[3];
  bnn_mlp(&models[0], true);
  bnn_mlp(&models[1], false);
  float_mlp(&models[2]);
  double epoch_s[3];
  for (int i = 0; i < 3; i++) {
    double spb;
    if (run(&models[i], batches, reps, &spb)) return 1;
    epoch_s[i] = spb * EPOCH_IMAGES / models[i].batch;
    printf("%-22s %6d %12.2f %10.2f %12.0f\n", models[i].name, models[i].batch, 1e3 * spb,
           epoch_s[i], models[i].batch / spb);
  }
  printf("\nratio bnn_mlp (xnor) / float_mlp: %.1fx   (PyTorch 1.13 reference for bnn_mlp: ~86 s/epoch)\n",
         epoch_s[0] / epoch_s[2]);
  return 0;
}
