/* test_json.c: the strict JSON parser of the safetensors header.
 * Valid documents decode as written; each invalid one fails with the stated
 * message at the stated byte offset. */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "test.h"

static JsonDoc *parse_ok(const char *text) {
  JsonDoc *doc = NULL;
  JsonError e;
  if (json_parse(text, strlen(text), &doc, &e) != 0) {
    fprintf(stderr, "unexpected JSON error for %s: %s at %zu\n", text, e.msg, e.offset);
    test_failed++;
    return NULL;
  }
  test_passed++;
  return doc;
}

/* text must fail with `failure`, at byte `offset`, with `phrase` in the message. */
static void expect_error(const char *text, size_t len, JsonFailure failure, size_t offset, const char *phrase) {
  JsonDoc *doc = NULL;
  JsonError e;
  int rc = json_parse(text, len, &doc, &e);
  if (rc == 0 || doc || e.failure != failure || e.offset != offset || !strstr(e.msg, phrase)) {
    test_failed++;
    fprintf(stderr, "JSON %.60s: expected error \"%s\" at %zu, got rc %d: \"%s\" at %zu\n", text, phrase, offset, rc,
            rc ? e.msg : "", rc ? e.offset : 0);
  } else {
    test_passed++;
  }
  json_free(doc);
}
#define EXPECT_ERROR(text, offset, phrase) expect_error(text, strlen(text), JSON_FAIL_SYNTAX, offset, phrase)

