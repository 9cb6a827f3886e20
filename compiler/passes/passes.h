/* passes.h - the inference passes: lowered IR -> IR ready for code generation.
 *
 * Each pass is one file with one entry point, headed by what it needs and
 * what it guarantees; docs/passes.md shows the IR before and after each.
 * Every param a pass reads must have its data bound (the driver binds the
 * weights before running passes). Passes allocate new constants in the
 * graph's arena and give them descriptive names ("3.weight.packed", "4.thr").
 *
 * passes_run_inference runs them in this order, calling o->after_pass (the
 * driver's verify + --print-after-all hook) after each one:
 *
 *   drop_training_ops   dropout and rank-1 flatten removed
 *   sink_sign           sign(maxpool(v)) -> maxpool(sign(v)) on bits, and
 *                       sign(flatten(v)) -> flatten(sign(v))
 *   pack_weights        binlinear -> bindense (bit weights) + affine(alpha, bias);
 *                       binconv2d on bits -> binconv(hwc(x), channel-packed w) + affine
 *   fold_input_affine   input normalization folded into the first layer
 *   fold_affines        affine/batchnorm chains not feeding a sign folded into
 *                       the next linear; identity affines removed
 *   fold_threshold      i32 accumulator -> (affine, batchnorm, htanh...) -> sign
 *                       becomes threshold(y, thr, flip), exact for every y
 *   fuse_threshold      bindense + threshold -> bindense_thr;
 *                       binconv + threshold -> chw(binconv_thr), channels last
 *   layout_hwc          chw/hwc pairs cancelled, bit maxpool made channels
 *                       last, flatten(chw) folded into the dense weights
 *   plan_memory         scratch offsets by liveness, g->scratch_bytes
 */
#ifndef BNNC_PASSES_H
#define BNNC_PASSES_H

#include <stdbool.h>

#include "ir.h"

/* Called after each pass with the pass's name (e.g. "fold_threshold"). The
 * driver passes a two-line adapter around its pipeline_verify, with its
 * DriverOptions as ctx. */
typedef void (*PassHook)(const IrGraph *g, const char *pass_name, const void *ctx);

typedef struct PassOptions {
  PassHook after_pass;        /* may be NULL */
  const void *ctx;            /* handed to after_pass */
  /* Fold batchnorm/affine chains that feed a float `linear` into its weights.
   * Changes f32 rounding (logits agree to ~1e-6 relative, not bit for bit);
   * false keeps the chain and the arithmetic of the runtime exactly. */
  bool fold_float_affines;
} PassOptions;

/* Defaults: no hook, fold_float_affines on. */
PassOptions passes_default_options(void);

void passes_run_inference(IrGraph *g, const PassOptions *o);

/* The passes, in pipeline order. Each returns the number of rewrites made. */
int pass_drop_training_ops(IrGraph *g);
int pass_sink_sign(IrGraph *g);
int pass_pack_weights(IrGraph *g);
int pass_fold_input_affine(IrGraph *g);
int pass_fold_affines(IrGraph *g, bool fold_into_linear);
int pass_fold_threshold(IrGraph *g);
int pass_fuse_threshold(IrGraph *g);
int pass_layout_hwc(IrGraph *g);
int pass_plan_memory(IrGraph *g);

#endif
