/* runtime_bridge.c - Model -> libbnn descriptors, and net <-> safetensors. */
#include "runtime_bridge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void bridge_report(const bnn_error *err) {
  bnnc_error("%s", err->msg[0] ? err->msg : bnn_status_str(err->status));
}

static bnn_layer_kind runtime_kind(LayerKind k) {
  switch (k) {
  case LAYER_BINLINEAR: return BNN_LAYER_BINLINEAR;
  case LAYER_LINEAR: return BNN_LAYER_LINEAR;
  case LAYER_BATCHNORM: return BNN_LAYER_BATCHNORM;
  case LAYER_SIGN: return BNN_LAYER_SIGN;
  case LAYER_HTANH: return BNN_LAYER_HTANH;
  case LAYER_RELU: return BNN_LAYER_RELU;
  case LAYER_SIGMOID: return BNN_LAYER_SIGMOID;
  case LAYER_DROPOUT: return BNN_LAYER_DROPOUT;
  case LAYER_SOFTMAX: return BNN_LAYER_SOFTMAX;
  case LAYER_BINCONV2D: return BNN_LAYER_BINCONV2D;
  case LAYER_CONV2D: return BNN_LAYER_CONV2D;
  case LAYER_MAXPOOL: return BNN_LAYER_MAXPOOL;
  case LAYER_AVGPOOL: return BNN_LAYER_AVGPOOL;
  case LAYER_FLATTEN: return BNN_LAYER_FLATTEN;
  case LAYER_KIND_COUNT: break;
  }
  BNNC_BUG("runtime_kind: layer kind %d", (int)k);
}

static bool input_desc(const ModelInput *in, bnn_input_desc *d) {
  memset(d, 0, sizeof *d);
  d->ndim = in->shape.rank;
  for (int i = 0; i < in->shape.rank; i++) d->shape[i] = in->shape.dims[i];
  d->type = in->type == INPUT_U8 ? BNN_INPUT_U8 : BNN_INPUT_F32;
  d->normalize = in->normalize;
  d->n_norm = in->normalize ? in->n_channels_norm : 1;
  if (d->n_norm > BNN_MAX_CHANNELS) {
    bnnc_error("the runtime normalizes at most %d input channels, the model has %d",
               BNN_MAX_CHANNELS, d->n_norm);
    return false;
  }
  for (int c = 0; in->normalize && c < d->n_norm; c++) {
    d->mean[c] = in->mean[c];
    d->std[c] = in->std[c];
  }
  return true;
}

bnn_net *bridge_create_net(const Model *m, uint64_t seed) {
  bnn_layer_desc *layers = calloc((size_t)m->n_layers, sizeof *layers);
  if (!layers) {
    bnnc_error("out of memory");
    return NULL;
  }
  bnn_net_desc desc = {.layers = layers, .n_layers = m->n_layers,
                       .loss = m->train.loss == LOSS_SQ_HINGE ? BNN_LOSS_SQ_HINGE
                                                              : BNN_LOSS_CROSS_ENTROPY};
  bnn_net *net = NULL;
  if (!input_desc(&m->input, &desc.input)) goto done;
  for (int i = 0; i < m->n_layers; i++) {
    const Layer *l = &m->layers[i];
    bnn_layer_desc *d = &layers[i];
    bnn_layer_desc_init(d, runtime_kind(l->kind));
    if (strlen(l->label) >= sizeof d->label) {
      bnnc_error("layer label '%s' is longer than the runtime's %d characters", l->label,
                 (int)sizeof d->label - 1);
      goto done;
    }
    strcpy(d->label, l->label);
    d->in_features = l->in_features;
    d->out_features = l->out_features;
    d->real_input = l->real_input;
    d->has_bias = l->has_bias;
    d->has_scale = l->has_scale;
    d->eps = l->eps;
    d->momentum = l->momentum;
    d->p = l->p;
    d->out_channels = l->out_channels;
    d->kernel = l->kernel_h;
    d->kernel_w = l->kernel_w;
    d->stride = l->stride;
    d->pad = l->pad;
  }
  bnn_error err = {0};
  if (bnn_net_create(&net, &desc, seed, &err) != BNN_OK) {
    bridge_report(&err);
    net = NULL;
  }
done:
  free(layers);
  return net;
}

void bridge_optim_desc(const TrainConfig *t, int epochs, bnn_optim_desc *d) {
  bnn_optim_desc_init(d, t->optimizer == OPT_SGD ? BNN_OPTIM_SGD : BNN_OPTIM_ADAM, t->lr);
  d->momentum = t->sgd_momentum;
  d->beta1 = t->beta1;
  d->beta2 = t->beta2;
  d->eps = t->adam_eps;
  d->weight_decay = t->weight_decay;
  d->schedule = t->schedule == SCHED_STEP  ? BNN_SCHEDULE_STEP
                : t->schedule == SCHED_EXP ? BNN_SCHEDULE_EXP
                                           : BNN_SCHEDULE_NONE;
  d->step_every = t->step_every;
  d->gamma = t->step_gamma;
  d->lr_to = t->exp_to;
  d->epochs = epochs;
  d->clip_weights = t->clip_weights;
  d->lr_scale_glorot = t->lr_scale_glorot;
}

