/*
 * Grouped and depthwise conv2d against the float64 reference with groups:
 * forward (with bias and the fused ReLU), backward-data and backward-filter
 * (accumulating into dw and db) with every algorithm and tile variant that
 * runs the case and with the library's own choice (the depthwise kernels for
 * one input channel per group), on odd channel counts, groups 1, 2, 3, 5
 * and C, N = 1 and N > 1, at offsets inside one buffer; a central-difference
 * check of the reference with groups; and the shape check's refusals.
 *
 * Small-shapes mode (CLCNN_TEST_SMALL=1, oclgrind) keeps every variant but
 * not on every case: a grouped layer runs each variant once per group, so
 * the cost grows with the groups, and oclgrind spends minutes on the
 * depthwise cases of 7, 16 and 33 groups. Each case says what it runs there
 * (its small field); test_small_coverage checks that every variant still
 * runs, with every epilogue, on this device.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn_cl.h"
#include "conv2d.h"
#include "conv2d_ref.h"
#include "testutil.h"
#include "tolerance.h"

typedef struct group_case {
    const char *name;
    int N, C, H, W, K, R, S;
    int pad_top, pad_bottom, pad_left, pad_right;
    int stride_h, stride_w, dil_h, dil_w;
    int groups;
    int small; /* what CLCNN_TEST_SMALL runs */
} group_case;

enum {
    SMALL_FULL, /* every variant, forward with every epilogue */
    SMALL_ONE,  /* every variant, forward with one epilogue (case index % 4) */
    SMALL_AUTO, /* the library's choice only (the depthwise kernels) */
};

static const group_case cases[] = {
    {"groups 1 C3 K5 9x11 3x3 pad 1", 2, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, SMALL_FULL},
    {"groups 2 C6 K10 9x11 3x3 pad 1", 2, 6, 9, 11, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, SMALL_ONE},
    {"groups 2 N1 C4 K6 13x7 3x5 pad 1/0/2/2", 1, 4, 13, 7, 6, 3, 5, 1, 0, 2, 2, 1, 1, 1, 1, 2,
     SMALL_ONE},
    {"groups 3 C9 K3 7x7 1x1 stride 2", 3, 9, 7, 7, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1, 3, SMALL_ONE},
    {"groups 3 C9 K12 8x8 1x1", 2, 9, 8, 8, 12, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 3, SMALL_FULL},
    {"groups 5 C15 K10 11x11 3x3 dilation 2 pad 2", 1, 15, 11, 11, 10, 3, 3, 2, 2, 2, 2, 1, 1, 2,
     2, 5, SMALL_ONE},
    {"groups 2 C6 K4 15x15 3x3 stride 2 pad 1", 3, 6, 15, 15, 4, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1, 2,
     SMALL_ONE},
    {"depthwise C7 13x13 3x3 pad 1", 2, 7, 13, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 7, SMALL_AUTO},
    {"depthwise x2 C5 K10 11x9 3x3 stride 2 pad 1", 3, 5, 11, 9, 10, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1,
     5, SMALL_ONE},
    {"depthwise N1 C3 12x10 5x3 dilation 2x1 pad 2/1/1/0", 1, 3, 12, 10, 3, 5, 3, 2, 1, 1, 0, 1, 1,
     2, 1, 3, SMALL_ONE},
    {"depthwise C33 14x14 3x3 pad 1 (MobileNet)", 2, 33, 14, 14, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1,
     33, SMALL_AUTO},
    {"depthwise C16 28x28 3x3 stride 2 pad 1", 2, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1, 16,
     SMALL_AUTO},
    {"depthwise C1 K3 9x9 3x3 (one group)", 2, 1, 9, 9, 3, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1, 1,
     SMALL_ONE},
};
enum { CASE_COUNT = sizeof cases / sizeof cases[0] };

#define TOL_CONV2D_RTOL TOL_REDUCTION_RTOL

/* The atol of a variant's result: F(4x4, 3x3)'s transforms round more than
 * a plain sum (TOL_WINO4_ATOL_SCALE). AUTO never takes it for these few
 * channels per group. */
static double variant_atol(const char *name, double atol)
{
    return strstr(name, "winograd4") ? TOL_WINO4_ATOL_SCALE * atol : atol;
}

