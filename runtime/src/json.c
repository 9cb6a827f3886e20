/* json.c: strict JSON parser for the safetensors header (see json.h).
 *
 * Recursive descent, one function per grammar rule, recursion bounded by
 * JSON_MAX_DEPTH. Array items and object members are first collected on two
 * scratch stacks shared by all nesting levels, then copied into the
 * document's arena when the closing bracket is seen, so the tree is built
 * with one bump allocation per container and freed in one call. */
#include "json.h"

#include "bnn/status.h" /* BNN_PRINTF */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------- */

typedef struct ArenaBlock ArenaBlock;
struct ArenaBlock {
  ArenaBlock *next;
  size_t used, cap;
  max_align_t data[]; /* blocks are handed out in 16-byte steps */
};

struct JsonDoc {
  ArenaBlock *blocks;
  JsonValue root;
};

enum { ARENA_BLOCK_SIZE = 64 * 1024 };

static void *arena_alloc(JsonDoc *doc, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size == 0) size = 16;
  ArenaBlock *b = doc->blocks;
  if (!b || b->cap - b->used < size) {
    size_t cap = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
    if (cap > SIZE_MAX - sizeof(ArenaBlock)) return NULL;
    b = malloc(sizeof(ArenaBlock) + cap);
    if (!b) return NULL;
    b->used = 0;
    b->cap = cap;
    b->next = doc->blocks;
    doc->blocks = b;
  }
  void *p = (unsigned char *)b->data + b->used;
  b->used += size;
  return p;
}

void json_free(JsonDoc *doc) {
  if (!doc) return;
  for (ArenaBlock *b = doc->blocks, *next; b; b = next) {
    next = b->next;
    free(b);
  }
  free(doc);
}

const JsonValue *json_root(const JsonDoc *doc) { return &doc->root; }

/* ---- parser state and errors ------------------------------------------ */

typedef struct Parser {
  const char *text;
  size_t len, pos;
  JsonDoc *doc;
  JsonError *error;
  size_t value_count;
  JsonValue *items; /* scratch stack of array items */
  size_t items_len, items_cap;
  JsonMember *members; /* scratch stack of object members */
  size_t members_len, members_cap;
} Parser;

static int fail_at(Parser *p, JsonFailure failure, size_t offset, const char *fmt, ...) BNN_PRINTF(4, 5);

