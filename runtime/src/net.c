/* net.c: building a bnn_net from layer descriptors, its named tensors, and
 * the train/eval entry points the driver calls.
 *
 * Creation walks the descriptors once to infer every layer's shapes and
 * count parameter memory, then allocates one block for all parameters,
 * gradients and buffers, names them like a PyTorch state_dict and
 * initializes them as PyTorch does. */
#include "net_internal.h"
#include "ops_internal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_CHUNK 1000

static const char *const layer_kind_names[] = {
  [BNN_LAYER_LINEAR] = "linear",       [BNN_LAYER_BINLINEAR] = "binlinear",
  [BNN_LAYER_BATCHNORM] = "batchnorm", [BNN_LAYER_DROPOUT] = "dropout",
  [BNN_LAYER_SIGN] = "sign",           [BNN_LAYER_HTANH] = "htanh",
  [BNN_LAYER_RELU] = "relu",           [BNN_LAYER_SIGMOID] = "sigmoid",
  [BNN_LAYER_SOFTMAX] = "softmax",     [BNN_LAYER_FLATTEN] = "flatten",
  [BNN_LAYER_CONV2D] = "conv2d",       [BNN_LAYER_BINCONV2D] = "binconv2d",
  [BNN_LAYER_MAXPOOL] = "maxpool",     [BNN_LAYER_AVGPOOL] = "avgpool",
};
static_assert(sizeof layer_kind_names / sizeof layer_kind_names[0] == BNN_LAYER_KIND_COUNT,
              "layer_kind_names must name every bnn_layer_kind");

const char *bnn_layer_kind_name(bnn_layer_kind k) {
  return (unsigned)k < BNN_LAYER_KIND_COUNT ? layer_kind_names[k] : "?";
}

void bnn_layer_desc_init(bnn_layer_desc *d, bnn_layer_kind kind) {
  memset(d, 0, sizeof *d);
  d->kind = kind;
  d->has_bias = kind == BNN_LAYER_LINEAR || kind == BNN_LAYER_CONV2D;
  d->eps = 1e-5f;
  d->momentum = 0.1f;
  /* convs slide by 1; pools by their kernel (0 = "the kernel", resolved at creation) */
  d->stride = kind == BNN_LAYER_MAXPOOL || kind == BNN_LAYER_AVGPOOL ? 0 : 1;
}

/* ---- shape inference --------------------------------------------------------- */

static int64_t numel3(int ndim, const int64_t *s) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) n *= s[d];
  return n;
}

/* floor((n + 2 pad - k) / stride) + 1 (PyTorch floor mode), or 0 when the
 * window does not fit */
static int64_t window_out(int64_t n, int64_t k, int64_t stride, int64_t pad) {
  int64_t span = n + 2 * pad - k;
  return span < 0 ? 0 : span / stride + 1;
}

/* Convolutions and pools: [C,H,W] -> [O,OH,OW]. Resolves the default pool
 * stride and kernel_w in L->d. */
static bnn_status window_plan(net_layer *L, int index, size_t *floats, int *n_entries,
                              int *n_params, bnn_error *err) {
  bnn_layer_desc *d = &L->d;
  const char *kind = bnn_layer_kind_name(d->kind);
  bool conv = d->kind == BNN_LAYER_CONV2D || d->kind == BNN_LAYER_BINCONV2D;
  if (L->in_ndim != 3)
    return bnn_error_set(err, BNN_ERR_SHAPE,
                         "layer %d (%s '%s'): needs an image [C,H,W] but the previous layer gives %lld features",
                         index, kind, d->label, (long long)L->in_shape[0]);
  if (d->kernel_w == 0) d->kernel_w = d->kernel;
  if (!conv && d->stride == 0) d->stride = d->kernel;
  const int64_t lim = INT32_MAX;
  if (d->kernel < 1 || d->kernel_w < 1 || d->stride < 1 || d->pad < 0 || d->kernel > lim ||
      d->kernel_w > lim || d->stride > lim || d->pad > lim)
    return bnn_error_set(err, BNN_ERR_ARG,
                         "layer %d (%s '%s'): kernel %lldx%lld, stride %lld, pad %lld: need kernel >= 1, stride >= 1, pad >= 0",
                         index, kind, d->label, (long long)d->kernel, (long long)d->kernel_w,
                         (long long)d->stride, (long long)d->pad);
  if (!conv && d->pad != 0)
    return bnn_error_set(err, BNN_ERR_UNSUPPORTED, "layer %d (%s '%s'): pools take no padding (pad %lld)",
                         index, kind, d->label, (long long)d->pad);
  if (conv && d->out_channels < 1)
    return bnn_error_set(err, BNN_ERR_ARG, "layer %d (%s '%s'): %lld output channels", index, kind,
                         d->label, (long long)d->out_channels);
  int64_t C = L->in_shape[0], H = L->in_shape[1], W = L->in_shape[2];
  int64_t OH = window_out(H, d->kernel, d->stride, d->pad);
  int64_t OW = window_out(W, d->kernel_w, d->stride, d->pad);
  if (OH < 1 || OW < 1)
    return bnn_error_set(err, BNN_ERR_SHAPE,
                         "layer %d (%s '%s'): a %lldx%lld kernel (stride %lld, pad %lld) does not fit the %lldx%lldx%lld input",
                         index, kind, d->label, (long long)d->kernel, (long long)d->kernel_w,
                         (long long)d->stride, (long long)d->pad, (long long)C, (long long)H,
                         (long long)W);
  L->out_shape[0] = conv ? d->out_channels : C;
  L->out_shape[1] = OH, L->out_shape[2] = OW;
  if (conv) {
    int64_t w = d->out_channels * C * d->kernel * d->kernel_w;
    *floats += 2 * (size_t)w, *n_entries += 1, *n_params += 1;
    if (d->has_bias) *floats += 2 * (size_t)d->out_channels, *n_entries += 1, *n_params += 1;
  }
  return BNN_OK;
}

