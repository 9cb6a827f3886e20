/* test_idx.c: IDX files (plain and gzip) and the four-file data set.
 * Round trips first, then one case per way a file can be wrong, each checked
 * for its status and the phrase the user will read. */
#define _XOPEN_SOURCE 700
#include <sys/stat.h>
#include <zlib.h>

#include "io_test.h"

static const char *dir;

/* A small [5, 4, 3] image file: header + 60 bytes. */
static const uint32_t dims3[3] = {5, 4, 3};
static uint8_t pixels[60];

static size_t make_idx(uint8_t *buf, uint8_t type, uint8_t ndim, const uint32_t *dims, const uint8_t *data,
                       size_t n) {
  size_t k = 0;
  buf[k++] = 0;
  buf[k++] = 0;
  buf[k++] = type;
  buf[k++] = ndim;
  for (int i = 0; i < ndim; i++) {
    buf[k++] = (uint8_t)(dims[i] >> 24);
    buf[k++] = (uint8_t)(dims[i] >> 16);
    buf[k++] = (uint8_t)(dims[i] >> 8);
    buf[k++] = (uint8_t)dims[i];
  }
  memcpy(buf + k, data, n);
  return k + n;
}

/* gzip-compress src into dst (as a complete gzip member); returns the size. */
static size_t gzip_bytes(const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
  z_stream z = {0};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  z.next_in = (Bytef *)(uintptr_t)src;
  z.avail_in = (uInt)n;
  z.next_out = dst;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  size_t out = cap - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    fprintf(stderr, "gzip_bytes: deflate failed\n");
    exit(2);
  }
  return out;
}

static bool idx_equal(const bnn_idx *x, int ndim, const uint32_t *dims, const uint8_t *data) {
  size_t count = 1;
  if (x->ndim != ndim) return false;
  for (int i = 0; i < ndim; i++) {
    if (x->dims[i] != dims[i]) return false;
    count *= dims[i];
  }
  return x->count == count && memcmp(x->data, data, count) == 0;
}

static void test_round_trip(void) {
  bnn_error err = {0};
  bnn_idx x;
  for (int gz = 0; gz < 2; gz++) {
    const char *path = io_path(dir, gz ? "rt.gz" : "rt");
    CHECK_OK(bnn_idx_write(path, 3, dims3, pixels, gz, &err), err);
    CHECK_OK(bnn_idx_read(path, &x, &err), err);
    CHECK(idx_equal(&x, 3, dims3, pixels));
    bnn_idx_free(&x);
    CHECK(x.data == NULL);
  }
  /* gzip is recognised by its magic, not by the name */
  size_t n;
  uint8_t *gz = io_read_bytes(io_path(dir, "rt.gz"), &n);
  io_write_bytes(io_path(dir, "gzip-without-suffix"), gz, n);
  CHECK_OK(bnn_idx_read(io_path(dir, "gzip-without-suffix"), &x, &err), err);
  CHECK(idx_equal(&x, 3, dims3, pixels));
  bnn_idx_free(&x);
  CHECK_OK(bnn_idx_read_memory(gz, n, "mem", &x, &err), err);
  CHECK(idx_equal(&x, 3, dims3, pixels));
  bnn_idx_free(&x);
  free(gz);
  uint8_t *plain = io_read_bytes(io_path(dir, "rt"), &n);
  io_write_bytes(io_path(dir, "plain.gz"), plain, n);
  CHECK_OK(bnn_idx_read(io_path(dir, "plain.gz"), &x, &err), err);
  CHECK(idx_equal(&x, 3, dims3, pixels));
  bnn_idx_free(&x);
  CHECK_EQ_INT(n, 16 + 60);
  free(plain);

  /* 1-d labels; an empty [0] file is a valid file */
  const uint32_t d1 = 7, d0 = 0;
  CHECK_OK(bnn_idx_write(io_path(dir, "labels"), 1, &d1, pixels, false, &err), err);
  CHECK_OK(bnn_idx_read(io_path(dir, "labels"), &x, &err), err);
  CHECK(idx_equal(&x, 1, &d1, pixels));
  bnn_idx_free(&x);
  CHECK_OK(bnn_idx_write(io_path(dir, "empty.gz"), 1, &d0, pixels, true, &err), err);
  CHECK_OK(bnn_idx_read(io_path(dir, "empty.gz"), &x, &err), err);
  CHECK_EQ_INT(x.count, 0);
  bnn_idx_free(&x);

  /* concatenated gzip members (as `cat a.gz b.gz`) are one stream */
  uint8_t whole[100], two[400];
  size_t len = make_idx(whole, 0x08, 3, dims3, pixels, 60);
  size_t a = gzip_bytes(whole, 10, two, sizeof two);
  size_t b = gzip_bytes(whole + 10, len - 10, two + a, sizeof two - a);
  CHECK_OK(bnn_idx_read_memory(two, a + b, "two-members", &x, &err), err);
  CHECK(idx_equal(&x, 3, dims3, pixels));
  bnn_idx_free(&x);
}

