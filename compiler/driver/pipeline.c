/* pipeline.c - stages shared by the modes; see pipeline.h. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>

#include "frontend.h"
#include "lower.h"

Model *pipeline_load_model(Arena *arena, const DriverOptions *opts) {
  Diagnostics diag;
  diag_init(&diag, opts->model_path, NULL, 0);
  return frontend_parse_file(arena, &diag, opts->model_path);
}

void pipeline_verify(const IrGraph *g, const char *stage, const DriverOptions *opts) {
  if (opts->print_after_all) {
    fprintf(stderr, "; IR after %s\n", stage);
    ir_print(stderr, g);
  }
  if (!ir_verify(g, stage, stderr)) {
    fprintf(stderr, "bnnc: internal error (this is a bug): the IR is invalid after %s\n", stage);
    exit(BNNC_EXIT_INTERNAL);
  }
}

IrGraph *pipeline_lower(Arena *arena, const Model *model, const DriverOptions *opts) {
  IrGraph *g = lower_model(arena, model);
  pipeline_verify(g, "lowering", opts);
  return g;
}
