/*
 * Element-wise add, its backward pass and axpy against the float64
 * reference on odd shapes (N = 1 too), in place and at unaligned offsets,
 * gradients summed from two paths, a central-difference check of the
 * reference backward, and the invalid-argument cases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "add_ref.h"
#include "clcnn_cl.h"
#include "runtime.h"
#include "testutil.h"
#include "tolerance.h"

static const int shapes[][4] = {
    {1, 1, 1, 1}, {1, 1, 1, 3}, {1, 1, 1, 5}, {1, 3, 5, 7},
    {2, 5, 9, 11}, {3, 7, 13, 13}, {1, 1, 1, 1027}, {5, 16, 7, 7},
};
enum { SHAPE_COUNT = sizeof shapes / sizeof shapes[0] };

static size_t count_of(const int *s)
{
    return (size_t)s[0] * s[1] * s[2] * s[3];
}

static double *to_double(const float *f, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

static clcnn_tensor *tensor_of(const int *s, const float *data)
{
    return tu_tensor(s[0], s[1], s[2], s[3], data);
}

/* y = a + b out of place, then in place over a and over b. */
START_TEST(test_forward)
{
    const int *s = shapes[_i];
    const size_t n = count_of(s);
    const uint64_t seed = 100 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    float *a = tu_alloc(n * sizeof *a), *b = tu_alloc(n * sizeof *b);
    tu_fill(&rng, a, n, -2, 2);
    tu_fill(&rng, b, n, -2, 2);
    double *ad = to_double(a, n), *bd = to_double(b, n), *y_ref = tu_alloc(n * sizeof *y_ref);
    add_ref_forward(ad, bd, y_ref, n);
    char what[96];
    for (int mode = 0; mode < 3; mode++) { /* 0 out of place, 1 y = a, 2 y = b */
        clcnn_tensor *ta = tensor_of(s, a), *tb = tensor_of(s, b);
        clcnn_tensor *ty = mode == 0 ? tensor_of(s, NULL) : mode == 1 ? ta : tb;
        if (mode == 0)
            tu_ok(clcnn_tensor_fill(ty, NAN));
        tu_ok(clcnn_add_forward(tu_ctx(), ta, tb, ty));
        float *y = tu_read(ty);
        snprintf(what, sizeof what, "add forward (%d,%d,%d,%d)%s", s[0], s[1], s[2], s[3],
                 mode == 0 ? "" : mode == 1 ? " into a" : " into b");
        tu_compare(what, seed, y, y_ref, n, TOL_ELEMENTWISE_RTOL, TOL_ELEMENTWISE_ATOL);
        free(y);
        if (mode == 0)
            clcnn_tensor_destroy(ty);
        clcnn_tensor_destroy(ta);
        clcnn_tensor_destroy(tb);
    }
    free(a);
    free(b);
    free(ad);
    free(bd);
    free(y_ref);
}
END_TEST

/* da = db = dy; either output NULL or dy itself. */
START_TEST(test_backward)
{
    const int *s = shapes[_i];
    const size_t n = count_of(s);
    const uint64_t seed = 200 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    float *dy = tu_alloc(n * sizeof *dy);
    tu_fill(&rng, dy, n, -1, 1);
    double *dyd = to_double(dy, n), *da_ref = tu_alloc(n * sizeof *da_ref);
    double *db_ref = tu_alloc(n * sizeof *db_ref);
    add_ref_backward(dyd, da_ref, db_ref, n);
    clcnn_tensor *tdy = tensor_of(s, dy), *tda = tensor_of(s, NULL), *tdb = tensor_of(s, NULL);
    char what[96];
    for (int mode = 0; mode < 4; mode++) { /* both, da only, db only, da = dy */
        tu_ok(clcnn_tensor_fill(tda, NAN));
        tu_ok(clcnn_tensor_fill(tdb, NAN));
        clcnn_tensor *da = mode == 2 ? NULL : mode == 3 ? tdy : tda;
        clcnn_tensor *db = mode == 1 ? NULL : tdb;
        tu_ok(clcnn_add_backward(tu_ctx(), tdy, da, db));
        float *got_a = tu_read(tda), *got_b = tu_read(tdb), *got_dy = tu_read(tdy);
        snprintf(what, sizeof what, "add backward (%d,%d,%d,%d) mode %d", s[0], s[1], s[2],
                 s[3], mode);
        if (mode == 0 || mode == 1)
            tu_compare(what, seed, got_a, da_ref, n, 0, 0);
        else /* not asked for: untouched */
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(isnan(got_a[i]), "%s: da[%zu] was written", what, i);
        if (mode != 1)
            tu_compare(what, seed, got_b, db_ref, n, 0, 0);
        else
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(isnan(got_b[i]), "%s: db[%zu] was written", what, i);
        tu_compare(what, seed, got_dy, da_ref, n, 0, 0); /* dy unchanged */
        free(got_a);
        free(got_b);
        free(got_dy);
    }
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tda);
    clcnn_tensor_destroy(tdb);
    free(dy);
    free(dyd);
    free(da_ref);
    free(db_ref);
}
END_TEST

