/*
 * clcnn bench: times the convolution layers of the benchmark suites in every
 * pass through the public ops (the library's own choice of algorithm), each
 * checked against float64 sums first; measures the device's FP32 peak; and
 * times whole networks (training and inference images/s, set-up time).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/conv_case.h"
#include "bench/peak.h"
#include "draw.h"
#include "bench_cli.h"
#include "cli.h"
#include "tuning.h"

const char clcnn__usage_bench[] =
    "Usage: clcnn bench [--suite NAMES] [--layer NAMES] [--pass PASSES] [options]\n"
    "       clcnn bench --peak [--json]\n"
    "       clcnn bench --model lenet5|convnet|resnet|mobilenet|SPEC [--batch B] [--json]\n"
    "\n"
    "Times convolution layers forward (fwd), backward to the input (bwd-data) and\n"
    "backward to the filters and bias (bwd-filter) through the library's public\n"
    "calls, so the algorithm is the one the library chooses (its defaults, or the\n"
    "device's tuning file written by 'clcnn tune'). Each pass is first checked\n"
    "against float64 sums at 300 sampled outputs; a failed check prints FAIL and\n"
    "makes the exit status 1. After the warm-up runs, every timed run is waited\n"
    "for (clFinish); the median and the minimum are reported, with the process's\n"
    "CPU time per run (all threads: on a CPU device it shows the work done even\n"
    "when other programs share the cores), GFLOP/s (2*N*K*P*Q*C*R*S per pass, all\n"
    "passes alike) and the share of the FP32 peak measured at the start.\n"
    "\n"
    "Suites: lenet (LeNet-5), convnet (the Keras MNIST convnet), soumith\n"
    "(convnet-benchmarks L1-L5), vgg (3x3 pad 1 layers), resnet (7x7 stride-2\n"
    "stem, 1x1 layers, stride-2 downsampling). 'clcnn bench --list' shows every\n"
    "layer with its shape and default batch: the power of two that makes a pass\n"
    "about 2 GFLOP on a CPU device (40 on a GPU), at most 1024.\n"
    "\n"
    "--peak measures only the FP32 peak: chains of multiply-adds in\n"
    "kernels/peak.cl, best of a few vector widths. --model times a whole network\n"
    "on random 1x28x28 images: the set-up (context, network, every kernel built\n"
    "or loaded; run with empty CLCNN_CACHE_DIR and POCL_CACHE_DIR folders for a\n"
    "cold start) and the first training step, then training steps (forward,\n"
    "backward, Adam) and inference (class probabilities read back), in images/s.\n"
    "\n"
    "Options:\n"
    "  --suite NAMES      comma-separated suites, or all (default)\n"
    "  --layer NAMES      comma-separated layers, e.g. vgg-64@56 (default: all)\n"
    "  --pass PASSES      comma-separated fwd, bwd-data, bwd-filter, or all (default)\n"
    "  --batch B          images per pass (default: per layer, see above; 64 with\n"
    "                     --model)\n"
    "  --repeat N         timed runs (default 5; with --model, timed rounds of\n"
    "                     about 0.2 s each)\n"
    "  --warmup N         untimed runs before them (default 1; --model: at least 2)\n"
    "  --no-peak          do not measure the peak (no % of peak)\n"
    "  --list             list the selected layers and their batches; time nothing\n"
    "  --plot OUT.png     also draw the GFLOP/s of every layer and pass, with the\n"
    "                     peak as a line (clcnn plot --bench draws saved --json runs)\n"
    "  --json             one JSON object per line: a header (device, driver, clcnn\n"
    "                     version, peak), then one per layer and pass\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n"
    "\n"
    "Environment: CLCNN_TUNING_FILE names the tuning file to use (empty: none,\n"
    "the library's defaults); see 'clcnn tune --help'.\n";

#define CHECK_SAMPLES 300

typedef struct options {
    const char *suites, *layers, *model, *device, *plot;
    unsigned passes;
    int batch, repeat, warmup, json, peak_only, no_peak, list;
} options;

static int parse(int argc, char **argv, options *o)
{
    const char *pass = "all", *batch = NULL, *repeat = "5", *warmup = "1";
    const clcnn__option table[] = {
        {"suite", 's', &o->suites, NULL},   {"layer", 'l', &o->layers, NULL},
        {"pass", 'p', &pass, NULL},         {"batch", 'b', &batch, NULL},
        {"repeat", 'r', &repeat, NULL},     {"warmup", 'w', &warmup, NULL},
        {"model", 'm', &o->model, NULL},    {"peak", 0, NULL, &o->peak_only},
        {"no-peak", 0, NULL, &o->no_peak},  {"list", 0, NULL, &o->list},
        {"json", 0, NULL, &o->json},        {"device", 0, &o->device, NULL},
        {"plot", 0, &o->plot, NULL},
    };
    int rc = clcnn__cli_parse("bench", argc, argv, table, sizeof table / sizeof table[0], NULL,
                              0, 0, NULL);
    if (rc || (rc = clcnn__bench_passes("bench", pass, &o->passes)) ||
        (rc = clcnn__cli_int("bench", "repeat", repeat, 1, 10000, &o->repeat)) ||
        (rc = clcnn__cli_int("bench", "warmup", warmup, 0, 10000, &o->warmup)) ||
        (batch && (rc = clcnn__cli_int("bench", "batch", batch, 1, 65536, &o->batch))))
        return rc;
    char err[512];
    clcnn__image_format format;
    if (o->plot && (o->peak_only || o->model || o->list))
        return clcnn__cli_usage_error("bench", "--plot draws the layers' GFLOP/s; it does not go "
                                               "with --peak, --model or --list");
    if (o->plot && (clcnn__image_format_for(o->plot, 3, &format, err, sizeof err) != CLCNN_OK ||
                    format != CLCNN__IMAGE_PNG))
        return clcnn__cli_usage_error("bench", "--plot %s must be a .png file", o->plot);
    if (o->peak_only + (o->model != NULL) + o->list > 1)
        return clcnn__cli_usage_error("bench", "--peak, --model and --list exclude each other");
    if ((o->peak_only || o->model) && (o->suites || o->layers))
        return clcnn__cli_usage_error("bench", "--suite and --layer time convolution layers; "
                                               "they do not go with --peak or --model");
    return CLCNN__EXIT_OK;
}

/* ---- the FP32 peak ---- */

