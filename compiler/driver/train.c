/* train.c - `bnnc --train MODEL.bnn`: train the model with libbnn on an IDX
 * data set, one line per epoch, a checkpoint after every epoch.
 *
 * Files written (all atomically: temp file, fsync, rename):
 *   -o WEIGHTS       (default MODEL.safetensors) the trained weights, after
 *                    every epoch, PyTorch nn.Sequential key names;
 *   WEIGHTS.ckpt     the checkpoint: weights + optimizer state + counters,
 *                    after every epoch and on Ctrl-C;
 *   --metrics CSV    one row per epoch;  --plot SVG  the curves.
 * A kill at any moment leaves the previous complete files. --resume CKPT
 * continues; single-threaded with the same seed it ends bit-identical to an
 * uninterrupted run, because the checkpoint holds every piece of state the
 * run depends on: tensors, optimizer moments and step, the PRNG state at the
 * start of the epoch (it drew the shuffle) and now (dropout masks).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "driver.h"
#include "metrics.h"
#include "pipeline.h"
#include "runtime_bridge.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Where the run stands; saved in the checkpoint's metadata. */
typedef struct RunState {
  int epoch;                  /* 0-based epoch in progress (or next to start) */
  int64_t batch;              /* next batch index within the epoch */
  uint64_t rng_epoch_start[BNN_RNG_STATE_WORDS];  /* drew this epoch's shuffle */
  double loss_sum;            /* this epoch so far: sum of batch losses * n */
  int64_t correct, seen;
  double seconds;             /* this epoch so far */
} RunState;

typedef struct Trainer {
  const DriverOptions *opts;
  const Model *model;
  TrainConfig cfg;            /* the train block with command-line overrides */
  bnn_net *net;
  bnn_optim *opt;
  bnn_dataset data;
  int64_t n_train, n_test;
  const char *weights_path;
  const char *checkpoint_path;
  Metrics metrics;
  RunState run;
  int64_t *order;             /* [n_train] this epoch's shuffle */
  void *batch_x;              /* [batch, input_size] u8 or f32 */
  uint8_t *batch_y;           /* [batch] */
  int *predictions;           /* [n_test] the last test pass */
  bool tty;
} Trainer;

/* ---- checkpoints ---------------------------------------------------------- */

static void words_to_hex(const uint64_t *w, char *buf, size_t size) {
  snprintf(buf, size, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, w[0], w[1], w[2], w[3]);
}

static bool hex_to_words(const char *s, uint64_t *w) {
  if (!s || strlen(s) != 64) return false;
  for (int i = 0; i < 4; i++) {
    char part[17];
    memcpy(part, s + 16 * i, 16);
    part[16] = '\0';
    char *end;
    w[i] = strtoull(part, &end, 16);
    if (*end) return false;
  }
  return true;
}

static const char *optimizer_name(const TrainConfig *cfg) {
  return cfg->optimizer == OPT_SGD ? "sgd" : "adam";
}

static bool write_checkpoint(Trainer *t, const char *path, bool with_optim) {
  bnn_error err = {0};
  bnn_st_writer *w = NULL;
  bool ok = bnn_st_writer_new(&w, &err) == BNN_OK;
  if (ok) ok = bridge_add_tensors(w, t->net, with_optim ? t->opt : NULL);
  if (ok && with_optim) {
    bnn_train_state st;
    bnn_optim_state_get(t->opt, &st);
    char buf[160];
    struct { const char *key; char value[160]; } meta[9];
    int n = 0;
    snprintf(meta[n].value, sizeof meta[n].value, "%d", t->run.epoch), meta[n++].key = "bnnc.epoch";
    snprintf(meta[n].value, sizeof meta[n].value, "%" PRId64, t->run.batch), meta[n++].key = "bnnc.batch";
    snprintf(meta[n].value, sizeof meta[n].value, "%" PRId64, st.step), meta[n++].key = "bnnc.step";
    snprintf(meta[n].value, sizeof meta[n].value, "%d", st.sgd_started), meta[n++].key = "bnnc.sgd_started";
    words_to_hex(st.rng, buf, sizeof buf);
    snprintf(meta[n].value, sizeof meta[n].value, "%s", buf), meta[n++].key = "bnnc.rng";
    words_to_hex(t->run.rng_epoch_start, buf, sizeof buf);
    snprintf(meta[n].value, sizeof meta[n].value, "%s", buf), meta[n++].key = "bnnc.rng_epoch_start";
    snprintf(meta[n].value, sizeof meta[n].value, "%.17g %" PRId64 " %" PRId64 " %.17g", t->run.loss_sum,
             t->run.correct, t->run.seen, t->run.seconds), meta[n++].key = "bnnc.epoch_partial";
    snprintf(meta[n].value, sizeof meta[n].value, "%s", t->model->name), meta[n++].key = "bnnc.model";
    snprintf(meta[n].value, sizeof meta[n].value, "%s", optimizer_name(&t->cfg)), meta[n++].key = "bnnc.optimizer";
    for (int i = 0; ok && i < n; i++)
      ok = bnn_st_writer_set_metadata(w, meta[i].key, meta[i].value, &err) == BNN_OK;
    char *history = metrics_to_csv(&t->metrics);
    if (ok && history) ok = bnn_st_writer_set_metadata(w, "bnnc.metrics", history, &err) == BNN_OK;
    free(history);
  } else if (ok) {
    ok = bnn_st_writer_set_metadata(w, "format", "pt", &err) == BNN_OK;
  }
  if (ok) ok = bnn_st_writer_write(w, path, &err) == BNN_OK;
  if (!ok && err.status != BNN_OK) bridge_report(&err);
  bnn_st_writer_free(w);
  return ok;
}

