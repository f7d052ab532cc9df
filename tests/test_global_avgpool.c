/*
 * Global average pooling: forward and backward against the float64
 * reference on odd shapes (N = 1 too, planes of one pixel and of more than a
 * work-group), at unaligned offsets, a central-difference check of the
 * reference backward, and the invalid-argument cases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn_cl.h"
#include "global_avgpool_ref.h"
#include "runtime.h"
#include "testutil.h"
#include "tolerance.h"

static const int shapes[][4] = {
    {1, 1, 1, 1}, {1, 1, 1, 3},  {1, 3, 5, 7},   {2, 5, 9, 11}, {3, 7, 13, 13},
    {1, 2, 1, 1027}, {5, 67, 7, 7}, {1, 33, 3, 3}, {7, 3, 28, 28},
};
enum { SHAPE_COUNT = sizeof shapes / sizeof shapes[0] };

static double *to_double(const float *f, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

START_TEST(test_forward_backward)
{
    const int *s = shapes[_i];
    const int N = s[0], C = s[1], H = s[2], W = s[3];
    const size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C;
    const uint64_t seed = 700 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    float *x = tu_alloc(nx * sizeof *x), *dy = tu_alloc(ny * sizeof *dy);
    tu_fill(&rng, x, nx, -2, 2);
    tu_fill(&rng, dy, ny, -1, 1);
    double *xd = to_double(x, nx), *dyd = to_double(dy, ny);
    double *y_ref = tu_alloc(ny * sizeof *y_ref), *dx_ref = tu_alloc(nx * sizeof *dx_ref);
    global_avgpool_ref_forward(N, C, H, W, xd, y_ref);
    global_avgpool_ref_backward(N, C, H, W, dyd, dx_ref);

    clcnn_tensor *tx = tu_tensor(N, C, H, W, x), *ty = tu_tensor(N, C, 1, 1, NULL);
    clcnn_tensor *tdy = tu_tensor(N, C, 1, 1, dy), *tdx = tu_tensor(N, C, H, W, NULL);
    tu_ok(clcnn_tensor_fill(ty, NAN));
    tu_ok(clcnn_tensor_fill(tdx, NAN));
    char what[96];
    snprintf(what, sizeof what, "global_avgpool forward (%d,%d,%d,%d)", N, C, H, W);
    tu_ok(clcnn_global_avgpool_forward(tu_ctx(), tx, ty));
    float *y = tu_read(ty);
    /* a mean of HW values of magnitude up to 2 */
    tu_compare(what, seed, y, y_ref, ny, TOL_REDUCTION_RTOL, tol_reduction_atol(H * W) * 2);
    snprintf(what, sizeof what, "global_avgpool backward (%d,%d,%d,%d)", N, C, H, W);
    tu_ok(clcnn_global_avgpool_backward(tu_ctx(), tdy, tdx));
    float *dx = tu_read(tdx);
    tu_compare(what, seed, dx, dx_ref, nx, TOL_POOL_RTOL, TOL_POOL_ATOL);

    /* the same as a window of the whole plane in clcnn_pool_forward */
    clcnn_pool_params p = {.mode = CLCNN_POOL_AVG_EXCLUDE_PAD, .window_h = H, .window_w = W};
    clcnn_tensor *tp = tu_tensor(N, C, 1, 1, NULL);
    tu_ok(clcnn_pool_forward(tu_ctx(), tx, tp, NULL, &p));
    float *yp = tu_read(tp);
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(fabsf(yp[i] - y[i]) <= 1e-5f * (1 + fabsf(y[i])),
                      "%s: y[%zu] = %g, avgpool(%dx%d) %g", what, i, (double)y[i], H, W,
                      (double)yp[i]);
    free(yp);
    clcnn_tensor_destroy(tp);

    free(y);
    free(dx);
    free(x);
    free(dy);
    free(xd);
    free(dyd);
    free(y_ref);
    free(dx_ref);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
}
END_TEST

