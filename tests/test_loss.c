/*
 * Softmax cross-entropy: the device loss and dlogits against the float64
 * reference over a table of batch and class counts with large logits, the
 * reference gradient against central differences, NULL outputs, in-place
 * use, tensors at buffer offsets, invalid labels and an invalid-argument table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn_cl.h"
#include "loss.h"
#include "loss_ref.h"
#include "runtime.h"
#include "testutil.h"
#include "tolerance.h"

/* Random logits in [-5, 5); every third row scaled to about +-80 and, when
 * the batch has one, a row holding a 1000.0 among moderate values, so the
 * max subtraction matters. Labels are uniform over 0..K-1. */
static void make_batch(uint64_t seed, int n, int k, float *logits, float *labels)
{
    tu_rng rng = tu_rng_make(seed);
    tu_fill(&rng, logits, (size_t)n * k, -5.0f, 5.0f);
    for (int i = 0; i < n; i++) {
        labels[i] = (float)(int)tu_uniform(&rng, 0, k);
        if (labels[i] >= (float)k)
            labels[i] = (float)(k - 1);
        if (i % 3 == 1)
            for (int j = 0; j < k; j++)
                logits[(size_t)i * k + j] *= 16.0f;
    }
    if (n > 2) {
        /* the label is elsewhere, so this row's loss is about 1000 */
        int j = k > 1 ? ((int)labels[2] + 1) % k : 0;
        logits[(size_t)2 * k + j] = 1000.0f;
    }
}

static const struct {
    int n, k;
} cases[] = {
    {1, 1}, {1, 10}, {1, 1000}, {2, 3}, {3, 7}, {5, 13}, {64, 10}, {17, 1000},
    {128, 1001}, {1024, 10}, {255, 97}, {1000, 1},
};

/* Device loss and dlogits against the reference, both outputs at once. */
START_TEST(test_forward_backward)
{
    const int n = cases[_i].n, k = cases[_i].k;
    const uint64_t seed = 1000 + (uint64_t)_i;
    size_t count = (size_t)n * k;
    float *x = tu_alloc(count * sizeof *x), *labels = tu_alloc((size_t)n * sizeof *labels);
    double *ref_d = tu_alloc(count * sizeof *ref_d);
    make_batch(seed, n, k, x, labels);
    double ref_loss = loss_ref_softmax_xent(x, labels, n, k, ref_d);
    ck_assert_msg(isfinite(ref_loss), "reference loss is not finite");

    clcnn_tensor *tx = tu_tensor(n, k, 1, 1, x), *tl = tu_tensor(n, 1, 1, 1, labels);
    clcnn_tensor *td = tu_tensor(n, k, 1, 1, NULL), *tloss = tu_tensor(1, 1, 1, 1, NULL);
    tu_ok(clcnn_softmax_cross_entropy(tu_ctx(), tx, tl, td, tloss));
    float *d = tu_read(td), got_loss, again;
    tu_ok(clcnn_tensor_read(tloss, &got_loss, 1));
    /* a fixed reduction order: the same bits on every run */
    tu_ok(clcnn_softmax_cross_entropy(tu_ctx(), tx, tl, NULL, tloss));
    tu_ok(clcnn_tensor_read(tloss, &again, 1));
    ck_assert_msg(memcmp(&got_loss, &again, sizeof again) == 0, "loss %.9g, then %.9g",
                  (double)got_loss, (double)again);

    char what[64];
    snprintf(what, sizeof what, "loss N=%d K=%d", n, k);
    if (k == 1) {
        /* one class: the loss and its gradient are exactly zero */
        ck_assert_msg(got_loss == 0.0f, "%s: got %g, want 0", what, (double)got_loss);
        for (size_t i = 0; i < count; i++)
            ck_assert_msg(d[i] == 0.0f, "dlogits[%zu] = %g, want 0", i, (double)d[i]);
    } else {
        tu_compare(what, seed, &got_loss, &ref_loss, 1, TOL_LOSS_RTOL, TOL_LOSS_ATOL);
        snprintf(what, sizeof what, "dlogits N=%d K=%d", n, k);
        tu_compare(what, seed, d, ref_d, count, TOL_LOSS_RTOL, TOL_LOSS_DLOGITS_ATOL / n);
    }
    free(d);
    free(x);
    free(labels);
    free(ref_d);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tl);
    clcnn_tensor_destroy(td);
    clcnn_tensor_destroy(tloss);
}
END_TEST

