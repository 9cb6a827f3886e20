/* safetensors.c: reading, checking and writing .safetensors weight files.
 *
 * Format (https://github.com/huggingface/safetensors): u64 little-endian N,
 * N bytes of JSON header, then the data area. The reader validates the whole
 * header before it allocates for tensor data: header length against the file
 * and BNN_ST_MAX_HEADER_BYTES, strict JSON (json.c), each entry's dtype,
 * shape (overflow-checked, at most BNN_ST_MAX_ELEMENTS) and data_offsets
 * (inside the data area, span = elements x dtype size, no two tensors
 * overlapping). Only then does it read F32 data, converting little-endian
 * bytes to host floats into one aligned block.
 *
 * The writer produces what the reference Python/Rust library produces for F32
 * tensors: "__metadata__" first, tensors sorted by name with contiguous data
 * in that order, header padded with spaces to a multiple of 8. */
#define _POSIX_C_SOURCE 200809L

#include "bnn/io.h"

#include "file_open.h"
#include "json.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define METADATA_KEY "__metadata__"
#define NUM_BATCHES_TRACKED ".num_batches_tracked"

static const struct {
  const char *name;
  size_t size; /* bytes per element */
} dtype_info[] = {
  [BNN_ST_F32] = {"F32", 4},       [BNN_ST_F64] = {"F64", 8},         [BNN_ST_F16] = {"F16", 2},
  [BNN_ST_BF16] = {"BF16", 2},     [BNN_ST_F8_E4M3] = {"F8_E4M3", 1}, [BNN_ST_F8_E5M2] = {"F8_E5M2", 1},
  [BNN_ST_I64] = {"I64", 8},       [BNN_ST_I32] = {"I32", 4},         [BNN_ST_I16] = {"I16", 2},
  [BNN_ST_I8] = {"I8", 1},         [BNN_ST_U64] = {"U64", 8},         [BNN_ST_U32] = {"U32", 4},
  [BNN_ST_U16] = {"U16", 2},       [BNN_ST_U8] = {"U8", 1},           [BNN_ST_BOOL] = {"BOOL", 1},
};
static_assert(sizeof dtype_info / sizeof dtype_info[0] == BNN_ST_DTYPE_COUNT, "dtype_info must cover every bnn_st_dtype");

const char *bnn_st_dtype_name(bnn_st_dtype dtype) {
  return (unsigned)dtype < BNN_ST_DTYPE_COUNT ? dtype_info[dtype].name : "?";
}

static bool host_is_little_endian(void) {
  const uint32_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

static void swap_bytes32(void *p, size_t count) {
  unsigned char *b = p;
  for (size_t i = 0; i < count; i++, b += 4) {
    unsigned char t0 = b[0], t1 = b[1];
    b[0] = b[3];
    b[1] = b[2];
    b[2] = t1;
    b[3] = t0;
  }
}

/* ---- growable text buffer (header JSON, check reports) -------------------- */

typedef struct TextBuf {
  char *p;
  size_t len, cap;
  bool failed; /* an allocation failed; the text is incomplete */
} TextBuf;

static void text_reserve(TextBuf *t, size_t extra) {
  if (t->failed) return;
  if (extra > SIZE_MAX / 2 - t->len) {
    t->failed = true;
    return;
  }
  size_t need = t->len + extra + 1;
  if (need <= t->cap) return;
  size_t cap = t->cap ? t->cap : 256;
  while (cap < need) cap *= 2;
  char *p = realloc(t->p, cap);
  if (!p) {
    t->failed = true;
    return;
  }
  t->p = p;
  t->cap = cap;
}

static void text_append(TextBuf *t, const char *s, size_t n) {
  text_reserve(t, n);
  if (t->failed) return;
  memcpy(t->p + t->len, s, n);
  t->len += n;
  t->p[t->len] = '\0';
}

static void text_cstr(TextBuf *t, const char *s) { text_append(t, s, strlen(s)); }

static void text_printf(TextBuf *t, const char *fmt, ...) BNN_PRINTF(2, 3);
static void text_printf(TextBuf *t, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    t->failed = true;
    return;
  }
  if ((size_t)n < sizeof small) {
    text_append(t, small, (size_t)n);
    return;
  }
  text_reserve(t, (size_t)n);
  if (t->failed) return;
  va_start(ap, fmt);
  vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
}

