/* parse.h - scan + parse a .bnn source into a Program (front-end internal).
 *
 * The flex scanner (grammar/lexer.l) and the bison parser (grammar/parser.y)
 * share one ParseState, reached through the scanner's extra pointer: no
 * globals, so several files can be parsed at once.
 */
#ifndef BNNC_PARSE_H
#define BNNC_PARSE_H

#include <stddef.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

typedef struct ParseState {
  Arena *arena;
  Diagnostics *diag;
  Program *program;
  /* where the scanner is: next byte's line, column and offset */
  int line, col;
  size_t offset;
  bool at_line_start;     /* nothing but blanks/comments since the last newline */
  bool sent_final_newline;
  /* the last two tokens returned, so syntax errors can say "after '->'" */
  int prev_token, cur_token;
  SrcLoc last_lbrace;     /* the `{` of the train block, for "not closed" */
} ParseState;

/* Parse source[0..len) (len bytes; NULs are scanned as errors). Syntax and
 * lexical errors go to diag; the returned Program holds every line that
 * parsed, with program->syntax_errors set if some were dropped. */
Program *parse_program(Arena *arena, Diagnostics *diag, const char *source, size_t len);

#endif
