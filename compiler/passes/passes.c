/* passes.c - the inference pipeline: the passes in order, each followed by
 * the caller's hook (the driver verifies, and prints with --print-after-all).
 * The order matters: see passes.h.
 */
#include "passes.h"

PassOptions passes_default_options(void) {
  PassOptions o = {NULL, NULL, true};
  return o;
}

static void after(IrGraph *g, const PassOptions *o, const char *name) {
  if (o->after_pass) o->after_pass(g, name, o->ctx);
}

void passes_run_inference(IrGraph *g, const PassOptions *o) {
  pass_drop_training_ops(g);
  after(g, o, "drop_training_ops");
  pass_sink_sign(g);
  after(g, o, "sink_sign");
  pass_pack_weights(g);
  after(g, o, "pack_weights");
  pass_fold_input_affine(g);
  after(g, o, "fold_input_affine");
  pass_fold_affines(g, o->fold_float_affines);
  after(g, o, "fold_affines");
  pass_fold_threshold(g);
  after(g, o, "fold_threshold");
  pass_fuse_threshold(g);
  after(g, o, "fuse_threshold");
  pass_layout_hwc(g);
  after(g, o, "layout_hwc");
  pass_plan_memory(g);
  after(g, o, "plan_memory");
}
