/* test_arena.c: the per-step arena grows, respects its limit with an error
 * (never a silent NULL), aligns, and merges its chunks on reset. */
#include <stdint.h>
#include <string.h>

#include "check.h"

int main(void) {
  bnn_arena a;
  CHECK_OK(bnn_arena_init(&a, 1000, 1 << 22, &err));
  void *p = NULL, *q = NULL;
  CHECK_OK(bnn_arena_alloc(&a, 10, &p, &err));
  CHECK(p && (uintptr_t)p % BNN_ARENA_ALIGN == 0);
  CHECK_OK(bnn_arena_alloc(&a, 5000, &q, &err)); /* grows */
  CHECK(q && (uintptr_t)q % BNN_ARENA_ALIGN == 0);
  CHECK(a.capacity > 1000);
  size_t hw = a.high_water;
  CHECK_OK(bnn_arena_reset(&a, &err)); /* merged into one chunk of the high-water size */
  CHECK(a.capacity >= hw && a.capacity < 2 * hw + 4096);
  CHECK_OK(bnn_arena_alloc(&a, 5000, &q, &err));
  /* the limit is an error with a message */
  bnn_status s = bnn_arena_alloc(&a, (size_t)1 << 23, &q, &err);
  CHECK(s == BNN_ERR_LIMIT && q == NULL);
  CHECK(strstr(err.msg, "arena full") != NULL);
  bnn_arena_free(&a);

  /* ops on a tiny limited arena fail with a message, not a crash */
  bnn_ctx ctx;
  CHECK_OK(bnn_ctx_init(&ctx, 4096, 8192, &err));
  bnn_tensor *t = bnn_new_tensor_2d(&ctx, 100, 100);
  CHECK(t == NULL && bnn_ctx_status(&ctx) == BNN_ERR_LIMIT);
  bnn_ctx_free(&ctx);
  return CHECK_REPORT("runtime_test_arena");
}