/* A JSON string literal for s. */
static void text_json_string(TextBuf *t, const char *s) {
  text_append(t, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"') text_append(t, "\\\"", 2);
    else if (c == '\\') text_append(t, "\\\\", 2);
    else if (c == '\n') text_append(t, "\\n", 2);
    else if (c == '\t') text_append(t, "\\t", 2);
    else if (c == '\r') text_append(t, "\\r", 2);
    else if (c < 0x20) text_printf(t, "\\u%04x", c);
    else text_append(t, (const char *)&c, 1);
  }
  text_append(t, "\"", 1);
}

/* "[2048, 784]" */
static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape) {
  size_t used = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < ndim && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (used < size) snprintf(buf + used, size - used, "]");
}

/* ---- reading ---------------------------------------------------------------- */

struct bnn_st_file {
  char *name;              /* file name for messages */
  bnn_st_tensor *tensors;  /* [count], sorted by name */
  size_t count;
  const char **meta_keys;  /* [meta_count] */
  const char **meta_values;
  size_t meta_count;
  char *strings;           /* tensor names, metadata keys and values */
  float *data;             /* all F32 tensor data */
};

/* Where the bytes come from: an open file or memory. */
typedef struct Source {
  const char *name;
  FILE *fp;
  const uint8_t *mem;
  uint64_t size;
} Source;

static bnn_status source_read(const Source *src, uint64_t offset, void *dst, size_t n, bnn_error *err) {
  if (n == 0) return BNN_OK;
  if (src->mem) {
    memcpy(dst, src->mem + offset, n);
    return BNN_OK;
  }
  if (fseeko(src->fp, (off_t)offset, SEEK_SET) != 0)
    return bnn_error_set(err, BNN_ERR_IO, "%s: cannot seek to byte %llu: %s", src->name, (unsigned long long)offset,
                         strerror(errno));
  size_t got = fread(dst, 1, n, src->fp);
  if (got != n) {
    if (ferror(src->fp))
      return bnn_error_set(err, BNN_ERR_IO, "%s: cannot read: %s", src->name, strerror(errno));
    return bnn_error_set(err, BNN_ERR_IO, "%s: the file shrank while being read", src->name);
  }
  return BNN_OK;
}

/* One header entry while validating. */
typedef struct Entry {
  const JsonMember *member;
  bnn_st_dtype dtype;
  int ndim;
  int64_t shape[BNN_ST_MAX_DIMS];
  int64_t numel;
  uint64_t begin, end; /* within the data area */
} Entry;

/* "FILE: tensor 'NAME': <message>" */
static bnn_status bad_entry(bnn_error *err, const Source *src, const JsonMember *m, bnn_status s, const char *fmt,
                            ...) BNN_PRINTF(5, 6);
static bnn_status bad_entry(bnn_error *err, const Source *src, const JsonMember *m, bnn_status s, const char *fmt,
                            ...) {
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return bnn_error_set(err, s, "%s: tensor '%.80s': %s", src->name, m->key, what);
}

static bool lookup_dtype(const char *name, bnn_st_dtype *out) {
  for (int i = 0; i < BNN_ST_DTYPE_COUNT; i++) {
    if (strcmp(dtype_info[i].name, name) == 0) {
      *out = (bnn_st_dtype)i;
      return true;
    }
  }
  return false;
}

