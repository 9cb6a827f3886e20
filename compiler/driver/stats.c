/* stats.c - `bnnc --stats MODEL.bnn`: what each layer costs, before and
 * after compilation.
 *
 * One row per layer of the model:
 *   params       trainable values (weights, biases, BatchNorm gamma and beta)
 *   f32 bytes    the layer's tensors as stored in float (the safetensors
 *                file: parameters and BatchNorm running statistics)
 *   compiled     the bytes of the constants the compiled object holds for the
 *                layer: packed weight bits, integer thresholds, folded floats
 *   binary ops   2 per bit multiply-accumulate (XNOR + popcount)
 *   float ops    2 per float multiply-accumulate (a real-input binary layer's
 *                +-1 MACs included), and per element of the other layers:
 *                batchnorm 2 (an affine at inference), activations 1
 *   scratch      bytes of the layer's activation buffers in the memory plan
 *                (buffers share space by liveness: the total is the plan's)
 *
 * The first five columns come from the model alone. The compiled columns
 * need the inference passes, which need weights: --weights, MODEL.safetensors
 * beside the model, or --random-weights. Without any, the passes run on
 * seeded random weights, which changes no size (sizes depend on shapes only);
 * the table says so.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "driver.h"
#include "passes.h"
#include "pipeline.h"
#include "runtime_bridge.h"
#include "weights.h"

typedef struct LayerStats {
  int64_t params, f32_bytes, compiled_bytes, binary_ops, float_ops, scratch_bytes;
} LayerStats;

/* The label a param name belongs to: "3.weight.packed" -> "3". */
static bool param_of_label(const IrNode *p, const char *label) {
  const char *name = p->attrs.name ? p->attrs.name : "";
  size_t n = strlen(label);
  return strncmp(name, label, n) == 0 && name[n] == '.';
}

static bool is_running_stat(const char *name) {
  return strstr(name, ".running_mean") || strstr(name, ".running_var");
}

/* Operations of one layer, from its shapes alone. */
static void count_ops(const Layer *l, LayerStats *s) {
  int64_t out = shape_numel(&l->out_shape);
  switch (l->kind) {
  case LAYER_BINLINEAR:
  case LAYER_LINEAR: {
    int64_t macs = l->in_features * l->out_features;
    if (l->kind == LAYER_BINLINEAR && !l->real_input) s->binary_ops += 2 * macs;
    else s->float_ops += 2 * macs;
    s->float_ops += out * ((l->has_bias ? 1 : 0) + (l->has_scale ? 1 : 0));
    break;
  }
  case LAYER_BINCONV2D:
  case LAYER_CONV2D: {
    int64_t macs = out * l->in_shape.dims[0] * l->kernel_h * l->kernel_w;
    if (l->kind == LAYER_BINCONV2D && !l->real_input) s->binary_ops += 2 * macs;
    else s->float_ops += 2 * macs;
    s->float_ops += out * ((l->has_bias ? 1 : 0) + (l->has_scale ? 1 : 0));
    break;
  }
  case LAYER_BATCHNORM: s->float_ops += 2 * out; break;
  case LAYER_MAXPOOL:
  case LAYER_AVGPOOL: s->float_ops += out * l->kernel_h * l->kernel_w; break;
  case LAYER_SIGN:
  case LAYER_HTANH:
  case LAYER_RELU: s->float_ops += out; break;
  case LAYER_SIGMOID:
  case LAYER_SOFTMAX: s->float_ops += 3 * out; break;   /* exp, add, divide */
  case LAYER_DROPOUT:
  case LAYER_FLATTEN:
  case LAYER_KIND_COUNT: break;
  }
}

/* The static columns, from the lowered graph's params and the layer shapes. */
static void static_stats(const Model *m, const IrGraph *lowered, LayerStats *rows) {
  for (int i = 0; i < m->n_layers; i++) {
    const Layer *l = &m->layers[i];
    for (const IrNode *p = lowered->first; p; p = p->next) {
      if (p->op != IR_PARAM || !param_of_label(p, l->label)) continue;
      int64_t n = shape_numel(&p->type.shape);
      rows[i].f32_bytes += 4 * n;
      if (!is_running_stat(p->attrs.name)) rows[i].params += n;
    }
    count_ops(l, &rows[i]);
  }
}

/* The compiled columns: constants by the label in their name, buffers by the
 * label of the node that writes them. Returns the bytes of constants that
 * belong to no layer (the input normalization, when not folded). */
static int64_t compiled_stats(const Model *m, const IrGraph *g, LayerStats *rows) {
  int64_t other = 0;
  for (const IrNode *n = g->first; n; n = n->next) {
    if (n->op == IR_PARAM) {
      if (ir_count_uses(g, n) == 0) continue;
      int i = 0;
      while (i < m->n_layers && !param_of_label(n, m->layers[i].label)) i++;
      int64_t bytes = ir_type_bytes(&n->type);
      if (i < m->n_layers) rows[i].compiled_bytes += bytes;
      else other += bytes;
    } else if (n->scratch_offset >= 0 && n->label) {
      for (int i = 0; i < m->n_layers; i++)
        if (strcmp(n->label, m->layers[i].label) == 0) rows[i].scratch_bytes += ir_type_bytes(&n->type);
    }
  }
  return other;
}

