/* test_safetensors.c: the safetensors writer, reader and model check.
 * A round trip first, then the exact bytes the writer produces, then one
 * hand-made file per way a header can be wrong, each checked for its status
 * and the phrase the user will read. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <sys/stat.h>

#include "io_test.h"

static const char *dir;

/* A file from a header text and `data_len` data bytes (values 0, 1, 2...).
 * header_len overrides the length prefix when not UINT64_MAX. */
static size_t make_file(uint8_t *buf, const char *header, uint64_t header_len, size_t data_len) {
  size_t n = strlen(header);
  uint64_t prefix = header_len == UINT64_MAX ? n : header_len;
  for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(prefix >> (8 * i));
  memcpy(buf + 8, header, n);
  for (size_t i = 0; i < data_len; i++) buf[8 + n + i] = (uint8_t)i;
  return 8 + n + data_len;
}

static uint8_t file_buf[1 << 16];

/* Read a hand-made file from memory. */
static bnn_status read_made(const char *header, size_t data_len, bnn_st_file **f, bnn_error *err) {
  size_t n = make_file(file_buf, header, UINT64_MAX, data_len);
  return bnn_st_read_memory(file_buf, n, "w.safetensors", f, err);
}

static void test_round_trip(void) {
  bnn_error err = {0};
  float w0[6] = {1.5f, -2.0f, 0.0f, -0.0f, 3.25e-8f, 1e30f}, b0[3] = {0.1f, 0.2f, 0.3f}, scalar = 42.0f;
  int64_t s_w0[2] = {2, 3}, s_b0[1] = {3}, s_empty[2] = {0, 5};
  bnn_st_writer *w;
  CHECK_OK(bnn_st_writer_new(&w, &err), err);
  CHECK_OK(bnn_st_writer_add(w, "1.bias", 1, s_b0, b0, &err), err); /* added out of order */
  CHECK_OK(bnn_st_writer_add(w, "0.weight", 2, s_w0, w0, &err), err);
  CHECK_OK(bnn_st_writer_add(w, "step", 0, NULL, &scalar, &err), err);
  CHECK_OK(bnn_st_writer_add(w, "empty", 2, s_empty, NULL, &err), err);
  CHECK_ERROR(bnn_st_writer_add(w, "0.weight", 2, s_w0, w0, &err), err, BNN_ERR_ARG, "added twice");
  CHECK_ERROR(bnn_st_writer_add(w, "bad\xff", 1, s_b0, b0, &err), err, BNN_ERR_ARG, "not valid UTF-8");
  CHECK_ERROR(bnn_st_writer_add(w, "__metadata__", 1, s_b0, b0, &err), err, BNN_ERR_ARG, "cannot be a tensor name");
  CHECK_OK(bnn_st_writer_set_metadata(w, "format", "pt", &err), err);
  CHECK_OK(bnn_st_writer_set_metadata(w, "note", "quote \" backslash \\ newline \n tab \t \x01 caf\xc3\xa9", &err), err);
  CHECK_OK(bnn_st_writer_set_metadata(w, "format", "pt2", &err), err); /* replaces */
  const char *path = io_path(dir, "rt.safetensors");
  CHECK_OK(bnn_st_writer_write(w, path, &err), err);
  bnn_st_writer_free(w);

  bnn_st_file *f;
  CHECK_OK(bnn_st_read(path, &f, &err), err);
  if (!f) return;
  CHECK_EQ_INT(bnn_st_count(f), 4);
  CHECK_STR(bnn_st_at(f, 0)->name, "0.weight"); /* sorted by name */
  CHECK_STR(bnn_st_at(f, 1)->name, "1.bias");
  CHECK_STR(bnn_st_at(f, 2)->name, "empty");
  CHECK_STR(bnn_st_at(f, 3)->name, "step");
  CHECK(bnn_st_at(f, 4) == NULL);
  const bnn_st_tensor *t = bnn_st_find(f, "0.weight");
  CHECK(t && t->dtype == BNN_ST_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->numel == 6);
  CHECK(t && memcmp(t->data, w0, sizeof w0) == 0); /* bit for bit, -0.0 included */
  const float *data;
  CHECK_OK(bnn_st_get_f32(f, "1.bias", 1, s_b0, &data, &err), err);
  CHECK(data && memcmp(data, b0, sizeof b0) == 0);
  CHECK_OK(bnn_st_get_f32(f, "step", 0, NULL, &data, &err), err);
  CHECK(data && *data == 42.0f);
  t = bnn_st_find(f, "empty");
  CHECK(t && t->numel == 0 && t->ndim == 2);
  CHECK(bnn_st_find(f, "missing") == NULL);
  CHECK_ERROR(bnn_st_get_f32(f, "missing", 1, s_b0, &data, &err), err, BNN_ERR_NOT_FOUND, "no tensor named 'missing'");
  CHECK_ERROR(bnn_st_get_f32(f, "0.weight", 1, s_b0, &data, &err), err, BNN_ERR_SHAPE,
              "0.weight: expected [3], file has [2, 3]");
  CHECK_EQ_INT(bnn_st_metadata_count(f), 2);
  CHECK_STR(bnn_st_metadata_get(f, "format"), "pt2");
  CHECK_STR(bnn_st_metadata_get(f, "note"), "quote \" backslash \\ newline \n tab \t \x01 caf\xc3\xa9");
  CHECK(bnn_st_metadata_get(f, "nope") == NULL);
  const char *k, *v;
  bnn_st_metadata_at(f, 0, &k, &v);
  CHECK_STR(k, "format");
  bnn_st_close(f);

  /* The bytes are what the reference library writes: metadata first, names
   * sorted, contiguous offsets, header padded with spaces to 8. */
  size_t n;
  uint8_t *bytes = io_read_bytes(path, &n);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | bytes[i];
  CHECK_EQ_INT(hlen % 8, 0);
  CHECK_EQ_INT(n, 8 + hlen + (6 + 3 + 0 + 1) * 4);
  const char *expect_prefix =
      "{\"__metadata__\":{\"format\":\"pt2\",\"note\":\"quote \\\" backslash \\\\ newline \\n tab \\t \\u0001 caf\xc3\xa9\"},"
      "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
      "\"1.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]},"
      "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[36,36]},"
      "\"step\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[36,40]}}";
  size_t plen = strlen(expect_prefix);
  CHECK(plen <= hlen && memcmp(bytes + 8, expect_prefix, plen) == 0);
  bool spaces = true;
  for (size_t i = 8 + plen; i < 8 + hlen; i++) spaces = spaces && bytes[i] == ' ';
  CHECK(spaces);
  float first;
  memcpy(&first, bytes + 8 + hlen, 4); /* little-endian host: the floats as they are */
  CHECK(first == 1.5f);
  free(bytes);

  CHECK_ERROR(bnn_st_read(io_path(dir, "nope.safetensors"), &f, &err), err, BNN_ERR_NOT_FOUND, "cannot open");
  CHECK_ERROR(bnn_st_read(dir, &f, &err), err, BNN_ERR_ARG, "is not a regular file");
  CHECK_OK(bnn_st_writer_new(&w, &err), err);
  CHECK_ERROR(bnn_st_writer_write(w, io_path(dir, "no/such/dir.safetensors"), &err), err, BNN_ERR_IO,
              "cannot create a temporary file");
  bnn_st_writer_free(w);
}

