/* The device's measured FP32 peak (see peak.h). */
#include "peak.h"

#include <stdlib.h>

#include "bench_util.h"
#include "runtime.h"

/* Vector widths and chain counts to try: scalars for GPUs, whose lanes are
 * the work-items; 128-, 256- and 512-bit vectors for CPUs, with enough
 * independent chains to keep every FMA pipe busy through its latency. */
static const struct {
    int vw, chains;
} variants[] = {{1, 16}, {4, 16}, {8, 16}, {16, 8}, {16, 12}, {16, 16}};

#define TARGET_MS 50.0
#define MAX_ITERS (1 << 24)

/* One run of the peak kernel with `iters` rounds: wall and CPU milliseconds. */
static clcnn_status run_once(clcnn_context *ctx, cl_kernel k, clcnn_tensor *out, size_t items,
                             const size_t *local, int iters, double *ms, double *cpu_ms)
{
    const size_t global[1] = {items};
    double c0 = bench_cpu_ms(), t0 = bench_now_ms();
    clcnn_status st = CLCNN__LAUNCH(ctx, k, 1, global, local, CLCNN__ARG_TENSOR(out),
                                    CLCNN__ARG_INT(iters), CLCNN__ARG_FLOAT(0.9999f),
                                    CLCNN__ARG_FLOAT(1e-4f));
    if (st == CLCNN_OK)
        st = clcnn_context_finish(ctx);
    *ms = bench_now_ms() - t0;
    *cpu_ms = bench_cpu_ms() - c0;
    return st;
}

clcnn_status bench_measure_peak(clcnn_context *ctx, int repeat, FILE *log, bench_peak *out)
{
    const unsigned cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
    const int is_gpu = ctx->info.is_gpu;
    /* A CPU runs a work-group per thread: a few per core balance the load.
     * A GPU needs many work-items per compute unit to hide latency. */
    const size_t items = is_gpu ? (size_t)cu * 2048 : (size_t)cu * 8;
    const size_t one[1] = {1};
    const size_t group[1] = {ctx->max_work_group_size < 256 ? ctx->max_work_group_size : 256};
    const size_t *local = is_gpu ? group : one;
    if (repeat < 1)
        repeat = 1;
    clcnn_tensor *buf = NULL;
    clcnn_status st = clcnn_tensor_create(ctx, (int)items, 1, 1, 1, &buf);
    if (st != CLCNN_OK)
        return st;
    double *t = malloc((size_t)repeat * sizeof *t);
    if (!t) {
        clcnn_tensor_destroy(buf);
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    }
    *out = (bench_peak){0};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0] && st == CLCNN_OK; v++) {
        char options[64];
        snprintf(options, sizeof options, "-D VW=%d -D CHAINS=%d", variants[v].vw,
                 variants[v].chains);
        cl_kernel k;
        if ((st = clcnn__kernel(ctx, "peak", options, "peak_mad", &k)) != CLCNN_OK)
            break;
        /* The first launch may compile (PoCL finishes its kernels for the
         * launch's work-group size): untimed. Then grow the loop until a run
         * is long enough to time. */
        int iters = 256;
        double ms = 0, cpu = 0;
        if ((st = run_once(ctx, k, buf, items, local, 1, &ms, &cpu)) != CLCNN_OK)
            break;
        while ((st = run_once(ctx, k, buf, items, local, iters, &ms, &cpu)) == CLCNN_OK &&
               ms < TARGET_MS / 4 && iters < MAX_ITERS)
            iters *= 4;
        if (st != CLCNN_OK)
            break;
        double scaled = iters * TARGET_MS / (ms > 0.01 ? ms : 0.01);
        iters = scaled > MAX_ITERS ? MAX_ITERS : scaled < 1 ? 1 : (int)scaled;
        double cpu_total = 0;
        if ((st = run_once(ctx, k, buf, items, local, iters, &ms, &cpu)) != CLCNN_OK) /* warm-up */
            break;
        for (int r = 0; r < repeat && st == CLCNN_OK; r++) {
            st = run_once(ctx, k, buf, items, local, iters, &t[r], &cpu);
            cpu_total += cpu;
        }
        if (st != CLCNN_OK)
            break;
        const double gflop = 2e-9 * variants[v].vw * variants[v].chains * (double)iters * items;
        const double median = bench_median(t, (size_t)repeat), best = t[0]; /* sorted */
        const double cpu_gflops = is_gpu ? 0 : gflop / (cpu_total / repeat / cu) * 1e3;
        if (log) {
            fprintf(log, "peak: float%-2d x %2d chains: best %7.1f, median %7.1f GFLOP/s",
                    variants[v].vw, variants[v].chains, gflop / best * 1e3,
                    gflop / median * 1e3);
            if (!is_gpu)
                fprintf(log, ", per CPU time %7.1f GFLOP/s", cpu_gflops);
            fprintf(log, " (%d runs of %.1f ms)\n", repeat, median);
        }
        if (gflop / best * 1e3 > out->gflops) {
            out->gflops = gflop / best * 1e3;
            out->median_gflops = gflop / median * 1e3;
            out->vw = variants[v].vw;
            out->chains = variants[v].chains;
            out->run_ms = median;
        }
        if (cpu_gflops > out->cpu_gflops)
            out->cpu_gflops = cpu_gflops;
    }
    free(t);
    clcnn_tensor_destroy(buf);
    return st;
}
