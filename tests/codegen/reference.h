/* reference.h - the codegen tests' oracle: a plain-C evaluator of the IR. */
#ifndef BNNC_TESTS_CODEGEN_REFERENCE_H
#define BNNC_TESTS_CODEGEN_REFERENCE_H

#include "ir.h"

/* One sample: input (u8 or f32 per the graph's input) -> output floats.
 * Every param must be bound. */
void reference_eval(const IrGraph *g, const void *input, float *output);

#endif
