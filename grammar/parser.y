/* parser.y - the .bnn grammar: lines of `[label:] keyword args`, and a
 * `train { ... }` block of settings. It builds the AST of ast.h.
 *
 * The grammar fixes only the shape of a line. Which keywords exist and what
 * each takes is checked in compiler/frontend/check.c, where a wrong argument
 * gets a message naming the statement ("'linear' does not take 'real'").
 *
 * Error recovery: a syntax error drops the rest of its line (`error NEWLINE`)
 * and parsing goes on, so one run reports every broken line. Bison's syntax
 * errors are reworded by report_syntax_error() below.
 *
 * All semantic values live in the compilation's arena, so a value dropped
 * during error recovery has nothing to free: the %destructor below only
 * documents that (it is the arena that owns them).
 */
%require "3.6"
%define api.pure full
%define api.prefix {bnn_yy}
%define api.location.type {SrcLoc}
%define parse.error custom
%locations
%expect 0
%param {yyscan_t scanner}

%code requires {
#include "ast.h"
#include "diag.h"
#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
}

%code provides {
#define YYSTYPE BNN_YYSTYPE
#define YYLTYPE BNN_YYLTYPE
}

%code {
#include <string.h>

#include "lexer.h"
#include "parse.h"

/* A rule's location: from its first symbol to its last if they share a
 * line, else just the first; an empty rule sits just after what precedes it. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                              \
  do {                                                                           \
    if (N) {                                                                     \
      (Cur) = YYRHSLOC(Rhs, 1);                                                  \
      SrcLoc last_ = YYRHSLOC(Rhs, N);                                           \
      if (last_.line == (Cur).line && last_.offset >= (Cur).offset)              \
        (Cur).len = (int)(last_.offset + (size_t)last_.len - (Cur).offset);      \
    } else {                                                                     \
      (Cur) = YYRHSLOC(Rhs, 0);                                                  \
      (Cur).offset += (size_t)(Cur).len;                                         \
      (Cur).col += (Cur).len;                                                    \
      (Cur).len = 0;                                                             \
    }                                                                            \
  } while (0)

#define STATE (bnn_yyget_extra(scanner))
#define ARENA (STATE->arena)

/* The scanner, plus the bookkeeping syntax errors need; stops the parse
 * once the diagnostics have hit their cap. */
static int next_token(BNN_YYSTYPE *lval, SrcLoc *lloc, yyscan_t scanner) {
  ParseState *ps = bnn_yyget_extra(scanner);
  int t = ps->diag->too_many ? BNN_YYEOF : bnn_yylex(lval, lloc, scanner);
  ps->prev_token = ps->cur_token;
  ps->cur_token = t;
  return t;
}
#undef yylex
#define yylex next_token
static void yyerror(const SrcLoc *loc, yyscan_t scanner, const char *message);
}

%initial-action { @$ = (SrcLoc){1, 1, 0, 0}; }

%union {
  const char *word;
  Number num;
  Dims *dims;
  Arg *arg;
  ArgList args;
  Stmt *stmt;
  StmtList stmts;
  NumberList values;
}

%destructor { /* arena-owned: nothing to free */ } <*>

%token NEWLINE "end of line"
%token TRAIN "'train'"
%token ARROW "'->'"
%token <word> WORD "word"
%token <num> NUMBER "number"
%token <dims> DIMS "size"
%token COLON "':'"
%token EQUALS "'='"
%token COMMA "','"
%token LBRACE "'{'"
%token RBRACE "'}'"

%type <stmts> lines settings
%type <stmt> statement setting train_block
%type <args> args
%type <arg> arg
%type <values> values

%%

/* program: line* */
program:
    lines                       { STATE->program->stmts = $1.head; }
;

/* line: NEWLINE | statement NEWLINE | train_block NEWLINE
 * (blank and comment-only lines never reach the parser) */
lines:
    %empty                      { $$ = (StmtList){0}; }
  | lines NEWLINE               { $$ = $1; }
  | lines statement NEWLINE     { $$ = $1; ast_stmts_append(&$$, $2); }
  | lines train_block NEWLINE   { $$ = $1; ast_stmts_append(&$$, $2); }
  | lines WORD COLON train_block NEWLINE  /* an error, said by the checker */
                                { $$ = $1; $4->label = $2; $4->label_loc = @2;
                                  ast_stmts_append(&$$, $4); }
  | lines error NEWLINE         { $$ = $1; yyerrok;
                                  STATE->program->syntax_errors = true;
                                  ast_stmts_append(&$$, ast_new_stmt(ARENA, STMT_ERROR, @2)); }
;

/* statement: [WORD ':'] WORD arg*      fc1: binlinear 784 -> 2048 real */
statement:
    WORD args                   { $$ = ast_new_stmt(ARENA, STMT_PLAIN, @1);
                                  $$->keyword = $1; $$->args = $2.head; }
  | WORD COLON WORD args        { $$ = ast_new_stmt(ARENA, STMT_PLAIN, @3);
                                  $$->label = $1; $$->label_loc = @1;
                                  $$->keyword = $3; $$->args = $4.head; }
;

/* train_block: 'train' '{' (setting? NEWLINE)* setting? '}' */
train_block:
    TRAIN LBRACE settings RBRACE          { $$ = ast_new_stmt(ARENA, STMT_TRAIN, @1);
                                            $$->keyword = "train"; $$->body = $3.head; }
  | TRAIN LBRACE settings setting RBRACE  { $$ = ast_new_stmt(ARENA, STMT_TRAIN, @1);
                                            $$->keyword = "train"; ast_stmts_append(&$3, $4);
                                            $$->body = $3.head; }
;

