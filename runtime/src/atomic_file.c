/* atomic_file.c: output files that are either complete or untouched.
 *
 * Every output of bnnc (weights, checkpoints, metrics, predictions, objects,
 * headers) goes through here. The bytes go to ".NAME.tmp.XXXXXX" in the
 * target's directory (same file system, so rename(2) is atomic); commit
 * flushes, fsyncs, renames over the target and fsyncs the directory so the
 * rename itself survives a power cut. Any failure removes the temporary file
 * and leaves the target as it was.
 *
 * The temporary file is created with open(O_CREAT | O_EXCL, 0666) and a
 * random suffix rather than mkstemp(3): mkstemp creates mode 0600, which would
 * make every output private regardless of the user's umask. When the target
 * already exists its permission bits are kept. */
#define _XOPEN_SOURCE 700 /* realpath, fchmod */

#include "bnn/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { ATOMIC_BUFFER_SIZE = 64 * 1024, TEMP_NAME_ATTEMPTS = 100 };

struct bnn_atomic_file {
  int fd;
  char *target; /* final path (symlinks resolved) */
  char *temp;   /* ".NAME.tmp.XXXXXX" beside it */
  char *dir;    /* the directory to fsync after rename */
  bnn_error failure; /* first write error; commit refuses after one */
  size_t used;
  unsigned char buf[ATOMIC_BUFFER_SIZE];
};

static char *copy_string(const char *s, size_t n) {
  char *c = malloc(n + 1);
  if (c) {
    memcpy(c, s, n);
    c[n] = '\0';
  }
  return c;
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* Replace the trailing "XXXXXX" of `name` with random letters and digits. */
static void fill_random_suffix(char *name, uint64_t *state) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  char *x = name + strlen(name) - 6;
  uint64_t r = splitmix64(state);
  for (int i = 0; i < 6; i++, r /= 62) x[i] = alphabet[r % 62];
}

static uint64_t random_seed(const void *salt) {
  static atomic_uint_fast64_t counter;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 16) ^
               (uint64_t)(uintptr_t)salt ^ (atomic_fetch_add(&counter, 1) << 48);
  return splitmix64(&s);
}

static void free_handle(bnn_atomic_file *f) {
  free(f->target);
  free(f->temp);
  free(f->dir);
  free(f);
}

/* Resolve the final target: follow a symlink (so the link keeps pointing at
 * the new file) and refuse anything that exists but is not a regular file.
 * Sets *mode to the existing file's permission bits, or -1 when it is new. */
