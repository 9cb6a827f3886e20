/* pipeline.h - the stages every mode shares: read + check the model, lower it
 * to IR and verify it. Each returns NULL after reporting a user error. */
#ifndef BNNC_PIPELINE_H
#define BNNC_PIPELINE_H

#include "arena.h"
#include "driver.h"
#include "ir.h"
#include "model.h"

/* Parse and check opts->model_path; errors go to stderr with carets. */
Model *pipeline_load_model(Arena *arena, const DriverOptions *opts);

/* Lower to IR and verify; prints the IR after lowering with --print-after-all. */
IrGraph *pipeline_lower(Arena *arena, const Model *model, const DriverOptions *opts);

/* The weights file of a model: `path` when given, else MODEL.safetensors
 * beside the .bnn file (in arena). Train writes there; the other modes read. */
const char *pipeline_weights_path(Arena *arena, const char *model_path, const char *path);

/* False (after an error) when `output` is the same file as the model, as
 * weights_path or as checkpoint_path (either may be NULL): a mistyped -o,
 * --metrics... must never destroy an input. `what` names the output
 * ("compiler output", "the metrics"). The caller exits BNNC_EXIT_USAGE. */
bool pipeline_output_allowed(const DriverOptions *opts, const char *output, const char *what,
                             const char *weights_path, const char *checkpoint_path);

/* Verify g after a stage named `stage`; a failure is a bnnc bug (exit 70). */
void pipeline_verify(const IrGraph *g, const char *stage, const DriverOptions *opts);

#endif
