/*
 * Dropout: the device's mask bit for bit against the host reference of its
 * definition on odd shapes (N = 1 too), the same seed giving the same mask
 * and another seed another one, the kept fraction and the fraction of kept
 * neighbours within five standard deviations of 1 - p and (1 - p)^2,
 * inference (and p = 0) as the identity, p = 1 zeroing everything, the
 * backward pass as dy * mask / (1 - p), in place, a central-difference
 * check of the reference backward, and the invalid-argument cases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout_ref.h"
#include "runtime.h"
#include "testutil.h"
#include "tolerance.h"

static const int shapes[][4] = {
    {1, 1, 1, 1}, {1, 1, 1, 3}, {1, 3, 5, 7}, {2, 5, 9, 11}, {3, 7, 13, 13}, {1, 2, 1, 1027},
};
enum { SHAPE_COUNT = sizeof shapes / sizeof shapes[0] };

static const float probs[] = {0.1f, 0.5f, 0.9f, 0.3333f};
enum { PROB_COUNT = sizeof probs / sizeof probs[0] };

static double *to_double(const float *f, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

/* Forward and backward of every shape and p against the reference: the
 * same elements kept, each kept one scaled by 1 / (1 - p). */
START_TEST(test_against_reference)
{
    const int *s = shapes[_i];
    const size_t n = (size_t)s[0] * s[1] * s[2] * s[3];
    for (int pi = 0; pi < PROB_COUNT; pi++) {
        const uint64_t seed = 2000 + (uint64_t)_i * 10 + (uint64_t)pi;
        tu_rng rng = tu_rng_make(seed);
        float *x = tu_alloc(n * sizeof *x), *dy = tu_alloc(n * sizeof *dy);
        tu_fill_away_from_zero(&rng, x, n, -2, 2, 0.01f);
        tu_fill_away_from_zero(&rng, dy, n, -1, 1, 0.01f);
        const clcnn_dropout_params p = {.p = probs[pi], .seed = seed * 0x9E3779B97F4A7C15ull,
                                        .training = 1};
        double *xd = to_double(x, n), *dyd = to_double(dy, n);
        double *y_ref = tu_alloc(n * sizeof *y_ref), *dx_ref = tu_alloc(n * sizeof *dx_ref);
        dropout_ref_forward(p.seed, p.p, 1, xd, y_ref, n);
        dropout_ref_forward(p.seed, p.p, 1, dyd, dx_ref, n);
        clcnn_tensor *tx = tu_tensor(s[0], s[1], s[2], s[3], x);
        clcnn_tensor *ty = tu_tensor(s[0], s[1], s[2], s[3], NULL);
        clcnn_tensor *tdy = tu_tensor(s[0], s[1], s[2], s[3], dy);
        clcnn_tensor *tdx = tu_tensor(s[0], s[1], s[2], s[3], NULL);
        tu_ok(clcnn_tensor_fill(ty, NAN));
        tu_ok(clcnn_tensor_fill(tdx, NAN));
        tu_ok(clcnn_dropout_forward(tu_ctx(), tx, ty, &p));
        tu_ok(clcnn_dropout_backward(tu_ctx(), tdy, tdx, &p));
        float *y = tu_read(ty), *dx = tu_read(tdx);
        char what[128];
        snprintf(what, sizeof what, "dropout p %g (%d,%d,%d,%d)", (double)p.p, s[0], s[1], s[2],
                 s[3]);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            const int keep = dropout_ref_keep(p.seed, i, p.p);
            kept += keep;
            ck_assert_msg((y[i] != 0.0f) == keep && (dx[i] != 0.0f) == keep,
                          "%s: element %zu is %s by the reference, y %g, dx %g", what, i,
                          keep ? "kept" : "dropped", (double)y[i], (double)dx[i]);
        }
        if (kept > 0) { /* a single element may be dropped */
            tu_compare(what, seed, y, y_ref, n, TOL_ELEMENTWISE_RTOL, 0);
            tu_compare(what, seed, dx, dx_ref, n, TOL_ELEMENTWISE_RTOL, 0);
        }
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
}
END_TEST

