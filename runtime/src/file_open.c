/* file_open.c: see file_open.h. */
#define _POSIX_C_SOURCE 200809L

#include "file_open.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

bnn_status bnn_open_regular_file(const char *path, FILE **out, uint64_t *size, bnn_error *err) {
  *out = NULL;
  *size = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return bnn_error_set(err, errno == ENOENT ? BNN_ERR_NOT_FOUND : BNN_ERR_IO, "cannot open '%s': %s", path,
                         strerror(errno));
  struct stat st;
  if (fstat(fileno(fp), &st) != 0) {
    int e = errno;
    fclose(fp);
    return bnn_error_set(err, BNN_ERR_IO, "cannot stat '%s': %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(fp);
    return bnn_error_set(err, BNN_ERR_ARG, "'%s' is not a regular file", path);
  }
  *out = fp;
  *size = (uint64_t)st.st_size;
  return BNN_OK;
}