static void test_valid(void) {
  const char *text = " {\"a\": [1, -2, 3.5e2, true, false, null, {}], \"b\": \"x\\\"y\\\\z\\/\\n\", \"c\": {\"d\": []}} ";
  JsonDoc *doc = parse_ok(text);
  if (!doc) return;
  const JsonValue *root = json_root(doc);
  CHECK(root->kind == JSON_OBJECT && root->as.object.count == 3);
  const JsonValue *a = json_object_get(root, "a");
  CHECK(a && a->kind == JSON_ARRAY && a->as.array.count == 7);
  CHECK(a->as.array.items[0].as.number.is_uint && a->as.array.items[0].as.number.uint_value == 1);
  CHECK(!a->as.array.items[1].as.number.is_uint && a->as.array.items[1].as.number.value == -2);
  CHECK(a->as.array.items[2].as.number.value == 350.0 && !a->as.array.items[2].as.number.is_uint);
  CHECK(a->as.array.items[3].kind == JSON_TRUE && a->as.array.items[4].kind == JSON_FALSE);
  CHECK(a->as.array.items[5].kind == JSON_NULL && a->as.array.items[6].kind == JSON_OBJECT);
  const JsonValue *b = json_object_get(root, "b");
  CHECK_STR(b->as.string.chars, "x\"y\\z/\n");
  CHECK(json_object_get(root, "zz") == NULL);
  CHECK_EQ_INT(json_object_get(root, "c")->offset, strstr(text, "{\"d\"") - text);
  json_free(doc);

  /* \u escapes: BMP, surrogate pair, NUL */
  doc = parse_ok("\"\\u00e9\\ud83d\\ude00\\u0000!\"");
  if (doc) {
    const JsonValue *s = json_root(doc);
    CHECK_EQ_INT(s->as.string.len, 2 + 4 + 1 + 1);
    CHECK(memcmp(s->as.string.chars, "\xc3\xa9\xf0\x9f\x98\x80\0!", 8) == 0);
    json_free(doc);
  }
  /* raw UTF-8 passes through */
  doc = parse_ok("\"gr\xc3\xbc\xc3\x9f \xe2\x82\xac\"");
  if (doc) {
    CHECK_STR(json_root(doc)->as.string.chars, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac");
    json_free(doc);
  }
  /* integers up to 2^64-1 are exact; beyond that they are plain numbers */
  doc = parse_ok("[18446744073709551615, 18446744073709551616, 0, -0]");
  if (doc) {
    const JsonValue *v = json_root(doc)->as.array.items;
    CHECK(v[0].as.number.is_uint && v[0].as.number.uint_value == UINT64_MAX);
    CHECK(!v[1].as.number.is_uint);
    CHECK(v[2].as.number.is_uint && v[2].as.number.uint_value == 0);
    CHECK(!v[3].as.number.is_uint);
    json_free(doc);
  }
  /* nesting up to the limit is fine */
  char deep[2 * JSON_MAX_DEPTH + 1];
  memset(deep, '[', JSON_MAX_DEPTH);
  memset(deep + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
  deep[2 * JSON_MAX_DEPTH] = '\0';
  doc = parse_ok(deep);
  json_free(doc);
}

static void test_errors(void) {
  EXPECT_ERROR("", 0, "unexpected end of input");
  EXPECT_ERROR("   ", 3, "unexpected end of input");
  EXPECT_ERROR("{\"a\":1,}", 7, "expected a string key");
  EXPECT_ERROR("[1,2", 4, "expected ',' or ']'");
  EXPECT_ERROR("[1,]", 3, "expected a JSON value");
  EXPECT_ERROR("{\"a\" 1}", 5, "expected ':'");
  EXPECT_ERROR("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'");
  EXPECT_ERROR("{a:1}", 1, "expected a string key");
  EXPECT_ERROR("01", 0, "leading zeros");
  EXPECT_ERROR("-", 1, "expected a digit");
  EXPECT_ERROR("1.", 2, "after '.'");
  EXPECT_ERROR("1e+", 3, "exponent");
  EXPECT_ERROR("+1", 0, "unexpected '+'");
  EXPECT_ERROR("tru", 0, "expected a JSON value");
  EXPECT_ERROR("nul", 0, "expected a JSON value");
  EXPECT_ERROR("1 2", 2, "after the JSON value");
  EXPECT_ERROR("\"abc", 0, "unterminated string");
  EXPECT_ERROR("\"a\x01\"", 2, "control character 0x01");
  EXPECT_ERROR("\"a\\q\"", 2, "invalid escape '\\q'");
  EXPECT_ERROR("\"\\u12\"", 1, "4 hex digits");
  EXPECT_ERROR("\"\\ud800\"", 1, "not followed by a low surrogate");
  EXPECT_ERROR("\"\\ud800\\u0041\"", 1, "not followed by a low surrogate");
  EXPECT_ERROR("\"\\udc00\"", 1, "unpaired low surrogate");
  EXPECT_ERROR("\"\xff\"", 1, "invalid UTF-8");
  EXPECT_ERROR("\"\xc0\xaf\"", 1, "invalid UTF-8");          /* overlong '/' */
  EXPECT_ERROR("\"\xed\xa0\x80\"", 1, "invalid UTF-8");      /* encoded surrogate */
  EXPECT_ERROR("\"\xf4\x90\x80\x80\"", 1, "invalid UTF-8");  /* above U+10FFFF */
  EXPECT_ERROR("\"\xe2\x82\"", 1, "invalid UTF-8");          /* cut sequence */
  EXPECT_ERROR("{\"a\":1,\"b\":2,\"a\":3}", 13, "duplicate key \"a\" (first at byte 1)");
  EXPECT_ERROR("[{\"x\":{\"k\":1,\"k\":1}}]", 13, "duplicate key \"k\"");
  expect_error("[1,\0]", 5, JSON_FAIL_SYNTAX, 3, "unexpected byte 0x00");

  /* line and column */
  JsonDoc *doc;
  JsonError e;
  const char *text = "{\n  \"a\": x}";
  CHECK(json_parse(text, strlen(text), &doc, &e) != 0);
  CHECK_EQ_INT(e.line, 2);
  CHECK_EQ_INT(e.col, 8);

  /* depth limit: one level too deep, and a hostile 100000 levels */
  size_t n = 100000;
  char *deep = malloc(n + 1);
  memset(deep, '[', n);
  deep[n] = '\0';
  expect_error(deep, JSON_MAX_DEPTH + 1, JSON_FAIL_LIMIT, JSON_MAX_DEPTH, "deeper than the limit of 64");
  expect_error(deep, n, JSON_FAIL_LIMIT, JSON_MAX_DEPTH, "deeper than the limit");
  free(deep);
}

int main(void) {
  test_valid();
  test_errors();
  TEST_MAIN_END();
}