/* Infers L's output shape from its input shape; counts its memory. */
static bnn_status layer_plan(net_layer *L, int index, size_t *floats, int *n_entries, int *n_params,
                             bnn_error *err) {
  const bnn_layer_desc *d = &L->d;
  const char *kind = bnn_layer_kind_name(d->kind);
  L->out_ndim = L->in_ndim;
  memcpy(L->out_shape, L->in_shape, sizeof L->out_shape);
  switch (d->kind) {
  case BNN_LAYER_LINEAR:
  case BNN_LAYER_BINLINEAR: {
    if (L->in_ndim != 1)
      return bnn_error_set(err, BNN_ERR_SHAPE,
                           "layer %d (%s '%s'): input is %lldx%lldx%lld, add a flatten first", index,
                           kind, d->label, (long long)L->in_shape[0], (long long)L->in_shape[1],
                           (long long)L->in_shape[2]);
    if (d->in_features != L->in_shape[0] || d->out_features < 1)
      return bnn_error_set(err, BNN_ERR_SHAPE,
                           "layer %d (%s '%s'): declared %lld -> %lld but the previous layer gives %lld features",
                           index, kind, d->label, (long long)d->in_features,
                           (long long)d->out_features, (long long)L->in_shape[0]);
    L->out_shape[0] = d->out_features;
    int64_t w = d->in_features * d->out_features;
    *floats += 2 * (size_t)w, *n_entries += 1, *n_params += 1;
    if (d->has_bias) *floats += 2 * (size_t)d->out_features, *n_entries += 1, *n_params += 1;
    return BNN_OK;
  }
  case BNN_LAYER_BATCHNORM: {
    int64_t C = L->in_shape[0];
    if (!(d->eps > 0.0f) || !(d->momentum >= 0.0f && d->momentum <= 1.0f))
      return bnn_error_set(err, BNN_ERR_ARG, "layer %d (batchnorm '%s'): eps %g must be > 0 and momentum %g in [0,1]",
                           index, d->label, d->eps, d->momentum);
    *floats += 6 * (size_t)C, *n_entries += 4, *n_params += 2;
    return BNN_OK;
  }
  case BNN_LAYER_DROPOUT:
    if (!(d->p >= 0.0f && d->p < 1.0f))
      return bnn_error_set(err, BNN_ERR_ARG, "layer %d (dropout '%s'): p = %g outside [0, 1)", index,
                           d->label, d->p);
    return BNN_OK;
  case BNN_LAYER_SIGN: case BNN_LAYER_HTANH: case BNN_LAYER_RELU: case BNN_LAYER_SIGMOID:
  case BNN_LAYER_SOFTMAX:
    return BNN_OK;
  case BNN_LAYER_FLATTEN:
    L->out_ndim = 1;
    L->out_shape[0] = numel3(L->in_ndim, L->in_shape);
    L->out_shape[1] = L->out_shape[2] = 1;
    return BNN_OK;
  case BNN_LAYER_CONV2D: case BNN_LAYER_BINCONV2D: case BNN_LAYER_MAXPOOL: case BNN_LAYER_AVGPOOL:
    return window_plan(L, index, floats, n_entries, n_params, err);
  case BNN_LAYER_KIND_COUNT:
    break;
  }
  return bnn_error_set(err, BNN_ERR_ARG, "layer %d: unknown layer kind %d", index, (int)d->kind);
}

