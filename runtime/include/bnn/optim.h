/* bnn/optim.h: optimizers, LR schedules and their checkpointable state.
 *
 * SGD (PyTorch torch.optim.SGD, dampening 0, no nesterov):
 *   g += weight_decay * p;  buf = g at the first step, then momentum*buf + g;
 *   p -= lr * buf   (buf = g when momentum == 0)
 * Adam (PyTorch torch.optim.Adam, amsgrad off), step t counted from 1:
 *   g += weight_decay * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * lr here is the epoch's scheduled lr times the parameter's lr scale:
 * `lr_scale_glorot` gives binlinear weights 1/sqrt(1.5/(fan_in+fan_out)),
 * everything else 1. `clip_weights` clamps binlinear weights to [-1, 1]
 * after every step. A parameter that got no gradient in a step is treated
 * as having gradient 0 (its moments still decay, as in PyTorch when grad is 0).
 *
 * Schedules, epoch e counted from 0:
 *   NONE  lr_e = lr
 *   STEP  lr_e = lr * gamma^floor(e / step_every)       (torch StepLR)
 *   EXP   lr_e = lr * (lr_to / lr)^(e / epochs)          (BNN paper: decay
 *         factor (to/lr)^(1/epochs) applied after every epoch) */
#ifndef BNN_OPTIM_H
#define BNN_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "bnn/net.h"
#include "bnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bnn_optim_kind { BNN_OPTIM_SGD, BNN_OPTIM_ADAM } bnn_optim_kind;
typedef enum bnn_schedule_kind { BNN_SCHEDULE_NONE, BNN_SCHEDULE_STEP, BNN_SCHEDULE_EXP } bnn_schedule_kind;

typedef struct bnn_optim_desc {
  bnn_optim_kind kind;
  float lr;
  float momentum;            /* SGD */
  float beta1, beta2, eps;   /* Adam (0.9, 0.999, 1e-8) */
  float weight_decay;
  bnn_schedule_kind schedule;
  int step_every;            /* STEP */
  float gamma;               /* STEP */
  float lr_to;               /* EXP: target lr */
  int epochs;                /* EXP: number of epochs of the decay */
  bool clip_weights;
  bool lr_scale_glorot;
} bnn_optim_desc;

/* Zero the descriptor and set kind, lr and PyTorch defaults. */
void bnn_optim_desc_init(bnn_optim_desc *d, bnn_optim_kind kind, float lr);

typedef struct bnn_optim bnn_optim;

/* State tensors are allocated (zeroed) for every trainable tensor of `net`;
 * the optimizer keeps a pointer to the net, which must outlive it. */
bnn_status bnn_optim_create(bnn_optim **out, bnn_net *net, const bnn_optim_desc *d, bnn_error *err);
void bnn_optim_free(bnn_optim *opt);

/* One update of every parameter from its gradient (bnn_net_train_batch calls it). */
bnn_status bnn_optim_step(bnn_optim *opt, bnn_error *err);
/* Set the lr of epoch `epoch` (0-based) from the schedule. Call at the start
 * of each epoch. */
void bnn_optim_set_epoch(bnn_optim *opt, int epoch);
float bnn_optim_lr(const bnn_optim *opt);            /* current scheduled lr */
float bnn_optim_schedule_lr(const bnn_optim_desc *d, int epoch);

/* Named state tensors for checkpoints: "optim.LABEL.weight.m" and ".v"
 * (Adam), "optim.LABEL.weight.momentum_buffer" (SGD with momentum). */
int bnn_optim_num_tensors(const bnn_optim *opt);
bnn_status bnn_optim_tensor(const bnn_optim *opt, int i, bnn_named_tensor *out, bnn_error *err);

/* Scalar state for checkpoints. With the net's tensors, the optimizer's
 * tensors and this, a run resumes bit-identically. */
typedef struct bnn_train_state {
  int64_t step;                           /* optimizer steps taken */
  int32_t epoch;                          /* epoch the lr is set for */
  int32_t sgd_started;                    /* SGD momentum buffers initialized */
  uint64_t rng[BNN_RNG_STATE_WORDS];      /* the net's PRNG */
} bnn_train_state;

void bnn_optim_state_get(const bnn_optim *opt, bnn_train_state *out);
void bnn_optim_state_set(bnn_optim *opt, const bnn_train_state *in);

#ifdef __cplusplus
}
#endif

#endif /* BNN_OPTIM_H */