static void print_size(const char *what, int64_t bytes) {
  if (bytes >= 10 * 1024 * 1024) printf("%s %.1f MiB", what, (double)bytes / (1024.0 * 1024.0));
  else if (bytes >= 10 * 1024) printf("%s %.1f KiB", what, (double)bytes / 1024.0);
  else printf("%s %" PRId64 " bytes", what, bytes);
}

static void after_pass(const IrGraph *g, const char *pass, const void *ctx) { pipeline_verify(g, pass, ctx); }

/* Binds weights the way compile mode does, except that no weights at all is
 * not an error here: *note says what was used. */
static bool bind_any_weights(Arena *a, IrGraph *g, const DriverOptions *o, const char **note) {
  struct stat st;
  const char *default_path = pipeline_weights_path(a, o->model_path, NULL);
  if (o->random_weights || o->weights_path || stat(default_path, &st) == 0) {
    *note = o->random_weights ? "seeded random weights"
                              : arena_printf(a, "weights %s", o->weights_path ? o->weights_path : default_path);
    return weights_bind(g, o);
  }
  weights_bind_random(g, 1);
  *note = "no weights file: the compiled columns come from seeded random weights (sizes depend on shapes only)";
  return true;
}

int driver_stats(const DriverOptions *o) {
  Arena arena;
  arena_init(&arena);
  int code = BNNC_EXIT_BAD_INPUT;
  const Model *m = pipeline_load_model(&arena, o);
  if (!m) goto done;

  LayerStats *rows = ARENA_ARRAY(&arena, LayerStats, m->n_layers);
  memset(rows, 0, sizeof *rows * (size_t)m->n_layers);
  IrGraph *g = pipeline_lower(&arena, m, o);
  static_stats(m, g, rows);

  const char *note = NULL;
  if (!bind_any_weights(&arena, g, o, &note)) goto done;
  PassOptions passes = passes_default_options();
  passes.after_pass = after_pass;
  passes.ctx = o;
  passes_run_inference(g, &passes);
  int64_t other_bytes = compiled_stats(m, g, rows);

  char shape[64];
  printf("%s (%s): input %s[%s]; %s\n", m->name, m->path, m->input.type == INPUT_U8 ? "u8" : "f32",
         shape_format(&m->input.shape, shape, sizeof shape), note);
  printf("%-10s %-10s %-10s %12s %12s %12s %14s %14s %10s\n", "layer", "op", "output", "params", "f32 bytes",
         "compiled", "binary ops", "float ops", "scratch");
  LayerStats total = {0};
  for (int i = 0; i < m->n_layers; i++) {
    const Layer *l = &m->layers[i];
    const LayerStats *r = &rows[i];
    printf("%-10s %-10s %-10s %12" PRId64 " %12" PRId64 " %12" PRId64 " %14" PRId64 " %14" PRId64 " %10" PRId64
           "\n",
           l->label, layer_kind_name(l->kind), shape_format(&l->out_shape, shape, sizeof shape), r->params,
           r->f32_bytes, r->compiled_bytes, r->binary_ops, r->float_ops, r->scratch_bytes);
    total.params += r->params;
    total.f32_bytes += r->f32_bytes;
    total.compiled_bytes += r->compiled_bytes;
    total.binary_ops += r->binary_ops;
    total.float_ops += r->float_ops;
  }
  if (other_bytes) {
    printf("%-10s %-10s %-10s %12s %12s %12" PRId64 "\n", "input", "normalize", "", "", "", other_bytes);
    total.compiled_bytes += other_bytes;
  }
  printf("%-10s %-10s %-10s %12" PRId64 " %12" PRId64 " %12" PRId64 " %14" PRId64 " %14" PRId64 " %10zu\n",
         "total", "", "", total.params, total.f32_bytes, total.compiled_bytes, total.binary_ops, total.float_ops,
         g->scratch_bytes);
  print_size("weights:", total.f32_bytes);
  print_size(" in f32 ->", total.compiled_bytes);
  printf(" compiled: %.1fx smaller", total.compiled_bytes ? (double)total.f32_bytes / (double)total.compiled_bytes : 0.0);
  print_size("; scratch", (int64_t)g->scratch_bytes);
  printf(" (memory plan)\n");
  printf("ops per sample: %" PRId64 " binary (2 per XNOR-popcount MAC), %" PRId64 " float\n", total.binary_ops,
         total.float_ops);
  code = BNNC_EXIT_OK;
done:
  arena_free(&arena);
  return code;
}