/* x and dx at odd offsets inside one buffer (the float4 loads must not
 * assume alignment); nothing outside the outputs is written. */
START_TEST(test_offsets)
{
    const int N = 2, C = 3, H = 5, W = 7;
    const size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C;
    for (int off = 1; off < 4; off++) {
        const uint64_t seed = 800 + (uint64_t)off;
        tu_rng rng = tu_rng_make(seed);
        float *x = tu_alloc(nx * sizeof *x), *dy = tu_alloc(ny * sizeof *dy);
        tu_fill(&rng, x, nx, -1, 1);
        tu_fill(&rng, dy, ny, -1, 1);
        double *xd = to_double(x, nx), *dyd = to_double(dy, ny);
        double *y_ref = tu_alloc(ny * sizeof *y_ref), *dx_ref = tu_alloc(nx * sizeof *dx_ref);
        global_avgpool_ref_forward(N, C, H, W, xd, y_ref);
        global_avgpool_ref_backward(N, C, H, W, dyd, dx_ref);
        clcnn_tensor *big = tu_tensor(1, 1, 1, (int)(2 * nx + 2 * ny + 16), NULL);
        tu_ok(clcnn_tensor_fill(big, NAN));
        cl_mem mem = clcnn_tensor_cl_mem(big, NULL);
        size_t ox = (size_t)off, oy = ox + nx + 1, ody = oy + ny + 1, odx = ody + ny + 1;
        clcnn_tensor *tx, *ty, *tdy, *tdx;
        tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, ox * 4, N, C, H, W, &tx));
        tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, oy * 4, N, C, 1, 1, &ty));
        tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, ody * 4, N, C, 1, 1, &tdy));
        tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, odx * 4, N, C, H, W, &tdx));
        tu_ok(clcnn_tensor_write(tx, x, nx));
        tu_ok(clcnn_tensor_write(tdy, dy, ny));
        tu_ok(clcnn_global_avgpool_forward(tu_ctx(), tx, ty));
        tu_ok(clcnn_global_avgpool_backward(tu_ctx(), tdy, tdx));
        float *y = tu_read(ty), *dx = tu_read(tdx), *all = tu_read(big);
        tu_compare("global_avgpool forward at offsets", seed, y, y_ref, ny, TOL_REDUCTION_RTOL,
                   tol_reduction_atol(H * W));
        tu_compare("global_avgpool backward at offsets", seed, dx, dx_ref, nx, TOL_POOL_RTOL,
                   TOL_POOL_ATOL);
        ck_assert(isnan(all[0]) && isnan(all[oy - 1]) && isnan(all[ody - 1]) &&
                  isnan(all[odx - 1]) && isnan(all[odx + nx]));
        free(all);
        free(y);
        free(dx);
        free(x);
        free(dy);
        free(xd);
        free(dyd);
        free(y_ref);
        free(dx_ref);
        clcnn_tensor_destroy(tx);
        clcnn_tensor_destroy(ty);
        clcnn_tensor_destroy(tdy);
        clcnn_tensor_destroy(tdx);
        clcnn_tensor_destroy(big);
    }
}
END_TEST

/* Central differences of L(x) = sum(dy * gap(x)) in float64 prove the
 * reference backward. */
