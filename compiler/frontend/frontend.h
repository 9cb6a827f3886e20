/* frontend.h - the .bnn front end: scan + parse (grammar/) -> AST -> check -> Model.
 *
 * Every user error is reported through Diagnostics (up to DIAG_MAX_ERRORS in
 * one run); the result is NULL when any error was reported. The Model and
 * everything it points to live in the arena.
 */
#ifndef BNNC_FRONTEND_H
#define BNNC_FRONTEND_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "model.h"

/* Parse and check source text (need not be NUL-terminated; len bytes; NUL
 * bytes in it are reported as errors). diag must have been set up with
 * diag_init (its out stream and counts are kept); the front end points its
 * path and source at a copy of the text in the arena, so messages can echo
 * source lines. Returns NULL exactly when this call reported an error;
 * warnings alone still give the Model. */
Model *frontend_parse(Arena *arena, Diagnostics *diag, const char *path,
                      const char *source, size_t len);

/* Read the file at path, then frontend_parse. A file that cannot be read is
 * reported as "bnnc: error: cannot read 'path': reason", counted in diag, and
 * gives NULL. The source text stays in the arena, and diag points at it. */
Model *frontend_parse_file(Arena *arena, Diagnostics *diag, const char *path);

#endif
