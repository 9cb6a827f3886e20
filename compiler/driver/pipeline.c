/* pipeline.c - stages shared by the modes; see pipeline.h. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
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

const char *pipeline_weights_path(Arena *arena, const char *model_path, const char *path) {
  if (path) return path;
  size_t len = strlen(model_path);
  if (len > 4 && strcmp(model_path + len - 4, ".bnn") == 0) len -= 4;
  return arena_printf(arena, "%.*s.safetensors", (int)len, model_path);
}

static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool pipeline_output_allowed(const DriverOptions *opts, const char *output, const char *what,
                             const char *weights_path, const char *checkpoint_path) {
  const struct { const char *path, *kind; } inputs[] = {
      {opts->model_path, "model"}, {weights_path, "weights"}, {checkpoint_path, "checkpoint"}};
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
    if (same_file(output, inputs[i].path)) {
      bnnc_error("refusing to overwrite the %s file '%s' with %s", inputs[i].kind, output, what);
      return false;
    }
  return true;
}

IrGraph *pipeline_lower(Arena *arena, const Model *model, const DriverOptions *opts) {
  IrGraph *g = lower_model(arena, model);
  pipeline_verify(g, "lowering", opts);
  return g;
}
