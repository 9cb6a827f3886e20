/* bench.h - shared by bnnc_bench.c and bench_f32.c. */
#ifndef BNNC_BENCH_H
#define BNNC_BENCH_H

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#include "bnn/net.h"
#include "ir.h"

/* The same network as a lowered graph, in f32 through OpenBLAS: binary
 * weights as +-1 floats, BatchNorm as a per-feature scale and shift, sign as
 * +-1 floats; sgemv at n = 1, sgemm above. */
typedef struct F32Net F32Net;
F32Net *f32net_create(const IrGraph *lowered, int64_t max_batch);
/* input: n samples (u8 or f32, as the graph's input); logits [n, out]. */
void f32net_forward(F32Net *net, const void *input, int64_t n, float *logits);
/* Bytes of the f32 parameters the network reads. */
int64_t f32net_weight_bytes(const F32Net *net);
void f32net_free(F32Net *net);

/* Timing (bnnc_bench.c). The machine is shared: single-thread figures use
 * the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), 2-thread and compile
 * figures wall time (CLOCK_MONOTONIC). */
typedef void (*BenchRunFn)(void *ctx, int64_t n);
/* Median seconds per call of run(ctx, n), on the thread's CPU time when
 * thread_cpu_time is true, else wall time: 2 warm-up calls, then reps
 * repetitions (at most 32), each long enough (>= 2 ms) to read the clock
 * reliably. */
double bench_median_seconds(bool thread_cpu_time, BenchRunFn run, void *ctx, int64_t n, int reps);

/* libbnn's net for a model, holding the same param values as the lowered
 * graph g (matched by name), to time and check the runtime's eval mode. */
bnn_net *bench_runtime_net(const Model *m, const IrGraph *g);

/* The convolution rows (bench_conv.c): prints them, appends to csv. */
void bench_conv(FILE *csv);

#endif