static bool read_checkpoint(Trainer *t, const char *path) {
  if (!bridge_load_weights(t->net, path)) return false;
  bnn_error err = {0};
  bnn_st_file *f = NULL;
  if (bnn_st_read(path, &f, &err) != BNN_OK) {
    bridge_report(&err);
    return false;
  }
  bool ok = true;
  const char *model_name = bnn_st_metadata_get(f, "bnnc.model");
  if (!model_name || strcmp(model_name, t->model->name) != 0) {
    bnnc_error("%s is not a checkpoint of model '%s' (it has no bnnc.model '%s' entry)", path,
               t->model->name, t->model->name);
    ok = false;
  }
  /* SGD without momentum has no state tensors to compare, so the kind is
   * recorded by name: resuming with another optimizer would silently
   * continue from state it did not write. */
  const char *optimizer = bnn_st_metadata_get(f, "bnnc.optimizer");
  if (ok && (!optimizer || strcmp(optimizer, optimizer_name(&t->cfg)) != 0)) {
    bnnc_error("%s was written by a run with optimizer '%s', this run uses '%s'", path,
               optimizer ? optimizer : "unknown", optimizer_name(&t->cfg));
    ok = false;
  }
  for (int i = 0; ok && i < bnn_optim_num_tensors(t->opt); i++) {
    bnn_named_tensor nt;
    const float *data;
    ok = bnn_optim_tensor(t->opt, i, &nt, &err) == BNN_OK &&
         bnn_st_get_f32(f, nt.name, nt.ndim, nt.shape, &data, &err) == BNN_OK;
    if (ok) memcpy(nt.data, data, (size_t)nt.numel * sizeof(float));
    else bnnc_error("%s (was it written with another optimizer?)", err.msg); /* err.msg names the file */
  }
  bnn_train_state st;
  bnn_optim_state_get(t->opt, &st);
  const char *epoch = bnn_st_metadata_get(f, "bnnc.epoch");
  const char *batch = bnn_st_metadata_get(f, "bnnc.batch");
  const char *step = bnn_st_metadata_get(f, "bnnc.step");
  const char *sgd = bnn_st_metadata_get(f, "bnnc.sgd_started");
  const char *partial = bnn_st_metadata_get(f, "bnnc.epoch_partial");
  if (ok && !(epoch && batch && step && sgd && partial &&
              sscanf(epoch, "%d", &t->run.epoch) == 1 && sscanf(batch, "%" SCNd64, &t->run.batch) == 1 &&
              sscanf(step, "%" SCNd64, &st.step) == 1 && sscanf(sgd, "%" SCNd32, &st.sgd_started) == 1 &&
              sscanf(partial, "%lg %" SCNd64 " %" SCNd64 " %lg", &t->run.loss_sum, &t->run.correct,
                     &t->run.seen, &t->run.seconds) == 4 &&
              hex_to_words(bnn_st_metadata_get(f, "bnnc.rng"), st.rng) &&
              hex_to_words(bnn_st_metadata_get(f, "bnnc.rng_epoch_start"), t->run.rng_epoch_start))) {
    bnnc_error("%s: the checkpoint's bnnc.* metadata is missing or damaged", path);
    ok = false;
  }
  if (ok) {
    st.epoch = t->run.epoch;
    bnn_optim_state_set(t->opt, &st);
    const char *history = bnn_st_metadata_get(f, "bnnc.metrics");
    if (history && !metrics_from_csv(&t->metrics, history)) {
      bnnc_error("%s: the checkpoint's metrics history is damaged", path);
      ok = false;
    }
  }
  bnn_st_close(f);
  return ok;
}