/* A file as PyTorch + safetensors saves a BatchNorm layer: an I64 scalar
 * num_batches_tracked among F32 tensors, header padded with spaces. */
static void test_pytorch_layout(void) {
  bnn_error err = {0};
  bnn_st_file *f;
  const char *h = "{\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                  "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}   ";
  CHECK_OK(read_made(h, 16, &f, &err), err);
  if (!f) return;
  const bnn_st_tensor *t = bnn_st_find(f, "bn.num_batches_tracked");
  CHECK(t && t->dtype == BNN_ST_I64 && t->ndim == 0 && t->numel == 1 && t->data == NULL);
  t = bnn_st_find(f, "bn.weight");
  uint8_t want[8] = {8, 9, 10, 11, 12, 13, 14, 15};
  CHECK(t && t->data && memcmp(t->data, want, 8) == 0);
  const float *data;
  CHECK_ERROR(bnn_st_get_f32(f, "bn.num_batches_tracked", 0, NULL, &data, &err), err, BNN_ERR_UNSUPPORTED,
              "bn.num_batches_tracked: dtype I64 is not supported (expected F32)");
  bnn_st_close(f);
}

#define T(name, dtype, shape, b, e) \
  "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_malformed(void) {
  bnn_error err = {0};
  bnn_st_file *f = NULL;
  uint8_t buf[64] = {0};
  size_t n;

  /* the length prefix */
  CHECK_ERROR(bnn_st_read_memory(buf, 5, "w", &f, &err), err, BNN_ERR_FORMAT, "5 bytes, too short for the 8-byte header length");
  CHECK(f == NULL);
  n = make_file(buf, "{}", 100, 0);
  CHECK_ERROR(bnn_st_read_memory(buf, n, "w", &f, &err), err, BNN_ERR_FORMAT,
              "header length 100 is larger than the rest of the file (2 bytes)");
  n = make_file(buf, "{}", (uint64_t)1 << 63, 0);
  CHECK_ERROR(bnn_st_read_memory(buf, n, "w", &f, &err), err, BNN_ERR_FORMAT,
              "header length 9223372036854775808 is larger than the rest of the file");
  n = make_file(buf, "{}", UINT64_MAX - 1, 0);
  CHECK_ERROR(bnn_st_read_memory(buf, n, "w", &f, &err), err, BNN_ERR_FORMAT, "is larger than the rest of the file");
  n = make_file(buf, "{}", 0, 0);
  CHECK_ERROR(bnn_st_read_memory(buf, n, "w", &f, &err), err, BNN_ERR_FORMAT, "header is not valid JSON");
  CHECK_ERROR(bnn_st_read_memory(NULL, 0, "w", &f, &err), err, BNN_ERR_FORMAT, "too short");

  /* header over the 100 MB cap: a sparse file, so the test stays cheap */
  const char *big = io_path(dir, "big.safetensors");
  int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  uint8_t prefix[8];
  uint64_t hl = 100000001;
  for (int i = 0; i < 8; i++) prefix[i] = (uint8_t)(hl >> (8 * i));
  CHECK(fd >= 0 && write(fd, prefix, 8) == 8 && ftruncate(fd, 8 + (off_t)hl) == 0);
  close(fd);
  CHECK_ERROR(bnn_st_read(big, &f, &err), err, BNN_ERR_LIMIT,
              "header length 100000001 is more than the limit of 100000000 bytes");

  /* bad JSON, with the position */
  CHECK_ERROR(read_made("not json", 0, &f, &err), err, BNN_ERR_FORMAT,
              "w.safetensors: header is not valid JSON: unexpected 'n': expected a JSON value (header byte 0, line 1, column 1)");
  CHECK_ERROR(read_made("{\"a\":}", 0, &f, &err), err, BNN_ERR_FORMAT, "expected a JSON value (header byte 5");
  CHECK_ERROR(read_made("{\"a\":{\"dtype\":\"F32\",}}", 0, &f, &err), err, BNN_ERR_FORMAT, "expected a string key");
  CHECK_ERROR(read_made("{\"a\":1", 0, &f, &err), err, BNN_ERR_FORMAT, "unexpected end of input");
  CHECK_ERROR(read_made("{\"\xff\":1}", 0, &f, &err), err, BNN_ERR_FORMAT, "invalid UTF-8");
  CHECK_ERROR(read_made("{} x", 0, &f, &err), err, BNN_ERR_FORMAT, "after the JSON value");
  CHECK_ERROR(read_made("[]", 0, &f, &err), err, BNN_ERR_FORMAT, "header must be a JSON object, found array");
  CHECK_ERROR(read_made("{" T("a", "F32", "[1]", 0, 4) "," T("a", "F32", "[1]", 4, 8) "}", 8, &f, &err), err,
              BNN_ERR_FORMAT, "duplicate key \"a\"");

  /* entries */
  CHECK_ERROR(read_made("{\"a\":[]}", 0, &f, &err), err, BNN_ERR_FORMAT, "tensor 'a': expected an object");
  CHECK_ERROR(read_made("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,0]}}", 0, &f, &err), err, BNN_ERR_FORMAT,
              "tensor 'a': missing field \"shape\"");
  CHECK_ERROR(read_made("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":1}}", 4, &f, &err), err,
              BNN_ERR_FORMAT, "unknown field \"x\"");
  CHECK_ERROR(read_made("{" T("a", "F4", "[1]", 0, 4) "}", 4, &f, &err), err, BNN_ERR_FORMAT, "unknown dtype \"F4\"");
  CHECK_ERROR(read_made("{" T("a", "F32", "[-1]", 0, 4) "}", 4, &f, &err), err, BNN_ERR_FORMAT, "non-negative integers");
  CHECK_ERROR(read_made("{" T("a", "F32", "[1.5]", 0, 4) "}", 4, &f, &err), err, BNN_ERR_FORMAT, "non-negative integers");
  CHECK_ERROR(read_made("{" T("a", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, &f, &err), err, BNN_ERR_LIMIT,
              "9 dimensions, more than the limit of 8");
  CHECK_ERROR(read_made("{" T("a", "F32", "[1000000,1000000]", 0, 4) "}", 4, &f, &err), err, BNN_ERR_LIMIT,
              "tensor 'a': shape [1000000, 1000000] has more than the limit of 2147483648 elements");
  CHECK_ERROR(read_made("{" T("a", "F32", "[4294967296,4294967296,4294967296]", 0, 4) "}", 4, &f, &err), err,
              BNN_ERR_LIMIT, "more than the limit");
  /* a zero dimension makes any shape empty: valid */
  CHECK_OK(read_made("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[0,1000000000000]", 8, 8) "}", 8, &f, &err), err);
  bnn_st_close(f);
  f = NULL;
  CHECK_ERROR(read_made("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, &f, &err), err,
              BNN_ERR_FORMAT, "data_offsets must be [BEGIN, END]");
  CHECK_ERROR(read_made("{" T("a", "F32", "[1]", 8, 4) "}", 8, &f, &err), err, BNN_ERR_FORMAT,
              "data_offsets [8, 4] end before they begin");
  CHECK_ERROR(read_made("{" T("a", "F32", "[4]", 0, 16) "}", 8, &f, &err), err, BNN_ERR_FORMAT,
              "tensor 'a': data_offsets [0, 16] lie outside the data area of 8 bytes");
  CHECK_ERROR(read_made("{" T("a", "F32", "[1]", 18446744073709551612, 18446744073709551615) "}", 8, &f, &err), err,
              BNN_ERR_FORMAT, "lie outside the data area");
  CHECK_ERROR(read_made("{" T("a", "F32", "[3]", 0, 8) "}", 8, &f, &err), err, BNN_ERR_FORMAT,
              "shape [3] of dtype F32 needs 12 bytes but data_offsets [0, 8] span 8");
  CHECK_ERROR(read_made("{" T("a", "F64", "[1]", 0, 4) "}", 8, &f, &err), err, BNN_ERR_FORMAT,
              "dtype F64 needs 8 bytes");
  CHECK_ERROR(read_made("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 4, 12) "}", 12, &f, &err), err,
              BNN_ERR_FORMAT, "tensors 'a' (bytes 0..8) and 'b' (bytes 4..12) overlap");
  CHECK_ERROR(read_made("{" T("b", "F32", "[1]", 4, 8) "," T("a", "F32", "[3]", 0, 12) "}", 12, &f, &err), err,
              BNN_ERR_FORMAT, "overlap");
  CHECK_ERROR(read_made("{\"__metadata__\":{\"k\":1}}", 0, &f, &err), err, BNN_ERR_FORMAT,
              "__metadata__ entry \"k\" must be a string, found number");
  CHECK_ERROR(read_made("{\"__metadata__\":[]}", 0, &f, &err), err, BNN_ERR_FORMAT, "__metadata__ must be an object");
  CHECK_ERROR(read_made("{\"a\\u0000b\":{}}", 0, &f, &err), err, BNN_ERR_FORMAT, "NUL character");

  /* valid corner cases: empty header, unaligned data, data not fully covered */
  CHECK_OK(read_made("{}", 0, &f, &err), err);
  CHECK(f && bnn_st_count(f) == 0);
  bnn_st_close(f);
  CHECK_OK(read_made("{" T("a", "F32", "[1]", 3, 7) "}", 9, &f, &err), err);
  const bnn_st_tensor *t = f ? bnn_st_find(f, "a") : NULL;
  uint8_t want[4] = {3, 4, 5, 6};
  CHECK(t && memcmp(t->data, want, 4) == 0);
  bnn_st_close(f);
}

