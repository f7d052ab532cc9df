/*
 * Softmax over channels: forward and backward against the float64
 * reference (whose backward uses the full Jacobian), large logits, in-place
 * use, a central-difference check of the reference backward, and the
 * invalid-argument table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn_cl.h"
#include "softmax_ref.h"
#include "testutil.h"
#include "tolerance.h"

static const int shapes[][4] = {
    {1, 1, 1, 1},  {1, 2, 1, 1}, {2, 10, 1, 1}, {3, 7, 5, 4},
    {1, 3, 13, 13}, {5, 84, 1, 1}, {2, 1000, 1, 1}, {2, 16, 3, 1},
};
enum { SHAPE_COUNT = sizeof shapes / sizeof shapes[0] };

static double *to_double(const float *f, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

static size_t count_of(const int *s)
{
    return (size_t)s[0] * s[1] * s[2] * s[3];
}

/* Forward and backward of one shape, logits drawn from [lo, hi). */
static void run_case(const int *s, float lo, float hi, int in_place, uint64_t seed)
{
    tu_rng rng = tu_rng_make(seed);
    size_t n = count_of(s);
    float *x = tu_alloc(n * sizeof *x), *dy = tu_alloc(n * sizeof *dy);
    tu_fill(&rng, x, n, lo, hi);
    tu_fill(&rng, dy, n, -1, 1);
    double *xd = to_double(x, n), *dyd = to_double(dy, n);
    double *y_ref = tu_alloc(n * sizeof *y_ref), *dx_ref = tu_alloc(n * sizeof *dx_ref);
    softmax_ref_forward(s[0], s[1], s[2], s[3], xd, y_ref);

    clcnn_tensor *tx = tu_tensor(s[0], s[1], s[2], s[3], x);
    clcnn_tensor *ty = in_place ? tx : tu_tensor(s[0], s[1], s[2], s[3], NULL);
    clcnn_tensor *tdy = tu_tensor(s[0], s[1], s[2], s[3], dy);
    clcnn_tensor *tdx = in_place ? tdy : tu_tensor(s[0], s[1], s[2], s[3], NULL);
    if (!in_place) {
        tu_ok(clcnn_tensor_fill(ty, NAN));
        tu_ok(clcnn_tensor_fill(tdx, NAN));
    }
    char what[128];
    snprintf(what, sizeof what, "softmax forward (%d,%d,%d,%d) logits [%g,%g)%s", s[0], s[1],
             s[2], s[3], lo, hi, in_place ? " in place" : "");
    tu_ok(clcnn_softmax_forward(tu_ctx(), tx, ty));
    float *y = tu_read(ty);
    tu_compare(what, seed, y, y_ref, n, TOL_SOFTMAX_RTOL, TOL_SOFTMAX_ATOL);

    /* The backward pass takes the device's y, as training does; the
     * reference backward gets the same y so only the backward is compared. */
    double *yd = to_double(y, n);
    softmax_ref_backward(s[0], s[1], s[2], s[3], yd, dyd, dx_ref);
    snprintf(what, sizeof what, "softmax backward (%d,%d,%d,%d)%s", s[0], s[1], s[2], s[3],
             in_place ? " in place" : "");
    tu_ok(clcnn_softmax_backward(tu_ctx(), ty, tdy, tdx));
    float *dx = tu_read(tdx);
    if (s[1] == 1) {
        /* one channel: y == 1 and the gradient vanishes exactly */
        for (size_t i = 0; i < n; i++)
            ck_assert_float_eq(dx[i], 0.0f);
    } else {
        tu_compare(what, seed, dx, dx_ref, n, TOL_SOFTMAX_RTOL, TOL_SOFTMAX_ATOL);
    }

    free(x);
    free(dy);
    free(xd);
    free(dyd);
    free(yd);
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
}

START_TEST(test_forward_backward)
{
    run_case(shapes[_i], -4, 4, 0, 300 + (uint64_t)_i);
    run_case(shapes[_i], -4, 4, 1, 400 + (uint64_t)_i);
}
END_TEST

/* Logits around +1000 and -1000 overflow a naive exp(); the stable form
 * stays finite and matches the reference. */
