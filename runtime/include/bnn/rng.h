/* bnn/rng.h: the runtime's seeded PRNG.
 *
 * xoshiro256** 1.0 (Blackman & Vigna), seeded through splitmix64 from one
 * 64-bit seed. The whole state is four u64 words: save them with
 * bnn_rng_state_get and restore them with bnn_rng_state_set, and the stream
 * continues bit-identically (checkpoint/resume). Floats are drawn as
 * (next >> 40) * 2^-24, i.e. uniform on [0, 1) with 24 random bits. */
#ifndef BNN_RNG_H
#define BNN_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BNN_RNG_STATE_WORDS 4

typedef struct bnn_rng {
  uint64_t s[BNN_RNG_STATE_WORDS];
} bnn_rng;

void bnn_rng_seed(bnn_rng *r, uint64_t seed);
uint64_t bnn_rng_next(bnn_rng *r);
/* Uniform float in [0, 1). */
float bnn_rng_uniform(bnn_rng *r);
/* Uniform float in [lo, hi). */
float bnn_rng_uniform_range(bnn_rng *r, float lo, float hi);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t bnn_rng_below(bnn_rng *r, uint64_t n);
/* Standard normal (Box-Muller, one value per call). */
float bnn_rng_normal(bnn_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void bnn_rng_shuffle(bnn_rng *r, int64_t *idx, int64_t n);

void bnn_rng_state_get(const bnn_rng *r, uint64_t out[BNN_RNG_STATE_WORDS]);
void bnn_rng_state_set(bnn_rng *r, const uint64_t in[BNN_RNG_STATE_WORDS]);

#ifdef __cplusplus
}
#endif

#endif /* BNN_RNG_H */
