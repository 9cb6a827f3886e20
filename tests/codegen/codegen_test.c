/* codegen_test.c - compiled models against the plain-C reference.
 *
 * Each case is a graph (lowered from a hand-written Model, or built directly
 * in the IR the inference passes produce) with seeded random weights. For
 * each: compile to an object, check `nm -u` lists nothing, write the header
 * and check it compiles alone (-std=c99 -Wall -Werror), link harness.c with
 * the system C compiler, run it on random inputs, and compare with
 * reference_eval: every output within 1e-4 relative, argmax identical.
 *
 *   codegen_test CC NM HARNESS.c WORKDIR [CASE]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codegen.h"
#include "lower.h"
#include "passes.h"
#include "reference.h"

static const char *cc, *nm, *harness, *workdir;
/* --mattr for the cases' objects (NULL: the host's features): the generic
 * cases run the same graphs through the portable kernels. */
static const char *case_features;
static int failures;

/* ---- seeded randomness (splitmix64) ---- */

static uint64_t rng_state;
static uint64_t next_u64(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next_u64() >> 40) * 0x1p-24f; }

/* ---- building graphs ---- */

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Plausible trained values by name: latent weights U(-1,1), BatchNorm gamma
 * in +-[0.5,1.5] (some negative), small beta and mean, var in [0.5,2]. */
static void bind_random(IrGraph *g) {
  for (IrNode *n = g->first; n; n = n->next) {
    if (n->op != IR_PARAM || n->data) continue;
    BNNC_ASSERT(n->type.elem == ELEM_F32);
    int64_t len = shape_numel(&n->type.shape);
    float *v = arena_array(g->arena, (size_t)len, sizeof *v);
    const char *name = n->attrs.name;
    bool bn = false;
    for (IrNode *u = g->first; u; u = u->next)
      if (u->op == IR_BATCHNORM)
        for (int i = 1; i < 5; i++) bn |= u->inputs[i] == n;
    for (int64_t i = 0; i < len; i++) {
      if (bn && ends_with(name, ".weight")) {
        v[i] = uniform(0.5f, 1.5f) * (next_u64() % 4 == 0 ? -1.0f : 1.0f);
      } else if (ends_with(name, ".running_var")) {
        v[i] = uniform(0.5f, 2.0f);
      } else if (ends_with(name, ".running_mean") || (bn && ends_with(name, ".bias"))) {
        v[i] = uniform(-0.3f, 0.3f);
      } else if (ends_with(name, ".bias")) {
        v[i] = uniform(-0.5f, 0.5f);
      } else {
        v[i] = uniform(-1.0f, 1.0f);
      }
    }
    n->data = v;
    n->data_bytes = (size_t)len * sizeof *v;
  }
}

static IrNode *add(IrGraph *g, IrOp op, IrType t, int n_inputs, ...) {
  IrNode *in[IR_MAX_INPUTS];
  va_list ap;
  va_start(ap, n_inputs);
  for (int i = 0; i < n_inputs; i++) in[i] = va_arg(ap, IrNode *);
  va_end(ap);
  IrNode *n = ir_node_new(g, op, t, in, n_inputs);
  ir_append(g, n);
  return n;
}

static IrNode *param_bits(IrGraph *g, const char *name, int64_t rows, int64_t cols) {
  IrNode *p = add(g, IR_PARAM, ir_type2(ELEM_BIT, rows, cols), 0);
  p->attrs.name = name;
  int64_t words = (cols + 63) / 64;
  uint64_t *w = arena_array(g->arena, (size_t)(rows * words), 8);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < words; k++) {
      uint64_t v = next_u64();
      if (k == words - 1 && cols % 64) v &= ((uint64_t)1 << (cols % 64)) - 1;
      w[r * words + k] = v;
    }
  p->data = w;
  p->data_bytes = (size_t)(rows * words * 8);
  return p;
}