/* Every launch geometry the op may choose (GPUs use teams of lanes per row)
 * computes the same thing, here on whatever device runs the tests; dlogits
 * is written in place to show that a team reads a row before writing it. */
START_TEST(test_geometries)
{
    static const size_t geometry[][2] = {{1, 1}, {16, 1}, {64, 4}, {128, 8}, {32, 32}, {256, 32}};
    static const int shapes[][2] = {{1, 10}, {5, 13}, {64, 10}, {17, 1000}, {300, 7}};
    const size_t wg = geometry[_i][0], team = geometry[_i][1];
    if (wg > tu_ctx()->max_work_group_size)
        return;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s][0], k = shapes[s][1];
        const uint64_t seed = 6000 + 10 * (uint64_t)_i + s;
        size_t count = (size_t)n * k;
        float *x = tu_alloc(count * sizeof *x), *labels = tu_alloc((size_t)n * sizeof *labels);
        double *ref_d = tu_alloc(count * sizeof *ref_d);
        make_batch(seed, n, k, x, labels);
        double ref_loss = loss_ref_softmax_xent(x, labels, n, k, ref_d);
        clcnn_tensor *tx = tu_tensor(n, k, 1, 1, x), *tl = tu_tensor(n, 1, 1, 1, labels);
        clcnn_tensor *tloss = tu_tensor(1, 1, 1, 1, NULL);
        tu_ok(clcnn__softmax_xent_launch(tu_ctx(), tx, tl, tx, tloss, wg, team));
        float got_loss, *d = tu_read(tx);
        tu_ok(clcnn_tensor_read(tloss, &got_loss, 1));
        char what[96];
        snprintf(what, sizeof what, "loss WG=%zu TEAM=%zu N=%d K=%d", wg, team, n, k);
        tu_compare(what, seed, &got_loss, &ref_loss, 1, TOL_LOSS_RTOL, TOL_LOSS_ATOL);
        snprintf(what, sizeof what, "dlogits WG=%zu TEAM=%zu N=%d K=%d", wg, team, n, k);
        tu_compare(what, seed, d, ref_d, count, TOL_LOSS_RTOL, TOL_LOSS_DLOGITS_ATOL / n);
        free(d);
        free(x);
        free(labels);
        free(ref_d);
        clcnn_tensor_destroy(tx);
        clcnn_tensor_destroy(tl);
        clcnn_tensor_destroy(tloss);
    }
    /* a geometry that is not two powers of two is refused */
    clcnn_tensor *tx = tu_tensor(2, 3, 1, 1, NULL), *tl = tu_tensor(2, 1, 1, 1, NULL);
    tu_expect_status(clcnn__softmax_xent_launch(tu_ctx(), tx, tl, tx, NULL, 48, 1),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__softmax_xent_launch(tu_ctx(), tx, tl, tx, NULL, 16, 32),
                     CLCNN_ERR_INVALID_ARGUMENT);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tl);
}
END_TEST

/* The reference gradient against central differences of the reference loss,
 * in float64, for several shapes (large logits included). */
