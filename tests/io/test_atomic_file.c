/* test_atomic_file.c: outputs are complete or untouched.
 * After every failure (a write past the file-size limit, a full tmpfs, an
 * abort, a bad target) the old target is intact and no temporary file is
 * left behind. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/mount.h>
#endif

#include "io_test.h"

static const char *dir;

static void write_text(const char *path, const char *text) { io_write_bytes(path, text, strlen(text)); }

static bool file_is(const char *path, const char *text) {
  size_t n;
  uint8_t *b = io_read_bytes(path, &n);
  bool same = n == strlen(text) && memcmp(b, text, n) == 0;
  free(b);
  return same;
}

/* Number of ".*.tmp.*" files in d. */
static int temp_files(const char *d) {
  DIR *dp = opendir(d);
  int n = 0;
  for (struct dirent *e; dp && (e = readdir(dp));)
    n += e->d_name[0] == '.' && strstr(e->d_name, ".tmp.") != NULL;
  if (dp) closedir(dp);
  return n;
}

static void test_commit_and_abort(void) {
  bnn_error err = {0};
  bnn_atomic_file *f;
  const char *target = io_path(dir, "out.txt");
  CHECK_OK(bnn_atomic_open(target, &f, &err), err);
  const char *temp = bnn_atomic_temp_path(f);
  CHECK(strstr(temp, "/.out.txt.tmp.") != NULL);
  CHECK_OK(bnn_atomic_write(f, "hello ", 6, &err), err);
  CHECK_OK(bnn_atomic_printf(f, &err, "%s %d\n", "world", 42), err);
  CHECK(access(target, F_OK) != 0); /* nothing at the target before commit */
  CHECK_OK(bnn_atomic_commit(f, &err), err);
  CHECK(file_is(target, "hello world 42\n"));
  CHECK_EQ_INT(temp_files(dir), 0);

  /* abort leaves the old content and no temporary file */
  CHECK_OK(bnn_atomic_open(target, &f, &err), err);
  CHECK_OK(bnn_atomic_write(f, "partial", 7, &err), err);
  CHECK_EQ_INT(temp_files(dir), 1);
  bnn_atomic_abort(f);
  CHECK(file_is(target, "hello world 42\n"));
  CHECK_EQ_INT(temp_files(dir), 0);
  bnn_atomic_abort(NULL);

  /* large writes (past the internal buffer) and a long printf */
  size_t big = 300000;
  char *text = malloc(big + 1);
  for (size_t i = 0; i < big; i++) text[i] = (char)('a' + i % 26);
  text[big] = '\0';
  CHECK_OK(bnn_atomic_open(target, &f, &err), err);
  CHECK_OK(bnn_atomic_write(f, text, 10, &err), err);
  CHECK_OK(bnn_atomic_write(f, text + 10, big - 20, &err), err);
  CHECK_OK(bnn_atomic_printf(f, &err, "%s", text + big - 10), err);
  CHECK_OK(bnn_atomic_commit(f, &err), err);
  CHECK(file_is(target, text));
  CHECK_OK(bnn_atomic_open(target, &f, &err), err);
  CHECK_OK(bnn_atomic_printf(f, &err, "%s", text), err);
  CHECK_OK(bnn_atomic_commit(f, &err), err);
  CHECK(file_is(target, text));
  free(text);

  CHECK_OK(bnn_write_file_atomic(target, "short", 5, &err), err);
  CHECK(file_is(target, "short"));
  CHECK_EQ_INT(temp_files(dir), 0);
}