/* thresholds around the middle of [-span, span]; flip on about 1 in 4 */
static IrNode *param_i32(IrGraph *g, const char *name, int64_t len, int64_t span, bool flags) {
  IrNode *p = add(g, IR_PARAM, ir_type1(ELEM_I32, len), 0);
  p->attrs.name = name;
  int32_t *v = arena_array(g->arena, (size_t)len, 4);
  for (int64_t i = 0; i < len; i++)
    v[i] = flags ? next_u64() % 4 == 0 : (int32_t)((int64_t)(next_u64() % (uint64_t)(2 * span + 1)) - span);
  /* a few out-of-range thresholds: constant bits */
  if (!flags && len > 3) {
    v[0] = (int32_t)(span * 5);
    v[1] = (int32_t)(-span * 5);
  }
  p->data = v;
  p->data_bytes = (size_t)len * 4;
  return p;
}

static IrNode *param_f32(IrGraph *g, const char *name, int64_t rows, int64_t cols) {
  IrNode *p = add(g, IR_PARAM, cols ? ir_type2(ELEM_F32, rows, cols) : ir_type1(ELEM_F32, rows), 0);
  p->attrs.name = name;
  return p;
}

static Layer layer(LayerKind kind, const char *label, int64_t in, int64_t out) {
  Layer l = {.kind = kind, .label = label, .in_shape = {1, {in}}, .out_shape = {1, {out}},
             .in_features = in, .out_features = out, .eps = 1e-5f, .p = 0.2f};
  return l;
}

static IrGraph *lowered(Arena *a, const char *name, ModelInput input, Layer *layers, int n) {
  Model *m = ARENA_NEW(a, Model);
  m->name = name;
  m->path = "test.bnn";
  m->input = input;
  m->layers = ARENA_ARRAY(a, Layer, n);
  memcpy(m->layers, layers, (size_t)n * sizeof *layers);
  for (int i = 0; i < n; i++) m->layers[i].index = i;
  m->n_layers = n;
  m->out_shape = layers[n - 1].out_shape;
  IrGraph *g = lower_model(a, m);
  bind_random(g);
  return g;
}

static const float mnist_mean[] = {0.2860f}, mnist_std[] = {0.3530f};

/* The lowered IR of a binary MLP with u8 input and odd widths:
 * 784 -> 1000 (real input, alpha, bias) -> 37 (alpha) -> 10 (bias). */
static IrGraph *build_lowered_odd(Arena *a) {
  rng_state = 777;
  ModelInput in = {{1, {784}}, INPUT_U8, true, 1, mnist_mean, mnist_std, {0}};
  Layer l[] = {layer(LAYER_BINLINEAR, "0", 784, 1000), layer(LAYER_BATCHNORM, "1", 1000, 1000),
               layer(LAYER_SIGN, "2", 1000, 1000),      layer(LAYER_BINLINEAR, "3", 1000, 37),
               layer(LAYER_BATCHNORM, "4", 37, 37),     layer(LAYER_HTANH, "5", 37, 37),
               layer(LAYER_DROPOUT, "6", 37, 37),       layer(LAYER_BINLINEAR, "7", 37, 10)};
  l[0].real_input = l[0].has_scale = l[0].has_bias = true;
  l[3].has_scale = true;
  l[7].has_bias = l[7].has_scale = true;
  return lowered(a, "bnn_odd", in, l, 8);
}

/* The bnn_mlp pattern with odd widths, to run through the inference passes:
 * 784 u8 -> 1000 (real) -> 37 -> 130 (alpha) -> dropout -> linear 10. */
