/* parse.c - run the flex scanner and the bison parser over one source text.
 *
 * Needs: the source bytes (not necessarily NUL-terminated, may contain NULs).
 * Gives: a Program in the arena; every lexical and syntax error reported.
 */
#include "parse.h"

#include "lexer.h"
#include "parser.h"

Program *parse_program(Arena *arena, Diagnostics *diag, const char *source, size_t len) {
  Program *program = ARENA_NEW(arena, Program);
  ParseState ps = {
      .arena = arena,
      .diag = diag,
      .program = program,
      .line = 1,
      .col = 1,
      .at_line_start = true,
      .prev_token = NEWLINE,
      .cur_token = NEWLINE,
  };
  yyscan_t scanner;
  if (bnn_yylex_init_extra(&ps, &scanner) != 0) BNNC_BUG("cannot create the scanner");
  YY_BUFFER_STATE buf = bnn_yy_scan_bytes(source, (int)len, scanner);
  int rc = bnn_yyparse(scanner);
  if (rc != 0) program->syntax_errors = true;  /* aborted: e.g. end of file inside a block */
  bnn_yy_delete_buffer(buf, scanner);
  bnn_yylex_destroy(scanner);
  return program;
}