/* ---- stale temporary files ------------------------------------------------- */

/* A kill (SIGKILL, a power cut) in the middle of writing NAME leaves the
 * atomic writer's temporary ".NAME.tmp.XXXXXX" beside it; NAME itself is
 * intact. Training is the mode that gets killed and restarted, so it removes
 * such leftovers of its own outputs before writing them again. Only regular
 * files named exactly ".NAME.tmp." plus 6 letters or digits are touched. */
static void remove_stale_temps(const char *path, bool quiet) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  char dir[4096];
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if ((size_t)(slash - path) >= sizeof dir) return;
  else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  size_t base_len = strlen(base);
  DIR *d = opendir(dir);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));) {
    const char *n = e->d_name;
    if (n[0] != '.' || strncmp(n + 1, base, base_len) != 0 || strncmp(n + 1 + base_len, ".tmp.", 5) != 0)
      continue;
    const char *suffix = n + 1 + base_len + 5;
    if (strlen(suffix) != 6 || strspn(suffix, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != 6)
      continue;
    char full[8192];
    struct stat st;
    if (snprintf(full, sizeof full, "%s/%s", dir, n) >= (int)sizeof full) continue;
    if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (unlink(full) == 0 && !quiet)
      fprintf(stderr, "bnnc: note: removed '%s', left by an interrupted write of '%s'\n", full, path);
  }
  closedir(d);
}

/* ---- the loop --------------------------------------------------------------- */

static void gather_batch(Trainer *t, int64_t start, int64_t n) {
  int64_t size = t->data.image_size;
  for (int64_t i = 0; i < n; i++) {
    int64_t src = t->order[start + i];
    const uint8_t *img = t->data.train_images + src * size;
    if (t->model->input.type == INPUT_U8) {
      memcpy((uint8_t *)t->batch_x + i * size, img, (size_t)size);
    } else {
      float *dst = (float *)t->batch_x + i * size;
      for (int64_t j = 0; j < size; j++) dst[j] = img[j] / 255.0f;
    }
    t->batch_y[i] = t->data.train_labels[src];
  }
}

/* Test-set accuracy in eval mode; evaluation draws no random numbers. */
static bool test_accuracy(Trainer *t, double *acc) {
  if (!bridge_predict(t->net, t->model, t->data.test_images, t->n_test, t->predictions)) return false;
  int64_t correct = 0;
  for (int64_t i = 0; i < t->n_test; i++) correct += t->predictions[i] == t->data.test_labels[i];
  *acc = t->n_test ? 100.0 * (double)correct / (double)t->n_test : 0;
  return true;
}

/* The live progress line on a terminal, redrawn at most 10 times a second. */
static void progress(const Trainer *t, int64_t seen, double elapsed) {
  static double last_drawn = -1;
  if (!t->tty || t->opts->quiet) return;
  if (seen < t->n_train && last_drawn >= 0 && elapsed - last_drawn < 0.1 && elapsed > last_drawn) return;
  last_drawn = elapsed;
  int width = 30, done = (int)(width * seen / t->n_train);
  double eta = seen ? elapsed * (double)(t->n_train - seen) / (double)seen : 0;
  printf("\repoch %d/%d [", t->run.epoch + 1, t->cfg.epochs);
  for (int i = 0; i < width; i++) putchar(i < done ? '=' : i == done ? '>' : ' ');
  printf("] %3d%%  loss %.4f  ETA %.0f s ", (int)(100 * seen / t->n_train),
         t->run.seen ? t->run.loss_sum / (double)t->run.seen : 0.0, eta);
  fflush(stdout);
}

/* The checkpoint goes last: a kill between two of these writes leaves the
 * other outputs newer than (or as new as) the checkpoint, and --resume redoes
 * the epoch and rewrites them all. */
static bool save_outputs(Trainer *t) {
  if (!write_checkpoint(t, t->weights_path, false)) return false;
  if (t->opts->metrics_path && !metrics_write_csv(&t->metrics, t->opts->metrics_path)) return false;
  if (t->opts->plot_path && !metrics_write_svg(&t->metrics, t->opts->plot_path, t->model->name)) return false;
  return write_checkpoint(t, t->checkpoint_path, true);
}

