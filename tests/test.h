/* test.h - the tiny assertion kit the C unit tests share.
 *   CHECK(cond)            records a failure with the expression text
 *   CHECK_EQ_INT(a, b)     prints both values on failure
 *   CHECK_STR(a, b)        string equality
 *   TEST_MAIN_END()        prints "N passed, N failed" and returns the status
 */
#ifndef BNNC_TEST_H
#define BNNC_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (cond) {                                                            \
      test_passed++;                                                       \
    } else {                                                               \
      test_failed++;                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                      \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                 \
  do {                                                                     \
    long long a_ = (long long)(a), b_ = (long long)(b);                    \
    if (a_ == b_) {                                                        \
      test_passed++;                                                       \
    } else {                                                               \
      test_failed++;                                                       \
      fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s == %s (%lld vs %lld)\n", __FILE__, \
              __LINE__, #a, #b, a_, b_);                                   \
    }                                                                      \
  } while (0)

#define CHECK_STR(a, b)                                                    \
  do {                                                                     \
    const char *a_ = (a), *b_ = (b);                                       \
    if (a_ && b_ && strcmp(a_, b_) == 0) {                                 \
      test_passed++;                                                       \
    } else {                                                               \
      test_failed++;                                                       \
      fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__, \
              __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");   \
    }                                                                      \
  } while (0)

#define TEST_MAIN_END()                                                    \
  do {                                                                     \
    printf("%d passed, %d failed\n", test_passed, test_failed);            \
    return test_failed ? 1 : 0;                                            \
  } while (0)

#endif