static int fail_at(Parser *p, JsonFailure failure, size_t offset, const char *fmt, ...) {
  JsonError *e = p->error;
  e->failure = failure;
  e->offset = offset;
  e->line = 1;
  e->col = 1;
  for (size_t i = 0; i < offset && i < p->len; i++) {
    if (p->text[i] == '\n') {
      e->line++;
      e->col = 1;
    } else {
      e->col++;
    }
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

static int fail_nomem(Parser *p) {
  return fail_at(p, JSON_FAIL_NOMEM, p->pos, "out of memory while parsing JSON");
}

/* Describe the byte at `pos` for "unexpected ..." messages. */
static const char *describe_byte(const Parser *p, size_t pos, char buf[16]) {
  if (pos >= p->len) return "end of input";
  unsigned char c = (unsigned char)p->text[pos];
  if (c >= 0x21 && c < 0x7f)
    snprintf(buf, 16, "'%c'", c);
  else
    snprintf(buf, 16, "byte 0x%02x", c);
  return buf;
}

static void skip_whitespace(Parser *p) {
  while (p->pos < p->len) {
    char c = p->text[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->pos++;
  }
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t cap2 = *cap ? *cap : 16;
  while (cap2 < need) {
    if (cap2 > SIZE_MAX / 2 / elem) return -1;
    cap2 *= 2;
  }
  void *b = realloc(*buf, cap2 * elem);
  if (!b) return -1;
  *buf = b;
  *cap = cap2;
  return 0;
}

static int parse_value(Parser *p, int depth, JsonValue *out);

/* ---- strings ----------------------------------------------------------- */

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *dst, unsigned cp) {
  if (cp < 0x80) {
    dst[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    dst[0] = (char)(0xC0 | (cp >> 6));
    dst[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    dst[0] = (char)(0xE0 | (cp >> 12));
    dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  dst[0] = (char)(0xF0 | (cp >> 18));
  dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  dst[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Length of the valid UTF-8 sequence starting at s[0] (a byte >= 0x80), or 0. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) n = 3, hi = 0x9F; /* no UTF-16 surrogates */
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F; /* nothing above U+10FFFF */
  else return 0;
  if (avail < n) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return n;
}

/* string = '"' chars '"'. p->pos is at the opening quote. */
static int parse_string(Parser *p, const char **chars, size_t *len) {
  size_t start = p->pos;
  size_t i = start + 1;
  /* First pass: find the closing quote, to size the output. */
  while (i < p->len && p->text[i] != '"') i += p->text[i] == '\\' ? 2 : 1;
  if (i >= p->len) return fail_at(p, JSON_FAIL_SYNTAX, start, "unterminated string");
  size_t end = i;
  char *out = arena_alloc(p->doc, end - start); /* decoded text is never longer */
  if (!out) return fail_nomem(p);
  size_t n = 0;
  for (i = start + 1; i < end;) {
    unsigned char c = (unsigned char)p->text[i];
    if (c < 0x20)
      return fail_at(p, JSON_FAIL_SYNTAX, i, "control character 0x%02x in string must be escaped", c);
    if (c >= 0x80) {
      size_t k = utf8_sequence_length((const unsigned char *)p->text + i, end - i);
      if (k == 0) return fail_at(p, JSON_FAIL_SYNTAX, i, "invalid UTF-8 in string");
      memcpy(out + n, p->text + i, k);
      n += k;
      i += k;
      continue;
    }
    if (c != '\\') {
      out[n++] = (char)c;
      i++;
      continue;
    }
    char esc = p->text[i + 1]; /* i + 1 < end: a backslash never ends the span */
    switch (esc) {
    case '"': out[n++] = '"'; break;
    case '\\': out[n++] = '\\'; break;
    case '/': out[n++] = '/'; break;
    case 'b': out[n++] = '\b'; break;
    case 'f': out[n++] = '\f'; break;
    case 'n': out[n++] = '\n'; break;
    case 'r': out[n++] = '\r'; break;
    case 't': out[n++] = '\t'; break;
    case 'u': {
      unsigned cp;
      if (end - i < 6 || hex4(p->text + i + 2, &cp) != 0)
        return fail_at(p, JSON_FAIL_SYNTAX, i, "\\u must be followed by 4 hex digits");
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail_at(p, JSON_FAIL_SYNTAX, i, "unpaired low surrogate \\u%04X in string", cp);
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo;
        if (end - i < 12 || p->text[i + 6] != '\\' || p->text[i + 7] != 'u' ||
            hex4(p->text + i + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
          return fail_at(p, JSON_FAIL_SYNTAX, i, "high surrogate \\u%04X not followed by a low surrogate", cp);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += 6;
      }
      n += put_utf8(out + n, cp);
      i += 6;
      continue;
    }
    default:
      return fail_at(p, JSON_FAIL_SYNTAX, i, "invalid escape '\\%c' in string",
                     esc >= 0x21 && esc < 0x7f ? esc : '?');
    }
    i += 2;
  }
  out[n] = '\0';
  *chars = out;
  *len = n;
  p->pos = end + 1;
  return 0;
}

/* ---- numbers and literals ---------------------------------------------- */

static int is_digit(const Parser *p, size_t i) {
  return i < p->len && p->text[i] >= '0' && p->text[i] <= '9';
}

/* number = '-'? ('0' | [1-9][0-9]*) ('.' [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int parse_number(Parser *p, JsonValue *out) {
  size_t start = p->pos, i = start;
  bool is_uint = true, overflow = false;
  uint64_t u = 0;
  if (p->text[i] == '-') {
    is_uint = false;
    i++;
  }
  if (!is_digit(p, i)) return fail_at(p, JSON_FAIL_SYNTAX, i, "expected a digit in number");
  if (p->text[i] == '0' && is_digit(p, i + 1))
    return fail_at(p, JSON_FAIL_SYNTAX, i, "leading zeros are not allowed in numbers");
  for (; is_digit(p, i); i++) {
    unsigned d = (unsigned)(p->text[i] - '0');
    if (u > (UINT64_MAX - d) / 10) overflow = true;
    else u = u * 10 + d;
  }
  if (i < p->len && p->text[i] == '.') {
    is_uint = false;
    i++;
    if (!is_digit(p, i)) return fail_at(p, JSON_FAIL_SYNTAX, i, "expected a digit after '.' in number");
    while (is_digit(p, i)) i++;
  }
  if (i < p->len && (p->text[i] == 'e' || p->text[i] == 'E')) {
    is_uint = false;
    i++;
    if (i < p->len && (p->text[i] == '+' || p->text[i] == '-')) i++;
    if (!is_digit(p, i)) return fail_at(p, JSON_FAIL_SYNTAX, i, "expected a digit in exponent");
    while (is_digit(p, i)) i++;
  }
  out->kind = JSON_NUMBER;
  out->as.number.is_uint = is_uint && !overflow;
  out->as.number.uint_value = out->as.number.is_uint ? u : 0;
  if (out->as.number.is_uint) {
    out->as.number.value = (double)u;
  } else {
    /* strtod needs a terminated copy. The grammar was checked above, so
     * strtod reads exactly this span (in the "C" locale bnnc runs in). */
    size_t n = i - start;
    char small[64];
    char *copy = n < sizeof small ? small : arena_alloc(p->doc, n + 1);
    if (!copy) return fail_nomem(p);
    memcpy(copy, p->text + start, n);
    copy[n] = '\0';
    out->as.number.value = strtod(copy, NULL);
  }
  p->pos = i;
  return 0;
}

static int parse_literal(Parser *p, const char *word, JsonKind kind, JsonValue *out) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) {
    char buf[16];
    return fail_at(p, JSON_FAIL_SYNTAX, p->pos, "unexpected %s: expected a JSON value",
                   describe_byte(p, p->pos, buf));
  }
  out->kind = kind;
  p->pos += n;
  return 0;
}

/* ---- containers -------------------------------------------------------- */

/* array = '[' (value (',' value)*)? ']' */
static int parse_array(Parser *p, int depth, JsonValue *out) {
  size_t base = p->items_len;
  p->pos++; /* '[' */
  skip_whitespace(p);
  if (p->pos < p->len && p->text[p->pos] == ']') {
    p->pos++;
  } else {
    for (;;) {
      JsonValue item;
      if (parse_value(p, depth + 1, &item) != 0) return -1;
      if (grow((void **)&p->items, &p->items_cap, p->items_len + 1, sizeof *p->items) != 0)
        return fail_nomem(p);
      p->items[p->items_len++] = item;
      skip_whitespace(p);
      if (p->pos < p->len && p->text[p->pos] == ',') {
        p->pos++;
        continue;
      }
      if (p->pos < p->len && p->text[p->pos] == ']') {
        p->pos++;
        break;
      }
      char buf[16];
      return fail_at(p, JSON_FAIL_SYNTAX, p->pos, "unexpected %s: expected ',' or ']' in array",
                     describe_byte(p, p->pos, buf));
    }
  }
  size_t count = p->items_len - base;
  out->kind = JSON_ARRAY;
  out->as.array.count = count;
  out->as.array.items = NULL;
  if (count) {
    out->as.array.items = arena_alloc(p->doc, count * sizeof(JsonValue));
    if (!out->as.array.items) return fail_nomem(p);
    memcpy(out->as.array.items, p->items + base, count * sizeof(JsonValue));
  }
  p->items_len = base;
  return 0;
}

static int compare_member_keys(const void *a, const void *b) {
  const JsonMember *x = *(const JsonMember *const *)a, *y = *(const JsonMember *const *)b;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(x->key, y->key, n);
  if (c) return c;
  if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
  /* equal keys: order by position, so the later one is reported */
  return x->key_offset < y->key_offset ? -1 : x->key_offset > y->key_offset;
}

static bool same_key(const JsonMember *a, const JsonMember *b) {
  return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

static int reject_duplicate_keys(Parser *p, const JsonMember *m, size_t count) {
  if (count < 2) return 0;
  const JsonMember **sorted = malloc(count * sizeof *sorted);
  if (!sorted) return fail_nomem(p);
  for (size_t i = 0; i < count; i++) sorted[i] = &m[i];
  qsort(sorted, count, sizeof *sorted, compare_member_keys);
  for (size_t i = 1; i < count; i++) {
    if (same_key(sorted[i - 1], sorted[i])) {
      const JsonMember *first = sorted[i - 1], *dup = sorted[i];
      free(sorted);
      return fail_at(p, JSON_FAIL_SYNTAX, dup->key_offset, "duplicate key \"%.100s\" (first at byte %zu)",
                     dup->key, first->key_offset);
    }
  }
  free(sorted);
  return 0;
}

/* object = '{' (string ':' value (',' string ':' value)*)? '}' */
static int parse_object(Parser *p, int depth, JsonValue *out) {
  size_t base = p->members_len;
  p->pos++; /* '{' */
  skip_whitespace(p);
  if (p->pos < p->len && p->text[p->pos] == '}') {
    p->pos++;
  } else {
    for (;;) {
      JsonMember m;
      char buf[16];
      skip_whitespace(p);
      if (p->pos >= p->len || p->text[p->pos] != '"')
        return fail_at(p, JSON_FAIL_SYNTAX, p->pos, "unexpected %s: expected a string key in object",
                       describe_byte(p, p->pos, buf));
      m.key_offset = p->pos;
      if (parse_string(p, &m.key, &m.key_len) != 0) return -1;
      skip_whitespace(p);
      if (p->pos >= p->len || p->text[p->pos] != ':')
        return fail_at(p, JSON_FAIL_SYNTAX, p->pos, "unexpected %s: expected ':' after object key",
                       describe_byte(p, p->pos, buf));
      p->pos++;
      if (parse_value(p, depth + 1, &m.value) != 0) return -1;
      if (grow((void **)&p->members, &p->members_cap, p->members_len + 1, sizeof *p->members) != 0)
        return fail_nomem(p);
      p->members[p->members_len++] = m;
      skip_whitespace(p);
      if (p->pos < p->len && p->text[p->pos] == ',') {
        p->pos++;
        continue;
      }
      if (p->pos < p->len && p->text[p->pos] == '}') {
        p->pos++;
        break;
      }
      return fail_at(p, JSON_FAIL_SYNTAX, p->pos, "unexpected %s: expected ',' or '}' in object",
                     describe_byte(p, p->pos, buf));
    }
  }
  size_t count = p->members_len - base;
  /* count < 2 has no duplicates, and p->members may still be NULL (NULL + 0 is UB). */
  if (count >= 2 && reject_duplicate_keys(p, p->members + base, count) != 0) return -1;
  out->kind = JSON_OBJECT;
  out->as.object.count = count;
  out->as.object.members = NULL;
  if (count) {
    out->as.object.members = arena_alloc(p->doc, count * sizeof(JsonMember));
    if (!out->as.object.members) return fail_nomem(p);
    memcpy(out->as.object.members, p->members + base, count * sizeof(JsonMember));
  }
  p->members_len = base;
  return 0;
}

/* value = object | array | string | number | true | false | null */
static int parse_value(Parser *p, int depth, JsonValue *out) {
  skip_whitespace(p);
  memset(out, 0, sizeof *out);
  out->offset = p->pos;
  if (depth > JSON_MAX_DEPTH)
    return fail_at(p, JSON_FAIL_LIMIT, p->pos, "JSON nested deeper than the limit of %d levels", JSON_MAX_DEPTH);
  if (++p->value_count > JSON_MAX_VALUES)
    return fail_at(p, JSON_FAIL_LIMIT, p->pos, "JSON has more than the limit of %d values", JSON_MAX_VALUES);
  if (p->pos >= p->len) return fail_at(p, JSON_FAIL_SYNTAX, p->pos, "unexpected end of input: expected a JSON value");
  switch (p->text[p->pos]) {
  case '{': return parse_object(p, depth, out);
  case '[': return parse_array(p, depth, out);
  case '"':
    out->kind = JSON_STRING;
    return parse_string(p, &out->as.string.chars, &out->as.string.len);
  case 't': return parse_literal(p, "true", JSON_TRUE, out);
  case 'f': return parse_literal(p, "false", JSON_FALSE, out);
  case 'n': return parse_literal(p, "null", JSON_NULL, out);
  default:
    if (p->text[p->pos] == '-' || is_digit(p, p->pos)) return parse_number(p, out);
    char buf[16];
    return fail_at(p, JSON_FAIL_SYNTAX, p->pos, "unexpected %s: expected a JSON value", describe_byte(p, p->pos, buf));
  }
}

/* document = ws value ws */
int json_parse(const char *text, size_t len, JsonDoc **out, JsonError *error) {
  *out = NULL;
  memset(error, 0, sizeof *error);
  Parser p = {.text = text, .len = len, .error = error};
  p.doc = calloc(1, sizeof *p.doc);
  if (!p.doc) return fail_nomem(&p);
  int rc = parse_value(&p, 1, &p.doc->root);
  if (rc == 0) {
    skip_whitespace(&p);
    if (p.pos < p.len) {
      char buf[16];
      rc = fail_at(&p, JSON_FAIL_SYNTAX, p.pos, "unexpected %s after the JSON value", describe_byte(&p, p.pos, buf));
    }
  }
  free(p.items);
  free(p.members);
  if (rc != 0) {
    json_free(p.doc);
    return -1;
  }
  *out = p.doc;
  return 0;
}

const JsonValue *json_object_get(const JsonValue *object, const char *key) {
  if (object->kind != JSON_OBJECT) return NULL;
  size_t n = strlen(key);
  for (size_t i = 0; i < object->as.object.count; i++) {
    const JsonMember *m = &object->as.object.members[i];
    if (m->key_len == n && memcmp(m->key, key, n) == 0) return &m->value;
  }
  return NULL;
}

bool json_is_valid_utf8(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = utf8_sequence_length(u + i, n - i);
    if (k == 0) return false;
    i += k;
  }
  return true;
}

const char *json_kind_name(JsonKind kind) {
  switch (kind) {
  case JSON_NULL: return "null";
  case JSON_FALSE:
  case JSON_TRUE: return "boolean";
  case JSON_NUMBER: return "number";
  case JSON_STRING: return "string";
  case JSON_ARRAY: return "array";
  case JSON_OBJECT: return "object";
  }
  return "?";
}
