/*
 * conv2d: the pure output-shape check, forward with every algorithm and tile
 * variant against the float64 reference, the reference's own gradients against
 * central differences, the device backward passes against the reference
 * (including accumulation into dw and db), and the invalid-argument table.
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

/* A conv2d result is a sum of products of values in [-1, 1]: the reduction
 * tolerances apply, with the reduction length of each pass. */
#define TOL_CONV2D_RTOL TOL_REDUCTION_RTOL
/* The gradient check uses TOL_GRADCHECK_*: two float64 computations of a
 * function linear in each variable, so central differences are exact up to
 * rounding. */

typedef struct conv_case {
    const char *name;
    int N, C, H, W, K, R, S;
    int pad_top, pad_bottom, pad_left, pad_right;
    int stride_h, stride_w, dil_h, dil_w; /* 0 means 1, as in clcnn_conv2d_params */
} conv_case;

/* Odd sizes throughout: no dimension is a multiple of any tile unless noted. */
static const conv_case cases[] = {
    {"1x1 image, 1x1 filter", 2, 3, 1, 1, 7, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
    {"1x1 image, 3x3 filter, pad 1", 1, 5, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {"C3 K7 13x13, 3x3 pad 1, zero stride", 2, 3, 13, 13, 7, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
    {"9x17, 3x5 filter, pad 2/0/3/1", 1, 4, 9, 17, 5, 3, 5, 2, 0, 3, 1, 1, 1, 1, 1},
    {"15x15 stride 2 pad 1", 2, 6, 15, 15, 9, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1},
    {"16x11, 5x3 filter, stride 3", 1, 2, 16, 11, 3, 5, 3, 2, 0, 1, 1, 3, 3, 1, 1},
    {"14x19 stride 2x3, pad 0/1/1/0", 2, 3, 14, 19, 5, 3, 3, 0, 1, 1, 0, 2, 3, 1, 1},
    {"19x17, 7x7 filter, stride 3, pad 3/3/3/2", 1, 2, 19, 17, 4, 7, 7, 3, 3, 3, 2, 3, 3, 1, 1},
    {"13x13 dilation 2, pad 2", 1, 3, 13, 13, 7, 3, 3, 2, 2, 2, 2, 1, 1, 2, 2},
    {"12x20 dilation 2x1, stride 1x2", 2, 4, 12, 20, 6, 3, 3, 1, 2, 0, 1, 1, 2, 2, 1},
    {"10x10, 5x5 filter, pad 3", 1, 3, 10, 10, 5, 5, 5, 3, 3, 3, 3, 1, 1, 1, 1},
    {"2x2 image, 3x3 filter, pad 1", 3, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {"1x30 row, 1x3 filter", 2, 3, 1, 30, 4, 1, 3, 0, 0, 1, 1, 1, 1, 1, 1},
    {"3x64 wide rows, 1x7 filter, K33", 1, 5, 3, 64, 33, 1, 7, 0, 0, 3, 3, 1, 1, 1, 1},
    {"23x29 C17 K19, pad 1", 3, 17, 23, 29, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {"17x17 C40 K20 stride 2 dil 2 (C*R*S 360)", 2, 40, 17, 17, 20, 3, 3, 2, 1, 2, 1, 2, 2, 2, 2},
    {"LeNet-5 conv1 28x28x1 -> 6@5x5 pad 2", 2, 1, 28, 28, 6, 5, 5, 2, 2, 2, 2, 1, 1, 1, 1},
    {"LeNet-5 conv2 14x14x6 -> 16@5x5", 2, 6, 14, 14, 16, 5, 5, 0, 0, 0, 0, 1, 1, 1, 1},
    {"Keras conv1 28x28x1 -> 32@3x3", 2, 1, 28, 28, 32, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1},
    {"Keras conv2 13x13x32 -> 64@3x3", 2, 32, 13, 13, 64, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1},
    {"Keras conv3 5x5x64 -> 128@3x3", 2, 64, 5, 5, 128, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1},
    {"7x9 C9 K10, 1x1 filter", 2, 9, 7, 9, 10, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
    {"13x11 C6 K5, 1x1 filter, stride 2", 2, 6, 13, 11, 5, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1},
    {"9x10 C4 K3, 1x1 filter, stride 3x2, dilation 2", 1, 4, 9, 10, 3, 1, 1, 0, 0, 0, 0, 3, 2, 2,
     2},
    {"17x17 C1 K3, 3x3 pad 1 (one input channel)", 3, 1, 17, 17, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1,
     1},
    {"19x6 C5 K6, 3x3 pad 2/1/0/2", 2, 5, 19, 6, 6, 3, 3, 2, 1, 0, 2, 1, 1, 1, 1},
};
#define CASE_COUNT ((int)(sizeof cases / sizeof cases[0]))

static int one_if_zero(int v)
{
    return v ? v : 1;
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

static clcnn_conv2d_params case_params(const conv_case *c, clcnn_conv_algo algo)
{
    return (clcnn_conv2d_params){
        .pad_top = c->pad_top, .pad_bottom = c->pad_bottom,
        .pad_left = c->pad_left, .pad_right = c->pad_right,
        .stride_h = c->stride_h, .stride_w = c->stride_w,
        .dilation_h = c->dil_h, .dilation_w = c->dil_w, .algo = algo,
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

/* ---- output shape ---- */

START_TEST(test_output_shape)
{
    int y[4];
    char msg[256];
    const int x[4] = {2, 3, 28, 28}, w[4] = {6, 3, 5, 5};
    clcnn_conv2d_params p = {.pad_top = 2, .pad_bottom = 2, .pad_left = 2, .pad_right = 2};
    ck_assert_int_eq(clcnn_conv2d_output_shape(x, w, &p, y, msg, sizeof msg), CLCNN_OK);
    ck_assert_int_eq(y[0], 2);
    ck_assert_int_eq(y[1], 6);
    ck_assert_int_eq(y[2], 28);
    ck_assert_int_eq(y[3], 28);

    /* asymmetric padding, different strides per axis: (7+1-3)/2+1, (8+2-3)/3+1 */
    const int x2[4] = {1, 1, 7, 8}, w2[4] = {4, 1, 3, 3};
    clcnn_conv2d_params p2 = {.pad_top = 1, .pad_right = 2, .stride_h = 2, .stride_w = 3};
    ck_assert_int_eq(clcnn_conv2d_output_shape(x2, w2, &p2, y, NULL, 0), CLCNN_OK);
    ck_assert_int_eq(y[1], 4);
    ck_assert_int_eq(y[2], 3);
    ck_assert_int_eq(y[3], 3);

    /* dilation 2 makes a 3x3 filter span 5: 13 - 5 + 1 = 9; 0 means 1 */
    const int x3[4] = {1, 1, 13, 13}, w3[4] = {1, 1, 3, 3};
    clcnn_conv2d_params p3 = {.dilation_h = 2, .dilation_w = 0};
    ck_assert_int_eq(clcnn_conv2d_output_shape(x3, w3, &p3, y, NULL, 0), CLCNN_OK);
    ck_assert_int_eq(y[2], 9);
    ck_assert_int_eq(y[3], 11);

    /* errors leave a message and a zeroed shape */
    ck_assert_int_eq(clcnn_conv2d_output_shape(NULL, w, &p, y, msg, sizeof msg),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "x_shape"));
    ck_assert_int_eq(clcnn_conv2d_output_shape(x, w, NULL, y, msg, sizeof msg),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn_conv2d_output_shape(x, w, &p, NULL, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
    const int bad_x[4] = {2, 3, 0, 28};
    ck_assert_int_eq(clcnn_conv2d_output_shape(bad_x, w, &p, y, msg, sizeof msg),
                     CLCNN_ERR_SHAPE);
    ck_assert_int_eq(y[0], 0);
    ck_assert_ptr_nonnull(strstr(msg, "(2, 3, 0, 28)"));
    const int bad_w[4] = {6, 4, 5, 5};
    ck_assert_int_eq(clcnn_conv2d_output_shape(x, bad_w, &p, y, msg, sizeof msg),
                     CLCNN_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(msg, "(6, 4, 5, 5)"));
    clcnn_conv2d_params neg = {.stride_w = -2};
    ck_assert_int_eq(clcnn_conv2d_output_shape(x, w, &neg, y, msg, sizeof msg),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "stride_w"));
    clcnn_conv2d_params big_pad = {.pad_left = 5};
    ck_assert_int_eq(clcnn_conv2d_output_shape(x, w, &big_pad, y, msg, sizeof msg),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "pad_left"));
    /* a padding just under a dilated extent is fine: 3x3 dilation 2 spans 5 */
    clcnn_conv2d_params dil_pad = {.pad_top = 4, .dilation_h = 2};
    ck_assert_int_eq(clcnn_conv2d_output_shape(x3, w3, &dil_pad, y, NULL, 0), CLCNN_OK);
    ck_assert_int_eq(y[2], 13);
    const int tiny[4] = {1, 1, 2, 2};
    clcnn_conv2d_params none = {0};
    ck_assert_int_eq(clcnn_conv2d_output_shape(tiny, w3, &none, y, msg, sizeof msg),
                     CLCNN_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(msg, "does not fit"));
    /* a small message buffer is truncated, not overrun */
    char small[8];
    ck_assert_int_eq(clcnn_conv2d_output_shape(tiny, w3, &none, y, small, sizeof small),
                     CLCNN_ERR_SHAPE);
    ck_assert_uint_eq(strlen(small), 7);
}
END_TEST

START_TEST(test_variant_table)
{
    ck_assert_int_eq(clcnn__conv2d_variant_count(CLCNN__CONV2D_FORWARD, CLCNN_CONV_AUTO), 0);
    ck_assert_int_ge(clcnn__conv2d_variant_count(CLCNN__CONV2D_FORWARD, CLCNN_CONV_DIRECT), 2);
    ck_assert_int_ge(clcnn__conv2d_variant_count(CLCNN__CONV2D_FORWARD, CLCNN_CONV_GEMM), 2);
    ck_assert_int_ge(
        clcnn__conv2d_variant_count(CLCNN__CONV2D_BACKWARD_DATA, CLCNN_CONV_DIRECT), 1);
    ck_assert_int_ge(
        clcnn__conv2d_variant_count(CLCNN__CONV2D_BACKWARD_FILTER, CLCNN_CONV_GEMM), 1);
    ck_assert_int_eq(clcnn__conv2d_variant_count(CLCNN__CONV2D_PASS_COUNT, CLCNN_CONV_GEMM), 0);
    ck_assert_str_eq(clcnn__conv2d_variant_name(CLCNN__CONV2D_FORWARD, CLCNN_CONV_GEMM, 99),
                     "?");
    ck_assert_str_eq(clcnn__conv2d_algo_name(CLCNN_CONV_WINOGRAD), "winograd");
    ck_assert_str_eq(clcnn__conv2d_algo_name(CLCNN_CONV_ALGO_COUNT), "?");
    /* the heuristic names a variant that exists and runs the case, for every
     * case and pass; every variant runs at least one case, so that the
     * tests below exercise it */
    int runs[CLCNN__CONV2D_PASS_COUNT][CLCNN_CONV_ALGO_COUNT][16] = {{{0}}};
    for (int i = 0; i < CASE_COUNT; i++) {
        const conv_case *c = &cases[i];
        const int xs[4] = {c->N, c->C, c->H, c->W}, ws[4] = {c->K, c->C, c->R, c->S};
        clcnn_conv2d_params p = case_params(c, CLCNN_CONV_AUTO);
        for (int pass = 0; pass < CLCNN__CONV2D_PASS_COUNT; pass++) {
            clcnn_conv_algo algo = CLCNN_CONV_AUTO;
            int v = -1;
            clcnn__conv2d_choose(tu_ctx(), (clcnn__conv2d_pass)pass, xs, ws, &p, &algo, &v);
            ck_assert_msg(v >= 0 && v < clcnn__conv2d_variant_count(pass, algo) &&
                              clcnn__conv2d_variant_supported(tu_ctx(), pass, algo, v, xs, ws,
                                                              &p),
                          "%s: pass %d chose algo %d variant %d", c->name, pass, (int)algo, v);
            for (int a = 1; a < CLCNN_CONV_ALGO_COUNT; a++) {
                ck_assert_int_le(clcnn__conv2d_variant_count(pass, (clcnn_conv_algo)a), 16);
                for (int j = 0; j < clcnn__conv2d_variant_count(pass, (clcnn_conv_algo)a); j++)
                    runs[pass][a][j] += clcnn__conv2d_variant_supported(
                        tu_ctx(), pass, (clcnn_conv_algo)a, j, xs, ws, &p);
            }
        }
    }
    for (int pass = 0; pass < CLCNN__CONV2D_PASS_COUNT; pass++)
        for (int a = 1; a < CLCNN_CONV_ALGO_COUNT; a++)
            for (int j = 0; j < clcnn__conv2d_variant_count(pass, (clcnn_conv_algo)a); j++)
                ck_assert_msg(runs[pass][a][j] > 0, "%s runs none of the cases",
                              clcnn__conv2d_variant_name(pass, (clcnn_conv_algo)a, j));
}
END_TEST

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
                tu_compare(what, seed, y, ref[e], ny, TOL_CONV2D_RTOL, atol);
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
        tu_compare(what, seed, y, ref[e], ny, TOL_CONV2D_RTOL, atol);
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
            tu_compare(what, seed, got, ref_dx, nx, TOL_CONV2D_RTOL, atol_dx);
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
            snprintf(what, sizeof what, "backward filter dw %s, %s", c->name, vname);
            tu_compare(what, seed, got_dw, ref_dw, nw, TOL_CONV2D_RTOL, atol_dw);
            snprintf(what, sizeof what, "backward filter db %s, %s", c->name, vname);
            tu_compare(what, seed, got_db, ref_db, nk, TOL_CONV2D_RTOL, atol_dw);
            free(got_dw);
            free(got_db);
        }
    }
    p.algo = CLCNN_CONV_AUTO;

    /* twice, both accumulating; then once more without db, which must not
     * touch db */
    tu_ok(clcnn_tensor_write(tdw, dw0, nw));
    tu_ok(clcnn_tensor_write(tdb, db0, nk));
    tu_ok(clcnn_conv2d_backward_filter(tu_ctx(), tx, tdy, tdw, tdb, &p));
    tu_ok(clcnn_conv2d_backward_filter(tu_ctx(), tx, tdy, tdw, tdb, &p));
    float *got_dw = tu_read(tdw), *got_db = tu_read(tdb);
    snprintf(what, sizeof what, "backward filter dw %s, accumulated twice", c->name);
    tu_compare(what, seed, got_dw, ref_dw2, nw, TOL_CONV2D_RTOL, 2 * atol_dw);
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
                               tol_reduction_atol((double)g.C * g.R * g.S));
                else if (out == T_DX)
                    tu_compare(what, seed, now + off[T_DX], ref_dx, count[T_DX],
                               TOL_CONV2D_RTOL, tol_reduction_atol((double)g.K * g.R * g.S));
                else {
                    double atol = tol_reduction_atol((double)g.N * g.P * g.Q);
                    tu_compare(what, seed, now + off[T_DW], ref_dw, count[T_DW],
                               TOL_CONV2D_RTOL, atol);
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

/* ---- invalid arguments ---- */

enum { OP_FORWARD, OP_BACKWARD_DATA, OP_BACKWARD_FILTER };

/* Shapes per op: forward x, w, b, y; backward-data dx, w, -, dy; backward-filter
 * x, dw, db, dy. b[0] == 0 means no bias tensor. */
typedef struct bad_case {
    const char *name;
    int op;
    int x[4], w[4], b[4], y[4];
    clcnn_conv2d_params params;
    clcnn_status want;
    const char *needle; /* must appear in the message */
} bad_case;

#define X4 {2, 3, 8, 8}
#define W4 {4, 3, 3, 3}
#define B4 {4, 1, 1, 1}
#define Y4 {2, 4, 6, 6}
#define NOB {0, 0, 0, 0}

static const bad_case bad_cases[] = {
    {"C of x differs from C of w", OP_FORWARD, X4, {4, 5, 3, 3}, B4, Y4, {0}, CLCNN_ERR_SHAPE,
     "(4, 5, 3, 3)"},
    {"y too small", OP_FORWARD, X4, W4, B4, {2, 4, 5, 6}, {0}, CLCNN_ERR_SHAPE, "(2, 4, 6, 6)"},
    {"y with the wrong K", OP_FORWARD, X4, W4, NOB, {2, 3, 6, 6}, {0}, CLCNN_ERR_SHAPE,
     "(2, 3, 6, 6)"},
    {"y with the wrong N", OP_FORWARD, X4, W4, NOB, {1, 4, 6, 6}, {0}, CLCNN_ERR_SHAPE, "y"},
    {"negative stride", OP_FORWARD, X4, W4, B4, Y4, {.stride_h = -1},
     CLCNN_ERR_INVALID_ARGUMENT, "stride_h"},
    {"stride out of range", OP_FORWARD, X4, W4, B4, Y4, {.stride_w = 1 << 20},
     CLCNN_ERR_INVALID_ARGUMENT, "stride_w"},
    {"negative dilation", OP_FORWARD, X4, W4, B4, Y4, {.dilation_w = -2},
     CLCNN_ERR_INVALID_ARGUMENT, "dilation_w"},
    {"negative padding", OP_FORWARD, X4, W4, B4, Y4, {.pad_left = -1},
     CLCNN_ERR_INVALID_ARGUMENT, "pad_left"},
    {"padding as large as the filter", OP_FORWARD, X4, W4, B4, {2, 4, 9, 6}, {.pad_top = 3},
     CLCNN_ERR_INVALID_ARGUMENT, "pad_top"},
    {"padding as large as the dilated filter", OP_FORWARD, X4, W4, B4, Y4,
     {.pad_right = 5, .dilation_w = 2}, CLCNN_ERR_INVALID_ARGUMENT, "pad_right"},
    {"unknown algorithm", OP_FORWARD, X4, W4, B4, Y4, {.algo = (clcnn_conv_algo)7},
     CLCNN_ERR_INVALID_ARGUMENT, "algo"},
    {"filter larger than the input", OP_FORWARD, {1, 3, 2, 8}, W4, NOB, {1, 4, 1, 6}, {0},
     CLCNN_ERR_SHAPE, "does not fit"},
    {"bias of the wrong size", OP_FORWARD, X4, W4, {3, 1, 1, 1}, Y4, {0}, CLCNN_ERR_SHAPE,
     "(3, 1, 1, 1)"},
    {"backward data: dy of the wrong shape", OP_BACKWARD_DATA, X4, W4, NOB, {2, 4, 6, 7}, {0},
     CLCNN_ERR_SHAPE, "dy"},
    {"backward data: C of dx differs", OP_BACKWARD_DATA, {2, 2, 8, 8}, W4, NOB, Y4, {0},
     CLCNN_ERR_SHAPE, "(2, 2, 8, 8)"},
    {"backward data: negative padding", OP_BACKWARD_DATA, X4, W4, NOB, Y4, {.pad_bottom = -1},
     CLCNN_ERR_INVALID_ARGUMENT, "pad_bottom"},
    {"backward filter: dw of the wrong shape", OP_BACKWARD_FILTER, X4, {4, 3, 3, 2}, B4, Y4,
     {0}, CLCNN_ERR_SHAPE, "dy"},
    {"backward filter: C of dw differs", OP_BACKWARD_FILTER, X4, {4, 1, 3, 3}, B4, Y4, {0},
     CLCNN_ERR_SHAPE, "(4, 1, 3, 3)"},
    {"backward filter: db of the wrong size", OP_BACKWARD_FILTER, X4, W4, {5, 1, 1, 1}, Y4, {0},
     CLCNN_ERR_SHAPE, "db"},
    {"backward filter: dy with the wrong N", OP_BACKWARD_FILTER, X4, W4, NOB, {3, 4, 6, 6},
     {0}, CLCNN_ERR_SHAPE, "(3, 4, 6, 6)"},
};

static clcnn_tensor *shaped(const int s[4])
{
    return s[0] ? tu_tensor(s[0], s[1], s[2], s[3], NULL) : NULL;
}

START_TEST(test_invalid_table)
{
    const bad_case *bc = &bad_cases[_i];
    clcnn_tensor *x = shaped(bc->x), *w = shaped(bc->w), *b = shaped(bc->b), *y = shaped(bc->y);
    clcnn_status st;
    if (bc->op == OP_FORWARD)
        st = clcnn_conv2d_forward(tu_ctx(), x, w, b, y, &bc->params);
    else if (bc->op == OP_BACKWARD_DATA)
        st = clcnn_conv2d_backward_data(tu_ctx(), y, w, x, &bc->params);
    else
        st = clcnn_conv2d_backward_filter(tu_ctx(), x, y, w, b, &bc->params);
    ck_assert_msg(st == bc->want, "%s: expected %s, got %s: %s", bc->name,
                  clcnn_status_name(bc->want), clcnn_status_name(st),
                  clcnn_last_error(tu_ctx()));
    ck_assert_msg(strstr(clcnn_last_error(tu_ctx()), bc->needle) != NULL,
                  "%s: message \"%s\" does not name \"%s\"", bc->name,
                  clcnn_last_error(tu_ctx()), bc->needle);
    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(w);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(y);
}
END_TEST

static void expect_message(clcnn_status st, clcnn_status want, const char *needle)
{
    tu_expect_status(st, want);
    ck_assert_msg(strstr(clcnn_last_error(tu_ctx()), needle) != NULL,
                  "message \"%s\" does not name \"%s\"", clcnn_last_error(tu_ctx()), needle);
}

START_TEST(test_invalid_handles)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_tensor *x = tu_tensor(2, 3, 8, 8, NULL), *w = tu_tensor(4, 3, 3, 3, NULL);
    clcnn_tensor *b = tu_tensor(4, 1, 1, 1, NULL), *y = tu_tensor(2, 4, 6, 6, NULL);
    clcnn_conv2d_params p = {0};
    const clcnn_status bad = CLCNN_ERR_INVALID_ARGUMENT;

    ck_assert_int_eq(clcnn_conv2d_forward(NULL, x, w, b, y, &p), bad);
    ck_assert_int_eq(clcnn_conv2d_backward_data(NULL, y, w, x, &p), bad);
    ck_assert_int_eq(clcnn_conv2d_backward_filter(NULL, x, y, w, b, &p), bad);
    expect_message(clcnn_conv2d_forward(ctx, NULL, w, b, y, &p), bad, "x");
    expect_message(clcnn_conv2d_forward(ctx, x, NULL, b, y, &p), bad, "w");
    expect_message(clcnn_conv2d_forward(ctx, x, w, b, NULL, &p), bad, "y");
    expect_message(clcnn_conv2d_forward(ctx, x, w, b, y, NULL), bad, "params");
    expect_message(clcnn_conv2d_backward_data(ctx, NULL, w, x, &p), bad, "dy");
    expect_message(clcnn_conv2d_backward_data(ctx, y, NULL, x, &p), bad, "w");
    expect_message(clcnn_conv2d_backward_data(ctx, y, w, NULL, &p), bad, "dx");
    expect_message(clcnn_conv2d_backward_data(ctx, y, w, x, NULL), bad, "params");
    expect_message(clcnn_conv2d_backward_filter(ctx, NULL, y, w, b, &p), bad, "x");
    expect_message(clcnn_conv2d_backward_filter(ctx, x, NULL, w, b, &p), bad, "dy");
    expect_message(clcnn_conv2d_backward_filter(ctx, x, y, NULL, b, &p), bad, "dw");
    expect_message(clcnn_conv2d_backward_filter(ctx, x, y, w, b, NULL), bad, "params");

    /* forced variants out of range, or forced without an algorithm */
    clcnn_conv2d_params gemm = {.algo = CLCNN_CONV_GEMM};
    expect_message(clcnn__conv2d_forward_variant(ctx, x, w, b, y, &gemm, 99), bad, "variant");
    expect_message(clcnn__conv2d_forward_variant(ctx, x, w, b, y, &p, 0), bad, "algo");
    expect_message(clcnn__conv2d_forward_act(ctx, x, w, b, y, &p, 2), bad, "relu");
    expect_message(clcnn__conv2d_backward_data_variant(ctx, y, w, x, &p, 99), bad, "variant");
    expect_message(clcnn__conv2d_backward_filter_variant(ctx, x, y, w, b, &p, 99), bad,
                   "variant");

    /* an output sharing memory with an input: y as a view of x (1x1 filter) */
    clcnn_tensor *w1 = tu_tensor(3, 3, 1, 1, NULL), *alias = NULL;
    tu_ok(clcnn_tensor_view(x, 2, 3, 8, 8, &alias));
    expect_message(clcnn_conv2d_forward(ctx, x, w1, NULL, alias, &p), bad, "overlaps");
    expect_message(clcnn_conv2d_backward_data(ctx, x, w1, alias, &p), bad, "overlaps");

    /* a tensor of another context */
    clcnn_context *other = NULL;
    tu_ok(clcnn_context_create(NULL, &other, NULL, 0));
    clcnn_tensor *foreign = NULL;
    tu_ok(clcnn_tensor_create(other, 2, 3, 8, 8, &foreign));
    expect_message(clcnn_conv2d_forward(ctx, foreign, w, b, y, &p), bad, "another context");
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);

    clcnn_tensor_destroy(alias);
    clcnn_tensor_destroy(w1);
    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(w);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(y);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("conv2d");
    TCase *tc = tcase_create("shape");
    tcase_add_test(tc, test_output_shape);
    tcase_add_test(tc, test_variant_table);
    suite_add_tcase(s, tc);

    tc = tcase_create("forward");
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

    tc = tcase_create("invalid");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_invalid_table, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_invalid_handles);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
