/*
 * conv2d against the float64 reference: the forward pass with every algorithm
 * and tile variant (with bias and the fused ReLU), the reference's own
 * gradients against central differences, every backward variant (including
 * accumulation into dw and db), and tensors at offsets inside one buffer.
 * The shape check, the algorithm choice, tuning entries and invalid
 * arguments are in test_conv2d_api.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn_cl.h"
#include "conv2d.h"
#include "conv2d_cases.h"
#include "conv2d_ref.h"
#include "testutil.h"
#include "tolerance.h"

/* A conv2d result is a sum of products of values in [-1, 1]: the reduction
 * tolerances apply, with the reduction length of each pass. */
#define TOL_CONV2D_RTOL TOL_REDUCTION_RTOL
/* The gradient check uses TOL_GRADCHECK_*: two float64 computations of a
 * function linear in each variable, so central differences are exact up to
 * rounding. */

/* The atol for a result of (pass, algo, variant): F(4x4, 3x3)'s transforms
 * round more than a plain sum (TOL_WINO4_ATOL_SCALE); AUTO (variant -1) is
 * judged by the variant it chooses. */
static double variant_atol(clcnn__conv2d_pass pass, clcnn_conv_algo algo, int variant,
                           const clcnn_conv2d_params *p, const int xs[4], const int ws[4],
                           double atol)
{
    if (variant < 0) {
        clcnn_conv2d_params q = *p;
        q.algo = algo;
        clcnn__conv2d_select(tu_ctx(), pass, xs, ws, &q, &algo, &variant);
    }
    const char *name = clcnn__conv2d_variant_name(pass, algo, variant);
    return strstr(name, "winograd4") ? TOL_WINO4_ATOL_SCALE * atol : atol;
}

static conv2d_ref_geom case_geom(const conv_case *c)
{
    conv2d_ref_geom g = {
        .N = c->N, .C = c->C, .H = c->H, .W = c->W, .K = c->K, .R = c->R, .S = c->S,
        .pad_top = c->pad_top, .pad_bottom = c->pad_bottom,
        .pad_left = c->pad_left, .pad_right = c->pad_right,
        .stride_h = one_if_zero(c->stride_h), .stride_w = one_if_zero(c->stride_w),
        .dil_h = one_if_zero(c->dil_h), .dil_w = one_if_zero(c->dil_w),
    };
    ck_assert_msg(conv2d_ref_geom_finish(&g), "%s: the filter does not fit", c->name);
    return g;
}

static double *to_double(const float *p, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = p[i];
    return d;
}

static float *random_floats(tu_rng *rng, size_t n)
{
    float *p = tu_alloc(n * sizeof *p);
    tu_fill(rng, p, n, -1.0f, 1.0f);
    return p;
}

/* ---- forward ---- */

/* y > 0 ? y : 0 of a reference result, in place. */
static void relu_ref(double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] > 0 ? y[i] : 0;
}

/* Every algorithm, every tile variant, with and without bias and the fused
 * ReLU, plus AUTO through the public call. y is poisoned with NaN first, so
 * an element a kernel forgets to write fails the comparison. */
