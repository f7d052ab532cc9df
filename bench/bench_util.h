/*
 * Small helpers shared by the benchmarks: a monotonic clock, medians, seeded
 * random data. Benchmarks are programs: they may print and exit.
 */
#ifndef CLCNN_BENCH_UTIL_H
#define CLCNN_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds from a monotonic clock. */
double bench_now_ms(void);
/* CPU milliseconds used by this process so far, all threads (user + system):
 * steadier than wall time when other processes share the cores. */
double bench_cpu_ms(void);

/* Median and minimum of v[0..n), n >= 1 (v is sorted in place). */
double bench_median(double *v, size_t n);
double bench_min(const double *v, size_t n);

/* A seeded splitmix64 generator, so runs are repeatable. */
typedef struct bench_rng {
    uint64_t state;
} bench_rng;

bench_rng bench_rng_make(uint64_t seed);
/* Uniform in [lo, hi). */
double bench_uniform(bench_rng *rng, double lo, double hi);
/* Uniform integer in [0, n). */
int bench_below(bench_rng *rng, int n);
/* p[0..n) uniform in [lo, hi). */
void bench_fill(bench_rng *rng, float *p, size_t n, float lo, float hi);

#endif /* CLCNN_BENCH_UTIL_H */