START_TEST(test_reference_gradcheck)
{
    static const int shapes[][2] = {{1, 2}, {3, 7}, {4, 10}, {2, 33}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s][0], k = shapes[s][1];
        const uint64_t seed = 2000 + s;
        size_t count = (size_t)n * k;
        float *xf = tu_alloc(count * sizeof *xf), *labels = tu_alloc((size_t)n * sizeof *labels);
        double *x = tu_alloc(count * sizeof *x), *grad = tu_alloc(count * sizeof *grad);
        make_batch(seed, n, k, xf, labels);
        for (size_t i = 0; i < count; i++)
            x[i] = xf[i];
        loss_ref_softmax_xent_f64(x, labels, n, k, grad);
        const double h = 1e-5;
        size_t nonzero = 0;
        for (size_t i = 0; i < count; i++) {
            double keep = x[i];
            x[i] = keep + h;
            double up = loss_ref_softmax_xent_f64(x, labels, n, k, NULL);
            x[i] = keep - h;
            double down = loss_ref_softmax_xent_f64(x, labels, n, k, NULL);
            x[i] = keep;
            double numeric = (up - down) / (2 * h);
            /* the loss is up to ~1000, so the difference quotient carries
             * about 1e-16 * 1000 / 1e-5 of cancellation noise */
            double tol = 1e-8 + 1e-6 * fabs(grad[i]);
            ck_assert_msg(fabs(numeric - grad[i]) <= tol,
                          "N=%d K=%d (seed %llu): d loss / d z[%zu]: numeric %.12g, "
                          "analytic %.12g",
                          n, k, (unsigned long long)seed, i, numeric, grad[i]);
            nonzero += grad[i] != 0.0;
        }
        ck_assert_msg(nonzero > 0, "N=%d K=%d: the gradient is all zeros", n, k);
        free(xf);
        free(labels);
        free(x);
        free(grad);
    }
}
END_TEST

/* Either output alone, none at all, and dlogits written over logits. */
START_TEST(test_optional_outputs)
{
    const int n = 37, k = 11;
    const uint64_t seed = 3000;
    size_t count = (size_t)n * k;
    float x[37 * 11], labels[37];
    double ref_d[37 * 11];
    make_batch(seed, n, k, x, labels);
    double ref_loss = loss_ref_softmax_xent(x, labels, n, k, ref_d);

    clcnn_tensor *tx = tu_tensor(n, k, 1, 1, x), *tl = tu_tensor(n, 1, 1, 1, labels);
    clcnn_tensor *td = tu_tensor(n, k, 1, 1, NULL), *tloss = tu_tensor(1, 1, 1, 1, NULL);
    float got_loss = -1.0f;

    /* loss only: dlogits untouched */
    tu_ok(clcnn_tensor_fill(td, 7.0f));
    tu_ok(clcnn_softmax_cross_entropy(tu_ctx(), tx, tl, NULL, tloss));
    tu_ok(clcnn_tensor_read(tloss, &got_loss, 1));
    tu_compare("loss only", seed, &got_loss, &ref_loss, 1, TOL_LOSS_RTOL, TOL_LOSS_ATOL);
    float *d = tu_read(td);
    for (size_t i = 0; i < count; i++)
        ck_assert_float_eq(d[i], 7.0f);
    free(d);

    /* dlogits only: loss untouched */
    tu_ok(clcnn_tensor_fill(tloss, -3.0f));
    tu_ok(clcnn_softmax_cross_entropy(tu_ctx(), tx, tl, td, NULL));
    d = tu_read(td);
    tu_compare("dlogits only", seed, d, ref_d, count, TOL_LOSS_RTOL, TOL_LOSS_DLOGITS_ATOL / n);
    free(d);
    tu_ok(clcnn_tensor_read(tloss, &got_loss, 1));
    ck_assert_float_eq(got_loss, -3.0f);

    /* neither: valid, does nothing */
    tu_ok(clcnn_softmax_cross_entropy(tu_ctx(), tx, tl, NULL, NULL));

    /* in place: dlogits is logits */
    tu_ok(clcnn_softmax_cross_entropy(tu_ctx(), tx, tl, tx, tloss));
    d = tu_read(tx);
    tu_compare("dlogits in place", seed, d, ref_d, count, TOL_LOSS_RTOL,
               TOL_LOSS_DLOGITS_ATOL / n);
    free(d);
    tu_ok(clcnn_tensor_read(tloss, &got_loss, 1));
    tu_compare("loss in place", seed, &got_loss, &ref_loss, 1, TOL_LOSS_RTOL, TOL_LOSS_ATOL);

    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tl);
    clcnn_tensor_destroy(td);
    clcnn_tensor_destroy(tloss);
}
END_TEST

/* All four tensors wrapped at odd offsets of one caller buffer, so the
 * kernel's element offsets are exercised. */