/* y += alpha * x for several alphas, x a flattening view's shape. */
START_TEST(test_axpy)
{
    const int *s = shapes[_i];
    const size_t n = count_of(s);
    const uint64_t seed = 300 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    float *x = tu_alloc(n * sizeof *x), *y0 = tu_alloc(n * sizeof *y0);
    tu_fill(&rng, x, n, -2, 2);
    tu_fill(&rng, y0, n, -2, 2);
    static const float alphas[] = {1.0f, -0.5f, 2.75f, 0.0f};
    clcnn_tensor *tx = tu_tensor(s[0], s[1] * s[2] * s[3], 1, 1, x);
    char what[96];
    for (size_t ai = 0; ai < sizeof alphas / sizeof alphas[0]; ai++) {
        double *xd = to_double(x, n), *y_ref = to_double(y0, n);
        add_ref_axpy(alphas[ai], xd, y_ref, n);
        clcnn_tensor *ty = tensor_of(s, y0);
        tu_ok(clcnn_axpy(tu_ctx(), alphas[ai], tx, ty));
        float *y = tu_read(ty);
        snprintf(what, sizeof what, "axpy alpha %g (%d,%d,%d,%d)", (double)alphas[ai], s[0],
                 s[1], s[2], s[3]);
        tu_compare(what, seed, y, y_ref, n, TOL_ELEMENTWISE_RTOL, TOL_ELEMENTWISE_ATOL);
        free(y);
        free(xd);
        free(y_ref);
        clcnn_tensor_destroy(ty);
    }
    clcnn_tensor_destroy(tx);
    free(x);
    free(y0);
}
END_TEST

/*
 * A residual block's backward pass: the block's input feeds both the join
 * and the branch, so its gradient is the join's dy (written by
 * add_backward) plus the branch's (added by axpy), against their float64
 * sum.
 */
START_TEST(test_two_paths)
{
    const int s[4] = {2, 3, 5, 7};
    const size_t n = count_of(s);
    tu_rng rng = tu_rng_make(404);
    float *dy = tu_alloc(n * sizeof *dy), *dbranch = tu_alloc(n * sizeof *dbranch);
    tu_fill(&rng, dy, n, -1, 1);
    tu_fill(&rng, dbranch, n, -1, 1);
    double *ref = tu_alloc(n * sizeof *ref);
    for (size_t i = 0; i < n; i++)
        ref[i] = (double)dy[i] + (double)dbranch[i];
    clcnn_tensor *tdy = tensor_of(s, dy), *tbr = tensor_of(s, dbranch), *tda = tensor_of(s, NULL);
    tu_ok(clcnn_tensor_fill(tda, NAN));
    tu_ok(clcnn_add_backward(tu_ctx(), tdy, tda, NULL));
    tu_ok(clcnn_axpy(tu_ctx(), 1.0f, tbr, tda));
    float *da = tu_read(tda);
    tu_compare("gradient summed over two paths", 404, da, ref, n, TOL_ELEMENTWISE_RTOL,
               TOL_ELEMENTWISE_ATOL);
    free(da);
    free(dy);
    free(dbranch);
    free(ref);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tbr);
    clcnn_tensor_destroy(tda);
}
END_TEST

/* a, b, y and x at every offset modulo 4 inside one buffer (vload4 must not
 * assume 16-byte alignment); nothing outside the outputs is written. */