static bnn_status parse_entry(const Source *src, const JsonMember *m, uint64_t data_size, Entry *e, bnn_error *err) {
  const JsonValue *v = &m->value;
  e->member = m;
  if (v->kind != JSON_OBJECT)
    return bad_entry(err, src, m, BNN_ERR_FORMAT, "expected an object with dtype, shape and data_offsets, found %s",
                     json_kind_name(v->kind));
  for (size_t i = 0; i < v->as.object.count; i++) {
    const char *k = v->as.object.members[i].key;
    if (strcmp(k, "dtype") != 0 && strcmp(k, "shape") != 0 && strcmp(k, "data_offsets") != 0)
      return bad_entry(err, src, m, BNN_ERR_FORMAT, "unknown field \"%.60s\"", k);
  }
  const JsonValue *dtype = json_object_get(v, "dtype");
  const JsonValue *shape = json_object_get(v, "shape");
  const JsonValue *offsets = json_object_get(v, "data_offsets");
  if (!dtype || !shape || !offsets)
    return bad_entry(err, src, m, BNN_ERR_FORMAT, "missing field \"%s\"", !dtype ? "dtype" : !shape ? "shape" : "data_offsets");

  if (dtype->kind != JSON_STRING) return bad_entry(err, src, m, BNN_ERR_FORMAT, "dtype must be a string");
  if (!lookup_dtype(dtype->as.string.chars, &e->dtype))
    return bad_entry(err, src, m, BNN_ERR_FORMAT, "unknown dtype \"%.40s\"", dtype->as.string.chars);

  if (shape->kind != JSON_ARRAY) return bad_entry(err, src, m, BNN_ERR_FORMAT, "shape must be an array");
  if (shape->as.array.count > BNN_ST_MAX_DIMS)
    return bad_entry(err, src, m, BNN_ERR_LIMIT, "shape has %zu dimensions, more than the limit of %d",
                     shape->as.array.count, BNN_ST_MAX_DIMS);
  e->ndim = (int)shape->as.array.count;
  bool has_zero = false;
  for (int i = 0; i < e->ndim; i++) {
    const JsonValue *d = &shape->as.array.items[i];
    if (d->kind != JSON_NUMBER || !d->as.number.is_uint || d->as.number.uint_value > (uint64_t)INT64_MAX)
      return bad_entry(err, src, m, BNN_ERR_FORMAT, "shape must hold non-negative integers");
    e->shape[i] = (int64_t)d->as.number.uint_value;
    if (e->shape[i] == 0) has_zero = true;
  }
  uint64_t numel = has_zero ? 0 : 1;
  for (int i = 0; i < e->ndim && !has_zero; i++) {
    uint64_t dim = (uint64_t)e->shape[i];
    if (numel > (uint64_t)BNN_ST_MAX_ELEMENTS / dim) {
      char text[200];
      format_shape(text, sizeof text, e->ndim, e->shape);
      return bad_entry(err, src, m, BNN_ERR_LIMIT, "shape %s has more than the limit of %lld elements", text,
                       (long long)BNN_ST_MAX_ELEMENTS);
    }
    numel *= dim;
  }
  e->numel = (int64_t)numel;

  if (offsets->kind != JSON_ARRAY || offsets->as.array.count != 2 ||
      offsets->as.array.items[0].kind != JSON_NUMBER || !offsets->as.array.items[0].as.number.is_uint ||
      offsets->as.array.items[1].kind != JSON_NUMBER || !offsets->as.array.items[1].as.number.is_uint)
    return bad_entry(err, src, m, BNN_ERR_FORMAT, "data_offsets must be [BEGIN, END] with non-negative integers");
  e->begin = offsets->as.array.items[0].as.number.uint_value;
  e->end = offsets->as.array.items[1].as.number.uint_value;
  if (e->begin > e->end)
    return bad_entry(err, src, m, BNN_ERR_FORMAT, "data_offsets [%llu, %llu] end before they begin",
                     (unsigned long long)e->begin, (unsigned long long)e->end);
  if (e->end > data_size)
    return bad_entry(err, src, m, BNN_ERR_FORMAT,
                     "data_offsets [%llu, %llu] lie outside the data area of %llu bytes (file truncated?)",
                     (unsigned long long)e->begin, (unsigned long long)e->end, (unsigned long long)data_size);
  uint64_t need = numel * dtype_info[e->dtype].size; /* <= 2^31 * 8: no overflow */
  if (e->end - e->begin != need) {
    char s[200];
    format_shape(s, sizeof s, e->ndim, e->shape);
    return bad_entry(err, src, m, BNN_ERR_FORMAT, "shape %s of dtype %s needs %llu bytes but data_offsets [%llu, %llu] span %llu",
                     s, dtype_info[e->dtype].name, (unsigned long long)need, (unsigned long long)e->begin,
                     (unsigned long long)e->end, (unsigned long long)(e->end - e->begin));
  }
  return BNN_OK;
}

static int compare_entries_by_offset(const void *a, const void *b) {
  const Entry *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return (x->end > y->end) - (x->end < y->end);
}

static int compare_tensors_by_name(const void *a, const void *b) {
  return strcmp(((const bnn_st_tensor *)a)->name, ((const bnn_st_tensor *)b)->name);
}

static bnn_status check_metadata(const Source *src, const JsonValue *meta, size_t *strings_size, bnn_error *err) {
  if (meta->kind != JSON_OBJECT)
    return bnn_error_set(err, BNN_ERR_FORMAT, "%s: __metadata__ must be an object of strings, found %s", src->name,
                         json_kind_name(meta->kind));
  for (size_t i = 0; i < meta->as.object.count; i++) {
    const JsonMember *m = &meta->as.object.members[i];
    if (m->value.kind != JSON_STRING)
      return bnn_error_set(err, BNN_ERR_FORMAT, "%s: __metadata__ entry \"%.80s\" must be a string, found %s",
                           src->name, m->key, json_kind_name(m->value.kind));
    if (strlen(m->key) != m->key_len || strlen(m->value.as.string.chars) != m->value.as.string.len)
      return bnn_error_set(err, BNN_ERR_FORMAT, "%s: __metadata__ entry \"%.80s\" contains a NUL character",
                           src->name, m->key);
    *strings_size += m->key_len + 1 + m->value.as.string.len + 1;
  }
  return BNN_OK;
}

