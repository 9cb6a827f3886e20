/* xnor_kernel.h - the bench's own hand-written XNOR-popcount kernels: the
 * practical ceiling the generated code is measured against (not used by bnnc).
 *
 * Weights are rows of `stride` 64-bit words (stride a multiple of 8, zero
 * padding), bit 1 = -1 as in docs/ir.md. Chosen at run time: AVX-512 with
 * VPOPCNTDQ (and VNNI for the u8 kernel), else AVX2 (vpshufb popcount), else
 * plain uint64_t + __builtin_popcountll. */
#ifndef BNNC_BENCH_XNOR_KERNEL_H
#define BNNC_BENCH_XNOR_KERNEL_H

#include <stdint.h>

typedef enum HkIsa { HK_SCALAR, HK_AVX2, HK_AVX512 } HkIsa;

/* The best ISA this CPU has, and the one in use (hk_use may lower it). */
HkIsa hk_best_isa(void);
void hk_use(HkIsa isa);
const char *hk_isa_name(HkIsa isa);

/* pop[s * rows + r] = popcount(x_s XOR w_r) for n samples x_s of `stride`
 * words each (x_s at x + s * stride). rows a multiple of 4. */
void hk_xnor_gemm(const uint64_t *w, int64_t rows, int64_t stride, const uint64_t *x, int64_t n, int32_t *pop);

/* neg[r] = sum of the bytes x_j where bit j of w_r is 1 (the -1 weights);
 * x holds stride * 64 bytes (zero beyond the real inputs). rows a multiple of 4. */
void hk_u8_gemv(const uint64_t *w, int64_t rows, int64_t stride, const uint8_t *x, int32_t *neg);

#endif
