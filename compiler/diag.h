/* diag.h - user-facing diagnostics: `path:line:col: error: message`, the
 * source line, and a caret (or ^~~~ under a span).
 *
 * Three kinds of errors are kept apart in bnnc (see docs/ and STYLE.md):
 *   - user mistakes go through diag_error/diag_warning here and are counted;
 *   - internal invariants use BNNC_BUG (a compiler bug, exit 70);
 *   - library failures (LLVM, zlib, I/O) are reported with diag_fatal by the
 *     stage that called the library.
 * A Diagnostics object belongs to one compilation and is passed explicitly.
 */
#ifndef BNNC_DIAG_H
#define BNNC_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes of the bnnc command. */
enum {
  BNNC_EXIT_OK = 0,
  BNNC_EXIT_BAD_INPUT = 1,   /* the model, weights or data are wrong */
  BNNC_EXIT_USAGE = 2,       /* the command line is wrong */
  BNNC_EXIT_INTERNAL = 70,   /* a bnnc bug (EX_SOFTWARE) */
};

/* A position in a source file. line and col are 1-based; len is the number of
 * bytes the span covers on that line (0 or 1 = a single caret). offset is the
 * byte offset of the start, used to find the source line. */
typedef struct SrcLoc {
  int line;
  int col;
  int len;
  size_t offset;
} SrcLoc;

#define DIAG_MAX_ERRORS 20

typedef struct Diagnostics {
  const char *path;     /* file name shown in messages */
  const char *source;   /* whole source text (NUL-terminated), may be NULL */
  size_t source_len;
  FILE *out;            /* where messages go (stderr by default) */
  int n_errors;
  int n_warnings;
  bool too_many;        /* DIAG_MAX_ERRORS reached; further errors dropped */
} Diagnostics;

void diag_init(Diagnostics *d, const char *path, const char *source, size_t source_len);

#if defined(__GNUC__)
#define BNNC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define BNNC_NORETURN __attribute__((noreturn))
#else
#define BNNC_PRINTF(fmt, args)
#define BNNC_NORETURN
#endif

/* Report a user error/warning/note at loc (loc may be NULL for file-level). */
void diag_error(Diagnostics *d, const SrcLoc *loc, const char *fmt, ...) BNNC_PRINTF(3, 4);
void diag_warning(Diagnostics *d, const SrcLoc *loc, const char *fmt, ...) BNNC_PRINTF(3, 4);
void diag_note(Diagnostics *d, const SrcLoc *loc, const char *fmt, ...) BNNC_PRINTF(3, 4);
void diag_verror(Diagnostics *d, const SrcLoc *loc, const char *fmt, va_list ap);

static inline bool diag_has_errors(const Diagnostics *d) { return d->n_errors > 0; }

/* An error not tied to a source file: "bnnc: error: ..." on stderr. */
void bnnc_error(const char *fmt, ...) BNNC_PRINTF(1, 2);
void bnnc_warning(const char *fmt, ...) BNNC_PRINTF(1, 2);

/* An internal invariant failed: print "bnnc: internal error (this is a bug):"
 * with the location and exit 70. */
BNNC_NORETURN void bnnc_bug_at(const char *file, int line, const char *fmt, ...) BNNC_PRINTF(3, 4);
#define BNNC_BUG(...) bnnc_bug_at(__FILE__, __LINE__, __VA_ARGS__)
#define BNNC_ASSERT(cond)                                                        \
  do {                                                                           \
    if (!(cond)) BNNC_BUG("assertion failed: %s", #cond);                        \
  } while (0)

#endif