/* ---- creation ---------------------------------------------------------------- */

static float *take(float **cursor, int64_t n) {
  float *p = *cursor;
  *cursor += n;
  return p;
}

static net_entry *add_entry(bnn_net *net, const char *label, const char *suffix, int ndim,
                            const int64_t *shape, float **cursor, bool trainable) {
  net_entry *e = &net->entries[net->n_entries++];
  snprintf(e->name, sizeof e->name, "%s.%s", label, suffix);
  e->ndim = ndim;
  for (int d = 0; d < BNN_MAX_DIMS; d++) e->shape[d] = d < ndim ? shape[d] : 1;
  e->numel = numel3(ndim, shape);
  e->trainable = trainable;
  e->data = take(cursor, e->numel);
  if (trainable) {
    bnn_tensor *t = &net->params[net->n_params++];
    memset(t, 0, sizeof *t);
    bnn_tensor_set_shape(t, ndim, shape, NULL);
    t->data = e->data;
    t->grad = take(cursor, e->numel);
    t->flags = BNN_TF_PARAM | BNN_TF_REQUIRES_GRAD;
    t->name = e->name;
    t->op = BNN_OP_LEAF;
    e->param = t;
  }
  return e;
}

static void fill_uniform(bnn_rng *r, float *p, int64_t n, float bound) {
  for (int64_t i = 0; i < n; i++) p[i] = bnn_rng_uniform_range(r, -bound, bound);
}

static void fill_const(float *p, int64_t n, float v) {
  for (int64_t i = 0; i < n; i++) p[i] = v;
}

static void layer_create_params(bnn_net *net, net_layer *L, float **cursor) {
  const bnn_layer_desc *d = &L->d;
  if (d->kind == BNN_LAYER_LINEAR || d->kind == BNN_LAYER_BINLINEAR) {
    int64_t in = d->in_features, out = d->out_features;
    float bound = 1.0f / sqrtf((float)in); /* kaiming_uniform(a=sqrt(5)) and its bias rule */
    net_entry *w = add_entry(net, d->label, "weight", 2, (int64_t[]){out, in}, cursor, true);
    w->binary_weight = d->kind == BNN_LAYER_BINLINEAR;
    w->fan_in = in, w->fan_out = out;
    L->weight = w->param;
    fill_uniform(&net->rng, w->data, w->numel, bound);
    if (d->has_bias) {
      net_entry *b = add_entry(net, d->label, "bias", 1, (int64_t[]){out}, cursor, true);
      b->fan_in = in, b->fan_out = out;
      L->bias = b->param;
      fill_uniform(&net->rng, b->data, b->numel, bound);
    }
  } else if (d->kind == BNN_LAYER_CONV2D || d->kind == BNN_LAYER_BINCONV2D) {
    int64_t O = d->out_channels, C = L->in_shape[0], kh = d->kernel, kw = d->kernel_w;
    int64_t fan_in = C * kh * kw;
    float bound = 1.0f / sqrtf((float)fan_in); /* nn.Conv2d: kaiming_uniform(a=sqrt(5)), bias rule */
    net_entry *w = add_entry(net, d->label, "weight", 4, (int64_t[]){O, C, kh, kw}, cursor, true);
    w->binary_weight = d->kind == BNN_LAYER_BINCONV2D;
    w->fan_in = fan_in, w->fan_out = O * kh * kw; /* torch.nn.init's fans for a conv weight */
    L->weight = w->param;
    fill_uniform(&net->rng, w->data, w->numel, bound);
    if (d->has_bias) {
      net_entry *b = add_entry(net, d->label, "bias", 1, (int64_t[]){O}, cursor, true);
      b->fan_in = fan_in, b->fan_out = O * kh * kw;
      L->bias = b->param;
      fill_uniform(&net->rng, b->data, b->numel, bound);
    }
  } else if (d->kind == BNN_LAYER_BATCHNORM) {
    int64_t C = L->in_shape[0];
    net_entry *g = add_entry(net, d->label, "weight", 1, &C, cursor, true);
    net_entry *b = add_entry(net, d->label, "bias", 1, &C, cursor, true);
    net_entry *rm = add_entry(net, d->label, "running_mean", 1, &C, cursor, false);
    net_entry *rv = add_entry(net, d->label, "running_var", 1, &C, cursor, false);
    fill_const(g->data, C, 1.0f), fill_const(b->data, C, 0.0f);
    fill_const(rm->data, C, 0.0f), fill_const(rv->data, C, 1.0f);
    L->weight = g->param, L->bias = b->param;
    L->running_mean = rm->data, L->running_var = rv->data;
  }
}

