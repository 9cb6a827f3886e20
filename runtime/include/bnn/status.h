/* bnn/status.h: status codes and error messages of the bnn runtime.
 *
 * Every runtime call that can fail returns a bnn_status. Calls that take a
 * `bnn_error *err` also fill it with a human-readable message saying exactly
 * what went wrong (err may be NULL when the caller only wants the code).
 * The runtime never prints and never exits. */
#ifndef BNN_STATUS_H
#define BNN_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bnn_status {
  BNN_OK = 0,
  BNN_ERR_NOMEM,       /* an allocation failed */
  BNN_ERR_IO,          /* a read, write, open, fsync or rename failed */
  BNN_ERR_FORMAT,      /* a file or buffer is malformed (bad magic, truncated, bad JSON...) */
  BNN_ERR_SHAPE,       /* tensor shapes do not fit together */
  BNN_ERR_ARG,         /* an argument is out of range or NULL where it may not be */
  BNN_ERR_LIMIT,       /* a configured limit (arena size, tensor rank...) was reached */
  BNN_ERR_STATE,       /* the call is not valid in the object's current state */
  BNN_ERR_UNSUPPORTED, /* valid request the runtime does not implement (yet) */
  BNN_ERR_NOT_FOUND,   /* a named tensor or key does not exist */
  BNN_ERR_INTERNAL,    /* an invariant of the runtime broke: a bug, please report */
  BNN_STATUS_COUNT
} bnn_status;

/* A short constant name for a status ("out of memory", "shape mismatch"...). */
const char *bnn_status_str(bnn_status s);

/* The status of a failed call plus a message naming the culprit. */
typedef struct bnn_error {
  bnn_status status;
  char msg[512];
} bnn_error;

#if defined(__GNUC__) || defined(__clang__)
#define BNN_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define BNN_PRINTF(fmt_idx, arg_idx)
#endif

/* Record status `s` and a printf-style message in `e` (if e is not NULL) and
 * return `s`, so a failing function can `return bnn_error_set(err, ...);`. */
bnn_status bnn_error_set(bnn_error *e, bnn_status s, const char *fmt, ...) BNN_PRINTF(3, 4);

/* Reset `e` to BNN_OK with an empty message. e may be NULL. */
void bnn_error_clear(bnn_error *e);

#ifdef __cplusplus
}
#endif

#endif /* BNN_STATUS_H */
