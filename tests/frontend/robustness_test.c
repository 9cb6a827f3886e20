/* robustness_test.c - the front end never crashes, leaks or hangs, whatever
 * it is given, and it either gives a Model or reports an error (never both,
 * never neither). Built with ASan+UBSan in CI, so any memory error fails.
 *
 * Cases, all from a fixed seed so a failure is reproducible:
 *   - every prefix of every example (truncation at each byte);
 *   - byte flips: random bytes replaced by random values (NUL, high bytes);
 *   - splices: the start of one example joined to the end of another;
 *   - token soup: random sequences of the language's tokens and junk;
 *   - hostile inputs: huge numbers, long lines, deep nesting of garbage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static const char *const examples[] = {"bnn_mlp.bnn", "bnn_paper_mlp.bnn", "xnor_lenet.bnn",
                                       "lenet_bn.bnn", "float_mlp.bnn"};
enum { N_EXAMPLES = sizeof examples / sizeof examples[0] };

static char *texts[N_EXAMPLES];
static size_t lens[N_EXAMPLES];
static int n_cases, n_ok, n_rejected, failures;
static FILE *sink;

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rng(void) {  /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32);
}
static size_t rng_below(size_t n) { return n ? rng() % n : 0; }

static void run_case(const char *what, const char *src, size_t len) {
  Arena arena;
  arena_init(&arena);
  Diagnostics diag;
  diag_init(&diag, "fuzz.bnn", NULL, 0);
  diag.out = sink;
  Model *m = frontend_parse(&arena, &diag, "fuzz.bnn", src, len);
  n_cases++;
  if ((m == NULL) != (diag.n_errors > 0)) {
    printf("%s: model %s but %d errors\n", what, m ? "given" : "missing", diag.n_errors);
    fwrite(src, 1, len, stdout);
    printf("\n");
    failures++;
  }
  if (m) n_ok++; else n_rejected++;
  arena_free(&arena);
}

static char *read_example(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", BNNC_EXAMPLES_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  char *buf = malloc(1 << 16);
  *len = fread(buf, 1, (1 << 16) - 1, f);
  fclose(f);
  return buf;
}

static void truncations(void) {
  for (int e = 0; e < N_EXAMPLES; e++)
    for (size_t n = 0; n <= lens[e]; n++) run_case("truncation", texts[e], n);
}

static void byte_flips(int count) {
  char *buf = malloc(1 << 16);
  for (int i = 0; i < count; i++) {
    int e = (int)rng_below(N_EXAMPLES);
    memcpy(buf, texts[e], lens[e]);
    int flips = 1 + (int)rng_below(4);
    for (int f = 0; f < flips; f++) {
      static const char interesting[] = {'\0', '\n', '=', ',', ':', '{', '}', '-', '>', 'x', '9', '.', '#', '\xff', '\t'};
      size_t at = rng_below(lens[e]);
      buf[at] = rng() % 2 ? interesting[rng_below(sizeof interesting)] : (char)rng();
    }
    run_case("byte flip", buf, lens[e]);
  }
  free(buf);
}

static void splices(int count) {
  char *buf = malloc(1 << 17);
  for (int i = 0; i < count; i++) {
    int a = (int)rng_below(N_EXAMPLES), b = (int)rng_below(N_EXAMPLES);
    size_t cut_a = rng_below(lens[a] + 1), cut_b = rng_below(lens[b] + 1);
    memcpy(buf, texts[a], cut_a);
    memcpy(buf + cut_a, texts[b] + cut_b, lens[b] - cut_b);
    run_case("splice", buf, cut_a + lens[b] - cut_b);
  }
  free(buf);
}

static void token_soup(int count) {
  static const char *const tokens[] = {
      "model", "input", "train", "{", "}", "\n", "\n", "\n", ":", "=", ",", "->", "784", "10", "0",
      "-1", "0.5", "1e-4", "1x28x28", "5x5", "3x3x3x3x3x3x3x3x3x3", "binlinear", "linear", "batchnorm",
      "dropout", "conv2d", "binconv2d", "maxpool", "avgpool", "flatten", "relu", "softmax", "sign",
      "real", "bias", "scale", "nobias", "u8", "f32", "normalize", "mean", "std", "eps", "stride",
      "pad", "loss", "optimizer", "adam", "sgd", "lr", "betas", "schedule", "step", "exp", "every",
      "gamma", "to", "batch", "epochs", "seed", "clip_weights", "lr_scale", "glorot", "# c",
      "99999999999999999999", "1e999", "3abc", "@", "\xc3\xa9", "\x01", "x", "lbl", "2048", "1048577",
  };
  enum { N_TOKENS = sizeof tokens / sizeof tokens[0] };
  char buf[4096];
  for (int i = 0; i < count; i++) {
    size_t len = 0;
    int n = 1 + (int)rng_below(60);
    for (int t = 0; t < n; t++) {
      const char *tok = tokens[rng_below(N_TOKENS)];
      size_t tl = strlen(tok);
      if (len + tl + 2 >= sizeof buf) break;
      memcpy(buf + len, tok, tl);
      len += tl;
      if (rng() % 3) buf[len++] = ' ';
    }
    run_case("token soup", buf, len);
  }
}

/* Inputs a fuzzer takes long to find. */
static void hostile(void) {
  size_t big = 1 << 20;
  char *buf = malloc(big + 64);
  memset(buf, 'a', big);  /* one enormous word */
  run_case("long word", buf, big);
  memset(buf, '9', big);  /* one enormous number */
  run_case("long number", buf, big);
  memset(buf, '\0', 4096);
  run_case("NULs", buf, 4096);
  for (size_t i = 0; i < big; i++) buf[i] = "{}\n=,:"[i % 6];
  run_case("punctuation", buf, big);
  for (size_t i = 0; i < 200000; i++) buf[i] = "model m\ninput 4\nrelu\n"[i % 21];
  run_case("many layers", buf, 200000);
  memset(buf, '\n', big);
  run_case("blank lines", buf, big);
  for (size_t i = 0; i < big; i++) buf[i] = (char)(0x80 + i % 64);
  run_case("invalid utf-8", buf, big);
  static const char *const fixed[] = {
      "model m\ninput 1048576x1048576x1048576\nflatten\n",
      "model m\ninput 2048\nconv2d 1048576 1048576x1048576\n",
      "model m\ninput 1048576x1048576x2\nbinconv2d 1048576 1x1\n",
      "model m\ninput 1048576\nlinear 1048576 -> 1048576\n",
      "model m\ninput 9223372036854775807\n",
      "model m\ninput -9223372036854775808\n",
      "model m\ninput 4\ntrain {\nseed 9223372036854775807\nepochs 2147483648\n}\n",
      "model m\ninput 4\ntrain {\n", "train {", "}", "a:", "a: b: c", "->", "x=", "x=1,", ",",
      "model m\ninput 4x4x4\nmaxpool 9999x9999 stride=9999\n",
  };
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) run_case("fixed", fixed[i], strlen(fixed[i]));
  free(buf);
}

int main(void) {
  sink = fopen("/dev/null", "w");
  if (!sink) return 1;
  for (int e = 0; e < N_EXAMPLES; e++) texts[e] = read_example(examples[e], &lens[e]);
  truncations();
  byte_flips(3000);
  splices(1000);
  token_soup(3000);
  hostile();
  for (int e = 0; e < N_EXAMPLES; e++) free(texts[e]);
  fclose(sink);
  printf("frontend_robustness: %d cases (%d valid, %d rejected), %d failures\n", n_cases, n_ok,
         n_rejected, failures);
  return failures ? 1 : 0;
}
