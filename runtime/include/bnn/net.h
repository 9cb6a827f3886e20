/* bnn/net.h: a network built from layer descriptors, and its named tensors.
 *
 * The descriptors mirror the .bnn language one to one, so the compiler's
 * driver can translate a checked model into a bnn_net_desc field by field.
 * Call bnn_layer_desc_init first: it fills the PyTorch defaults.
 *
 * Tensor names follow a PyTorch nn.Sequential state_dict: LABEL.weight
 * ([out,in] for linear layers, [out,in,kh,kw] for convolutions), LABEL.bias, LABEL.running_mean, LABEL.running_var (BatchNorm gamma is
 * weight, beta is bias; the running statistics are buffers, not trained).
 *
 * Initialization (PyTorch defaults, from the net's seeded bnn_rng, layer by
 * layer, weight before bias): linear/binlinear/conv2d/binconv2d weight and
 * bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5);
 * fan_in = in_features, or C*kh*kw for a convolution);
 * BatchNorm gamma 1, beta 0, running mean 0, running var 1. */
#ifndef BNN_NET_H
#define BNN_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "bnn/ops.h"
#include "bnn/rng.h"
#include "bnn/status.h"
#include "bnn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BNN_LABEL_MAX 64
#define BNN_NAME_MAX 96
#define BNN_MAX_CHANNELS 16

typedef enum bnn_layer_kind {
  BNN_LAYER_LINEAR,    /* linear IN -> OUT [nobias] */
  BNN_LAYER_BINLINEAR, /* binlinear IN -> OUT [real] [bias] [scale] */
  BNN_LAYER_BATCHNORM, /* batchnorm [eps=E] [momentum=M] */
  BNN_LAYER_DROPOUT,   /* dropout P */
  BNN_LAYER_SIGN,      /* sign (STE) */
  BNN_LAYER_HTANH,
  BNN_LAYER_RELU,
  BNN_LAYER_SIGMOID,
  BNN_LAYER_SOFTMAX,
  BNN_LAYER_FLATTEN,
  BNN_LAYER_CONV2D,    /* conv2d OUT KxK [stride=S] [pad=P] [nobias] */
  BNN_LAYER_BINCONV2D, /* binconv2d OUT KxK [stride=S] [pad=P] [real] [scale] [bias] */
  BNN_LAYER_MAXPOOL,   /* maxpool KxK [stride=S] */
  BNN_LAYER_AVGPOOL,   /* avgpool KxK [stride=S] */
  BNN_LAYER_KIND_COUNT
} bnn_layer_kind;

const char *bnn_layer_kind_name(bnn_layer_kind k);

typedef struct bnn_layer_desc {
  bnn_layer_kind kind;
  char label[BNN_LABEL_MAX]; /* "0", "1", ... or the user's label */
  int64_t in_features;       /* linear, binlinear (checked against the previous layer) */
  int64_t out_features;
  bool real_input;           /* binlinear: do not binarize the input */
  bool has_bias;             /* linear default true, binlinear default false */
  bool has_scale;            /* binlinear: XNOR-Net alpha per output */
  float eps;                 /* batchnorm, default 1e-5 */
  float momentum;            /* batchnorm, default 0.1 */
  float p;                   /* dropout probability in [0, 1) */
  /* convolutions and pools; input channels come from the previous layer */
  int64_t out_channels;      /* conv2d, binconv2d */
  int64_t kernel;            /* kernel height (and width unless kernel_w is set) */
  int64_t kernel_w;          /* kernel width; 0 = square (kernel) */
  int64_t stride;            /* convs: default 1; pools: default 0 = kernel */
  int64_t pad;               /* convs: zero padding on each side; pools: must be 0 */
} bnn_layer_desc;

/* Zero the descriptor, set its kind and PyTorch defaults. */
void bnn_layer_desc_init(bnn_layer_desc *d, bnn_layer_kind kind);

typedef enum bnn_input_type { BNN_INPUT_U8, BNN_INPUT_F32 } bnn_input_type;

typedef struct bnn_input_desc {
  int ndim;                 /* 1 ([features]) or 3 ([C, H, W]) */
  int64_t shape[3];
  bnn_input_type type;      /* u8 values are scaled by 1/255 first */
  bool normalize;           /* then (x - mean[c]) / std[c] */
  int n_norm;               /* 1 (same for all channels) or C */
  float mean[BNN_MAX_CHANNELS];
  float std[BNN_MAX_CHANNELS];
} bnn_input_desc;

typedef enum bnn_loss_kind { BNN_LOSS_CROSS_ENTROPY, BNN_LOSS_SQ_HINGE } bnn_loss_kind;

typedef struct bnn_net_desc {
  bnn_input_desc input;
  const bnn_layer_desc *layers; /* [n_layers], copied by bnn_net_create */
  int n_layers;
  bnn_loss_kind loss;
} bnn_net_desc;

typedef struct bnn_net bnn_net;

bnn_status bnn_net_create(bnn_net **out, const bnn_net_desc *desc, uint64_t seed, bnn_error *err);
void bnn_net_free(bnn_net *net);

int64_t bnn_net_input_size(const bnn_net *net);  /* features per example */
int64_t bnn_net_output_size(const bnn_net *net); /* classes */
/* The net's PRNG (initialization, dropout; the driver may use it to shuffle). */
bnn_rng *bnn_net_rng(bnn_net *net);
/* The net's context (arena + tape), e.g. to switch ctx->use_xnor. */
bnn_ctx *bnn_net_ctx(bnn_net *net);

/* ---- named tensors (for safetensors save/load and checkpoints) ------------ */

typedef struct bnn_named_tensor {
  const char *name;          /* "0.weight", "1.running_var", "optim.0.weight.m" */
  int ndim;
  int64_t shape[BNN_MAX_DIMS];
  float *data;               /* [numel], owned by the net/optimizer; write to load */
  int64_t numel;
  bool trainable;            /* parameter (has a gradient) vs buffer/state */
  bnn_tensor *param;         /* trainable: the parameter tensor (grad, flags); else NULL */
} bnn_named_tensor;

/* Parameters and buffers in layer order (weight, bias, running_mean,
 * running_var within a layer). i in [0, bnn_net_num_tensors). */
int bnn_net_num_tensors(const bnn_net *net);
bnn_status bnn_net_tensor(const bnn_net *net, int i, bnn_named_tensor *out, bnn_error *err);
/* BNN_ERR_NOT_FOUND when no tensor has that name. */
bnn_status bnn_net_find_tensor(const bnn_net *net, const char *name, bnn_named_tensor *out,
                               bnn_error *err);

/* ---- running the net ------------------------------------------------------ */

struct bnn_optim;

/* x: [n, input_size] u8 or f32 per the input desc; labels [n]. One forward,
 * backward and optimizer step in training mode; the arena is reset first.
 * loss_out: the mean loss of the batch; n_correct: argmax(logits) == label. */
bnn_status bnn_net_train_batch(bnn_net *net, struct bnn_optim *opt, const void *x,
                               const uint8_t *labels, int64_t n, float *loss_out,
                               int64_t *n_correct, bnn_error *err);
/* Eval mode (running statistics, no dropout, nothing recorded), processed in
 * chunks; logits_out [n, output_size]. */
bnn_status bnn_net_forward_eval(bnn_net *net, const void *x, int64_t n, float *logits_out,
                                bnn_error *err);
/* Index of the largest of k values (first on ties). */
int bnn_argmax(const float *v, int64_t k);

#ifdef __cplusplus
}
#endif

#endif /* BNN_NET_H */
