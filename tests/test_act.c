/*
 * Activations: forward and backward of ReLU, leaky ReLU, tanh and sigmoid
 * against the float64 reference on sizes around the float4 width, in place
 * and at unaligned offsets, a central-difference check of the reference
 * backward, and the invalid-argument table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_ref.h"
#include "clcnn_cl.h"
#include "testutil.h"
#include "tolerance.h"

static const int shapes[][4] = {
    {1, 1, 1, 1}, {1, 1, 1, 3},   {1, 1, 1, 4},   {1, 1, 1, 5},    {1, 1, 2, 4},
    {1, 7, 1, 1}, {2, 3, 13, 13}, {1, 7, 9, 11},  {4, 6, 14, 14},  {3, 1, 1, 1027},
};
enum { SHAPE_COUNT = sizeof shapes / sizeof shapes[0] };

static const char *const act_names[] = {"relu", "leaky_relu", "tanh", "sigmoid"};
static const float leaky_alpha = 0.1f;

/* Inputs: away from the ReLU kink by 0.01; for tanh and sigmoid a wide range
 * including saturated values. */
static void fill_input(tu_rng *rng, int act, float *x, size_t n)
{
    if (act == CLCNN_ACT_RELU || act == CLCNN_ACT_LEAKY_RELU)
        tu_fill_away_from_zero(rng, x, n, -3, 3, 0.01f);
    else
        tu_fill(rng, x, n, -8, 8);
    if (n > 2 && act == CLCNN_ACT_SIGMOID) {
        x[0] = -30.0f; /* exp(30) is large but finite; y is tiny but exact */
        x[1] = 30.0f;
    }
}

static double *to_double(const float *f, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

static void run_case(int act, const int *shape, int in_place)
{
    uint64_t seed = 500 + (uint64_t)act * 100 + (uint64_t)(shape - shapes[0]) / 4 * 2 +
                    (uint64_t)in_place;
    tu_rng rng = tu_rng_make(seed);
    size_t n = (size_t)shape[0] * shape[1] * shape[2] * shape[3];
    float *x = tu_alloc(n * sizeof *x), *dy = tu_alloc(n * sizeof *dy);
    fill_input(&rng, act, x, n);
    tu_fill(&rng, dy, n, -1, 1);
    double *xd = to_double(x, n), *dyd = to_double(dy, n);
    double *y_ref = tu_alloc(n * sizeof *y_ref), *dx_ref = tu_alloc(n * sizeof *dx_ref);
    float alpha = act == CLCNN_ACT_LEAKY_RELU ? leaky_alpha : 0.0f;
    act_ref_forward(act, alpha, xd, y_ref, n);
    act_ref_backward(act, alpha, xd, dyd, dx_ref, n);

    char what[128];
    snprintf(what, sizeof what, "%s forward (%d,%d,%d,%d)%s", act_names[act], shape[0],
             shape[1], shape[2], shape[3], in_place ? " in place" : "");
    clcnn_tensor *tx = tu_tensor(shape[0], shape[1], shape[2], shape[3], x);
    clcnn_tensor *ty = in_place ? tx : tu_tensor(shape[0], shape[1], shape[2], shape[3], NULL);
    clcnn_tensor *tdy = tu_tensor(shape[0], shape[1], shape[2], shape[3], dy);
    clcnn_tensor *tdx = in_place ? tdy : tu_tensor(shape[0], shape[1], shape[2], shape[3], NULL);
    clcnn_tensor *tx_keep = NULL;
    if (in_place) /* backward still needs x for ReLU */
        tx_keep = tu_tensor(shape[0], shape[1], shape[2], shape[3], x);
    else
        tu_ok(clcnn_tensor_fill(tdx, NAN));

    tu_ok(clcnn_act_forward(tu_ctx(), (clcnn_activation)act, alpha, tx, ty));
    float *y = tu_read(ty);
    /* ReLU of inputs that are all negative is legitimately all zeros */
    int all_zero = 1;
    for (size_t i = 0; i < n; i++)
        all_zero &= y_ref[i] == 0.0;
    if (!all_zero)
        tu_compare(what, seed, y, y_ref, n, TOL_ELEMENTWISE_RTOL, TOL_ELEMENTWISE_ATOL);
    else
        for (size_t i = 0; i < n; i++)
            ck_assert_float_eq(y[i], 0.0f);

    snprintf(what, sizeof what, "%s backward (%d,%d,%d,%d)%s", act_names[act], shape[0],
             shape[1], shape[2], shape[3], in_place ? " in place" : "");
    tu_ok(clcnn_act_backward(tu_ctx(), (clcnn_activation)act, alpha, in_place ? tx_keep : tx,
                             ty, tdy, tdx));
    float *dx = tu_read(tdx);
    all_zero = 1;
    for (size_t i = 0; i < n; i++)
        all_zero &= dx_ref[i] == 0.0;
    if (!all_zero)
        tu_compare(what, seed, dx, dx_ref, n, TOL_ELEMENTWISE_RTOL, TOL_ELEMENTWISE_ATOL);
    else
        for (size_t i = 0; i < n; i++)
            ck_assert_float_eq(dx[i], 0.0f);

    free(x);
    free(dy);
    free(xd);
    free(dyd);
    free(y_ref);
    free(dx_ref);
    free(y);
    free(dx);
    if (!in_place) {
        clcnn_tensor_destroy(ty);
        clcnn_tensor_destroy(tdx);
    }
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tx_keep);
}

