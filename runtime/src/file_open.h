/* file_open.h: opening an input file the readers trust no further than its
 * metadata (private to runtime/src). */
#ifndef BNN_FILE_OPEN_H
#define BNN_FILE_OPEN_H

#include <stdint.h>
#include <stdio.h>

#include "bnn/status.h"

/* Open path for reading and check that it is a regular file (not a
 * directory, a FIFO or a device); *size is its length. On failure nothing
 * stays open: BNN_ERR_NOT_FOUND, BNN_ERR_IO or BNN_ERR_ARG, with a message
 * naming the file. */
bnn_status bnn_open_regular_file(const char *path, FILE **fp, uint64_t *size, bnn_error *err);

#endif
