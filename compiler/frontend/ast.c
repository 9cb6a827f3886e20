/* ast.c - constructors for the syntax tree; see ast.h. */
#include "ast.h"

#include <string.h>

Arg *ast_new_arg(Arena *a, ArgKind kind, SrcLoc loc) {
  Arg *arg = ARENA_NEW(a, Arg);
  arg->kind = kind;
  arg->loc = loc;
  return arg;
}

Stmt *ast_new_stmt(Arena *a, StmtKind kind, SrcLoc loc) {
  Stmt *s = ARENA_NEW(a, Stmt);
  s->kind = kind;
  s->loc = loc;
  return s;
}

void ast_args_append(ArgList *list, Arg *arg) {
  if (list->tail)
    list->tail->next = arg;
  else
    list->head = arg;
  list->tail = arg;
}

void ast_stmts_append(StmtList *list, Stmt *stmt) {
  if (list->tail)
    list->tail->next = stmt;
  else
    list->head = stmt;
  list->tail = stmt;
}

void ast_numbers_append(Arena *a, NumberList *list, Number n) {
  if (list->n == list->cap) {
    int cap = list->cap ? 2 * list->cap : 4;
    Number *items = ARENA_ARRAY(a, Number, cap);
    if (list->n) memcpy(items, list->items, (size_t)list->n * sizeof *items);
    list->items = items;
    list->cap = cap;
  }
  list->items[list->n++] = n;
}

const char *ast_arg_kind_name(ArgKind k) {
  switch (k) {
  case ARG_NUMBER: return "number";
  case ARG_DIMS: return "size";
  case ARG_ARROW: return "'IN -> OUT'";
  case ARG_WORD: return "word";
  case ARG_OPTION: return "option";
  }
  return "argument";
}

const char *ast_describe_arg(Arena *a, const Arg *arg) {
  switch (arg->kind) {
  case ARG_NUMBER: return arena_printf(a, "'%s'", arg->num.text);
  case ARG_DIMS: {
    char *text = arena_printf(a, "'%lld", (long long)arg->dims.d[0]);
    for (int i = 1; i < arg->dims.n && i < AST_MAX_DIMS; i++)
      text = arena_printf(a, "%sx%lld", text, (long long)arg->dims.d[i]);
    return arena_printf(a, "%s%s'", text, arg->dims.n > AST_MAX_DIMS ? "x..." : "");
  }
  case ARG_ARROW: return arena_printf(a, "'%s -> %s'", arg->num.text, arg->to.text);
  case ARG_WORD: return arena_printf(a, "'%s'", arg->word);
  case ARG_OPTION: return arena_printf(a, "'%s=...'", arg->word);
  }
  return "argument";
}