/* The kept fraction, and the fraction of neighbours (i, i + 1) both kept,
 * within five binomial standard deviations; the same seed gives the same
 * bits, a seed one apart a mask that agrees only as chance would. */
START_TEST(test_statistics)
{
    const int n = 1 << 18;
    const clcnn_dropout_params base = {.p = probs[_i], .seed = 42, .training = 1};
    clcnn_tensor *tx = tu_tensor(1, 1, 1, n, NULL), *ty = tu_tensor(1, 1, 1, n, NULL);
    clcnn_tensor *ty2 = tu_tensor(1, 1, 1, n, NULL);
    tu_ok(clcnn_tensor_fill(tx, 1.0f));
    tu_ok(clcnn_dropout_forward(tu_ctx(), tx, ty, &base));
    tu_ok(clcnn_dropout_forward(tu_ctx(), tx, ty2, &base));
    float *y = tu_read(ty), *y2 = tu_read(ty2);
    ck_assert_mem_eq(y, y2, (size_t)n * sizeof *y);
    const double q = 1.0 - base.p; /* keep probability */
    long kept = 0, pairs = 0;
    for (int i = 0; i < n; i++) {
        kept += y[i] != 0.0f;
        if (i + 1 < n)
            pairs += y[i] != 0.0f && y[i + 1] != 0.0f;
    }
    const double sd = sqrt(n * q * (1 - q)), q2 = q * q, sd2 = sqrt((n - 1) * q2 * (1 - q2));
    ck_assert_msg(fabs(kept - n * q) <= 5 * sd, "p %g: %ld of %d kept, expected %.0f +- %.0f",
                  (double)base.p, kept, n, n * q, 5 * sd);
    /* pairs overlap, so their count varies more than a binomial: 3x slack */
    ck_assert_msg(fabs(pairs - (n - 1) * q2) <= 15 * sd2,
                  "p %g: %ld neighbour pairs kept, expected %.0f", (double)base.p, pairs,
                  (n - 1) * q2);
    /* the kept value is 1 / (1 - p) in float */
    const float scale = (float)(1.0 / (1.0 - (double)base.p));
    for (int i = 0; i < n; i++)
        ck_assert(y[i] == 0.0f || y[i] == scale);

    clcnn_dropout_params other = base;
    other.seed = base.seed + 1;
    tu_ok(clcnn_dropout_forward(tu_ctx(), tx, ty2, &other));
    free(y2);
    y2 = tu_read(ty2);
    long agree = 0;
    for (int i = 0; i < n; i++)
        agree += (y[i] != 0.0f) == (y2[i] != 0.0f);
    const double pa = q * q + (1 - q) * (1 - q), sda = sqrt(n * pa * (1 - pa));
    ck_assert_msg(fabs(agree - n * pa) <= 5 * sda,
                  "p %g: seeds 42 and 43 agree on %ld of %d elements, expected %.0f",
                  (double)base.p, agree, n, n * pa);
    free(y);
    free(y2);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(ty2);
}
END_TEST

/* Inference and p = 0 are the identity, bit for bit, in place too; p = 1
 * zeroes everything, infinities included; in-place training equals
 * out-of-place. */
