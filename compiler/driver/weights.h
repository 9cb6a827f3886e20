/* weights.h - binding learned tensors to the IR's param nodes (compile mode).
 *
 * The tensors come from a safetensors file (--weights FILE, else
 * MODEL.safetensors beside the .bnn when it exists) or, with
 * --random-weights SEED, from a seeded generator of plausible trained values.
 * Keys and shapes are checked as the runtime checks them: every missing,
 * unexpected or mis-shaped tensor is reported by name. */
#ifndef BNNC_WEIGHTS_H
#define BNNC_WEIGHTS_H

#include <stdbool.h>

#include "driver.h"
#include "ir.h"

/* Binds every unbound param of g (data copied into g's arena). Reports and
 * returns false when there are no weights or they do not fit the model. */
bool weights_bind(IrGraph *g, const DriverOptions *o);

/* Seeded plausible values: latent weights U(-1,1), BatchNorm gamma in
 * +-[0.5,1.5] (one in four negative), beta and running mean small, running
 * var in [0.5,2], biases small. */
void weights_bind_random(IrGraph *g, uint64_t seed);

#endif
