/* conv_test.c - convolutional models through the inference passes and the
 * code generator, against the reference interpreter on the lowered graph.
 *
 *   conv_test CC NM HARNESS.c WORKDIR EXAMPLES_DIR MODELS_DIR CASE
 *
 * For each model (a .bnn file with seeded random weights):
 *   1. passes with fold_float_affines off: the interpreter's output after them
 *      is bit for bit the output on the lowered graph (every rewrite of the
 *      conv path is exact), on every sample;
 *   2. the default passes: logits within 1e-4 relative, argmax identical;
 *   3. the default graph compiled to an object (nm -u empty), linked with
 *      tests/codegen/harness.c: logits within 1e-4 relative of the lowered
 *      graph's interpreter, argmax identical on 100% of the samples.
 * Cases:
 *   xnor_lenet, lenet_bn  the examples (u8 28x28 input)
 *   odd                   tests/conv/models/odd_*.bnn: channels 3/65/100/600, kernels 1/3/5, stride 2,
 *                         pad 0/1/2, real and binary inputs, maxpool and
 *                         avgpool, flatten into binary and float layers
 *   odd_avx2              the same compiled with -avx512f (x86 hosts): the
 *                         binary conv kernels' 32-channel half groups
 *   kvalid                tests/conv/models/kvalid_*.bnn, the
 *                         position-dependent K_valid case: pad 1 and 2
 *                         with BatchNorm thresholds spread over the whole
 *                         accumulator range (gamma negative, zero, tiny;
 *                         tiny variance), every input of a 1x3x3 image
 *                         (each border position sees every accumulator it
 *                         can have) and random inputs of a 2x4x4 one.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codegen.h"
#include "frontend.h"
#include "ir_eval.h"
#include "lower.h"
#include "passes.h"

static const char *cc, *nm, *harness, *workdir;
static const char *features;   /* target features of the compiled objects (NULL: the host's) */
static int failures;

#define CHECK(cond, ...)                                        \
  do {                                                          \
    if (!(cond)) {                                              \
      fprintf(stderr, "FAIL %s: CHECK(%s): ", name, #cond);     \
      fprintf(stderr, __VA_ARGS__);                             \
      fputc('\n', stderr);                                      \
      failures++;                                               \
      return;                                                   \
    }                                                           \
  } while (0)

/* ---- seeded randomness (splitmix64) ---- */

static uint64_t rng_state;
static uint64_t next_u64(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next_u64() >> 40) * 0x1p-24f; }

/* ---- models ---- */

typedef enum Weights { W_PLAUSIBLE, W_THRESHOLDS } Weights;

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool is_bn_param(const IrGraph *g, const IrNode *p) {
  for (const IrNode *u = g->first; u; u = u->next)
    if (u->op == IR_BATCHNORM)
      for (int i = 1; i < 5; i++)
        if (u->inputs[i] == p) return true;
  return false;
}

/* W_PLAUSIBLE: latent weights U(-1,1), gamma +-[0.5,1.5] (1 in 4 negative),
 * small beta and mean, var in [0.5, 2].
 * W_THRESHOLDS: latent weights exactly +-1 (so alpha = 1 and the BatchNorm
 * input is the integer accumulator itself), means spread over [-K-1, K+1]
 * (integers and half-integers included: ties), gamma positive, negative,
 * zero or tiny, variance down to 1e-6. */
