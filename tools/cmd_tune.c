/*
 * clcnn tune: for each benchmark layer and pass, checks every algorithm and
 * tile variant the conv2d op has against float64 sums, times those that pass
 * side by side, and records the fastest in the device's tuning file, which
 * the library then reads instead of its default rule.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/conv_case.h"
#include "bench_cli.h"
#include "cli.h"
#include "tuning.h"

const char clcnn__usage_tune[] =
    "Usage: clcnn tune [--suite NAMES] [--layer NAMES] [--pass PASSES] [options]\n"
    "\n"
    "Finds the fastest convolution algorithm and tile variant on this device for\n"
    "each layer of the benchmark suites (see 'clcnn bench --list') in each pass.\n"
    "The candidates are the variants of the context's kernel family (see\n"
    "'clcnn devices'; CLCNN_KERNELS=gpu or cpu chooses), so on a GPU the tiled\n"
    "configurations of the GPU family are searched.\n"
    "Every candidate is first checked against float64 sums at 300 sampled\n"
    "outputs; one that fails is reported and never chosen. The candidates that\n"
    "pass are then timed in interleaved rounds (one run of each per round, so a\n"
    "busy machine slows them alike) and the median decides.\n"
    "\n"
    "The choices go to the device's tuning file: by default\n"
    "<cache>/tuning-<hash>.txt in clcnn's cache folder (CLCNN_CACHE_DIR, else\n"
    "$XDG_CACHE_HOME/clcnn or ~/.cache/clcnn), the hash naming the platform,\n"
    "device and driver, so a driver update starts untuned; CLCNN_TUNING_FILE\n"
    "overrides it. Entries of other layers already in the file are kept. The\n"
    "file is written to a temporary file and renamed, never left half-written.\n"
    "The library reads it in every later process on the device and uses an\n"
    "entry for exactly the same shapes (batch included); other shapes keep the\n"
    "tested defaults, as does everything when no file exists.\n"
    "\n"
    "Options:\n"
    "  --suite NAMES      comma-separated suites, or all (default)\n"
    "  --layer NAMES      comma-separated layers (default: all)\n"
    "  --pass PASSES      comma-separated fwd, bwd-data, bwd-filter, or all (default)\n"
    "  --batch B          images per pass; the entries hold for this batch only\n"
    "                     (default: per layer as 'clcnn bench' chooses)\n"
    "  --repeat N         timed rounds (default 5)\n"
    "  --out FILE         write this tuning file instead\n"
    "  --max-seconds S    stop starting new layers after S seconds and keep what\n"
    "                     was measured (default 1800)\n"
    "  --dry-run          measure and print, write nothing\n"
    "  --json             one JSON object per layer and pass\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n";

#define CHECK_SAMPLES 300
#define MAX_CANDIDATES 64

typedef struct candidate {
    clcnn_conv_algo algo;
    int variant;
    int ok;     /* passed its check */
    int absent; /* cannot run these shapes on this device (stride, filter, memory) */
    double err; /* its check's error */
    double ms;  /* median of the timed rounds */
} candidate;

typedef struct options {
    const char *suites, *layers, *out, *device;
    unsigned passes;
    int batch, repeat, json, dry_run, seconds;
} options;

static int parse(int argc, char **argv, options *o)
{
    const char *pass = "all", *batch = NULL, *repeat = "5", *seconds = "1800";
    const clcnn__option table[] = {
        {"suite", 's', &o->suites, NULL}, {"layer", 'l', &o->layers, NULL},
        {"pass", 'p', &pass, NULL},       {"batch", 'b', &batch, NULL},
        {"repeat", 'r', &repeat, NULL},   {"out", 'o', &o->out, NULL},
        {"json", 0, NULL, &o->json},      {"dry-run", 0, NULL, &o->dry_run},
        {"device", 0, &o->device, NULL},  {"max-seconds", 0, &seconds, NULL},
    };
    int rc = clcnn__cli_parse("tune", argc, argv, table, sizeof table / sizeof table[0], NULL,
                              0, 0, NULL);
    if (rc || (rc = clcnn__bench_passes("tune", pass, &o->passes)) ||
        (rc = clcnn__cli_int("tune", "repeat", repeat, 1, 10000, &o->repeat)) ||
        (rc = clcnn__cli_int("tune", "max-seconds", seconds, 1, 1000000, &o->seconds)) ||
        (batch && (rc = clcnn__cli_int("tune", "batch", batch, 1, 65536, &o->batch))))
        return rc;
    if (o->out && !*o->out)
        return clcnn__cli_usage_error("tune", "--out needs a file name");
    return CLCNN__EXIT_OK;
}