START_TEST(test_offsets)
{
    const size_t n = 103;
    for (int off = 1; off < 4; off++) {
        const uint64_t seed = 500 + (uint64_t)off;
        tu_rng rng = tu_rng_make(seed);
        float *a = tu_alloc(n * sizeof *a), *b = tu_alloc(n * sizeof *b);
        tu_fill(&rng, a, n, -1, 1);
        tu_fill(&rng, b, n, -1, 1);
        double *ad = to_double(a, n), *bd = to_double(b, n), *ref = tu_alloc(n * sizeof *ref);
        add_ref_forward(ad, bd, ref, n);
        clcnn_tensor *big = tu_tensor(1, 1, 1, (int)(3 * n + 16), NULL);
        tu_ok(clcnn_tensor_fill(big, NAN));
        cl_mem mem = clcnn_tensor_cl_mem(big, NULL);
        clcnn_tensor *ta, *tb, *ty;
        tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, (size_t)off * 4, 1, 1, 1, (int)n, &ta));
        tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, (n + 2 * (size_t)off) * 4, 1, 1, 1, (int)n, &tb));
        tu_ok(clcnn_tensor_wrap(tu_ctx(), mem, (2 * n + 3 * (size_t)off) * 4, 1, 1, 1, (int)n,
                                &ty));
        tu_ok(clcnn_tensor_write(ta, a, n));
        tu_ok(clcnn_tensor_write(tb, b, n));
        tu_ok(clcnn_add_forward(tu_ctx(), ta, tb, ty));
        float *y = tu_read(ty);
        tu_compare("add at offsets", seed, y, ref, n, TOL_ELEMENTWISE_RTOL,
                   TOL_ELEMENTWISE_ATOL);
        add_ref_axpy(-1.5, ad, ref, n);
        tu_ok(clcnn_axpy(tu_ctx(), -1.5f, ta, ty));
        free(y);
        y = tu_read(ty);
        tu_compare("axpy at offsets", seed, y, ref, n, TOL_ELEMENTWISE_RTOL,
                   TOL_ELEMENTWISE_ATOL);
        tu_ok(clcnn_add_backward(tu_ctx(), ta, tb, NULL)); /* b = a */
        float *all = tu_read(big);
        for (size_t i = 0; i < n; i++)
            ck_assert(all[n + 2 * (size_t)off + i] == a[i]);
        for (int i = 0; i < off; i++)
            ck_assert(isnan(all[i]));
        ck_assert(isnan(all[n + (size_t)off]) && isnan(all[2 * n + 2 * (size_t)off]) &&
                  isnan(all[3 * n + 3 * (size_t)off]));
        free(all);
        free(y);
        free(a);
        free(b);
        free(ad);
        free(bd);
        free(ref);
        clcnn_tensor_destroy(ta);
        clcnn_tensor_destroy(tb);
        clcnn_tensor_destroy(ty);
        clcnn_tensor_destroy(big);
    }
}
END_TEST

/* Central differences of L(a, b) = sum(dy * (a + b)) in float64 prove the
 * reference backward for both inputs. */
START_TEST(test_reference_gradient)
{
    const size_t n = 37;
    tu_rng rng = tu_rng_make(606);
    double a[37], b[37], dy[37], y[37], da[37], db[37];
    for (size_t i = 0; i < n; i++) {
        a[i] = tu_uniform(&rng, -2, 2);
        b[i] = tu_uniform(&rng, -2, 2);
        dy[i] = tu_uniform(&rng, -1, 1);
    }
    add_ref_backward(dy, da, db, n);
    const double h = 1e-5;
    for (int which = 0; which < 2; which++) {
        double *v = which ? b : a, *grad = which ? db : da;
        for (size_t i = 0; i < n; i++) {
            double keep = v[i], lp = 0, lm = 0;
            v[i] = keep + h;
            add_ref_forward(a, b, y, n);
            for (size_t o = 0; o < n; o++)
                lp += dy[o] * y[o];
            v[i] = keep - h;
            add_ref_forward(a, b, y, n);
            for (size_t o = 0; o < n; o++)
                lm += dy[o] * y[o];
            v[i] = keep;
            double num = (lp - lm) / (2 * h);
            ck_assert_msg(fabs(num - grad[i]) <=
                              TOL_GRADCHECK_ATOL + TOL_GRADCHECK_RTOL * fabs(num),
                          "add d/d%s[%zu]: numeric %.9g, reference %.9g", which ? "b" : "a", i,
                          num, grad[i]);
        }
    }
}
END_TEST