static conv2d_ref_geom geom_of(const group_case *c)
{
    conv2d_ref_geom g = {
        .N = c->N, .C = c->C, .H = c->H, .W = c->W, .K = c->K, .R = c->R, .S = c->S,
        .pad_top = c->pad_top, .pad_bottom = c->pad_bottom, .pad_left = c->pad_left,
        .pad_right = c->pad_right, .stride_h = c->stride_h, .stride_w = c->stride_w,
        .dil_h = c->dil_h, .dil_w = c->dil_w, .groups = c->groups,
    };
    ck_assert(conv2d_ref_geom_finish(&g));
    return g;
}

static clcnn_conv2d_params params_of(const group_case *c, clcnn_conv_algo algo)
{
    return (clcnn_conv2d_params){
        .pad_top = c->pad_top, .pad_bottom = c->pad_bottom, .pad_left = c->pad_left,
        .pad_right = c->pad_right, .stride_h = c->stride_h, .stride_w = c->stride_w,
        .dilation_h = c->dil_h, .dilation_w = c->dil_w, .algo = algo, .groups = c->groups,
    };
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

/* The data of one case and its float64 results. */
typedef struct run {
    conv2d_ref_geom g;
    int xs[4], ws[4];
    size_t nx, nw, ny;
    float *x, *w, *b, *dy, *dw0, *db0;
    double *y_ref[4]; /* [bias + 2 * relu] */
    double *dx_ref, *dw_ref, *db_ref;
} run;

static void run_make(run *r, const group_case *c, uint64_t seed)
{
    tu_rng rng = tu_rng_make(seed);
    r->g = geom_of(c);
    const conv2d_ref_geom *g = &r->g;
    const int G = conv2d_ref_groups(g);
    r->nx = conv2d_ref_x_count(g), r->nw = conv2d_ref_w_count(g), r->ny = conv2d_ref_y_count(g);
    const int xs[4] = {g->N, g->C, g->H, g->W}, ws[4] = {g->K, g->C / G, g->R, g->S};
    memcpy(r->xs, xs, sizeof xs);
    memcpy(r->ws, ws, sizeof ws);
    r->x = random_floats(&rng, r->nx), r->w = random_floats(&rng, r->nw);
    r->b = random_floats(&rng, (size_t)g->K), r->dy = random_floats(&rng, r->ny);
    r->dw0 = random_floats(&rng, r->nw), r->db0 = random_floats(&rng, (size_t)g->K);
    double *xd = to_double(r->x, r->nx), *wd = to_double(r->w, r->nw);
    double *bd = to_double(r->b, (size_t)g->K), *dyd = to_double(r->dy, r->ny);
    for (int e = 0; e < 4; e++) {
        r->y_ref[e] = tu_alloc(r->ny * sizeof(double));
        conv2d_ref_forward(g, xd, wd, e & 1 ? bd : NULL, r->y_ref[e]);
        if (e & 2)
            for (size_t i = 0; i < r->ny; i++)
                r->y_ref[e][i] = r->y_ref[e][i] > 0 ? r->y_ref[e][i] : 0;
    }
    r->dx_ref = tu_alloc(r->nx * sizeof(double));
    conv2d_ref_backward_data(g, dyd, wd, r->dx_ref);
    r->dw_ref = to_double(r->dw0, r->nw); /* accumulated onto */
    r->db_ref = to_double(r->db0, (size_t)g->K);
    conv2d_ref_backward_filter(g, xd, dyd, r->dw_ref, r->db_ref);
    free(xd);
    free(wd);
    free(bd);
    free(dyd);
}

/* Whether the case forces each variant (else only the library's choice runs),
 * and whether the forward pass runs epilogue e of it. */
static int forces_variants(const group_case *c)
{
    return !tu_small() || c->small != SMALL_AUTO;
}

static int runs_epilogue(const group_case *c, int index, int e)
{
    return !tu_small() || c->small == SMALL_FULL || e == index % 4;
}

static void run_free(run *r)
{
    free(r->x), free(r->w), free(r->b), free(r->dy), free(r->dw0), free(r->db0);
    for (int e = 0; e < 4; e++)
        free(r->y_ref[e]);
    free(r->dx_ref), free(r->dw_ref), free(r->db_ref);
}

/* Forward: every algorithm and variant that runs the case, with and without
 * bias and ReLU (CLCNN_TEST_SMALL: as the case's small field says), then
 * AUTO. */
START_TEST(test_forward)
{
    const group_case *c = &cases[_i];
    const uint64_t seed = 3000 + (uint64_t)_i;
    run r;
    run_make(&r, c, seed);
    const conv2d_ref_geom *g = &r.g;
    const int G = conv2d_ref_groups(g);
    clcnn_tensor *tx = tu_tensor(g->N, g->C, g->H, g->W, r.x);
    clcnn_tensor *tw = tu_tensor(r.ws[0], r.ws[1], r.ws[2], r.ws[3], r.w);
    clcnn_tensor *tb = tu_tensor(g->K, 1, 1, 1, r.b), *ty = tu_tensor(g->N, g->K, g->P, g->Q, NULL);
    const double atol = tol_reduction_atol((double)(g->C / G) * g->R * g->S);
    static const char *const epilogue_name[4] = {"no bias", "bias", "relu", "bias + relu"};
    char what[256];
    int ran = 0;
    for (int a = 1; a < CLCNN_CONV_ALGO_COUNT; a++) {
        clcnn_conv2d_params p = params_of(c, (clcnn_conv_algo)a);
        int count = clcnn__conv2d_variant_count(CLCNN__CONV2D_FORWARD, (clcnn_conv_algo)a);
        for (int v = 0; v < count; v++) {
            if (!clcnn__conv2d_variant_supported(tu_ctx(), CLCNN__CONV2D_FORWARD, p.algo, v, r.xs,
                                                 r.ws, &p)) {
                tu_expect_status(
                    clcnn__conv2d_forward_variant(tu_ctx(), tx, tw, tb, ty, &p, v),
                    CLCNN_ERR_UNSUPPORTED);
                continue;
            }
            if (!forces_variants(c))
                continue;
            ran++;
            for (int e = 0; e < 4; e++) {
                if (!runs_epilogue(c, _i, e))
                    continue;
                tu_ok(clcnn_tensor_fill(ty, NAN));
                tu_ok(clcnn__conv2d_forward_act_variant(tu_ctx(), tx, tw, e & 1 ? tb : NULL, ty,
                                                        &p, e >> 1, v));
                float *y = tu_read(ty);
                snprintf(what, sizeof what, "forward %s, %s, %s", c->name,
                         clcnn__conv2d_variant_name(CLCNN__CONV2D_FORWARD, (clcnn_conv_algo)a,
                                                    v),
                         epilogue_name[e]);
                tu_compare(what, seed, y, r.y_ref[e], r.ny, TOL_CONV2D_RTOL,
                           variant_atol(clcnn__conv2d_variant_name(CLCNN__CONV2D_FORWARD,
                                                                   p.algo, v),
                                        atol));
                free(y);
            }
        }
    }
    ck_assert_msg(ran >= 2 || !forces_variants(c), "%s: only %d forward variants ran", c->name,
                  ran);
    clcnn_conv2d_params p = params_of(c, CLCNN_CONV_AUTO);
    for (int e = 0; e < 4; e++) {
        tu_ok(clcnn_tensor_fill(ty, NAN));
        tu_ok(clcnn__conv2d_forward_act(tu_ctx(), tx, tw, e & 1 ? tb : NULL, ty, &p, e >> 1));
        float *y = tu_read(ty);
        snprintf(what, sizeof what, "forward %s, AUTO, %s", c->name, epilogue_name[e]);
        tu_compare(what, seed, y, r.y_ref[e], r.ny, TOL_CONV2D_RTOL, atol);
        free(y);
    }
    tu_ok(clcnn_tensor_fill(ty, NAN));
    tu_ok(clcnn_conv2d_forward(tu_ctx(), tx, tw, tb, ty, &p));
    float *y = tu_read(ty);
    snprintf(what, sizeof what, "forward %s, public call", c->name);
    tu_compare(what, seed, y, r.y_ref[1], r.ny, TOL_CONV2D_RTOL, atol);
    free(y);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(ty);
    run_free(&r);
}
END_TEST

/* Backward-data and backward-filter: every variant of every algorithm that
 * runs the case (variant -1: the library's choice, the depthwise kernels
 * for depthwise cases; CLCNN_TEST_SMALL: only that one where the case's
 * small field says so). */
START_TEST(test_backward)
{
    const group_case *c = &cases[_i];
    const uint64_t seed = 3100 + (uint64_t)_i;
    run r;
    run_make(&r, c, seed);
    const conv2d_ref_geom *g = &r.g;
    const int G = conv2d_ref_groups(g);
    clcnn_tensor *tx = tu_tensor(g->N, g->C, g->H, g->W, r.x);
    clcnn_tensor *tw = tu_tensor(r.ws[0], r.ws[1], r.ws[2], r.ws[3], r.w);
    clcnn_tensor *tdy = tu_tensor(g->N, g->K, g->P, g->Q, r.dy);
    clcnn_tensor *tdx = tu_tensor(g->N, g->C, g->H, g->W, NULL);
    clcnn_tensor *tdw = tu_tensor(r.ws[0], r.ws[1], r.ws[2], r.ws[3], NULL);
    clcnn_tensor *tdb = tu_tensor(g->K, 1, 1, 1, NULL);
    char what[256];
    const double atol_dx = tol_reduction_atol((double)(g->K / G) * g->R * g->S);
    const double atol_dw = tol_reduction_atol((double)g->N * g->P * g->Q);
    int ran_data = 0, ran_filter = 0;
    for (int a = 0; a < CLCNN_CONV_ALGO_COUNT; a++) {
        clcnn_conv2d_params p = params_of(c, (clcnn_conv_algo)a);
        int count = a ? clcnn__conv2d_variant_count(CLCNN__CONV2D_BACKWARD_DATA,
                                                    (clcnn_conv_algo)a)
                      : 1;
        for (int v = a ? 0 : -1; v < (a ? count : 0); v++) {
            if (a && (!forces_variants(c) ||
                      !clcnn__conv2d_variant_supported(tu_ctx(), CLCNN__CONV2D_BACKWARD_DATA,
                                                       p.algo, v, r.xs, r.ws, &p)))
                continue;
            ran_data++;
            tu_ok(clcnn_tensor_fill(tdx, NAN));
            tu_ok(clcnn__conv2d_backward_data_variant(tu_ctx(), tdy, tw, tdx, &p, v));
            float *dx = tu_read(tdx);
            snprintf(what, sizeof what, "backward-data %s, %s", c->name,
                     v < 0 ? "AUTO"
                           : clcnn__conv2d_variant_name(CLCNN__CONV2D_BACKWARD_DATA,
                                                        (clcnn_conv_algo)a, v));
            tu_compare(what, seed, dx, r.dx_ref, r.nx, TOL_CONV2D_RTOL,
                       v < 0 ? atol_dx
                             : variant_atol(clcnn__conv2d_variant_name(
                                                CLCNN__CONV2D_BACKWARD_DATA, p.algo, v),
                                            atol_dx));
            free(dx);
        }
        count = a ? clcnn__conv2d_variant_count(CLCNN__CONV2D_BACKWARD_FILTER, (clcnn_conv_algo)a)
                  : 1;
        for (int v = a ? 0 : -1; v < (a ? count : 0); v++) {
            if (a && (!forces_variants(c) ||
                      !clcnn__conv2d_variant_supported(tu_ctx(), CLCNN__CONV2D_BACKWARD_FILTER,
                                                       p.algo, v, r.xs, r.ws, &p)))
                continue;
            ran_filter++;
            tu_ok(clcnn_tensor_write(tdw, r.dw0, r.nw));
            tu_ok(clcnn_tensor_write(tdb, r.db0, (size_t)g->K));
            tu_ok(clcnn__conv2d_backward_filter_variant(tu_ctx(), tx, tdy, tdw, tdb, &p, v));
            float *dw = tu_read(tdw), *db = tu_read(tdb);
            snprintf(what, sizeof what, "backward-filter %s, %s", c->name,
                     v < 0 ? "AUTO"
                           : clcnn__conv2d_variant_name(CLCNN__CONV2D_BACKWARD_FILTER,
                                                        (clcnn_conv_algo)a, v));
            tu_compare(what, seed, dw, r.dw_ref, r.nw, TOL_CONV2D_RTOL, atol_dw);
            tu_compare(what, seed, db, r.db_ref, (size_t)g->K, TOL_CONV2D_RTOL, atol_dw);
            free(dw);
            free(db);
        }
    }
    ck_assert_msg((ran_data >= 3 && ran_filter >= 3) || !forces_variants(c),
                  "%s: %d backward-data, %d backward-filter", c->name, ran_data, ran_filter);
    /* without db the same dw */
    clcnn_conv2d_params p = params_of(c, CLCNN_CONV_AUTO);
    tu_ok(clcnn_tensor_write(tdw, r.dw0, r.nw));
    tu_ok(clcnn_conv2d_backward_filter(tu_ctx(), tx, tdy, tdw, NULL, &p));
    float *dw = tu_read(tdw);
    snprintf(what, sizeof what, "backward-filter %s, public call without db", c->name);
    tu_compare(what, seed, dw, r.dw_ref, r.nw, TOL_CONV2D_RTOL, atol_dw);
    free(dw);
    clcnn_tensor *ts[] = {tx, tw, tdy, tdx, tdw, tdb};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
    run_free(&r);
}
END_TEST

/* What CLCNN_TEST_SMALL leaves out loses no variant on this device: each
 * one that runs some case runs a case that forces variants, and each forward
 * one a case that runs every epilogue. */
START_TEST(test_small_coverage)
{
    static const char *const pass_name[] = {"forward", "backward-data", "backward-filter"};
    for (int pass = 0; pass < CLCNN__CONV2D_PASS_COUNT; pass++)
        for (int a = 1; a < CLCNN_CONV_ALGO_COUNT; a++)
            for (int v = 0; v < clcnn__conv2d_variant_count(pass, (clcnn_conv_algo)a); v++) {
                int any = 0, forced = 0, full = 0;
                for (int i = 0; i < CASE_COUNT; i++) {
                    const group_case *c = &cases[i];
                    const conv2d_ref_geom g = geom_of(c);
                    const int G = conv2d_ref_groups(&g);
                    const int xs[4] = {g.N, g.C, g.H, g.W}, ws[4] = {g.K, g.C / G, g.R, g.S};
                    const clcnn_conv2d_params p = params_of(c, (clcnn_conv_algo)a);
                    if (!clcnn__conv2d_variant_supported(tu_ctx(), pass, p.algo, v, xs, ws, &p))
                        continue;
                    any = 1;
                    forced |= c->small != SMALL_AUTO;
                    full |= c->small == SMALL_FULL;
                }
                const char *name = clcnn__conv2d_variant_name(pass, (clcnn_conv_algo)a, v);
                ck_assert_msg(!any || forced, "%s %s: only on cases small mode runs by AUTO",
                              pass_name[pass], name);
                ck_assert_msg(!any || full || pass != CLCNN__CONV2D_FORWARD,
                              "forward %s: on no case small mode runs with every epilogue", name);
            }
}
END_TEST

/* All operands at odd offsets of one buffer, the library's choice for each
 * pass: results right, nothing else written. */
START_TEST(test_offsets)
{
    static const int which[] = {1, 8}; /* grouped N > 1, depthwise x2 */
    const group_case *c = &cases[which[_i]];
    const uint64_t seed = 3200 + (uint64_t)_i;
    run r;
    run_make(&r, c, seed);
    const conv2d_ref_geom *g = &r.g;
    const int G = conv2d_ref_groups(g);
    enum { X, W, B, Y, DY, DX, DW, DB, COUNT };
    const size_t n[COUNT] = {r.nx, r.nw, (size_t)g->K, r.ny, r.ny, r.nx, r.nw, (size_t)g->K};
    size_t off[COUNT], total = 3;
    for (int i = 0; i < COUNT; i++) {
        off[i] = total;
        total += n[i] + 1 + (size_t)i % 3;
    }
    clcnn_tensor *big = tu_tensor(1, 1, 1, (int)total, NULL);
    tu_ok(clcnn_tensor_fill(big, NAN));
    cl_mem mem = clcnn_tensor_cl_mem(big, NULL);
    const int shapes[COUNT][4] = {
        {g->N, g->C, g->H, g->W}, {r.ws[0], r.ws[1], r.ws[2], r.ws[3]}, {g->K, 1, 1, 1},
        {g->N, g->K, g->P, g->Q}, {g->N, g->K, g->P, g->Q}, {g->N, g->C, g->H, g->W},
        {r.ws[0], r.ws[1], r.ws[2], r.ws[3]}, {g->K, 1, 1, 1}};
    clcnn_tensor *t[COUNT];
    for (int i = 0; i < COUNT; i++)
        tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, off[i] * sizeof(float), shapes[i][0], shapes[i][1],
                                shapes[i][2], shapes[i][3], &t[i]));
    tu_ok(clcnn_tensor_write(t[X], r.x, r.nx));
    tu_ok(clcnn_tensor_write(t[W], r.w, r.nw));
    tu_ok(clcnn_tensor_write(t[B], r.b, (size_t)g->K));
    tu_ok(clcnn_tensor_write(t[DY], r.dy, r.ny));
    tu_ok(clcnn_tensor_write(t[DW], r.dw0, r.nw));
    tu_ok(clcnn_tensor_write(t[DB], r.db0, (size_t)g->K));
    clcnn_conv2d_params p = params_of(c, CLCNN_CONV_AUTO);
    tu_ok(clcnn_conv2d_forward(tu_ctx(), t[X], t[W], t[B], t[Y], &p));
    tu_ok(clcnn_conv2d_backward_data(tu_ctx(), t[DY], t[W], t[DX], &p));
    tu_ok(clcnn_conv2d_backward_filter(tu_ctx(), t[X], t[DY], t[DW], t[DB], &p));
    float *all = tu_read(big);
    char what[160];
    snprintf(what, sizeof what, "%s at offsets: y", c->name);
    tu_compare(what, seed, all + off[Y], r.y_ref[1], r.ny, TOL_CONV2D_RTOL,
               tol_reduction_atol((double)(g->C / G) * g->R * g->S));
    snprintf(what, sizeof what, "%s at offsets: dx", c->name);
    tu_compare(what, seed, all + off[DX], r.dx_ref, r.nx, TOL_CONV2D_RTOL,
               tol_reduction_atol((double)(g->K / G) * g->R * g->S));
    snprintf(what, sizeof what, "%s at offsets: dw", c->name);
    tu_compare(what, seed, all + off[DW], r.dw_ref, r.nw, TOL_CONV2D_RTOL,
               tol_reduction_atol((double)g->N * g->P * g->Q));
    tu_compare(what, seed, all + off[DB], r.db_ref, (size_t)g->K, TOL_CONV2D_RTOL,
               tol_reduction_atol((double)g->N * g->P * g->Q));
    for (size_t i = 0; i < total; i++) {
        int inside = 0;
        for (int j = 0; j < COUNT; j++)
            inside |= i >= off[j] && i < off[j] + n[j];
        if (!inside)
            ck_assert_msg(isnan(all[i]), "%s: guard element %zu was written", c->name, i);
    }
    free(all);
    for (int i = 0; i < COUNT; i++)
        clcnn_tensor_destroy(t[i]);
    clcnn_tensor_destroy(big);
    run_free(&r);
}
END_TEST