/* Every (algorithm, variant) of the context's kernel family the op reports
 * for the pass: the library ignores tuning entries of the other family. */
static int list_candidates(const clcnn_context *ctx, bench_pass pass, candidate *c)
{
    const int gpu = clcnn_context_kernels(ctx) == CLCNN_KERNELS_GPU;
    int n = 0;
    for (int a = 1; a < CLCNN_CONV_ALGO_COUNT; a++)
        for (int v = 0; v < clcnn__conv2d_variant_count(bench_conv_pass(pass), a); v++)
            if (n < MAX_CANDIDATES &&
                clcnn__conv2d_variant_is_gpu(bench_conv_pass(pass), a, v) == gpu)
                c[n++] = (candidate){(clcnn_conv_algo)a, v, 0, 0, 0, 0};
    return n;
}

/* Checks, then times the candidates in interleaved rounds. Returns the
 * index of the fastest that passed, or -1. */
static int measure(clcnn_context *ctx, const options *o, bench_conv_data *d, bench_pass pass,
                   candidate *c, int count)
{
    double *t = malloc((size_t)count * (size_t)o->repeat * sizeof *t);
    if (!t)
        return -1;
    for (int i = 0; i < count; i++) {
        double tol;
        if (!clcnn__conv2d_variant_supported(ctx, bench_conv_pass(pass), c[i].algo,
                                             c[i].variant, d->x_shape, d->w_shape,
                                             &d->params)) {
            c[i].absent = 1;
            continue;
        }
        clcnn_status st = bench_conv_check(ctx, d, pass, c[i].algo, c[i].variant,
                                           CHECK_SAMPLES, &c[i].err, &tol);
        /* a variant the device cannot run is no candidate; any other
         * failure counts as a failed check */
        c[i].absent = st == CLCNN_ERR_UNSUPPORTED;
        c[i].ok = st == CLCNN_OK && c[i].err <= tol;
        if (st == CLCNN_OK && c[i].ok) /* warm-up */
            st = bench_conv_run(ctx, d, pass, c[i].algo, c[i].variant);
        if (st == CLCNN_OK)
            st = clcnn_context_finish(ctx);
        if (st != CLCNN_OK) {
            c[i].ok = 0;
            c[i].err = INFINITY;
        }
    }
    for (int r = 0; r < o->repeat; r++)
        for (int i = 0; i < count; i++) {
            if (!c[i].ok)
                continue;
            double t0 = bench_now_ms();
            clcnn_status st = bench_conv_run(ctx, d, pass, c[i].algo, c[i].variant);
            if (st == CLCNN_OK)
                st = clcnn_context_finish(ctx);
            t[(size_t)i * o->repeat + r] = bench_now_ms() - t0;
            if (st != CLCNN_OK)
                c[i].ok = 0;
        }
    int best = -1;
    for (int i = 0; i < count; i++) {
        if (!c[i].ok)
            continue;
        c[i].ms = bench_median(t + (size_t)i * o->repeat, (size_t)o->repeat);
        if (best < 0 || c[i].ms < c[best].ms)
            best = i;
    }
    free(t);
    return best;
}

static const char *name_of(bench_pass pass, const candidate *c)
{
    return clcnn__conv2d_variant_name(bench_conv_pass(pass), c->algo, c->variant);
}

