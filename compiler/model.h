/* model.h - the checked description of a network, as the front end gives it.
 *
 * parse (grammar/) -> AST -> check (frontend/check.c) -> Model.
 * A Model has every layer's input and output shape resolved, every label
 * assigned (an unlabelled layer's label is its 0-based index in the layer
 * list, so keys match a PyTorch nn.Sequential state_dict), and the `train`
 * block with its defaults filled in. Everything after the front end (lowering
 * to IR, the --train/--eval glue) reads a Model and never the AST.
 *
 * Shapes exclude the batch dimension: a 784-vector is {rank 1, {784}}, an
 * image is {rank 3, {C, H, W}} (NCHW without N).
 */
#ifndef BNNC_MODEL_H
#define BNNC_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"

#define SHAPE_MAX_RANK 4

/* Limits checked by the front end before anything is allocated, so absurd
 * sizes are a clear error rather than an out-of-memory crash later. */
#define BNNC_MAX_DIM ((int64_t)1 << 20)        /* any one dimension, features or channels */
#define BNNC_MAX_NUMEL ((int64_t)1 << 31)      /* elements of any one tensor (weights or activation) */
#define BNNC_MAX_LAYERS 4096

typedef struct Shape {
  int rank;
  int64_t dims[SHAPE_MAX_RANK];
} Shape;

int64_t shape_numel(const Shape *s);
bool shape_equal(const Shape *a, const Shape *b);
/* "784", "1x28x28"; returns buf. */
char *shape_format(const Shape *s, char *buf, int size);

/* Every layer kind of the language, declared once.
 *   X(enum, keyword, has_params, trainable_only)
 * has_params: the layer owns named tensors (weight, bias, running stats).
 * train_only: the layer is the identity at inference (dropout). */
#define BNNC_LAYER_KINDS(X)                  \
  X(LAYER_BINLINEAR, "binlinear", 1, 0)      \
  X(LAYER_LINEAR, "linear", 1, 0)            \
  X(LAYER_BATCHNORM, "batchnorm", 1, 0)      \
  X(LAYER_SIGN, "sign", 0, 0)                \
  X(LAYER_HTANH, "htanh", 0, 0)              \
  X(LAYER_RELU, "relu", 0, 0)                \
  X(LAYER_SIGMOID, "sigmoid", 0, 0)          \
  X(LAYER_DROPOUT, "dropout", 0, 1)          \
  X(LAYER_SOFTMAX, "softmax", 0, 0)          \
  X(LAYER_BINCONV2D, "binconv2d", 1, 0)      \
  X(LAYER_CONV2D, "conv2d", 1, 0)            \
  X(LAYER_MAXPOOL, "maxpool", 0, 0)          \
  X(LAYER_AVGPOOL, "avgpool", 0, 0)          \
  X(LAYER_FLATTEN, "flatten", 0, 0)

typedef enum LayerKind {
#define X(e, kw, p, t) e,
  BNNC_LAYER_KINDS(X)
#undef X
  LAYER_KIND_COUNT
} LayerKind;

const char *layer_kind_name(LayerKind k);
bool layer_kind_has_params(LayerKind k);
bool layer_kind_is_train_only(LayerKind k);

typedef struct Layer {
  LayerKind kind;
  const char *label;     /* "0", "1", ... or the user's `name:` */
  SrcLoc loc;            /* the layer keyword */
  int index;             /* position in the layer list */
  Shape in_shape;        /* resolved by the checker */
  Shape out_shape;

  /* binlinear / linear: in_features -> out_features */
  int64_t in_features;
  int64_t out_features;
  /* binconv2d / conv2d / maxpool / avgpool */
  int64_t out_channels;  /* convs only */
  int kernel_h, kernel_w;
  int stride;            /* default: 1 for convs, kernel size for pools */
  int pad;               /* default 0 */

  bool real_input;       /* binlinear/binconv2d `real`: do not binarize the input */
  bool has_bias;         /* linear/conv2d: unless `nobias`; binlinear/binconv2d: `bias` */
  bool has_scale;        /* binlinear/binconv2d `scale`: XNOR-Net alpha = mean|W| per output */

  float eps;             /* batchnorm, default 1e-5 */
  float momentum;        /* batchnorm, default 0.1 */
  float p;               /* dropout probability in [0, 1) */
} Layer;

typedef enum InputType { INPUT_F32, INPUT_U8 } InputType;

typedef struct ModelInput {
  Shape shape;           /* {784} or {C, H, W} */
  InputType type;        /* u8: scaled by 1/255 before normalizing */
  bool normalize;
  int n_channels_norm;   /* 1 (scalar mean/std) or C (per channel) */
  const float *mean;     /* n_channels_norm values; NULL unless normalize */
  const float *std;
  SrcLoc loc;
} ModelInput;

typedef enum LossKind { LOSS_CROSS_ENTROPY, LOSS_SQ_HINGE } LossKind;
typedef enum OptimizerKind { OPT_ADAM, OPT_SGD } OptimizerKind;
typedef enum ScheduleKind { SCHED_NONE, SCHED_STEP, SCHED_EXP } ScheduleKind;

typedef struct TrainConfig {
  bool present;          /* a `train { }` block was written */
  SrcLoc loc;
  LossKind loss;         /* default cross_entropy */
  OptimizerKind optimizer;  /* default adam */
  float lr;              /* default 1e-3 */
  float beta1, beta2;    /* adam betas, default 0.9, 0.999 */
  float adam_eps;        /* 1e-8 */
  float sgd_momentum;    /* default 0 */
  float weight_decay;    /* default 0 */
  ScheduleKind schedule; /* default none */
  int step_every;        /* schedule step every=N (epochs) */
  float step_gamma;      /* schedule step gamma=G */
  float exp_to;          /* schedule exp to=X: lr decays geometrically to X at the last epoch */
  int batch;             /* default 100 */
  int epochs;            /* default 10 */
  bool clip_weights;     /* clip latent binary weights to [-1, 1] after each step */
  bool lr_scale_glorot;  /* per-layer lr scale 1/sqrt(1.5/(fan_in+fan_out)) for binary layers */
  uint64_t seed;         /* default 1 */
} TrainConfig;

typedef struct Model {
  const char *name;      /* C identifier; prefix of every exported symbol */
  const char *path;      /* the .bnn file */
  ModelInput input;
  Layer *layers;         /* n_layers, in order */
  int n_layers;
  Shape out_shape;       /* shape of the last layer's output */
  TrainConfig train;
} Model;

#endif