/* Build the file from a validated header: names, metadata and F32 data. */
static bnn_status load_tensors(const Source *src, const JsonValue *meta, Entry *entries, size_t count,
                               size_t strings_size, uint64_t data_start, bnn_st_file *f, bnn_error *err) {
  size_t n_meta = meta ? meta->as.object.count : 0;
  size_t total_f32 = 0;
  for (size_t i = 0; i < count; i++)
    if (entries[i].dtype == BNN_ST_F32) total_f32 += (size_t)entries[i].numel;
  f->tensors = calloc(count ? count : 1, sizeof *f->tensors);
  f->meta_keys = calloc(n_meta ? n_meta : 1, sizeof *f->meta_keys);
  f->meta_values = calloc(n_meta ? n_meta : 1, sizeof *f->meta_values);
  f->strings = malloc(strings_size ? strings_size : 1);
  f->data = malloc(total_f32 ? total_f32 * sizeof(float) : sizeof(float));
  if (!f->tensors || !f->meta_keys || !f->meta_values || !f->strings || !f->data)
    return bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory loading %zu tensors (%zu floats)", src->name, count,
                         total_f32);
  char *str = f->strings;
  for (size_t i = 0; i < n_meta; i++) {
    const JsonMember *m = &meta->as.object.members[i];
    f->meta_keys[i] = memcpy(str, m->key, m->key_len + 1);
    str += m->key_len + 1;
    f->meta_values[i] = memcpy(str, m->value.as.string.chars, m->value.as.string.len + 1);
    str += m->value.as.string.len + 1;
  }
  f->meta_count = n_meta;
  float *next = f->data;
  for (size_t i = 0; i < count; i++) {
    const Entry *e = &entries[i];
    bnn_st_tensor *t = &f->tensors[i];
    t->name = memcpy(str, e->member->key, e->member->key_len + 1);
    str += e->member->key_len + 1;
    t->dtype = e->dtype;
    t->ndim = e->ndim;
    memcpy(t->shape, e->shape, sizeof t->shape);
    t->numel = e->numel;
    if (e->dtype != BNN_ST_F32) continue;
    bnn_status s = source_read(src, data_start + e->begin, next, (size_t)(e->end - e->begin), err);
    if (s != BNN_OK) return s;
    if (!host_is_little_endian()) swap_bytes32(next, (size_t)e->numel);
    t->data = next;
    next += e->numel;
  }
  f->count = count;
  qsort(f->tensors, count, sizeof *f->tensors, compare_tensors_by_name);
  return BNN_OK;
}

static bnn_status validate_and_load(const Source *src, const char *header, uint64_t header_len, bnn_st_file *f,
                                    bnn_error *err) {
  JsonDoc *doc;
  JsonError jerr;
  if (json_parse(header, (size_t)header_len, &doc, &jerr) != 0) {
    bnn_status s = jerr.failure == JSON_FAIL_NOMEM ? BNN_ERR_NOMEM
                   : jerr.failure == JSON_FAIL_LIMIT ? BNN_ERR_LIMIT : BNN_ERR_FORMAT;
    return bnn_error_set(err, s, "%s: header is not valid JSON: %s (header byte %zu, line %zu, column %zu)",
                         src->name, jerr.msg, jerr.offset, jerr.line, jerr.col);
  }
  const JsonValue *root = json_root(doc);
  bnn_status s = BNN_OK;
  Entry *entries = NULL;
  size_t count = 0, strings_size = 0;
  const JsonValue *meta = NULL;
  uint64_t data_start = 8 + header_len, data_size = src->size - data_start;
  if (root->kind != JSON_OBJECT) {
    s = bnn_error_set(err, BNN_ERR_FORMAT, "%s: header must be a JSON object, found %s", src->name,
                      json_kind_name(root->kind));
    goto done;
  }
  entries = malloc((root->as.object.count ? root->as.object.count : 1) * sizeof *entries);
  if (!entries) {
    s = bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory reading the header", src->name);
    goto done;
  }
  for (size_t i = 0; i < root->as.object.count && s == BNN_OK; i++) {
    const JsonMember *m = &root->as.object.members[i];
    if (strcmp(m->key, METADATA_KEY) == 0 && m->key_len == strlen(METADATA_KEY)) {
      meta = &m->value;
      s = check_metadata(src, meta, &strings_size, err);
    } else if (strlen(m->key) != m->key_len) {
      s = bad_entry(err, src, m, BNN_ERR_FORMAT, "name contains a NUL character");
    } else {
      s = parse_entry(src, m, data_size, &entries[count], err);
      strings_size += m->key_len + 1;
      count++;
    }
  }
  if (s != BNN_OK) goto done;

  /* No two tensors may share bytes (empty tensors take none). */
  qsort(entries, count, sizeof *entries, compare_entries_by_offset);
  const Entry *last = NULL;
  for (size_t i = 0; i < count; i++) {
    const Entry *e = &entries[i];
    if (e->begin == e->end) continue;
    if (last && e->begin < last->end) {
      s = bnn_error_set(err, BNN_ERR_FORMAT, "%s: tensors '%.80s' (bytes %llu..%llu) and '%.80s' (bytes %llu..%llu) overlap",
                        src->name, last->member->key, (unsigned long long)last->begin, (unsigned long long)last->end,
                        e->member->key, (unsigned long long)e->begin, (unsigned long long)e->end);
      goto done;
    }
    last = e;
  }
  s = load_tensors(src, meta, entries, count, strings_size, data_start, f, err);
done:
  free(entries);
  json_free(doc);
  return s;
}