START_TEST(test_forward)
{
    const conv_case *c = &cases[_i];
    const uint64_t seed = 100 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    conv2d_ref_geom g = case_geom(c);
    if (tu_too_big((double)g.N * g.K * g.P * g.Q * g.C * g.R * g.S))
        return; /* CLCNN_TEST_SMALL: the largest shapes are skipped */
    size_t nx = conv2d_ref_x_count(&g), nw = conv2d_ref_w_count(&g), ny = conv2d_ref_y_count(&g);
    float *x = random_floats(&rng, nx), *w = random_floats(&rng, nw);
    float *b = random_floats(&rng, (size_t)g.K);
    double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, (size_t)g.K);
    /* ref[bias + 2 * relu] */
    double *ref[4];
    for (int e = 0; e < 4; e++) {
        ref[e] = tu_alloc(ny * sizeof *ref[e]);
        conv2d_ref_forward(&g, xd, wd, e & 1 ? bd : NULL, ref[e]);
        if (e & 2)
            relu_ref(ref[e], ny);
    }

    clcnn_tensor *tx = tu_tensor(g.N, g.C, g.H, g.W, x), *tw = tu_tensor(g.K, g.C, g.R, g.S, w);
    clcnn_tensor *tb = tu_tensor(g.K, 1, 1, 1, b), *ty = tu_tensor(g.N, g.K, g.P, g.Q, NULL);
    const double atol = tol_reduction_atol((double)g.C * g.R * g.S);
    static const char *const epilogue_name[4] = {"no bias", "bias", "relu", "bias + relu"};
    const int xs[4] = {g.N, g.C, g.H, g.W}, ws[4] = {g.K, g.C, g.R, g.S};
    char what[256];
    for (int a = 1; a < CLCNN_CONV_ALGO_COUNT; a++) {
        clcnn_conv2d_params p = case_params(c, (clcnn_conv_algo)a);
        int count = clcnn__conv2d_variant_count(CLCNN__CONV2D_FORWARD, (clcnn_conv_algo)a);
        for (int v = 0; v < count; v++)
            for (int e = 0; e < 4; e++) {
                if (!clcnn__conv2d_variant_supported(tu_ctx(), CLCNN__CONV2D_FORWARD, p.algo, v,
                                                     xs, ws, &p)) {
                    tu_expect_status(clcnn__conv2d_forward_act_variant(
                                         tu_ctx(), tx, tw, e & 1 ? tb : NULL, ty, &p, e >> 1, v),
                                     CLCNN_ERR_UNSUPPORTED);
                    continue;
                }
                tu_ok(clcnn_tensor_fill(ty, NAN));
                tu_ok(clcnn__conv2d_forward_act_variant(tu_ctx(), tx, tw, e & 1 ? tb : NULL, ty,
                                                        &p, e >> 1, v));
                float *y = tu_read(ty);
                snprintf(what, sizeof what, "forward %s, %s, %s", c->name,
                         clcnn__conv2d_variant_name(CLCNN__CONV2D_FORWARD, (clcnn_conv_algo)a,
                                                    v),
                         epilogue_name[e]);
                tu_compare(what, seed, y, ref[e], ny, TOL_CONV2D_RTOL,
                           variant_atol(CLCNN__CONV2D_FORWARD, p.algo, v, &p, xs, ws, atol));
                free(y);
            }
    }
    clcnn_conv2d_params p = case_params(c, CLCNN_CONV_AUTO);
    for (int e = 1; e < 4; e += 2) {
        tu_ok(clcnn_tensor_fill(ty, NAN));
        if (e == 1)
            tu_ok(clcnn_conv2d_forward(tu_ctx(), tx, tw, tb, ty, &p));
        else
            tu_ok(clcnn__conv2d_forward_act(tu_ctx(), tx, tw, tb, ty, &p, 1));
        float *y = tu_read(ty);
        snprintf(what, sizeof what, "forward %s, AUTO, %s", c->name, epilogue_name[e]);
        tu_compare(what, seed, y, ref[e], ny, TOL_CONV2D_RTOL,
                   variant_atol(CLCNN__CONV2D_FORWARD, p.algo, -1, &p, xs, ws, atol));
        free(y);
    }

    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(ty);
    for (int e = 0; e < 4; e++)
        free(ref[e]);
    free(x), free(w), free(b), free(xd), free(wd), free(bd);
}
END_TEST

/* ---- gradient check of the reference ---- */

static double ref_loss(const conv2d_ref_geom *g, const double *x, const double *w,
                       const double *b, const double *dy, double *y)
{
    conv2d_ref_forward(g, x, w, b, y);
    double loss = 0;
    for (size_t i = 0; i < conv2d_ref_y_count(g); i++)
        loss += y[i] * dy[i];
    return loss;
}

/* Compares an analytic gradient with central differences of sum(y * dy)
 * with respect to every element of v. */
