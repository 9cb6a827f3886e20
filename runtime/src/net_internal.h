/* net_internal.h: the layout of bnn_net shared by net.c and optim.c. */
#ifndef BNN_NET_INTERNAL_H
#define BNN_NET_INTERNAL_H

#include "bnn/net.h"
#include "bnn/optim.h"

typedef struct net_layer {
  bnn_layer_desc d;
  int in_ndim, out_ndim;        /* per-example shapes: [F] or [C,H,W] */
  int64_t in_shape[3], out_shape[3];
  bnn_tensor *weight, *bias;    /* persistent parameters or NULL */
  float *running_mean, *running_var; /* batchnorm buffers [C] */
} net_layer;

/* One named tensor of the net (parameter or buffer). */
typedef struct net_entry {
  char name[BNN_NAME_MAX];
  bnn_tensor *param;            /* trainable: its tensor (data + grad); NULL for buffers */
  float *data;
  int ndim;
  int64_t shape[BNN_MAX_DIMS];
  int64_t numel;
  bool trainable;
  bool binary_weight;           /* binlinear/binconv2d weight: clip_weights and lr_scale apply */
  int64_t fan_in, fan_out;
} net_entry;

struct bnn_net {
  bnn_input_desc input;
  int64_t input_size, output_size;
  net_layer *layers;            /* [n_layers] */
  int n_layers;
  bnn_loss_kind loss;
  net_entry *entries;           /* [n_entries], in state_dict order */
  int n_entries;
  bnn_tensor *params;           /* [n_params] parameter tensor structs */
  int n_params;
  float *storage;               /* data, grads and buffers of every entry */
  bnn_rng rng;
  bnn_ctx ctx;
};

/* The net an optimizer was created for (optim.c). */
bnn_net *optim_net(const bnn_optim *opt);

#endif /* BNN_NET_INTERNAL_H */