static void test_permissions_and_links(void) {
  bnn_error err = {0};
  struct stat st;
  mode_t old_mask = umask(022);
  const char *fresh = io_path(dir, "fresh");
  CHECK_OK(bnn_write_file_atomic(fresh, "x", 1, &err), err);
  CHECK(stat(fresh, &st) == 0 && (st.st_mode & 0777) == 0644); /* not mkstemp's 0600 */
  chmod(fresh, 0640);
  CHECK_OK(bnn_write_file_atomic(fresh, "y", 1, &err), err);
  CHECK(stat(fresh, &st) == 0 && (st.st_mode & 0777) == 0640); /* kept on replace */
  umask(old_mask);

  /* a symbolic link keeps pointing at the (new) file */
  const char *link = io_path(dir, "link");
  CHECK(symlink("fresh", link) == 0);
  CHECK_OK(bnn_write_file_atomic(link, "via link", 8, &err), err);
  CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(file_is(fresh, "via link"));

  /* targets that cannot be replaced */
  bnn_atomic_file *f = (bnn_atomic_file *)1;
  CHECK_ERROR(bnn_atomic_open(dir, &f, &err), err, BNN_ERR_ARG, "exists and is not a regular file");
  CHECK(f == NULL);
  CHECK_ERROR(bnn_atomic_open("/dev/null", &f, &err), err, BNN_ERR_ARG, "not a regular file");
  CHECK_ERROR(bnn_atomic_open(io_path(dir, "sub/"), &f, &err), err, BNN_ERR_ARG, "names a directory");
  CHECK_ERROR(bnn_atomic_open("", &f, &err), err, BNN_ERR_ARG, "empty");
  CHECK_ERROR(bnn_atomic_open(io_path(dir, "no-such-dir/x"), &f, &err), err, BNN_ERR_IO,
              "cannot create a temporary file");
  CHECK_EQ_INT(temp_files(dir), 0);
}

/* Writing fails half-way: the old target survives, nothing is left behind,
 * and later calls and commit keep failing. */
static void check_failed_write(const char *d, const char *target, size_t size, const char *phrase) {
  bnn_error err = {0};
  bnn_atomic_file *f;
  write_text(target, "old content");
  char *data = calloc(1, size);
  CHECK_OK(bnn_atomic_open(target, &f, &err), err);
  bnn_status s = BNN_OK;
  for (size_t done = 0; done < size && s == BNN_OK; done += 4096) s = bnn_atomic_write(f, data + done, 4096, &err);
  if (s == BNN_OK) s = bnn_atomic_commit(f, &err);
  else {
    CHECK_ERROR(bnn_atomic_write(f, "x", 1, &err), err, BNN_ERR_IO, phrase); /* sticky */
    CHECK_ERROR(bnn_atomic_commit(f, &err), err, BNN_ERR_IO, phrase);
  }
  CHECK(s == BNN_ERR_IO && strstr(err.msg, phrase) && strstr(err.msg, "the old file, if any, is intact"));
  CHECK(file_is(target, "old content"));
  CHECK_EQ_INT(temp_files(d), 0);
  free(data);
}

static void test_file_size_limit(void) {
  struct rlimit old, small;
  getrlimit(RLIMIT_FSIZE, &old);
  small = old;
  small.rlim_cur = 100000;
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); /* get EFBIG, not a signal */
  if (setrlimit(RLIMIT_FSIZE, &small) != 0) {
    printf("skipped: cannot lower RLIMIT_FSIZE\n");
    return;
  }
  check_failed_write(dir, io_path(dir, "limited"), 1 << 20, "File too large");
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
}

/* A real full disk: a 64 KiB tmpfs, when we may mount one (root, and a
 * container that allows it). */
static void test_full_disk(void) {
#ifdef __linux__
  const char *mnt = io_path(dir, "tiny");
  char mnt_copy[4096];
  snprintf(mnt_copy, sizeof mnt_copy, "%s", mnt);
  mkdir(mnt_copy, 0755);
  if (geteuid() != 0 || mount("tmpfs", mnt_copy, "tmpfs", 0, "size=64k") != 0) {
    printf("skipped: cannot mount a small tmpfs (%s)\n", geteuid() ? "not root" : strerror(errno));
    return;
  }
  check_failed_write(mnt_copy, io_path(mnt_copy, "weights"), 1 << 20, "No space left on device");
  umount(mnt_copy);
#else
  printf("skipped: full-disk test needs Linux tmpfs\n");
#endif
}

int main(void) {
  dir = io_temp_dir();
  test_commit_and_abort();
  test_permissions_and_links();
  test_file_size_limit();
  test_full_disk();
  io_remove_tree(dir);
  TEST_MAIN_END();
}
