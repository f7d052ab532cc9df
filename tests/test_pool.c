/*
 * Pooling: forward (values and argmax) and backward against the float64
 * reference for max and both averages over a table of geometries, max
 * pooling fused with the ReLU before it against the reference ReLU and
 * pooling, a central-difference check of the reference backward, and the
 * invalid-argument table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn_cl.h"
#include "pool.h"
#include "pool_ref.h"
#include "testutil.h"
#include "tolerance.h"

typedef struct pool_case {
    const char *name;
    int N, C, H, W;
    int R, S, stride_h, stride_w; /* stride 0: the window */
    int pad_top, pad_bottom, pad_left, pad_right;
} pool_case;

static const pool_case cases[] = {
    {"1x1 image, 1x1 window", 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
    {"2x2 on 5x5 (odd, floor)", 2, 3, 5, 5, 2, 2, 0, 0, 0, 0, 0, 0},
    {"3x3 s2 pad 1 on 13x13", 2, 3, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1},
    {"3x3 s1 pad 1 overlapping", 1, 3, 13, 13, 3, 3, 1, 1, 1, 1, 1, 1},
    {"3x3 s3 on 11x11", 1, 3, 11, 11, 3, 3, 3, 3, 0, 0, 0, 0},
    {"2x3 s2x3 non-square", 2, 2, 7, 9, 2, 3, 2, 3, 0, 0, 0, 0},
    {"7x7 s2 pad 3", 2, 3, 14, 14, 7, 7, 2, 2, 3, 3, 3, 3},
    {"4x5 s3x2 pads 2,0,1,2", 1, 5, 10, 8, 4, 5, 3, 2, 2, 0, 1, 2},
    {"5x2 s1 asymmetric pads, overlapping", 3, 7, 12, 5, 5, 2, 1, 1, 2, 1, 1, 0},
    {"3x3 s2 on 1x7 with pad", 2, 1, 1, 7, 3, 3, 2, 2, 1, 1, 0, 1},
    {"LeNet pool1 2x2 on 28x28x6", 2, 6, 28, 28, 2, 2, 0, 0, 0, 0, 0, 0},
    {"LeNet pool2 2x2 on 10x10x16", 2, 16, 10, 10, 2, 2, 0, 0, 0, 0, 0, 0},
    {"Keras pool1 2x2 on 26x26x32", 1, 32, 26, 26, 2, 2, 0, 0, 0, 0, 0, 0},
    {"Keras pool2 2x2 on 11x11x64", 2, 64, 11, 11, 2, 2, 0, 0, 0, 0, 0, 0},
};
enum { CASE_COUNT = sizeof cases / sizeof cases[0] };

static const char *const mode_names[] = {"max", "avg-exclude-pad", "avg-include-pad"};

static clcnn_pool_params params_of(const pool_case *c, int mode)
{
    clcnn_pool_params p = {
        .mode = (clcnn_pool_mode)mode, .window_h = c->R, .window_w = c->S,
        .stride_h = c->stride_h, .stride_w = c->stride_w, .pad_top = c->pad_top,
        .pad_bottom = c->pad_bottom, .pad_left = c->pad_left, .pad_right = c->pad_right,
    };
    return p;
}

static pool_ref_geom geom_of(const pool_case *c, int mode)
{
    pool_ref_geom g = {
        .mode = mode, .N = c->N, .C = c->C, .H = c->H, .W = c->W, .R = c->R, .S = c->S,
        .stride_h = c->stride_h ? c->stride_h : c->R,
        .stride_w = c->stride_w ? c->stride_w : c->S,
        .pad_top = c->pad_top, .pad_bottom = c->pad_bottom,
        .pad_left = c->pad_left, .pad_right = c->pad_right,
    };
    ck_assert(pool_ref_geom_finish(&g));
    return g;
}

/*
 * Inputs whose values are distinct within each plane by at least 0.03, so
 * every window has a unique maximum (no ties for max pooling to break) and
 * a finite-difference step of 1e-5 never changes which pixel wins.
 */
static void fill_unique(tu_rng *rng, float *x, int planes, int hw)
{
    int *perm = tu_alloc((size_t)hw * sizeof *perm);
    for (int p = 0; p < planes; p++) {
        for (int i = 0; i < hw; i++)
            perm[i] = i;
        for (int i = hw - 1; i > 0; i--) {
            int j = (int)tu_uniform(rng, 0, i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < hw; i++)
            x[(size_t)p * hw + i] =
                (float)((perm[i] - hw / 2) * 0.05 + tu_uniform(rng, -0.01, 0.01));
    }
    free(perm);
}

static double *to_double(const float *f, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

/* Forward (y, argmax) and backward of one case and mode on the device
 * against the reference. */
static void run_case(const pool_case *c, int mode)
{
    uint64_t seed = 1000 + (uint64_t)(c - cases) * 10 + (uint64_t)mode;
    tu_rng rng = tu_rng_make(seed);
    pool_ref_geom g = geom_of(c, mode);
    size_t nx = pool_ref_x_count(&g), ny = pool_ref_y_count(&g);
    float *x = tu_alloc(nx * sizeof *x), *dy = tu_alloc(ny * sizeof *dy);
    fill_unique(&rng, x, c->N * c->C, c->H * c->W);
    tu_fill(&rng, dy, ny, -1, 1);
    double *xd = to_double(x, nx), *dyd = to_double(dy, ny);
    double *y_ref = tu_alloc(ny * sizeof *y_ref), *dx_ref = tu_alloc(nx * sizeof *dx_ref);
    int *am_ref = tu_alloc(ny * sizeof *am_ref);
    pool_ref_forward(&g, xd, y_ref, am_ref);
    pool_ref_backward(&g, dyd, am_ref, dx_ref);

    clcnn_pool_params p = params_of(c, mode);
    clcnn_tensor *tx = tu_tensor(c->N, c->C, c->H, c->W, x);
    clcnn_tensor *ty = tu_tensor(c->N, c->C, g.P, g.Q, NULL);
    clcnn_tensor *tam = tu_tensor(c->N, c->C, g.P, g.Q, NULL);
    clcnn_tensor *tdy = tu_tensor(c->N, c->C, g.P, g.Q, dy);
    clcnn_tensor *tdx = tu_tensor(c->N, c->C, c->H, c->W, NULL);
    tu_ok(clcnn_tensor_fill(ty, NAN));
    tu_ok(clcnn_tensor_fill(tdx, NAN)); /* backward must overwrite every element */

    char what[160];
    snprintf(what, sizeof what, "pool %s forward, %s", mode_names[mode], c->name);
    tu_ok(clcnn_pool_forward(tu_ctx(), tx, ty, tam, &p));
    float *y = tu_read(ty);
    tu_compare(what, seed, y, y_ref, ny, TOL_POOL_RTOL, TOL_POOL_ATOL);
    if (mode == CLCNN_POOL_MAX) {
        float *am = tu_read(tam);
        for (size_t i = 0; i < ny; i++) {
            int32_t idx;
            memcpy(&idx, &am[i], sizeof idx);
            ck_assert_msg(idx == am_ref[i], "%s (seed %llu): argmax[%zu] = %d, want %d", what,
                          (unsigned long long)seed, i, (int)idx, am_ref[i]);
        }
        free(am);
        /* without argmax the values are the same */
        tu_ok(clcnn_tensor_fill(ty, NAN));
        tu_ok(clcnn_pool_forward(tu_ctx(), tx, ty, NULL, &p));
        float *y2 = tu_read(ty);
        ck_assert_mem_eq(y, y2, ny * sizeof *y);
        free(y2);
    }

    snprintf(what, sizeof what, "pool %s backward, %s", mode_names[mode], c->name);
    tu_ok(clcnn_pool_backward(tu_ctx(), tdy, mode == CLCNN_POOL_MAX ? tam : NULL, tdx, &p));
    float *dx = tu_read(tdx);
    tu_compare(what, seed, dx, dx_ref, nx, TOL_POOL_RTOL, TOL_POOL_ATOL);

    free(dx);
    free(y);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tam);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
    free(x);
    free(dy);
    free(xd);
    free(dyd);
    free(y_ref);
    free(dx_ref);
    free(am_ref);
}

START_TEST(test_forward_backward)
{
    for (int mode = 0; mode < 3; mode++)
        run_case(&cases[_i], mode);
}
END_TEST

/*
 * Max pooling fused with the ReLU before it, against the reference ReLU,
 * pooling and their backward passes in float64: the fused forward on the
 * pre-activation z, and the fused backward after either forward (fused on
 * z, or plain on relu(z), where windows of negatives tie at zero). About
 * half of z is negative, so whole windows are too.
 */
static void run_relu_case(const pool_case *c)
{
    uint64_t seed = 3000 + (uint64_t)(c - cases);
    tu_rng rng = tu_rng_make(seed);
    pool_ref_geom g = geom_of(c, CLCNN_POOL_MAX);
    size_t nx = pool_ref_x_count(&g), ny = pool_ref_y_count(&g);
    float *z = tu_alloc(nx * sizeof *z), *a = tu_alloc(nx * sizeof *a);
    float *dy = tu_alloc(ny * sizeof *dy);
    fill_unique(&rng, z, c->N * c->C, c->H * c->W);
    for (size_t i = 0; i < nx; i++)
        a[i] = z[i] > 0 ? z[i] : 0.0f;
    tu_fill(&rng, dy, ny, -1, 1);
    /* the reference: a = relu(z), y = pool(a), da = pool'(dy), dz = da * (z > 0) */
    double *ad = to_double(a, nx), *dyd = to_double(dy, ny);
    double *y_ref = tu_alloc(ny * sizeof *y_ref), *dz_ref = tu_alloc(nx * sizeof *dz_ref);
    int *am_ref = tu_alloc(ny * sizeof *am_ref);
    pool_ref_forward(&g, ad, y_ref, am_ref);
    pool_ref_backward(&g, dyd, am_ref, dz_ref);
    int passed = 0;
    for (size_t i = 0; i < nx; i++) {
        dz_ref[i] = z[i] > 0 ? dz_ref[i] : 0;
        passed += dz_ref[i] != 0;
    }

    clcnn_pool_params p = params_of(c, CLCNN_POOL_MAX);
    clcnn_tensor *tz = tu_tensor(c->N, c->C, c->H, c->W, z);
    clcnn_tensor *ta = tu_tensor(c->N, c->C, c->H, c->W, a);
    clcnn_tensor *ty = tu_tensor(c->N, c->C, g.P, g.Q, NULL);
    clcnn_tensor *tam = tu_tensor(c->N, c->C, g.P, g.Q, NULL);
    clcnn_tensor *tdy = tu_tensor(c->N, c->C, g.P, g.Q, dy);
    clcnn_tensor *tdz = tu_tensor(c->N, c->C, c->H, c->W, NULL);
    char what[160];
    for (int fused_fwd = 1; fused_fwd >= 0; fused_fwd--) {
        tu_ok(clcnn_tensor_fill(ty, NAN));
        tu_ok(clcnn_tensor_fill(tdz, NAN));
        tu_ok(clcnn__pool_forward_act(tu_ctx(), fused_fwd ? tz : ta, ty, tam, &p, fused_fwd));
        float *y = tu_read(ty);
        snprintf(what, sizeof what, "pool max %sforward, %s", fused_fwd ? "+ relu " : "",
                 c->name);
        tu_compare(what, seed, y, y_ref, ny, TOL_POOL_RTOL, TOL_POOL_ATOL);
        tu_ok(clcnn__pool_backward_act(tu_ctx(), tdy, tam, ty, tdz, &p, 1));
        float *dz = tu_read(tdz);
        snprintf(what, sizeof what, "pool max + relu backward after the %s forward, %s",
                 fused_fwd ? "fused" : "plain", c->name);
        if (passed) {
            tu_compare(what, seed, dz, dz_ref, nx, TOL_POOL_RTOL, TOL_POOL_ATOL);
        } else { /* a one-pixel case whose pixel is negative */
            for (size_t i = 0; i < nx; i++)
                ck_assert_msg(dz[i] == 0.0f, "%s: dz[%zu] = %g, want 0", what, i,
                              (double)dz[i]);
        }
        free(y);
        free(dz);
    }
    clcnn_tensor *ts[] = {tz, ta, ty, tam, tdy, tdz};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
    free(z);
    free(a);
    free(dy);
    free(ad);
    free(dyd);
    free(y_ref);
    free(dz_ref);
    free(am_ref);
}

START_TEST(test_relu_fused)
{
    run_relu_case(&cases[_i]);
}
END_TEST

/* The pure shape check gives the documented output shapes. */
START_TEST(test_output_shape)
{
    int y[4];
    char msg[256];
    clcnn_pool_params p = {.mode = CLCNN_POOL_MAX, .window_h = 2, .window_w = 2};
    ck_assert_int_eq(clcnn_pool_output_shape((int[]){2, 6, 28, 28}, &p, y, msg, sizeof msg),
                     CLCNN_OK);
    ck_assert(y[0] == 2 && y[1] == 6 && y[2] == 14 && y[3] == 14);
    ck_assert_int_eq(clcnn_pool_output_shape((int[]){1, 64, 11, 11}, &p, y, msg, sizeof msg),
                     CLCNN_OK);
    ck_assert(y[2] == 5 && y[3] == 5);
    p = (clcnn_pool_params){.window_h = 3, .window_w = 2, .stride_h = 2, .stride_w = 1,
                            .pad_top = 1, .pad_bottom = 0, .pad_left = 1, .pad_right = 1};
    ck_assert_int_eq(clcnn_pool_output_shape((int[]){1, 1, 8, 5}, &p, y, NULL, 0), CLCNN_OK);
    ck_assert(y[2] == (8 + 1 - 3) / 2 + 1 && y[3] == (5 + 2 - 2) / 1 + 1);
}
END_TEST

/* Central differences of L(x) = sum(dy * pool(x)) in float64 prove the
 * reference backward, for every mode on small overlapping geometries. */
START_TEST(test_reference_gradient)
{
    static const pool_case small[] = {
        {"3x3 s1 pad 1", 2, 2, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1},
        {"3x2 s2x1 pads 1,0,0,1", 1, 3, 7, 4, 3, 2, 2, 1, 1, 0, 0, 1},
        {"2x2 on 5x5", 1, 2, 5, 5, 2, 2, 0, 0, 0, 0, 0, 0},
    };
    for (size_t ci = 0; ci < sizeof small / sizeof small[0]; ci++)
        for (int mode = 0; mode < 3; mode++) {
            const pool_case *c = &small[ci];
            uint64_t seed = 77 + ci * 3 + (uint64_t)mode;
            tu_rng rng = tu_rng_make(seed);
            pool_ref_geom g = geom_of(c, mode);
            size_t nx = pool_ref_x_count(&g), ny = pool_ref_y_count(&g);
            float *xf = tu_alloc(nx * sizeof *xf);
            fill_unique(&rng, xf, c->N * c->C, c->H * c->W);
            double *x = to_double(xf, nx), *dy = tu_alloc(ny * sizeof *dy);
            for (size_t i = 0; i < ny; i++)
                dy[i] = tu_uniform(&rng, -1, 1);
            double *y = tu_alloc(ny * sizeof *y), *dx = tu_alloc(nx * sizeof *dx);
            double *num = tu_alloc(nx * sizeof *num);
            int *am = tu_alloc(ny * sizeof *am);
            pool_ref_forward(&g, x, y, am);
            pool_ref_backward(&g, dy, am, dx);
            const double h = 1e-5;
            size_t nonzero = 0;
            for (size_t i = 0; i < nx; i++) {
                double keep = x[i], lp = 0, lm = 0;
                x[i] = keep + h;
                pool_ref_forward(&g, x, y, NULL);
                for (size_t o = 0; o < ny; o++)
                    lp += dy[o] * y[o];
                x[i] = keep - h;
                pool_ref_forward(&g, x, y, NULL);
                for (size_t o = 0; o < ny; o++)
                    lm += dy[o] * y[o];
                x[i] = keep;
                num[i] = (lp - lm) / (2 * h);
                nonzero += dx[i] != 0;
                ck_assert_msg(fabs(num[i] - dx[i]) <= TOL_GRADCHECK_ATOL +
                                                          TOL_GRADCHECK_RTOL * fabs(num[i]),
                              "pool %s %s (seed %llu): d/dx[%zu] numeric %.9g, reference %.9g",
                              mode_names[mode], c->name, (unsigned long long)seed, i, num[i],
                              dx[i]);
            }
            ck_assert_msg(nonzero > 0, "pool %s %s: the gradient is all zeros",
                          mode_names[mode], c->name);
            free(xf);
            free(x);
            free(dy);
            free(y);
            free(dx);
            free(num);
            free(am);
        }
}
END_TEST

/* Tensors living at an element offset inside a larger buffer. */
START_TEST(test_offsets)
{
    const pool_case c = {"3x3 s2 pad 1 at offsets", 2, 3, 9, 7, 3, 3, 2, 2, 1, 1, 1, 1};
    tu_rng rng = tu_rng_make(4242);
    pool_ref_geom g = geom_of(&c, CLCNN_POOL_MAX);
    size_t nx = pool_ref_x_count(&g), ny = pool_ref_y_count(&g);
    clcnn_tensor *big = tu_tensor(1, 1, 1, (int)(nx + ny * 3 + 40), NULL);
    size_t base = 0;
    cl_mem mem = clcnn_tensor_cl_mem(big, &base);
    clcnn_tensor *tx, *ty, *tam, *tdx;
    tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, 3 * sizeof(float), c.N, c.C, c.H, c.W, &tx));
    tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, (nx + 5) * sizeof(float), c.N, c.C, g.P, g.Q, &ty));
    tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, (nx + ny + 11) * sizeof(float), c.N, c.C, g.P, g.Q,
                            &tam));
    tdx = tu_tensor(c.N, c.C, c.H, c.W, NULL);
    float *x = tu_alloc(nx * sizeof *x);
    fill_unique(&rng, x, c.N * c.C, c.H * c.W);
    tu_ok(clcnn_tensor_write(tx, x, nx));
    double *xd = to_double(x, nx), *y_ref = tu_alloc(ny * sizeof *y_ref);
    double *dx_ref = tu_alloc(nx * sizeof *dx_ref);
    int *am_ref = tu_alloc(ny * sizeof *am_ref);
    pool_ref_forward(&g, xd, y_ref, am_ref);
    clcnn_pool_params p = params_of(&c, CLCNN_POOL_MAX);
    tu_ok(clcnn_pool_forward(tu_ctx(), tx, ty, tam, &p));
    float *y = tu_read(ty);
    tu_compare("pool max forward at offsets", 4242, y, y_ref, ny, TOL_POOL_RTOL, TOL_POOL_ATOL);
    /* dy = y itself, read from its offset */
    tu_ok(clcnn_pool_backward(tu_ctx(), ty, tam, tdx, &p));
    pool_ref_backward(&g, y_ref, am_ref, dx_ref);
    float *dx = tu_read(tdx);
    tu_compare("pool max backward at offsets", 4242, dx, dx_ref, nx, TOL_POOL_RTOL,
               TOL_POOL_ATOL);
    free(x);
    free(y);
    free(dx);
    free(xd);
    free(y_ref);
    free(dx_ref);
    free(am_ref);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tam);
    clcnn_tensor_destroy(tdx);
    clcnn_tensor_destroy(big);
}
END_TEST