START_TEST(test_invalid)
{
    clcnn_context *ctx = tu_ctx();
    int y[4];
    char msg[256];
    ck_assert_int_eq(clcnn_add_output_shape((int[]){2, 3, 4, 5}, (int[]){2, 3, 4, 5}, y, msg,
                                            sizeof msg),
                     CLCNN_OK);
    ck_assert(y[0] == 2 && y[1] == 3 && y[2] == 4 && y[3] == 5);
    ck_assert_int_eq(clcnn_add_output_shape((int[]){2, 3, 4, 5}, (int[]){2, 3, 5, 4}, y, msg,
                                            sizeof msg),
                     CLCNN_ERR_SHAPE);
    ck_assert_msg(strstr(msg, "(2, 3, 4, 5)") && strstr(msg, "(2, 3, 5, 4)"), "%s", msg);
    ck_assert_int_eq(clcnn_add_output_shape((int[]){0, 3, 4, 5}, (int[]){0, 3, 4, 5}, y, msg,
                                            sizeof msg),
                     CLCNN_ERR_SHAPE);
    ck_assert_msg(strstr(msg, "invalid"), "%s", msg);
    ck_assert_int_eq(clcnn_add_output_shape(NULL, (int[]){1, 1, 1, 1}, y, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn_add_output_shape((int[]){1, 1, 1, 1}, (int[]){1, 1, 1, 1}, NULL, NULL,
                                            0),
                     CLCNN_ERR_INVALID_ARGUMENT);

    clcnn_tensor *a = tu_tensor(2, 3, 4, 5, NULL), *b = tu_tensor(2, 3, 4, 5, NULL);
    clcnn_tensor *c = tu_tensor(2, 3, 4, 5, NULL), *other = tu_tensor(2, 3, 5, 4, NULL);
    clcnn_tensor *flat = tu_tensor(2, 60, 1, 1, NULL), *small = tu_tensor(1, 1, 1, 7, NULL);
    clcnn_tensor *big = tu_tensor(1, 1, 1, 200, NULL), *part1, *part2;
    tu_ok(clcnn_tensor_fill(a, 1.0f));
    tu_ok(clcnn_tensor_fill(b, 2.0f));
    tu_ok(clcnn__tensor_slice(big, 0, 2, 3, 4, 5, &part1));
    tu_ok(clcnn__tensor_slice(big, 1, 2, 3, 4, 5, &part2)); /* overlaps part1 by 119 */

    ck_assert_int_eq(clcnn_add_forward(NULL, a, b, c), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_add_forward(ctx, NULL, b, c), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("a is NULL");
    tu_expect_status(clcnn_add_forward(ctx, a, NULL, c), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("b is NULL");
    tu_expect_status(clcnn_add_forward(ctx, a, b, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn_add_forward(ctx, a, other, c), CLCNN_ERR_SHAPE);
    tu_expect_message("clcnn_add_forward: add: a (2, 3, 4, 5) and b (2, 3, 5, 4)");
    tu_expect_status(clcnn_add_forward(ctx, a, b, flat), CLCNN_ERR_SHAPE);
    tu_expect_message("y has shape (2, 60, 1, 1) but a and b are (2, 3, 4, 5)");
    tu_expect_status(clcnn_add_forward(ctx, part1, b, part2), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y partly overlaps a");
    tu_ok(clcnn_add_forward(ctx, a, a, a)); /* y = 2a, all in place */

    ck_assert_int_eq(clcnn_add_backward(NULL, a, b, c), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_add_backward(ctx, NULL, b, c), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy is NULL");
    tu_expect_status(clcnn_add_backward(ctx, a, other, c), CLCNN_ERR_SHAPE);
    tu_expect_message("da has shape (2, 3, 5, 4) but dy is (2, 3, 4, 5)");
    tu_expect_status(clcnn_add_backward(ctx, a, b, other), CLCNN_ERR_SHAPE);
    tu_expect_message("db has shape");
    tu_expect_status(clcnn_add_backward(ctx, a, b, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("da overlaps db");
    tu_expect_status(clcnn_add_backward(ctx, part1, part2, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("da partly overlaps dy");
    tu_ok(clcnn_add_backward(ctx, a, NULL, NULL));
    tu_ok(clcnn_add_backward(ctx, a, a, b)); /* da is dy itself */

    ck_assert_int_eq(clcnn_axpy(NULL, 1.0f, a, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_axpy(ctx, 1.0f, NULL, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn_axpy(ctx, 1.0f, a, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn_axpy(ctx, NAN, a, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("alpha nan is not finite");
    tu_expect_status(clcnn_axpy(ctx, INFINITY, a, b), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_axpy(ctx, 1.0f, a, small), CLCNN_ERR_SHAPE);
    tu_expect_message("same element count");
    tu_expect_status(clcnn_axpy(ctx, 1.0f, a, a), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y overlaps x");
    tu_ok(clcnn_axpy(ctx, 1.0f, a, flat));

    clcnn_tensor *ts[] = {a, b, c, other, flat, small, part1, part2, big};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("add");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_forward, 0, SHAPE_COUNT);
    tcase_add_loop_test(tc, test_backward, 0, SHAPE_COUNT);
    tcase_add_loop_test(tc, test_axpy, 0, SHAPE_COUNT);
    tcase_add_test(tc, test_two_paths);
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