static IrGraph *build_lowered_mlp(Arena *a) {
  rng_state = 4242;
  ModelInput in = {{1, {784}}, INPUT_U8, true, 1, mnist_mean, mnist_std, {0}};
  Layer l[] = {layer(LAYER_BINLINEAR, "0", 784, 1000), layer(LAYER_BATCHNORM, "1", 1000, 1000),
               layer(LAYER_BINLINEAR, "2", 1000, 37),  layer(LAYER_BATCHNORM, "3", 37, 37),
               layer(LAYER_BINLINEAR, "4", 37, 130),   layer(LAYER_BATCHNORM, "5", 130, 130),
               layer(LAYER_DROPOUT, "6", 130, 130),    layer(LAYER_LINEAR, "7", 130, 10)};
  l[0].real_input = true;
  l[4].has_scale = true;
  l[7].has_bias = true;
  return lowered(a, "passes_mlp", in, l, 8);
}

/* A float model: f32 input, linear/relu/batchnorm/sigmoid/softmax. */
static IrGraph *build_lowered_float(Arena *a) {
  ModelInput in = {{1, {20}}, INPUT_F32, false, 0, NULL, NULL, {0}};
  Layer l[] = {layer(LAYER_LINEAR, "0", 20, 33),     layer(LAYER_RELU, "1", 33, 33),
               layer(LAYER_BATCHNORM, "2", 33, 33),  layer(LAYER_SIGMOID, "3", 33, 33),
               layer(LAYER_LINEAR, "4", 33, 17),     layer(LAYER_HTANH, "5", 17, 17),
               layer(LAYER_LINEAR, "6", 17, 7),      layer(LAYER_SOFTMAX, "7", 7, 7)};
  l[0].has_bias = l[4].has_bias = true;
  return lowered(a, "float_net", in, l, 8);
}

/* f32 image input [2,5,7]: batchnorm over channels, sign (bit rows of 7),
 * flatten (re-packed to one row of 70 bits), binlinear 70 -> 12, sigmoid. */
static IrGraph *build_lowered_image(Arena *a) {
  ModelInput in = {{3, {2, 5, 7}}, INPUT_F32, false, 0, NULL, NULL, {0}};
  Layer l[] = {layer(LAYER_BATCHNORM, "bn", 2, 2), layer(LAYER_SIGN, "s", 2, 2), layer(LAYER_FLATTEN, "f", 70, 70),
               layer(LAYER_BINLINEAR, "fc", 70, 12), layer(LAYER_SIGMOID, "sg", 12, 12)};
  Shape img = {3, {2, 5, 7}};
  for (int i = 0; i < 2; i++) l[i].in_shape = l[i].out_shape = img;
  l[2].in_shape = img;
  l[3].has_bias = true;
  return lowered(a, "image_net", in, l, 5);
}

/* The IR the inference passes make of a binary MLP:
 * u8[in] -bindense_thr-> bit[h1] -bindense_thr-> bit[h2] ... -bindense-> i32[out]
 *   -affine-> f32 -linear-> f32[classes]. */
static IrGraph *build_fused(Arena *a, const char *name, const int64_t *widths, int n_widths, bool final_linear) {
  IrGraph *g = ARENA_NEW(a, IrGraph);
  ir_graph_init(g, a, name);
  IrNode *x = add(g, IR_INPUT, ir_type1(ELEM_U8, widths[0]), 0);
  for (int i = 1; i + 1 < n_widths; i++) {
    int64_t in = widths[i - 1], out = widths[i];
    IrNode *w = param_bits(g, "w", out, in);
    int64_t span = x->type.elem == ELEM_U8 ? in * 40 : in / 8;
    IrNode *thr = param_i32(g, "thr", out, span, false), *flip = param_i32(g, "flip", out, 0, true);
    x = add(g, IR_BINDENSE_THR, ir_type1(ELEM_BIT, out), 4, x, w, thr, flip);
  }
  int64_t in = widths[n_widths - 2], out = widths[n_widths - 1];
  IrNode *w = param_bits(g, "wl", out, in);
  x = add(g, IR_BINDENSE, ir_type1(ELEM_I32, out), 2, x, w);
  IrNode *scale = param_f32(g, "scale", out, 0), *shift = param_f32(g, "shift", out, 0);
  x = add(g, IR_AFFINE, ir_type1(ELEM_F32, out), 3, x, scale, shift);
  if (final_linear) {
    IrNode *lw = param_f32(g, "lw", out, out), *lb = param_f32(g, "lb", out, 0);
    x = add(g, IR_LINEAR, ir_type1(ELEM_F32, out), 3, x, lw, lb);
  }
  add(g, IR_OUTPUT, x->type, 1, x);
  bind_random(g);
  return g;
}

