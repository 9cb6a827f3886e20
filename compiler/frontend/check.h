/* check.h - validate a Program and build the checked Model (front-end internal). */
#ifndef BNNC_CHECK_H
#define BNNC_CHECK_H

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "model.h"

/* Every user error is reported; returns the Model, which is only meaningful
 * when no error was reported. */
Model *check_program(Arena *arena, Diagnostics *diag, const Program *program, const char *path);

#endif