static void bind(IrGraph *g, Weights kind, float k) {
  for (IrNode *n = g->first; n; n = n->next) {
    if (n->op != IR_PARAM || n->data) continue;
    int64_t len = shape_numel(&n->type.shape);
    float *v = arena_array(g->arena, (size_t)len, sizeof *v);
    const char *name = n->attrs.name;
    bool bn = is_bn_param(g, n);
    for (int64_t i = 0; i < len; i++) {
      bool t = kind == W_THRESHOLDS;
      if (bn && ends_with(name, ".weight")) {
        static const float special[] = {0.0f, 1e-30f, -1e-30f, 1e-7f, -3.0f};
        uint64_t r = next_u64() % 10;
        v[i] = t && r < 5 ? special[r] : uniform(0.5f, 1.5f) * (next_u64() % 4 == 0 ? -1.0f : 1.0f);
      } else if (ends_with(name, ".running_var")) {
        v[i] = t && next_u64() % 3 == 0 ? 1e-6f : uniform(0.5f, 2.0f);
      } else if (ends_with(name, ".running_mean")) {
        uint64_t r = next_u64() % 3;
        v[i] = !t ? uniform(-0.3f, 0.3f)
               : r == 0 ? (float)((int64_t)(next_u64() % (uint64_t)(2 * k + 3)) - (int64_t)k - 1)
               : r == 1 ? (float)((int64_t)(next_u64() % (uint64_t)(2 * k + 3)) - (int64_t)k - 1) + 0.5f
                        : uniform(-k - 1, k + 1);
      } else if (bn && ends_with(name, ".bias")) {
        v[i] = t ? uniform(-1.0f, 1.0f) : uniform(-0.3f, 0.3f);
      } else if (ends_with(name, ".bias")) {
        v[i] = uniform(-0.5f, 0.5f);
      } else {
        v[i] = t ? (next_u64() % 2 ? 1.0f : -1.0f) : uniform(-1.0f, 1.0f);
      }
    }
    n->data = v;
    n->data_bytes = (size_t)len * sizeof *v;
  }
}

/* Lowered graph of a .bnn source with weights from `seed`. */
static IrGraph *load(Arena *a, const char *path, uint64_t seed, Weights kind, float k) {
  Diagnostics d;
  diag_init(&d, path, NULL, 0);
  Model *m = frontend_parse_file(a, &d, path);
  if (!m) return NULL;
  IrGraph *g = lower_model(a, m);
  rng_state = seed;
  bind(g, kind, k);
  return g;
}

static void verify_hook(const IrGraph *g, const char *pass, const void *ctx) {
  if (!ir_verify(g, pass, stderr)) {
    fprintf(stderr, "FAIL %s: the IR does not verify after %s\n", (const char *)ctx, pass);
    ir_print(stderr, g);
    exit(1);
  }
}

static void run_passes(IrGraph *g, const char *name, bool fold_float) {
  PassOptions o = passes_default_options();
  o.after_pass = verify_hook;
  o.ctx = name;
  o.fold_float_affines = fold_float;
  passes_run_inference(g, &o);
}

static bool has_op(const IrGraph *g, IrOp op) {
  for (const IrNode *n = g->first; n; n = n->next)
    if (n->op == op) return true;
  return false;
}

/* Channels of binconv_thr layers whose threshold lies in [-span + 1, span]:
 * steps a border position (a small K_valid) can reach, so the exhaustive
 * inputs exercise the position-dependent accumulator range. */
static int thresholds_inside(const IrGraph *g, int64_t span) {
  int inside = 0;
  for (const IrNode *n = g->first; n; n = n->next) {
    if (n->op != IR_BINCONV_THR) continue;
    const int32_t *thr = n->inputs[2]->data;
    for (int64_t o = 0; o < n->inputs[2]->type.shape.dims[0]; o++) inside += thr[o] > -span && thr[o] <= span;
  }
  return inside;
}

/* ---- comparing outputs ---- */

static bool close_to(float ref, float got) { return fabsf(ref - got) <= 1e-4f * fmaxf(fabsf(ref), 1.0f); }

static int64_t argmax(const float *v, int64_t n) {
  int64_t a = 0;
  for (int64_t i = 1; i < n; i++)
    if (v[i] > v[a]) a = i;
  return a;
}

/* Samples whose outputs are not within 1e-4 or whose argmax differs. */
static int count_mismatches(const char *name, const float *ref, const float *got, int n, int64_t out) {
  int bad = 0;
  for (int s = 0; s < n; s++) {
    const float *r = ref + s * out, *o = got + s * out;
    bool ok = argmax(r, out) == argmax(o, out);
    for (int64_t i = 0; i < out; i++)
      if (!close_to(r[i], o[i])) {
        if (ok) fprintf(stderr, "  %s sample %d output %lld: got %.9g, expected %.9g\n", name, s, (long long)i, o[i], r[i]);
        ok = false;
      }
    bad += !ok;
  }
  return bad;
}

