/* verify.c - `bnnc --verify MODEL.bnn`: the compiled model against the
 * runtime's eval mode, on random inputs and on the test set.
 *
 * The model is compiled exactly as `bnnc MODEL.bnn` compiles it (same
 * passes, same target options, same object), linked into this process
 * (codegen_jit), and run next to libbnn's bnn_net_forward_eval with the same
 * tensors: the weights are bound to the IR once and copied into the runtime
 * net, so --random-weights works too.
 *
 * Inputs: --samples N random inputs (bytes for a u8 model, uniform [0, 1) for
 * an f32 one), then the test set when --data is given, or when the default
 * data set exists and the model takes its 784 pixels (--limit-test N keeps
 * the first N). f32 models see the pixels / 255, as `bnnc --eval` feeds them.
 *
 * The bar (issue 4): argmax agreement on 100% of the inputs and logits within
 * 1e-4 relative (the largest difference over the sample's largest |logit|)
 * when the first layer binarizes its input; 99.9% of the test images when it
 * takes real values (the runtime sums real inputs in f32, whose rounding can
 * flip a sign next to zero; the compiled code's integer sum cannot). Random
 * bytes put far more first-layer sums next to zero than images do, so there
 * the real-input bar is 99%. Below the bar: exit 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bnn/rng.h"
#include "codegen.h"
#include "diag.h"
#include "driver.h"
#include "passes.h"
#include "pipeline.h"
#include "runtime_bridge.h"
#include "weights.h"

#define VERIFY_REL_TOLERANCE 1e-4
#define VERIFY_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"
enum { VERIFY_CHUNK = 256 };

typedef struct Agreement {
  int64_t samples;
  int64_t argmax_agree;
  int64_t logits_agree;     /* max relative error <= VERIFY_REL_TOLERANCE */
  double max_rel_error;
} Agreement;

/* Largest |c - r| over the largest |r| of one sample (0 when identical). */
static double relative_error(const float *compiled, const float *runtime, int64_t k) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < k; i++) {
    double d = fabs((double)compiled[i] - (double)runtime[i]);
    if (!(d <= diff)) diff = d;   /* NaN sticks */
    if (fabs((double)runtime[i]) > scale) scale = fabs((double)runtime[i]);
  }
  if (diff == 0) return 0;
  return scale > 0 ? diff / scale : INFINITY;
}

/* The first layer with weights binarizes its input (no `real`). */
static bool first_layer_binary(const Model *m) {
  for (int i = 0; i < m->n_layers; i++) {
    const Layer *l = &m->layers[i];
    if (!layer_kind_has_params(l->kind) || l->kind == LAYER_BATCHNORM) continue;
    return (l->kind == LAYER_BINLINEAR || l->kind == LAYER_BINCONV2D) && !l->real_input;
  }
  return false;
}

/* Copies every tensor bound to the IR into the runtime net, by name. */
static bool copy_weights(const IrGraph *g, bnn_net *net) {
  bnn_error err = {0};
  for (const IrNode *p = g->first; p; p = p->next) {
    if (p->op != IR_PARAM || !p->attrs.name || strncmp(p->attrs.name, "input.", 6) == 0) continue;
    bnn_named_tensor t;
    if (bnn_net_find_tensor(net, p->attrs.name, &t, &err) != BNN_OK) {
      bridge_report(&err);
      return false;
    }
    if (t.numel != shape_numel(&p->type.shape) || p->type.elem != ELEM_F32 || !p->data)
      BNNC_BUG("param %s does not match the runtime's tensor", p->attrs.name);
    memcpy(t.data, p->data, sizeof(float) * (size_t)t.numel);
  }
  return true;
}

typedef struct Runner {
  bnn_net *net;
  const CodegenJitModel *jit;
  void *scratch;
  float *want, *got;        /* [VERIFY_CHUNK, classes] */
  int64_t classes;
} Runner;