bool bridge_load_dataset(const Model *m, const char *dir, bnn_dataset *out) {
  bnn_error err = {0};
  if (bnn_dataset_load(dir, (int)m->out_shape.dims[0], out, &err) != BNN_OK) {
    bridge_report(&err);
    if (!dir)
      fprintf(stderr, "bnnc: note: the default data set is Fashion-MNIST from the Debian package "
                      "dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass --data DIR\n");
    return false;
  }
  int64_t want = shape_numel(&m->input.shape);
  if (out->image_size != want) {
    bnnc_error("the data set's images have %" PRId64 " values each but model '%s' takes %" PRId64 " inputs",
               out->image_size, m->name, want);
    return false;
  }
  return true;
}

bool bridge_predict(bnn_net *net, const Model *m, const uint8_t *images, int64_t n_images, int *predictions) {
  enum { EVAL_CHUNK = 500 };
  int64_t size = shape_numel(&m->input.shape), classes = bnn_net_output_size(net);
  float *logits = malloc(sizeof(float) * EVAL_CHUNK * (size_t)classes);
  float *xf = m->input.type == INPUT_U8 ? NULL : malloc(sizeof(float) * EVAL_CHUNK * (size_t)size);
  bool ok = logits && (m->input.type == INPUT_U8 || xf);
  if (!ok) bnnc_error("out of memory");
  bnn_error err = {0};
  for (int64_t start = 0; ok && start < n_images; start += EVAL_CHUNK) {
    int64_t n = n_images - start < EVAL_CHUNK ? n_images - start : EVAL_CHUNK;
    const uint8_t *img = images + start * size;
    const void *x = img;
    if (xf) {
      for (int64_t j = 0; j < n * size; j++) xf[j] = img[j] / 255.0f;
      x = xf;
    }
    if (bnn_net_forward_eval(net, x, n, logits, &err) != BNN_OK) {
      bridge_report(&err);
      ok = false;
      break;
    }
    for (int64_t i = 0; i < n; i++) predictions[start + i] = bnn_argmax(logits + i * classes, classes);
  }
  free(logits);
  free(xf);
  return ok;
}

bool bridge_load_weights(bnn_net *net, const char *path) {
  bnn_error err = {0};
  bnn_st_file *f = NULL;
  if (bnn_st_read(path, &f, &err) != BNN_OK) {
    bridge_report(&err);
    return false;
  }
  int n = bnn_net_num_tensors(net);
  bnn_named_tensor *tensors = calloc((size_t)n, sizeof *tensors);
  bnn_st_expect *expect = calloc((size_t)n, sizeof *expect);
  bool ok = tensors && expect;
  if (!ok) bnnc_error("out of memory");
  for (int i = 0; ok && i < n; i++) {
    ok = bnn_net_tensor(net, i, &tensors[i], &err) == BNN_OK;
    expect[i] = (bnn_st_expect){tensors[i].name, tensors[i].ndim, tensors[i].shape};
  }
  if (!ok) {
    bridge_report(&err);
  } else {
    char *report = NULL;
    /* Checkpoints carry optimizer state too: extra "optim." keys are fine
     * when loading weights only, so check just the model's tensors. */
    if (bnn_st_check(f, expect, (size_t)n, &report, &err) != BNN_OK) {
      bool only_optim_extra = true;
      for (char *line = report; line && *line;) {
        char *end = strchr(line, '\n');
        if (strncmp(line, "unexpected tensor \"optim.", 25) != 0) only_optim_extra = false;
        line = end ? end + 1 : NULL;
      }
      if (!only_optim_extra) {
        bnnc_error("%s does not fit the model:\n%s", path, report ? report : err.msg);
        ok = false;
      }
      free(report);
    }
    for (int i = 0; ok && i < n; i++) {
      const float *data;
      if (bnn_st_get_f32(f, tensors[i].name, tensors[i].ndim, tensors[i].shape, &data, &err) != BNN_OK) {
        bridge_report(&err);
        ok = false;
        break;
      }
      memcpy(tensors[i].data, data, (size_t)tensors[i].numel * sizeof(float));
    }
  }
  free(tensors);
  free(expect);
  bnn_st_close(f);
  return ok;
}

bool bridge_add_tensors(bnn_st_writer *w, const bnn_net *net, const bnn_optim *opt) {
  bnn_error err = {0};
  bnn_named_tensor t;
  for (int i = 0; i < bnn_net_num_tensors(net); i++)
    if (bnn_net_tensor(net, i, &t, &err) != BNN_OK ||
        bnn_st_writer_add(w, t.name, t.ndim, t.shape, t.data, &err) != BNN_OK) {
      bridge_report(&err);
      return false;
    }
  for (int i = 0; opt && i < bnn_optim_num_tensors(opt); i++)
    if (bnn_optim_tensor(opt, i, &t, &err) != BNN_OK ||
        bnn_st_writer_add(w, t.name, t.ndim, t.shape, t.data, &err) != BNN_OK) {
      bridge_report(&err);
      return false;
    }
  return true;
}