static IrGraph *build_fused_odd(Arena *a) {
  static const int64_t w[] = {784, 1000, 37, 130, 10};
  return build_fused(a, "fused_odd", w, 5, true);
}

/* f32 input whose sign packs whole 64-bit words (the vector compare path):
 * [128] -> binlinear 128 -> 64 -> batchnorm -> binlinear 64 -> 10. */
static IrGraph *build_lowered_wide(Arena *a) {
  rng_state = 99;
  ModelInput in = {{1, {128}}, INPUT_F32, false, 0, NULL, NULL, {0}};
  Layer l[] = {layer(LAYER_BINLINEAR, "0", 128, 64), layer(LAYER_BATCHNORM, "1", 64, 64),
               layer(LAYER_BINLINEAR, "2", 64, 10)};
  l[2].has_bias = true;
  return lowered(a, "wide_net", in, l, 3);
}

/* A u8 first layer narrower than one 64-byte chunk: 50 -> 24 -> 10. */
static IrGraph *build_fused_narrow(Arena *a) {
  static const int64_t w[] = {50, 24, 10};
  return build_fused(a, "fused_narrow", w, 3, false);
}

/* Unfused integer ops: bindense -> threshold, sign of i32, convert of bits
 * and of i32, bindense with f32 input. */
static IrGraph *build_int_ops(Arena *a) {
  IrGraph *g = ARENA_NEW(a, IrGraph);
  ir_graph_init(g, a, "int_ops");
  IrNode *x = add(g, IR_INPUT, ir_type1(ELEM_U8, 150), 0);
  IrNode *h = add(g, IR_BINDENSE, ir_type1(ELEM_I32, 70), 2, x, param_bits(g, "w0", 70, 150));
  IrNode *t = add(g, IR_THRESHOLD, ir_type1(ELEM_BIT, 70), 3, h, param_i32(g, "thr", 70, 3000, false),
                  param_i32(g, "flip", 70, 0, true));
  IrNode *d = add(g, IR_BINDENSE, ir_type1(ELEM_I32, 65), 2, t, param_bits(g, "w1", 65, 70));
  IrNode *s = add(g, IR_SIGN, ir_type1(ELEM_BIT, 65), 1, d);
  IrNode *c = add(g, IR_CONVERT, ir_type1(ELEM_F32, 65), 1, s);
  IrNode *e = add(g, IR_BINDENSE, ir_type1(ELEM_F32, 9), 2, c, param_bits(g, "w2", 9, 65));
  IrNode *ci = add(g, IR_CONVERT, ir_type1(ELEM_F32, 65), 1, d);
  IrNode *f = add(g, IR_LINEAR, ir_type1(ELEM_F32, 9), 2, ci, param_f32(g, "lw", 9, 65));
  IrNode *sum = add(g, IR_LINEAR, ir_type1(ELEM_F32, 9), 2, e, param_f32(g, "m", 9, 9));
  (void)f;
  IrNode *o = add(g, IR_AFFINE, ir_type1(ELEM_F32, 9), 3, sum, param_f32(g, "sc", 1, 0), param_f32(g, "sh", 9, 0));
  add(g, IR_OUTPUT, o->type, 1, o);
  bind_random(g);
  return g;
}

/* ---- running a case ---- */

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

