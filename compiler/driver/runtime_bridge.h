/* runtime_bridge.h - where the compiler meets the runtime: a checked Model
 * becomes libbnn descriptors, and nets are saved to / loaded from
 * safetensors files (weights and checkpoints). Used by --train, --eval and
 * --verify. Errors are printed here ("bnnc: error: FILE: what is wrong") and
 * reported as false / NULL. */
#ifndef BNNC_RUNTIME_BRIDGE_H
#define BNNC_RUNTIME_BRIDGE_H

#include <stdbool.h>

#include "arena.h"
#include "bnn/bnn.h"
#include "bnn/io.h"
#include "model.h"

/* Create the runtime net of a model, initialised from seed. */
bnn_net *bridge_create_net(const Model *model, uint64_t seed);

/* The optimizer descriptor of the model's train block (epochs: the run's). */
void bridge_optim_desc(const TrainConfig *t, int epochs, bnn_optim_desc *out);

/* Load every tensor of the net from a safetensors file. Every missing,
 * unexpected or mis-shaped key is reported by name. */
bool bridge_load_weights(bnn_net *net, const char *path);

/* Copy the net's tensors into a writer (optionally the optimizer's too). */
bool bridge_add_tensors(bnn_st_writer *w, const bnn_net *net, const bnn_optim *opt);

/* Load the IDX data set in dir (NULL: the default, Fashion-MNIST) for a
 * classifier model: as many classes as the model's outputs, images of as
 * many values as its input. Reports what is wrong and how to get the default
 * data set when it is missing. */
bool bridge_load_dataset(const Model *model, const char *dir, bnn_dataset *out);

/* predictions[i] = the class the net's eval mode gives image i, for n_images
 * IDX images of the model's input size (u8; turned into x/255 for an f32
 * input), in chunks. */
bool bridge_predict(bnn_net *net, const Model *model, const uint8_t *images, int64_t n_images,
                    int *predictions);

/* Print a runtime error as "bnnc: error: message". */
void bridge_report(const bnn_error *err);

#endif