START_TEST(test_large_logits)
{
    const int s[4] = {3, 10, 2, 2};
    run_case(s, 990, 1010, 0, 51);
    run_case(s, -1010, -990, 0, 52);
    run_case(s, 60, 100, 1, 53);

    /* two equal huge logits and a much smaller one: exactly 0.5, 0.5, 0 */
    float x[3] = {1000.0f, 1000.0f, -1000.0f};
    clcnn_tensor *t = tu_tensor(1, 3, 1, 1, x);
    tu_ok(clcnn_softmax_forward(tu_ctx(), t, t));
    float *y = tu_read(t);
    ck_assert_float_eq(y[0], 0.5f);
    ck_assert_float_eq(y[1], 0.5f);
    ck_assert_float_eq(y[2], 0.0f);
    free(y);
    clcnn_tensor_destroy(t);
}
END_TEST

/* Tensors at element offsets inside one buffer (as an arena lays them out). */
START_TEST(test_offsets)
{
    const int s[4] = {2, 5, 3, 2};
    const size_t n = 60;
    uint64_t seed = 71;
    tu_rng rng = tu_rng_make(seed);
    float x[60], dy[60];
    tu_fill(&rng, x, n, -3, 3);
    tu_fill(&rng, dy, n, -1, 1);
    double *xd = to_double(x, n), *dyd = to_double(dy, n);
    double *y_ref = tu_alloc(n * sizeof *y_ref), *dx_ref = tu_alloc(n * sizeof *dx_ref);
    softmax_ref_forward(s[0], s[1], s[2], s[3], xd, y_ref);
    clcnn_tensor *big = tu_tensor(1, 1, 1, 4 * 60 + 20, NULL);
    tu_ok(clcnn_tensor_fill(big, NAN));
    cl_mem mem = clcnn_tensor_cl_mem(big, NULL);
    clcnn_tensor *tx, *ty, *tdy, *tdx;
    tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, 1 * 4, s[0], s[1], s[2], s[3], &tx));
    tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, 67 * 4, s[0], s[1], s[2], s[3], &ty));
    tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, 131 * 4, s[0], s[1], s[2], s[3], &tdy));
    tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, 195 * 4, s[0], s[1], s[2], s[3], &tdx));
    tu_ok(clcnn_tensor_write(tx, x, n));
    tu_ok(clcnn_tensor_write(tdy, dy, n));
    tu_ok(clcnn_softmax_forward(tu_ctx(), tx, ty));
    float *y = tu_read(ty);
    tu_compare("softmax forward at offsets", seed, y, y_ref, n, TOL_SOFTMAX_RTOL,
               TOL_SOFTMAX_ATOL);
    double *yd = to_double(y, n);
    softmax_ref_backward(s[0], s[1], s[2], s[3], yd, dyd, dx_ref);
    tu_ok(clcnn_softmax_backward(tu_ctx(), ty, tdy, tdx));
    float *dx = tu_read(tdx);
    tu_compare("softmax backward at offsets", seed, dx, dx_ref, n, TOL_SOFTMAX_RTOL,
               TOL_SOFTMAX_ATOL);
    float *all = tu_read(big);
    ck_assert(isnan(all[0]) && isnan(all[61]) && isnan(all[66]) && isnan(all[127]) &&
              isnan(all[255]) && isnan(all[259]));
    free(all);
    free(y);
    free(dx);
    free(xd);
    free(dyd);
    free(yd);
    free(y_ref);
    free(dx_ref);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
    clcnn_tensor_destroy(big);
}
END_TEST

/* Central differences of L(x) = sum(dy * softmax(x)) in float64 prove the
 * reference backward. */