/* Ties go to the first pixel of the window in row-major order, as documented
 * (the random cases avoid ties, so this is their only test). */
START_TEST(test_max_ties)
{
    const pool_case c = {"ties", 1, 2, 6, 7, 3, 3, 2, 2, 1, 1, 1, 1};
    pool_ref_geom g = geom_of(&c, CLCNN_POOL_MAX);
    size_t nx = pool_ref_x_count(&g), ny = pool_ref_y_count(&g);
    double *xd = tu_alloc(nx * sizeof *xd), *y_ref = tu_alloc(ny * sizeof *y_ref);
    int *am_ref = tu_alloc(ny * sizeof *am_ref);
    for (size_t i = 0; i < nx; i++)
        xd[i] = 0.5;
    pool_ref_forward(&g, xd, y_ref, am_ref);
    clcnn_tensor *tx = tu_tensor(c.N, c.C, c.H, c.W, NULL);
    clcnn_tensor *ty = tu_tensor(c.N, c.C, g.P, g.Q, NULL);
    clcnn_tensor *tam = tu_tensor(c.N, c.C, g.P, g.Q, NULL);
    tu_ok(clcnn_tensor_fill(tx, 0.5f));
    clcnn_pool_params p = params_of(&c, CLCNN_POOL_MAX);
    tu_ok(clcnn_pool_forward(tu_ctx(), tx, ty, tam, &p));
    float *am = tu_read(tam);
    for (size_t i = 0; i < ny; i++) {
        int32_t idx;
        memcpy(&idx, &am[i], sizeof idx);
        ck_assert_msg(idx == am_ref[i], "tie: argmax[%zu] = %d, want %d", i, (int)idx,
                      am_ref[i]);
    }
    ck_assert_int_eq(am_ref[0], 0);
    ck_assert_int_eq(am_ref[1], 1); /* window at w = 1..3, first real pixel 1 */
    free(am);
    free(xd);
    free(y_ref);
    free(am_ref);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tam);
}
END_TEST

