/* io_test.h: helpers shared by the tests in tests/io (on top of test.h).
 *
 *   CHECK_OK(expr, err)                     expr returns BNN_OK (else prints err.msg)
 *   CHECK_ERROR(expr, err, status, phrase)  expr fails with `status` and a
 *                                           message containing `phrase`
 *   io_temp_dir() / io_remove_tree()        a fresh directory under $TMPDIR
 *   io_write_bytes() / io_read_bytes()      whole-file helpers for building inputs */
#ifndef BNNC_IO_TEST_H
#define BNNC_IO_TEST_H

#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "bnn/io.h"
#include "test.h"

#define CHECK_OK(expr, err)                                                              \
  do {                                                                                   \
    bnn_status s_ = (expr);                                                              \
    if (s_ == BNN_OK) {                                                                  \
      test_passed++;                                                                     \
    } else {                                                                             \
      test_failed++;                                                                     \
      fprintf(stderr, "%s:%d: expected BNN_OK from %s, got %s: %s\n", __FILE__, __LINE__, #expr, \
              bnn_status_str(s_), (err).msg);                                            \
    }                                                                                    \
  } while (0)

#define CHECK_ERROR(expr, err, want, phrase)                                             \
  do {                                                                                   \
    bnn_status s_ = (expr);                                                              \
    if (s_ == (want) && (err).status == (want) && strstr((err).msg, (phrase))) {          \
      test_passed++;                                                                     \
    } else {                                                                             \
      test_failed++;                                                                     \
      fprintf(stderr, "%s:%d: expected %s containing \"%s\" from %s, got %s: %s\n", __FILE__, __LINE__, \
              bnn_status_str(want), (phrase), #expr, bnn_status_str(s_), (err).msg);      \
    }                                                                                    \
  } while (0)

static inline char *io_temp_dir(void) {
  const char *base = getenv("TMPDIR");
  static char path[4096];
  snprintf(path, sizeof path, "%s/bnnc-io-test-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(path)) {
    perror("mkdtemp");
    exit(2);
  }
  return path;
}

static inline int io_remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  return remove(path);
}

static inline void io_remove_tree(const char *dir) { nftw(dir, io_remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* dir/name in a static rotating buffer (enough for a few at once). */
static inline const char *io_path(const char *dir, const char *name) {
  static char bufs[8][4096];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
  return b;
}

static inline void io_write_bytes(const char *path, const void *data, size_t n) {
  FILE *fp = fopen(path, "wb");
  if (!fp || fwrite(data, 1, n, fp) != n || fclose(fp) != 0) {
    perror(path);
    exit(2);
  }
}

/* malloc'ed contents of a file; *n receives its size. */
static inline uint8_t *io_read_bytes(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    perror(path);
    exit(2);
  }
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
  if (!buf || fread(buf, 1, (size_t)size, fp) != (size_t)size) {
    perror(path);
    exit(2);
  }
  fclose(fp);
  *n = (size_t)size;
  return buf;
}

static inline uint64_t io_rand(uint64_t *state) { /* xorshift64*, deterministic */
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

#endif
