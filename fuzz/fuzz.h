/* fuzz.h - what every bnnc fuzz target shares.
 *
 * Each fuzz/fuzz_*.c defines LLVMFuzzerTestOneInput and nothing else public.
 * The same file is linked two ways: into a libFuzzer binary (clang,
 * -fsanitize=fuzzer; fuzz/CMakeLists.txt, scripts/fuzz.sh) and into a plain
 * replay driver (tests/fuzz/replay_main.c) that the ctest suite runs over the
 * seed corpus and every regression file, with gcc or clang, under the normal
 * ASan + UBSan test build.
 *
 * A broken invariant is reported with fuzz_fail, which aborts: libFuzzer
 * saves the input as a crash, and the replay test fails.
 */
#ifndef BNNC_FUZZ_H
#define BNNC_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(__GNUC__)
#define FUZZ_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define FUZZ_NORETURN __attribute__((noreturn))
#else
#define FUZZ_PRINTF(fmt, args)
#define FUZZ_NORETURN
#endif

static inline FUZZ_NORETURN FUZZ_PRINTF(1, 2) void fuzz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz: invariant broken: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

#define FUZZ_CHECK(cond, ...)                                                    \
  do {                                                                           \
    if (!(cond)) fuzz_fail(__VA_ARGS__);                                         \
  } while (0)

/* Where the targets send the compiler's diagnostics: /dev/null, so a run is
 * not slowed down by printing, unless BNNC_FUZZ_VERBOSE is set (to look at
 * what one input does: BNNC_FUZZ_VERBOSE=1 fuzz_frontend crash-file). */
static inline FILE *fuzz_diag_stream(void) {
  static FILE *stream;
  if (!stream) {
    stream = getenv("BNNC_FUZZ_VERBOSE") ? stderr : fopen("/dev/null", "w");
    if (!stream) stream = stderr;
  }
  return stream;
}

/* FNV-1a of the input: a deterministic seed, so a saved input replays the
 * same way. */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t size) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211ULL;
  return h;
}

/* splitmix64: the targets' own small generator (no dependency on the runtime's). */
static inline uint64_t fuzz_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

#endif