static void report(const options *o, const bench_case *bc, const bench_conv_data *d,
                   bench_pass pass, const candidate *c, int count, int best, int def)
{
    const bench_conv_geom *g = &d->g;
    if (o->json) {
        printf("{\"type\": \"tune\", \"suite\": \"%s\", \"layer\": \"%s\", \"pass\": \"%s\", "
               "\"n\": %d, \"c\": %d, \"h\": %d, \"w\": %d, \"k\": %d, \"r\": %d, \"s\": %d, "
               "\"stride\": %d, \"pad\": %d, \"default\": ",
               bc->suite, bc->layer, bench_pass_name(pass), g->N, g->C, g->H, g->W, g->K,
               g->R, g->S, bc->stride, bc->pad);
        if (def >= 0)
            printf("{\"algo\": %d, \"variant\": %d, \"name\": \"%s\", \"ms\": %.4f}",
                   c[def].algo, c[def].variant, name_of(pass, &c[def]), c[def].ms);
        else
            printf("null");
        printf(", \"best\": ");
        if (best >= 0)
            printf("{\"algo\": %d, \"variant\": %d, \"name\": \"%s\", \"ms\": %.4f}",
                   c[best].algo, c[best].variant, name_of(pass, &c[best]), c[best].ms);
        else
            printf("null");
        printf(", \"candidates\": [");
        for (int i = 0; i < count; i++) {
            printf("%s{\"algo\": %d, \"variant\": %d, \"name\": \"%s\", \"check\": \"%s\", "
                   "\"max_err\": %.3g",
                   i ? ", " : "", c[i].algo, c[i].variant, name_of(pass, &c[i]),
                   c[i].ok ? "ok" : c[i].absent ? "unsupported" : "FAIL",
                   isfinite(c[i].err) ? c[i].err : -1.0);
            if (c[i].ok)
                printf(", \"ms\": %.4f", c[i].ms);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("%-18s %-10s %5d ", bc->layer, bench_pass_name(pass), g->N);
        for (int i = 0; i < count; i++) {
            if (c[i].ok)
                printf(" %s %.3f%s", name_of(pass, &c[i]), c[i].ms, i == best ? "*" : "");
            else if (c[i].absent)
                printf(" %s n/a", name_of(pass, &c[i]));
            else
                printf(" %s FAIL", name_of(pass, &c[i]));
            printf(i + 1 < count ? "," : "");
        }
        if (best >= 0 && def >= 0 && def != best)
            printf("  (%.2fx the default)", c[def].ms / c[best].ms);
        printf("\n");
    }
    fflush(stdout);
}

/* One chosen entry, kept until the file is written. */
typedef struct choice {
    char key[256];
    bench_pass pass;
    candidate best;
} choice;

static int save(clcnn_context *ctx, const options *o, const choice *chosen, int n)
{
    char path[4096];
    if (o->out)
        snprintf(path, sizeof path, "%s", o->out);
    else if (clcnn__tuning_path(ctx, path, sizeof path) != CLCNN_OK)
        return clcnn__cli_library_fail(ctx, "tune");
    /* keep the entries of other layers: start from the file as it is */
    FILE *exists = fopen(path, "r");
    if (exists) {
        fclose(exists);
        clcnn__tuning_load(ctx, path);
    } else {
        clcnn__tuning_load_text(ctx, NULL, 0);
    }
    for (int i = 0; i < n; i++)
        if (clcnn__tuning_set(ctx, bench_conv_tuning_op(chosen[i].pass), chosen[i].key,
                              (int)chosen[i].best.algo, chosen[i].best.variant,
                              chosen[i].best.ms,
                              name_of(chosen[i].pass, &chosen[i].best)) != CLCNN_OK)
            return clcnn__cli_library_fail(ctx, "tune");
    if (clcnn__tuning_save(ctx, path) != CLCNN_OK)
        return clcnn__cli_library_fail(ctx, "tune");
    if (!o->json)
        printf("wrote %d entr%s to %s (%zu in all)\n", n, n == 1 ? "y" : "ies", path,
               clcnn__tuning_count(ctx));
    else
        fprintf(stderr, "clcnn: tune: wrote %d entries to %s\n", n, path);
    return CLCNN__EXIT_OK;
}

int clcnn__cmd_tune(int argc, char **argv)
{
    options o = {0};
    unsigned char selected[BENCH_MAX_CASES];
    int rc = parse(argc, argv, &o);
    if (rc || (rc = clcnn__bench_select("tune", o.suites, o.layers, selected)))
        return rc;
    clcnn_context *ctx = NULL;
    if ((rc = clcnn__cli_context("tune", o.device, &ctx)))
        return rc;
    clcnn_device_info info;
    clcnn_context_device(ctx, &info);
    if (o.json) {
        printf("{\"type\": \"header\", ");
        clcnn__bench_json_device(stdout, &info);
        printf(", \"repeat\": %d}\n", o.repeat);
    } else {
        clcnn__bench_text_device(stdout, &info);
        printf("%-18s %-10s %5s  candidates: median ms of %d rounds (* fastest)\n", "layer",
               "pass", "N", o.repeat);
    }
    size_t count;
    const bench_case *cases = bench_cases(&count);
    choice *chosen = calloc(count * BENCH_PASS_COUNT, sizeof *chosen);
    int n_chosen = 0, failures = 0;
    if (!chosen) {
        clcnn_context_destroy(ctx);
        return clcnn__cli_fail("tune", "out of memory");
    }
    const double start_ms = bench_now_ms();
    size_t left = 0;
    for (size_t i = 0; i < count && rc == CLCNN__EXIT_OK; i++) {
        if (!selected[i])
            continue;
        if (bench_now_ms() - start_ms > 1e3 * o.seconds) {
            left++;
            continue;
        }
        bench_conv_data d;
        int n = clcnn__bench_batch(&info, &cases[i], o.batch);
        if (bench_conv_setup(ctx, &cases[i], n, 42, &d) != CLCNN_OK) {
            rc = clcnn__cli_library_fail(ctx, "tune");
            break;
        }
        for (int p = 0; p < BENCH_PASS_COUNT; p++) {
            if (!(o.passes & (1u << p)))
                continue;
            bench_pass pass = (bench_pass)p;
            candidate c[MAX_CANDIDATES];
            int nc = list_candidates(ctx, pass, c);
            clcnn_conv_algo def_algo;
            int def_variant, def = -1;
            /* the built-in rule, whatever a tuning file says now */
            clcnn__conv2d_choose(ctx, bench_conv_pass(pass), d.x_shape, d.w_shape, &d.params,
                                 &def_algo, &def_variant);
            for (int k = 0; k < nc; k++)
                if (c[k].algo == def_algo && c[k].variant == def_variant)
                    def = k;
            int best = measure(ctx, &o, &d, pass, c, nc);
            for (int k = 0; k < nc; k++)
                failures += !c[k].ok && !c[k].absent;
            report(&o, &cases[i], &d, pass, c, nc, best, def);
            if (best < 0)
                continue;
            choice *ch = &chosen[n_chosen++];
            ch->pass = pass;
            ch->best = c[best];
            clcnn__conv2d_tuning_key(d.x_shape, d.w_shape, &d.params, ch->key, sizeof ch->key);
        }
        bench_conv_free(&d);
    }
    if (left)
        fprintf(stderr,
                "clcnn: tune: --max-seconds %d reached; %zu layer%s left untuned (the "
                "measured ones are kept)\n",
                o.seconds, left, left == 1 ? "" : "s");
    if (rc == CLCNN__EXIT_OK && !o.dry_run)
        rc = save(ctx, &o, chosen, n_chosen);
    if (failures) {
        fprintf(stderr, "clcnn: tune: %d candidate%s failed %s check and %s never chosen\n",
                failures, failures == 1 ? "" : "s", failures == 1 ? "its" : "their",
                failures == 1 ? "is" : "are");
        if (rc == CLCNN__EXIT_OK)
            rc = CLCNN__EXIT_FAILURE;
    }
    free(chosen);
    clcnn_context_destroy(ctx);
    return rc;
}