static void check_numeric(const char *what, const conv2d_ref_geom *g, double *x, double *w,
                          double *b, const double *dy, double *v, size_t n,
                          const double *analytic, double *y)
{
    const double h = 1e-3;
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        const double keep = v[i];
        v[i] = keep + h;
        const double up = ref_loss(g, x, w, b, dy, y);
        v[i] = keep - h;
        const double down = ref_loss(g, x, w, b, dy, y);
        v[i] = keep;
        const double numeric = (up - down) / (2 * h);
        nonzero += analytic[i] != 0.0;
        ck_assert_msg(fabs(numeric - analytic[i]) <=
                          TOL_GRADCHECK_ATOL + TOL_GRADCHECK_RTOL * fabs(numeric),
                      "%s[%zu]: numeric %.12g, analytic %.12g", what, i, numeric, analytic[i]);
    }
    ck_assert_msg(nonzero > 0, "%s: the analytic gradient is all zeros", what);
}

/* Tiny shapes, so that perturbing every element stays cheap, with the
 * strides, paddings and dilations whose index maps the backward passes
 * invert. */
static const conv_case grad_cases[] = {
    {"stride 2x3, pad 1/0/2/1", 2, 2, 7, 8, 3, 3, 3, 1, 0, 2, 1, 2, 3, 1, 1},
    {"dilation 2x1, stride 1x2", 1, 3, 6, 9, 2, 2, 3, 1, 1, 0, 2, 1, 2, 2, 1},
    {"3x1 filter, stride 3, pad 2", 2, 2, 8, 5, 2, 3, 1, 2, 2, 0, 0, 3, 1, 1, 1},
    {"1x1 image, 3x3 pad 1", 2, 2, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
};

START_TEST(test_gradcheck_reference)
{
    const conv_case *c = &grad_cases[_i];
    const uint64_t seed = 500 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    conv2d_ref_geom g = case_geom(c);
    size_t nx = conv2d_ref_x_count(&g), nw = conv2d_ref_w_count(&g), ny = conv2d_ref_y_count(&g);
    size_t nk = (size_t)g.K;
    double *x = tu_alloc(nx * sizeof *x), *w = tu_alloc(nw * sizeof *w);
    double *b = tu_alloc(nk * sizeof *b), *dy = tu_alloc(ny * sizeof *dy);
    double *y = tu_alloc(ny * sizeof *y), *dx = tu_alloc(nx * sizeof *dx);
    double *dw = calloc(nw, sizeof *dw), *db = calloc(nk, sizeof *db);
    ck_assert(dw && db);
    for (size_t i = 0; i < nx; i++)
        x[i] = tu_uniform(&rng, -1, 1);
    for (size_t i = 0; i < nw; i++)
        w[i] = tu_uniform(&rng, -1, 1);
    for (size_t i = 0; i < nk; i++)
        b[i] = tu_uniform(&rng, -1, 1);
    for (size_t i = 0; i < ny; i++)
        dy[i] = tu_uniform(&rng, -1, 1);
    conv2d_ref_backward_data(&g, dy, w, dx);
    conv2d_ref_backward_filter(&g, x, dy, dw, db);
    char what[128];
    snprintf(what, sizeof what, "%s (seed %llu) dx", c->name, (unsigned long long)seed);
    check_numeric(what, &g, x, w, b, dy, x, nx, dx, y);
    snprintf(what, sizeof what, "%s (seed %llu) dw", c->name, (unsigned long long)seed);
    check_numeric(what, &g, x, w, b, dy, w, nw, dw, y);
    snprintf(what, sizeof what, "%s (seed %llu) db", c->name, (unsigned long long)seed);
    check_numeric(what, &g, x, w, b, dy, b, nk, db, y);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
}
END_TEST

/* ---- device backward passes ---- */

/* Every backward-data and backward-filter variant against the reference.
 * dw and db start non-zero, so accumulation is checked, and one variant runs
 * twice to see the second pass add again. */
START_TEST(test_backward)
{
    const conv_case *c = &cases[_i];
    const uint64_t seed = 300 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    conv2d_ref_geom g = case_geom(c);
    if (tu_too_big((double)g.N * g.K * g.P * g.Q * g.C * g.R * g.S))
        return; /* CLCNN_TEST_SMALL: the largest shapes are skipped */
    size_t nx = conv2d_ref_x_count(&g), nw = conv2d_ref_w_count(&g), ny = conv2d_ref_y_count(&g);
    size_t nk = (size_t)g.K;
    float *x = random_floats(&rng, nx), *w = random_floats(&rng, nw);
    float *dy = random_floats(&rng, ny), *dw0 = random_floats(&rng, nw);
    float *db0 = random_floats(&rng, nk);
    double *xd = to_double(x, nx), *wd = to_double(w, nw), *dyd = to_double(dy, ny);
    double *ref_dx = tu_alloc(nx * sizeof *ref_dx);
    double *ref_dw = to_double(dw0, nw), *ref_db = to_double(db0, nk);
    double *ref_dw2 = to_double(dw0, nw), *ref_db2 = to_double(db0, nk);
    conv2d_ref_backward_data(&g, dyd, wd, ref_dx);
    conv2d_ref_backward_filter(&g, xd, dyd, ref_dw, ref_db);
    conv2d_ref_backward_filter(&g, xd, dyd, ref_dw2, ref_db2);
    conv2d_ref_backward_filter(&g, xd, dyd, ref_dw2, ref_db2);

    clcnn_tensor *tx = tu_tensor(g.N, g.C, g.H, g.W, x), *tw = tu_tensor(g.K, g.C, g.R, g.S, w);
    clcnn_tensor *tdy = tu_tensor(g.N, g.K, g.P, g.Q, dy);
    clcnn_tensor *tdx = tu_tensor(g.N, g.C, g.H, g.W, NULL);
    clcnn_tensor *tdw = tu_tensor(g.K, g.C, g.R, g.S, NULL), *tdb = tu_tensor(g.K, 1, 1, 1, NULL);
    clcnn_conv2d_params p = case_params(c, CLCNN_CONV_AUTO);
    const double atol_dx = tol_reduction_atol((double)g.K * g.R * g.S);
    const double atol_dw = tol_reduction_atol((double)g.N * g.P * g.Q);
    char what[256];

    const int xs[4] = {g.N, g.C, g.H, g.W}, ws[4] = {g.K, g.C, g.R, g.S};
    /* algo 0 with variant -1: the public call */
    for (int a = 0; a < CLCNN_CONV_ALGO_COUNT; a++) {
        int count = a ? clcnn__conv2d_variant_count(CLCNN__CONV2D_BACKWARD_DATA,
                                                    (clcnn_conv_algo)a)
                      : 1;
        for (int v = 0; v < count; v++) {
            const int forced = a ? v : -1;
            p.algo = (clcnn_conv_algo)a;
            if (a && !clcnn__conv2d_variant_supported(tu_ctx(), CLCNN__CONV2D_BACKWARD_DATA,
                                                      p.algo, v, xs, ws, &p)) {
                tu_expect_status(
                    clcnn__conv2d_backward_data_variant(tu_ctx(), tdy, tw, tdx, &p, v),
                    CLCNN_ERR_UNSUPPORTED);
                continue;
            }
            tu_ok(clcnn_tensor_fill(tdx, NAN));
            tu_ok(clcnn__conv2d_backward_data_variant(tu_ctx(), tdy, tw, tdx, &p, forced));
            float *got = tu_read(tdx);
            snprintf(what, sizeof what, "backward data %s, %s", c->name,
                     a ? clcnn__conv2d_variant_name(CLCNN__CONV2D_BACKWARD_DATA, p.algo, v)
                       : "AUTO");
            tu_compare(what, seed, got, ref_dx, nx, TOL_CONV2D_RTOL,
                       variant_atol(CLCNN__CONV2D_BACKWARD_DATA, p.algo, forced, &p, xs, ws,
                                    atol_dx));
            free(got);
        }
    }

    for (int a = 0; a < CLCNN_CONV_ALGO_COUNT; a++) {
        int count = a ? clcnn__conv2d_variant_count(CLCNN__CONV2D_BACKWARD_FILTER,
                                                    (clcnn_conv_algo)a)
                      : 1;
        for (int v = 0; v < count; v++) {
            const int forced = a ? v : -1;
            p.algo = (clcnn_conv_algo)a;
            if (a && !clcnn__conv2d_variant_supported(tu_ctx(), CLCNN__CONV2D_BACKWARD_FILTER,
                                                      p.algo, v, xs, ws, &p)) {
                tu_expect_status(clcnn__conv2d_backward_filter_variant(tu_ctx(), tx, tdy, tdw,
                                                                       tdb, &p, v),
                                 CLCNN_ERR_UNSUPPORTED);
                continue;
            }
            const char *vname =
                a ? clcnn__conv2d_variant_name(CLCNN__CONV2D_BACKWARD_FILTER, p.algo, v)
                  : "AUTO";
            tu_ok(clcnn_tensor_write(tdw, dw0, nw));
            tu_ok(clcnn_tensor_write(tdb, db0, nk));
            tu_ok(clcnn__conv2d_backward_filter_variant(tu_ctx(), tx, tdy, tdw, tdb, &p,
                                                        forced));
            float *got_dw = tu_read(tdw), *got_db = tu_read(tdb);
            const double atol_v = variant_atol(CLCNN__CONV2D_BACKWARD_FILTER, p.algo, forced,
                                               &p, xs, ws, atol_dw);
            snprintf(what, sizeof what, "backward filter dw %s, %s", c->name, vname);
            tu_compare(what, seed, got_dw, ref_dw, nw, TOL_CONV2D_RTOL, atol_v);
            snprintf(what, sizeof what, "backward filter db %s, %s", c->name, vname);
            tu_compare(what, seed, got_db, ref_db, nk, TOL_CONV2D_RTOL, atol_dw);
            free(got_dw);
            free(got_db);

            /* without db: dw the same, db untouched */
            tu_ok(clcnn_tensor_write(tdw, dw0, nw));
            tu_ok(clcnn_tensor_write(tdb, db0, nk));
            tu_ok(clcnn__conv2d_backward_filter_variant(tu_ctx(), tx, tdy, tdw, NULL, &p,
                                                        forced));
            got_dw = tu_read(tdw);
            got_db = tu_read(tdb);
            snprintf(what, sizeof what, "backward filter dw %s, %s, without db", c->name, vname);
            tu_compare(what, seed, got_dw, ref_dw, nw, TOL_CONV2D_RTOL, atol_v);
            ck_assert_mem_eq(got_db, db0, nk * sizeof *db0);
            free(got_dw);
            free(got_db);
        }
    }
    p.algo = CLCNN_CONV_AUTO;

    /* the public call twice, both accumulating; then once more without db */
    tu_ok(clcnn_tensor_write(tdw, dw0, nw));
    tu_ok(clcnn_tensor_write(tdb, db0, nk));
    tu_ok(clcnn_conv2d_backward_filter(tu_ctx(), tx, tdy, tdw, tdb, &p));
    tu_ok(clcnn_conv2d_backward_filter(tu_ctx(), tx, tdy, tdw, tdb, &p));
    float *got_dw = tu_read(tdw), *got_db = tu_read(tdb);
    snprintf(what, sizeof what, "backward filter dw %s, accumulated twice", c->name);
    tu_compare(what, seed, got_dw, ref_dw2, nw, TOL_CONV2D_RTOL,
               2 * variant_atol(CLCNN__CONV2D_BACKWARD_FILTER, CLCNN_CONV_AUTO, -1, &p, xs, ws,
                                atol_dw));
    snprintf(what, sizeof what, "backward filter db %s, accumulated twice", c->name);
    tu_compare(what, seed, got_db, ref_db2, nk, TOL_CONV2D_RTOL, 2 * atol_dw);
    free(got_dw);
    free(got_db);
    tu_ok(clcnn_tensor_write(tdw, dw0, nw));
    tu_ok(clcnn_tensor_write(tdb, db0, nk));
    tu_ok(clcnn_conv2d_backward_filter(tu_ctx(), tx, tdy, tdw, NULL, &p));
    got_dw = tu_read(tdw);
    got_db = tu_read(tdb);
    snprintf(what, sizeof what, "backward filter dw %s, without db", c->name);
    tu_compare(what, seed, got_dw, ref_dw, nw, TOL_CONV2D_RTOL, atol_dw);
    ck_assert_mem_eq(got_db, db0, nk * sizeof *db0);
    free(got_dw);
    free(got_db);

    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
    clcnn_tensor_destroy(tdw);
    clcnn_tensor_destroy(tdb);
    free(x), free(w), free(dy), free(dw0), free(db0), free(xd), free(wd), free(dyd);
    free(ref_dx), free(ref_dw), free(ref_db), free(ref_dw2), free(ref_db2);
}
END_TEST

/* ---- tensors inside a shared buffer ---- */

enum { T_X, T_W, T_B, T_Y, T_DY, T_DX, T_DW, T_DB, T_COUNT };
#define GUARD 37 /* NaN elements before and after every tensor */

/* Every tensor at an odd element offset inside one buffer, NaN between them:
 * the border window loads may read neighbouring rows of their own tensor but
 * must never let a value from outside it through, and no kernel may write
 * outside its output. Inputs must come back unchanged. */
static const int offset_cases[] = {3, 6, 9, 14, 20, 22, 25};

START_TEST(test_offsets_and_guards)
{
    const conv_case *c = &cases[offset_cases[_i]];
    const uint64_t seed = 700 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    conv2d_ref_geom g = case_geom(c);
    if (tu_too_big((double)g.N * g.K * g.P * g.Q * g.C * g.R * g.S))
        return; /* CLCNN_TEST_SMALL: the largest shapes are skipped */
    const int shapes[T_COUNT][4] = {
        {g.N, g.C, g.H, g.W}, {g.K, g.C, g.R, g.S}, {g.K, 1, 1, 1}, {g.N, g.K, g.P, g.Q},
        {g.N, g.K, g.P, g.Q}, {g.N, g.C, g.H, g.W}, {g.K, g.C, g.R, g.S}, {g.K, 1, 1, 1},
    };
    size_t off[T_COUNT], count[T_COUNT], total = GUARD;
    for (int t = 0; t < T_COUNT; t++) {
        count[t] = (size_t)shapes[t][0] * shapes[t][1] * shapes[t][2] * shapes[t][3];
        off[t] = total;
        total += count[t] + GUARD;
    }
    float *init = tu_alloc(total * sizeof *init), *now = tu_alloc(total * sizeof *now);
    for (size_t i = 0; i < total; i++)
        init[i] = NAN;
    const int inputs[] = {T_X, T_W, T_B, T_DY, T_DW, T_DB};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        tu_fill(&rng, init + off[inputs[i]], count[inputs[i]], -1.0f, 1.0f);

    double *xd = to_double(init + off[T_X], count[T_X]);
    double *wd = to_double(init + off[T_W], count[T_W]);
    double *bd = to_double(init + off[T_B], count[T_B]);
    double *dyd = to_double(init + off[T_DY], count[T_DY]);
    double *ref_y = tu_alloc(count[T_Y] * sizeof *ref_y);
    double *ref_dx = tu_alloc(count[T_DX] * sizeof *ref_dx);
    double *ref_dw = to_double(init + off[T_DW], count[T_DW]);
    double *ref_db = to_double(init + off[T_DB], count[T_DB]);
    conv2d_ref_forward(&g, xd, wd, bd, ref_y);
    conv2d_ref_backward_data(&g, dyd, wd, ref_dx);
    conv2d_ref_backward_filter(&g, xd, dyd, ref_dw, ref_db);

    clcnn_context *ctx = tu_ctx();
    cl_int err;
    cl_mem buf = clCreateBuffer(clcnn_context_cl_context(ctx), CL_MEM_READ_WRITE,
                                total * sizeof(float), NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    clcnn_tensor *t[T_COUNT];
    for (int i = 0; i < T_COUNT; i++)
        tu_ok(clcnn_tensor_wrap(ctx, buf, off[i] * sizeof(float), shapes[i][0], shapes[i][1],
                                shapes[i][2], shapes[i][3], &t[i]));
    clReleaseMemObject(buf); /* the tensors keep it alive */

    clcnn_conv2d_params p = case_params(c, CLCNN_CONV_AUTO);
    char what[256];
    const int xs[4] = {g.N, g.C, g.H, g.W}, ws[4] = {g.K, g.C, g.R, g.S};
    /* (pass, algo, variant) for every variant of every pass that runs the case */
    for (int pass = 0; pass < CLCNN__CONV2D_PASS_COUNT; pass++)
        for (int a = CLCNN_CONV_DIRECT; a < CLCNN_CONV_ALGO_COUNT; a++)
            for (int v = 0; v < clcnn__conv2d_variant_count(pass, (clcnn_conv_algo)a); v++) {
                if (!clcnn__conv2d_variant_supported(ctx, pass, (clcnn_conv_algo)a, v, xs, ws,
                                                     &p))
                    continue;
                ck_assert_int_eq(clEnqueueWriteBuffer(clcnn_context_cl_queue(ctx), buf, CL_TRUE,
                                                      0, total * sizeof(float), init, 0, NULL,
                                                      NULL),
                                 CL_SUCCESS);
                int out = pass == CLCNN__CONV2D_FORWARD         ? T_Y
                          : pass == CLCNN__CONV2D_BACKWARD_DATA ? T_DX
                                                                : T_DW;
                p.algo = (clcnn_conv_algo)a;
                if (pass == CLCNN__CONV2D_FORWARD)
                    tu_ok(clcnn__conv2d_forward_variant(ctx, t[T_X], t[T_W], t[T_B], t[T_Y], &p,
                                                        v));
                else if (pass == CLCNN__CONV2D_BACKWARD_DATA)
                    tu_ok(clcnn__conv2d_backward_data_variant(ctx, t[T_DY], t[T_W], t[T_DX], &p,
                                                              v));
                else
                    tu_ok(clcnn__conv2d_backward_filter_variant(ctx, t[T_X], t[T_DY], t[T_DW],
                                                                t[T_DB], &p, v));
                ck_assert_int_eq(clEnqueueReadBuffer(clcnn_context_cl_queue(ctx), buf, CL_TRUE,
                                                     0, total * sizeof(float), now, 0, NULL,
                                                     NULL),
                                 CL_SUCCESS);
                snprintf(what, sizeof what, "%s at offsets, %s", c->name,
                         clcnn__conv2d_variant_name(pass, (clcnn_conv_algo)a, v));
                if (out == T_Y)
                    tu_compare(what, seed, now + off[T_Y], ref_y, count[T_Y], TOL_CONV2D_RTOL,
                               variant_atol(pass, p.algo, v, &p, xs, ws,
                                            tol_reduction_atol((double)g.C * g.R * g.S)));
                else if (out == T_DX)
                    tu_compare(what, seed, now + off[T_DX], ref_dx, count[T_DX],
                               TOL_CONV2D_RTOL,
                               variant_atol(pass, p.algo, v, &p, xs, ws,
                                            tol_reduction_atol((double)g.K * g.R * g.S)));
                else {
                    double atol = tol_reduction_atol((double)g.N * g.P * g.Q);
                    tu_compare(what, seed, now + off[T_DW], ref_dw, count[T_DW],
                               TOL_CONV2D_RTOL, variant_atol(pass, p.algo, v, &p, xs, ws, atol));
                    tu_compare(what, seed, now + off[T_DB], ref_db, count[T_DB],
                               TOL_CONV2D_RTOL, atol);
                }
                /* everything but the outputs of this pass is exactly as before */
                for (int i = 0; i < T_COUNT; i++) {
                    if (i == out || (out == T_DW && i == T_DB))
                        continue;
                    ck_assert_msg(memcmp(now + off[i], init + off[i], count[i] * sizeof *now) ==
                                      0,
                                  "%s: tensor %d changed", what, i);
                }
                for (size_t i = 0; i < total; i++) {
                    int inside = 0;
                    for (int j = 0; j < T_COUNT; j++)
                        inside |= i >= off[j] && i < off[j] + count[j];
                    if (!inside)
                        ck_assert_msg(isnan(now[i]), "%s: guard element %zu was written", what,
                                      i);
                }
            }

    for (int i = 0; i < T_COUNT; i++)
        clcnn_tensor_destroy(t[i]);
    free(init), free(now), free(xd), free(wd), free(bd), free(dyd);
    free(ref_y), free(ref_dx), free(ref_dw), free(ref_db);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("conv2d");
    TCase *tc = tcase_create("forward");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_forward, 0, CASE_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradcheck");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_gradcheck_reference, 0,
                        (int)(sizeof grad_cases / sizeof grad_cases[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("backward");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_backward, 0, CASE_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("offsets");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_offsets_and_guards, 0,
                        (int)(sizeof offset_cases / sizeof offset_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
