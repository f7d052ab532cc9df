/*
 * Small helpers shared by the benchmarks, `clcnn bench` and `clcnn tune`: a
 * monotonic clock, medians, seeded random data, JSON strings, and float64
 * checks of convolution results at sampled points. Benchmarks are programs:
 * they may print and exit; these helpers do neither.
 */
#ifndef CLCNN_BENCH_UTIL_H
#define CLCNN_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* Writes s as a JSON string, quotes included. */
void bench_json_string(FILE *out, const char *s);

/* ---- convolution checks at sampled points ---- */

/* The geometry of one convolution: x (N,C,H,W), w (K,C,R,S), y (N,K,P,Q). */
typedef struct bench_conv_geom {
    int N, C, H, W, K, R, S, P, Q;
    int pad_top, pad_left, stride_h, stride_w, dil_h, dil_w;
} bench_conv_geom;

/*
 * Each check computes `samples` outputs of a pass in float64 at points drawn
 * from seed and returns the worst error, each relative to the sum of the
 * magnitudes of the output's terms (the scale of float32 rounding, so the
 * result is comparable across layers). Compare with bench_conv2d_tolerance.
 * The backward-filter check expects dw and db computed from zero.
 */
double bench_check_conv2d_forward(const bench_conv_geom *g, const float *x, const float *w,
                                  const float *b, const float *y, int samples, uint64_t seed);
double bench_check_conv2d_backward_data(const bench_conv_geom *g, const float *dy,
                                        const float *w, const float *dx, int samples,
                                        uint64_t seed);
double bench_check_conv2d_backward_filter(const bench_conv_geom *g, const float *x,
                                          const float *dy, const float *dw, const float *db,
                                          int samples, uint64_t seed);

/* The largest relative error the checks accept for a pass summing `terms`
 * products per output. */
double bench_conv2d_tolerance(double terms);

#endif /* CLCNN_BENCH_UTIL_H */
