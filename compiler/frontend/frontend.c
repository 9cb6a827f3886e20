/* frontend.c - the front end's two entry points: parse, then check. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include "frontend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "parse.h"

Model *frontend_parse(Arena *arena, Diagnostics *diag, const char *path,
                      const char *source, size_t len) {
  /* Messages echo source lines, so keep a NUL-terminated copy in the arena. */
  char *text = arena_strndup(arena, source, len);
  diag->path = path;
  diag->source = text;
  diag->source_len = len;
  int errors_before = diag->n_errors;

  Program *program = parse_program(arena, diag, text, len);
  Model *model = check_program(arena, diag, program, path);
  return diag->n_errors > errors_before ? NULL : model;
}

Model *frontend_parse_file(Arena *arena, Diagnostics *diag, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    bnnc_error("cannot read '%s': %s", path, strerror(errno));
    diag->n_errors++;
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    bnnc_error("cannot read '%s': it is a directory (expected a .bnn model file)", path);
    diag->n_errors++;
    fclose(f);
    return NULL;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) free(buf);
      buf = bigger;
      cap *= 2;
    }
  }
  int read_error = ferror(f) ? (errno ? errno : EIO) : 0;
  fclose(f);
  if (!buf) {
    bnnc_error("cannot read '%s': out of memory", path);
    diag->n_errors++;
    return NULL;
  }
  if (read_error) {
    bnnc_error("cannot read '%s': %s", path, strerror(read_error));
    diag->n_errors++;
    free(buf);
    return NULL;
  }
  Model *model = frontend_parse(arena, diag, arena_strdup(arena, path), buf, len);
  free(buf);
  return model;
}