static int measure_peak(clcnn_context *ctx, const options *o, int print, bench_peak *peak)
{
    clcnn_status st = bench_measure_peak(ctx, o->peak_only ? o->repeat : 3,
                                         print && !o->json ? stdout : NULL, peak);
    if (st != CLCNN_OK)
        return clcnn__cli_library_fail(ctx, "bench --peak");
    return CLCNN__EXIT_OK;
}

static int run_peak(clcnn_context *ctx, const options *o, const clcnn_device_info *info)
{
    if (!o->json)
        clcnn__bench_text_device(stdout, info);
    bench_peak peak;
    int rc = measure_peak(ctx, o, 1, &peak);
    if (rc)
        return rc;
    if (o->json) {
        printf("{\"type\": \"peak\", ");
        clcnn__bench_json_device(stdout, info);
        printf(", \"peak_gflops\": %.1f, \"peak_median_gflops\": %.1f", peak.gflops,
               peak.median_gflops);
        if (peak.cpu_gflops > 0)
            printf(", \"peak_cpu_gflops\": %.1f", peak.cpu_gflops);
        printf(", \"vector_width\": %d, \"chains\": %d, \"run_ms\": %.2f, \"repeat\": %d}\n",
               peak.vw, peak.chains, peak.run_ms, o->repeat);
    } else {
        printf("FP32 peak: %.1f GFLOP/s (best run of float%d x %d chains; median %.1f)\n",
               peak.gflops, peak.vw, peak.chains, peak.median_gflops);
        if (peak.cpu_gflops > 0)
            printf("per CPU time: %.1f GFLOP/s (the rate an idle machine would give, when "
                   "other programs share the cores)\n",
                   peak.cpu_gflops);
    }
    return CLCNN__EXIT_OK;
}

