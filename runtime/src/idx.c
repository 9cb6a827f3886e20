/* idx.c: IDX files (the MNIST format), plain or gzip, and the four-file data set.
 *
 * A file is read whole into memory, then decoded through a Decoder that either
 * hands out the bytes as they are or inflates them (gzip is recognised by its
 * magic 1f 8b, never by the name). Header checks come first and every size is
 * checked before anything is allocated: for a plain file the exact data size
 * is known from the file size; for gzip the output buffer grows with the data
 * actually decompressed, so a small file claiming 2 GB cannot make us
 * allocate 2 GB. */
#define _POSIX_C_SOURCE 200809L

#include "bnn/io.h"
#include "file_open.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

enum {
  IDX_TYPE_U8 = 0x08,
  IDX_MAX_HEADER = 4 + 4 * BNN_IDX_MAX_DIMS,
  GZIP_GROW_START = 1 << 20,
  INFLATE_CHUNK = 1 << 30, /* z_stream counts are 32-bit */
};

/* The largest file worth reading: a maximal plain IDX file. */
#define IDX_MAX_FILE_BYTES (BNN_IDX_MAX_ELEMENTS + IDX_MAX_HEADER)

static const char *idx_type_name(unsigned type) {
  switch (type) {
  case 0x08: return "unsigned byte";
  case 0x09: return "signed byte";
  case 0x0B: return "16-bit integer";
  case 0x0C: return "32-bit integer";
  case 0x0D: return "32-bit float";
  case 0x0E: return "64-bit float";
  default: return NULL;
  }
}

/* ---- decoder: plain bytes or inflated gzip ------------------------------- */

typedef struct Decoder {
  const char *name;
  const uint8_t *in;
  size_t in_size, in_pos; /* plain: read position */
  bool gzip;
  z_stream z;
  bool stream_ended; /* gzip: saw the end of the last member (CRC checked) */
} Decoder;

static bool has_gzip_magic(const uint8_t *p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

static bnn_status decoder_init(Decoder *d, const void *bytes, size_t size, const char *name, bnn_error *err) {
  memset(d, 0, sizeof *d);
  d->name = name;
  d->in = bytes;
  d->in_size = size;
  d->gzip = has_gzip_magic(d->in, size);
  if (!d->gzip) return BNN_OK;
  int rc = inflateInit2(&d->z, 16 + MAX_WBITS); /* gzip wrapper only */
  if (rc != Z_OK)
    return bnn_error_set(err, rc == Z_MEM_ERROR ? BNN_ERR_NOMEM : BNN_ERR_INTERNAL,
                         "%s: cannot start gzip decompression (zlib error %d)", name, rc);
  d->z.next_in = (Bytef *)(uintptr_t)d->in; /* zlib does not write to its input */
  d->z.avail_in = size > UINT_MAX ? UINT_MAX : (uInt)size;
  return BNN_OK;
}

static void decoder_end(Decoder *d) {
  if (d->gzip) inflateEnd(&d->z);
}

/* Compressed input not yet handed to zlib (beyond avail_in). */
static size_t unfed_input(const Decoder *d) {
  size_t fed = (size_t)((const uint8_t *)d->z.next_in - d->in) + d->z.avail_in;
  return d->in_size - fed;
}

static void refill_input(Decoder *d) {
  if (d->z.avail_in == 0 && unfed_input(d) > 0) {
    size_t rest = unfed_input(d);
    d->z.avail_in = rest > UINT_MAX ? UINT_MAX : (uInt)rest;
  }
}

/* Read up to n bytes. *got < n means the data ended (cleanly or not: see
 * d->stream_ended for gzip). Errors are corrupt gzip data or trailing junk
 * after the gzip stream. */
static bnn_status decoder_read(Decoder *d, uint8_t *dst, size_t n, size_t *got, bnn_error *err) {
  *got = 0;
  if (!d->gzip) {
    size_t k = d->in_size - d->in_pos < n ? d->in_size - d->in_pos : n;
    memcpy(dst, d->in + d->in_pos, k);
    d->in_pos += k;
    *got = k;
    return BNN_OK;
  }
  while (*got < n && !d->stream_ended) {
    refill_input(d);
    size_t want = n - *got < INFLATE_CHUNK ? n - *got : INFLATE_CHUNK;
    d->z.next_out = dst + *got;
    d->z.avail_out = (uInt)want;
    int rc = inflate(&d->z, Z_NO_FLUSH);
    *got += want - d->z.avail_out;
    if (rc == Z_STREAM_END) {
      refill_input(d);
      if (d->z.avail_in == 0) {
        d->stream_ended = true;
      } else if (has_gzip_magic(d->z.next_in, d->z.avail_in)) {
        inflateReset(&d->z); /* another gzip member follows (as `cat a.gz b.gz`) */
      } else {
        return bnn_error_set(err, BNN_ERR_FORMAT, "%s: %zu bytes of trailing garbage after the gzip stream",
                             d->name, (size_t)d->z.avail_in + unfed_input(d));
      }
    } else if (rc == Z_BUF_ERROR) {
      if (d->z.avail_out == 0) continue; /* cannot happen with want > 0; be safe */
      break; /* input exhausted before the end of the stream: truncated */
    } else if (rc == Z_MEM_ERROR) {
      return bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory decompressing gzip data", d->name);
    } else if (rc != Z_OK) {
      return bnn_error_set(err, BNN_ERR_FORMAT, "%s: corrupt gzip data at compressed byte %zu: %s", d->name,
                           (size_t)((const uint8_t *)d->z.next_in - d->in), d->z.msg ? d->z.msg : "bad stream");
    }
  }
  return BNN_OK;
}

/* "truncated" message tail explaining how the data ended. */
static const char *how_it_ended(const Decoder *d) {
  if (!d->gzip) return "";
  return d->stream_ended ? " (in the decompressed data)" : " (the gzip stream is cut short)";
}

/* ---- IDX parsing --------------------------------------------------------- */

static uint32_t load_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void format_dims(char *buf, size_t size, int ndim, const uint32_t *dims) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < ndim && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, i ? " x %u" : "%u", (unsigned)dims[i]);
}

