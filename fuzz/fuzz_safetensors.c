/* fuzz_safetensors.c - bytes -> the safetensors reader and checker.
 *
 * The reader validates the header length, the JSON, every dtype, shape and
 * offset before it allocates. For any input it must either fail with a
 * message, or give a file whose every tensor is self-consistent (numel = the
 * product of the shape, data only for F32, all of it readable) and that the
 * lookup and check functions handle. The check runs against a fixed list of
 * expected tensors plus the file's own first tensor, so both its "all well"
 * and its mismatch paths are exercised.
 */
#include <string.h>

#include "bnn/io.h"
#include "fuzz.h"

static const int64_t shape_2x3[] = {2, 3};
static const int64_t shape_2[] = {2};
static const int64_t shape_4[] = {4};

static void check_error(bnn_status s, const bnn_error *err, const char *call) {
  FUZZ_CHECK(s > BNN_OK && s < BNN_STATUS_COUNT, "%s: status %d out of range", call, (int)s);
  FUZZ_CHECK(err->status == s, "%s: returned %d but err->status is %d", call, (int)s, (int)err->status);
  FUZZ_CHECK(err->msg[0] != '\0', "%s: failed (%s) without a message", call, bnn_status_str(s));
  FUZZ_CHECK(memchr(err->msg, '\0', sizeof err->msg) != NULL, "%s: message not terminated", call);
}

/* Touch every float so ASan sees any read past the tensor's data. */
static float sum_data(const bnn_st_tensor *t) {
  float sum = 0;
  for (int64_t i = 0; i < t->numel; i++) sum += t->data[i];
  return sum;
}

static void check_tensor(const bnn_st_file *f, const bnn_st_tensor *t, size_t i) {
  FUZZ_CHECK(t && t->name, "tensor %zu missing", i);
  FUZZ_CHECK(t->ndim >= 0 && t->ndim <= BNN_ST_MAX_DIMS, "%s: ndim %d", t->name, t->ndim);
  FUZZ_CHECK((unsigned)t->dtype < BNN_ST_DTYPE_COUNT, "%s: dtype %d", t->name, (int)t->dtype);
  FUZZ_CHECK(bnn_st_dtype_name(t->dtype) != NULL, "%s: dtype has no name", t->name);
  int64_t numel = 1;
  for (int d = 0; d < t->ndim; d++) {
    FUZZ_CHECK(t->shape[d] >= 0, "%s: negative dimension", t->name);
    numel *= t->shape[d];
  }
  FUZZ_CHECK(numel == t->numel && numel <= BNN_ST_MAX_ELEMENTS, "%s: numel %lld, shape gives %lld", t->name,
             (long long)t->numel, (long long)numel);
  if (t->dtype == BNN_ST_F32)
    FUZZ_CHECK(t->data || numel == 0, "%s: F32 tensor without data", t->name);
  else
    FUZZ_CHECK(!t->data, "%s: data for dtype %s", t->name, bnn_st_dtype_name(t->dtype));
  if (t->data) (void)sum_data(t);
  FUZZ_CHECK(bnn_st_find(f, t->name) == t, "bnn_st_find(\"%s\") does not find it", t->name);
  if (i > 0) FUZZ_CHECK(strcmp(bnn_st_at(f, i - 1)->name, t->name) < 0, "tensors not sorted by name at %zu", i);

  bnn_error err = {0};
  const float *data = NULL;
  bnn_status s = bnn_st_get_f32(f, t->name, t->ndim, t->shape, &data, &err);
  if (t->dtype == BNN_ST_F32)
    FUZZ_CHECK(s == BNN_OK && data == t->data, "bnn_st_get_f32(\"%s\") fails on its own shape", t->name);
  else
    check_error(s, &err, "bnn_st_get_f32");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bnn_st_file *f = NULL;
  bnn_error err = {0};
  bnn_status s = bnn_st_read_memory(data, size, "fuzz.safetensors", &f, &err);
  if (s != BNN_OK) {
    check_error(s, &err, "bnn_st_read_memory");
    FUZZ_CHECK(f == NULL, "a failed read returned a file");
    return 0;
  }
  FUZZ_CHECK(f != NULL, "a successful read returned no file");

  size_t n = bnn_st_count(f);
  for (size_t i = 0; i < n; i++) check_tensor(f, bnn_st_at(f, i), i);
  FUZZ_CHECK(bnn_st_at(f, n) == NULL, "bnn_st_at past the end is not NULL");

  for (size_t i = 0; i < bnn_st_metadata_count(f); i++) {
    const char *key = NULL, *value = NULL;
    bnn_st_metadata_at(f, i, &key, &value);
    FUZZ_CHECK(key && value, "metadata %zu incomplete", i);
    FUZZ_CHECK(bnn_st_metadata_get(f, key) != NULL, "metadata key \"%s\" not found", key);
  }

  bnn_st_expect expected[5] = {
      {"0.weight", 2, shape_2x3},
      {"0.bias", 1, shape_2},
      {"1.running_var", 1, shape_4},
      {"scalar", 0, NULL},
  };
  size_t n_expected = 4;
  int64_t first_shape[BNN_ST_MAX_DIMS];
  if (n > 0) {
    /* The file's first tensor, with its last dimension one larger half of the time. */
    const bnn_st_tensor *t = bnn_st_at(f, 0);
    memcpy(first_shape, t->shape, sizeof first_shape);
    if (t->ndim > 0 && (size & 1)) first_shape[t->ndim - 1]++;
    expected[n_expected++] = (bnn_st_expect){t->name, t->ndim, first_shape};
  }
  char *report = NULL;
  s = bnn_st_check(f, expected, n_expected, &report, &err);
  if (s != BNN_OK) {
    check_error(s, &err, "bnn_st_check");
    FUZZ_CHECK(report && report[0], "bnn_st_check failed without a report");
  } else {
    FUZZ_CHECK(report == NULL, "bnn_st_check passed with a report");
  }
  free(report);
  bnn_st_close(f);
  return 0;
}