/* ---- convolution layers ---- */

static void list_cases(const options *o, const clcnn_device_info *info,
                       const unsigned char *selected)
{
    size_t count;
    const bench_case *cases = bench_cases(&count);
    if (!o->json)
        printf("%-8s %-18s %5s %5s %9s %5s %5s %6s %4s %8s\n", "suite", "layer", "N", "C",
               "HxW", "K", "RxS", "stride", "pad", "GFLOP");
    for (size_t i = 0; i < count; i++) {
        if (!selected[i])
            continue;
        const bench_case *c = &cases[i];
        int n = clcnn__bench_batch(info, c, o->batch);
        double gflop = bench_case_flop(c) * n * 1e-9;
        if (o->json)
            printf("{\"type\": \"case\", \"suite\": \"%s\", \"layer\": \"%s\", \"n\": %d, "
                   "\"c\": %d, \"h\": %d, \"w\": %d, \"k\": %d, \"r\": %d, \"s\": %d, "
                   "\"stride\": %d, \"pad\": %d, \"p\": %d, \"q\": %d, \"gflop\": %.4f}\n",
                   c->suite, c->layer, n, c->C, c->H, c->W, c->K, c->R, c->S, c->stride,
                   c->pad, bench_case_p(c), bench_case_q(c), gflop);
        else
            printf("%-8s %-18s %5d %5d %4dx%-4d %5d %2dx%-2d %6d %4d %8.3f\n", c->suite,
                   c->layer, n, c->C, c->H, c->W, c->K, c->R, c->S, c->stride, c->pad, gflop);
    }
}

/* Checks and times one pass of one case; prints its line. Returns 0 when
 * the check failed, -1 when the library failed, 1 otherwise. */