static bnn_status st_read(const Source *src, bnn_st_file **out, bnn_error *err) {
  *out = NULL;
  uint8_t len_bytes[8];
  if (src->size < 8)
    return bnn_error_set(err, BNN_ERR_FORMAT, "%s: truncated: %llu bytes, too short for the 8-byte header length",
                         src->name, (unsigned long long)src->size);
  bnn_status s = source_read(src, 0, len_bytes, 8, err);
  if (s != BNN_OK) return s;
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = header_len << 8 | len_bytes[i];
  if (header_len > src->size - 8)
    return bnn_error_set(err, BNN_ERR_FORMAT,
                         "%s: header length %llu is larger than the rest of the file (%llu bytes): "
                         "truncated or not a safetensors file",
                         src->name, (unsigned long long)header_len, (unsigned long long)(src->size - 8));
  if (header_len > BNN_ST_MAX_HEADER_BYTES)
    return bnn_error_set(err, BNN_ERR_LIMIT, "%s: header length %llu is more than the limit of %llu bytes", src->name,
                         (unsigned long long)header_len, (unsigned long long)BNN_ST_MAX_HEADER_BYTES);
  char *header = malloc(header_len ? (size_t)header_len : 1);
  bnn_st_file *f = calloc(1, sizeof *f);
  if (f) f->name = malloc(strlen(src->name) + 1);
  if (!header || !f || !f->name) {
    free(header);
    bnn_st_close(f);
    return bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory reading a %llu-byte header", src->name,
                         (unsigned long long)header_len);
  }
  strcpy(f->name, src->name);
  s = source_read(src, 8, header, (size_t)header_len, err);
  if (s == BNN_OK) s = validate_and_load(src, header, header_len, f, err);
  free(header);
  if (s != BNN_OK) {
    bnn_st_close(f);
    return s;
  }
  *out = f;
  return BNN_OK;
}

bnn_status bnn_st_read_memory(const void *bytes, size_t size, const char *name, bnn_st_file **out, bnn_error *err) {
  Source src = {.name = name ? name : "<memory>", .mem = bytes, .size = size};
  if (!bytes && size) return bnn_error_set(err, BNN_ERR_ARG, "bnn_st_read_memory: NULL bytes");
  static const uint8_t empty[1];
  if (!bytes) src.mem = empty;
  return st_read(&src, out, err);
}

bnn_status bnn_st_read(const char *path, bnn_st_file **out, bnn_error *err) {
  *out = NULL;
  FILE *fp;
  uint64_t size;
  bnn_status s = bnn_open_regular_file(path, &fp, &size, err);
  if (s != BNN_OK) return s;
  Source src = {.name = path, .fp = fp, .size = size};
  s = st_read(&src, out, err);
  fclose(fp);
  return s;
}

void bnn_st_close(bnn_st_file *f) {
  if (!f) return;
  free(f->name);
  free(f->tensors);
  free(f->meta_keys);
  free(f->meta_values);
  free(f->strings);
  free(f->data);
  free(f);
}

size_t bnn_st_count(const bnn_st_file *f) { return f->count; }

const bnn_st_tensor *bnn_st_at(const bnn_st_file *f, size_t i) { return i < f->count ? &f->tensors[i] : NULL; }

