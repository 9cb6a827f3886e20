/* diag_test.c - run the front end on one malformed program and compare its
 * diagnostics, byte for byte, with the reviewed expected text.
 *
 *   diag_test CASE.bnn CASE.expected     compare (the ctest mode)
 *   diag_test --print CASE.bnn           print what the front end says
 *
 * Messages name the file by its base name, so expected files do not depend
 * on where the source tree is. A case must produce at least one diagnostic,
 * and a Model exactly when none of them is an error.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  bool print = argc == 3 && strcmp(argv[1], "--print") == 0;
  if (argc != 3) {
    fprintf(stderr, "usage: diag_test CASE.bnn CASE.expected | --print CASE.bnn\n");
    return 2;
  }
  const char *src_path = print ? argv[2] : argv[1];
  const char *base = strrchr(src_path, '/');
  base = base ? base + 1 : src_path;

  size_t len;
  char *source = read_file(src_path, &len);
  char *got = NULL;
  size_t got_len = 0;
  FILE *out = open_memstream(&got, &got_len);

  Arena arena;
  arena_init(&arena);
  Diagnostics diag;
  diag_init(&diag, base, NULL, 0);
  diag.out = out;
  Model *model = frontend_parse(&arena, &diag, base, source, len);
  fclose(out);

  int status = 0;
  if (print) {
    fputs(got, stdout);
  } else {
    size_t want_len;
    char *want = read_file(argv[2], &want_len);
    if (got_len != want_len || memcmp(got, want, got_len) != 0) {
      printf("%s: diagnostics differ\n--- expected\n%s--- got\n%s---\n", src_path, want, got);
      status = 1;
    }
    free(want);
  }
  if ((model == NULL) != (diag.n_errors > 0) || diag.n_errors + diag.n_warnings == 0) {
    printf("%s: expected a diagnostic, and a model exactly when there is no error "
           "(errors: %d, warnings: %d, model: %s)\n", src_path, diag.n_errors, diag.n_warnings,
           model ? "yes" : "no");
    status = 1;
  }
  arena_free(&arena);
  free(got);
  free(source);
  return status;
}
