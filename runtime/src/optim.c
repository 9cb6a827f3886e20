/* optim.c: SGD and Adam with PyTorch's update formulas, LR schedules,
 * clip_weights, per-parameter LR scales, and the optimizer's named state.
 * The formulas are written out in bnn/optim.h. */
#include "net_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct optim_slot {
  net_entry *e;     /* the parameter */
  float *m, *v;     /* Adam moments, or m = SGD momentum buffer; [numel] */
  float lr_scale;
  bool clip;
  char m_name[BNN_NAME_MAX + 32], v_name[BNN_NAME_MAX + 32];
} optim_slot;

struct bnn_optim {
  bnn_net *net;
  bnn_optim_desc d;
  optim_slot *slots; /* [n_slots] one per trainable tensor */
  int n_slots;
  int states_per_slot; /* 2 Adam, 1 SGD with momentum, 0 plain SGD */
  float *storage;
  float lr;          /* scheduled lr of the current epoch */
  int64_t step;
  int32_t epoch;
  bool sgd_started;
};

bnn_net *optim_net(const bnn_optim *opt) { return opt->net; }

void bnn_optim_desc_init(bnn_optim_desc *d, bnn_optim_kind kind, float lr) {
  memset(d, 0, sizeof *d);
  d->kind = kind;
  d->lr = lr;
  d->beta1 = 0.9f;
  d->beta2 = 0.999f;
  d->eps = 1e-8f;
  d->schedule = BNN_SCHEDULE_NONE;
  d->step_every = 1;
  d->gamma = 0.1f;
  d->lr_to = lr;
  d->epochs = 1;
}

float bnn_optim_schedule_lr(const bnn_optim_desc *d, int epoch) {
  switch (d->schedule) {
  case BNN_SCHEDULE_STEP:
    return (float)((double)d->lr * pow((double)d->gamma, (double)(epoch / (d->step_every > 0 ? d->step_every : 1))));
  case BNN_SCHEDULE_EXP:
    return (float)((double)d->lr *
                   pow((double)d->lr_to / (double)d->lr, (double)epoch / (double)(d->epochs > 0 ? d->epochs : 1)));
  case BNN_SCHEDULE_NONE:
    break;
  }
  return d->lr;
}

static bnn_status check_desc(const bnn_optim_desc *d, bnn_error *err) {
  if (!(d->lr > 0.0f)) return bnn_error_set(err, BNN_ERR_ARG, "optimizer: lr %g must be > 0", d->lr);
  if (d->kind == BNN_OPTIM_ADAM &&
      !(d->beta1 >= 0 && d->beta1 < 1 && d->beta2 >= 0 && d->beta2 < 1 && d->eps >= 0))
    return bnn_error_set(err, BNN_ERR_ARG, "adam: betas (%g, %g) must be in [0,1), eps %g >= 0",
                         d->beta1, d->beta2, d->eps);
  if (d->kind == BNN_OPTIM_SGD && !(d->momentum >= 0))
    return bnn_error_set(err, BNN_ERR_ARG, "sgd: momentum %g must be >= 0", d->momentum);
  if (d->schedule == BNN_SCHEDULE_STEP && (d->step_every < 1 || !(d->gamma > 0)))
    return bnn_error_set(err, BNN_ERR_ARG, "step schedule: every=%d must be >= 1, gamma %g > 0",
                         d->step_every, d->gamma);
  if (d->schedule == BNN_SCHEDULE_EXP && (d->epochs < 1 || !(d->lr_to > 0)))
    return bnn_error_set(err, BNN_ERR_ARG, "exp schedule: to=%g must be > 0 over %d >= 1 epochs",
                         d->lr_to, d->epochs);
  return BNN_OK;
}

bnn_status bnn_optim_create(bnn_optim **out, bnn_net *net, const bnn_optim_desc *d, bnn_error *err) {
  *out = NULL;
  if (!net || !d) return bnn_error_set(err, BNN_ERR_ARG, "bnn_optim_create: NULL net or descriptor");
  bnn_status s = check_desc(d, err);
  if (s) return s;
  bnn_optim *opt = calloc(1, sizeof *opt);
  if (!opt) return bnn_error_set(err, BNN_ERR_NOMEM, "bnn_optim_create: out of memory");
  opt->net = net;
  opt->d = *d;
  opt->states_per_slot = d->kind == BNN_OPTIM_ADAM ? 2 : d->momentum > 0 ? 1 : 0;
  size_t floats = 0;
  for (int i = 0; i < net->n_entries; i++)
    if (net->entries[i].trainable) opt->n_slots++, floats += (size_t)net->entries[i].numel;
  floats *= (size_t)opt->states_per_slot;
  opt->slots = calloc((size_t)opt->n_slots + 1, sizeof *opt->slots);
  opt->storage = calloc(floats + 1, sizeof *opt->storage);
  if (!opt->slots || !opt->storage) {
    bnn_optim_free(opt);
    return bnn_error_set(err, BNN_ERR_NOMEM, "bnn_optim_create: cannot allocate %zu state floats", floats);
  }
  float *cursor = opt->storage;
  int k = 0;
  for (int i = 0; i < net->n_entries; i++) {
    net_entry *e = &net->entries[i];
    if (!e->trainable) continue;
    optim_slot *sl = &opt->slots[k++];
    sl->e = e;
    sl->lr_scale = 1.0f;
    if (e->binary_weight && d->lr_scale_glorot)
      sl->lr_scale = (float)(1.0 / sqrt(1.5 / (double)(e->fan_in + e->fan_out)));
    sl->clip = e->binary_weight && d->clip_weights;
    if (opt->states_per_slot >= 1) sl->m = cursor, cursor += e->numel;
    if (opt->states_per_slot >= 2) sl->v = cursor, cursor += e->numel;
    if (d->kind == BNN_OPTIM_ADAM) {
      snprintf(sl->m_name, sizeof sl->m_name, "optim.%s.m", e->name);
      snprintf(sl->v_name, sizeof sl->v_name, "optim.%s.v", e->name);
    } else {
      snprintf(sl->m_name, sizeof sl->m_name, "optim.%s.momentum_buffer", e->name);
    }
  }
  opt->lr = bnn_optim_schedule_lr(d, 0);
  *out = opt;
  return BNN_OK;
}