static void test_bad_headers(void) {
  bnn_error err = {0};
  bnn_idx x;
  uint8_t buf[200];
  size_t n = make_idx(buf, 0x08, 3, dims3, pixels, 60);
  buf[0] = 1;
  CHECK_ERROR(bnn_idx_read_memory(buf, n, "f", &x, &err), err, BNN_ERR_FORMAT, "f: not an IDX file: bad magic 01 00 08 03");
  CHECK(x.data == NULL);
  buf[0] = 0;
  buf[2] = 0x0D;
  CHECK_ERROR(bnn_idx_read_memory(buf, n, "f", &x, &err), err, BNN_ERR_UNSUPPORTED,
              "element type 0x0d (32-bit float) is not supported");
  buf[2] = 0x07;
  CHECK_ERROR(bnn_idx_read_memory(buf, n, "f", &x, &err), err, BNN_ERR_FORMAT, "unknown element type 0x07");
  buf[2] = 0x08;
  buf[3] = 0;
  CHECK_ERROR(bnn_idx_read_memory(buf, n, "f", &x, &err), err, BNN_ERR_FORMAT, "0 dimensions");
  buf[3] = 9;
  CHECK_ERROR(bnn_idx_read_memory(buf, n, "f", &x, &err), err, BNN_ERR_LIMIT, "9 dimensions, more than the limit of 8");
  buf[3] = 3;
  /* dims that disagree with the data: 5x4x4 needs 80 bytes, 5x4x2 only 40 */
  uint32_t more[3] = {5, 4, 4}, less[3] = {5, 4, 2};
  n = make_idx(buf, 0x08, 3, more, pixels, 60);
  CHECK_ERROR(bnn_idx_read_memory(buf, n, "f", &x, &err), err, BNN_ERR_FORMAT,
              "truncated: the header promises 80 data bytes after its 16 bytes, found 60");
  n = make_idx(buf, 0x08, 3, less, pixels, 60);
  CHECK_ERROR(bnn_idx_read_memory(buf, n, "f", &x, &err), err, BNN_ERR_FORMAT,
              "trailing garbage: 20 extra bytes after the 56 bytes");
  /* absurd sizes are refused by the limit before any allocation */
  uint32_t huge[3] = {60000, 60000, 60000}, big[2] = {65536, 32768};
  n = make_idx(buf, 0x08, 3, huge, pixels, 0);
  CHECK_ERROR(bnn_idx_read_memory(buf, n, "f", &x, &err), err, BNN_ERR_LIMIT,
              "60000 x 60000 x 60000 exceed the limit of 2147483648 elements");
  n = make_idx(buf, 0x08, 2, big, pixels, 10); /* exactly the limit, but the file is tiny */
  CHECK_ERROR(bnn_idx_read_memory(buf, n, "f", &x, &err), err, BNN_ERR_FORMAT,
              "promises 2147483648 data bytes after its 12 bytes, found 10");
  uint8_t gz[200];
  size_t gn = gzip_bytes(buf, n, gz, sizeof gz); /* same, gzip: must not allocate 2 GiB */
  CHECK_ERROR(bnn_idx_read_memory(gz, gn, "f.gz", &x, &err), err, BNN_ERR_FORMAT,
              "promises 2147483648 data bytes after its 12 bytes, found 10");
}