static int bench_pass_of(clcnn_context *ctx, const options *o, const clcnn_device_info *info,
                         const bench_case *c, bench_conv_data *d, bench_pass pass,
                         const bench_peak *peak, clcnn__bench_bar *bar)
{
    clcnn_conv_algo algo;
    int variant, tuned;
    bench_conv_choice(ctx, d, pass, &algo, &variant, &tuned);
    char algo_name[32];
    bench_conv_algo_name(algo, algo_name, sizeof algo_name);
    const char *variant_name = clcnn__conv2d_variant_name(bench_conv_pass(pass), algo, variant);
    const char *family =
        clcnn__conv2d_variant_is_gpu(bench_conv_pass(pass), algo, variant) ? "gpu" : "cpu";
    double err, tol;
    bench_timing t;
    if (bench_conv_check(ctx, d, pass, CLCNN_CONV_AUTO, -1, CHECK_SAMPLES, &err, &tol) !=
            CLCNN_OK ||
        bench_conv_time(ctx, d, pass, CLCNN_CONV_AUTO, -1, o->warmup, o->repeat, &t) !=
            CLCNN_OK) {
        char what[96];
        snprintf(what, sizeof what, "bench %s %s", c->layer, bench_pass_name(pass));
        clcnn__cli_library_fail(ctx, what);
        return -1;
    }
    const int ok = err <= tol;
    const double gflop = bench_case_flop(c) * d->g.N * 1e-9;
    const double gflops = gflop / t.median_ms * 1e3;
    /* on a CPU device: per second of CPU time, times the cores (see peak.h) */
    const unsigned cores = info->compute_units ? info->compute_units : 1;
    const double cpu_gflops = info->is_gpu ? 0 : gflop / (t.cpu_ms / cores) * 1e3;
    const bench_conv_geom *g = &d->g;
    snprintf(bar->label, sizeof bar->label, "%s %s", c->layer, bench_pass_name(pass));
    bar->gflops = gflops;
    bar->other_gflops = NAN;
    if (o->json) {
        printf("{\"type\": \"conv\", \"suite\": \"%s\", \"layer\": \"%s\", \"pass\": \"%s\", "
               "\"n\": %d, \"c\": %d, \"h\": %d, \"w\": %d, \"k\": %d, \"r\": %d, \"s\": %d, "
               "\"p\": %d, \"q\": %d, \"stride\": %d, \"pad\": %d, \"algo\": \"%s\", "
               "\"variant\": \"%s\", \"family\": \"%s\", \"tuned\": %s, \"check\": \"%s\", "
               "\"max_err\": %.3g, "
               "\"ms\": %.4f, \"min_ms\": %.4f, \"cpu_ms\": %.4f, \"gflop\": %.5f, "
               "\"gflops\": %.2f, \"min_gflops\": %.2f",
               c->suite, c->layer, bench_pass_name(pass), g->N, g->C, g->H, g->W, g->K, g->R,
               g->S, g->P, g->Q, c->stride, c->pad, algo_name, variant_name, family,
               tuned ? "true" : "false", ok ? "ok" : "FAIL", err, t.median_ms, t.min_ms,
               t.cpu_ms, gflop, gflops, gflop / t.min_ms * 1e3);
        if (cpu_gflops > 0)
            printf(", \"cpu_gflops\": %.2f", cpu_gflops);
        if (peak->gflops > 0)
            printf(", \"peak_pct\": %.2f", 100 * gflops / peak->gflops);
        if (peak->cpu_gflops > 0 && cpu_gflops > 0)
            printf(", \"peak_pct_cpu\": %.2f", 100 * cpu_gflops / peak->cpu_gflops);
        printf(", \"repeat\": %d}\n", o->repeat);
    } else {
        char pct[16] = "-", cpu[16] = "-", cpu_pct[16] = "-";
        if (peak->gflops > 0)
            snprintf(pct, sizeof pct, "%.1f%%", 100 * gflops / peak->gflops);
        if (cpu_gflops > 0)
            snprintf(cpu, sizeof cpu, "%.1f", cpu_gflops);
        if (peak->cpu_gflops > 0 && cpu_gflops > 0)
            snprintf(cpu_pct, sizeof cpu_pct, "%.1f%%", 100 * cpu_gflops / peak->cpu_gflops);
        printf("%-18s %-10s %5d  %-20s %9.3f %9.3f %9.3f %8.1f %6s %8s %6s  %s\n", c->layer,
               bench_pass_name(pass), g->N, variant_name, t.median_ms, t.min_ms, t.cpu_ms,
               gflops, pct, cpu, cpu_pct, ok ? (tuned ? "ok, tuned" : "ok") : "FAIL");
        if (!ok)
            printf("  check failed: error %.3g > tolerance %.3g\n", err, tol);
    }
    fflush(stdout);
    return ok;
}