static bnn_status parse_header(Decoder *d, bnn_idx *out, size_t *header_size, bnn_error *err) {
  uint8_t magic[4];
  size_t got;
  bnn_status s = decoder_read(d, magic, 4, &got, err);
  if (s != BNN_OK) return s;
  if (got < 4)
    return bnn_error_set(err, BNN_ERR_FORMAT, "%s: truncated: %zu bytes, too short for an IDX header%s", d->name,
                         got, how_it_ended(d));
  if (magic[0] != 0 || magic[1] != 0)
    return bnn_error_set(err, BNN_ERR_FORMAT,
                         "%s: not an IDX file: bad magic %02x %02x %02x %02x (expected 00 00 08 NDIM)", d->name,
                         magic[0], magic[1], magic[2], magic[3]);
  const char *type_name = idx_type_name(magic[2]);
  if (!type_name)
    return bnn_error_set(err, BNN_ERR_FORMAT, "%s: not an IDX file: unknown element type 0x%02x", d->name, magic[2]);
  if (magic[2] != IDX_TYPE_U8)
    return bnn_error_set(err, BNN_ERR_UNSUPPORTED,
                         "%s: element type 0x%02x (%s) is not supported: bnnc reads unsigned byte (0x08) IDX files",
                         d->name, magic[2], type_name);
  int ndim = magic[3];
  if (ndim == 0) return bnn_error_set(err, BNN_ERR_FORMAT, "%s: IDX header has 0 dimensions", d->name);
  if (ndim > BNN_IDX_MAX_DIMS)
    return bnn_error_set(err, BNN_ERR_LIMIT, "%s: IDX header has %d dimensions, more than the limit of %d", d->name,
                         ndim, BNN_IDX_MAX_DIMS);
  uint8_t raw[4 * BNN_IDX_MAX_DIMS];
  s = decoder_read(d, raw, 4 * (size_t)ndim, &got, err);
  if (s != BNN_OK) return s;
  if (got < 4 * (size_t)ndim)
    return bnn_error_set(err, BNN_ERR_FORMAT, "%s: truncated in the header: expected %d dimension sizes (%d bytes), found %zu bytes%s",
                         d->name, ndim, 4 * ndim, got, how_it_ended(d));
  uint64_t count = 1;
  bool over = false;
  out->ndim = ndim;
  for (int i = 0; i < ndim; i++) {
    out->dims[i] = load_be32(raw + 4 * i);
    if (out->dims[i] != 0 && count > BNN_IDX_MAX_ELEMENTS / out->dims[i]) over = true;
    else count *= out->dims[i];
  }
  if (over || count > BNN_IDX_MAX_ELEMENTS) {
    char dims[160];
    format_dims(dims, sizeof dims, ndim, out->dims);
    return bnn_error_set(err, BNN_ERR_LIMIT,
                         "%s: IDX dimensions %s exceed the limit of %llu elements per file", d->name, dims,
                         (unsigned long long)BNN_IDX_MAX_ELEMENTS);
  }
  out->count = (size_t)count;
  *header_size = 4 + 4 * (size_t)ndim;
  return BNN_OK;
}