START_TEST(test_forward_backward)
{
    for (int act = 0; act < 4; act++)
        run_case(act, shapes[_i], 0);
}
END_TEST

START_TEST(test_in_place)
{
    for (int act = 0; act < 4; act++)
        run_case(act, shapes[_i], 1);
}
END_TEST

/* x, y, dy, dx at every offset modulo 4 inside larger buffers (vload4 must
 * not assume 16-byte alignment), with x and y of different shapes but one
 * count. */
START_TEST(test_offsets)
{
    const size_t n = 103;
    for (int act = 0; act < 4; act++)
        for (int off = 1; off < 4; off++) {
            uint64_t seed = 900 + (uint64_t)act * 4 + (uint64_t)off;
            tu_rng rng = tu_rng_make(seed);
            float *x = tu_alloc(n * sizeof *x), *dy = tu_alloc(n * sizeof *dy);
            fill_input(&rng, act, x, n);
            tu_fill(&rng, dy, n, -1, 1);
            double *xd = to_double(x, n), *dyd = to_double(dy, n);
            double *y_ref = tu_alloc(n * sizeof *y_ref), *dx_ref = tu_alloc(n * sizeof *dx_ref);
            float alpha = act == CLCNN_ACT_LEAKY_RELU ? leaky_alpha : 0.0f;
            act_ref_forward(act, alpha, xd, y_ref, n);
            act_ref_backward(act, alpha, xd, dyd, dx_ref, n);

            clcnn_tensor *big = tu_tensor(1, 1, 1, (int)(4 * n + 16), NULL);
            tu_ok(clcnn_tensor_fill(big, NAN));
            cl_mem mem = clcnn_tensor_cl_mem(big, NULL);
            clcnn_tensor *tx, *ty, *tdy, *tdx;
            tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, (size_t)off * 4, 1, 1, 1, (int)n, &tx));
            tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, (n + 2 * (size_t)off) * 4, 1, (int)n, 1, 1,
                                    &ty));
            tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, (2 * n + 3 * (size_t)off) * 4, 1, 1, 1,
                                    (int)n, &tdy));
            tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, (3 * n + 4 * (size_t)off) * 4, 1, 1, 1,
                                    (int)n, &tdx));
            tu_ok(clcnn_tensor_write(tx, x, n));
            tu_ok(clcnn_tensor_write(tdy, dy, n));
            char what[96];
            snprintf(what, sizeof what, "%s forward at offset %d", act_names[act], off);
            tu_ok(clcnn_act_forward(tu_ctx(), (clcnn_activation)act, alpha, tx, ty));
            float *y = tu_read(ty);
            tu_compare(what, seed, y, y_ref, n, TOL_ELEMENTWISE_RTOL, TOL_ELEMENTWISE_ATOL);
            snprintf(what, sizeof what, "%s backward at offset %d", act_names[act], off);
            tu_ok(clcnn_act_backward(tu_ctx(), (clcnn_activation)act, alpha, tx, ty, tdy, tdx));
            float *dx = tu_read(tdx);
            tu_compare(what, seed, dx, dx_ref, n, TOL_ELEMENTWISE_RTOL, TOL_ELEMENTWISE_ATOL);
            /* nothing outside the outputs was written */
            float *all = tu_read(big);
            for (int i = 0; i < off; i++)
                ck_assert(isnan(all[i]));
            ck_assert(isnan(all[n + (size_t)off]) && isnan(all[4 * n + 4 * (size_t)off]));
            free(all);
            free(x);
            free(dy);
            free(xd);
            free(dyd);
            free(y_ref);
            free(dx_ref);
            free(y);
            free(dx);
            clcnn_tensor_destroy(tx);
            clcnn_tensor_destroy(ty);
            clcnn_tensor_destroy(tdy);
            clcnn_tensor_destroy(tdx);
            clcnn_tensor_destroy(big);
        }
}
END_TEST