static bnn_status check_input(const bnn_input_desc *in, bnn_error *err) {
  if (in->ndim != 1 && in->ndim != 3)
    return bnn_error_set(err, BNN_ERR_SHAPE, "input: rank %d, need 1 ([F]) or 3 ([C,H,W])", in->ndim);
  for (int d = 0; d < in->ndim; d++)
    if (in->shape[d] < 1)
      return bnn_error_set(err, BNN_ERR_SHAPE, "input: dimension %d is %lld", d, (long long)in->shape[d]);
  if (in->normalize) {
    int64_t C = in->ndim == 3 ? in->shape[0] : 1;
    if (in->n_norm != 1 && in->n_norm != C)
      return bnn_error_set(err, BNN_ERR_ARG, "input: %d normalize values for %lld channels", in->n_norm,
                           (long long)C);
    if (in->n_norm < 1 || in->n_norm > BNN_MAX_CHANNELS)
      return bnn_error_set(err, BNN_ERR_LIMIT, "input: %d normalize values (1..%d)", in->n_norm,
                           BNN_MAX_CHANNELS);
    for (int c = 0; c < in->n_norm; c++)
      if (!(in->std[c] != 0.0f))
        return bnn_error_set(err, BNN_ERR_ARG, "input: std[%d] is 0", c);
  }
  return BNN_OK;
}

bnn_status bnn_net_create(bnn_net **out, const bnn_net_desc *desc, uint64_t seed, bnn_error *err) {
  *out = NULL;
  if (!desc || desc->n_layers < 1 || !desc->layers)
    return bnn_error_set(err, BNN_ERR_ARG, "bnn_net_create: need at least one layer");
  bnn_status s = check_input(&desc->input, err);
  if (s) return s;
  bnn_net *net = calloc(1, sizeof *net);
  if (!net) return bnn_error_set(err, BNN_ERR_NOMEM, "bnn_net_create: out of memory");
  net->input = desc->input;
  net->loss = desc->loss;
  net->n_layers = desc->n_layers;
  net->layers = calloc((size_t)desc->n_layers, sizeof *net->layers);
  if (!net->layers) {
    bnn_net_free(net);
    return bnn_error_set(err, BNN_ERR_NOMEM, "bnn_net_create: out of memory");
  }
  size_t floats = 0;
  int n_entries = 0, n_params = 0, ndim = desc->input.ndim;
  int64_t shape[3] = {1, 1, 1};
  for (int d = 0; d < ndim; d++) shape[d] = desc->input.shape[d];
  net->input_size = numel3(ndim, shape);
  for (int i = 0; i < desc->n_layers; i++) {
    net_layer *L = &net->layers[i];
    L->d = desc->layers[i];
    L->d.label[BNN_LABEL_MAX - 1] = '\0';
    if (!L->d.label[0]) snprintf(L->d.label, sizeof L->d.label, "%d", i);
    L->in_ndim = ndim;
    memcpy(L->in_shape, shape, sizeof shape);
    if ((s = layer_plan(L, i, &floats, &n_entries, &n_params, err))) {
      bnn_net_free(net);
      return s;
    }
    ndim = L->out_ndim;
    memcpy(shape, L->out_shape, sizeof shape);
  }
  if (ndim != 1) {
    bnn_net_free(net);
    return bnn_error_set(err, BNN_ERR_SHAPE, "the last layer must produce [classes], not a %d-d map", ndim);
  }
  net->output_size = shape[0];
  net->entries = calloc((size_t)n_entries + 1, sizeof *net->entries);
  net->params = calloc((size_t)n_params + 1, sizeof *net->params);
  net->storage = malloc((floats + 1) * sizeof *net->storage);
  if (!net->entries || !net->params || !net->storage) {
    bnn_net_free(net);
    return bnn_error_set(err, BNN_ERR_NOMEM, "bnn_net_create: out of memory: cannot allocate %zu parameter floats (%zu MB)", floats,
                           (floats + 1) * sizeof *net->storage >> 20);
  }
  bnn_rng_seed(&net->rng, seed);
  float *cursor = net->storage;
  for (int i = 0; i < net->n_layers; i++) layer_create_params(net, &net->layers[i], &cursor);
  if ((s = bnn_ctx_init(&net->ctx, 0, 0, err))) {
    bnn_net_free(net);
    return s;
  }
  net->ctx.rng = &net->rng;
  *out = net;
  return BNN_OK;
}