const bnn_st_tensor *bnn_st_find(const bnn_st_file *f, const char *name) {
  bnn_st_tensor key = {.name = name};
  return bsearch(&key, f->tensors, f->count, sizeof *f->tensors, compare_tensors_by_name);
}

static bool same_shape(const bnn_st_tensor *t, int ndim, const int64_t *shape) {
  if (t->ndim != ndim) return false;
  for (int i = 0; i < ndim; i++)
    if (t->shape[i] != shape[i]) return false;
  return true;
}

bnn_status bnn_st_get_f32(const bnn_st_file *f, const char *name, int ndim, const int64_t *shape,
                          const float **data, bnn_error *err) {
  *data = NULL;
  const bnn_st_tensor *t = bnn_st_find(f, name);
  if (!t) return bnn_error_set(err, BNN_ERR_NOT_FOUND, "%s: no tensor named '%s'", f->name, name);
  if (t->dtype != BNN_ST_F32)
    return bnn_error_set(err, BNN_ERR_UNSUPPORTED, "%s: %s: dtype %s is not supported (expected F32)", f->name, name,
                         bnn_st_dtype_name(t->dtype));
  if (ndim < 0 || ndim > BNN_ST_MAX_DIMS || !same_shape(t, ndim, shape)) {
    char want[200], have[200];
    format_shape(want, sizeof want, ndim < 0 ? 0 : ndim > BNN_ST_MAX_DIMS ? BNN_ST_MAX_DIMS : ndim, shape);
    format_shape(have, sizeof have, t->ndim, t->shape);
    return bnn_error_set(err, BNN_ERR_SHAPE, "%s: %s: expected %s, file has %s", f->name, name, want, have);
  }
  *data = t->data;
  return BNN_OK;
}

size_t bnn_st_metadata_count(const bnn_st_file *f) { return f->meta_count; }

void bnn_st_metadata_at(const bnn_st_file *f, size_t i, const char **key, const char **value) {
  *key = i < f->meta_count ? f->meta_keys[i] : NULL;
  *value = i < f->meta_count ? f->meta_values[i] : NULL;
}

const char *bnn_st_metadata_get(const bnn_st_file *f, const char *key) {
  for (size_t i = 0; i < f->meta_count; i++)
    if (strcmp(f->meta_keys[i], key) == 0) return f->meta_values[i];
  return NULL;
}

/* ---- checking against a model ------------------------------------------- */

static bool is_num_batches_tracked(const char *name) {
  size_t n = strlen(name), k = strlen(NUM_BATCHES_TRACKED);
  return n >= k && strcmp(name + n - k, NUM_BATCHES_TRACKED) == 0;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bnn_status bnn_st_check(const bnn_st_file *f, const bnn_st_expect *expected, size_t n_expected, char **report,
                        bnn_error *err) {
  if (report) *report = NULL;
  const char **names = malloc((n_expected ? n_expected : 1) * sizeof *names);
  if (!names) return bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory checking tensors", f->name);
  TextBuf text = {0};
  size_t problems = 0;
  for (size_t i = 0; i < n_expected; i++) {
    const bnn_st_expect *e = &expected[i];
    names[i] = e->name;
    const bnn_st_tensor *t = bnn_st_find(f, e->name);
    char want[200], have[200];
    if (is_num_batches_tracked(e->name)) continue; /* PyTorch's I64 counter: unused, any form accepted */
    if (!t) {
      text_printf(&text, "%smissing tensor \"%s\"", problems++ ? "\n" : "", e->name);
    } else if (t->dtype != BNN_ST_F32) {
      text_printf(&text, "%s%s: dtype %s is not supported (expected F32)", problems++ ? "\n" : "", e->name,
                  bnn_st_dtype_name(t->dtype));
    } else if (e->ndim < 0 || e->ndim > BNN_ST_MAX_DIMS || !same_shape(t, e->ndim, e->shape)) {
      format_shape(want, sizeof want, e->ndim < 0 ? 0 : e->ndim > BNN_ST_MAX_DIMS ? BNN_ST_MAX_DIMS : e->ndim,
                   e->shape);
      format_shape(have, sizeof have, t->ndim, t->shape);
      text_printf(&text, "%s%s: expected %s, file has %s", problems++ ? "\n" : "", e->name, want, have);
    }
  }
  qsort(names, n_expected, sizeof *names, compare_strings);
  for (size_t i = 0; i < f->count; i++) {
    const char *name = f->tensors[i].name;
    if (is_num_batches_tracked(name)) continue;
    if (!bsearch(&name, names, n_expected, sizeof *names, compare_strings))
      text_printf(&text, "%sunexpected tensor \"%s\"", problems++ ? "\n" : "", name);
  }
  free(names);
  if (problems == 0) {
    free(text.p);
    return BNN_OK;
  }
  if (text.failed) {
    free(text.p);
    return bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory checking tensors", f->name);
  }
  bnn_status s = bnn_error_set(err, BNN_ERR_SHAPE, "%s: %zu problem%s with the tensors:\n%s", f->name, problems,
                               problems == 1 ? "" : "s", text.p);
  if (err && strlen(err->msg) == sizeof err->msg - 1) /* cut: say so */
    memcpy(err->msg + sizeof err->msg - 5, "\n...", 5);
  if (report) *report = text.p;
  else free(text.p);
  return s;
}

/* ---- writing ---------------------------------------------------------------- */

typedef struct WriterTensor {
  char *name;
  int ndim;
  int64_t shape[BNN_ST_MAX_DIMS];
  int64_t numel;
  const float *data; /* borrowed */
} WriterTensor;

struct bnn_st_writer {
  WriterTensor *tensors;
  size_t count, cap;
  char **meta_keys, **meta_values;
  size_t meta_count, meta_cap;
};

bnn_status bnn_st_writer_new(bnn_st_writer **out, bnn_error *err) {
  *out = calloc(1, sizeof **out);
  return *out ? BNN_OK : bnn_error_set(err, BNN_ERR_NOMEM, "out of memory creating a safetensors writer");
}

void bnn_st_writer_free(bnn_st_writer *w) {
  if (!w) return;
  for (size_t i = 0; i < w->count; i++) free(w->tensors[i].name);
  for (size_t i = 0; i < w->meta_count; i++) {
    free(w->meta_keys[i]);
    free(w->meta_values[i]);
  }
  free(w->tensors);
  free(w->meta_keys);
  free(w->meta_values);
  free(w);
}

static char *dup_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  return c ? memcpy(c, s, n) : NULL;
}

