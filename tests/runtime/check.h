/* check.h: tiny assertion helpers for the runtime tests. A failing CHECK
 * prints the expression and location and counts the failure; main returns
 * the count so ctest sees a non-zero exit. */
#ifndef BNN_TEST_CHECK_H
#define BNN_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

#include "bnn/bnn.h"

static int check_failures;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      check_failures++;                                                    \
    }                                                                      \
  } while (0)

/* Tests pass &err to runtime calls; CHECK_OK prints its message on failure. */
static bnn_error err;

#define CHECK_OK(call)                                                                  \
  do {                                                                                  \
    bnn_status check_s_ = (call);                                                       \
    if (check_s_ != BNN_OK) {                                                           \
      fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #call,         \
              bnn_status_str(check_s_), err.msg);                                       \
      check_failures++;                                                                 \
    }                                                                                   \
  } while (0)

/* |a - b| <= atol + rtol * max(|a|, |b|) */
#define CHECK_CLOSE(a, b, atol, rtol)                                                   \
  do {                                                                                  \
    double ca_ = (a), cb_ = (b);                                                        \
    if (!(fabs(ca_ - cb_) <= (atol) + (rtol) * fmax(fabs(ca_), fabs(cb_)))) {          \
      fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g differ\n", __FILE__, __LINE__, #a,   \
              ca_, #b, cb_);                                                            \
      check_failures++;                                                                 \
    }                                                                                   \
  } while (0)

#define CHECK_REPORT(name)                                                  \
  (check_failures ? (fprintf(stderr, "%s: %d failure(s)\n", name, check_failures), 1) \
                  : (printf("%s: all checks passed\n", name), 0))

#endif
