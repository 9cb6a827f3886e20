/* weights.c - see weights.h. */
#include "weights.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bnn/io.h"
#include "bnn/rng.h"
#include "pipeline.h"

/* The role of a param: which op reads it, in which input slot. */
typedef enum ParamRole { ROLE_WEIGHT, ROLE_BIAS, ROLE_GAMMA, ROLE_BETA, ROLE_MEAN, ROLE_VAR } ParamRole;

static ParamRole role_of(const IrGraph *g, const IrNode *p) {
  for (const IrNode *n = g->first; n; n = n->next)
    for (int i = 0; i < n->n_inputs; i++) {
      if (n->inputs[i] != p) continue;
      if (n->op == IR_BATCHNORM) return i == 1 ? ROLE_GAMMA : i == 2 ? ROLE_BETA : i == 3 ? ROLE_MEAN : ROLE_VAR;
      return i == 1 ? ROLE_WEIGHT : ROLE_BIAS;
    }
  return ROLE_WEIGHT;
}

static float *alloc_data(IrGraph *g, IrNode *p) {
  BNNC_ASSERT(p->type.elem == ELEM_F32);
  int64_t n = shape_numel(&p->type.shape);
  p->data = arena_array(g->arena, (size_t)n, sizeof(float));
  p->data_bytes = (size_t)n * sizeof(float);
  return p->data;
}

void weights_bind_random(IrGraph *g, uint64_t seed) {
  bnn_rng rng;
  bnn_rng_seed(&rng, seed);
  for (IrNode *p = g->first; p; p = p->next) {
    if (p->op != IR_PARAM || p->data) continue;
    ParamRole role = role_of(g, p);
    float *v = alloc_data(g, p);
    int64_t n = shape_numel(&p->type.shape);
    for (int64_t i = 0; i < n; i++) {
      switch (role) {
      case ROLE_WEIGHT: v[i] = bnn_rng_uniform_range(&rng, -1.0f, 1.0f); break;
      case ROLE_GAMMA:
        v[i] = bnn_rng_uniform_range(&rng, 0.5f, 1.5f) * (bnn_rng_below(&rng, 4) == 0 ? -1.0f : 1.0f);
        break;
      case ROLE_VAR: v[i] = bnn_rng_uniform_range(&rng, 0.5f, 2.0f); break;
      case ROLE_BIAS:
      case ROLE_BETA:
      case ROLE_MEAN: v[i] = bnn_rng_uniform_range(&rng, -0.2f, 0.2f); break;
      }
    }
  }
}

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Reports every key/shape problem; extra optimizer state of a checkpoint is fine. */
static bool check_keys(const bnn_st_file *f, const char *path, const IrGraph *g) {
  size_t n = 0;
  for (const IrNode *p = g->first; p; p = p->next) n += p->op == IR_PARAM && !p->data;
  bnn_st_expect *expect = calloc(n ? n : 1, sizeof *expect);
  if (!expect) BNNC_BUG("out of memory");
  size_t k = 0;
  for (const IrNode *p = g->first; p; p = p->next)
    if (p->op == IR_PARAM && !p->data)
      expect[k++] = (bnn_st_expect){p->attrs.name, p->type.shape.rank, p->type.shape.dims};
  char *report = NULL;
  bnn_error err = {0};
  bool ok = true;
  if (bnn_st_check(f, expect, n, &report, &err) != BNN_OK) {
    for (char *line = report; line && *line;) {
      char *end = strchr(line, '\n');
      if (strncmp(line, "unexpected tensor \"optim.", 25) != 0) ok = false;
      line = end ? end + 1 : NULL;
    }
    if (!report) ok = false;
    if (!ok) bnnc_error("%s does not fit the model:\n%s", path, report ? report : err.msg);
  }
  free(report);
  free(expect);
  return ok;
}

bool weights_bind(IrGraph *g, const DriverOptions *o) {
  if (o->random_weights) {
    weights_bind_random(g, o->random_seed);
    return true;
  }
  const char *path = pipeline_weights_path(g->arena, o->model_path, o->weights_path);
  if (!o->weights_path && !file_exists(path)) {
    bnnc_error("no weights for %s: %s does not exist", o->model_path, path);
    fprintf(stderr, "bnnc: note: train the model first (bnnc --train %s), pass --weights FILE, or "
                    "compile with --random-weights SEED for benchmarks and tests\n",
            o->model_path);
    return false;
  }
  bnn_st_file *f = NULL;
  bnn_error err = {0};
  if (bnn_st_read(path, &f, &err) != BNN_OK) {
    bnnc_error("%s", err.msg);
    return false;
  }
  bool ok = check_keys(f, path, g);
  for (IrNode *p = g->first; ok && p; p = p->next) {
    if (p->op != IR_PARAM || p->data) continue;
    const float *data;
    if (bnn_st_get_f32(f, p->attrs.name, p->type.shape.rank, p->type.shape.dims, &data, &err) != BNN_OK) {
      bnnc_error("%s", err.msg);
      ok = false;
      break;
    }
    /* alloc_data sets p->data_bytes: call it before reading the size (the
     * order in which arguments are evaluated is unspecified). */
    float *dst = alloc_data(g, p);
    memcpy(dst, data, p->data_bytes);
  }
  bnn_st_close(f);
  return ok;
}
