/* replay_main.c - runs fuzz targets without libFuzzer.
 *
 *   fuzz_TARGET_replay PATH...
 *
 * Each PATH is a file or a directory of files (not recursive); every file is
 * read and handed to the target's LLVMFuzzerTestOneInput once. Linked with a
 * fuzz/fuzz_*.c, this replays the seed corpus and the saved crashes of
 * fuzz/regressions/ in the ordinary test build (gcc or clang, ASan + UBSan),
 * so a fixed crash stays fixed without libFuzzer. A broken invariant aborts;
 * a run that finds no input at all fails, so a wrong path cannot pass.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int n_inputs;

static void replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
    exit(1);
  }
  size_t cap = 4096, len = 0, got;
  uint8_t *buf = malloc(cap);
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      uint8_t *bigger = realloc(buf, cap * 2);
      if (!bigger) free(buf);
      buf = bigger;
      cap *= 2;
    }
  }
  int read_error = ferror(f);
  fclose(f);
  if (!buf || read_error) {
    fprintf(stderr, "replay: cannot read '%s'\n", path);
    exit(1);
  }
  /* An exact-size copy, so ASan catches a target reading one byte too far. */
  uint8_t *input = malloc(len ? len : 1);
  if (!input) {
    fprintf(stderr, "replay: out of memory for '%s'\n", path);
    exit(1);
  }
  memcpy(input, buf, len);
  free(buf);
  fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
  LLVMFuzzerTestOneInput(input, len);
  free(input);
  n_inputs++;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of a directory, in name order so runs are reproducible. */
static void replay_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "replay: cannot open directory '%s': %s\n", dir, strerror(errno));
    exit(1);
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue; /* ., .., and hidden files such as .gitkeep */
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **bigger = realloc(names, cap * sizeof *names);
      if (!bigger) exit(1);
      names = bigger;
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    if (!names[n]) exit(1);
    snprintf(names[n], len, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, compare_names);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) replay_file(names[i]);
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: cannot find '%s': %s\n", argv[i], strerror(errno));
      return 1;
    }
    if (S_ISDIR(st.st_mode)) replay_dir(argv[i]);
    else replay_file(argv[i]);
  }
  if (n_inputs == 0) {
    fprintf(stderr, "replay: no input files found\n");
    return 1;
  }
  fprintf(stderr, "replay: %d inputs, no finding\n", n_inputs);
  return 0;
}