/* Ties in the 2x2 stride-2 kernels (vector and scalar parts, odd sizes):
 * values from {0, 0.5, 1} tie in most windows; forward, argmax and
 * backward against the reference. */
START_TEST(test_max_ties_2x2)
{
    const pool_case c = {"2x2 ties", 2, 3, 9, 19, 2, 2, 0, 0, 0, 0, 0, 0};
    uint64_t seed = 4343;
    tu_rng rng = tu_rng_make(seed);
    pool_ref_geom g = geom_of(&c, CLCNN_POOL_MAX);
    size_t nx = pool_ref_x_count(&g), ny = pool_ref_y_count(&g);
    float *x = tu_alloc(nx * sizeof *x), *dy = tu_alloc(ny * sizeof *dy);
    for (size_t i = 0; i < nx; i++)
        x[i] = 0.5f * (float)(int)tu_uniform(&rng, 0, 3);
    tu_fill(&rng, dy, ny, -1, 1);
    double *xd = to_double(x, nx), *dyd = to_double(dy, ny);
    double *y_ref = tu_alloc(ny * sizeof *y_ref), *dx_ref = tu_alloc(nx * sizeof *dx_ref);
    int *am_ref = tu_alloc(ny * sizeof *am_ref);
    pool_ref_forward(&g, xd, y_ref, am_ref);
    pool_ref_backward(&g, dyd, am_ref, dx_ref);
    clcnn_tensor *tx = tu_tensor(c.N, c.C, c.H, c.W, x);
    clcnn_tensor *ty = tu_tensor(c.N, c.C, g.P, g.Q, NULL);
    clcnn_tensor *tam = tu_tensor(c.N, c.C, g.P, g.Q, NULL);
    clcnn_tensor *tdy = tu_tensor(c.N, c.C, g.P, g.Q, dy);
    clcnn_tensor *tdx = tu_tensor(c.N, c.C, c.H, c.W, NULL);
    tu_ok(clcnn_tensor_fill(tdx, NAN));
    clcnn_pool_params p = params_of(&c, CLCNN_POOL_MAX);
    tu_ok(clcnn_pool_forward(tu_ctx(), tx, ty, tam, &p));
    float *am = tu_read(tam);
    for (size_t i = 0; i < ny; i++) {
        int32_t idx;
        memcpy(&idx, &am[i], sizeof idx);
        ck_assert_msg(idx == am_ref[i], "2x2 tie: argmax[%zu] = %d, want %d", i, (int)idx,
                      am_ref[i]);
    }
    tu_ok(clcnn_pool_backward(tu_ctx(), tdy, tam, tdx, &p));
    float *dx = tu_read(tdx);
    tu_compare("pool max 2x2 backward with ties", seed, dx, dx_ref, nx, TOL_POOL_RTOL,
               TOL_POOL_ATOL);
    free(x);
    free(dy);
    free(xd);
    free(dyd);
    free(y_ref);
    free(dx_ref);
    free(am_ref);
    free(am);
    free(dx);
    clcnn_tensor *ts[] = {tx, ty, tam, tdy, tdx};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
}
END_TEST

