/* compile.c - `bnnc MODEL.bnn`: model -> IR -> passes -> code.
 *
 * The stages, in order: load (parse + check), lower, verify, the inference
 * passes (each followed by verify), code generation, emission.
 */
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "driver.h"
#include "pipeline.h"

static int emit_ir(const IrGraph *g, const DriverOptions *o) {
  if (!o->output_path || strcmp(o->output_path, "-") == 0) {
    ir_print(stdout, g);
    return fflush(stdout) == 0 ? BNNC_EXIT_OK : BNNC_EXIT_BAD_INPUT;
  }
  FILE *f = fopen(o->output_path, "w");
  if (!f) {
    bnnc_error("cannot write '%s'", o->output_path);
    return BNNC_EXIT_BAD_INPUT;
  }
  ir_print(f, g);
  if (fclose(f) != 0) {
    bnnc_error("cannot write '%s'", o->output_path);
    return BNNC_EXIT_BAD_INPUT;
  }
  return BNNC_EXIT_OK;
}

int driver_compile(const DriverOptions *o) {
  Arena arena;
  arena_init(&arena);
  int code = BNNC_EXIT_BAD_INPUT;
  Model *model = pipeline_load_model(&arena, o);
  if (!model) goto done;
  IrGraph *g = pipeline_lower(&arena, model, o);
  if (o->emit == EMIT_IR) {
    code = emit_ir(g, o);
    goto done;
  }
  bnnc_error("code generation is not available in this build yet (use --emit=ir)");
  code = BNNC_EXIT_INTERNAL;
done:
  arena_free(&arena);
  return code;
}
