/* bnn/io.h: files in and out of the runtime.
 *
 *  - IDX data sets (MNIST layout, plain or gzip) and the four-file data set;
 *  - safetensors weights: a validating reader, a writer, and a checker that
 *    compares a file against the tensors a model expects;
 *  - atomic output files: written to a temporary file beside the target,
 *    fsync'ed and renamed over it, so a crash, a full disk or an error never
 *    leaves a half-written target and never damages the previous one.
 *
 * Everything here reads untrusted files: sizes are checked against the limits
 * below before anything is allocated, shape arithmetic is overflow-checked, and
 * every failure is returned as a bnn_status with a message naming the file and
 * what is wrong. See docs/io.md. */
#ifndef BNN_IO_H
#define BNN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- atomic output files --------------------------------------------------
 *
 * bnn_atomic_open creates ".NAME.tmp.XXXXXX" in the target's directory
 * (mode 0666 minus the umask). Writes are buffered; every write(2) is checked,
 * so a short write or ENOSPC is an error. bnn_atomic_commit flushes, fsyncs,
 * renames the temporary file over the target and fsyncs the directory.
 * bnn_atomic_abort removes the temporary file. Both free the handle, whatever
 * happens; commit aborts by itself when it fails or when an earlier write
 * failed. A process killed between open and commit leaves a stale
 * ".NAME.tmp.*" file, but the target is always the old or the new content. */

typedef struct bnn_atomic_file bnn_atomic_file;

bnn_status bnn_atomic_open(const char *path, bnn_atomic_file **out, bnn_error *err);
bnn_status bnn_atomic_write(bnn_atomic_file *f, const void *data, size_t n, bnn_error *err);
bnn_status bnn_atomic_printf(bnn_atomic_file *f, bnn_error *err, const char *fmt, ...) BNN_PRINTF(3, 4);
bnn_status bnn_atomic_commit(bnn_atomic_file *f, bnn_error *err);
void bnn_atomic_abort(bnn_atomic_file *f); /* f may be NULL */
/* The temporary file's path (for messages and tests). */
const char *bnn_atomic_temp_path(const bnn_atomic_file *f);

/* open + write + commit in one call. */
bnn_status bnn_write_file_atomic(const char *path, const void *data, size_t n, bnn_error *err);

/* ---- IDX files ------------------------------------------------------------
 *
 * Layout (big-endian): 0x00 0x00 TYPE NDIM, then NDIM u32 dimensions, then the
 * elements in row-major order. Only TYPE 0x08 (unsigned byte) is read. The
 * file may be gzip-compressed (recognised by its magic, not its name). */

#define BNN_IDX_MAX_DIMS 8
/* Limit on the element count (= bytes, for u8) of one IDX file. */
#define BNN_IDX_MAX_ELEMENTS ((uint64_t)1 << 31)

typedef struct bnn_idx {
  int ndim;
  uint32_t dims[BNN_IDX_MAX_DIMS];
  size_t count;  /* product of dims */
  uint8_t *data; /* [dims[0], ..., dims[ndim-1]] row-major, malloc'ed */
} bnn_idx;

bnn_status bnn_idx_read(const char *path, bnn_idx *out, bnn_error *err);
/* The same checks on a file already in memory; `name` is used in messages. */
bnn_status bnn_idx_read_memory(const void *bytes, size_t size, const char *name, bnn_idx *out,
                               bnn_error *err);
void bnn_idx_free(bnn_idx *idx); /* frees data and zeroes *idx; idx may be NULL */
/* Write a u8 IDX file atomically, gzip-compressed when `gzip` is true. */
bnn_status bnn_idx_write(const char *path, int ndim, const uint32_t *dims, const uint8_t *data, bool gzip,
                         bnn_error *err);

/* ---- data sets -------------------------------------------------------------
 *
 * A directory with train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each plain or with a
 * .gz suffix (the plain file wins when both exist). Images are [n, rows, cols]
 * (any IDX with ndim >= 2: [n, features...]); labels are [n]. */

/* Fashion-MNIST as installed by the Debian package dataset-fashion-mnist. */
#define BNN_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define BNN_DEFAULT_NUM_CLASSES 10

typedef struct bnn_dataset {
  int64_t n_train, n_test;
  int64_t image_size;          /* features per image, e.g. 784 */
  int64_t rows, cols;          /* 28, 28 for 3-d images; rows = 1 for 2-d */
  const uint8_t *train_images; /* [n_train, image_size] */
  const uint8_t *train_labels; /* [n_train], each < num_classes */
  const uint8_t *test_images;  /* [n_test, image_size] */
  const uint8_t *test_labels;  /* [n_test] */
  bnn_idx files[4];            /* owns the memory above */
} bnn_dataset;

/* dir NULL means BNN_DEFAULT_DATA_DIR; num_classes 0 means 10. Checks that
 * images and labels agree in count, that train and test images have the same
 * size and that every label is below num_classes. */
bnn_status bnn_dataset_load(const char *dir, int num_classes, bnn_dataset *out, bnn_error *err);
void bnn_dataset_free(bnn_dataset *ds); /* ds may be NULL */