#define CHECK(cond, ...)                                    \
  do {                                                      \
    if (!(cond)) {                                          \
      fprintf(stderr, "FAIL %s: ", name);                   \
      fprintf(stderr, __VA_ARGS__);                         \
      fputc('\n', stderr);                                  \
      failures++;                                           \
      return;                                               \
    }                                                       \
  } while (0)

/* `nm -u` of an object must be empty: the code needs nothing from outside. */
static void check_no_undefined(const char *name, const char *obj) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s -u %s", nm, obj);
  FILE *p = popen(cmd, "r");
  CHECK(p, "cannot run %s", cmd);
  char line[256];
  int undefined = 0;
  while (fgets(line, sizeof line, p)) {
    fprintf(stderr, "  undefined in %s: %s", obj, line);
    undefined++;
  }
  CHECK(pclose(p) == 0, "%s failed", cmd);
  CHECK(undefined == 0, "%d undefined symbols in %s", undefined, obj);
}

static void compile_to(const char *name, const IrGraph *g, const CodegenTarget *t, CodegenFileKind kind,
                       const char *path) {
  CodegenBuffer buf;
  int rc = codegen_compile(g, t, kind, &buf);
  CHECK(rc == 0, "codegen_compile returned %d", rc);
  CHECK(buf.size > 0 && write_file(path, buf.data, buf.size), "cannot write %s", path);
  codegen_buffer_free(&buf);
}

/* Compiles g and compares it with the reference evaluation of ref (g itself,
 * or the unoptimised graph g was made from by the passes). */
static void run_case2(const char *name, IrGraph *g, const IrGraph *ref_graph, int n_samples, int max_sign_flips,
                      long timing_iters) {
  char obj[512], hdr[512], exe[512], ins[512], outs[512], cmd[4096];
  CHECK(ir_verify(g, "test construction", stderr), "graph does not verify");
  CodegenInterface ifc;
  CHECK(codegen_interface(g, &ifc), "no interface");
  snprintf(obj, sizeof obj, "%s/%s.o", workdir, name);
  snprintf(hdr, sizeof hdr, "%s/%s.h", workdir, name);
  snprintf(exe, sizeof exe, "%s/%s.run", workdir, name);
  snprintf(ins, sizeof ins, "%s/%s.in", workdir, name);
  snprintf(outs, sizeof outs, "%s/%s.out", workdir, name);

  CodegenTarget host = {NULL, NULL, case_features, 2};
  compile_to(name, g, &host, CODEGEN_OBJECT, obj);
  check_no_undefined(name, obj);
  CodegenBuffer h;
  codegen_header(&ifc, "test", &h);
  CHECK(write_file(hdr, h.data, h.size), "cannot write header");
  codegen_buffer_free(&h);
  snprintf(cmd, sizeof cmd, "%s -std=c99 -Wall -Wextra -Werror -fsyntax-only -x c %s", cc, hdr);
  CHECK(run(cmd) == 0, "the header does not compile alone");

  /* inputs and reference outputs */
  size_t in_elem = ifc.input_is_u8 ? 1 : 4;
  unsigned char *in = malloc((size_t)(n_samples * ifc.input_size) * in_elem);
  float *ref = malloc((size_t)(n_samples * ifc.output_size) * sizeof *ref);
  float *got = malloc((size_t)(n_samples * ifc.output_size) * sizeof *got);
  for (int64_t i = 0; i < n_samples * ifc.input_size; i++) {
    if (ifc.input_is_u8)
      in[i] = (unsigned char)(next_u64() % 4 == 0 ? 0 : next_u64() % 256);
    else
      ((float *)in)[i] = uniform(-2.0f, 2.0f);
  }
  for (int s = 0; s < n_samples; s++)
    reference_eval(ref_graph, in + (size_t)(s * ifc.input_size) * in_elem, ref + s * ifc.output_size);
  CHECK(write_file(ins, in, (size_t)(n_samples * ifc.input_size) * in_elem), "cannot write inputs");

  snprintf(cmd, sizeof cmd,
           "%s -std=c11 -O2 -Wall -Werror -I%s '-DMODEL_HEADER=\"%s.h\"' -DP=%s -DM=%s %s %s -o %s", cc, workdir,
           name, ifc.prefix, ifc.macro_prefix, harness, obj, exe);
  CHECK(run(cmd) == 0, "the harness does not link");
  snprintf(cmd, sizeof cmd, "%s %s %d %s", exe, ins, n_samples, outs);
  if (timing_iters) snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %ld", timing_iters);
  CHECK(run(cmd) == 0, "the harness failed");
  FILE *f = fopen(outs, "rb");
  CHECK(f && fread(got, sizeof *got, (size_t)(n_samples * ifc.output_size), f) == (size_t)(n_samples * ifc.output_size),
        "cannot read outputs");
  fclose(f);

  int mismatched = 0;
  for (int s = 0; s < n_samples; s++) {
    const float *r = ref + s * ifc.output_size, *o = got + s * ifc.output_size;
    int64_t ra = 0, oa = 0;
    bool ok = true;
    for (int64_t i = 0; i < ifc.output_size; i++) {
      float tol = 1e-4f * fmaxf(fabsf(r[i]), 1.0f);
      if (!(fabsf(r[i] - o[i]) <= tol)) {
        if (ok) fprintf(stderr, "  %s sample %d output %lld: got %.9g, expected %.9g\n", name, s, (long long)i, o[i], r[i]);
        ok = false;
      }
      if (r[i] > r[ra]) ra = i;
      if (o[i] > o[oa]) oa = i;
    }
    if (ra != oa) ok = false;
    mismatched += !ok;
  }
  /* A real-valued first layer summed in another order may flip a sign next
   * to zero (the issue allows 99.9% agreement there); binary layers may not. */
  CHECK(mismatched <= max_sign_flips, "%d of %d samples differ from the reference", mismatched, n_samples);
  free(in);
  free(ref);
  free(got);
  printf("ok %s (%d samples%s)\n", name, n_samples, mismatched ? ", one sign flip next to zero" : "");
}

