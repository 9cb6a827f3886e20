/* status.c: names of status codes and the error-message helper. */
#include "bnn/status.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

static const char *const status_names[] = {
  [BNN_OK] = "ok",
  [BNN_ERR_NOMEM] = "out of memory",
  [BNN_ERR_IO] = "I/O error",
  [BNN_ERR_FORMAT] = "malformed data",
  [BNN_ERR_SHAPE] = "shape mismatch",
  [BNN_ERR_ARG] = "invalid argument",
  [BNN_ERR_LIMIT] = "limit reached",
  [BNN_ERR_STATE] = "invalid state",
  [BNN_ERR_UNSUPPORTED] = "unsupported",
  [BNN_ERR_NOT_FOUND] = "not found",
  [BNN_ERR_INTERNAL] = "internal error",
};
static_assert(sizeof status_names / sizeof status_names[0] == BNN_STATUS_COUNT,
              "status_names must name every bnn_status");

const char *bnn_status_str(bnn_status s) {
  if ((unsigned)s >= BNN_STATUS_COUNT) return "unknown status";
  return status_names[s];
}

bnn_status bnn_error_set(bnn_error *e, bnn_status s, const char *fmt, ...) {
  if (e) {
    e->status = s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
  }
  return s;
}

void bnn_error_clear(bnn_error *e) {
  if (e) {
    e->status = BNN_OK;
    e->msg[0] = '\0';
  }
}
