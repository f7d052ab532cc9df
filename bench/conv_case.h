/*
 * One benchmark case on the device: its tensors filled with seeded random
 * data, each pass run through the public op (the library's own choice) or
 * with a forced algorithm and variant, checked in float64 at sampled points,
 * and timed. Shared by `clcnn bench` and `clcnn tune`, so that what tune
 * measures is what bench reports.
 */
#ifndef CLCNN_BENCH_CONV_CASE_H
#define CLCNN_BENCH_CONV_CASE_H

#include "bench_util.h"
#include "conv2d.h"
#include "suites.h"

typedef struct bench_conv_data {
    bench_conv_geom g;
    clcnn_conv2d_params params; /* algo AUTO */
    int x_shape[4], w_shape[4];
    float *x, *w, *b, *dy; /* the inputs, also on the host for the checks */
    clcnn_tensor *tx, *tw, *tb, *ty, *tdy, *tdx, *tdw, *tdb;
} bench_conv_data;

/* The op's pass for a benchmark pass. */
clcnn__conv2d_pass bench_conv_pass(bench_pass pass);

/* The tuning file's op name of a pass: "conv2d.fwd", "conv2d.bwd_data",
 * "conv2d.bwd_filter". */
const char *bench_conv_tuning_op(bench_pass pass);

/* Allocates and fills the tensors of case c at batch n (uniform [-1, 1)
 * from seed). On failure everything is freed; the message is on ctx. */
clcnn_status bench_conv_setup(clcnn_context *ctx, const bench_case *c, int n, uint64_t seed,
                              bench_conv_data *d);
void bench_conv_free(bench_conv_data *d);

/* One run of a pass, without waiting for it: variant -1 calls the public op
 * (the library chooses, tuning file included); otherwise algo and variant
 * are forced through the conv2d variant API. */
clcnn_status bench_conv_run(clcnn_context *ctx, bench_conv_data *d, bench_pass pass,
                            clcnn_conv_algo algo, int variant);

/* The algorithm and variant the library uses for the pass (the tuning
 * file's entry, else its rule), and whether ctx's tuning file decided it
 * (*tuned; may be NULL). */
void bench_conv_choice(clcnn_context *ctx, const bench_conv_data *d, bench_pass pass,
                       clcnn_conv_algo *algo, int *variant, int *tuned);

/* The algorithm's name as clcnn.h's enum has it ("direct", "gemm",
 * "winograd", "gemm_1x1") into buf; "algo<N>" for a value added since. */
const char *bench_conv_algo_name(clcnn_conv_algo algo, char *buf, size_t size);

/* Runs the pass once (dw and db zeroed first), reads the result back and
 * checks `samples` points: *err the worst relative error, *tol what is
 * accepted for this pass's sum length. */
clcnn_status bench_conv_check(clcnn_context *ctx, bench_conv_data *d, bench_pass pass,
                              clcnn_conv_algo algo, int variant, int samples, double *err,
                              double *tol);

typedef struct bench_timing {
    double median_ms, min_ms; /* wall time of one run, clFinish included */
    double cpu_ms;            /* process CPU time per run, all threads */
} bench_timing;

/* warmup untimed runs, then repeat (>= 1) timed runs, each waited for. */
clcnn_status bench_conv_time(clcnn_context *ctx, bench_conv_data *d, bench_pass pass,
                             clcnn_conv_algo algo, int variant, int warmup, int repeat,
                             bench_timing *out);

#endif /* CLCNN_BENCH_CONV_CASE_H */