/* Central differences in float64 prove the reference backward. */
START_TEST(test_reference_gradient)
{
    const size_t n = 200;
    for (int act = 0; act < 4; act++) {
        uint64_t seed = 31 + (uint64_t)act;
        tu_rng rng = tu_rng_make(seed);
        float *xf = tu_alloc(n * sizeof *xf);
        fill_input(&rng, act, xf, n);
        double *x = to_double(xf, n), *dy = tu_alloc(n * sizeof *dy);
        for (size_t i = 0; i < n; i++)
            dy[i] = tu_uniform(&rng, -1, 1);
        double *dx = tu_alloc(n * sizeof *dx), yp, ym, xp, xm;
        double alpha = act == CLCNN_ACT_LEAKY_RELU ? leaky_alpha : 0.0;
        act_ref_backward(act, alpha, x, dy, dx, n);
        const double h = 1e-5;
        size_t nonzero = 0;
        for (size_t i = 0; i < n; i++) {
            /* element-wise: only y[i] depends on x[i] */
            xp = x[i] + h;
            xm = x[i] - h;
            act_ref_forward(act, alpha, &xp, &yp, 1);
            act_ref_forward(act, alpha, &xm, &ym, 1);
            double num = dy[i] * (yp - ym) / (2 * h);
            nonzero += dx[i] != 0;
            ck_assert_msg(fabs(num - dx[i]) <=
                              TOL_GRADCHECK_ATOL + TOL_GRADCHECK_RTOL * fabs(num),
                          "%s (seed %llu): d/dx[%zu] at %.6g numeric %.9g, reference %.9g",
                          act_names[act], (unsigned long long)seed, i, x[i], num, dx[i]);
        }
        ck_assert_msg(nonzero > 0, "%s: the gradient is all zeros", act_names[act]);
        free(xf);
        free(x);
        free(dy);
        free(dx);
    }
}
END_TEST

START_TEST(test_invalid)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_tensor *a = tu_tensor(2, 3, 4, 5, NULL), *b = tu_tensor(2, 60, 1, 1, NULL);
    clcnn_tensor *c = tu_tensor(2, 3, 4, 5, NULL), *small = tu_tensor(1, 3, 4, 5, NULL);
    tu_ok(clcnn_tensor_fill(a, 0.5f));
    tu_ok(clcnn_tensor_fill(c, 0.25f));

    /* forward */
    ck_assert_int_eq(clcnn_act_forward(NULL, CLCNN_ACT_RELU, 0, a, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_act_forward(ctx, (clcnn_activation)9, 0, a, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("activation 9");
    tu_expect_status(clcnn_act_forward(ctx, (clcnn_activation)-1, 0, a, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_act_forward(ctx, CLCNN_ACT_LEAKY_RELU, NAN, a, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("alpha");
    tu_expect_status(clcnn_act_forward(ctx, CLCNN_ACT_LEAKY_RELU, INFINITY, a, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, NULL, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn_act_forward(ctx, CLCNN_ACT_TANH, 0, a, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn_act_forward(ctx, CLCNN_ACT_SIGMOID, 0, a, small), CLCNN_ERR_SHAPE);
    tu_expect_message("x (2, 3, 4, 5) and y (1, 3, 4, 5)");
    /* one count, another shape: fine (a flattening view) */
    tu_ok(clcnn_act_forward(ctx, CLCNN_ACT_SIGMOID, 0, a, b));

    /* a view shifted by one element overlaps partly: refused */
    clcnn_tensor *shifted = NULL, *big = tu_tensor(1, 1, 1, 130, NULL);
    cl_mem mem = clcnn_tensor_cl_mem(big, NULL);
    clcnn_tensor *lo = NULL;
    tu_ok(clcnn_tensor_wrap(ctx, mem, 0, 1, 1, 1, 120, &lo));
    tu_ok(clcnn_tensor_wrap(ctx, mem, 4, 1, 1, 1, 120, &shifted));
    tu_expect_status(clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, lo, shifted),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("partly overlaps");

    /* backward */
    ck_assert_int_eq(clcnn_act_backward(NULL, CLCNN_ACT_RELU, 0, a, b, c, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_act_backward(ctx, (clcnn_activation)4, 0, a, b, c, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, a, b, NULL, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy is NULL");
    tu_expect_status(clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, a, b, c, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx is NULL");
    tu_expect_status(clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, NULL, b, c, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn_act_backward(ctx, CLCNN_ACT_TANH, 0, a, NULL, c, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn_act_backward(ctx, CLCNN_ACT_TANH, 0, a, b, small, c),
                     CLCNN_ERR_SHAPE);
    tu_expect_message("dy (1, 3, 4, 5)");
    tu_expect_status(clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, small, b, c, a),
                     CLCNN_ERR_SHAPE);
    tu_expect_message("x (1, 3, 4, 5)");
    tu_expect_status(clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, a, small, c, b),
                     CLCNN_ERR_SHAPE); /* y is checked when given, even if unused */
    tu_expect_status(clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, lo, NULL, lo, shifted),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("partly overlaps");
    /* the operand an activation does not use may be NULL */
    tu_ok(clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, a, NULL, c, b));
    tu_ok(clcnn_act_backward(ctx, CLCNN_ACT_SIGMOID, 0, NULL, a, c, b));

    clcnn_tensor_destroy(a);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(c);
    clcnn_tensor_destroy(small);
    clcnn_tensor_destroy(lo);
    clcnn_tensor_destroy(shifted);
    clcnn_tensor_destroy(big);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("act");
    TCase *tc = tcase_create("forward_backward");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_forward_backward, 0, SHAPE_COUNT);
    tcase_add_loop_test(tc, test_in_place, 0, SHAPE_COUNT);
    tcase_add_test(tc, test_offsets);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradcheck");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_reference_gradient);
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
