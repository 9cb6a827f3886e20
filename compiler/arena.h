/* arena.h - bump allocator whose lifetime is one compilation stage.
 *
 * The AST, the checked model and the IR of one compilation each live in an
 * Arena and are freed with one arena_free(). Memory comes from malloc in
 * growing blocks; a failed allocation is reported and exits (an arena never
 * returns NULL), since a compiler out of memory cannot do anything useful.
 */
#ifndef BNNC_ARENA_H
#define BNNC_ARENA_H

#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
  ArenaBlock *head;
  size_t bytes_used;   /* total bytes handed out, for --stats / debugging */
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);

/* Zeroed, aligned to 64 bytes when size >= 64 (packed weight buffers), else 16. */
void *arena_alloc(Arena *a, size_t size);
/* count * size with overflow checked. */
void *arena_array(Arena *a, size_t count, size_t size);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_array((a), (size_t)(n), sizeof(T)))

#endif
