/* xnor_kernel.c - see xnor_kernel.h. Register blocking: 4 rows per pass at
 * batch 1, 4 rows x 4 samples (16 vector accumulators) in batch mode;
 * popcounts summed in vector lanes, one horizontal add per output. */
#include "xnor_kernel.h"

#include <immintrin.h>

static HkIsa isa_in_use = (HkIsa)-1;

HkIsa hk_best_isa(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vnni"))
    return HK_AVX512;
  if (__builtin_cpu_supports("avx2")) return HK_AVX2;
  return HK_SCALAR;
}

void hk_use(HkIsa isa) { isa_in_use = isa; }

static HkIsa current(void) {
  if ((int)isa_in_use < 0) isa_in_use = hk_best_isa();
  return isa_in_use;
}

const char *hk_isa_name(HkIsa isa) {
  return isa == HK_AVX512 ? "avx512-vpopcntdq" : isa == HK_AVX2 ? "avx2" : "scalar";
}

/* ---- AVX-512 ---- */

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vpopcntdq,avx512vnni")))

AVX512 static inline __m512i pop_xor(__m512i a, __m512i b) { return _mm512_popcnt_epi64(_mm512_xor_si512(a, b)); }

AVX512 static void gemv_avx512(const uint64_t *w, int64_t rows, int64_t stride, const uint64_t *x, int32_t *pop) {
  for (int64_t r = 0; r < rows; r += 4) {
    const uint64_t *w0 = w + r * stride, *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t k = 0; k < stride; k += 8) {
      __m512i xv = _mm512_loadu_si512(x + k);
      a0 = _mm512_add_epi64(a0, pop_xor(xv, _mm512_load_si512(w0 + k)));
      a1 = _mm512_add_epi64(a1, pop_xor(xv, _mm512_load_si512(w1 + k)));
      a2 = _mm512_add_epi64(a2, pop_xor(xv, _mm512_load_si512(w2 + k)));
      a3 = _mm512_add_epi64(a3, pop_xor(xv, _mm512_load_si512(w3 + k)));
    }
    pop[r] = (int32_t)_mm512_reduce_add_epi64(a0);
    pop[r + 1] = (int32_t)_mm512_reduce_add_epi64(a1);
    pop[r + 2] = (int32_t)_mm512_reduce_add_epi64(a2);
    pop[r + 3] = (int32_t)_mm512_reduce_add_epi64(a3);
  }
}

/* 4 samples x 4 rows per pass. */
AVX512 static void gemm4_avx512(const uint64_t *w, int64_t rows, int64_t stride, const uint64_t *x, int32_t *pop) {
  const uint64_t *x0 = x, *x1 = x0 + stride, *x2 = x1 + stride, *x3 = x2 + stride;
  for (int64_t r = 0; r < rows; r += 4) {
    __m512i acc[4][4];
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_si512();
    for (int64_t k = 0; k < stride; k += 8) {
      __m512i xs[4] = {_mm512_loadu_si512(x0 + k), _mm512_loadu_si512(x1 + k), _mm512_loadu_si512(x2 + k),
                       _mm512_loadu_si512(x3 + k)};
      for (int i = 0; i < 4; i++) {
        __m512i wv = _mm512_load_si512(w + (r + i) * stride + k);
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_add_epi64(acc[i][j], pop_xor(xs[j], wv));
      }
    }
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) pop[j * rows + r + i] = (int32_t)_mm512_reduce_add_epi64(acc[i][j]);
  }
}

/* x . (w bit ? 1 : 0) with vpdpbusd: the weight mask expanded to 0/-1 bytes
 * (u8 x times s8 w), negated at the end. */