/* The pure check's table: parameters and input shapes it must refuse. */
START_TEST(test_invalid_geometry)
{
    static const struct {
        const char *what;
        int x[4];
        clcnn_pool_params p;
        clcnn_status want;
        const char *needle;
    } table[] = {
        {"bad mode", {1, 1, 4, 4}, {.mode = 7, .window_h = 2, .window_w = 2},
         CLCNN_ERR_INVALID_ARGUMENT, "mode 7"},
        {"zero window", {1, 1, 4, 4}, {.window_h = 0, .window_w = 2},
         CLCNN_ERR_INVALID_ARGUMENT, "window 0x2"},
        {"negative window", {1, 1, 4, 4}, {.window_h = 2, .window_w = -1},
         CLCNN_ERR_INVALID_ARGUMENT, "window 2x-1"},
        {"negative stride", {1, 1, 4, 4}, {.window_h = 2, .window_w = 2, .stride_w = -1},
         CLCNN_ERR_INVALID_ARGUMENT, "stride"},
        {"pad over half the window", {1, 1, 8, 8}, {.window_h = 3, .window_w = 3, .pad_top = 2},
         CLCNN_ERR_INVALID_ARGUMENT, "pad_top 2"},
        {"pad right over half", {1, 1, 8, 8}, {.window_h = 4, .window_w = 2, .pad_right = 2},
         CLCNN_ERR_INVALID_ARGUMENT, "pad_right 2"},
        {"negative pad", {1, 1, 8, 8}, {.window_h = 3, .window_w = 3, .pad_left = -1},
         CLCNN_ERR_INVALID_ARGUMENT, "pad_left -1"},
        {"window larger than input", {1, 1, 2, 2}, {.window_h = 3, .window_w = 3},
         CLCNN_ERR_SHAPE, "(1, 1, 2, 2)"},
        {"window taller than padded input", {1, 1, 2, 9},
         {.window_h = 5, .window_w = 1, .pad_top = 1, .pad_bottom = 1}, CLCNN_ERR_SHAPE,
         "4x9"},
        {"zero batch", {0, 1, 4, 4}, {.window_h = 2, .window_w = 2}, CLCNN_ERR_SHAPE,
         "(0, 1, 4, 4)"},
        {"negative width", {1, 1, 4, -4}, {.window_h = 2, .window_w = 2}, CLCNN_ERR_SHAPE,
         "invalid"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int y[4];
        char msg[256] = "";
        clcnn_status st = clcnn_pool_output_shape(table[i].x, &table[i].p, y, msg, sizeof msg);
        ck_assert_msg(st == table[i].want, "%s: got %s, want %s (%s)", table[i].what,
                      clcnn_status_name(st), clcnn_status_name(table[i].want), msg);
        ck_assert_msg(strstr(msg, table[i].needle) != NULL,
                      "%s: message \"%s\" does not mention \"%s\"", table[i].what, msg,
                      table[i].needle);
        /* the ops refuse the same geometry with the same status */
        int xs[4];
        memcpy(xs, table[i].x, sizeof xs);
        for (int d = 0; d < 4; d++)
            if (xs[d] < 1)
                xs[d] = 1;
        if (st == CLCNN_ERR_SHAPE)
            continue; /* such an x cannot be created */
        clcnn_tensor *x = tu_tensor(xs[0], xs[1], xs[2], xs[3], NULL);
        clcnn_tensor *any = tu_tensor(1, 1, 1, 1, NULL);
        tu_expect_status(clcnn_pool_forward(tu_ctx(), x, any, NULL, &table[i].p),
                         table[i].want);
        tu_expect_message(table[i].needle);
        tu_expect_status(clcnn_pool_backward(tu_ctx(), any, any, x, &table[i].p),
                         table[i].want);
        tu_expect_message("clcnn_pool_backward");
        clcnn_tensor_destroy(x);
        clcnn_tensor_destroy(any);
    }
    ck_assert_int_eq(clcnn_pool_output_shape(NULL, &table[0].p, (int[4]){0}, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn_pool_output_shape((int[]){1, 1, 2, 2}, NULL, (int[4]){0}, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

/* The ops' own checks: tensors, shapes, argmax, overlap. */
START_TEST(test_invalid_tensors)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_pool_params max2 = {.mode = CLCNN_POOL_MAX, .window_h = 2, .window_w = 2};
    clcnn_pool_params avg2 = max2;
    avg2.mode = CLCNN_POOL_AVG_EXCLUDE_PAD;
    clcnn_tensor *x = tu_tensor(1, 3, 8, 8, NULL), *y = tu_tensor(1, 3, 4, 4, NULL);
    clcnn_tensor *am = tu_tensor(1, 3, 4, 4, NULL), *bad = tu_tensor(1, 3, 3, 3, NULL);
    clcnn_tensor *dx = tu_tensor(1, 3, 8, 8, NULL);
    tu_ok(clcnn_tensor_fill(x, 1.0f));

    ck_assert_int_eq(clcnn_pool_forward(NULL, x, y, am, &max2), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_pool_forward(ctx, NULL, y, am, &max2), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn_pool_forward(ctx, x, NULL, am, &max2), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn_pool_forward(ctx, x, y, am, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("params is NULL");
    tu_expect_status(clcnn_pool_forward(ctx, x, bad, am, &max2), CLCNN_ERR_SHAPE);
    tu_expect_message("y has shape (1, 3, 3, 3) but pooling x gives (1, 3, 4, 4)");
    tu_expect_status(clcnn_pool_forward(ctx, x, y, bad, &max2), CLCNN_ERR_SHAPE);
    tu_expect_message("argmax has shape (1, 3, 3, 3)");
    tu_expect_status(clcnn_pool_forward(ctx, x, y, y, &max2), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("overlaps");
    tu_expect_status(clcnn_pool_forward(ctx, x, x, NULL, &(clcnn_pool_params){.window_h = 1,
                                                                             .window_w = 1}),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y overlaps x");
    /* average pooling ignores argmax, even a wrong one */
    tu_ok(clcnn_pool_forward(ctx, x, y, bad, &avg2));

    ck_assert_int_eq(clcnn_pool_backward(NULL, y, am, dx, &max2), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_pool_backward(ctx, y, NULL, dx, &max2), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("argmax is NULL");
    tu_expect_status(clcnn_pool_backward(ctx, NULL, am, dx, &max2), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy is NULL");
    tu_expect_status(clcnn_pool_backward(ctx, y, am, NULL, &max2), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx is NULL");
    tu_expect_status(clcnn_pool_backward(ctx, bad, am, dx, &max2), CLCNN_ERR_SHAPE);
    tu_expect_message("dy has shape (1, 3, 3, 3) but pooling dx gives (1, 3, 4, 4)");
    tu_expect_status(clcnn_pool_backward(ctx, y, bad, dx, &max2), CLCNN_ERR_SHAPE);
    tu_expect_message("argmax has shape (1, 3, 3, 3)");
    tu_expect_status(clcnn_pool_backward(ctx, y, am, y, &max2), CLCNN_ERR_SHAPE);
    tu_expect_status(clcnn_pool_backward(ctx, y, am, x, &(clcnn_pool_params){.window_h = 2,
                                                                           .window_w = 2,
                                                                           .stride_h = 3}),
                     CLCNN_ERR_SHAPE);
    /* average pooling needs no argmax */
    tu_ok(clcnn_pool_backward(ctx, y, NULL, dx, &avg2));

    /* the fused ReLU: max pooling only, and the backward pass needs y */
    tu_ok(clcnn__pool_forward_act(ctx, x, y, am, &max2, 1));
    tu_expect_status(clcnn__pool_forward_act(ctx, x, y, am, &avg2, 1),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("needs max pooling");
    tu_ok(clcnn__pool_backward_act(ctx, y, am, y, dx, &max2, 1));
    tu_expect_status(clcnn__pool_backward_act(ctx, y, NULL, y, dx, &avg2, 1),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("needs max pooling");
    tu_expect_status(clcnn__pool_backward_act(ctx, y, am, NULL, dx, &max2, 1),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn__pool_backward_act(ctx, y, am, bad, dx, &max2, 1), CLCNN_ERR_SHAPE);
    tu_expect_message("y has shape (1, 3, 3, 3)");
    clcnn_tensor *dx4 = tu_tensor(1, 3, 4, 4, NULL), *y2 = tu_tensor(1, 3, 2, 2, NULL);
    clcnn_tensor *am2 = tu_tensor(1, 3, 2, 2, NULL);
    tu_expect_status(clcnn__pool_backward_act(ctx, y2, am2, dx4, dx4, &max2, 1),
                     CLCNN_ERR_SHAPE);
    clcnn_tensor_destroy(dx4);
    clcnn_tensor_destroy(y2);
    clcnn_tensor_destroy(am2);

    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(y);
    clcnn_tensor_destroy(am);
    clcnn_tensor_destroy(bad);
    clcnn_tensor_destroy(dx);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("forward_backward");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_forward_backward, 0, CASE_COUNT);
    tcase_add_loop_test(tc, test_relu_fused, 0, CASE_COUNT);
    tcase_add_test(tc, test_offsets);
    tcase_add_test(tc, test_max_ties);
    tcase_add_test(tc, test_max_ties_2x2);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradcheck");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_reference_gradient);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_output_shape);
    tcase_add_test(tc, test_invalid_geometry);
    tcase_add_test(tc, test_invalid_tensors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
