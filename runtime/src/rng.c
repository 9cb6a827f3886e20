/* rng.c: xoshiro256** seeded by splitmix64 (see bnn/rng.h for the contract). */
#include "bnn/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void bnn_rng_seed(bnn_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < BNN_RNG_STATE_WORDS; i++) r->s[i] = splitmix64(&x);
}

uint64_t bnn_rng_next(bnn_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

float bnn_rng_uniform(bnn_rng *r) {
  return (float)(bnn_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

float bnn_rng_uniform_range(bnn_rng *r, float lo, float hi) {
  return lo + (hi - lo) * bnn_rng_uniform(r);
}

uint64_t bnn_rng_below(bnn_rng *r, uint64_t n) {
  /* Rejection sampling: draws in the incomplete last block are redrawn. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t v;
  do v = bnn_rng_next(r);
  while (v >= limit);
  return v % n;
}

float bnn_rng_normal(bnn_rng *r) {
  double u1 = ((double)(bnn_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  double u2 = (double)(bnn_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void bnn_rng_shuffle(bnn_rng *r, int64_t *idx, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)bnn_rng_below(r, (uint64_t)i + 1);
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

void bnn_rng_state_get(const bnn_rng *r, uint64_t out[BNN_RNG_STATE_WORDS]) {
  for (int i = 0; i < BNN_RNG_STATE_WORDS; i++) out[i] = r->s[i];
}

void bnn_rng_state_set(bnn_rng *r, const uint64_t in[BNN_RNG_STATE_WORDS]) {
  for (int i = 0; i < BNN_RNG_STATE_WORDS; i++) r->s[i] = in[i];
}