static int run(const char *cmd) {
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
  return rc;
}

static bool write_file(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(data, 1, size, f) == size;
  if (f) ok &= fclose(f) == 0;
  return ok;
}

/* Compiles g, links the harness and runs it on `in`; outputs into got. */
static void compile_and_run(const char *name, const IrGraph *g, const void *in, int n, float *got, bool *ok) {
  *ok = false;
  char obj[512], hdr[512], exe[512], ins[512], outs[512], cmd[4096];
  CodegenInterface ifc;
  CHECK(codegen_interface(g, &ifc), "no interface");
  snprintf(obj, sizeof obj, "%s/%s.o", workdir, name);
  snprintf(hdr, sizeof hdr, "%s/%s.h", workdir, name);
  snprintf(exe, sizeof exe, "%s/%s.run", workdir, name);
  snprintf(ins, sizeof ins, "%s/%s.in", workdir, name);
  snprintf(outs, sizeof outs, "%s/%s.out", workdir, name);
  CodegenTarget target = {NULL, NULL, features, 2};
  CodegenBuffer b;
  CHECK(codegen_compile(g, &target, CODEGEN_OBJECT, &b) == 0, "codegen_compile failed");
  CHECK(write_file(obj, b.data, b.size), "cannot write %s", obj);
  codegen_buffer_free(&b);
  codegen_header(&ifc, "conv_test", &b);
  CHECK(write_file(hdr, b.data, b.size), "cannot write %s", hdr);
  codegen_buffer_free(&b);
  snprintf(cmd, sizeof cmd, "%s -u %s | wc -l | grep -qx 0", nm, obj);
  CHECK(run(cmd) == 0, "nm -u %s lists undefined symbols", obj);
  size_t in_bytes = (size_t)(n * ifc.input_size) * (ifc.input_is_u8 ? 1 : 4);
  CHECK(write_file(ins, in, in_bytes), "cannot write inputs");
  snprintf(cmd, sizeof cmd, "%s -std=c11 -O2 -Wall -Werror -I%s '-DMODEL_HEADER=\"%s.h\"' -DP=%s -DM=%s %s %s -o %s",
           cc, workdir, name, ifc.prefix, ifc.macro_prefix, harness, obj, exe);
  CHECK(run(cmd) == 0, "the harness does not link");
  snprintf(cmd, sizeof cmd, "%s %s %d %s", exe, ins, n, outs);
  CHECK(run(cmd) == 0, "the harness failed");
  FILE *f = fopen(outs, "rb");
  size_t want = (size_t)(n * ifc.output_size);
  CHECK(f && fread(got, sizeof *got, want, f) == want, "cannot read outputs");
  fclose(f);
  *ok = true;
}