static void run_case(const char *name, IrGraph *g, int n_samples, int max_sign_flips, long timing_iters) {
  run_case2(name, g, g, n_samples, max_sign_flips, timing_iters);
}

/* Cross targets: an object with no undefined symbols, and its size. */
static void run_cross(const char *name, IrGraph *g, const char *triple, const char *cpu) {
  char obj[512];
  snprintf(obj, sizeof obj, "%s/%s.%s.o", workdir, name, triple);
  CodegenTarget t = {triple, cpu, NULL, 2};
  int before = failures;
  compile_to(name, g, &t, CODEGEN_OBJECT, obj);
  if (failures != before) return;
  check_no_undefined(name, obj);
  struct stat st;
  if (failures == before && stat(obj, &st) == 0)
    printf("ok %s for %s%s%s: %lld bytes of object\n", name, triple, cpu ? " " : "", cpu ? cpu : "",
           (long long)st.st_size);
}

static void run_text_outputs(const char *name, IrGraph *g) {
  CodegenTarget host = {NULL, NULL, NULL, 2};
  CodegenBuffer ll, s;
  CHECK(codegen_compile(g, &host, CODEGEN_LLVM_IR, &ll) == 0, "--emit=llvm failed");
  CHECK(strstr(ll.data, "define i32 @int_ops_infer_r") != NULL, "the .ll has no int_ops_infer_r");
  CHECK(strstr(ll.data, "llvm.ctpop") != NULL, "the .ll has no ctpop");
  CHECK(codegen_compile(g, &host, CODEGEN_ASSEMBLY, &s) == 0, "--emit=asm failed");
  CHECK(strstr(s.data, "int_ops_infer_batch:") != NULL, "the .s has no int_ops_infer_batch");
  codegen_buffer_free(&ll);
  codegen_buffer_free(&s);
  printf("ok %s\n", name);
}

