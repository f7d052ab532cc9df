/* One benchmark case on the device (see conv_case.h). */
#include "conv_case.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tuning.h"

clcnn__conv2d_pass bench_conv_pass(bench_pass pass)
{
    return pass == BENCH_PASS_FWD        ? CLCNN__CONV2D_FORWARD
           : pass == BENCH_PASS_BWD_DATA ? CLCNN__CONV2D_BACKWARD_DATA
                                         : CLCNN__CONV2D_BACKWARD_FILTER;
}

const char *bench_conv_tuning_op(bench_pass pass)
{
    return pass == BENCH_PASS_FWD        ? "conv2d.fwd"
           : pass == BENCH_PASS_BWD_DATA ? "conv2d.bwd_data"
                                         : "conv2d.bwd_filter";
}

void bench_conv_free(bench_conv_data *d)
{
    clcnn_tensor *all[] = {d->tx, d->tw, d->tb, d->ty, d->tdy, d->tdx, d->tdw, d->tdb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
    free(d->x);
    free(d->w);
    free(d->b);
    free(d->dy);
    memset(d, 0, sizeof *d);
}

static clcnn_status make(clcnn_context *ctx, const int shape[4], const float *src,
                         clcnn_tensor **out)
{
    clcnn_status st = clcnn_tensor_create(ctx, shape[0], shape[1], shape[2], shape[3], out);
    if (st == CLCNN_OK && src)
        st = clcnn_tensor_write(*out, src, clcnn_tensor_count(*out));
    return st;
}

clcnn_status bench_conv_setup(clcnn_context *ctx, const bench_case *c, int n, uint64_t seed,
                              bench_conv_data *d)
{
    memset(d, 0, sizeof *d);
    const int P = bench_case_p(c), Q = bench_case_q(c);
    d->g = (bench_conv_geom){n, c->C, c->H, c->W, c->K, c->R, c->S, P, Q,
                             c->pad, c->pad, c->stride, c->stride, 1, 1};
    d->params = (clcnn_conv2d_params){.pad_top = c->pad, .pad_bottom = c->pad,
                                      .pad_left = c->pad, .pad_right = c->pad,
                                      .stride_h = c->stride, .stride_w = c->stride,
                                      .algo = CLCNN_CONV_AUTO};
    const int xs[4] = {n, c->C, c->H, c->W}, ws[4] = {c->K, c->C, c->R, c->S};
    const int ys[4] = {n, c->K, P, Q}, bs[4] = {c->K, 1, 1, 1};
    memcpy(d->x_shape, xs, sizeof xs);
    memcpy(d->w_shape, ws, sizeof ws);
    const size_t nx = (size_t)n * c->C * c->H * c->W, nw = (size_t)c->K * c->C * c->R * c->S;
    const size_t ny = (size_t)n * c->K * P * Q;
    d->x = malloc(nx * sizeof *d->x);
    d->w = malloc(nw * sizeof *d->w);
    d->b = malloc((size_t)c->K * sizeof *d->b);
    d->dy = malloc(ny * sizeof *d->dy);
    if (!d->x || !d->w || !d->b || !d->dy) {
        bench_conv_free(d);
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    }
    bench_rng rng = bench_rng_make(seed);
    bench_fill(&rng, d->x, nx, -1, 1);
    bench_fill(&rng, d->w, nw, -1, 1);
    bench_fill(&rng, d->b, (size_t)c->K, -1, 1);
    bench_fill(&rng, d->dy, ny, -1, 1);
    clcnn_status st;
    if ((st = make(ctx, xs, d->x, &d->tx)) != CLCNN_OK ||
        (st = make(ctx, ws, d->w, &d->tw)) != CLCNN_OK ||
        (st = make(ctx, bs, d->b, &d->tb)) != CLCNN_OK ||
        (st = make(ctx, ys, NULL, &d->ty)) != CLCNN_OK ||
        (st = make(ctx, ys, d->dy, &d->tdy)) != CLCNN_OK ||
        (st = make(ctx, xs, NULL, &d->tdx)) != CLCNN_OK ||
        (st = make(ctx, ws, NULL, &d->tdw)) != CLCNN_OK ||
        (st = make(ctx, bs, NULL, &d->tdb)) != CLCNN_OK)
        bench_conv_free(d);
    return st;
}

clcnn_status bench_conv_run(clcnn_context *ctx, bench_conv_data *d, bench_pass pass,
                            clcnn_conv_algo algo, int variant)
{
    clcnn_conv2d_params p = d->params;
    if (variant >= 0)
        p.algo = algo;
    switch (pass) {
    case BENCH_PASS_FWD:
        return clcnn__conv2d_forward_variant(ctx, d->tx, d->tw, d->tb, d->ty, &p, variant);
    case BENCH_PASS_BWD_DATA:
        return clcnn__conv2d_backward_data_variant(ctx, d->tdy, d->tw, d->tdx, &p, variant);
    default:
        return clcnn__conv2d_backward_filter_variant(ctx, d->tx, d->tdy, d->tdw, d->tdb, &p,
                                                     variant);
    }
}

void bench_conv_choice(clcnn_context *ctx, const bench_conv_data *d, bench_pass pass,
                       clcnn_conv_algo *algo, int *variant, int *tuned)
{
    *algo = CLCNN_CONV_AUTO;
    *variant = -1;
    clcnn__conv2d_select(ctx, bench_conv_pass(pass), d->x_shape, d->w_shape, &d->params, algo,
                         variant);
    if (!tuned)
        return;
    char key[256];
    int a = -1, v = -1;
    clcnn__conv2d_tuning_key(d->x_shape, d->w_shape, &d->params, key, sizeof key);
    *tuned = clcnn__tuning_lookup(ctx, bench_conv_tuning_op(pass), key, &a, &v) &&
             a == (int)*algo && v == *variant;
}

const char *bench_conv_algo_name(clcnn_conv_algo algo, char *buf, size_t size)
{
    static const char *const names[] = {"auto", "direct", "gemm", "winograd", "gemm_1x1"};
    if ((unsigned)algo < sizeof names / sizeof names[0])
        snprintf(buf, size, "%s", names[algo]);
    else
        snprintf(buf, size, "algo%d", (int)algo); /* one added since */
    return buf;
}

/* a (count) floats read from t, or NULL. */
static float *read_back(const clcnn_tensor *t, clcnn_status *st)
{
    size_t n = clcnn_tensor_count(t);
    float *p = malloc(n * sizeof *p);
    if (!p) {
        *st = CLCNN_ERR_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    if ((*st = clcnn_tensor_read(t, p, n)) != CLCNN_OK) {
        free(p);
        return NULL;
    }
    return p;
}

clcnn_status bench_conv_check(clcnn_context *ctx, bench_conv_data *d, bench_pass pass,
                              clcnn_conv_algo algo, int variant, int samples, double *err,
                              double *tol)
{
    const bench_conv_geom *g = &d->g;
    clcnn_status st;
    *err = 1;
    /* NaN, so that a kernel that writes nothing cannot pass on stale results */
    if ((st = clcnn_tensor_fill(d->ty, NAN)) != CLCNN_OK ||
        (st = clcnn_tensor_fill(d->tdx, NAN)) != CLCNN_OK ||
        (st = clcnn_tensor_fill(d->tdw, 0.0f)) != CLCNN_OK ||
        (st = clcnn_tensor_fill(d->tdb, 0.0f)) != CLCNN_OK ||
        (st = bench_conv_run(ctx, d, pass, algo, variant)) != CLCNN_OK ||
        (st = clcnn_context_finish(ctx)) != CLCNN_OK)
        return st;
    const uint64_t seed = 7;
    if (pass == BENCH_PASS_FWD) {
        float *y = read_back(d->ty, &st);
        if (y)
            *err = bench_check_conv2d_forward(g, d->x, d->w, d->b, y, samples, seed);
        *tol = bench_conv2d_tolerance((double)g->C * g->R * g->S);
        free(y);
    } else if (pass == BENCH_PASS_BWD_DATA) {
        float *dx = read_back(d->tdx, &st);
        if (dx)
            *err = bench_check_conv2d_backward_data(g, d->dy, d->w, dx, samples, seed);
        *tol = bench_conv2d_tolerance((double)g->K * g->R * g->S);
        free(dx);
    } else {
        float *dw = read_back(d->tdw, &st), *db = dw ? read_back(d->tdb, &st) : NULL;
        if (dw && db)
            *err = bench_check_conv2d_backward_filter(g, d->x, d->dy, dw, db, samples, seed);
        *tol = bench_conv2d_tolerance((double)g->N * g->P * g->Q);
        free(dw);
        free(db);
    }
    return st;
}

clcnn_status bench_conv_time(clcnn_context *ctx, bench_conv_data *d, bench_pass pass,
                             clcnn_conv_algo algo, int variant, int warmup, int repeat,
                             bench_timing *out)
{
    double *t = malloc((size_t)repeat * sizeof *t);
    if (!t)
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    clcnn_status st = CLCNN_OK;
    double cpu = 0;
    for (int i = 0; i < warmup + repeat && st == CLCNN_OK; i++) {
        if (i == warmup)
            cpu = bench_cpu_ms();
        double start = bench_now_ms();
        if ((st = bench_conv_run(ctx, d, pass, algo, variant)) == CLCNN_OK)
            st = clcnn_context_finish(ctx);
        if (i >= warmup)
            t[i - warmup] = bench_now_ms() - start;
    }
    if (st == CLCNN_OK) {
        out->cpu_ms = (bench_cpu_ms() - cpu) / repeat;
        out->min_ms = bench_min(t, (size_t)repeat);
        out->median_ms = bench_median(t, (size_t)repeat);
    }
    free(t);
    return st;
}