static bnn_status resolve_target(const char *path, char **target, int *mode, bnn_error *err) {
  struct stat st;
  *mode = -1;
  if (lstat(path, &st) != 0) {
    if (errno != ENOENT) return bnn_error_set(err, BNN_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    *target = copy_string(path, strlen(path));
  } else {
    if (S_ISLNK(st.st_mode)) {
      char *real = realpath(path, NULL);
      if (!real)
        return bnn_error_set(err, BNN_ERR_IO, "cannot write '%s': cannot resolve the symbolic link: %s", path,
                             strerror(errno));
      if (stat(real, &st) != 0) {
        free(real);
        return bnn_error_set(err, BNN_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
      }
      *target = real;
    } else {
      *target = copy_string(path, strlen(path));
    }
    if (*target && !S_ISREG(st.st_mode)) {
      free(*target);
      *target = NULL;
      return bnn_error_set(err, BNN_ERR_ARG, "cannot write '%s': it exists and is not a regular file", path);
    }
    *mode = (int)(st.st_mode & 07777);
  }
  if (!*target) return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory opening '%s'", path);
  return BNN_OK;
}

bnn_status bnn_atomic_open(const char *path, bnn_atomic_file **out, bnn_error *err) {
  *out = NULL;
  if (!path || !*path) return bnn_error_set(err, BNN_ERR_ARG, "output path is empty");
  size_t len = strlen(path);
  if (path[len - 1] == '/') return bnn_error_set(err, BNN_ERR_ARG, "output path '%s' names a directory", path);

  bnn_atomic_file *f = calloc(1, sizeof *f);
  if (!f) return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory opening '%s'", path);
  f->fd = -1;
  int mode;
  bnn_status s = resolve_target(path, &f->target, &mode, err);
  if (s != BNN_OK) {
    free_handle(f);
    return s;
  }

  /* target = DIR/BASE  ->  temp = DIR/.BASE.tmp.XXXXXX, dir = DIR */
  const char *slash = strrchr(f->target, '/');
  size_t dir_len = slash ? (size_t)(slash - f->target) + 1 : 0;
  const char *base = f->target + dir_len;
  f->dir = slash ? copy_string(f->target, dir_len == 1 ? 1 : dir_len - 1) : copy_string(".", 1);
  f->temp = malloc(dir_len + strlen(base) + sizeof(".") + sizeof(".tmp.XXXXXX"));
  if (!f->dir || !f->temp) {
    free_handle(f);
    return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory opening '%s'", path);
  }
  uint64_t rng = random_seed(f);
  for (int attempt = 0;; attempt++) {
    sprintf(f->temp, "%.*s.%s.tmp.XXXXXX", (int)dir_len, f->target, base);
    fill_random_suffix(f->temp, &rng);
    f->fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f->fd >= 0) break;
    if (errno != EEXIST || attempt + 1 == TEMP_NAME_ATTEMPTS) {
      s = bnn_error_set(err, BNN_ERR_IO, "cannot write '%s': cannot create a temporary file in '%s': %s", path,
                        f->dir, strerror(errno));
      free_handle(f);
      return s;
    }
  }
  if (mode >= 0 && fchmod(f->fd, (mode_t)mode) != 0) {
    s = bnn_error_set(err, BNN_ERR_IO, "cannot write '%s': cannot set permissions of '%s': %s", path, f->temp,
                      strerror(errno));
    bnn_atomic_abort(f);
    return s;
  }
  *out = f;
  return BNN_OK;
}

const char *bnn_atomic_temp_path(const bnn_atomic_file *f) { return f->temp; }

/* Record the first failure; later calls (and commit) report it again. */
static bnn_status fail_write(bnn_atomic_file *f, int errnum, bnn_error *err) {
  if (f->failure.status == BNN_OK)
    bnn_error_set(&f->failure, BNN_ERR_IO, "cannot write '%s': %s (nothing was changed; the old file, if any, is intact)",
                  f->target, strerror(errnum));
  if (err) *err = f->failure;
  return f->failure.status;
}

static bnn_status write_all(bnn_atomic_file *f, const unsigned char *p, size_t n, bnn_error *err) {
  while (n > 0) {
    ssize_t k = write(f->fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return fail_write(f, errno, err);
    }
    if (k == 0) return fail_write(f, ENOSPC, err); /* no progress: treat as a full disk */
    p += k;
    n -= (size_t)k;
  }
  return BNN_OK;
}

static bnn_status flush_buffer(bnn_atomic_file *f, bnn_error *err) {
  size_t n = f->used;
  f->used = 0;
  return write_all(f, f->buf, n, err);
}

bnn_status bnn_atomic_write(bnn_atomic_file *f, const void *data, size_t n, bnn_error *err) {
  if (f->failure.status != BNN_OK) return fail_write(f, 0, err);
  if (n <= sizeof f->buf - f->used) {
    if (n) memcpy(f->buf + f->used, data, n);
    f->used += n;
    return BNN_OK;
  }
  bnn_status s = flush_buffer(f, err);
  if (s != BNN_OK) return s;
  if (n < sizeof f->buf) {
    memcpy(f->buf, data, n);
    f->used = n;
    return BNN_OK;
  }
  return write_all(f, data, n, err);
}

bnn_status bnn_atomic_printf(bnn_atomic_file *f, bnn_error *err, const char *fmt, ...) {
  if (f->failure.status != BNN_OK) return fail_write(f, 0, err);
  va_list ap;
  va_start(ap, fmt);
  char small[1024];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return bnn_error_set(err, BNN_ERR_ARG, "cannot format output for '%s'", f->target);
  if ((size_t)n < sizeof small) return bnn_atomic_write(f, small, (size_t)n, err);
  char *big = malloc((size_t)n + 1);
  if (!big) return bnn_error_set(err, BNN_ERR_NOMEM, "out of memory writing '%s'", f->target);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  bnn_status s = bnn_atomic_write(f, big, (size_t)n, err);
  free(big);
  return s;
}

void bnn_atomic_abort(bnn_atomic_file *f) {
  if (!f) return;
  if (f->fd >= 0) close(f->fd);
  unlink(f->temp);
  free_handle(f);
}

bnn_status bnn_atomic_commit(bnn_atomic_file *f, bnn_error *err) {
  bnn_status s = BNN_OK;
  if (f->failure.status != BNN_OK) s = fail_write(f, 0, err);
  if (s == BNN_OK) s = flush_buffer(f, err);
  if (s == BNN_OK && fsync(f->fd) != 0) s = fail_write(f, errno, err);
  if (s == BNN_OK) {
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) s = fail_write(f, errno, err);
  }
  if (s == BNN_OK && rename(f->temp, f->target) != 0)
    s = bnn_error_set(err, BNN_ERR_IO, "cannot replace '%s' with '%s': %s (the old file, if any, is intact)",
                      f->target, f->temp, strerror(errno));
  if (s != BNN_OK) {
    bnn_atomic_abort(f);
    return s;
  }
  /* The new content is in place; make the rename durable. File systems that
   * cannot fsync a directory say EINVAL, which is not an error here. */
  int dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || (fsync(dir_fd) != 0 && errno != EINVAL))
    s = bnn_error_set(err, BNN_ERR_IO, "wrote '%s' but could not sync its directory '%s': %s", f->target, f->dir,
                      strerror(errno));
  if (dir_fd >= 0) close(dir_fd);
  free_handle(f);
  return s;
}

bnn_status bnn_write_file_atomic(const char *path, const void *data, size_t n, bnn_error *err) {
  bnn_atomic_file *f;
  bnn_status s = bnn_atomic_open(path, &f, err);
  if (s != BNN_OK) return s;
  s = bnn_atomic_write(f, data, n, err);
  if (s != BNN_OK) {
    bnn_atomic_abort(f);
    return s;
  }
  return bnn_atomic_commit(f, err);
}