/* Returns an exit code. */
static int run_epochs(Trainer *t) {
  int64_t batch = t->cfg.batch;
  int64_t n_batches = (t->n_train + batch - 1) / batch;
  bnn_rng *rng = bnn_net_rng(t->net);
  bnn_error err = {0};
  /* Resuming a finished run: no epoch to do, but write the outputs (-o may
   * name a new file). */
  if (t->run.epoch >= t->cfg.epochs && t->run.batch == 0)
    return save_outputs(t) ? BNNC_EXIT_OK : BNNC_EXIT_BAD_INPUT;
  while (t->run.epoch < t->cfg.epochs) {
    /* A fresh epoch records the PRNG before the shuffle; a resumed one
     * replays the shuffle from that record, then restores the current state. */
    uint64_t now_state[BNN_RNG_STATE_WORDS];
    bnn_rng_state_get(rng, now_state);
    if (t->run.batch == 0) bnn_rng_state_get(rng, t->run.rng_epoch_start);
    bnn_rng_state_set(rng, t->run.rng_epoch_start);
    for (int64_t i = 0; i < t->n_train; i++) t->order[i] = i;
    bnn_rng_shuffle(rng, t->order, t->n_train);
    if (t->run.batch > 0) bnn_rng_state_set(rng, now_state);
    bnn_optim_set_epoch(t->opt, t->run.epoch);

    double start = now_seconds() - t->run.seconds;
    for (; t->run.batch < n_batches; t->run.batch++) {
      if (interrupted) {
        t->run.seconds = now_seconds() - start;
        if (t->tty) putchar('\n');
        if (!write_checkpoint(t, t->checkpoint_path, true)) return BNNC_EXIT_BAD_INPUT;
        fprintf(stderr,
                "bnnc: interrupted in epoch %d, batch %" PRId64 "/%" PRId64 "; saved '%s'\n"
                "bnnc: resume with: bnnc --train %s --resume %s\n",
                t->run.epoch + 1, t->run.batch, n_batches, t->checkpoint_path, t->opts->model_path,
                t->checkpoint_path);
        return 130;
      }
      int64_t first = t->run.batch * batch;
      int64_t n = t->n_train - first < batch ? t->n_train - first : batch;
      gather_batch(t, first, n);
      float loss;
      int64_t correct;
      if (bnn_net_train_batch(t->net, t->opt, t->batch_x, t->batch_y, n, &loss, &correct, &err) != BNN_OK) {
        bridge_report(&err);
        return BNNC_EXIT_BAD_INPUT;
      }
      if (!isfinite(loss)) {
        bnnc_error("the loss became %f in epoch %d; try a smaller learning rate (--lr)", (double)loss,
                   t->run.epoch + 1);
        return BNNC_EXIT_BAD_INPUT;
      }
      t->run.loss_sum += (double)loss * (double)n;
      t->run.correct += correct;
      t->run.seen += n;
      progress(t, t->run.seen, now_seconds() - start);
    }
    double test_acc;
    if (!test_accuracy(t, &test_acc)) return BNNC_EXIT_BAD_INPUT;
    MetricsRow row = {
        .epoch = t->run.epoch + 1,
        .loss = t->run.loss_sum / (double)t->run.seen,
        .train_acc = 100.0 * (double)t->run.correct / (double)t->run.seen,
        .test_acc = test_acc,
        .lr = bnn_optim_lr(t->opt),
        .seconds = now_seconds() - start,
    };
    if (!metrics_add(&t->metrics, &row)) return BNNC_EXIT_BAD_INPUT;
    if (t->tty && !t->opts->quiet) printf("\r%*s\r", 100, "");
    printf("epoch %d/%d  loss %.4f  train-acc %.1f%%  test-acc %.1f%%  lr %.6g  %.1f s\n", row.epoch,
           t->cfg.epochs, row.loss, row.train_acc, row.test_acc, row.lr, row.seconds);
    fflush(stdout);
    t->run = (RunState){.epoch = t->run.epoch + 1};
    if (!save_outputs(t)) return BNNC_EXIT_BAD_INPUT;
  }
  return BNNC_EXIT_OK;
}

