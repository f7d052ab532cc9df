/*
 * bench_conv2d: times the conv2d forward, backward-data and backward-filter
 * passes of one layer for every algorithm and tile variant (and the AUTO
 * choice), after checking each once against float64 sums at sampled points;
 * the candidates of a pass are timed round-robin, one run each in turn.
 *
 *   bench_conv2d [-r REPS] [-w WARMUP] [-a] [-p fdb] [-v TEXT] [-s SUITE]
 *                [N C H W K R S [PAD [STRIDE]]]
 *
 * -s runs the layers of a suite of bench/suites.c (lenet, convnet, soumith,
 * vgg, resnet or all, or one layer by its name) at clcnn bench's batch; -a
 * times only the AUTO choice, -v only the variants whose name contains TEXT;
 * -p picks the passes. The default layer is VGG-style: N=8, C=64, 56x56,
 * K=64, 3x3, pad 1. GFLOP/s counts 2*N*K*P*Q*C*R*S for every pass. "cpu ms"
 * is the process's CPU time per timed run over all threads; on a device that
 * is the host CPU (PoCL), "GF/s cpu" divides it by the compute units to
 * estimate the rate on an idle machine when others share the cores. Exit status 1 if a check fails.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "suites.h"
#include "clcnn.h"
#include "conv2d.h"

#define SAMPLES 300

typedef struct layer {
    int N, C, H, W, K, R, S, P, Q, pad, stride;
} layer;

typedef struct data {
    layer l;
    clcnn_conv2d_params params;
    float *x, *w, *b, *dy;
    clcnn_tensor *tx, *tw, *tb, *ty, *tdy, *tdx, *tdw, *tdb;
} data;

static void die(clcnn_context *ctx, clcnn_status st, const char *what)
{
    fprintf(stderr, "bench_conv2d: %s failed: %s: %s\n", what, clcnn_status_name(st),
            clcnn_last_error(ctx));
    exit(2);
}

static clcnn_tensor *make_tensor(clcnn_context *ctx, int n, int c, int h, int w,
                                 const float *src)
{
    clcnn_tensor *t = NULL;
    clcnn_status st = clcnn_tensor_create(ctx, n, c, h, w, &t);
    if (st == CLCNN_OK && src)
        st = clcnn_tensor_write(t, src, clcnn_tensor_count(t));
    if (st != CLCNN_OK)
        die(ctx, st, "creating a tensor");
    return t;
}

static float *read_tensor(clcnn_context *ctx, const clcnn_tensor *t)
{
    size_t n = clcnn_tensor_count(t);
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench_conv2d: out of memory\n");
        exit(2);
    }
    clcnn_status st = clcnn_tensor_read(t, p, n);
    if (st != CLCNN_OK)
        die(ctx, st, "reading a tensor");
    return p;
}

static size_t xi(const layer *l, int n, int c, int h, int w)
{
    return (((size_t)n * l->C + c) * l->H + h) * l->W + w;
}

static size_t wi(const layer *l, int k, int c, int r, int s)
{
    return (((size_t)k * l->C + c) * l->R + r) * l->S + s;
}

static size_t yi(const layer *l, int n, int k, int p, int q)
{
    return (((size_t)n * l->K + k) * l->P + p) * l->Q + q;
}

/* The worst error at SAMPLES random points, relative to the sum of the
 * magnitudes of the terms (the scale of float32 rounding). */