START_TEST(test_reference_gradient)
{
    enum { N = 2, C = 3, H = 3, W = 5, NX = N * C * H * W, NY = N * C };
    tu_rng rng = tu_rng_make(909);
    double x[NX], dy[NY], y[NY], dx[NX];
    for (int i = 0; i < NX; i++)
        x[i] = tu_uniform(&rng, -2, 2);
    for (int i = 0; i < NY; i++)
        dy[i] = tu_uniform(&rng, -1, 1);
    global_avgpool_ref_backward(N, C, H, W, dy, dx);
    const double h = 1e-5;
    for (int i = 0; i < NX; i++) {
        double keep = x[i], lp = 0, lm = 0;
        x[i] = keep + h;
        global_avgpool_ref_forward(N, C, H, W, x, y);
        for (int o = 0; o < NY; o++)
            lp += dy[o] * y[o];
        x[i] = keep - h;
        global_avgpool_ref_forward(N, C, H, W, x, y);
        for (int o = 0; o < NY; o++)
            lm += dy[o] * y[o];
        x[i] = keep;
        double num = (lp - lm) / (2 * h);
        ck_assert_msg(fabs(num - dx[i]) <= TOL_GRADCHECK_ATOL + TOL_GRADCHECK_RTOL * fabs(num),
                      "global_avgpool d/dx[%d]: numeric %.9g, reference %.9g", i, num, dx[i]);
    }
}
END_TEST

START_TEST(test_invalid)
{
    clcnn_context *ctx = tu_ctx();
    int y[4];
    char msg[256];
    ck_assert_int_eq(clcnn_global_avgpool_output_shape((int[]){3, 5, 7, 9}, y, msg, sizeof msg),
                     CLCNN_OK);
    ck_assert(y[0] == 3 && y[1] == 5 && y[2] == 1 && y[3] == 1);
    ck_assert_int_eq(clcnn_global_avgpool_output_shape((int[]){3, -5, 7, 9}, y, msg, sizeof msg),
                     CLCNN_ERR_SHAPE);
    ck_assert_msg(strstr(msg, "(3, -5, 7, 9) is invalid"), "%s", msg);
    ck_assert_int_eq(clcnn_global_avgpool_output_shape(NULL, y, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn_global_avgpool_output_shape((int[]){1, 1, 1, 1}, NULL, msg, sizeof msg),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(msg, "y_shape is NULL"), "%s", msg);

    clcnn_tensor *x = tu_tensor(2, 3, 4, 5, NULL), *yt = tu_tensor(2, 3, 1, 1, NULL);
    clcnn_tensor *bad = tu_tensor(2, 4, 1, 1, NULL), *big = tu_tensor(1, 1, 1, 200, NULL);
    clcnn_tensor *xs, *ys;
    tu_ok(clcnn_tensor_fill(x, 1.0f));
    tu_ok(clcnn__tensor_slice(big, 0, 2, 3, 4, 5, &xs));
    tu_ok(clcnn__tensor_slice(big, 100, 2, 3, 1, 1, &ys)); /* inside xs */

    ck_assert_int_eq(clcnn_global_avgpool_forward(NULL, x, yt), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_global_avgpool_forward(ctx, NULL, yt), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn_global_avgpool_forward(ctx, x, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn_global_avgpool_forward(ctx, x, bad), CLCNN_ERR_SHAPE);
    tu_expect_message("y has shape (2, 4, 1, 1) but pooling x gives (2, 3, 1, 1)");
    tu_expect_status(clcnn_global_avgpool_forward(ctx, xs, ys), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y overlaps x");
    ck_assert_int_eq(clcnn_global_avgpool_backward(NULL, yt, x), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_global_avgpool_backward(ctx, NULL, x), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy is NULL");
    tu_expect_status(clcnn_global_avgpool_backward(ctx, yt, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx is NULL");
    tu_expect_status(clcnn_global_avgpool_backward(ctx, bad, x), CLCNN_ERR_SHAPE);
    tu_expect_message("dy has shape (2, 4, 1, 1) but pooling dx gives (2, 3, 1, 1)");
    tu_expect_status(clcnn_global_avgpool_backward(ctx, ys, xs), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx overlaps dy");
    tu_ok(clcnn_global_avgpool_forward(ctx, x, yt));
    tu_ok(clcnn_global_avgpool_backward(ctx, yt, x));

    clcnn_tensor *ts[] = {x, yt, bad, xs, ys, big};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("global_avgpool");
    TCase *tc = tcase_create("forward_backward");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_forward_backward, 0, SHAPE_COUNT);
    tcase_add_test(tc, test_offsets);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradcheck");
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