START_TEST(test_offsets)
{
    const int n = 9, k = 23;
    const uint64_t seed = 4000;
    size_t count = (size_t)n * k;
    const size_t off_x = 3, off_l = off_x + count + 5, off_d = off_l + n + 1,
                 off_loss = off_d + count + 7, total = off_loss + 2;
    float *all = tu_alloc(total * sizeof *all);
    tu_rng rng = tu_rng_make(seed + 1);
    tu_fill(&rng, all, total, -9.0f, 9.0f); /* guard values around the slices */
    float x[9 * 23], labels[9];
    double ref_d[9 * 23];
    make_batch(seed, n, k, x, labels);
    memcpy(all + off_x, x, sizeof x);
    memcpy(all + off_l, labels, sizeof labels);
    double ref_loss = loss_ref_softmax_xent(x, labels, n, k, ref_d);

    clcnn_context *ctx = tu_ctx();
    cl_int err;
    cl_mem buf = clCreateBuffer(clcnn_context_cl_context(ctx), CL_MEM_READ_WRITE,
                                total * sizeof(float), NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    clcnn_tensor *whole = NULL, *tx = NULL, *tl = NULL, *td = NULL, *tloss = NULL;
    tu_ok(clcnn_tensor_wrap(ctx, buf, 0, 1, 1, 1, (int)total, &whole));
    tu_ok(clcnn_tensor_write(whole, all, total));
    tu_ok(clcnn_tensor_wrap(ctx, buf, off_x * sizeof(float), n, k, 1, 1, &tx));
    tu_ok(clcnn_tensor_wrap(ctx, buf, off_l * sizeof(float), n, 1, 1, 1, &tl));
    tu_ok(clcnn_tensor_wrap(ctx, buf, off_d * sizeof(float), n, k, 1, 1, &td));
    tu_ok(clcnn_tensor_wrap(ctx, buf, off_loss * sizeof(float), 1, 1, 1, 1, &tloss));
    clReleaseMemObject(buf);

    tu_ok(clcnn_softmax_cross_entropy(ctx, tx, tl, td, tloss));
    float *got = tu_read(whole);
    tu_compare("dlogits at offset", seed, got + off_d, ref_d, count, TOL_LOSS_RTOL,
               TOL_LOSS_DLOGITS_ATOL / n);
    tu_compare("loss at offset", seed, got + off_loss, &ref_loss, 1, TOL_LOSS_RTOL,
               TOL_LOSS_ATOL);
    /* everything outside the two outputs is unchanged */
    for (size_t i = 0; i < total; i++) {
        int in_out = (i >= off_d && i < off_d + count) || i == off_loss;
        if (!in_out)
            ck_assert_msg(got[i] == all[i], "element %zu outside the outputs changed", i);
    }
    free(got);
    free(all);
    clcnn_tensor_destroy(whole);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tl);
    clcnn_tensor_destroy(td);
    clcnn_tensor_destroy(tloss);
}
END_TEST

/* A label outside 0..K-1, a fractional or a NaN label makes the loss and
 * that sample's dlogits NaN; the other rows stay right. */
START_TEST(test_invalid_labels)
{
    const int n = 4, k = 5;
    const float bad[] = {-1.0f, 5.0f, 2.5f, NAN, 1e9f};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        float x[20], labels[4] = {0, 4, 2, 1};
        tu_rng rng = tu_rng_make(5000 + b);
        tu_fill(&rng, x, 20, -2.0f, 2.0f);
        labels[2] = bad[b];
        double ref_d[20];
        ck_assert(isnan(loss_ref_softmax_xent(x, labels, n, k, ref_d)));
        clcnn_tensor *tx = tu_tensor(n, k, 1, 1, x), *tl = tu_tensor(n, 1, 1, 1, labels);
        clcnn_tensor *td = tu_tensor(n, k, 1, 1, NULL), *tloss = tu_tensor(1, 1, 1, 1, NULL);
        tu_ok(clcnn_softmax_cross_entropy(tu_ctx(), tx, tl, td, tloss));
        float loss, *d = tu_read(td);
        tu_ok(clcnn_tensor_read(tloss, &loss, 1));
        ck_assert_msg(isnan(loss), "label %g: loss %g, want NaN", (double)bad[b], (double)loss);
        for (int j = 0; j < k; j++)
            ck_assert_msg(isnan(d[2 * k + j]), "label %g: dlogits[2][%d] = %g, want NaN",
                          (double)bad[b], j, (double)d[2 * k + j]);
        /* rows 0, 1, 3 against the reference */
        for (int i = 0; i < n; i++)
            if (i != 2)
                tu_compare("dlogits of a valid row", 5000 + b, d + i * k, ref_d + i * k,
                           (size_t)k, TOL_LOSS_RTOL, TOL_LOSS_DLOGITS_ATOL / n);
        free(d);
        clcnn_tensor_destroy(tx);
        clcnn_tensor_destroy(tl);
        clcnn_tensor_destroy(td);
        clcnn_tensor_destroy(tloss);
    }
}
END_TEST

