/* eval.c - `bnnc --eval MODEL.bnn`: eval-mode forward pass of the runtime
 * over the test set; accuracy, a confusion matrix and, on request, one
 * predicted class per line (written atomically). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "driver.h"
#include "pipeline.h"
#include "runtime_bridge.h"

static void print_confusion(const int *pred, const uint8_t *labels, int64_t n, int classes) {
  int64_t *counts = calloc((size_t)classes * (size_t)classes, sizeof *counts);
  if (!counts) return;
  for (int64_t i = 0; i < n; i++) counts[labels[i] * classes + pred[i]]++;
  printf("confusion matrix (rows: true class, columns: predicted)\n      ");
  for (int c = 0; c < classes; c++) printf("%6d", c);
  putchar('\n');
  for (int r = 0; r < classes; r++) {
    printf("%6d", r);
    for (int c = 0; c < classes; c++) printf("%6" PRId64, counts[r * classes + c]);
    putchar('\n');
  }
  free(counts);
}

static bool write_predictions(const char *path, const int *pred, int64_t n) {
  bnn_error err = {0};
  bnn_atomic_file *f = NULL;
  if (bnn_atomic_open(path, &f, &err) != BNN_OK) {
    bridge_report(&err);
    return false;
  }
  for (int64_t i = 0; i < n; i++)
    if (bnn_atomic_printf(f, &err, "%d\n", pred[i]) != BNN_OK) {
      bnn_atomic_abort(f);
      bridge_report(&err);
      return false;
    }
  if (bnn_atomic_commit(f, &err) != BNN_OK) {
    bridge_report(&err);
    return false;
  }
  return true;
}

int driver_eval(const DriverOptions *o) {
  Arena arena;
  arena_init(&arena);
  int code = BNNC_EXIT_BAD_INPUT;
  bnn_net *net = NULL;
  bnn_dataset ds = {0};
  int *pred = NULL;
  const Model *m = pipeline_load_model(&arena, o);
  if (!m) goto done;
  if (m->out_shape.rank != 1) {
    bnnc_error("%s: evaluation needs a model whose output is a vector of class scores", m->path);
    goto done;
  }
  if (o->threads) bnn_set_num_threads(o->threads);
  net = bridge_create_net(m, 0);
  if (!net) goto done;
  const char *weights = pipeline_weights_path(&arena, o->model_path, o->weights_path);
  if (o->predictions_path &&
      !pipeline_output_allowed(o, o->predictions_path, "the predictions", weights, NULL)) {
    code = BNNC_EXIT_USAGE;
    goto done;
  }
  if (!bridge_load_weights(net, weights)) {
    if (!o->weights_path)
      fprintf(stderr, "bnnc: note: train the model first (bnnc --train %s) or pass --weights FILE\n",
              o->model_path);
    goto done;
  }
  int classes = (int)m->out_shape.dims[0];
  if (!bridge_load_dataset(m, o->data_dir, &ds)) goto done;
  int64_t n = o->limit_test && o->limit_test < ds.n_test ? o->limit_test : ds.n_test;
  pred = malloc(sizeof *pred * (size_t)(n ? n : 1));
  if (!pred) {
    bnnc_error("out of memory");
    goto done;
  }
  if (!bridge_predict(net, m, ds.test_images, n, pred)) goto done;
  int64_t correct = 0;
  for (int64_t i = 0; i < n; i++) correct += pred[i] == ds.test_labels[i];
  printf("%s: test accuracy %.2f%% (%" PRId64 "/%" PRId64 ") with weights %s\n", m->name,
         n ? 100.0 * (double)correct / (double)n : 0.0, correct, n, weights);
  if (!o->quiet) print_confusion(pred, ds.test_labels, n, classes);
  if (o->predictions_path && !write_predictions(o->predictions_path, pred, n)) goto done;
  code = BNNC_EXIT_OK;
done:
  free(pred);
  bnn_dataset_free(&ds);
  bnn_net_free(net);
  arena_free(&arena);
  return code;
}