static bnn_status check_text(const char *what, const char *s, bnn_error *err) {
  if (!s) return bnn_error_set(err, BNN_ERR_ARG, "safetensors %s is NULL", what);
  if (!json_is_valid_utf8(s, strlen(s)))
    return bnn_error_set(err, BNN_ERR_ARG, "safetensors %s \"%.80s\" is not valid UTF-8", what, s);
  return BNN_OK;
}

bnn_status bnn_st_writer_add(bnn_st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data,
                             bnn_error *err) {
  bnn_status s = check_text("tensor name", name, err);
  if (s != BNN_OK) return s;
  if (!*name || strcmp(name, METADATA_KEY) == 0)
    return bnn_error_set(err, BNN_ERR_ARG, "\"%s\" cannot be a tensor name", name);
  if (ndim < 0 || ndim > BNN_ST_MAX_DIMS)
    return bnn_error_set(err, BNN_ERR_ARG, "tensor '%s': %d dimensions, the limit is %d", name, ndim, BNN_ST_MAX_DIMS);
  int64_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return bnn_error_set(err, BNN_ERR_ARG, "tensor '%s': negative dimension %lld", name, (long long)shape[i]);
    if (shape[i] != 0 && numel > BNN_ST_MAX_ELEMENTS / shape[i])
      return bnn_error_set(err, BNN_ERR_LIMIT, "tensor '%s': more than the limit of %lld elements", name,
                           (long long)BNN_ST_MAX_ELEMENTS);
    numel *= shape[i];
  }
  if (numel > 0 && !data) return bnn_error_set(err, BNN_ERR_ARG, "tensor '%s': data is NULL", name);
  for (size_t i = 0; i < w->count; i++)
    if (strcmp(w->tensors[i].name, name) == 0)
      return bnn_error_set(err, BNN_ERR_ARG, "tensor '%s' added twice", name);
  if (w->count == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 16;
    WriterTensor *t = realloc(w->tensors, cap * sizeof *t);
    if (!t) return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory adding tensor '%s'", name);
    w->tensors = t;
    w->cap = cap;
  }
  WriterTensor *t = &w->tensors[w->count];
  memset(t, 0, sizeof *t);
  t->name = dup_string(name);
  if (!t->name) return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory adding tensor '%s'", name);
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
  t->numel = numel;
  t->data = data;
  w->count++;
  return BNN_OK;
}