/* Runs n <= VERIFY_CHUNK samples through both and tallies the agreement. */
static bool compare_chunk(Runner *r, const void *x, int64_t n, Agreement *a) {
  bnn_error err = {0};
  if (bnn_net_forward_eval(r->net, x, n, r->want, &err) != BNN_OK) {
    bridge_report(&err);
    return false;
  }
  int rc = r->jit->infer_batch(x, r->got, (size_t)n, r->scratch);
  if (rc != 0) BNNC_BUG("the compiled %s_infer_batch returned %d", r->jit->ifc.prefix, rc);
  for (int64_t i = 0; i < n; i++) {
    const float *want = r->want + i * r->classes, *got = r->got + i * r->classes;
    double rel = relative_error(got, want, r->classes);
    a->samples++;
    a->argmax_agree += bnn_argmax(got, r->classes) == bnn_argmax(want, r->classes);
    a->logits_agree += rel <= VERIFY_REL_TOLERANCE;
    if (!(rel <= a->max_rel_error)) a->max_rel_error = rel;
  }
  return true;
}

/* `samples` random inputs, in chunks. */
static bool compare_random(Runner *r, const Model *m, int samples, Agreement *a) {
  int64_t size = shape_numel(&m->input.shape);
  bool u8 = m->input.type == INPUT_U8;
  void *x = malloc((size_t)(VERIFY_CHUNK * size) * (u8 ? 1 : sizeof(float)));
  if (!x) BNNC_BUG("out of memory");
  bnn_rng rng;
  bnn_rng_seed(&rng, 20240601);
  bool ok = true;
  for (int64_t start = 0; ok && start < samples; start += VERIFY_CHUNK) {
    int64_t n = samples - start < VERIFY_CHUNK ? samples - start : VERIFY_CHUNK;
    for (int64_t j = 0; j < n * size; j++) {
      if (u8) ((uint8_t *)x)[j] = (uint8_t)bnn_rng_below(&rng, 256);
      else ((float *)x)[j] = bnn_rng_uniform(&rng);
    }
    ok = compare_chunk(r, x, n, a);
  }
  free(x);
  return ok;
}

static bool compare_dataset(Runner *r, const Model *m, const bnn_dataset *ds, int64_t n_test, Agreement *a) {
  int64_t size = ds->image_size;
  float *xf = m->input.type == INPUT_U8 ? NULL : malloc(sizeof(float) * (size_t)(VERIFY_CHUNK * size));
  if (m->input.type != INPUT_U8 && !xf) BNNC_BUG("out of memory");
  bool ok = true;
  for (int64_t start = 0; ok && start < n_test; start += VERIFY_CHUNK) {
    int64_t n = n_test - start < VERIFY_CHUNK ? n_test - start : VERIFY_CHUNK;
    const uint8_t *img = ds->test_images + start * size;
    const void *x = img;
    if (xf) {
      for (int64_t j = 0; j < n * size; j++) xf[j] = img[j] / 255.0f;
      x = xf;
    }
    ok = compare_chunk(r, x, n, a);
  }
  free(xf);
  return ok;
}

/* Prints one line; returns true when the agreement meets the bar: at most
 * `per_mille` disagreeing samples in a thousand (rounded down), for both the
 * argmax and the logits. */
static bool report(const char *what, const Agreement *a, int per_mille) {
  int64_t allowed = a->samples * per_mille / 1000;
  bool ok = a->samples - a->argmax_agree <= allowed && a->samples - a->logits_agree <= allowed;
  double n = a->samples ? (double)a->samples : 1.0;
  printf("  %-14s %7" PRId64 " samples: argmax agrees on %.2f%% (%" PRId64 "/%" PRId64
         "), logits within %.0e on %.2f%%, max relative error %.2e  %s\n",
         what, a->samples, 100.0 * (double)a->argmax_agree / n, a->argmax_agree, a->samples,
         VERIFY_REL_TOLERANCE, 100.0 * (double)a->logits_agree / n, a->max_rel_error,
         ok ? "ok" : "BELOW THE BAR");
  return ok;
}

static void after_pass(const IrGraph *g, const char *pass, const void *ctx) { pipeline_verify(g, pass, ctx); }