static void test_truncation_and_garbage(void) {
  bnn_error err = {0};
  bnn_idx x;
  uint8_t plain[100], gz[200], extra[200];
  size_t n = make_idx(plain, 0x08, 3, dims3, pixels, 60);
  size_t gn = gzip_bytes(plain, n, gz, sizeof gz);
  int plain_ok = 0, gz_ok = 0;
  for (size_t len = 0; len < n; len++) {
    bnn_status s = bnn_idx_read_memory(plain, len, "cut", &x, &err);
    plain_ok += s == BNN_ERR_FORMAT && strstr(err.msg, "cut: truncated") != NULL;
  }
  CHECK_EQ_INT(plain_ok, n);
  for (size_t len = 0; len < gn; len++) {
    bnn_status s = bnn_idx_read_memory(gz, len, "cut.gz", &x, &err);
    /* a cut inside the first bytes is "not IDX" (no gzip magic any more) */
    bool ok = s == BNN_ERR_FORMAT && (strstr(err.msg, "truncated") || (len < 2 && strstr(err.msg, "bad magic")));
    if (!ok) fprintf(stderr, "gzip cut at %zu: %s\n", len, err.msg);
    gz_ok += ok;
  }
  CHECK_EQ_INT(gz_ok, gn);
  CHECK_ERROR(bnn_idx_read_memory(plain, 3, "cut", &x, &err), err, BNN_ERR_FORMAT, "3 bytes, too short for an IDX header");
  CHECK_ERROR(bnn_idx_read_memory(plain, 10, "cut", &x, &err), err, BNN_ERR_FORMAT,
              "expected 3 dimension sizes (12 bytes), found 6 bytes");
  CHECK_ERROR(bnn_idx_read_memory(gz, gn - 4, "cut.gz", &x, &err), err, BNN_ERR_FORMAT,
              "gzip stream ends without its trailer");

  /* plain: extra bytes after the data */
  memcpy(extra, plain, n);
  memcpy(extra + n, "abc", 3);
  CHECK_ERROR(bnn_idx_read_memory(extra, n + 3, "x", &x, &err), err, BNN_ERR_FORMAT,
              "trailing garbage: 3 extra bytes after the 76 bytes the header promises");
  /* gzip: decompressed data longer than promised */
  size_t en = gzip_bytes(extra, n + 3, gz, sizeof gz);
  CHECK_ERROR(bnn_idx_read_memory(gz, en, "x.gz", &x, &err), err, BNN_ERR_FORMAT,
              "decompressed data is longer than the 76 bytes");
  /* gzip: junk after the compressed stream */
  gn = gzip_bytes(plain, n, gz, sizeof gz);
  memcpy(gz + gn, "junk", 4);
  CHECK_ERROR(bnn_idx_read_memory(gz, gn + 4, "x.gz", &x, &err), err, BNN_ERR_FORMAT,
              "4 bytes of trailing garbage after the gzip stream");
  /* gzip: corrupt CRC */
  gn = gzip_bytes(plain, n, gz, sizeof gz);
  gz[gn - 6] ^= 0xff;
  CHECK_ERROR(bnn_idx_read_memory(gz, gn, "x.gz", &x, &err), err, BNN_ERR_FORMAT, "corrupt gzip data");
}

static void test_files(void) {
  bnn_error err = {0};
  bnn_idx x;
  CHECK_ERROR(bnn_idx_read(io_path(dir, "nope"), &x, &err), err, BNN_ERR_NOT_FOUND, "No such file");
  CHECK_ERROR(bnn_idx_read(dir, &x, &err), err, BNN_ERR_ARG, "is not a regular file");
  uint32_t bad = 0;
  CHECK_ERROR(bnn_idx_write(io_path(dir, "w"), 0, &bad, pixels, false, &err), err, BNN_ERR_ARG, "1 to 8 dimensions");
  CHECK_ERROR(bnn_idx_write(io_path(dir, "no-such-dir/w"), 3, dims3, pixels, false, &err), err, BNN_ERR_IO,
              "cannot create a temporary file");
}

/* ---- data sets ------------------------------------------------------------- */

static void write_set(const char *d, const char *name, bool gz, int ndim, const uint32_t *dims, const uint8_t *data) {
  char file[256];
  snprintf(file, sizeof file, "%s%s", name, gz ? ".gz" : "");
  bnn_error err = {0};
  if (bnn_idx_write(io_path(d, file), ndim, dims, data, gz, &err) != BNN_OK) {
    fprintf(stderr, "write_set: %s\n", err.msg);
    exit(2);
  }
}

