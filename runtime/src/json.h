/* json.h: a small strict JSON parser (RFC 8259), private to the runtime.
 *
 * Used for the safetensors header, which comes from files users download, so
 * the parser trusts nothing: nesting is limited to JSON_MAX_DEPTH, strings
 * must be valid UTF-8 (escapes included, surrogate pairs checked), numbers
 * follow the JSON grammar exactly, duplicate object keys are rejected, and
 * every error carries the byte offset (and line:column) where it was found.
 *
 * The whole tree lives in one JsonDoc and is freed with json_free(). */
#ifndef BNN_JSON_H
#define BNN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits: deeper nesting or more values is an error (JSON_FAIL_LIMIT), so a
 * hostile header cannot exhaust the stack or memory (each value costs about
 * 40 bytes, so the value cap bounds the tree at about 170 MB). */
enum { JSON_MAX_DEPTH = 64, JSON_MAX_VALUES = 1 << 22 };

typedef enum JsonKind {
  JSON_NULL,   /* null */
  JSON_FALSE,  /* false */
  JSON_TRUE,   /* true */
  JSON_NUMBER, /* -12.5e3 */
  JSON_STRING, /* "text" */
  JSON_ARRAY,  /* [v, v] */
  JSON_OBJECT, /* {"key": v} */
} JsonKind;

typedef struct JsonValue JsonValue;
typedef struct JsonMember JsonMember;

struct JsonValue {
  JsonKind kind;
  size_t offset; /* byte offset of the value's first character in the input */
  union {
    struct {        /* JSON_NUMBER */
      double value;
      bool is_uint; /* an integer without sign, fraction or exponent that fits u64 */
      uint64_t uint_value;
    } number;
    struct {        /* JSON_STRING: decoded UTF-8, NUL-terminated (may hold \u0000) */
      const char *chars;
      size_t len;
    } string;
    struct {        /* JSON_ARRAY */
      JsonValue *items;
      size_t count;
    } array;
    struct {        /* JSON_OBJECT: members in input order, keys unique */
      JsonMember *members;
      size_t count;
    } object;
  } as;
};

struct JsonMember {
  const char *key; /* decoded UTF-8, NUL-terminated */
  size_t key_len;
  size_t key_offset; /* byte offset of the key's opening quote */
  JsonValue value;
};

typedef enum JsonFailure {
  JSON_FAIL_SYNTAX, /* the text is not valid JSON (or has duplicate keys) */
  JSON_FAIL_LIMIT,  /* JSON_MAX_DEPTH or JSON_MAX_VALUES exceeded */
  JSON_FAIL_NOMEM,  /* an allocation failed */
} JsonFailure;

typedef struct JsonError {
  JsonFailure failure;
  size_t offset;     /* byte offset of the problem */
  size_t line, col;  /* 1-based */
  char msg[200];
} JsonError;

typedef struct JsonDoc JsonDoc;

/* Parse `text[0..len)` (need not be NUL-terminated). On success *out holds
 * the document (root via json_root) and 0 is returned. On failure returns -1,
 * *out is NULL and *error says what and where. */
int json_parse(const char *text, size_t len, JsonDoc **out, JsonError *error);
const JsonValue *json_root(const JsonDoc *doc);
void json_free(JsonDoc *doc);

/* The member named `key` of an object, or NULL. Linear search. */
const JsonValue *json_object_get(const JsonValue *object, const char *key);

/* Whether s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool json_is_valid_utf8(const char *s, size_t n);

/* "object", "string"... for messages. */
const char *json_kind_name(JsonKind kind);

#endif /* BNN_JSON_H */
