/* lower.h - Model (checked front-end output) -> graph IR. */
#ifndef BNNC_LOWER_H
#define BNNC_LOWER_H

#include "ir.h"
#include "model.h"

/* Build the IR of a model in the arena. Every learned tensor becomes a param
 * node named as in the weights file ("0.weight", "1.running_mean", ...) with no
 * data; constants the compiler derives itself (the input normalization) are
 * params with data already bound. Binarization of a layer's input is an
 * explicit `sign` node; dropout stays (a pass drops it for inference). */
IrGraph *lower_model(Arena *arena, const Model *model);

#endif