START_TEST(test_identity_and_extremes)
{
    const int s[4] = {3, 7, 13, 13};
    const size_t n = (size_t)s[0] * s[1] * s[2] * s[3];
    tu_rng rng = tu_rng_make(2100);
    float *x = tu_alloc(n * sizeof *x);
    tu_fill(&rng, x, n, -3, 3);
    x[5] = INFINITY;
    clcnn_tensor *tx = tu_tensor(s[0], s[1], s[2], s[3], x);
    clcnn_tensor *ty = tu_tensor(s[0], s[1], s[2], s[3], NULL);
    const clcnn_dropout_params cases[] = {
        {.p = 0.5f, .seed = 7, .training = 0},
        {.p = 0.0f, .seed = 7, .training = 1},
        {.p = 1.0f, .seed = 7, .training = 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tu_ok(clcnn_tensor_fill(ty, NAN));
        tu_ok(clcnn_dropout_forward(tu_ctx(), tx, ty, &cases[c]));
        float *y = tu_read(ty);
        ck_assert_mem_eq(y, x, n * sizeof *x);
        free(y);
        tu_ok(clcnn_dropout_backward(tu_ctx(), tx, ty, &cases[c]));
        y = tu_read(ty);
        ck_assert_mem_eq(y, x, n * sizeof *x);
        free(y);
        tu_ok(clcnn_dropout_forward(tu_ctx(), tx, tx, &cases[c]));
        y = tu_read(tx);
        ck_assert_mem_eq(y, x, n * sizeof *x);
        free(y);
    }
    const clcnn_dropout_params all = {.p = 1.0f, .seed = 7, .training = 1};
    tu_ok(clcnn_dropout_forward(tu_ctx(), tx, ty, &all));
    float *y = tu_read(ty);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(y[i] == 0.0f, "p 1: y[%zu] = %g", i, (double)y[i]);
    free(y);

    const clcnn_dropout_params half = {.p = 0.5f, .seed = 0xFFFFFFFFFFFFFFFFull, .training = 1};
    tu_ok(clcnn_dropout_forward(tu_ctx(), tx, ty, &half));
    tu_ok(clcnn_dropout_forward(tu_ctx(), tx, tx, &half));
    float *a = tu_read(ty), *b = tu_read(tx);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    for (size_t i = 0; i < n; i++)
        ck_assert(a[i] == (dropout_ref_keep(half.seed, i, 0.5) ? x[i] * 2.0f : 0.0f));
    free(a);
    free(b);
    free(x);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
}
END_TEST

/* Central differences of L(x) = sum(dy * dropout(x)) in float64, the mask
 * fixed by the seed, prove the reference backward (dy * mask / (1 - p)). */
START_TEST(test_reference_gradient)
{
    enum { N = 61 };
    tu_rng rng = tu_rng_make(2200);
    const uint64_t seed = 99;
    const double p = 0.4;
    double x[N], dy[N], y[N], dx[N];
    for (int i = 0; i < N; i++) {
        x[i] = tu_uniform(&rng, -2, 2);
        dy[i] = tu_uniform(&rng, -1, 1);
    }
    dropout_ref_forward(seed, p, 1, dy, dx, N);
    int kept = 0;
    const double h = 1e-5;
    for (int i = 0; i < N; i++) {
        double keep = x[i], lp = 0, lm = 0;
        x[i] = keep + h;
        dropout_ref_forward(seed, p, 1, x, y, N);
        for (int o = 0; o < N; o++)
            lp += dy[o] * y[o];
        x[i] = keep - h;
        dropout_ref_forward(seed, p, 1, x, y, N);
        for (int o = 0; o < N; o++)
            lm += dy[o] * y[o];
        x[i] = keep;
        double num = (lp - lm) / (2 * h);
        kept += dx[i] != 0;
        ck_assert_msg(fabs(num - dx[i]) <= TOL_GRADCHECK_ATOL + TOL_GRADCHECK_RTOL * fabs(num),
                      "dropout d/dx[%d]: numeric %.9g, reference %.9g", i, num, dx[i]);
    }
    ck_assert(kept > 0 && kept < N);
}
END_TEST

START_TEST(test_invalid)
{
    clcnn_context *ctx = tu_ctx();
    const clcnn_dropout_params ok = {.p = 0.5f, .seed = 1, .training = 1};
    int y[4];
    char msg[256];
    ck_assert_int_eq(clcnn_dropout_output_shape((int[]){2, 3, 4, 5}, &ok, y, msg, sizeof msg),
                     CLCNN_OK);
    ck_assert(y[0] == 2 && y[1] == 3 && y[2] == 4 && y[3] == 5);
    static const float bad_p[] = {-0.1f, 1.5f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_p / sizeof bad_p[0]; i++) {
        clcnn_dropout_params p = ok;
        p.p = bad_p[i];
        ck_assert_int_eq(clcnn_dropout_output_shape((int[]){2, 3, 4, 5}, &p, y, msg, sizeof msg),
                         CLCNN_ERR_INVALID_ARGUMENT);
        ck_assert_msg(strstr(msg, "must be in [0, 1]"), "%s", msg);
    }
    ck_assert_int_eq(clcnn_dropout_output_shape((int[]){2, 0, 4, 5}, &ok, y, msg, sizeof msg),
                     CLCNN_ERR_SHAPE);
    ck_assert_msg(strstr(msg, "(2, 0, 4, 5) is invalid"), "%s", msg);
    ck_assert_int_eq(clcnn_dropout_output_shape((int[]){2, 3, 4, 5}, NULL, y, msg, sizeof msg),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(msg, "params is NULL"), "%s", msg);

    clcnn_tensor *x = tu_tensor(2, 3, 4, 5, NULL), *yt = tu_tensor(2, 3, 4, 5, NULL);
    clcnn_tensor *other = tu_tensor(2, 3, 5, 4, NULL), *big = tu_tensor(1, 1, 1, 200, NULL);
    clcnn_tensor *a, *b;
    tu_ok(clcnn_tensor_fill(x, 1.0f));
    tu_ok(clcnn__tensor_slice(big, 0, 2, 3, 4, 5, &a));
    tu_ok(clcnn__tensor_slice(big, 60, 2, 3, 4, 5, &b));
    const clcnn_dropout_params bad = {.p = 2.0f};
    ck_assert_int_eq(clcnn_dropout_forward(NULL, x, yt, &ok), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_dropout_forward(ctx, NULL, yt, &ok), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn_dropout_forward(ctx, x, NULL, &ok), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn_dropout_forward(ctx, x, yt, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("clcnn_dropout_forward: dropout: params is NULL");
    tu_expect_status(clcnn_dropout_forward(ctx, x, yt, &bad), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("p 2 must be in [0, 1]");
    tu_expect_status(clcnn_dropout_forward(ctx, x, other, &ok), CLCNN_ERR_SHAPE);
    tu_expect_message("y has shape (2, 3, 5, 4) but x is (2, 3, 4, 5)");
    tu_expect_status(clcnn_dropout_forward(ctx, a, b, &ok), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y partly overlaps x");
    ck_assert_int_eq(clcnn_dropout_backward(NULL, x, yt, &ok), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_dropout_backward(ctx, NULL, yt, &ok), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy is NULL");
    tu_expect_status(clcnn_dropout_backward(ctx, x, NULL, &ok), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx is NULL");
    tu_expect_status(clcnn_dropout_backward(ctx, x, other, &ok), CLCNN_ERR_SHAPE);
    tu_expect_message("dx has shape (2, 3, 5, 4) but dy is (2, 3, 4, 5)");
    tu_expect_status(clcnn_dropout_backward(ctx, b, a, &bad), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("clcnn_dropout_backward: dropout: p 2");
    tu_expect_status(clcnn_dropout_backward(ctx, b, a, &ok), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx partly overlaps dy");
    tu_ok(clcnn_dropout_backward(ctx, x, x, &ok));

    clcnn_tensor *ts[] = {x, yt, other, big, a, b};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("dropout");
    TCase *tc = tcase_create("mask");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_against_reference, 0, SHAPE_COUNT);
    tcase_add_loop_test(tc, test_statistics, 0, PROB_COUNT);
    tcase_add_test(tc, test_identity_and_extremes);
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