/* Central differences of L = sum(dy * conv(x, w) + b) in float64 prove the
 * reference's grouped backward passes. */
START_TEST(test_reference_gradient)
{
    static const group_case small[] = {
        {"groups 2", 2, 4, 5, 6, 6, 3, 3, 1, 0, 1, 1, 2, 1, 1, 1, 2, SMALL_FULL},
        {"depthwise x2", 1, 3, 5, 5, 6, 3, 2, 1, 1, 0, 1, 1, 1, 2, 1, 3, SMALL_FULL},
    };
    for (size_t ci = 0; ci < sizeof small / sizeof small[0]; ci++) {
        conv2d_ref_geom g = geom_of(&small[ci]);
        tu_rng rng = tu_rng_make(3300 + ci);
        size_t nx = conv2d_ref_x_count(&g), nw = conv2d_ref_w_count(&g);
        size_t ny = conv2d_ref_y_count(&g);
        double *x = tu_alloc(nx * sizeof *x), *w = tu_alloc(nw * sizeof *w);
        double *b = tu_alloc((size_t)g.K * sizeof *b), *dy = tu_alloc(ny * sizeof *dy);
        double *y = tu_alloc(ny * sizeof *y), *dx = tu_alloc(nx * sizeof *dx);
        double *dw = tu_alloc(nw * sizeof *dw), *db = tu_alloc((size_t)g.K * sizeof *db);
        for (size_t i = 0; i < nx; i++)
            x[i] = tu_uniform(&rng, -1, 1);
        for (size_t i = 0; i < nw; i++)
            w[i] = tu_uniform(&rng, -1, 1), dw[i] = 0;
        for (int k = 0; k < g.K; k++)
            b[k] = tu_uniform(&rng, -1, 1), db[k] = 0;
        for (size_t i = 0; i < ny; i++)
            dy[i] = tu_uniform(&rng, -1, 1);
        conv2d_ref_backward_data(&g, dy, w, dx);
        conv2d_ref_backward_filter(&g, x, dy, dw, db);
        struct {
            const char *name;
            double *v, *grad;
            size_t n;
        } vars[] = {{"x", x, dx, nx}, {"w", w, dw, nw}, {"b", b, db, (size_t)g.K}};
        const double h = 1e-5;
        for (int vi = 0; vi < 3; vi++)
            for (size_t i = 0; i < vars[vi].n; i++) {
                double keep = vars[vi].v[i], lp = 0, lm = 0;
                vars[vi].v[i] = keep + h;
                conv2d_ref_forward(&g, x, w, b, y);
                for (size_t o = 0; o < ny; o++)
                    lp += dy[o] * y[o];
                vars[vi].v[i] = keep - h;
                conv2d_ref_forward(&g, x, w, b, y);
                for (size_t o = 0; o < ny; o++)
                    lm += dy[o] * y[o];
                vars[vi].v[i] = keep;
                double num = (lp - lm) / (2 * h);
                ck_assert_msg(fabs(num - vars[vi].grad[i]) <=
                                  TOL_GRADCHECK_ATOL + TOL_GRADCHECK_RTOL * fabs(num),
                              "%s d/d%s[%zu]: numeric %.9g, reference %.9g", small[ci].name,
                              vars[vi].name, i, num, vars[vi].grad[i]);
            }
        free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    }
}
END_TEST