static void test_check(void) {
  bnn_error err = {0};
  bnn_st_file *f;
  const char *h = "{" T("0.weight", "F32", "[4,3]", 0, 48) "," T("0.bias", "F16", "[4]", 48, 56) ","
                  T("1.running_mean", "F32", "[4]", 56, 72) "," T("1.num_batches_tracked", "I64", "[]", 72, 80) ","
                  T("9.extra", "F32", "[1]", 80, 84) "}";
  CHECK_OK(read_made(h, 84, &f, &err), err);
  if (!f) return;
  int64_t s43[2] = {4, 3}, s42[2] = {4, 2}, s4[1] = {4}, s1[1] = {1};
  bnn_st_expect ok[] = {
    {"0.weight", 2, s43}, {"1.running_mean", 1, s4}, {"9.extra", 1, s1}, {"0.bias", 1, s4}, {"1.num_batches_tracked", 0, NULL},
  };
  char *report = (char *)1;
  CHECK_ERROR(bnn_st_check(f, ok, 5, &report, &err), err, BNN_ERR_SHAPE,
              "w.safetensors: 1 problem with the tensors:\n0.bias: dtype F16 is not supported (expected F32)");
  free(report);
  bnn_st_expect model[] = {
    {"0.weight", 2, s42}, {"0.bias", 1, s4}, {"1.running_mean", 1, s4}, {"1.running_var", 1, s4},
    {"2.num_batches_tracked", 0, NULL},
  };
  CHECK_ERROR(bnn_st_check(f, model, 5, &report, &err), err, BNN_ERR_SHAPE, "4 problems");
  CHECK_STR(report, "0.weight: expected [4, 2], file has [4, 3]\n"
                    "0.bias: dtype F16 is not supported (expected F32)\n"
                    "missing tensor \"1.running_var\"\n"
                    "unexpected tensor \"9.extra\"");
  free(report);
  /* the tolerated names, and nothing wrong: no report */
  bnn_st_expect fine[] = {{"0.weight", 2, s43}, {"1.running_mean", 1, s4}, {"9.extra", 1, s1}};
  bnn_st_close(f);
  h = "{" T("0.weight", "F32", "[4,3]", 0, 48) "," T("1.running_mean", "F32", "[4]", 48, 64) ","
      T("1.num_batches_tracked", "I64", "[]", 64, 72) "," T("9.extra", "F32", "[1]", 72, 76) "}";
  CHECK_OK(read_made(h, 76, &f, &err), err);
  report = (char *)1;
  CHECK_OK(bnn_st_check(f, fine, 3, &report, &err), err);
  CHECK(report == NULL);
  /* many problems: err->msg is cut with "...", the report has them all */
  enum { MANY = 60 };
  bnn_st_expect many[MANY];
  char names[MANY][32];
  for (int i = 0; i < MANY; i++) {
    snprintf(names[i], sizeof names[i], "layer%d.weight", i);
    many[i] = (bnn_st_expect){names[i], 1, s4};
  }
  CHECK_ERROR(bnn_st_check(f, many, MANY, &report, &err), err, BNN_ERR_SHAPE, "63 problems");
  CHECK(strlen(err.msg) == sizeof err.msg - 1 && strcmp(err.msg + strlen(err.msg) - 4, "\n...") == 0);
  CHECK(report && strstr(report, "missing tensor \"layer59.weight\"\nunexpected tensor \"0.weight\""));
  free(report);
  bnn_st_close(f);
}

int main(void) {
  dir = io_temp_dir();
  test_round_trip();
  test_pytorch_layout();
  test_malformed();
  test_check();
  io_remove_tree(dir);
  TEST_MAIN_END();
}
