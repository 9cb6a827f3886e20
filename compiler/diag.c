/* diag.c - user diagnostics with the source line and a caret; see diag.h.
 *
 *   model.bnn:7:15: error: input size 1000 does not match ...
 *   binlinear 2048 -> 1000
 *             ^~~~
 *
 * Columns are byte columns (1-based). The echoed line has tabs and other
 * control bytes replaced by one space each, so the caret line, which has one
 * character per byte, stays aligned; UTF-8 continuation bytes take no column
 * in the caret line, so a caret after a non-ASCII character still lines up in
 * a terminal.
 */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

void diag_init(Diagnostics *d, const char *path, const char *source, size_t source_len) {
  d->path = path;
  d->source = source;
  d->source_len = source_len;
  d->out = stderr;
  d->n_errors = 0;
  d->n_warnings = 0;
  d->too_many = false;
}

static bool is_utf8_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Print the source line holding loc and a caret line under the span. */
static void print_source_line(const Diagnostics *d, const SrcLoc *loc) {
  if (!d->source || loc->offset > d->source_len) return;
  size_t start = loc->offset;
  while (start > 0 && d->source[start - 1] != '\n') start--;
  size_t end = loc->offset;
  while (end < d->source_len && d->source[end] != '\n') end++;

  FILE *out = d->out;
  for (size_t i = start; i < end; i++) {
    unsigned char c = (unsigned char)d->source[i];
    fputc(c < 0x20 || c == 0x7f ? ' ' : c, out);
  }
  fputc('\n', out);

  size_t span = loc->len > 1 ? (size_t)loc->len : 1;
  if (loc->offset + span > end) span = end > loc->offset ? end - loc->offset : 1;
  for (size_t i = start; i < loc->offset; i++)
    if (!is_utf8_continuation((unsigned char)d->source[i])) fputc(' ', out);
  fputc('^', out);
  for (size_t i = loc->offset + 1; i < loc->offset + span; i++)
    if (!is_utf8_continuation((unsigned char)d->source[i])) fputc('~', out);
  fputc('\n', out);
}

static void report(Diagnostics *d, const char *kind, const SrcLoc *loc, const char *fmt, va_list ap) {
  FILE *out = d->out ? d->out : stderr;
  const char *path = d->path ? d->path : "bnnc";
  if (loc)
    fprintf(out, "%s:%d:%d: %s: ", path, loc->line, loc->col, kind);
  else
    fprintf(out, "%s: %s: ", path, kind);
  vfprintf(out, fmt, ap);
  fputc('\n', out);
  if (loc) print_source_line(d, loc);
}

void diag_verror(Diagnostics *d, const SrcLoc *loc, const char *fmt, va_list ap) {
  if (d->too_many) return;
  if (d->n_errors == DIAG_MAX_ERRORS) {
    /* The 21st error: say we stop, and drop everything after it. */
    d->too_many = true;
    fprintf(d->out ? d->out : stderr, "%s: error: too many errors, stopping\n",
            d->path ? d->path : "bnnc");
    d->n_errors++;
    return;
  }
  d->n_errors++;
  report(d, "error", loc, fmt, ap);
}

void diag_error(Diagnostics *d, const SrcLoc *loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, loc, fmt, ap);
  va_end(ap);
}

void diag_warning(Diagnostics *d, const SrcLoc *loc, const char *fmt, ...) {
  if (d->too_many) return;
  d->n_warnings++;
  va_list ap;
  va_start(ap, fmt);
  report(d, "warning", loc, fmt, ap);
  va_end(ap);
}

/* A note belongs to the diagnostic just before it, so it is dropped with it. */
void diag_note(Diagnostics *d, const SrcLoc *loc, const char *fmt, ...) {
  if (d->too_many) return;
  va_list ap;
  va_start(ap, fmt);
  report(d, "note", loc, fmt, ap);
  va_end(ap);
}

void bnnc_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bnnc: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void bnnc_warning(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bnnc: warning: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void bnnc_bug_at(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bnnc: internal error (this is a bug): %s:%d: ", file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(BNNC_EXIT_INTERNAL);
}