static bool selected(const char *only, const char *name) { return !only || strcmp(only, name) == 0; }

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: codegen_test CC NM HARNESS.c WORKDIR [CASE]\n");
    return 2;
  }
  cc = argv[1];
  nm = argv[2];
  harness = argv[3];
  workdir = argv[4];
  const char *only = argc > 5 ? argv[5] : NULL;
  mkdir(workdir, 0777);
  Arena a;
  arena_init(&a);
  rng_state = 12345;

  if (selected(only, "lowered_odd")) run_case("lowered_odd", build_lowered_odd(&a), 40, 1, 0);
  if (selected(only, "lowered_float")) run_case("lowered_float", build_lowered_float(&a), 40, 0, 0);
  if (selected(only, "lowered_image")) run_case("lowered_image", build_lowered_image(&a), 40, 0, 0);
  if (selected(only, "passes_mlp")) {
    IrGraph *ref = build_lowered_mlp(&a), *g = build_lowered_mlp(&a);
    PassOptions po = passes_default_options();
    passes_run_inference(g, &po);
    run_case2("passes_mlp", g, ref, 100, 1, 0);
  }
  if (selected(only, "fused_odd")) run_case("fused_odd", build_fused_odd(&a), 40, 0, 0);
  if (selected(only, "int_ops")) {
    IrGraph *g = build_int_ops(&a);
    run_case("int_ops", g, 40, 0, 0);
    run_text_outputs("emit_llvm_asm", g);
  }
  if (selected(only, "lowered_wide")) run_case("lowered_wide", build_lowered_wide(&a), 40, 0, 0);
  if (selected(only, "fused_narrow")) run_case("fused_narrow", build_fused_narrow(&a), 40, 0, 0);
  /* The same graphs through the other kernels: without VNNI (the u8 layer
   * as byte selects), AVX2 only (no AVX-512 at all), and VNNI without GFNI
   * (the weight bytes by vpmovm2b instead of vgf2p8affineqb). */
  static const char *const generic[] = {"-avx512vnni", "-avx512f", "-gfni"};
  static const char *const suffix[] = {"novnni", "avx2", "nogfni"};
  for (int i = 0; i < 3; i++) {
    char case_name[64], name[3][64];
    snprintf(case_name, sizeof case_name, "generic%d", i);
    if (!selected(only, case_name)) continue;
    case_features = generic[i];
    static const int64_t w[] = {784, 2048, 2048, 2048, 10};
    snprintf(name[0], sizeof name[0], "fused_odd_%s", suffix[i]);
    snprintf(name[1], sizeof name[1], "fused_narrow_%s", suffix[i]);
    snprintf(name[2], sizeof name[2], "bnn_mlp_%s", suffix[i]);
    run_case(name[0], build_fused_odd(&a), 40, 0, 0);
    run_case(name[1], build_fused_narrow(&a), 40, 0, 0);
    run_case(name[2], build_fused(&a, "bnn_mlp", w, 5, false), 20, 0, 0);
    case_features = NULL;
  }
  if (selected(only, "cross")) {
    IrGraph *fused = build_fused_odd(&a), *flt = build_lowered_float(&a);
    run_cross("fused_odd", fused, "aarch64-linux-gnu", NULL);
    run_cross("fused_odd", fused, "thumbv7em-none-eabi", "cortex-m4");
    run_cross("float_net", flt, "aarch64-linux-gnu", NULL);
    run_cross("float_net", flt, "thumbv7em-none-eabi", "cortex-m4");
  }
  if (selected(only, "bnn_mlp")) {
    static const int64_t w[] = {784, 2048, 2048, 2048, 10};
    run_case("bnn_mlp", build_fused(&a, "bnn_mlp", w, 5, false), 20, 0, 2000);
  }
  arena_free(&a);
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