/* settings: (setting? NEWLINE)*   (a broken line is dropped, as at the top level) */
settings:
    %empty                      { $$ = (StmtList){0}; }
  | settings NEWLINE            { $$ = $1; }
  | settings setting NEWLINE    { $$ = $1; ast_stmts_append(&$$, $2); }
  | settings error NEWLINE      { $$ = $1; yyerrok; STATE->program->syntax_errors = true; }
;

/* setting: WORD arg*      optimizer adam lr=0.01 */
setting:
    WORD args                   { $$ = ast_new_stmt(ARENA, STMT_PLAIN, @1);
                                  $$->keyword = $1; $$->args = $2.head; }
;

/* args: arg*      784 -> 2048 real */
args:
    %empty                      { $$ = (ArgList){0}; }
  | args arg                    { $$ = $1; ast_args_append(&$$, $2); }
;

/* arg: NUMBER | DIMS | WORD | NUMBER '->' NUMBER | WORD '=' NUMBER (',' NUMBER)* */
arg:
    NUMBER                      { $$ = ast_new_arg(ARENA, ARG_NUMBER, @$); $$->num = $1; $$->num.loc = @1; }
  | DIMS                        { $$ = ast_new_arg(ARENA, ARG_DIMS, @$); $$->dims = *$1; }
  | WORD                        { $$ = ast_new_arg(ARENA, ARG_WORD, @$); $$->word = $1; }
  | NUMBER ARROW NUMBER         { $$ = ast_new_arg(ARENA, ARG_ARROW, @$);
                                  $$->num = $1; $$->num.loc = @1; $$->to = $3; $$->to.loc = @3; }
  | WORD EQUALS values          { $$ = ast_new_arg(ARENA, ARG_OPTION, @$); $$->word = $1;
                                  $$->values = $3.items; $$->n_values = $3.n; }
;

/* values: NUMBER (',' NUMBER)*      0.485,0.456,0.406 */
values:
    NUMBER                      { $$ = (NumberList){0}; $1.loc = @1; ast_numbers_append(ARENA, &$$, $1); }
  | values COMMA NUMBER         { $$ = $1; $3.loc = @3; ast_numbers_append(ARENA, &$$, $3); }
;

%%

/* Bison says "syntax error, unexpected X, expecting Y or Z"; say instead what
 * was missing, in the words of the language. */
static const char *token_text(int t) {
  switch (t) {
  case BNN_YYEOF: return "the end of the file";
  case NEWLINE: return "the end of the line";
  case TRAIN: return "'train'";
  case ARROW: return "'->'";
  case WORD: return "a word";
  case NUMBER: return "a number";
  case DIMS: return "a size";
  case COLON: return "':'";
  case EQUALS: return "'='";
  case COMMA: return "','";
  case LBRACE: return "'{'";
  case RBRACE: return "'}'";
  default: return "this";
  }
}

static int report_syntax_error(const yypcontext_t *ctx, yyscan_t scanner) {
  ParseState *ps = bnn_yyget_extra(scanner);
  Diagnostics *d = ps->diag;
  const SrcLoc *loc = yypcontext_location(ctx);
  yysymbol_kind_t sym = yypcontext_token(ctx);
  int unexpected = ps->cur_token, prev = ps->prev_token;
  const char *what = token_text(unexpected);
  yysymbol_kind_t expected[8];
  int n = yypcontext_expected_tokens(ctx, expected, 8);
  bool expects_close = false;
  for (int i = 0; i < n; i++)
    if (expected[i] == YYSYMBOL_RBRACE) expects_close = true;

  if (unexpected == BNN_YYUNDEF)
    return 0;  /* a stray byte, already reported by the scanner */
  if (sym == YYSYMBOL_YYEOF && expects_close)
    diag_error(d, &ps->last_lbrace, "this train block is not closed: expected '}' before the end of the file");
  else if (prev == ARROW)
    diag_error(d, loc, "expected the output size (a number) after '->', not %s", what);
  else if (prev == EQUALS)
    diag_error(d, loc, "expected a number after '=', not %s", what);
  else if (prev == COMMA)
    diag_error(d, loc, "expected a number after ',', not %s", what);
  else if (prev == COLON)
    diag_error(d, loc, "expected a layer keyword after the label, not %s", what);
  else if (prev == TRAIN)
    diag_error(d, loc, "expected '{' after 'train'");
  else if (unexpected == ARROW)
    diag_error(d, loc, "'->' must come between two sizes, as in 'linear 784 -> 10'");
  else if (unexpected == EQUALS)
    diag_error(d, loc, "'=' must follow an option name, as in 'eps=1e-4'");
  else if (unexpected == COMMA)
    diag_error(d, loc, "',' may only separate the values of an option, as in 'mean=0.5,0.5'");
  else if (unexpected == COLON)
    diag_error(d, loc, "':' may only follow a label at the start of a line, as in 'fc1: linear 784 -> 10'");
  else if (unexpected == LBRACE)
    diag_error(d, loc, "unexpected '{' (only 'train {' opens a block)");
  else if (unexpected == RBRACE)
    diag_error(d, loc, "unexpected '}' (no block is open)");
  else if (unexpected == TRAIN)
    diag_error(d, loc, "'train {' must start its own line, and only once outside a block");
  else if (prev == NEWLINE || prev == LBRACE || prev == 0)
    diag_error(d, loc, "expected a statement keyword at the start of the line, not %s", what);
  else
    diag_error(d, loc, "unexpected %s", what);
  return 0;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner) {
  return report_syntax_error(ctx, scanner);
}

/* Only reached when the parser's stack overflows (bison's "memory exhausted"). */
static void yyerror(const SrcLoc *loc, yyscan_t scanner, const char *message) {
  diag_error(bnn_yyget_extra(scanner)->diag, loc, "%s: the file nests too deeply", message);
}