bnn_status bnn_st_writer_set_metadata(bnn_st_writer *w, const char *key, const char *value, bnn_error *err) {
  bnn_status s = check_text("metadata key", key, err);
  if (s == BNN_OK) s = check_text("metadata value", value, err);
  if (s != BNN_OK) return s;
  char *v = dup_string(value);
  if (!v) return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory setting metadata '%s'", key);
  for (size_t i = 0; i < w->meta_count; i++) {
    if (strcmp(w->meta_keys[i], key) == 0) {
      free(w->meta_values[i]);
      w->meta_values[i] = v;
      return BNN_OK;
    }
  }
  if (w->meta_count == w->meta_cap) {
    size_t cap = w->meta_cap ? 2 * w->meta_cap : 8;
    char **k = realloc(w->meta_keys, cap * sizeof *k);
    if (k) w->meta_keys = k;
    char **vs = k ? realloc(w->meta_values, cap * sizeof *vs) : NULL;
    if (vs) w->meta_values = vs;
    if (!k || !vs) {
      free(v);
      return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory setting metadata '%s'", key);
    }
    w->meta_cap = cap;
  }
  w->meta_keys[w->meta_count] = dup_string(key);
  if (!w->meta_keys[w->meta_count]) {
    free(v);
    return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory setting metadata '%s'", key);
  }
  w->meta_values[w->meta_count++] = v;
  return BNN_OK;
}

static int compare_writer_tensors(const void *a, const void *b) {
  return strcmp(((const WriterTensor *)a)->name, ((const WriterTensor *)b)->name);
}

/* The header JSON, padded with spaces to a multiple of 8 bytes. */
static void build_header(const bnn_st_writer *w, TextBuf *t) {
  text_append(t, "{", 1);
  bool first = true;
  if (w->meta_count) {
    text_cstr(t, "\"" METADATA_KEY "\":{");
    for (size_t i = 0; i < w->meta_count; i++) {
      if (i) text_append(t, ",", 1);
      text_json_string(t, w->meta_keys[i]);
      text_append(t, ":", 1);
      text_json_string(t, w->meta_values[i]);
    }
    text_append(t, "}", 1);
    first = false;
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < w->count; i++) {
    const WriterTensor *x = &w->tensors[i];
    if (!first) text_append(t, ",", 1);
    first = false;
    text_json_string(t, x->name);
    text_cstr(t, ":{\"dtype\":\"F32\",\"shape\":[");
    for (int d = 0; d < x->ndim; d++) text_printf(t, d ? ",%lld" : "%lld", (long long)x->shape[d]);
    uint64_t size = (uint64_t)x->numel * 4;
    text_printf(t, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset, (unsigned long long)(offset + size));
    offset += size;
  }
  text_append(t, "}", 1);
  while (!t->failed && t->len % 8 != 0) text_append(t, " ", 1);
}

static bnn_status write_floats(bnn_atomic_file *af, const float *data, int64_t numel, bnn_error *err) {
  if (host_is_little_endian()) return bnn_atomic_write(af, data, (size_t)numel * sizeof(float), err);
  float chunk[1024];
  for (int64_t done = 0; done < numel;) {
    size_t n = numel - done < 1024 ? (size_t)(numel - done) : 1024;
    memcpy(chunk, data + done, n * sizeof(float));
    swap_bytes32(chunk, n);
    bnn_status s = bnn_atomic_write(af, chunk, n * sizeof(float), err);
    if (s != BNN_OK) return s;
    done += (int64_t)n;
  }
  return BNN_OK;
}

bnn_status bnn_st_writer_write(bnn_st_writer *w, const char *path, bnn_error *err) {
  if (w->count > 1) qsort(w->tensors, w->count, sizeof *w->tensors, compare_writer_tensors);
  TextBuf header = {0};
  build_header(w, &header);
  if (header.failed) {
    free(header.p);
    return bnn_error_set(err, BNN_ERR_NOMEM, "%s: out of memory building the safetensors header", path);
  }
  uint8_t len_bytes[8];
  for (int i = 0; i < 8; i++) len_bytes[i] = (uint8_t)((uint64_t)header.len >> (8 * i));
  bnn_atomic_file *af = NULL;
  bnn_status s = bnn_atomic_open(path, &af, err);
  if (s == BNN_OK) s = bnn_atomic_write(af, len_bytes, 8, err);
  if (s == BNN_OK) s = bnn_atomic_write(af, header.p, header.len, err);
  for (size_t i = 0; i < w->count && s == BNN_OK; i++) s = write_floats(af, w->tensors[i].data, w->tensors[i].numel, err);
  free(header.p);
  if (s == BNN_OK) return bnn_atomic_commit(af, err);
  if (af) bnn_atomic_abort(af);
  return s;
}
