/* arena.c - bump allocator; see arena.h. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

struct ArenaBlock {
  ArenaBlock *next;
  size_t size;
  size_t used;
  _Alignas(64) unsigned char data[];
};

enum { ARENA_BLOCK_MIN = 64 * 1024 };

void arena_init(Arena *a) {
  a->head = NULL;
  a->bytes_used = 0;
}

void arena_free(Arena *a) {
  ArenaBlock *b = a->head;
  while (b) {
    ArenaBlock *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->bytes_used = 0;
}

static size_t align_up(size_t n, size_t align) { return (n + align - 1) & ~(align - 1); }

void *arena_alloc(Arena *a, size_t size) {
  size_t align = size >= 64 ? 64 : 16;
  if (size == 0) size = 1;
  ArenaBlock *b = a->head;
  if (!b || align_up(b->used, align) + size > b->size) {
    size_t cap = size + 64 > ARENA_BLOCK_MIN ? size + 64 : ARENA_BLOCK_MIN;
    if (cap < size) {
      bnnc_error("out of memory: an allocation of %zu bytes overflows", size);
      exit(BNNC_EXIT_INTERNAL);
    }
    /* aligned_alloc wants size to be a multiple of the alignment. */
    size_t bytes = align_up(sizeof(ArenaBlock) + cap, 64);
    b = aligned_alloc(64, bytes);
    if (!b) {
      bnnc_error("out of memory (asked for %zu bytes)", bytes);
      exit(BNNC_EXIT_INTERNAL);
    }
    b->next = a->head;
    b->size = cap;
    b->used = 0;
    a->head = b;
  }
  size_t start = align_up(b->used, align);
  b->used = start + size;
  a->bytes_used += size;
  void *p = b->data + start;
  memset(p, 0, size);
  return p;
}

void *arena_array(Arena *a, size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) {
    bnnc_error("out of memory: %zu x %zu bytes overflows", count, size);
    exit(BNNC_EXIT_INTERNAL);
  }
  return arena_alloc(a, count * size);
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) BNNC_BUG("arena_printf: bad format '%s'", fmt);
  char *p = arena_alloc(a, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}
