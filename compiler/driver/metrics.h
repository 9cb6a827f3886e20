/* metrics.h - the per-epoch history of a training run: kept in memory, saved
 * in checkpoints, written as CSV (--metrics) and drawn as SVG (--plot). */
#ifndef BNNC_METRICS_H
#define BNNC_METRICS_H

#include <stdbool.h>

typedef struct MetricsRow {
  int epoch;          /* 1-based */
  double loss;        /* mean training loss of the epoch */
  double train_acc;   /* percent */
  double test_acc;    /* percent */
  double lr;
  double seconds;
} MetricsRow;

typedef struct Metrics {
  MetricsRow *rows;
  int n, cap;
} Metrics;

void metrics_init(Metrics *m);
void metrics_free(Metrics *m);
bool metrics_add(Metrics *m, const MetricsRow *row);
/* "epoch,loss,train_acc,test_acc,lr,seconds\n" + one line per row; malloc'ed. */
char *metrics_to_csv(const Metrics *m);
/* Replace m's rows with those of a CSV made by metrics_to_csv. */
bool metrics_from_csv(Metrics *m, const char *csv);
/* Atomic writes; errors are reported and give false. */
bool metrics_write_csv(const Metrics *m, const char *path);
bool metrics_write_svg(const Metrics *m, const char *path, const char *title);

#endif