/* Test data: --data, or the default set when it exists and fits the model. */
static const char *test_data_dir(const DriverOptions *o, const Model *m) {
  if (o->data_dir) return o->data_dir;
  struct stat st;
  if (shape_numel(&m->input.shape) == 784 && stat(VERIFY_DEFAULT_DATA, &st) == 0) return VERIFY_DEFAULT_DATA;
  return NULL;
}

int driver_verify(const DriverOptions *o) {
  Arena arena;
  arena_init(&arena);
  int code = BNNC_EXIT_BAD_INPUT;
  bnn_net *net = NULL;
  bnn_dataset ds = {0};
  CodegenJitModel jit = {0};
  Runner r = {0};
  const Model *m = pipeline_load_model(&arena, o);
  if (!m) goto done;
  if (m->out_shape.rank != 1) {
    bnnc_error("%s: --verify needs a model whose output is a vector", m->path);
    goto done;
  }
  if (o->threads) bnn_set_num_threads(o->threads);

  /* One set of tensors for both sides. */
  IrGraph *g = pipeline_lower(&arena, m, o);
  if (!weights_bind(g, o)) goto done;
  net = bridge_create_net(m, 0);
  if (!net || !copy_weights(g, net)) goto done;

  PassOptions passes = passes_default_options();
  passes.after_pass = after_pass;
  passes.ctx = o;
  passes_run_inference(g, &passes);
  CodegenTarget target = {o->target_triple, o->mcpu, o->mattr, o->opt_level};
  code = codegen_jit(g, &target, &jit);
  if (code != BNNC_EXIT_OK) goto done;
  code = BNNC_EXIT_BAD_INPUT;

  r.net = net;
  r.jit = &jit;
  r.classes = jit.ifc.output_size;
  r.scratch = aligned_alloc(64, (size_t)(jit.ifc.scratch_bytes + 63) / 64 * 64 + 64);
  r.want = malloc(sizeof(float) * (size_t)(VERIFY_CHUNK * r.classes));
  r.got = malloc(sizeof(float) * (size_t)(VERIFY_CHUNK * r.classes));
  if (!r.scratch || !r.want || !r.got) BNNC_BUG("out of memory");
  if (r.classes != bnn_net_output_size(net))
    BNNC_BUG("the compiled model has %" PRId64 " outputs, the runtime %" PRId64, r.classes,
             bnn_net_output_size(net));

  bool binary = first_layer_binary(m);
  /* disagreements allowed per thousand samples: test images, random inputs */
  int per_mille = binary ? 0 : 1, per_mille_random = binary ? 0 : 10;
  char *triple = o->target_triple ? NULL : codegen_host_triple();
  printf("%s: compiled (%s%s%s, -O%d) vs the runtime's eval mode; first layer %s: bar %s\n", m->name,
         triple ? triple : o->target_triple, o->mcpu ? ", cpu " : "", o->mcpu ? o->mcpu : "", o->opt_level,
         binary ? "binarizes its input" : "takes real values",
         binary ? "100%" : "99.9% of test images, 99% of random inputs");
  free(triple);

  Agreement random = {0};
  if (!compare_random(&r, m, o->samples, &random)) goto done;
  bool ok = report("random inputs", &random, per_mille_random);

  const char *dir = test_data_dir(o, m);
  if (dir) {
    if (!bridge_load_dataset(m, dir, &ds)) goto done;
    int64_t n = o->limit_test && o->limit_test < ds.n_test ? o->limit_test : ds.n_test;
    Agreement test = {0};
    if (!compare_dataset(&r, m, &ds, n, &test)) goto done;
    ok = report("test set", &test, per_mille) && ok;
  }
  printf("%s\n", ok ? "verify: ok" : "verify: FAILED: the compiled model disagrees with the runtime");
  code = ok ? BNNC_EXIT_OK : BNNC_EXIT_BAD_INPUT;
done:
  free(r.scratch);
  free(r.want);
  free(r.got);
  codegen_jit_dispose(&jit);
  bnn_dataset_free(&ds);
  bnn_net_free(net);
  arena_free(&arena);
  return code;
}