static void test_dataset(void) {
  bnn_error err = {0};
  bnn_dataset ds;
  char d[4096];
  snprintf(d, sizeof d, "%s/set", dir);
  mkdir(d, 0777);
  uint8_t labels[5] = {0, 9, 3, 3, 1}, bad_labels[5] = {0, 1, 12, 3, 11};
  uint32_t train_dims[3] = {5, 4, 3}, test_dims[3] = {4, 4, 3}, n5 = 5, n4 = 4;
  CHECK_ERROR(bnn_dataset_load(d, 0, &ds, &err), err, BNN_ERR_NOT_FOUND,
              "lacks train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], "
              "t10k-labels-idx1-ubyte[.gz]");
  write_set(d, "train-images-idx3-ubyte", true, 3, train_dims, pixels);
  write_set(d, "train-labels-idx1-ubyte", false, 1, &n5, labels);
  write_set(d, "t10k-images-idx3-ubyte", false, 3, test_dims, pixels + 12);
  CHECK_ERROR(bnn_dataset_load(d, 0, &ds, &err), err, BNN_ERR_NOT_FOUND, "lacks t10k-labels-idx1-ubyte[.gz]");
  /* count mismatch between images and labels */
  write_set(d, "t10k-labels-idx1-ubyte", true, 1, &n5, labels);
  CHECK_ERROR(bnn_dataset_load(d, 0, &ds, &err), err, BNN_ERR_SHAPE, "t10k-images-idx3-ubyte has 4 images but");
  CHECK(strstr(err.msg, "t10k-labels-idx1-ubyte.gz has 5 labels") != NULL);
  /* the plain file wins over the .gz one */
  write_set(d, "t10k-labels-idx1-ubyte", false, 1, &n4, labels + 1);
  CHECK_OK(bnn_dataset_load(d, 0, &ds, &err), err);
  CHECK_EQ_INT(ds.n_train, 5);
  CHECK_EQ_INT(ds.n_test, 4);
  CHECK_EQ_INT(ds.image_size, 12);
  CHECK_EQ_INT(ds.rows, 4);
  CHECK_EQ_INT(ds.cols, 3);
  CHECK(memcmp(ds.train_images, pixels, 60) == 0 && memcmp(ds.test_images, pixels + 12, 48) == 0);
  CHECK(memcmp(ds.train_labels, labels, 5) == 0 && memcmp(ds.test_labels, labels + 1, 4) == 0);
  bnn_dataset_free(&ds);
  CHECK(ds.train_images == NULL);
  /* labels out of range for the number of classes */
  CHECK_ERROR(bnn_dataset_load(d, 5, &ds, &err), err, BNN_ERR_FORMAT,
              "train-labels-idx1-ubyte: label 9 at index 1 is out of range for 5 classes (largest label in the file: 9)");
  write_set(d, "train-labels-idx1-ubyte", false, 1, &n5, bad_labels);
  CHECK_ERROR(bnn_dataset_load(d, 0, &ds, &err), err, BNN_ERR_FORMAT,
              "label 12 at index 2 is out of range for 10 classes (largest label in the file: 12)");
  write_set(d, "train-labels-idx1-ubyte", false, 1, &n5, labels);
  /* train and test images of different sizes */
  uint32_t other[3] = {4, 3, 4};
  write_set(d, "t10k-images-idx3-ubyte", false, 3, other, pixels);
  CHECK_ERROR(bnn_dataset_load(d, 0, &ds, &err), err, BNN_ERR_SHAPE, "training images are 4 x 3 but test images are 3 x 4");
  /* a corrupt member names its file */
  io_write_bytes(io_path(d, "t10k-images-idx3-ubyte"), "\0\0\x08\x03", 4);
  CHECK_ERROR(bnn_dataset_load(d, 0, &ds, &err), err, BNN_ERR_FORMAT, "set/t10k-images-idx3-ubyte: truncated");
  CHECK_ERROR(bnn_dataset_load(io_path(dir, "missing"), 0, &ds, &err), err, BNN_ERR_NOT_FOUND,
              "data directory");
  CHECK_ERROR(bnn_dataset_load(io_path(d, "train-labels-idx1-ubyte"), 0, &ds, &err), err, BNN_ERR_ARG,
              "is not a directory");
  CHECK_ERROR(bnn_dataset_load(d, 300, &ds, &err), err, BNN_ERR_ARG, "1 to 256");
}

/* The real default data set, when installed (it is on the CI image). */
static void test_default_dataset(void) {
  struct stat st;
  if (stat(BNN_DEFAULT_DATA_DIR, &st) != 0) {
    printf("skipped: %s is not installed\n", BNN_DEFAULT_DATA_DIR);
    return;
  }
  bnn_error err = {0};
  bnn_dataset ds;
  CHECK_OK(bnn_dataset_load(NULL, 0, &ds, &err), err);
  CHECK_EQ_INT(ds.n_train, 60000);
  CHECK_EQ_INT(ds.n_test, 10000);
  CHECK_EQ_INT(ds.image_size, 784);
  CHECK_EQ_INT(ds.rows, 28);
  bnn_dataset_free(&ds);
}

int main(void) {
  for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 37 + 11);
  dir = io_temp_dir();
  test_round_trip();
  test_bad_headers();
  test_truncation_and_garbage();
  test_files();
  test_dataset();
  test_default_dataset();
  io_remove_tree(dir);
  TEST_MAIN_END();
}
