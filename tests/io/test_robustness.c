/* test_robustness.c: corrupted inputs never crash the readers.
 * Deterministic byte flips and truncations of a valid safetensors file, a
 * valid gzip IDX file and a valid plain IDX file. Each mutant must either be
 * rejected with a message or read as a consistent file (under ASan/UBSan, so
 * any out-of-bounds access fails the test). A stand-in until the libFuzzer
 * targets of the hardening issue exist. */
#define _XOPEN_SOURCE 700

#include "io_test.h"

#ifndef FLIP_CASES
#define FLIP_CASES 2500 /* build with -DFLIP_CASES=N for a longer run */
#endif

static uint8_t *valid_safetensors(const char *dir, size_t *n) {
  bnn_error err = {0};
  bnn_st_writer *w;
  static float a[12], b[3], c;
  for (int i = 0; i < 12; i++) a[i] = (float)i * 0.5f;
  int64_t sa[2] = {4, 3}, sb[1] = {3};
  if (bnn_st_writer_new(&w, &err) || bnn_st_writer_add(w, "0.weight", 2, sa, a, &err) ||
      bnn_st_writer_add(w, "0.bias", 1, sb, b, &err) || bnn_st_writer_add(w, "1.scale", 0, NULL, &c, &err) ||
      bnn_st_writer_set_metadata(w, "format", "pt", &err) ||
      bnn_st_writer_write(w, io_path(dir, "valid.safetensors"), &err)) {
    fprintf(stderr, "writing the valid file failed: %s\n", err.msg);
    exit(2);
  }
  bnn_st_writer_free(w);
  return io_read_bytes(io_path(dir, "valid.safetensors"), n);
}

static uint8_t *valid_idx(const char *dir, bool gz, size_t *n) {
  bnn_error err = {0};
  uint8_t data[2 * 7 * 5];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 13);
  uint32_t dims[3] = {2, 7, 5};
  const char *path = io_path(dir, gz ? "valid.idx.gz" : "valid.idx");
  if (bnn_idx_write(path, 3, dims, data, gz, &err)) {
    fprintf(stderr, "writing the valid IDX failed: %s\n", err.msg);
    exit(2);
  }
  return io_read_bytes(path, n);
}

/* A mutant of src: 1-4 random bytes set to random values (biased towards
 * the interesting ones), then maybe truncated. */
static size_t mutate(const uint8_t *src, size_t n, uint8_t *dst, uint64_t *rng) {
  static const uint8_t special[] = {0x00, 0xff, 0x7f, 0x80, '"', '[', ']', '{', '}', ',', ':', '\\', '9', '-'};
  memcpy(dst, src, n);
  int flips = 1 + (int)(io_rand(rng) % 4);
  for (int k = 0; k < flips; k++) {
    size_t pos = (size_t)(io_rand(rng) % n);
    uint64_t r = io_rand(rng);
    dst[pos] = r % 2 ? special[(r >> 8) % sizeof special] : (uint8_t)(r >> 16);
  }
  return io_rand(rng) % 4 == 0 ? (size_t)(io_rand(rng) % n) : n;
}

/* Read whatever survived, touching every byte the reader hands out. */
static int use_safetensors(const bnn_st_file *f) {
  int acc = 0;
  for (size_t i = 0; i < bnn_st_count(f); i++) {
    const bnn_st_tensor *t = bnn_st_at(f, i);
    acc += (int)strlen(t->name);
    for (int64_t j = 0; t->data && j < t->numel; j++) acc += t->data[j] != 0;
    if (bnn_st_find(f, t->name) != t) acc = -1000000;
  }
  for (size_t i = 0; i < bnn_st_metadata_count(f); i++) {
    const char *k, *v;
    bnn_st_metadata_at(f, i, &k, &v);
    acc += (int)(strlen(k) + strlen(v));
  }
  return acc;
}

static void fuzz_safetensors(const uint8_t *valid, size_t n) {
  uint8_t *buf = malloc(n);
  uint64_t rng = 0x5eed5afe;
  int accepted = 0, rejected = 0, bad = 0;
  bnn_error err;
  for (int i = 0; i < FLIP_CASES + (int)n; i++) {
    /* first every truncation, then random flips */
    size_t len = i < (int)n ? (size_t)i : mutate(valid, n, buf, &rng);
    if (i < (int)n) memcpy(buf, valid, n);
    bnn_st_file *f = NULL;
    err.msg[0] = '\0';
    bnn_status s = bnn_st_read_memory(buf, len, "mutant", &f, &err);
    if (s == BNN_OK) {
      accepted++;
      bad += use_safetensors(f) < 0;
      bnn_st_close(f);
    } else {
      rejected++;
      bad += f != NULL || strncmp(err.msg, "mutant: ", 8) != 0;
    }
  }
  printf("safetensors: %d mutants accepted, %d rejected\n", accepted, rejected);
  CHECK_EQ_INT(bad, 0);
  CHECK(rejected > accepted); /* most damage is noticed */
  free(buf);
}

static void fuzz_idx(const uint8_t *valid, size_t n, const char *what) {
  uint8_t *buf = malloc(n);
  uint64_t rng = 0x1d5eed ^ n;
  int accepted = 0, rejected = 0, bad = 0;
  bnn_error err;
  for (int i = 0; i < FLIP_CASES + (int)n; i++) {
    size_t len = i < (int)n ? (size_t)i : mutate(valid, n, buf, &rng);
    if (i < (int)n) memcpy(buf, valid, n);
    bnn_idx x;
    err.msg[0] = '\0';
    bnn_status s = bnn_idx_read_memory(buf, len, "mutant", &x, &err);
    if (s == BNN_OK) {
      accepted++;
      size_t count = 1;
      for (int d = 0; d < x.ndim; d++) count *= x.dims[d];
      size_t sum = 0; /* touch every byte */
      for (size_t j = 0; j < x.count; j++) sum += x.data[j];
      bad += count != x.count || sum > 255 * x.count;
      bnn_idx_free(&x);
    } else {
      rejected++;
      bad += x.data != NULL || strncmp(err.msg, "mutant: ", 8) != 0;
    }
  }
  printf("%s: %d mutants accepted, %d rejected\n", what, accepted, rejected);
  CHECK_EQ_INT(bad, 0);
  free(buf);
}

int main(void) {
  const char *dir = io_temp_dir();
  size_t n;
  uint8_t *st = valid_safetensors(dir, &n);
  fuzz_safetensors(st, n);
  free(st);
  uint8_t *gz = valid_idx(dir, true, &n);
  fuzz_idx(gz, n, "gzip IDX");
  free(gz);
  uint8_t *plain = valid_idx(dir, false, &n);
  fuzz_idx(plain, n, "plain IDX");
  free(plain);
  io_remove_tree(dir);
  TEST_MAIN_END();
}