void bnn_net_free(bnn_net *net) {
  if (!net) return;
  bnn_ctx_free(&net->ctx);
  free(net->storage);
  free(net->params);
  free(net->entries);
  free(net->layers);
  free(net);
}

int64_t bnn_net_input_size(const bnn_net *net) { return net->input_size; }
int64_t bnn_net_output_size(const bnn_net *net) { return net->output_size; }
bnn_rng *bnn_net_rng(bnn_net *net) { return &net->rng; }
bnn_ctx *bnn_net_ctx(bnn_net *net) { return &net->ctx; }

/* ---- named tensors ----------------------------------------------------------- */

static void entry_view(const net_entry *e, bnn_named_tensor *out) {
  out->name = e->name;
  out->ndim = e->ndim;
  memcpy(out->shape, e->shape, sizeof out->shape);
  out->data = e->data;
  out->numel = e->numel;
  out->trainable = e->trainable;
  out->param = e->param;
}

int bnn_net_num_tensors(const bnn_net *net) { return net->n_entries; }

bnn_status bnn_net_tensor(const bnn_net *net, int i, bnn_named_tensor *out, bnn_error *err) {
  if (i < 0 || i >= net->n_entries)
    return bnn_error_set(err, BNN_ERR_ARG, "tensor index %d outside 0..%d", i, net->n_entries - 1);
  entry_view(&net->entries[i], out);
  return BNN_OK;
}

bnn_status bnn_net_find_tensor(const bnn_net *net, const char *name, bnn_named_tensor *out,
                               bnn_error *err) {
  for (int i = 0; i < net->n_entries; i++)
    if (strcmp(net->entries[i].name, name) == 0) {
      entry_view(&net->entries[i], out);
      return BNN_OK;
    }
  return bnn_error_set(err, BNN_ERR_NOT_FOUND, "the model has no tensor named '%s'", name);
}

/* ---- forward ----------------------------------------------------------------- */

/* x [n, input_size] u8 or f32 -> [n, input_size] (or [n,C,H,W]) floats:
 * u8 / 255, then (x - mean[c]) / std[c], exactly torchvision's ToTensor +
 * Normalize in f32. */
static bnn_tensor *input_tensor(bnn_net *net, const void *x, int64_t n) {
  const bnn_input_desc *in = &net->input;
  int64_t shape[4] = {n, in->shape[0], in->shape[1], in->shape[2]};
  bnn_tensor *t = bnn_new_tensor(&net->ctx, in->ndim + 1, shape);
  if (!t) return NULL;
  int64_t F = net->input_size, plane = in->ndim == 3 ? in->shape[1] * in->shape[2] : F;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < F; j++) {
      float v = in->type == BNN_INPUT_U8 ? (float)((const uint8_t *)x)[i * F + j] / 255.0f
                                         : ((const float *)x)[i * F + j];
      if (in->normalize) {
        int c = in->n_norm == 1 ? 0 : (int)(j / plane);
        v = (v - in->mean[c]) / in->std[c];
      }
      t->data[i * F + j] = v;
    }
  return t;
}