static double check(clcnn_context *ctx, const data *d, clcnn__conv2d_pass pass)
{
    const layer *l = &d->l;
    bench_rng rng = bench_rng_make(7);
    double worst = 0;
    if (pass == CLCNN__CONV2D_FORWARD) {
        float *y = read_tensor(ctx, d->ty);
        for (int i = 0; i < SAMPLES; i++) {
            int n = bench_below(&rng, l->N), k = bench_below(&rng, l->K);
            int p = bench_below(&rng, l->P), q = bench_below(&rng, l->Q);
            double sum = d->b[k], scale = fabs(d->b[k]);
            for (int c = 0; c < l->C; c++)
                for (int r = 0; r < l->R; r++)
                    for (int s = 0; s < l->S; s++) {
                        int h = p * l->stride - l->pad + r, v = q * l->stride - l->pad + s;
                        if (h < 0 || h >= l->H || v < 0 || v >= l->W)
                            continue;
                        double t = (double)d->x[xi(l, n, c, h, v)] * d->w[wi(l, k, c, r, s)];
                        sum += t;
                        scale += fabs(t);
                    }
            worst = fmax(worst, fabs(y[yi(l, n, k, p, q)] - sum) / (scale + 1e-30));
        }
        free(y);
    } else if (pass == CLCNN__CONV2D_BACKWARD_DATA) {
        float *dx = read_tensor(ctx, d->tdx);
        for (int i = 0; i < SAMPLES; i++) {
            int n = bench_below(&rng, l->N), c = bench_below(&rng, l->C);
            int h = bench_below(&rng, l->H), v = bench_below(&rng, l->W);
            double sum = 0, scale = 0;
            for (int k = 0; k < l->K; k++)
                for (int r = 0; r < l->R; r++)
                    for (int s = 0; s < l->S; s++) {
                        int u = h + l->pad - r, t = v + l->pad - s;
                        if (u < 0 || t < 0 || u % l->stride || t % l->stride ||
                            u / l->stride >= l->P || t / l->stride >= l->Q)
                            continue;
                        double term = (double)d->dy[yi(l, n, k, u / l->stride, t / l->stride)] *
                                      d->w[wi(l, k, c, r, s)];
                        sum += term;
                        scale += fabs(term);
                    }
            worst = fmax(worst, fabs(dx[xi(l, n, c, h, v)] - sum) / (scale + 1e-30));
        }
        free(dx);
    } else {
        float *dw = read_tensor(ctx, d->tdw), *db = read_tensor(ctx, d->tdb);
        for (int i = 0; i < SAMPLES; i++) {
            int k = bench_below(&rng, l->K), c = bench_below(&rng, l->C);
            int r = bench_below(&rng, l->R), s = bench_below(&rng, l->S);
            double sum = 0, scale = 0;
            for (int n = 0; n < l->N; n++)
                for (int p = 0; p < l->P; p++)
                    for (int q = 0; q < l->Q; q++) {
                        int h = p * l->stride - l->pad + r, v = q * l->stride - l->pad + s;
                        if (h < 0 || h >= l->H || v < 0 || v >= l->W)
                            continue;
                        double t = (double)d->dy[yi(l, n, k, p, q)] * d->x[xi(l, n, c, h, v)];
                        sum += t;
                        scale += fabs(t);
                    }
            worst = fmax(worst, fabs(dw[wi(l, k, c, r, s)] - sum) / (scale + 1e-30));
        }
        for (int k = 0; k < l->K; k++) {
            double sum = 0, scale = 0;
            for (int n = 0; n < l->N; n++)
                for (int p = 0; p < l->P; p++)
                    for (int q = 0; q < l->Q; q++) {
                        sum += d->dy[yi(l, n, k, p, q)];
                        scale += fabs(d->dy[yi(l, n, k, p, q)]);
                    }
            worst = fmax(worst, fabs(db[k] - sum) / (scale + 1e-30));
        }
        free(dw);
        free(db);
    }
    return worst;
}

static clcnn_status run(clcnn_context *ctx, data *d, clcnn__conv2d_pass pass,
                        clcnn_conv_algo algo, int variant)
{
    clcnn_conv2d_params p = d->params;
    p.algo = algo;
    if (pass == CLCNN__CONV2D_FORWARD)
        return clcnn__conv2d_forward_variant(ctx, d->tx, d->tw, d->tb, d->ty, &p, variant);
    if (pass == CLCNN__CONV2D_BACKWARD_DATA)
        return clcnn__conv2d_backward_data_variant(ctx, d->tdy, d->tw, d->tdx, &p, variant);
    return clcnn__conv2d_backward_filter_variant(ctx, d->tx, d->tdy, d->tdw, d->tdb, &p,
                                                 variant);
}