START_TEST(test_reference_gradient)
{
    const int N = 2, C = 5, H = 2, W = 3;
    const size_t n = (size_t)N * C * H * W;
    uint64_t seed = 61;
    tu_rng rng = tu_rng_make(seed);
    double *x = tu_alloc(n * sizeof *x), *dy = tu_alloc(n * sizeof *dy);
    double *y = tu_alloc(n * sizeof *y), *dx = tu_alloc(n * sizeof *dx);
    for (size_t i = 0; i < n; i++) {
        x[i] = tu_uniform(&rng, -3, 3);
        dy[i] = tu_uniform(&rng, -1, 1);
    }
    softmax_ref_forward(N, C, H, W, x, y);
    softmax_ref_backward(N, C, H, W, y, dy, dx);
    const double h = 1e-5;
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i], lp = 0, lm = 0;
        x[i] = keep + h;
        softmax_ref_forward(N, C, H, W, x, y);
        for (size_t o = 0; o < n; o++)
            lp += dy[o] * y[o];
        x[i] = keep - h;
        softmax_ref_forward(N, C, H, W, x, y);
        for (size_t o = 0; o < n; o++)
            lm += dy[o] * y[o];
        x[i] = keep;
        double num = (lp - lm) / (2 * h);
        nonzero += dx[i] != 0;
        ck_assert_msg(fabs(num - dx[i]) <= TOL_GRADCHECK_ATOL + TOL_GRADCHECK_RTOL * fabs(num),
                      "softmax (seed %llu): d/dx[%zu] numeric %.9g, reference %.9g",
                      (unsigned long long)seed, i, num, dx[i]);
    }
    ck_assert_msg(nonzero > 0, "softmax: the gradient is all zeros");
    free(x);
    free(dy);
    free(y);
    free(dx);
}
END_TEST

START_TEST(test_invalid)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_tensor *a = tu_tensor(2, 10, 1, 1, NULL), *b = tu_tensor(2, 10, 1, 1, NULL);
    clcnn_tensor *c = tu_tensor(2, 10, 1, 1, NULL), *flat = tu_tensor(1, 20, 1, 1, NULL);
    tu_ok(clcnn_tensor_fill(a, 0.5f));
    tu_ok(clcnn_tensor_fill(c, 0.1f));

    ck_assert_int_eq(clcnn_softmax_forward(NULL, a, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_softmax_forward(ctx, NULL, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn_softmax_forward(ctx, a, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    /* same count, other channel count: refused, the channel axis matters */
    tu_expect_status(clcnn_softmax_forward(ctx, a, flat), CLCNN_ERR_SHAPE);
    tu_expect_message("y has shape (1, 20, 1, 1) but x is (2, 10, 1, 1)");

    clcnn_tensor *big = tu_tensor(1, 1, 1, 64, NULL), *lo = NULL, *shifted = NULL;
    cl_mem mem = clcnn_tensor_cl_mem(big, NULL);
    tu_ok(clcnn_tensor_wrap(ctx, mem, 0, 2, 10, 1, 1, &lo));
    tu_ok(clcnn_tensor_wrap(ctx, mem, 8, 2, 10, 1, 1, &shifted));
    tu_expect_status(clcnn_softmax_forward(ctx, lo, shifted), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("partly overlaps");

    ck_assert_int_eq(clcnn_softmax_backward(NULL, a, c, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_softmax_backward(ctx, NULL, c, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn_softmax_backward(ctx, a, NULL, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy is NULL");
    tu_expect_status(clcnn_softmax_backward(ctx, a, c, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx is NULL");
    tu_expect_status(clcnn_softmax_backward(ctx, a, flat, b), CLCNN_ERR_SHAPE);
    tu_expect_message("dy has shape (1, 20, 1, 1)");
    tu_expect_status(clcnn_softmax_backward(ctx, a, c, flat), CLCNN_ERR_SHAPE);
    tu_expect_message("dx has shape (1, 20, 1, 1)");
    tu_expect_status(clcnn_softmax_backward(ctx, lo, c, shifted), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx partly overlaps y");
    tu_expect_status(clcnn_softmax_backward(ctx, a, lo, shifted), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx partly overlaps dy");
    /* in place on dy is allowed */
    tu_ok(clcnn_softmax_backward(ctx, a, c, c));

    clcnn_tensor_destroy(a);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(c);
    clcnn_tensor_destroy(flat);
    clcnn_tensor_destroy(lo);
    clcnn_tensor_destroy(shifted);
    clcnn_tensor_destroy(big);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("softmax");
    TCase *tc = tcase_create("forward_backward");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_forward_backward, 0, SHAPE_COUNT);
    tcase_add_test(tc, test_large_logits);
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
