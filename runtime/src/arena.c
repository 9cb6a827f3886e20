/* arena.c: the per-step bump allocator and tensor shape helpers.
 *
 * Chunks are malloc'd blocks chained newest first. Allocation bumps an offset
 * in the newest chunk; when it does not fit, a new chunk at least twice the
 * capacity so far is added (checked against max_bytes). Reset keeps the
 * memory: a single chunk is just rewound; several are replaced by one chunk
 * of the high-water size, so the steady state is one chunk and no mallocs. */
#include "bnn/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bnn_arena_chunk {
  bnn_arena_chunk *next;
  size_t size; /* usable bytes in mem */
  size_t used;
  unsigned char *mem; /* aligned start inside the malloc'd block */
  void *block;
};

static bnn_status chunk_new(bnn_arena *a, size_t size, bnn_error *err) {
  if (a->max_bytes && a->capacity + size > a->max_bytes) {
    if (a->capacity >= a->max_bytes)
      return bnn_error_set(err, BNN_ERR_LIMIT,
                           "arena full: %zu bytes in use, limit %zu bytes (raise the arena limit)",
                           a->used_total, a->max_bytes);
    size = a->max_bytes - a->capacity;
  }
  bnn_arena_chunk *c = malloc(sizeof *c);
  void *block = c ? malloc(size + BNN_ARENA_ALIGN) : NULL;
  if (!block) {
    free(c);
    return bnn_error_set(err, BNN_ERR_NOMEM, "arena: cannot allocate a chunk of %zu bytes", size);
  }
  uintptr_t p = ((uintptr_t)block + BNN_ARENA_ALIGN - 1) & ~(uintptr_t)(BNN_ARENA_ALIGN - 1);
  c->block = block;
  c->mem = (unsigned char *)p;
  c->size = size;
  c->used = 0;
  c->next = a->head;
  a->head = c;
  a->capacity += size;
  return BNN_OK;
}

bnn_status bnn_arena_init(bnn_arena *a, size_t initial_bytes, size_t max_bytes, bnn_error *err) {
  memset(a, 0, sizeof *a);
  a->max_bytes = max_bytes;
  if (initial_bytes) return chunk_new(a, initial_bytes, err);
  return BNN_OK;
}

bnn_status bnn_arena_alloc(bnn_arena *a, size_t bytes, void **out, bnn_error *err) {
  *out = NULL;
  size_t need = (bytes + BNN_ARENA_ALIGN - 1) & ~(size_t)(BNN_ARENA_ALIGN - 1);
  if (need == 0) need = BNN_ARENA_ALIGN;
  if (need < bytes)
    return bnn_error_set(err, BNN_ERR_LIMIT, "arena: request of %zu bytes overflows", bytes);
  bnn_arena_chunk *c = a->head;
  if (!c || c->size - c->used < need) {
    size_t grow = a->capacity > need ? a->capacity : need;
    if (grow < (1u << 20)) grow = 1u << 20;
    bnn_status s = chunk_new(a, grow, err);
    if (s) return s;
    c = a->head;
    if (c->size < need)
      return bnn_error_set(err, BNN_ERR_LIMIT,
                           "arena full: %zu more bytes needed, limit %zu bytes (raise the arena limit)",
                           need, a->max_bytes);
  }
  *out = c->mem + c->used;
  c->used += need;
  a->used_total += need;
  if (a->used_total > a->high_water) a->high_water = a->used_total;
  return BNN_OK;
}

static void chunks_free(bnn_arena_chunk *c) {
  while (c) {
    bnn_arena_chunk *next = c->next;
    free(c->block);
    free(c);
    c = next;
  }
}

bnn_status bnn_arena_reset(bnn_arena *a, bnn_error *err) {
  a->used_total = 0;
  if (a->head && a->head->next) {
    /* Merge: one chunk big enough for the whole last step. */
    chunks_free(a->head);
    a->head = NULL;
    a->capacity = 0;
    size_t size = a->high_water;
    if (a->max_bytes && size > a->max_bytes) size = a->max_bytes;
    return chunk_new(a, size, err);
  }
  if (a->head) a->head->used = 0;
  return BNN_OK;
}

void bnn_arena_free(bnn_arena *a) {
  chunks_free(a->head);
  memset(a, 0, sizeof *a);
}

int64_t bnn_tensor_numel(const bnn_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

bnn_status bnn_tensor_set_shape(bnn_tensor *t, int ndim, const int64_t *shape, bnn_error *err) {
  if (ndim < 1 || ndim > BNN_MAX_DIMS)
    return bnn_error_set(err, BNN_ERR_LIMIT, "tensor rank %d outside 1..%d", ndim, BNN_MAX_DIMS);
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 1)
      return bnn_error_set(err, BNN_ERR_SHAPE, "tensor dimension %d has extent %lld (must be >= 1)",
                           d, (long long)shape[d]);
  t->ndim = ndim;
  int64_t stride = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    t->shape[d] = shape[d];
    t->strides[d] = stride;
    stride *= shape[d];
  }
  for (int d = ndim; d < BNN_MAX_DIMS; d++) t->shape[d] = 1, t->strides[d] = 1;
  return BNN_OK;
}

bool bnn_tensor_same_shape(const bnn_tensor *a, const bnn_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return false;
  return true;
}

const char *bnn_tensor_shape_str(const bnn_tensor *t, char *buf, size_t size) {
  size_t off = 0;
  if (size == 0) return buf;
  buf[0] = '\0';
  off += (size_t)snprintf(buf + off, size - off, "[");
  for (int d = 0; d < t->ndim && off < size; d++)
    off += (size_t)snprintf(buf + off, size - off, d ? ", %lld" : "%lld", (long long)t->shape[d]);
  if (off < size) snprintf(buf + off, size - off, "]");
  return buf;
}