static const char *pass_name(clcnn__conv2d_pass pass)
{
    return pass == CLCNN__CONV2D_FORWARD         ? "forward"
           : pass == CLCNN__CONV2D_BACKWARD_DATA ? "backward-data"
                                                 : "backward-filter";
}

/* One (algo, variant) of a pass to time; variant -1 is the AUTO choice. */
typedef struct candidate {
    clcnn_conv_algo algo;
    int variant;
    char name[96];
    double first_ms, err, cpu;
    double *t;
} candidate;

static void run_timed(clcnn_context *ctx, data *d, clcnn__conv2d_pass pass, candidate *c,
                      double *ms)
{
    clcnn_status st;
    double start = bench_now_ms();
    if ((st = run(ctx, d, pass, c->algo, c->variant)) != CLCNN_OK ||
        (st = clcnn_context_finish(ctx)) != CLCNN_OK)
        die(ctx, st, c->name);
    *ms = bench_now_ms() - start;
}

/* Checks each candidate once, then times them round-robin (so that a change
 * of load on a shared machine hits all of them alike) and prints one line
 * each. Returns 0 when a check failed. */
static int time_pass(clcnn_context *ctx, data *d, clcnn__conv2d_pass pass, candidate *cand,
                     int count, int warmup, int reps, double gflop, int cores)
{
    int ok = 1;
    for (int i = 0; i < count; i++) {
        candidate *c = &cand[i];
        if (c->variant < 0) {
            clcnn_conv_algo chosen = c->algo;
            int v = -1;
            const int xs[4] = {d->l.N, d->l.C, d->l.H, d->l.W};
            const int ws[4] = {d->l.K, d->l.C, d->l.R, d->l.S};
            clcnn__conv2d_select(ctx, pass, xs, ws, &d->params, &chosen, &v);
            snprintf(c->name, sizeof c->name, "AUTO = %s",
                     clcnn__conv2d_variant_name(pass, chosen, v));
        } else {
            snprintf(c->name, sizeof c->name, "%s",
                     clcnn__conv2d_variant_name(pass, c->algo, c->variant));
        }
        clcnn_status st;
        if ((st = clcnn_tensor_fill(d->tdw, 0.0f)) != CLCNN_OK ||
            (st = clcnn_tensor_fill(d->tdb, 0.0f)) != CLCNN_OK)
            die(ctx, st, "clearing dw");
        run_timed(ctx, d, pass, c, &c->first_ms);
        c->err = check(ctx, d, pass);
        ok &= c->err <= 1e-5;
        c->t = malloc((size_t)reps * sizeof *c->t);
        if (!c->t)
            exit(2);
        c->cpu = 0;
    }
    for (int r = 0; r < warmup + reps; r++)
        for (int i = 0; i < count; i++) {
            double ms, cpu = bench_cpu_ms();
            run_timed(ctx, d, pass, &cand[i], &ms);
            if (r >= warmup) {
                cand[i].t[r - warmup] = ms;
                cand[i].cpu += bench_cpu_ms() - cpu;
            }
        }
    for (int i = 0; i < count; i++) {
        candidate *c = &cand[i];
        const double cpu = c->cpu / reps;
        const double best = bench_min(c->t, (size_t)reps);
        const double median = bench_median(c->t, (size_t)reps);
        printf("%-16s %-24s %-4s %8.1e %9.1f %9.3f %9.3f %9.1f %9.1f %9.1f %9.1f\n",
               pass_name(pass), c->name, c->err <= 1e-5 ? "ok" : "FAIL", c->err, c->first_ms,
               median, best, cpu, gflop / median * 1e3, gflop / best * 1e3,
               gflop / (cpu / cores) * 1e3);
        free(c->t);
    }
    fflush(stdout);
    return ok;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_conv2d [-r REPS] [-w WARMUP] [-a] [-p fdb] [-v TEXT] [-s SUITE] "
            "[N C H W K R S [PAD [STRIDE]]]\n"
            "  -a        time only the AUTO choice of each pass\n"
            "  -v TEXT   time only the variants whose name contains TEXT (or one of the\n"
            "            comma-separated words of TEXT)\n"
            "  -p PASSES the passes to time: f forward, d backward-data, b backward-filter\n"
            "  -s SUITE  every layer of a suite (lenet, convnet, soumith, vgg, resnet, all)\n"
            "default: 8 64 56 56 64 3 3 1 1 (a VGG-style layer)\n");
    exit(2);
}