/* Data of a gzip file: grow the buffer with the data that actually arrives. */
static bnn_status read_gzip_data(Decoder *d, bnn_idx *out, size_t header_size, bnn_error *err) {
  size_t cap = out->count < GZIP_GROW_START ? out->count : GZIP_GROW_START;
  size_t have = 0;
  uint8_t *buf = malloc(cap ? cap : 1);
  if (!buf) return bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory for %zu bytes", d->name, cap);
  for (;;) {
    size_t got;
    bnn_status s = decoder_read(d, buf + have, cap - have, &got, err);
    if (s != BNN_OK) {
      free(buf);
      return s;
    }
    have += got;
    if (have < cap) {
      free(buf);
      return bnn_error_set(err, BNN_ERR_FORMAT,
                           "%s: truncated: the header promises %zu data bytes after its %zu bytes, found %zu%s",
                           d->name, out->count, header_size, have, how_it_ended(d));
    }
    if (cap == out->count) break;
    size_t cap2 = cap > out->count / 2 ? out->count : cap * 2;
    uint8_t *b = realloc(buf, cap2);
    if (!b) {
      free(buf);
      return bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory for %zu bytes", d->name, cap2);
    }
    buf = b;
    cap = cap2;
  }
  out->data = buf;
  return BNN_OK;
}

/* After the data of a gzip file: nothing more may follow, and the stream
 * must end properly (its trailer holds the CRC). */
static bnn_status check_gzip_end(Decoder *d, const bnn_idx *out, size_t header_size, bnn_error *err) {
  uint8_t extra;
  size_t got;
  bnn_status s = decoder_read(d, &extra, 1, &got, err);
  if (s != BNN_OK) return s;
  if (got)
    return bnn_error_set(err, BNN_ERR_FORMAT,
                         "%s: trailing garbage: the decompressed data is longer than the %zu bytes the header promises",
                         d->name, header_size + out->count);
  if (!d->stream_ended)
    return bnn_error_set(err, BNN_ERR_FORMAT, "%s: truncated: the gzip stream ends without its trailer (checksum)",
                         d->name);
  return BNN_OK;
}

/* Parse `bytes`. When `owned` is a malloc'ed copy of a plain file, its
 * memory is reused for the data instead of copied. */
static bnn_status idx_parse(const uint8_t *bytes, size_t size, uint8_t *owned, const char *name, bnn_idx *out,
                            bnn_error *err) {
  memset(out, 0, sizeof *out);
  Decoder d;
  bnn_status s = decoder_init(&d, bytes, size, name, err);
  if (s != BNN_OK) return s;
  size_t header_size = 0;
  s = parse_header(&d, out, &header_size, err);
  if (s == BNN_OK && d.gzip) {
    s = read_gzip_data(&d, out, header_size, err);
  } else if (s == BNN_OK) {
    size_t found = size - header_size;
    if (found < out->count)
      s = bnn_error_set(err, BNN_ERR_FORMAT,
                        "%s: truncated: the header promises %zu data bytes after its %zu bytes, found %zu", name,
                        out->count, header_size, found);
    else if (found > out->count)
      s = bnn_error_set(err, BNN_ERR_FORMAT,
                        "%s: trailing garbage: %zu extra bytes after the %zu bytes the header promises", name,
                        found - out->count, header_size + out->count);
    else if (owned) {
      memmove(owned, owned + header_size, out->count);
      uint8_t *shrunk = realloc(owned, out->count ? out->count : 1);
      out->data = shrunk ? shrunk : owned;
      owned = NULL;
    } else {
      out->data = malloc(out->count ? out->count : 1);
      if (!out->data) s = bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory for %zu bytes", name, out->count);
      else memcpy(out->data, bytes + header_size, out->count);
    }
  }
  if (s == BNN_OK && d.gzip) s = check_gzip_end(&d, out, header_size, err);
  decoder_end(&d);
  free(owned);
  if (s != BNN_OK) bnn_idx_free(out);
  return s;
}