static bnn_tensor *layer_forward(bnn_ctx *ctx, net_layer *L, bnn_tensor *x) {
  const bnn_layer_desc *d = &L->d;
  switch (d->kind) {
  case BNN_LAYER_LINEAR: return bnn_linear(ctx, x, L->weight, L->bias);
  case BNN_LAYER_BINLINEAR:
    return bnn_binlinear(ctx, x, L->weight, L->bias, !d->real_input, d->has_scale);
  case BNN_LAYER_BATCHNORM:
    return bnn_batchnorm(ctx, x, L->weight, L->bias, L->running_mean, L->running_var, d->eps,
                         d->momentum);
  case BNN_LAYER_DROPOUT: return bnn_dropout(ctx, x, d->p);
  case BNN_LAYER_SIGN: return bnn_sign(ctx, x);
  case BNN_LAYER_HTANH: return bnn_htanh(ctx, x);
  case BNN_LAYER_RELU: return bnn_relu(ctx, x);
  case BNN_LAYER_SIGMOID: return bnn_sigmoid(ctx, x);
  case BNN_LAYER_SOFTMAX: return bnn_softmax(ctx, x);
  case BNN_LAYER_FLATTEN:
    return bnn_reshape(ctx, x, 2, (int64_t[]){x ? x->shape[0] : 0, L->out_shape[0]});
  case BNN_LAYER_CONV2D:
    return bnn_conv2d(ctx, x, L->weight, L->bias, (int)d->stride, (int)d->pad);
  case BNN_LAYER_BINCONV2D:
    return bnn_binconv2d(ctx, x, L->weight, L->bias, (int)d->stride, (int)d->pad, !d->real_input,
                         d->has_scale);
  case BNN_LAYER_MAXPOOL:
    return bnn_maxpool2d(ctx, x, (int)d->kernel, (int)d->kernel_w, (int)d->stride);
  case BNN_LAYER_AVGPOOL:
    return bnn_avgpool2d(ctx, x, (int)d->kernel, (int)d->kernel_w, (int)d->stride);
  default:
    return op_fail(ctx, BNN_ERR_UNSUPPORTED, "layer kind %s is not implemented", bnn_layer_kind_name(d->kind));
  }
}

static bnn_tensor *net_forward(bnn_net *net, const void *x, int64_t n) {
  bnn_tensor *h = input_tensor(net, x, n);
  for (int i = 0; i < net->n_layers && h; i++) h = layer_forward(&net->ctx, &net->layers[i], h);
  return h;
}

int bnn_argmax(const float *v, int64_t k) {
  int best = 0;
  for (int64_t i = 1; i < k; i++)
    if (v[i] > v[best]) best = (int)i;
  return best;
}

static bnn_status ctx_error(bnn_net *net, bnn_error *err) {
  return bnn_error_set(err, net->ctx.err.status, "%s", net->ctx.err.msg);
}

bnn_status bnn_net_train_batch(bnn_net *net, bnn_optim *opt, const void *x, const uint8_t *labels,
                               int64_t n, float *loss_out, int64_t *n_correct, bnn_error *err) {
  if (!net || !opt || !x || !labels || n < 1)
    return bnn_error_set(err, BNN_ERR_ARG, "train_batch: NULL argument or empty batch (n = %lld)",
                         (long long)n);
  if (optim_net(opt) != net)
    return bnn_error_set(err, BNN_ERR_ARG, "train_batch: the optimizer was created for another net");
  bnn_status s = bnn_ctx_reset(&net->ctx, err);
  if (s) return s;
  net->ctx.training = true;
  for (int i = 0; i < net->n_params; i++) net->params[i].flags &= ~(uint32_t)BNN_TF_GRAD_VALID;
  bnn_tensor *logits = net_forward(net, x, n);
  bnn_tensor *loss = net->loss == BNN_LOSS_SQ_HINGE ? bnn_sq_hinge(&net->ctx, logits, labels)
                                                    : bnn_cross_entropy(&net->ctx, logits, labels);
  if (!loss) return ctx_error(net, err);
  if ((s = bnn_backward(&net->ctx, loss, err))) return s;
  if ((s = bnn_optim_step(opt, err))) return s;
  if (loss_out) *loss_out = loss->data[0];
  if (n_correct) {
    int64_t K = net->output_size, c = 0;
    for (int64_t i = 0; i < n; i++) c += bnn_argmax(logits->data + i * K, K) == labels[i];
    *n_correct = c;
  }
  return BNN_OK;
}

bnn_status bnn_net_forward_eval(bnn_net *net, const void *x, int64_t n, float *logits_out,
                                bnn_error *err) {
  if (!net || !x || !logits_out || n < 1)
    return bnn_error_set(err, BNN_ERR_ARG, "forward_eval: NULL argument or empty batch (n = %lld)",
                         (long long)n);
  size_t elem = net->input.type == BNN_INPUT_U8 ? 1 : sizeof(float);
  for (int64_t i0 = 0; i0 < n; i0 += EVAL_CHUNK) {
    int64_t m = n - i0 < EVAL_CHUNK ? n - i0 : EVAL_CHUNK;
    bnn_status s = bnn_ctx_reset(&net->ctx, err);
    if (s) return s;
    net->ctx.training = false;
    bnn_tensor *logits =
        net_forward(net, (const unsigned char *)x + (size_t)(i0 * net->input_size) * elem, m);
    if (!logits) return ctx_error(net, err);
    memcpy(logits_out + i0 * net->output_size, logits->data,
           (size_t)(m * net->output_size) * sizeof *logits_out);
  }
  return BNN_OK;
}