/* The pure check on its own: shapes in, status and message out. */
START_TEST(test_check_table)
{
    static const struct {
        int logits[4], labels[4], dlogits[4], loss[4];
        int has_dlogits, has_loss;
        clcnn_status want;
        const char *text;
    } rows[] = {
        {{8, 10, 1, 1}, {8, 1, 1, 1}, {8, 10, 1, 1}, {1, 1, 1, 1}, 1, 1, CLCNN_OK, ""},
        {{8, 10, 1, 1}, {1, 8, 1, 1}, {0}, {0}, 0, 0, CLCNN_OK, ""},
        {{8, 10, 1, 1}, {7, 1, 1, 1}, {0}, {0}, 0, 1, CLCNN_ERR_SHAPE, "N = 8"},
        {{8, 10, 1, 1}, {8, 2, 1, 1}, {0}, {0}, 0, 0, CLCNN_ERR_SHAPE, "16 elements"},
        {{8, 10, 2, 1}, {8, 1, 1, 1}, {0}, {0}, 0, 0, CLCNN_ERR_SHAPE, "(N, K, 1, 1)"},
        {{8, 10, 1, 3}, {8, 1, 1, 1}, {0}, {0}, 0, 0, CLCNN_ERR_SHAPE, "(8, 10, 1, 3)"},
        {{0, 10, 1, 1}, {1, 1, 1, 1}, {0}, {0}, 0, 0, CLCNN_ERR_SHAPE, "logits"},
        {{8, 10, 1, 1}, {8, 1, 1, 1}, {8, 11, 1, 1}, {0}, 1, 0, CLCNN_ERR_SHAPE, "dlogits"},
        {{8, 10, 1, 1}, {8, 1, 1, 1}, {10, 8, 1, 1}, {0}, 1, 0, CLCNN_ERR_SHAPE, "dlogits"},
        {{8, 10, 1, 1}, {8, 1, 1, 1}, {80, 1, 1, 1}, {0}, 1, 0, CLCNN_ERR_SHAPE, "dlogits"},
        {{8, 10, 1, 1}, {8, 1, 1, 1}, {0}, {2, 1, 1, 1}, 0, 1, CLCNN_ERR_SHAPE, "loss"},
        {{8, 10, 1, 1}, {8, 1, 1, 1}, {0}, {1, 1, 1, 8}, 0, 1, CLCNN_ERR_SHAPE, "one element"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char msg[512] = "";
        clcnn_status st = clcnn__softmax_xent_check(
            rows[i].logits, rows[i].labels, rows[i].has_dlogits ? rows[i].dlogits : NULL,
            rows[i].has_loss ? rows[i].loss : NULL, msg, sizeof msg);
        ck_assert_msg(st == rows[i].want, "row %zu: expected %s, got %s (%s)", i,
                      clcnn_status_name(rows[i].want), clcnn_status_name(st), msg);
        if (st != CLCNN_OK)
            ck_assert_msg(strstr(msg, rows[i].text) != NULL, "row %zu: message '%s' lacks '%s'",
                          i, msg, rows[i].text);
    }
    int shape[4] = {1, 1, 1, 1};
    ck_assert_int_eq(clcnn__softmax_xent_check(NULL, shape, NULL, NULL, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn__softmax_xent_check(shape, NULL, NULL, NULL, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

/* The op's own validation: NULL handles, wrong shapes, foreign tensors. */
START_TEST(test_invalid_arguments)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_tensor *x = tu_tensor(6, 4, 1, 1, NULL), *lab = tu_tensor(6, 1, 1, 1, NULL);
    clcnn_tensor *d = tu_tensor(6, 4, 1, 1, NULL), *loss = tu_tensor(1, 1, 1, 1, NULL);
    clcnn_tensor *lab5 = tu_tensor(5, 1, 1, 1, NULL), *d_bad = tu_tensor(4, 6, 1, 1, NULL);
    clcnn_tensor *loss2 = tu_tensor(2, 1, 1, 1, NULL), *x4d = tu_tensor(6, 1, 2, 2, NULL);
    static const struct {
        int x, lab, d, loss; /* 0 NULL, 1 good, 2 bad */
        clcnn_status want;
        const char *text;
    } rows[] = {
        {0, 1, 1, 1, CLCNN_ERR_INVALID_ARGUMENT, "logits is NULL"},
        {1, 0, 1, 1, CLCNN_ERR_INVALID_ARGUMENT, "labels is NULL"},
        {1, 2, 1, 1, CLCNN_ERR_SHAPE, "N = 6"},
        {1, 1, 2, 1, CLCNN_ERR_SHAPE, "dlogits (4, 6, 1, 1)"},
        {1, 1, 1, 2, CLCNN_ERR_SHAPE, "loss (2, 1, 1, 1)"},
        {2, 1, 0, 1, CLCNN_ERR_SHAPE, "logits (6, 1, 2, 2)"},
        {1, 2, 0, 0, CLCNN_ERR_SHAPE, "labels"}, /* checked even with no output */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ctx->error[0] = '\0';
        const clcnn_tensor *tx = rows[i].x == 0 ? NULL : rows[i].x == 1 ? x : x4d;
        const clcnn_tensor *tl = rows[i].lab == 0 ? NULL : rows[i].lab == 1 ? lab : lab5;
        clcnn_tensor *td = rows[i].d == 0 ? NULL : rows[i].d == 1 ? d : d_bad;
        clcnn_tensor *tloss = rows[i].loss == 0 ? NULL : rows[i].loss == 1 ? loss : loss2;
        tu_expect_status(clcnn_softmax_cross_entropy(ctx, tx, tl, td, tloss), rows[i].want);
        ck_assert_msg(strstr(clcnn_last_error(ctx), rows[i].text) != NULL,
                      "row %zu: message '%s' lacks '%s'", i, clcnn_last_error(ctx),
                      rows[i].text);
    }
    ck_assert_int_eq(clcnn_softmax_cross_entropy(NULL, x, lab, d, loss),
                     CLCNN_ERR_INVALID_ARGUMENT);

    /* a tensor of another context */
    clcnn_context *other = NULL;
    tu_ok(clcnn_context_create(NULL, &other, NULL, 0));
    clcnn_tensor *foreign = NULL;
    ck_assert_int_eq(clcnn_tensor_create(other, 1, 1, 1, 1, &foreign), CLCNN_OK);
    ctx->error[0] = '\0';
    tu_expect_status(clcnn_softmax_cross_entropy(ctx, x, lab, d, foreign),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clcnn_last_error(ctx), "loss belongs to another context"));
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);

    clcnn_tensor *all[] = {x, lab, d, loss, lab5, d_bad, loss2, x4d};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("softmax_cross_entropy");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_forward_backward, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_loop_test(tc, test_geometries, 0, 6);
    tcase_add_test(tc, test_reference_gradcheck);
    tcase_add_test(tc, test_optional_outputs);
    tcase_add_test(tc, test_offsets);
    tcase_add_test(tc, test_invalid_labels);
    suite_add_tcase(s, tc);
    TCase *inv = tcase_create("invalid");
    tcase_set_timeout(inv, 300);
    tcase_add_test(inv, test_check_table);
    tcase_add_test(inv, test_invalid_arguments);
    suite_add_tcase(s, inv);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