/* The three checks of the top of the file for one model. */
static void check_model(const char *name, const char *dir, int n, Weights kind, float k,
                        const unsigned char *fixed_inputs) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.bnn", dir, name);
  Arena a;
  arena_init(&a);
  uint64_t seed = 0x5eed;
  for (const char *c = name; *c; c++) seed = seed * 31 + (unsigned char)*c;
  IrGraph *ref = load(&a, path, seed, kind, k);
  IrGraph *exact = load(&a, path, seed, kind, k);
  IrGraph *opt = load(&a, path, seed, kind, k);
  if (!ref || !exact || !opt) {
    fprintf(stderr, "FAIL %s: the model does not load\n", name);
    failures++;
    arena_free(&a);
    return;
  }
  run_passes(exact, name, false);
  run_passes(opt, name, true);
  int inside = kind == W_THRESHOLDS ? thresholds_inside(opt, (int64_t)k / 4) : 100;
  bool conv_ok = !has_op(opt, IR_BINCONV2D) || !has_op(ref, IR_SIGN) || has_op(opt, IR_BINCONV_THR) ||
                 has_op(opt, IR_BINCONV);

  const IrNode *in_node = ir_graph_input(ref);
  int64_t in_size = shape_numel(&in_node->type.shape), out = shape_numel(&ir_graph_output(ref)->type.shape);
  bool u8 = in_node->type.elem == ELEM_U8;
  size_t elem = u8 ? 1 : 4;
  unsigned char *in = malloc((size_t)(n * in_size) * elem);
  float *want = malloc((size_t)(n * out) * sizeof *want), *got = malloc((size_t)(n * out) * sizeof *got);
  float *got_exact = malloc((size_t)(n * out) * sizeof *got);
  rng_state = seed ^ 0xabcdef;
  for (int64_t i = 0; i < n * in_size; i++) {
    if (fixed_inputs)
      ((float *)in)[i] = fixed_inputs[i] ? -1.0f : 1.0f;
    else if (u8)
      in[i] = (unsigned char)(next_u64() % 4 == 0 ? 0 : next_u64() % 256);
    else
      ((float *)in)[i] = next_u64() % 8 == 0 ? 0.0f : uniform(-2.0f, 2.0f);
  }
  int status = 0;
  for (int s = 0; s < n; s++) {
    const void *x = in + (size_t)(s * in_size) * elem;
    status |= ir_eval(ref, x, want + s * out, NULL, NULL);
    status |= ir_eval(exact, x, got_exact + s * out, NULL, NULL);
    status |= ir_eval(opt, x, got + s * out, NULL, NULL);
  }
  int exact_bad = 0;
  for (int64_t i = 0; i < n * out; i++) exact_bad += memcmp(&want[i], &got_exact[i], sizeof(float)) != 0;
  int opt_bad = count_mismatches(name, want, got, n, out);
  bool compiled = false;
  if (status == 0) compile_and_run(name, opt, in, n, got, &compiled);
  int obj_bad = compiled ? count_mismatches(name, want, got, n, out) : n;
  free(in);
  free(want);
  free(got);
  free(got_exact);
  arena_free(&a);
  CHECK(status == 0, "ir_eval failed (%d)", status);
  CHECK(conv_ok, "the binary convolution was not packed");
  CHECK(inside >= 20, "only %d thresholds within a border position's range: the test would prove little", inside);
  CHECK(exact_bad == 0, "%d of %d outputs differ bit-wise after the exact passes", exact_bad, (int)(n * out));
  CHECK(opt_bad == 0, "%d of %d samples differ after the default passes", opt_bad, n);
  CHECK(compiled, "not compiled");
  CHECK(obj_bad == 0, "%d of %d samples of the compiled model differ from the interpreter", obj_bad, n);
  printf("ok %s: %d samples; passes exact; compiled = interpreter (argmax 100%%, logits 1e-4)\n", name, n);
}

/* ---- the cases ---- */

static bool selected(const char *only, const char *name) { return strcmp(only, name) == 0; }

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: conv_test CC NM HARNESS.c WORKDIR EXAMPLES_DIR MODELS_DIR CASE\n");
    return 2;
  }
  cc = argv[1];
  nm = argv[2];
  harness = argv[3];
  workdir = argv[4];
  const char *examples = argv[5], *models = argv[6], *only = argv[7];
  mkdir(workdir, 0777);
  if (selected(only, "xnor_lenet") || selected(only, "lenet_bn")) check_model(only, examples, 40, W_PLAUSIBLE, 0, NULL);
  if (selected(only, "odd_avx2")) {   /* x86 without AVX-512: the binary conv kernels' half groups */
    features = "-avx512f";
    only = "odd";
  }
  if (selected(only, "odd")) {
    check_model("odd_real", models, 60, W_PLAUSIBLE, 0, NULL);
    check_model("odd_u8", models, 60, W_PLAUSIBLE, 0, NULL);
    check_model("odd_flatten", models, 60, W_PLAUSIBLE, 0, NULL);
    check_model("odd_wide", models, 40, W_PLAUSIBLE, 0, NULL);
  }
  if (selected(only, "kvalid")) {
    /* every one of the 512 sign patterns of the 1x3x3 input */
    unsigned char *all = malloc(512 * 9);
    for (int s = 0; s < 512; s++)
      for (int i = 0; i < 9; i++) all[s * 9 + i] = (unsigned char)((s >> i) & 1);
    check_model("kvalid_a", models, 512, W_THRESHOLDS, 9, all);
    free(all);
    check_model("kvalid_b", models, 400, W_THRESHOLDS, 18, NULL);
  }
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