/* ---- safetensors: reading -------------------------------------------------
 *
 * Layout: u64 little-endian header length N, N bytes of JSON
 *   {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [BEGIN, END]}, ...,
 *    "__metadata__": {"key": "value", ...}}
 * then the data area; offsets are relative to its start. The reader checks the
 * header length against the file, the JSON, every dtype, shape and offset
 * (inside the data area, size = elements x dtype size, no overlaps) and
 * rejects duplicate keys. F32 tensors are converted to host floats; tensors of
 * other dtypes (e.g. PyTorch's I64 num_batches_tracked) are validated and
 * listed but carry no data. */

#define BNN_ST_MAX_DIMS 8
#define BNN_ST_MAX_HEADER_BYTES ((uint64_t)100000000) /* as the reference library */
#define BNN_ST_MAX_ELEMENTS ((int64_t)1 << 31)        /* per tensor */

typedef enum bnn_st_dtype {
  BNN_ST_F32, /* the only dtype with data */
  BNN_ST_F64,
  BNN_ST_F16,
  BNN_ST_BF16,
  BNN_ST_F8_E4M3,
  BNN_ST_F8_E5M2,
  BNN_ST_I64,
  BNN_ST_I32,
  BNN_ST_I16,
  BNN_ST_I8,
  BNN_ST_U64,
  BNN_ST_U32,
  BNN_ST_U16,
  BNN_ST_U8,
  BNN_ST_BOOL,
  BNN_ST_DTYPE_COUNT
} bnn_st_dtype;

const char *bnn_st_dtype_name(bnn_st_dtype dtype); /* "F32" */

typedef struct bnn_st_tensor {
  const char *name;
  bnn_st_dtype dtype;
  int ndim;                       /* 0 for a scalar */
  int64_t shape[BNN_ST_MAX_DIMS];
  int64_t numel;
  const float *data;              /* [numel] for F32, NULL otherwise */
} bnn_st_tensor;

typedef struct bnn_st_file bnn_st_file;

bnn_status bnn_st_read(const char *path, bnn_st_file **out, bnn_error *err);
/* The same checks on a file already in memory; `name` is used in messages. */
bnn_status bnn_st_read_memory(const void *bytes, size_t size, const char *name, bnn_st_file **out,
                              bnn_error *err);
void bnn_st_close(bnn_st_file *f); /* f may be NULL */

/* Tensors sorted by name; i in [0, bnn_st_count). */
size_t bnn_st_count(const bnn_st_file *f);
const bnn_st_tensor *bnn_st_at(const bnn_st_file *f, size_t i);
/* NULL when absent. */
const bnn_st_tensor *bnn_st_find(const bnn_st_file *f, const char *name);
/* An F32 tensor by name with exactly the given shape: BNN_ERR_NOT_FOUND,
 * BNN_ERR_UNSUPPORTED (another dtype) or BNN_ERR_SHAPE otherwise. */
bnn_status bnn_st_get_f32(const bnn_st_file *f, const char *name, int ndim, const int64_t *shape,
                          const float **data, bnn_error *err);

/* __metadata__ entries in file order; i in [0, bnn_st_metadata_count). */
size_t bnn_st_metadata_count(const bnn_st_file *f);
void bnn_st_metadata_at(const bnn_st_file *f, size_t i, const char **key, const char **value);
const char *bnn_st_metadata_get(const bnn_st_file *f, const char *key); /* NULL when absent */

/* ---- safetensors: checking against a model ---------------------------------
 *
 * Compares the file with the tensors a model expects and reports every
 * problem, one line each, by name:
 *   missing tensor "2.weight"
 *   unexpected tensor "9.bias"
 *   0.weight: expected [2048, 784], file has [2048, 700]
 *   0.bias: dtype F16 is not supported (expected F32)
 * "*.num_batches_tracked" (PyTorch keeps it as I64; bnnc does not use it) is
 * accepted in any form: missing, extra, any dtype or shape. Returns
 * BNN_ERR_SHAPE when anything is wrong; err->msg holds the first lines (it is
 * 512 bytes), and when `report` is not NULL *report receives the full
 * multi-line text (malloc'ed, free() it; NULL when all is well). */

typedef struct bnn_st_expect {
  const char *name;
  int ndim;
  const int64_t *shape;
} bnn_st_expect;

bnn_status bnn_st_check(const bnn_st_file *f, const bnn_st_expect *expected, size_t n_expected,
                        char **report, bnn_error *err);

/* ---- safetensors: writing -------------------------------------------------
 *
 * Collect F32 tensors and metadata, then write them in one atomic step as the
 * reference library does: tensors sorted by name, data contiguous in that
 * order, header padded with spaces to a multiple of 8 bytes. Names and shapes
 * are copied; tensor data is borrowed until bnn_st_writer_write returns. */

typedef struct bnn_st_writer bnn_st_writer;

bnn_status bnn_st_writer_new(bnn_st_writer **out, bnn_error *err);
bnn_status bnn_st_writer_add(bnn_st_writer *w, const char *name, int ndim, const int64_t *shape,
                             const float *data, bnn_error *err);
bnn_status bnn_st_writer_set_metadata(bnn_st_writer *w, const char *key, const char *value, bnn_error *err);
bnn_status bnn_st_writer_write(bnn_st_writer *w, const char *path, bnn_error *err);
void bnn_st_writer_free(bnn_st_writer *w); /* w may be NULL */

#ifdef __cplusplus
}
#endif

#endif /* BNN_IO_H */
