/* frontend.c - the front end's two entry points: parse, then check. */
#include "frontend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  int read_error = ferror(f);
  fclose(f);
  if (!buf) {
    bnnc_error("cannot read '%s': out of memory", path);
    diag->n_errors++;
    return NULL;
  }
  if (read_error) {
    bnnc_error("cannot read '%s': read error", path);
    diag->n_errors++;
    free(buf);
    return NULL;
  }
  Model *model = frontend_parse(arena, diag, arena_strdup(arena, path), buf, len);
  free(buf);
  return model;
}