static int run_layers(clcnn_context *ctx, const options *o, const clcnn_device_info *info,
                      const unsigned char *selected)
{
    bench_peak pk = {0};
    if (!o->no_peak) {
        int rc = measure_peak(ctx, o, 0, &pk);
        if (rc)
            return rc;
    }
    char path[4096] = "";
    int has_path = clcnn__tuning_path(ctx, path, sizeof path) == CLCNN_OK;
    int entries = (int)clcnn__tuning_count(ctx);
    if (o->json) {
        printf("{\"type\": \"header\", ");
        clcnn__bench_json_device(stdout, info);
        if (pk.gflops > 0)
            printf(", \"peak_gflops\": %.1f, \"peak_median_gflops\": %.1f", pk.gflops,
                   pk.median_gflops);
        if (pk.cpu_gflops > 0)
            printf(", \"peak_cpu_gflops\": %.1f", pk.cpu_gflops);
        printf(", \"warmup\": %d, \"repeat\": %d, \"tuning_file\": ", o->warmup, o->repeat);
        if (has_path && entries > 0)
            bench_json_string(stdout, path);
        else
            printf("null");
        printf(", \"tuning_entries\": %d}\n", entries);
    } else {
        clcnn__bench_text_device(stdout, info);
        if (pk.gflops > 0)
            printf("FP32 peak %.1f GFLOP/s (float%d x %d chains)%s", pk.gflops, pk.vw,
                   pk.chains, pk.cpu_gflops > 0 ? "" : "; ");
        if (pk.cpu_gflops > 0)
            printf(", %.1f per CPU time; ", pk.cpu_gflops);
        printf("%d warm-up, %d timed runs; tuning file: %s (%d entries)\n", o->warmup,
               o->repeat, has_path && entries > 0 ? path : "none", entries);
        printf("%-18s %-10s %5s  %-20s %9s %9s %9s %8s %6s %8s %6s  %s\n", "layer", "pass",
               "N", "algorithm", "median ms", "min ms", "cpu ms", "GFLOP/s", "%peak",
               "GF/s cpu", "%cpu", "check");
    }
    fflush(stdout);
    size_t count;
    const bench_case *cases = bench_cases(&count);
    int failed = 0, bar_count = 0;
    clcnn__bench_bar *bars = calloc(count * BENCH_PASS_COUNT, sizeof *bars);
    if (!bars)
        return clcnn__cli_fail("bench", "out of host memory");
    for (size_t i = 0; i < count; i++) {
        if (!selected[i])
            continue;
        bench_conv_data d;
        int n = clcnn__bench_batch(info, &cases[i], o->batch);
        if (bench_conv_setup(ctx, &cases[i], n, 42, &d) != CLCNN_OK) {
            char what[96];
            snprintf(what, sizeof what, "bench %s at batch %d", cases[i].layer, n);
            free(bars);
            return clcnn__cli_library_fail(ctx, what);
        }
        for (int pass = 0; pass < BENCH_PASS_COUNT; pass++) {
            if (!(o->passes & (1u << pass)))
                continue;
            int r = bench_pass_of(ctx, o, info, &cases[i], &d, (bench_pass)pass, &pk,
                                  &bars[bar_count++]);
            if (r < 0) {
                bench_conv_free(&d);
                free(bars);
                return CLCNN__EXIT_FAILURE;
            }
            failed += r == 0;
        }
        bench_conv_free(&d);
    }
    int rc = CLCNN__EXIT_OK;
    if (o->plot) {
        char title[256], err[1024];
        snprintf(title, sizeof title, "clcnn bench on %s", info->device_name);
        if (clcnn__bench_chart(o->plot, title, bars, bar_count, pk.gflops, NULL, err,
                               sizeof err) != CLCNN_OK)
            rc = clcnn__cli_fail("bench", "--plot: %s", err);
    }
    free(bars);
    if (failed)
        fprintf(stderr, "clcnn: bench: %d check%s failed\n", failed, failed == 1 ? "" : "s");
    return failed ? CLCNN__EXIT_FAILURE : rc;
}

int clcnn__cmd_bench(int argc, char **argv)
{
    options o = {0};
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    if (o.model)
        return clcnn__bench_model(o.model, o.device, o.batch ? o.batch : 64, o.repeat,
                                  o.warmup, o.json);
    unsigned char selected[BENCH_MAX_CASES];
    if (!o.peak_only && (rc = clcnn__bench_select("bench", o.suites, o.layers, selected)))
        return rc;
    clcnn_context *ctx = NULL;
    if ((rc = clcnn__cli_context("bench", o.device, &ctx)))
        return rc;
    clcnn_device_info info;
    clcnn_context_device(ctx, &info);
    if (o.peak_only)
        rc = run_peak(ctx, &o, &info);
    else if (o.list)
        list_cases(&o, &info, selected);
    else
        rc = run_layers(ctx, &o, &info, selected);
    clcnn_context_destroy(ctx);
    return rc;
}
