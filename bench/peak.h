/*
 * The device's measured FP32 peak: the multiply-add rate of kernels/peak.cl,
 * best over a few vector widths and chain counts. `clcnn bench` divides by it
 * for its "% of peak" column; `clcnn bench --peak` prints it.
 */
#ifndef CLCNN_BENCH_PEAK_H
#define CLCNN_BENCH_PEAK_H

#include <stdio.h>

#include "clcnn.h"

typedef struct bench_peak {
    double gflops;        /* the best run of the best variant: the peak */
    double median_gflops; /* that variant's median run */
    /* On a CPU device, the rate per second of CPU time the process got,
     * times the compute units: what an idle machine would reach when other
     * programs share the cores (0 on GPUs, whose host time says nothing). */
    double cpu_gflops;
    int vw, chains; /* the best variant: vector width, independent chains */
    double run_ms;  /* the length of one of its timed runs */
} bench_peak;

/*
 * Measures every variant: a calibration sizes the loop so that one run
 * takes about 50 ms, then `repeat` timed runs follow a warm-up. log (may be
 * NULL) receives one line per variant. Returns the status of the first
 * failing library call.
 */
clcnn_status bench_measure_peak(clcnn_context *ctx, int repeat, FILE *log, bench_peak *out);

#endif /* CLCNN_BENCH_PEAK_H */