static bool setup(Trainer *t) {
  const DriverOptions *o = t->opts;
  const Model *m = t->model;
  t->cfg = m->train;
  if (o->epochs) t->cfg.epochs = o->epochs;
  if (o->batch) t->cfg.batch = o->batch;
  if (o->lr > 0) t->cfg.lr = (float)o->lr;
  if (o->seed_set) t->cfg.seed = o->seed;
  if (m->out_shape.rank != 1) {
    bnnc_error("%s: training needs a model whose output is a vector of class scores", m->path);
    return false;
  }
  if (o->threads) bnn_set_num_threads(o->threads);

  bnn_error err = {0};
  if (!bridge_load_dataset(m, o->data_dir, &t->data)) return false;
  t->n_train = o->limit_train && o->limit_train < t->data.n_train ? o->limit_train : t->data.n_train;
  t->n_test = o->limit_test && o->limit_test < t->data.n_test ? o->limit_test : t->data.n_test;

  t->net = bridge_create_net(m, t->cfg.seed);
  if (!t->net) return false;
  bnn_optim_desc od;
  bridge_optim_desc(&t->cfg, t->cfg.epochs, &od);
  if (bnn_optim_create(&t->opt, t->net, &od, &err) != BNN_OK) {
    bridge_report(&err);
    return false;
  }
  size_t elem = m->input.type == INPUT_U8 ? 1 : sizeof(float);
  t->order = malloc(sizeof *t->order * (size_t)t->n_train);
  t->batch_x = malloc(elem * (size_t)t->cfg.batch * (size_t)t->data.image_size);
  t->batch_y = malloc((size_t)t->cfg.batch);
  t->predictions = malloc(sizeof *t->predictions * (size_t)(t->n_test ? t->n_test : 1));
  if (!t->order || !t->batch_x || !t->batch_y || !t->predictions) {
    bnnc_error("out of memory");
    return false;
  }
  if (o->resume_path && !read_checkpoint(t, o->resume_path)) return false;
  return true;
}

int driver_train(const DriverOptions *o) {
  Arena arena;
  arena_init(&arena);
  Trainer t = {.opts = o, .tty = isatty(STDOUT_FILENO)};
  metrics_init(&t.metrics);
  int code = BNNC_EXIT_BAD_INPUT;
  t.model = pipeline_load_model(&arena, o);
  if (!t.model) goto done;
  if (!t.model->train.present) {
    Diagnostics diag;   /* a file-level warning, in the front end's format */
    diag_init(&diag, o->model_path, NULL, 0);
    diag_warning(&diag, NULL, "no 'train { ... }' block: training with the defaults "
                              "(adam lr=0.001, batch 100, 10 epochs)");
  }
  /* Before any work: no output may replace the model, and the outputs must
   * not replace each other. */
  const char *weights = t.weights_path = pipeline_weights_path(&arena, o->model_path, o->output_path);
  const char *checkpoint = t.checkpoint_path = arena_printf(&arena, "%s.ckpt", weights);
  if (!pipeline_output_allowed(o, weights, "the trained weights", NULL, NULL) ||
      !pipeline_output_allowed(o, checkpoint, "the checkpoint", NULL, NULL) ||
      (o->metrics_path && !pipeline_output_allowed(o, o->metrics_path, "the metrics", weights, checkpoint)) ||
      (o->plot_path && !pipeline_output_allowed(o, o->plot_path, "the plot", weights, checkpoint))) {
    code = BNNC_EXIT_USAGE;
    goto done;
  }
  const char *outputs[] = {weights, checkpoint, o->metrics_path, o->plot_path};
  for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++)
    if (outputs[i]) remove_stale_temps(outputs[i], o->quiet);
  if (!setup(&t)) goto done;

  if (!o->quiet)
    printf("training %s on %s: %" PRId64 " train / %" PRId64 " test images, batch %d, %d epoch%s%s\n",
           t.model->name, o->data_dir ? o->data_dir : BNN_DEFAULT_DATA_DIR, t.n_train, t.n_test,
           t.cfg.batch, t.cfg.epochs, t.cfg.epochs == 1 ? "" : "s", o->resume_path ? " (resumed)" : "");
  struct sigaction sa = {0}, old_sa;
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_sa);
  code = run_epochs(&t);
  sigaction(SIGINT, &old_sa, NULL);
  if (code == BNNC_EXIT_OK && !o->quiet)
    printf("wrote %s (weights) and %s (checkpoint)\n", t.weights_path, t.checkpoint_path);
done:
  metrics_free(&t.metrics);
  free(t.order);
  free(t.batch_x);
  free(t.batch_y);
  free(t.predictions);
  bnn_optim_free(t.opt);
  bnn_net_free(t.net);
  bnn_dataset_free(&t.data);
  arena_free(&arena);
  return code;
}
