/* fuzz_idx.c - bytes -> the IDX reader, plain and gzip.
 *
 * The reader tells gzip from plain by the magic 1f 8b, so one target covers
 * both; the seed corpus holds both kinds. For any input it must fail with a
 * message or give ndim in 1..BNN_IDX_MAX_DIMS dimensions whose product is the
 * element count, with that many readable bytes of data. A gzip file may not
 * make it allocate more than the data that actually decompresses. Each input
 * is also compressed here and read again: gzip(x) must read exactly as x.
 */
#include <string.h>
#include <zlib.h>

#include "bnn/io.h"
#include "fuzz.h"

static bool is_gzip(const uint8_t *p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

/* Read bytes; check what a successful read gives. Returns the status and
 * keeps the result in *idx (freed by the caller). */
static bnn_status read_and_check(const uint8_t *data, size_t size, bnn_idx *idx) {
  bnn_error err = {0};
  bnn_status s = bnn_idx_read_memory(data, size, "fuzz.idx", idx, &err);
  if (s != BNN_OK) {
    FUZZ_CHECK(s > BNN_OK && s < BNN_STATUS_COUNT, "status %d out of range", (int)s);
    FUZZ_CHECK(err.status == s && err.msg[0], "failed (%s) without a message", bnn_status_str(s));
    FUZZ_CHECK(idx->data == NULL, "a failed read kept its data");
    return s;
  }
  FUZZ_CHECK(idx->ndim >= 1 && idx->ndim <= BNN_IDX_MAX_DIMS, "ndim %d", idx->ndim);
  uint64_t count = 1;
  for (int i = 0; i < idx->ndim; i++) count *= idx->dims[i];
  FUZZ_CHECK(count == idx->count && count <= BNN_IDX_MAX_ELEMENTS, "count %zu, dims give %llu", idx->count,
             (unsigned long long)count);
  FUZZ_CHECK(idx->data != NULL, "a successful read without data");
  /* Touch every byte so ASan sees a buffer shorter than the count. */
  unsigned sum = 0;
  for (size_t i = 0; i < idx->count; i++) sum += idx->data[i];
  (void)sum;
  /* A plain file is exactly header + data. */
  if (!is_gzip(data, size))
    FUZZ_CHECK(size == 4 + 4 * (size_t)idx->ndim + idx->count, "plain file of %zu bytes read as %zu elements",
               size, idx->count);
  return s;
}

/* gzip-compress bytes (one member, as `gzip` writes); NULL if zlib fails. */
static uint8_t *gzip_compress(const uint8_t *data, size_t size, size_t *out_size) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  size_t cap = deflateBound(&z, (uLong)size) + 32;
  uint8_t *out = malloc(cap);
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)size;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
  *out_size = cap - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bnn_idx plain;
  bnn_status s = read_and_check(data, size, &plain);

  /* The input compressed must read exactly as the input itself: same status,
   * same dims, same bytes. This drives the gzip path with valid gzip streams,
   * which mutations of compressed bytes seldom produce. */
  size_t gz_size = 0;
  uint8_t *gz = is_gzip(data, size) || size > (1u << 20) ? NULL : gzip_compress(data, size, &gz_size);
  if (gz) {
    bnn_idx unzipped;
    bnn_status gs = read_and_check(gz, gz_size, &unzipped);
    FUZZ_CHECK(gs == s, "plain read gives %s but its gzip gives %s", bnn_status_str(s), bnn_status_str(gs));
    if (s == BNN_OK) {
      FUZZ_CHECK(unzipped.ndim == plain.ndim && unzipped.count == plain.count &&
                     memcmp(unzipped.dims, plain.dims, sizeof plain.dims) == 0 &&
                     memcmp(unzipped.data, plain.data, plain.count) == 0,
                 "the gzip file reads differently from the plain file");
    }
    bnn_idx_free(&unzipped);
    free(gz);
  }
  bnn_idx_free(&plain);
  FUZZ_CHECK(plain.data == NULL && plain.count == 0, "bnn_idx_free left data behind");
  return 0;
}