AVX512 static void u8_avx512(const uint64_t *w, int64_t rows, int64_t stride, const uint8_t *x, int32_t *neg) {
  for (int64_t r = 0; r < rows; r += 4) {
    const uint64_t *w0 = w + r * stride;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t k = 0; k < stride; k++) {
      __m512i xv = _mm512_loadu_si512(x + 64 * k);
      a0 = _mm512_dpbusd_epi32(a0, xv, _mm512_movm_epi8(_cvtu64_mask64(w0[k])));
      a1 = _mm512_dpbusd_epi32(a1, xv, _mm512_movm_epi8(_cvtu64_mask64(w0[stride + k])));
      a2 = _mm512_dpbusd_epi32(a2, xv, _mm512_movm_epi8(_cvtu64_mask64(w0[2 * stride + k])));
      a3 = _mm512_dpbusd_epi32(a3, xv, _mm512_movm_epi8(_cvtu64_mask64(w0[3 * stride + k])));
    }
    neg[r] = -_mm512_reduce_add_epi32(a0);
    neg[r + 1] = -_mm512_reduce_add_epi32(a1);
    neg[r + 2] = -_mm512_reduce_add_epi32(a2);
    neg[r + 3] = -_mm512_reduce_add_epi32(a3);
  }
}

/* ---- AVX2: popcount of bytes by a 4-bit lookup (vpshufb), summed by vpsadbw ---- */

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __m256i pop256(__m256i v) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2,
                                       2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, low));
  __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
  return _mm256_add_epi8(lo, hi);   /* bytes 0..8: summed by vpsadbw below */
}

AVX2 static int64_t hsum256(__m256i v) {
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

AVX2 static void gemv_avx2(const uint64_t *w, int64_t rows, int64_t stride, const uint64_t *x, int32_t *pop) {
  const __m256i zero = _mm256_setzero_si256();
  for (int64_t r = 0; r < rows; r += 4) {
    const uint64_t *w0 = w + r * stride;
    __m256i a[4] = {zero, zero, zero, zero};
    for (int64_t k = 0; k < stride; k += 4) {
      __m256i xv = _mm256_loadu_si256((const __m256i *)(x + k));
      for (int i = 0; i < 4; i++) {
        __m256i p = pop256(_mm256_xor_si256(xv, _mm256_load_si256((const __m256i *)(w0 + i * stride + k))));
        a[i] = _mm256_add_epi64(a[i], _mm256_sad_epu8(p, zero));
      }
    }
    for (int i = 0; i < 4; i++) pop[r + i] = (int32_t)hsum256(a[i]);
  }
}

/* ---- scalar ---- */

static void gemv_scalar(const uint64_t *w, int64_t rows, int64_t stride, const uint64_t *x, int32_t *pop) {
  for (int64_t r = 0; r < rows; r += 4) {
    const uint64_t *w0 = w + r * stride;
    int64_t a[4] = {0, 0, 0, 0};
    for (int64_t k = 0; k < stride; k++)
      for (int i = 0; i < 4; i++) a[i] += __builtin_popcountll(x[k] ^ w0[i * stride + k]);
    for (int i = 0; i < 4; i++) pop[r + i] = (int32_t)a[i];
  }
}

static void u8_scalar(const uint64_t *w, int64_t rows, int64_t stride, const uint8_t *x, int32_t *neg) {
  for (int64_t r = 0; r < rows; r++) {
    int32_t s = 0;
    for (int64_t j = 0; j < stride * 64; j++) s += (int32_t)((w[r * stride + j / 64] >> (j % 64)) & 1) * x[j];
    neg[r] = s;
  }
}

void hk_xnor_gemm(const uint64_t *w, int64_t rows, int64_t stride, const uint64_t *x, int64_t n, int32_t *pop) {
  int64_t s = 0;
  if (current() == HK_AVX512)
    for (; s + 4 <= n; s += 4) gemm4_avx512(w, rows, stride, x + s * stride, pop + s * rows);
  for (; s < n; s++) {
    const uint64_t *xs = x + s * stride;
    int32_t *ps = pop + s * rows;
    switch (current()) {
    case HK_AVX512: gemv_avx512(w, rows, stride, xs, ps); break;
    case HK_AVX2: gemv_avx2(w, rows, stride, xs, ps); break;
    case HK_SCALAR: gemv_scalar(w, rows, stride, xs, ps); break;
    }
  }
}

void hk_u8_gemv(const uint64_t *w, int64_t rows, int64_t stride, const uint8_t *x, int32_t *neg) {
  if (current() == HK_AVX512)
    u8_avx512(w, rows, stride, x, neg);
  else
    u8_scalar(w, rows, stride, x, neg);
}
