/* bnn/tensor.h: f32 N-d tensors and the arena that holds per-step memory.
 *
 * A tensor is row-major ("C order") and, in this version, always contiguous:
 * shape[0] is the outermost (batch) dimension and
 *   strides[ndim-1] = 1,  strides[d] = strides[d+1] * shape[d+1]   (in elements).
 * Element (i0, i1, ..., ik) lives at data[i0*strides[0] + ... + ik*strides[k]].
 * Activations are [N, features] or [N, C, H, W] (NCHW, as PyTorch).
 *
 * Memory. Two lifetimes, never mixed:
 *  - persistent: parameters, their gradients, BatchNorm buffers and optimizer
 *    state, allocated once when a net / optimizer is created, freed with it;
 *  - per step: activations, saved backward data and the tape, bump-allocated in
 *    a bnn_arena and released all at once by bnn_arena_reset (one call per step).
 * A full arena either grows (new chunk, up to its limit) or fails with
 * BNN_ERR_LIMIT / BNN_ERR_NOMEM; it never returns a silent NULL. */
#ifndef BNN_TENSOR_H
#define BNN_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BNN_MAX_DIMS 4
#define BNN_MAX_SRC 3
#define BNN_ARENA_ALIGN 64

/* ---- arena ---------------------------------------------------------------- */

typedef struct bnn_arena_chunk bnn_arena_chunk;

typedef struct bnn_arena {
  bnn_arena_chunk *head;  /* chunk being filled; older chunks follow ->next */
  size_t used_total;      /* bytes handed out since the last reset */
  size_t high_water;      /* largest used_total ever seen */
  size_t capacity;        /* bytes in all chunks */
  size_t max_bytes;       /* growth limit; 0 = unlimited */
} bnn_arena;

/* An empty arena with a first chunk of `initial_bytes` (may be 0) and a growth
 * limit `max_bytes` (0 = no limit). */
bnn_status bnn_arena_init(bnn_arena *a, size_t initial_bytes, size_t max_bytes, bnn_error *err);
/* 64-byte aligned, uninitialized memory. Grows the arena if needed. */
bnn_status bnn_arena_alloc(bnn_arena *a, size_t bytes, void **out, bnn_error *err);
/* Release everything allocated since init/last reset. If the arena had to grow
 * during the step, its chunks are merged into one big enough for the high-water
 * mark, so a steady training loop allocates nothing after its first step. */
bnn_status bnn_arena_reset(bnn_arena *a, bnn_error *err);
void bnn_arena_free(bnn_arena *a);

/* ---- tensors -------------------------------------------------------------- */

typedef struct bnn_tensor bnn_tensor;

enum {
  BNN_TF_REQUIRES_GRAD = 1u << 0, /* backward computes a gradient for it */
  BNN_TF_PARAM = 1u << 1,         /* persistent trainable parameter */
  BNN_TF_GRAD_VALID = 1u << 2,    /* grad holds data written during this backward;
                                     when clear, grad is treated as all zeros */
};

struct bnn_tensor {
  int ndim;
  int64_t shape[BNN_MAX_DIMS];
  int64_t strides[BNN_MAX_DIMS]; /* elements, contiguous row-major (see above) */
  float *data;                   /* [numel] */
  float *grad;                   /* [numel] or NULL; mirrors data */
  uint32_t flags;                /* BNN_TF_* */
  const char *name;              /* for messages; may be NULL */

  /* Autograd record (see bnn/ops.h). op == BNN_OP_LEAF for leaves. */
  int op;                        /* bnn_op */
  bnn_tensor *src[BNN_MAX_SRC];
  int32_t iparam[4];
  float fparam[4];
  void *saved[4];                /* per-op saved data for backward (arena) */
};

int64_t bnn_tensor_numel(const bnn_tensor *t);
/* Fill shape and contiguous strides. ndim in 1..BNN_MAX_DIMS. */
bnn_status bnn_tensor_set_shape(bnn_tensor *t, int ndim, const int64_t *shape, bnn_error *err);
/* True when a and b have the same rank and extents. */
bool bnn_tensor_same_shape(const bnn_tensor *a, const bnn_tensor *b);
/* Writes "[100, 784]" into buf. */
const char *bnn_tensor_shape_str(const bnn_tensor *t, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* BNN_TENSOR_H */