/* Whether name contains one of the comma-separated words of only (NULL: all). */
static int matches(const char *name, const char *only)
{
    if (!only)
        return 1;
    for (const char *w = only; *w;) {
        const char *end = strchr(w, ',');
        size_t len = end ? (size_t)(end - w) : strlen(w);
        for (const char *p = name; len && strlen(p) >= len; p++)
            if (strncmp(p, w, len) == 0)
                return 1;
        w += len + (end ? 1 : 0);
    }
    return 0;
}

/* Runs the chosen passes of one layer; returns 0 when a check failed. */
static int bench_layer(clcnn_context *ctx, const char *name, const int dims[9], int reps,
                       int warmup, int auto_only, const char *passes, const char *only,
                       int cores)
{
    data d = {0};
    layer *l = &d.l;
    *l = (layer){dims[0], dims[1], dims[2], dims[3], dims[4], dims[5], dims[6], 0, 0, dims[7],
                 dims[8]};
    d.params = (clcnn_conv2d_params){.pad_top = l->pad, .pad_bottom = l->pad,
                                     .pad_left = l->pad, .pad_right = l->pad,
                                     .stride_h = l->stride, .stride_w = l->stride};
    const int xs[4] = {l->N, l->C, l->H, l->W}, ws[4] = {l->K, l->C, l->R, l->S};
    int ys[4];
    char msg[512];
    if (clcnn_conv2d_output_shape(xs, ws, &d.params, ys, msg, sizeof msg) != CLCNN_OK) {
        fprintf(stderr, "bench_conv2d: %s\n", msg);
        exit(2);
    }
    l->P = ys[2];
    l->Q = ys[3];

    size_t nx = (size_t)l->N * l->C * l->H * l->W, nw = (size_t)l->K * l->C * l->R * l->S;
    size_t ny = (size_t)l->N * l->K * l->P * l->Q;
    bench_rng rng = bench_rng_make(42);
    d.x = malloc(nx * sizeof *d.x);
    d.w = malloc(nw * sizeof *d.w);
    d.b = malloc((size_t)l->K * sizeof *d.b);
    d.dy = malloc(ny * sizeof *d.dy);
    if (!d.x || !d.w || !d.b || !d.dy)
        exit(2);
    bench_fill(&rng, d.x, nx, -1, 1);
    bench_fill(&rng, d.w, nw, -1, 1);
    bench_fill(&rng, d.b, (size_t)l->K, -1, 1);
    bench_fill(&rng, d.dy, ny, -1, 1);
    d.tx = make_tensor(ctx, l->N, l->C, l->H, l->W, d.x);
    d.tw = make_tensor(ctx, l->K, l->C, l->R, l->S, d.w);
    d.tb = make_tensor(ctx, l->K, 1, 1, 1, d.b);
    d.ty = make_tensor(ctx, l->N, l->K, l->P, l->Q, NULL);
    d.tdy = make_tensor(ctx, l->N, l->K, l->P, l->Q, d.dy);
    d.tdx = make_tensor(ctx, l->N, l->C, l->H, l->W, NULL);
    d.tdw = make_tensor(ctx, l->K, l->C, l->R, l->S, NULL);
    d.tdb = make_tensor(ctx, l->K, 1, 1, 1, NULL);

    double gflop = 2.0 * l->N * l->K * l->P * l->Q * l->C * l->R * l->S * 1e-9;
    printf("layer %s: N=%d C=%d H=%d W=%d K=%d R=%d S=%d pad %d stride %d -> P=%d Q=%d, "
           "%.3f GFLOP per pass; %d warm-up, %d timed runs\n",
           name, l->N, l->C, l->H, l->W, l->K, l->R, l->S, l->pad, l->stride, l->P, l->Q,
           gflop, warmup, reps);
    fflush(stdout);

    int ok = 1;
    static const char pass_letters[] = "fdb";
    for (int pass = 0; pass < CLCNN__CONV2D_PASS_COUNT; pass++) {
        if (!strchr(passes, pass_letters[pass]))
            continue;
        candidate cand[64];
        int count = 0;
        if (!auto_only)
            for (int a = 1; a < CLCNN_CONV_ALGO_COUNT; a++)
                for (int v = 0; v < clcnn__conv2d_variant_count(pass, (clcnn_conv_algo)a); v++)
                    if (count < 63 &&
                        matches(clcnn__conv2d_variant_name(pass, (clcnn_conv_algo)a, v), only) &&
                        clcnn__conv2d_variant_supported(ctx, pass, (clcnn_conv_algo)a, v, xs, ws,
                                                        &d.params))
                        cand[count++] = (candidate){.algo = (clcnn_conv_algo)a, .variant = v};
        if (!only || count == 0)
            cand[count++] = (candidate){.algo = CLCNN_CONV_AUTO, .variant = -1};
        ok &= time_pass(ctx, &d, pass, cand, count, warmup, reps, gflop, cores);
    }

    clcnn_tensor *all[] = {d.tx, d.tw, d.tb, d.ty, d.tdy, d.tdx, d.tdw, d.tdb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
    free(d.x), free(d.w), free(d.b), free(d.dy);
    return ok;
}

int main(int argc, char **argv)
{
    int reps = 5, warmup = 1, auto_only = 0;
    const char *passes = "fdb", *suite = NULL, *only = NULL;
    int dims[9] = {8, 64, 56, 56, 64, 3, 3, 1, 1};
    int ndims = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
            passes = argv[++i];
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            suite = argv[++i];
        else if (strcmp(argv[i], "-v") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "-a") == 0)
            auto_only = 1;
        else if (ndims < 9 && argv[i][0] != '-')
            dims[ndims++] = atoi(argv[i]);
        else
            usage();
    }
    if ((ndims != 0 && ndims < 7) || (ndims && suite) || reps < 1 || warmup < 0)
        usage();
    if (ndims >= 7 && ndims < 8)
        dims[7] = 0;
    if (ndims >= 7 && ndims < 9)
        dims[8] = 1;

    char msg[512];
    clcnn_context *ctx = NULL;
    clcnn_status st = clcnn_context_create(NULL, &ctx, msg, sizeof msg);
    if (st != CLCNN_OK) {
        fprintf(stderr, "bench_conv2d: no context: %s\n", msg);
        return 2;
    }
    clcnn_device_info info;
    clcnn_context_device(ctx, &info);
    const int cores = info.compute_units ? (int)info.compute_units : 1;
    printf("device: %s (%s)\n", info.device_name, info.platform_name);
    printf("%-16s %-24s %-4s %8s %9s %9s %9s %9s %9s %9s %9s\n", "pass", "variant", "chk",
           "max err", "first ms", "median ms", "min ms", "cpu ms", "GF/s med", "GF/s best",
           "GF/s cpu");

    int ok = 1, found = 0;
    if (suite) {
        /* the layers and batches of `clcnn bench` (bench/suites.c) */
        size_t count;
        const bench_case *cases = bench_cases(&count);
        for (size_t i = 0; i < count; i++) {
            const bench_case *s = &cases[i];
            if (strcmp(suite, "all") != 0 && strcmp(suite, s->suite) != 0 &&
                strcmp(suite, s->layer) != 0)
                continue;
            const int ld[9] = {bench_case_batch(s, 2.0, 0), s->C, s->H, s->W, s->K, s->R, s->S,
                               s->pad, s->stride};
            ok &= bench_layer(ctx, s->layer, ld, reps, warmup, auto_only, passes, only, cores);
            found = 1;
        }
        if (!found) {
            fprintf(stderr, "bench_conv2d: no suite or layer named %s\n", suite);
            return 2;
        }
    } else {
        ok = bench_layer(ctx, "command line", dims, reps, warmup, auto_only, passes, only,
                         cores);
    }
    clcnn_context_destroy(ctx);
    return ok ? 0 : 1;
}