START_TEST(test_invalid)
{
    static const struct {
        const char *what;
        int x[4], w[4], groups;
        clcnn_status want;
        const char *needle;
    } table[] = {
        {"C not divisible", {2, 6, 8, 8}, {8, 1, 3, 3}, 4, CLCNN_ERR_SHAPE,
         "params.groups is 4 but x (2, 6, 8, 8) has C = 6 and w (8, 1, 3, 3) has K = 8"},
        {"K not divisible", {2, 6, 8, 8}, {7, 2, 3, 3}, 3, CLCNN_ERR_SHAPE,
         "has K = 7; both must be divisible by groups"},
        {"w not C/groups", {2, 6, 8, 8}, {6, 6, 3, 3}, 3, CLCNN_ERR_SHAPE,
         "C/groups = 2, but w (6, 6, 3, 3) has 6"},
        {"negative groups", {2, 6, 8, 8}, {6, 6, 3, 3}, -2, CLCNN_ERR_INVALID_ARGUMENT,
         "params.groups is -2"},
        {"groups over C", {1, 3, 8, 8}, {6, 1, 3, 3}, 6, CLCNN_ERR_SHAPE, "C = 3"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        clcnn_conv2d_params p = {.groups = table[i].groups};
        int y[4];
        char msg[512] = "";
        clcnn_status st = clcnn_conv2d_output_shape(table[i].x, table[i].w, &p, y, msg, sizeof msg);
        ck_assert_msg(st == table[i].want, "%s: got %s, want %s (%s)", table[i].what,
                      clcnn_status_name(st), clcnn_status_name(table[i].want), msg);
        ck_assert_msg(strstr(msg, table[i].needle), "%s: \"%s\" does not mention \"%s\"",
                      table[i].what, msg, table[i].needle);
        for (int pass = 0; pass < CLCNN__CONV2D_PASS_COUNT; pass++)
            for (int a = 1; a < CLCNN_CONV_ALGO_COUNT; a++)
                for (int v = 0; v < clcnn__conv2d_variant_count(pass, (clcnn_conv_algo)a); v++) {
                    p.algo = (clcnn_conv_algo)a;
                    ck_assert(!clcnn__conv2d_variant_supported(tu_ctx(), pass, p.algo, v,
                                                               table[i].x, table[i].w, &p));
                }
        /* the ops refuse it the same way */
        const int *xs = table[i].x, *ws = table[i].w;
        clcnn_tensor *x = tu_tensor(xs[0], xs[1], xs[2], xs[3], NULL);
        clcnn_tensor *w = tu_tensor(ws[0], ws[1], ws[2], ws[3], NULL);
        clcnn_tensor *yt = tu_tensor(xs[0], ws[0], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1, NULL);
        p.algo = CLCNN_CONV_AUTO;
        tu_expect_status(clcnn_conv2d_forward(tu_ctx(), x, w, NULL, yt, &p), table[i].want);
        tu_expect_message(table[i].needle);
        tu_expect_status(clcnn_conv2d_backward_data(tu_ctx(), yt, w, x, &p), table[i].want);
        tu_expect_message("clcnn_conv2d_backward_data");
        tu_expect_status(clcnn_conv2d_backward_filter(tu_ctx(), x, yt, w, NULL, &p),
                         table[i].want);
        tu_expect_message("clcnn_conv2d_backward_filter");
        clcnn_tensor_destroy(x);
        clcnn_tensor_destroy(w);
        clcnn_tensor_destroy(yt);
    }
    /* groups 0 and 1 are one group; w of C/groups channels */
    int y[4];
    clcnn_conv2d_params p = {.groups = 0};
    ck_assert_int_eq(clcnn_conv2d_output_shape((int[]){2, 6, 8, 8}, (int[]){4, 6, 3, 3}, &p, y,
                                               NULL, 0),
                     CLCNN_OK);
    p.groups = 1;
    ck_assert_int_eq(clcnn_conv2d_output_shape((int[]){2, 6, 8, 8}, (int[]){4, 6, 3, 3}, &p, y,
                                               NULL, 0),
                     CLCNN_OK);
    p.groups = 2;
    ck_assert_int_eq(clcnn_conv2d_output_shape((int[]){2, 6, 8, 8}, (int[]){4, 3, 3, 3}, &p, y,
                                               NULL, 0),
                     CLCNN_OK);
    ck_assert(y[0] == 2 && y[1] == 4 && y[2] == 6 && y[3] == 6);
    p.groups = 6;
    ck_assert_int_eq(clcnn_conv2d_output_shape((int[]){2, 6, 8, 8}, (int[]){12, 1, 3, 3}, &p, y,
                                               NULL, 0),
                     CLCNN_OK);
    ck_assert(y[1] == 12);
    /* a bias of the whole K */
    clcnn_tensor *x = tu_tensor(2, 6, 8, 8, NULL), *w = tu_tensor(12, 1, 3, 3, NULL);
    clcnn_tensor *yt = tu_tensor(2, 12, 6, 6, NULL), *b2 = tu_tensor(2, 1, 1, 1, NULL);
    tu_expect_status(clcnn_conv2d_forward(tu_ctx(), x, w, b2, yt, &p), CLCNN_ERR_SHAPE);
    tu_expect_message("needs K = 12 elements");
    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(w);
    clcnn_tensor_destroy(yt);
    clcnn_tensor_destroy(b2);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("conv2d_groups");
    TCase *tc = tcase_create("passes");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_forward, 0, CASE_COUNT);
    tcase_add_loop_test(tc, test_backward, 0, CASE_COUNT);
    tcase_add_loop_test(tc, test_offsets, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradcheck");
    tcase_add_test(tc, test_reference_gradient);
    suite_add_tcase(s, tc);

    tc = tcase_create("small_coverage");
    tcase_add_test(tc, test_small_coverage);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_invalid);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