bnn_status bnn_idx_read_memory(const void *bytes, size_t size, const char *name, bnn_idx *out, bnn_error *err) {
  return idx_parse(bytes, size, NULL, name ? name : "<memory>", out, err);
}

/* Read a whole regular file of at most `limit` bytes. */
static bnn_status read_file(const char *path, uint64_t limit, uint8_t **out, size_t *size, bnn_error *err) {
  *out = NULL;
  *size = 0;
  FILE *fp;
  uint64_t file_size;
  bnn_status s = bnn_open_regular_file(path, &fp, &file_size, err);
  if (s != BNN_OK) return s;
  if (file_size > limit) {
    fclose(fp);
    return bnn_error_set(err, BNN_ERR_LIMIT, "'%s' is %llu bytes, more than the limit of %llu", path,
                         (unsigned long long)file_size, (unsigned long long)limit);
  }
  size_t n = (size_t)file_size;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    fclose(fp);
    return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory reading '%s' (%zu bytes)", path, n);
  }
  size_t got = fread(buf, 1, n, fp);
  int read_error = ferror(fp);
  int e = errno;
  fclose(fp);
  if (read_error || got != n) {
    free(buf);
    if (read_error) return bnn_error_set(err, BNN_ERR_IO, "cannot read '%s': %s", path, strerror(e));
    return bnn_error_set(err, BNN_ERR_IO, "cannot read '%s': it shrank from %zu to %zu bytes while being read", path, n, got);
  }
  *out = buf;
  *size = n;
  return BNN_OK;
}

bnn_status bnn_idx_read(const char *path, bnn_idx *out, bnn_error *err) {
  memset(out, 0, sizeof *out);
  uint8_t *bytes;
  size_t size;
  bnn_status s = read_file(path, IDX_MAX_FILE_BYTES, &bytes, &size, err);
  if (s != BNN_OK) return s;
  if (has_gzip_magic(bytes, size)) {
    s = idx_parse(bytes, size, NULL, path, out, err);
    free(bytes);
    return s;
  }
  return idx_parse(bytes, size, bytes, path, out, err); /* takes `bytes` */
}

void bnn_idx_free(bnn_idx *idx) {
  if (!idx) return;
  free(idx->data);
  memset(idx, 0, sizeof *idx);
}

/* ---- IDX writing --------------------------------------------------------- */

static bnn_status deflate_to(bnn_atomic_file *f, z_stream *z, const uint8_t *p, size_t n, int flush,
                             const char *path, bnn_error *err) {
  uint8_t out[64 * 1024];
  do {
    size_t chunk = n < INFLATE_CHUNK ? n : INFLATE_CHUNK;
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)chunk;
    p += chunk;
    n -= chunk;
    int mode = n == 0 ? flush : Z_NO_FLUSH;
    do {
      z->next_out = out;
      z->avail_out = sizeof out;
      int rc = deflate(z, mode);
      if (rc == Z_STREAM_ERROR) return bnn_error_set(err, BNN_ERR_INTERNAL, "%s: zlib deflate failed", path);
      bnn_status s = bnn_atomic_write(f, out, sizeof out - z->avail_out, err);
      if (s != BNN_OK) return s;
    } while (z->avail_out == 0);
  } while (n > 0);
  return BNN_OK;
}

