/* metrics.c - training history: CSV text and a small SVG plot. */
#define _POSIX_C_SOURCE 200809L
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/io.h"
#include "diag.h"

#define CSV_HEADER "epoch,loss,train_acc,test_acc,lr,seconds\n"

void metrics_init(Metrics *m) { memset(m, 0, sizeof *m); }

void metrics_free(Metrics *m) {
  free(m->rows);
  metrics_init(m);
}

bool metrics_add(Metrics *m, const MetricsRow *row) {
  if (m->n == m->cap) {
    int cap = m->cap ? 2 * m->cap : 16;
    MetricsRow *rows = realloc(m->rows, sizeof *rows * (size_t)cap);
    if (!rows) {
      bnnc_error("out of memory");
      return false;
    }
    m->rows = rows;
    m->cap = cap;
  }
  m->rows[m->n++] = *row;
  return true;
}

char *metrics_to_csv(const Metrics *m) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  fputs(CSV_HEADER, f);
  for (int i = 0; i < m->n; i++) {
    const MetricsRow *r = &m->rows[i];
    fprintf(f, "%d,%.6f,%.4f,%.4f,%.6g,%.3f\n", r->epoch, r->loss, r->train_acc, r->test_acc, r->lr,
            r->seconds);
  }
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

bool metrics_from_csv(Metrics *m, const char *csv) {
  m->n = 0;
  if (strncmp(csv, CSV_HEADER, strlen(CSV_HEADER)) != 0) return false;
  const char *line = csv + strlen(CSV_HEADER);
  while (*line) {
    MetricsRow r;
    if (sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf", &r.epoch, &r.loss, &r.train_acc, &r.test_acc, &r.lr,
               &r.seconds) != 6 || !metrics_add(m, &r))
      return false;
    const char *end = strchr(line, '\n');
    line = end ? end + 1 : line + strlen(line);
  }
  return true;
}

static bool write_text(const char *path, const char *text) {
  bnn_error err = {0};
  if (bnn_write_file_atomic(path, text, strlen(text), &err) != BNN_OK) {
    bnnc_error("%s", err.msg);
    return false;
  }
  return true;
}

bool metrics_write_csv(const Metrics *m, const char *path) {
  char *csv = metrics_to_csv(m);
  if (!csv) {
    bnnc_error("out of memory");
    return false;
  }
  bool ok = write_text(path, csv);
  free(csv);
  return ok;
}

/* Two panels side by side: training loss, and train/test accuracy. */
bool metrics_write_svg(const Metrics *m, const char *path, const char *title) {
  enum { W = 900, H = 360, PANEL_W = 400, PANEL_H = 260, TOP = 50, LEFT = 50 };
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) {
    bnnc_error("out of memory");
    return false;
  }
  double max_loss = 0;
  for (int i = 0; i < m->n; i++)
    if (m->rows[i].loss > max_loss) max_loss = m->rows[i].loss;
  if (max_loss <= 0) max_loss = 1;
  int epochs = m->n > 1 ? m->n : 2;

  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"16\">%s: training curves</text>\n", LEFT, title);
  for (int panel = 0; panel < 2; panel++) {
    int x0 = LEFT + panel * (PANEL_W + 50), y0 = TOP;
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n", x0,
            y0, PANEL_W, PANEL_H);
    fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", x0, y0 - 6,
            panel == 0 ? "training loss" : "accuracy % (blue: train, orange: test)");
    fprintf(f, "<text x=\"%d\" y=\"%d\">epoch 1</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">epoch %d</text>\n",
            x0, y0 + PANEL_H + 16, x0 + PANEL_W, y0 + PANEL_H + 16, m->n);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.3g</text>\n", x0 - 4, y0 + 10,
            panel == 0 ? max_loss : 100.0);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", x0 - 4, y0 + PANEL_H);
    int series = panel == 0 ? 1 : 2;
    for (int s = 0; s < series; s++) {
      const char *color = panel == 0 ? "#c00" : s == 0 ? "#1f77b4" : "#ff7f0e";
      fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
      for (int i = 0; i < m->n; i++) {
        double v = panel == 0 ? m->rows[i].loss / max_loss
                   : s == 0   ? m->rows[i].train_acc / 100.0
                              : m->rows[i].test_acc / 100.0;
        fprintf(f, "%.1f,%.1f ", x0 + (double)PANEL_W * i / (epochs - 1), y0 + PANEL_H * (1 - v));
      }
      fprintf(f, "\"/>\n");
    }
  }
  fprintf(f, "</svg>\n");
  if (fclose(f) != 0) {
    free(buf);
    bnnc_error("out of memory");
    return false;
  }
  bool ok = write_text(path, buf);
  free(buf);
  return ok;
}
