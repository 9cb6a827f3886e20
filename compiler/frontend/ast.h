/* ast.h - the syntax tree of a .bnn file, as the grammar builds it.
 *
 * The grammar (grammar/parser.y) fixes the shape of a line: an optional
 * label, a keyword, and arguments, or a `train { ... }` block of settings.
 * Which keywords exist and which arguments each one takes is the checker's
 * business (check.c), so that a misspelt keyword or a misplaced option gets a
 * message that names the statement instead of a list of expected tokens.
 *
 * Everything lives in the Arena of one compilation; nothing is freed alone.
 */
#ifndef BNNC_AST_H
#define BNNC_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

/* A number as written. Integers keep their exact value in ival; every number
 * also has its value as a double. bad: the lexer already reported it (too
 * large, malformed), so the checker accepts it silently to avoid a second
 * message about the same token. */
typedef struct Number {
  const char *text;   /* the lexeme, for messages */
  double value;
  int64_t ival;       /* valid when is_int */
  bool is_int;
  bool bad;
  SrcLoc loc;
} Number;

/* `5x5`, `1x28x28`: at most AST_MAX_DIMS are kept, n counts them all. */
#define AST_MAX_DIMS 8
typedef struct Dims {
  int n;
  int64_t d[AST_MAX_DIMS];
  bool bad;           /* a component overflowed; reported by the lexer */
} Dims;

typedef enum ArgKind {
  ARG_NUMBER,   /* 784   0.5   1e-4 */
  ARG_DIMS,     /* 5x5   1x28x28 */
  ARG_ARROW,    /* IN -> OUT */
  ARG_WORD,     /* real   u8   cross_entropy */
  ARG_OPTION,   /* name=V   name=V1,V2,... */
} ArgKind;

typedef struct Arg Arg;
struct Arg {
  ArgKind kind;
  SrcLoc loc;         /* the whole argument */
  Arg *next;
  Number num;         /* ARG_NUMBER; ARG_ARROW: the IN */
  Number to;          /* ARG_ARROW: the OUT */
  Dims dims;          /* ARG_DIMS */
  const char *word;   /* ARG_WORD; ARG_OPTION: the name */
  Number *values;     /* ARG_OPTION: n_values numbers */
  int n_values;
};

typedef enum StmtKind {
  STMT_PLAIN,   /* [label:] keyword arg... NEWLINE   (also each line in a train block) */
  STMT_TRAIN,   /* train { setting... } */
  STMT_ERROR,   /* a line the parser dropped after a syntax error */
} StmtKind;

typedef struct Stmt Stmt;
struct Stmt {
  StmtKind kind;
  SrcLoc loc;         /* the keyword (STMT_TRAIN: `train`; STMT_ERROR: where it failed) */
  const char *label;  /* NULL when unlabelled */
  SrcLoc label_loc;
  const char *keyword;
  Arg *args;          /* in source order */
  Stmt *body;         /* STMT_TRAIN: the settings, each a STMT_PLAIN */
  Stmt *next;
};

/* Lists built left to right by the grammar. */
typedef struct ArgList { Arg *head, *tail; } ArgList;
typedef struct StmtList { Stmt *head, *tail; } StmtList;
typedef struct NumberList { Number *items; int n, cap; } NumberList;

typedef struct Program {
  Stmt *stmts;
  bool syntax_errors;  /* some line was dropped: the checker stays quiet about missing parts */
} Program;

Arg *ast_new_arg(Arena *a, ArgKind kind, SrcLoc loc);
Stmt *ast_new_stmt(Arena *a, StmtKind kind, SrcLoc loc);
void ast_args_append(ArgList *list, Arg *arg);
void ast_stmts_append(StmtList *list, Stmt *stmt);
void ast_numbers_append(Arena *a, NumberList *list, Number n);

const char *ast_arg_kind_name(ArgKind k);
/* An argument as the user wrote it, quoted, for messages: '3', '5x5', 'real', 'eps=...'. */
const char *ast_describe_arg(Arena *a, const Arg *arg);

#endif