bnn_status bnn_idx_write(const char *path, int ndim, const uint32_t *dims, const uint8_t *data, bool gzip,
                         bnn_error *err) {
  if (ndim < 1 || ndim > BNN_IDX_MAX_DIMS)
    return bnn_error_set(err, BNN_ERR_ARG, "%s: an IDX file has 1 to %d dimensions, not %d", path,
                         BNN_IDX_MAX_DIMS, ndim);
  uint64_t count = 1;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] != 0 && count > BNN_IDX_MAX_ELEMENTS / dims[i])
      return bnn_error_set(err, BNN_ERR_LIMIT, "%s: IDX data exceeds the limit of %llu elements", path,
                           (unsigned long long)BNN_IDX_MAX_ELEMENTS);
    count *= dims[i];
  }
  if (count > BNN_IDX_MAX_ELEMENTS)
    return bnn_error_set(err, BNN_ERR_LIMIT, "%s: IDX data exceeds the limit of %llu elements", path,
                         (unsigned long long)BNN_IDX_MAX_ELEMENTS);
  uint8_t header[IDX_MAX_HEADER] = {0, 0, IDX_TYPE_U8, (uint8_t)ndim};
  for (int i = 0; i < ndim; i++) {
    header[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
    header[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
    header[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
    header[7 + 4 * i] = (uint8_t)dims[i];
  }
  size_t header_size = 4 + 4 * (size_t)ndim;

  bnn_atomic_file *f;
  bnn_status s = bnn_atomic_open(path, &f, err);
  if (s != BNN_OK) return s;
  if (!gzip) {
    s = bnn_atomic_write(f, header, header_size, err);
    if (s == BNN_OK) s = bnn_atomic_write(f, data, (size_t)count, err);
  } else {
    z_stream z = {0};
    int rc = deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
      s = bnn_error_set(err, rc == Z_MEM_ERROR ? BNN_ERR_NOMEM : BNN_ERR_INTERNAL,
                        "%s: cannot start gzip compression (zlib error %d)", path, rc);
    } else {
      s = deflate_to(f, &z, header, header_size, Z_NO_FLUSH, path, err);
      if (s == BNN_OK) s = deflate_to(f, &z, data, (size_t)count, Z_FINISH, path, err);
      deflateEnd(&z);
    }
  }
  if (s != BNN_OK) {
    bnn_atomic_abort(f);
    return s;
  }
  return bnn_atomic_commit(f, err);
}

/* ---- data sets ----------------------------------------------------------- */

enum { TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS, DATASET_FILES };
static const char *const dataset_file_names[DATASET_FILES] = {
  [TRAIN_IMAGES] = "train-images-idx3-ubyte",
  [TRAIN_LABELS] = "train-labels-idx1-ubyte",
  [TEST_IMAGES] = "t10k-images-idx3-ubyte",
  [TEST_LABELS] = "t10k-labels-idx1-ubyte",
};

static bool is_regular_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/name if it exists, else dir/name.gz if it exists, else NULL. */
static char *find_data_file(const char *dir, const char *name, bnn_status *s, bnn_error *err) {
  size_t n = strlen(dir) + strlen(name) + sizeof("/.gz");
  char *path = malloc(n);
  if (!path) {
    *s = bnn_error_set(err, BNN_ERR_NOMEM, "out of memory loading the data set in '%s'", dir);
    return NULL;
  }
  snprintf(path, n, "%s/%s", dir, name);
  if (is_regular_file(path)) return path;
  snprintf(path, n, "%s/%s.gz", dir, name);
  if (is_regular_file(path)) return path;
  free(path);
  return NULL;
}

static bnn_status check_labels(const bnn_idx *labels, int num_classes, const char *path, bnn_error *err) {
  size_t first_bad = SIZE_MAX;
  unsigned max = 0;
  for (size_t i = 0; i < labels->count; i++) {
    if (labels->data[i] >= num_classes && first_bad == SIZE_MAX) first_bad = i;
    if (labels->data[i] > max) max = labels->data[i];
  }
  if (first_bad == SIZE_MAX) return BNN_OK;
  return bnn_error_set(err, BNN_ERR_FORMAT,
                       "%s: label %u at index %zu is out of range for %d classes (largest label in the file: %u)",
                       path, labels->data[first_bad], first_bad, num_classes, max);
}

static bnn_status check_dataset(const bnn_dataset *ds, char *const paths[DATASET_FILES], int num_classes,
                                bnn_error *err) {
  for (int set = 0; set < 2; set++) {
    const bnn_idx *images = &ds->files[set ? TEST_IMAGES : TRAIN_IMAGES];
    const bnn_idx *labels = &ds->files[set ? TEST_LABELS : TRAIN_LABELS];
    const char *ipath = paths[set ? TEST_IMAGES : TRAIN_IMAGES], *lpath = paths[set ? TEST_LABELS : TRAIN_LABELS];
    if (images->ndim < 2)
      return bnn_error_set(err, BNN_ERR_SHAPE, "%s: images must have at least 2 dimensions [n, features...], found %d",
                           ipath, images->ndim);
    if (labels->ndim != 1)
      return bnn_error_set(err, BNN_ERR_SHAPE, "%s: labels must have 1 dimension [n], found %d", lpath, labels->ndim);
    if (images->dims[0] != labels->dims[0])
      return bnn_error_set(err, BNN_ERR_SHAPE, "%s has %u images but %s has %u labels", ipath,
                           (unsigned)images->dims[0], lpath, (unsigned)labels->dims[0]);
    if (images->dims[0] == 0) return bnn_error_set(err, BNN_ERR_FORMAT, "%s: has no images", ipath);
    bnn_status s = check_labels(labels, num_classes, lpath, err);
    if (s != BNN_OK) return s;
  }
  const bnn_idx *train = &ds->files[TRAIN_IMAGES], *test = &ds->files[TEST_IMAGES];
  bool same = train->ndim == test->ndim;
  for (int i = 1; same && i < train->ndim; i++) same = train->dims[i] == test->dims[i];
  if (!same) {
    char a[160], b[160];
    format_dims(a, sizeof a, train->ndim - 1, train->dims + 1);
    format_dims(b, sizeof b, test->ndim - 1, test->dims + 1);
    return bnn_error_set(err, BNN_ERR_SHAPE, "training images are %s but test images are %s (%s, %s)", a, b,
                         paths[TRAIN_IMAGES], paths[TEST_IMAGES]);
  }
  return BNN_OK;
}

bnn_status bnn_dataset_load(const char *dir, int num_classes, bnn_dataset *out, bnn_error *err) {
  memset(out, 0, sizeof *out);
  bool is_default = dir == NULL;
  if (!dir) dir = BNN_DEFAULT_DATA_DIR;
  if (num_classes == 0) num_classes = BNN_DEFAULT_NUM_CLASSES;
  if (num_classes < 1 || num_classes > 256)
    return bnn_error_set(err, BNN_ERR_ARG, "number of classes must be 1 to 256 for u8 labels, not %d", num_classes);

  struct stat st;
  if (stat(dir, &st) != 0) {
    if (is_default)
      return bnn_error_set(err, BNN_ERR_NOT_FOUND,
                           "the default data set directory '%s' does not exist: install it with: "
                           "apt-get install dataset-fashion-mnist, or pass --data DIR",
                           dir);
    return bnn_error_set(err, BNN_ERR_NOT_FOUND, "data directory '%s': %s", dir, strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return bnn_error_set(err, BNN_ERR_ARG, "data directory '%s' is not a directory", dir);

  char *paths[DATASET_FILES] = {0};
  bnn_status s = BNN_OK;
  char missing[400] = "";
  for (int i = 0; i < DATASET_FILES && s == BNN_OK; i++) {
    paths[i] = find_data_file(dir, dataset_file_names[i], &s, err);
    if (!paths[i] && s == BNN_OK) {
      size_t used = strlen(missing);
      snprintf(missing + used, sizeof missing - used, "%s%s[.gz]", used ? ", " : "", dataset_file_names[i]);
    }
  }
  if (s == BNN_OK && missing[0])
    s = bnn_error_set(err, BNN_ERR_NOT_FOUND, "data directory '%s' lacks %s%s", dir, missing,
                      is_default ? " (reinstall it with: apt-get install --reinstall dataset-fashion-mnist, or pass --data DIR)" : "");
  for (int i = 0; i < DATASET_FILES && s == BNN_OK; i++) s = bnn_idx_read(paths[i], &out->files[i], err);
  if (s == BNN_OK) s = check_dataset(out, paths, num_classes, err);
  for (int i = 0; i < DATASET_FILES; i++) free(paths[i]);
  if (s != BNN_OK) {
    bnn_dataset_free(out);
    return s;
  }
  const bnn_idx *train = &out->files[TRAIN_IMAGES];
  out->n_train = train->dims[0];
  out->n_test = out->files[TEST_IMAGES].dims[0];
  out->image_size = (int64_t)(train->count / train->dims[0]);
  out->rows = train->ndim >= 3 ? train->dims[1] : 1;
  out->cols = out->image_size / (out->rows ? out->rows : 1);
  out->train_images = train->data;
  out->train_labels = out->files[TRAIN_LABELS].data;
  out->test_images = out->files[TEST_IMAGES].data;
  out->test_labels = out->files[TEST_LABELS].data;
  return BNN_OK;
}

void bnn_dataset_free(bnn_dataset *ds) {
  if (!ds) return;
  for (int i = 0; i < DATASET_FILES; i++) bnn_idx_free(&ds->files[i]);
  memset(ds, 0, sizeof *ds);
}