void bnn_optim_free(bnn_optim *opt) {
  if (!opt) return;
  free(opt->storage);
  free(opt->slots);
  free(opt);
}

void bnn_optim_set_epoch(bnn_optim *opt, int epoch) {
  opt->epoch = epoch;
  opt->lr = bnn_optim_schedule_lr(&opt->d, epoch);
}

float bnn_optim_lr(const bnn_optim *opt) { return opt->lr; }

static void adam_update(const bnn_optim *opt, optim_slot *sl, const float *g, int64_t t) {
  const bnn_optim_desc *d = &opt->d;
  float *restrict p = sl->e->data, *restrict m = sl->m, *restrict v = sl->v;
  const float *restrict gr = g;
  float b1 = d->beta1, b2 = d->beta2, eps = d->eps, wd = d->weight_decay;
  float c1 = 1.0f - b1, c2 = 1.0f - b2;
  double lr = (double)opt->lr * sl->lr_scale;
  double bc1 = 1.0 - pow((double)b1, (double)t), bc2 = 1.0 - pow((double)b2, (double)t);
  float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
  int64_t n = sl->e->numel;
  if (wd != 0.0f) {
    for (int64_t i = 0; i < n; i++) {
      float gi = gr[i] + wd * p[i];
      m[i] = m[i] * b1 + gi * c1;
      v[i] = v[i] * b2 + gi * gi * c2;
      p[i] = p[i] + (-step_size) * (m[i] / (sqrtf(v[i]) / bc2_sqrt + eps));
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) { /* the common case, branch-free so it vectorizes */
    float gi = gr[i];
    m[i] = m[i] * b1 + gi * c1;
    v[i] = v[i] * b2 + gi * gi * c2;
    p[i] = p[i] + (-step_size) * (m[i] / (sqrtf(v[i]) / bc2_sqrt + eps));
  }
}

static void sgd_update(const bnn_optim *opt, optim_slot *sl, const float *g) {
  const bnn_optim_desc *d = &opt->d;
  float *p = sl->e->data, *buf = sl->m, mom = d->momentum, wd = d->weight_decay;
  float lr = (float)((double)opt->lr * sl->lr_scale);
  for (int64_t i = 0; i < sl->e->numel; i++) {
    float gi = wd != 0.0f ? g[i] + wd * p[i] : g[i];
    if (buf) {
      buf[i] = opt->sgd_started ? buf[i] * mom + gi : gi;
      gi = buf[i];
    }
    p[i] = p[i] + (-lr) * gi;
  }
}

bnn_status bnn_optim_step(bnn_optim *opt, bnn_error *err) {
  if (!opt) return bnn_error_set(err, BNN_ERR_ARG, "optim_step: NULL optimizer");
  opt->step++;
  for (int i = 0; i < opt->n_slots; i++) {
    optim_slot *sl = &opt->slots[i];
    bnn_tensor *t = sl->e->param;
    if (!(t->flags & BNN_TF_GRAD_VALID)) continue; /* no gradient: skipped, like grad None */
    if (opt->d.kind == BNN_OPTIM_ADAM) adam_update(opt, sl, t->grad, opt->step);
    else sgd_update(opt, sl, t->grad);
    if (sl->clip) {
      float *p = sl->e->data;
      for (int64_t k = 0; k < sl->e->numel; k++) p[k] = p[k] < -1.0f ? -1.0f : p[k] > 1.0f ? 1.0f : p[k];
    }
  }
  opt->sgd_started = true;
  return BNN_OK;
}

int bnn_optim_num_tensors(const bnn_optim *opt) { return opt->n_slots * opt->states_per_slot; }

bnn_status bnn_optim_tensor(const bnn_optim *opt, int i, bnn_named_tensor *out, bnn_error *err) {
  if (i < 0 || i >= bnn_optim_num_tensors(opt))
    return bnn_error_set(err, BNN_ERR_ARG, "optimizer tensor index %d outside 0..%d", i,
                         bnn_optim_num_tensors(opt) - 1);
  const optim_slot *sl = &opt->slots[i / opt->states_per_slot];
  bool second = i % opt->states_per_slot == 1;
  out->name = second ? sl->v_name : sl->m_name;
  out->ndim = sl->e->ndim;
  memcpy(out->shape, sl->e->shape, sizeof out->shape);
  out->data = second ? sl->v : sl->m;
  out->numel = sl->e->numel;
  out->trainable = false;
  out->param = NULL;
  return BNN_OK;
}

void bnn_optim_state_get(const bnn_optim *opt, bnn_train_state *out) {
  memset(out, 0, sizeof *out);
  out->step = opt->step;
  out->epoch = opt->epoch;
  out->sgd_started = opt->sgd_started;
  bnn_rng_state_get(&opt->net->rng, out->rng);
}

void bnn_optim_state_set(bnn_optim *opt, const bnn_train_state *in) {
  opt->step = in->step;
  opt->sgd_started = in->sgd_started != 0;
  bnn_optim_set_epoch(opt, in->epoch);
  bnn_rng_state_set(&opt->net->rng, in->rng);
}
