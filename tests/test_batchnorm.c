/*
 * Batch normalization against the float64 reference on odd shapes (N = 1
 * too): the training-mode forward (y, the saved mean and inverse standard
 * deviation, one running-statistics update), the running statistics after
 * several steps and the inference-mode forward on them, in place,
 * the backward pass accumulating into dgamma and dbeta, other eps and
 * momentum, a central-difference check of the reference backward, and the
 * invalid-argument cases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm_ref.h"
#include "runtime.h"
#include "testutil.h"
#include "tolerance.h"

static const int shapes[][4] = {
    {1, 1, 1, 2}, {1, 3, 5, 7},   {2, 5, 9, 11}, {3, 7, 13, 13}, {1, 16, 28, 28},
    {7, 3, 1, 1}, {5, 67, 3, 3}, {2, 1, 1, 1027}, {1, 2, 33, 1},
};
enum { SHAPE_COUNT = sizeof shapes / sizeof shapes[0] };

/* Normalised values of about unit size (y, dx, the statistics): a few
 * float32 roundings, plus the error of a channel's mean and variance, float32
 * sums of M values whose error grows like sqrt(M) ulps (measured on PoCL:
 * at most 7.5e-7 up to M = 2054). The gradients of gamma and beta are sums
 * of M products: tol_reduction_atol. */
static double tol_bn_atol(int M)
{
    return 1e-6 + 5e-8 * sqrt((double)M);
}
#define TOL_BN_RTOL 1e-5

static double *to_double(const float *f, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

/* Host data and device tensors of one batch-norm layer. */
typedef struct layer {
    int N, C, H, W, M;
    size_t n;
    float *gamma, *beta, *rmean, *rvar;
    clcnn_tensor *tx, *ty, *tgamma, *tbeta, *trmean, *trvar, *tsmean, *tsinv;
} layer;

static void layer_make(layer *l, const int *s, tu_rng *rng)
{
    memset(l, 0, sizeof *l);
    l->N = s[0], l->C = s[1], l->H = s[2], l->W = s[3];
    l->M = l->N * l->H * l->W;
    l->n = (size_t)l->N * l->C * l->H * l->W;
    const int C = l->C;
    l->gamma = tu_alloc(C * sizeof(float));
    l->beta = tu_alloc(C * sizeof(float));
    l->rmean = tu_alloc(C * sizeof(float));
    l->rvar = tu_alloc(C * sizeof(float));
    tu_fill(rng, l->gamma, C, 0.5f, 1.5f);
    tu_fill(rng, l->beta, C, -0.5f, 0.5f);
    tu_fill(rng, l->rmean, C, -0.2f, 0.2f);
    tu_fill(rng, l->rvar, C, 0.5f, 2.0f);
    l->tx = tu_tensor(l->N, C, l->H, l->W, NULL);
    l->ty = tu_tensor(l->N, C, l->H, l->W, NULL);
    l->tgamma = tu_tensor(C, 1, 1, 1, l->gamma);
    l->tbeta = tu_tensor(C, 1, 1, 1, l->beta);
    l->trmean = tu_tensor(C, 1, 1, 1, l->rmean);
    l->trvar = tu_tensor(C, 1, 1, 1, l->rvar);
    l->tsmean = tu_tensor(C, 1, 1, 1, NULL);
    l->tsinv = tu_tensor(C, 1, 1, 1, NULL);
}

static void layer_free(layer *l)
{
    free(l->gamma);
    free(l->beta);
    free(l->rmean);
    free(l->rvar);
    clcnn_tensor *ts[] = {l->tx, l->ty, l->tgamma, l->tbeta, l->trmean, l->trvar, l->tsmean,
                          l->tsinv};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
}

/* Per-channel offsets, so that a channel mixed up with another shows. */
static void fill_input(tu_rng *rng, const layer *l, float *x)
{
    for (int n = 0; n < l->N; n++)
        for (int c = 0; c < l->C; c++) {
            float offset = (float)(c % 5) - 1.5f;
            for (int i = 0; i < l->H * l->W; i++)
                x[((size_t)n * l->C + c) * l->H * l->W + i] =
                    offset + (float)tu_uniform(rng, -2, 2);
        }
}

/* One training-mode forward: y, save_mean, save_invstd and the running
 * statistics against the reference. */
START_TEST(test_forward_train)
{
    const uint64_t seed = 1100 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    layer l;
    layer_make(&l, shapes[_i], &rng);
    const int C = l.C;
    float *x = tu_alloc(l.n * sizeof *x);
    fill_input(&rng, &l, x);
    tu_ok(clcnn_tensor_write(l.tx, x, l.n));
    tu_ok(clcnn_tensor_fill(l.ty, NAN));

    double *xd = to_double(x, l.n), *gd = to_double(l.gamma, C), *bd = to_double(l.beta, C);
    double *rm = to_double(l.rmean, C), *rv = to_double(l.rvar, C);
    double *y_ref = tu_alloc(l.n * sizeof *y_ref), *mean = tu_alloc(C * sizeof *mean);
    double *var = tu_alloc(C * sizeof *var), *invstd = tu_alloc(C * sizeof *invstd);
    batchnorm_ref_forward_train(l.N, C, l.H, l.W, xd, gd, bd, 1e-5, y_ref, mean, var);
    batchnorm_ref_update_running(C, l.M, 0.1, mean, var, rm, rv);
    for (int c = 0; c < C; c++)
        invstd[c] = 1 / sqrt(var[c] + 1e-5);

    tu_ok(clcnn_batchnorm_forward_train(tu_ctx(), l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar,
                                        l.tsmean, l.tsinv, l.ty, NULL));
    char what[128];
    const int *s = shapes[_i];
    float *y = tu_read(l.ty), *sm = tu_read(l.tsmean), *si = tu_read(l.tsinv);
    float *grm = tu_read(l.trmean), *grv = tu_read(l.trvar);
    snprintf(what, sizeof what, "batchnorm train y (%d,%d,%d,%d)", s[0], s[1], s[2], s[3]);
    tu_compare(what, seed, y, y_ref, l.n, TOL_BN_RTOL, tol_bn_atol(l.M));
    snprintf(what, sizeof what, "batchnorm train save_mean (%d,%d,%d,%d)", s[0], s[1], s[2],
             s[3]);
    tu_compare(what, seed, sm, mean, C, TOL_BN_RTOL, tol_bn_atol(l.M));
    snprintf(what, sizeof what, "batchnorm train save_invstd (%d,%d,%d,%d)", s[0], s[1], s[2],
             s[3]);
    tu_compare(what, seed, si, invstd, C, TOL_BN_RTOL, tol_bn_atol(l.M));
    snprintf(what, sizeof what, "batchnorm running_mean (%d,%d,%d,%d)", s[0], s[1], s[2], s[3]);
    tu_compare(what, seed, grm, rm, C, TOL_BN_RTOL, tol_bn_atol(l.M));
    snprintf(what, sizeof what, "batchnorm running_var (%d,%d,%d,%d)", s[0], s[1], s[2], s[3]);
    tu_compare(what, seed, grv, rv, C, TOL_BN_RTOL, tol_bn_atol(l.M));

    /* without running statistics: the same y, nothing else changes */
    tu_ok(clcnn_tensor_fill(l.ty, NAN));
    tu_ok(clcnn_batchnorm_forward_train(tu_ctx(), l.tx, l.tgamma, l.tbeta, NULL, NULL, l.tsmean,
                                        l.tsinv, l.ty, NULL));
    float *y2 = tu_read(l.ty), *grm2 = tu_read(l.trmean);
    ck_assert_mem_eq(y, y2, l.n * sizeof *y);
    ck_assert_mem_eq(grm, grm2, C * sizeof *grm);
    free(y2);
    free(grm2);

    free(y);
    free(sm);
    free(si);
    free(grm);
    free(grv);
    free(x);
    free(xd);
    free(gd);
    free(bd);
    free(rm);
    free(rv);
    free(y_ref);
    free(mean);
    free(var);
    free(invstd);
    layer_free(&l);
}
END_TEST

/*
 * Several training steps on different batches with a non-default momentum
 * and eps, then inference on the running statistics they left: both
 * against the reference, which updates its own running statistics in
 * float64 from the same batches.
 */
START_TEST(test_running_statistics)
{
    static const int s[4] = {3, 5, 7, 9};
    static const clcnn_batchnorm_params params[] = {{0, 0}, {1e-3f, 0.3f}, {2e-5f, 1.0f}};
    for (size_t pi = 0; pi < sizeof params / sizeof params[0]; pi++) {
        const uint64_t seed = 1200 + pi;
        tu_rng rng = tu_rng_make(seed);
        layer l;
        layer_make(&l, s, &rng);
        const int C = l.C;
        const double eps = params[pi].eps ? params[pi].eps : 1e-5;
        const double momentum = params[pi].momentum ? params[pi].momentum : 0.1;
        double *gd = to_double(l.gamma, C), *bd = to_double(l.beta, C);
        double *rm = to_double(l.rmean, C), *rv = to_double(l.rvar, C);
        double *y_ref = tu_alloc(l.n * sizeof *y_ref), *mean = tu_alloc(C * sizeof *mean);
        double *var = tu_alloc(C * sizeof *var);
        float *x = tu_alloc(l.n * sizeof *x);
        for (int step = 0; step < 6; step++) {
            fill_input(&rng, &l, x);
            /* the batches drift, so the running statistics have to follow */
            for (size_t i = 0; i < l.n; i++)
                x[i] = x[i] * (1.0f + 0.2f * (float)step) + 0.3f * (float)step;
            double *xd = to_double(x, l.n);
            batchnorm_ref_forward_train(l.N, C, l.H, l.W, xd, gd, bd, eps, y_ref, mean, var);
            batchnorm_ref_update_running(C, l.M, momentum, mean, var, rm, rv);
            free(xd);
            tu_ok(clcnn_tensor_write(l.tx, x, l.n));
            tu_ok(clcnn_batchnorm_forward_train(tu_ctx(), l.tx, l.tgamma, l.tbeta, l.trmean,
                                                l.trvar, l.tsmean, l.tsinv, l.ty, &params[pi]));
        }
        char what[128];
        float *grm = tu_read(l.trmean), *grv = tu_read(l.trvar);
        snprintf(what, sizeof what, "running_mean after 6 steps, momentum %g", momentum);
        tu_compare(what, seed, grm, rm, C, TOL_BN_RTOL, tol_bn_atol(l.M));
        snprintf(what, sizeof what, "running_var after 6 steps, momentum %g", momentum);
        tu_compare(what, seed, grv, rv, C, TOL_BN_RTOL, tol_bn_atol(l.M));

        /* inference on a new batch with those statistics, out of place and in place */
        fill_input(&rng, &l, x);
        double *xd = to_double(x, l.n);
        batchnorm_ref_forward_inference(l.N, C, l.H, l.W, xd, gd, bd, rm, rv, eps, y_ref);
        tu_ok(clcnn_tensor_write(l.tx, x, l.n));
        tu_ok(clcnn_batchnorm_forward_inference(tu_ctx(), l.tx, l.tgamma, l.tbeta, l.trmean,
                                                l.trvar, l.ty, &params[pi]));
        float *y = tu_read(l.ty);
        snprintf(what, sizeof what, "batchnorm inference after training, momentum %g",
                 momentum);
        tu_compare(what, seed, y, y_ref, l.n, TOL_BN_RTOL, tol_bn_atol(l.M));
        free(y);
        tu_ok(clcnn_batchnorm_forward_inference(tu_ctx(), l.tx, l.tgamma, l.tbeta, l.trmean,
                                                l.trvar, l.tx, &params[pi]));
        y = tu_read(l.tx);
        tu_compare("batchnorm inference in place", seed, y, y_ref, l.n, TOL_BN_RTOL,
                   tol_bn_atol(l.M));
        free(y);
        free(xd);
        free(grm);
        free(grv);
        free(gd);
        free(bd);
        free(rm);
        free(rv);
        free(y_ref);
        free(mean);
        free(var);
        free(x);
        layer_free(&l);
    }
}
END_TEST

/* Inference on given running statistics, every shape. */
START_TEST(test_forward_inference)
{
    const uint64_t seed = 1300 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    layer l;
    layer_make(&l, shapes[_i], &rng);
    float *x = tu_alloc(l.n * sizeof *x);
    fill_input(&rng, &l, x);
    tu_ok(clcnn_tensor_write(l.tx, x, l.n));
    double *xd = to_double(x, l.n), *gd = to_double(l.gamma, l.C), *bd = to_double(l.beta, l.C);
    double *rm = to_double(l.rmean, l.C), *rv = to_double(l.rvar, l.C);
    double *y_ref = tu_alloc(l.n * sizeof *y_ref);
    batchnorm_ref_forward_inference(l.N, l.C, l.H, l.W, xd, gd, bd, rm, rv, 1e-5, y_ref);
    tu_ok(clcnn_tensor_fill(l.ty, NAN));
    tu_ok(clcnn_batchnorm_forward_inference(tu_ctx(), l.tx, l.tgamma, l.tbeta, l.trmean,
                                            l.trvar, l.ty, NULL));
    float *y = tu_read(l.ty);
    char what[128];
    const int *s = shapes[_i];
    snprintf(what, sizeof what, "batchnorm inference (%d,%d,%d,%d)", s[0], s[1], s[2], s[3]);
    tu_compare(what, seed, y, y_ref, l.n, TOL_BN_RTOL, 2 * TOL_ELEMENTWISE_ATOL);
    free(y);
    free(x);
    free(xd);
    free(gd);
    free(bd);
    free(rm);
    free(rv);
    free(y_ref);
    layer_free(&l);
}
END_TEST

/* The backward pass after a training forward: dx overwritten, dgamma and
 * dbeta added to what they held. */
START_TEST(test_backward)
{
    const uint64_t seed = 1400 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    layer l;
    layer_make(&l, shapes[_i], &rng);
    const int C = l.C;
    float *x = tu_alloc(l.n * sizeof *x), *dy = tu_alloc(l.n * sizeof *dy);
    float *dg0 = tu_alloc(C * sizeof *dg0), *db0 = tu_alloc(C * sizeof *db0);
    fill_input(&rng, &l, x);
    tu_fill(&rng, dy, l.n, -1, 1);
    tu_fill(&rng, dg0, C, -1, 1);
    tu_fill(&rng, db0, C, -1, 1);
    double *xd = to_double(x, l.n), *dyd = to_double(dy, l.n), *gd = to_double(l.gamma, C);
    double *dx_ref = tu_alloc(l.n * sizeof *dx_ref), *dg_ref = tu_alloc(C * sizeof *dg_ref);
    double *db_ref = tu_alloc(C * sizeof *db_ref);
    batchnorm_ref_backward(l.N, C, l.H, l.W, xd, gd, 1e-5, dyd, dx_ref, dg_ref, db_ref);
    for (int c = 0; c < C; c++) {
        dg_ref[c] += dg0[c];
        db_ref[c] += db0[c];
    }
    tu_ok(clcnn_tensor_write(l.tx, x, l.n));
    clcnn_tensor *tdy = tu_tensor(l.N, C, l.H, l.W, dy), *tdx = tu_tensor(l.N, C, l.H, l.W, NULL);
    clcnn_tensor *tdg = tu_tensor(C, 1, 1, 1, dg0), *tdb = tu_tensor(C, 1, 1, 1, db0);
    tu_ok(clcnn_tensor_fill(tdx, NAN));
    tu_ok(clcnn_batchnorm_forward_train(tu_ctx(), l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar,
                                        l.tsmean, l.tsinv, l.ty, NULL));
    tu_ok(clcnn_batchnorm_backward(tu_ctx(), l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, tdx, tdg,
                                   tdb));
    float *dx = tu_read(tdx), *dg = tu_read(tdg), *db = tu_read(tdb);
    char what[128];
    const int *s = shapes[_i];
    /* dx subtracts two means of M products from dy: cancellation leaves
     * absolute errors of the sums' size times gamma * invstd */
    snprintf(what, sizeof what, "batchnorm backward dx (%d,%d,%d,%d)", s[0], s[1], s[2], s[3]);
    tu_compare(what, seed, dx, dx_ref, l.n, TOL_BN_RTOL, tol_bn_atol(l.M));
    snprintf(what, sizeof what, "batchnorm backward dgamma (%d,%d,%d,%d)", s[0], s[1], s[2],
             s[3]);
    tu_compare(what, seed, dg, dg_ref, C, TOL_BN_RTOL, tol_reduction_atol(l.M));
    snprintf(what, sizeof what, "batchnorm backward dbeta (%d,%d,%d,%d)", s[0], s[1], s[2],
             s[3]);
    tu_compare(what, seed, db, db_ref, C, TOL_BN_RTOL, tol_reduction_atol(l.M));

    /* without dgamma and dbeta: the same dx */
    tu_ok(clcnn_tensor_fill(tdx, NAN));
    tu_ok(clcnn_batchnorm_backward(tu_ctx(), l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, tdx, NULL,
                                   NULL));
    float *dx2 = tu_read(tdx);
    ck_assert_mem_eq(dx, dx2, l.n * sizeof *dx);
    free(dx2);

    free(dx);
    free(dg);
    free(db);
    free(x);
    free(dy);
    free(dg0);
    free(db0);
    free(xd);
    free(dyd);
    free(gd);
    free(dx_ref);
    free(dg_ref);
    free(db_ref);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
    clcnn_tensor_destroy(tdg);
    clcnn_tensor_destroy(tdb);
    layer_free(&l);
}
END_TEST

/* L = sum(dy * y) of the reference training forward. */
static double loss_of(int N, int C, int H, int W, const double *x, const double *g,
                      const double *b, const double *dy, double *y)
{
    batchnorm_ref_forward_train(N, C, H, W, x, g, b, 1e-5, y, NULL, NULL);
    double l = 0;
    for (int i = 0; i < N * C * H * W; i++)
        l += dy[i] * y[i];
    return l;
}

/* Central differences in float64 prove the reference backward for x, gamma
 * and beta, on a shape with N > 1 and planes > 1 and on N = 1. */
START_TEST(test_reference_gradient)
{
    static const int cases[][4] = {{2, 3, 3, 5}, {1, 2, 1, 7}, {4, 1, 1, 1}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int N = cases[ci][0], C = cases[ci][1], H = cases[ci][2], W = cases[ci][3];
        const int n = N * C * H * W;
        tu_rng rng = tu_rng_make(1500 + ci);
        double *x = tu_alloc(n * sizeof *x), *dy = tu_alloc(n * sizeof *dy);
        double *y = tu_alloc(n * sizeof *y), *dx = tu_alloc(n * sizeof *dx);
        double g[3], b[3], dg[3], db[3];
        for (int i = 0; i < n; i++) {
            x[i] = tu_uniform(&rng, -2, 2);
            dy[i] = tu_uniform(&rng, -1, 1);
        }
        for (int c = 0; c < C; c++) {
            g[c] = tu_uniform(&rng, 0.5, 1.5);
            b[c] = tu_uniform(&rng, -0.5, 0.5);
        }
        batchnorm_ref_backward(N, C, H, W, x, g, 1e-5, dy, dx, dg, db);
        const double h = 1e-5;
        struct {
            const char *name;
            double *v, *grad;
            int count;
        } params[] = {{"x", x, dx, n}, {"gamma", g, dg, C}, {"beta", b, db, C}};
        for (int p = 0; p < 3; p++)
            for (int i = 0; i < params[p].count; i++) {
                double *v = params[p].v, keep = v[i];
                v[i] = keep + h;
                double lp = loss_of(N, C, H, W, x, g, b, dy, y);
                v[i] = keep - h;
                double lm = loss_of(N, C, H, W, x, g, b, dy, y);
                v[i] = keep;
                double num = (lp - lm) / (2 * h), got = params[p].grad[i];
                /* the normalisation is smooth but curved: O(h^2) error of a
                 * function of unit scale */
                ck_assert_msg(fabs(num - got) <= 1e-7 + TOL_GRADCHECK_RTOL * fabs(num),
                              "batchnorm (%d,%d,%d,%d) d/d%s[%d]: numeric %.9g, reference %.9g",
                              N, C, H, W, params[p].name, i, num, got);
            }
        free(x);
        free(dy);
        free(y);
        free(dx);
    }
}
END_TEST

START_TEST(test_invalid)
{
    clcnn_context *ctx = tu_ctx();
    static const struct {
        const char *what;
        int x[4];
        int training;
        clcnn_batchnorm_params p;
        clcnn_status want;
        const char *needle;
    } table[] = {
        {"negative eps", {2, 3, 4, 5}, 1, {-1e-5f, 0}, CLCNN_ERR_INVALID_ARGUMENT, "eps"},
        {"NaN eps", {2, 3, 4, 5}, 0, {NAN, 0}, CLCNN_ERR_INVALID_ARGUMENT, "eps nan"},
        {"infinite eps", {2, 3, 4, 5}, 0, {INFINITY, 0}, CLCNN_ERR_INVALID_ARGUMENT, "eps inf"},
        {"negative momentum", {2, 3, 4, 5}, 1, {0, -0.1f}, CLCNN_ERR_INVALID_ARGUMENT,
         "momentum -0.1"},
        {"momentum over 1", {2, 3, 4, 5}, 1, {0, 1.5f}, CLCNN_ERR_INVALID_ARGUMENT,
         "momentum 1.5 must be in (0, 1]"},
        {"NaN momentum", {2, 3, 4, 5}, 0, {0, NAN}, CLCNN_ERR_INVALID_ARGUMENT, "momentum nan"},
        {"one value per channel", {1, 3, 1, 1}, 1, {0, 0}, CLCNN_ERR_SHAPE,
         "1 value per channel; training needs at least 2"},
        {"zero batch", {0, 3, 4, 5}, 0, {0, 0}, CLCNN_ERR_SHAPE, "(0, 3, 4, 5) is invalid"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int y[4];
        char msg[256] = "";
        clcnn_status st = clcnn_batchnorm_output_shape(table[i].x, table[i].training,
                                                       &table[i].p, y, msg, sizeof msg);
        ck_assert_msg(st == table[i].want, "%s: got %s, want %s (%s)", table[i].what,
                      clcnn_status_name(st), clcnn_status_name(table[i].want), msg);
        ck_assert_msg(strstr(msg, table[i].needle) != NULL,
                      "%s: message \"%s\" does not mention \"%s\"", table[i].what, msg,
                      table[i].needle);
    }
    int y[4];
    ck_assert_int_eq(clcnn_batchnorm_output_shape((int[]){1, 3, 1, 1}, 0, NULL, y, NULL, 0),
                     CLCNN_OK); /* inference of one value is fine */
    ck_assert(y[0] == 1 && y[1] == 3 && y[2] == 1 && y[3] == 1);
    ck_assert_int_eq(clcnn_batchnorm_output_shape(NULL, 0, NULL, y, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn_batchnorm_output_shape((int[]){1, 3, 1, 1}, 0, NULL, NULL, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);

    tu_rng rng = tu_rng_make(1600);
    layer l;
    layer_make(&l, (int[]){2, 3, 4, 5}, &rng);
    tu_ok(clcnn_tensor_fill(l.tx, 1.0f));
    clcnn_tensor *c4 = tu_tensor(4, 1, 1, 1, NULL), *x1 = tu_tensor(1, 3, 1, 1, NULL);
    clcnn_tensor *y1 = tu_tensor(1, 3, 1, 1, NULL), *other = tu_tensor(2, 3, 5, 4, NULL);
    clcnn_tensor *big = tu_tensor(1, 1, 1, 300, NULL), *xs, *ys, *chs;
    tu_ok(clcnn__tensor_slice(big, 0, 2, 3, 4, 5, &xs));
    tu_ok(clcnn__tensor_slice(big, 1, 2, 3, 4, 5, &ys));
    tu_ok(clcnn__tensor_slice(big, 119, 3, 1, 1, 1, &chs)); /* the last value of xs */
    const clcnn_batchnorm_params bad = {.momentum = 2.0f};
#define TRAIN(x, g, b, rm, rv, sm, si, y, p)                                                   \
    clcnn_batchnorm_forward_train(ctx, x, g, b, rm, rv, sm, si, y, p)
    tu_ok(TRAIN(l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsinv, l.ty, NULL));
    ck_assert_int_eq(clcnn_batchnorm_forward_train(NULL, l.tx, l.tgamma, l.tbeta, l.trmean,
                                                   l.trvar, l.tsmean, l.tsinv, l.ty, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(TRAIN(NULL, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsinv, l.ty,
                           NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(TRAIN(l.tx, NULL, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsinv, l.ty,
                           NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("gamma is NULL");
    tu_expect_status(TRAIN(l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar, NULL, l.tsinv, l.ty,
                           NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("save_mean is NULL");
    tu_expect_status(TRAIN(l.tx, l.tgamma, l.tbeta, l.trmean, NULL, l.tsmean, l.tsinv, l.ty,
                           NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("running_var is NULL");
    tu_expect_status(TRAIN(l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsinv, l.ty,
                           &bad),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("clcnn_batchnorm_forward_train: batchnorm: momentum 2");
    tu_expect_status(TRAIN(x1, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsinv, y1,
                           NULL),
                     CLCNN_ERR_SHAPE);
    tu_expect_message("training needs at least 2");
    tu_expect_status(TRAIN(l.tx, c4, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsinv, l.ty, NULL),
                     CLCNN_ERR_SHAPE);
    tu_expect_message("gamma has shape (4, 1, 1, 1) but x's channels need (3, 1, 1, 1)");
    tu_expect_status(TRAIN(l.tx, l.tgamma, l.tbeta, l.trmean, c4, l.tsmean, l.tsinv, l.ty, NULL),
                     CLCNN_ERR_SHAPE);
    tu_expect_message("running_var has shape (4, 1, 1, 1)");
    tu_expect_status(TRAIN(l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsinv, other,
                           NULL),
                     CLCNN_ERR_SHAPE);
    tu_expect_message("y has shape (2, 3, 5, 4) but x is (2, 3, 4, 5)");
    tu_expect_status(TRAIN(l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsinv, l.tx,
                           NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y overlaps x");
    tu_expect_status(TRAIN(xs, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsinv, ys,
                           NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(TRAIN(l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tsmean, l.tsmean, l.ty,
                           NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("save_invstd overlaps save_mean");
    tu_expect_status(TRAIN(xs, l.tgamma, l.tbeta, l.trmean, l.trvar, chs, l.tsinv, l.ty, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("save_mean overlaps x");
    tu_expect_status(TRAIN(l.tx, l.tgamma, l.tbeta, l.tgamma, l.trvar, l.tsmean, l.tsinv, l.ty,
                           NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("running_mean overlaps gamma");
#undef TRAIN

#define INFER(x, g, b, rm, rv, y, p) clcnn_batchnorm_forward_inference(ctx, x, g, b, rm, rv, y, p)
    {
        /* one value per channel is valid in inference: checked against the
         * reference on the running statistics the training call above left */
        static const float x1v[3] = {0.75f, -1.25f, 2.5f};
        tu_ok(clcnn_tensor_write(x1, x1v, 3));
        tu_ok(INFER(x1, l.tgamma, l.tbeta, l.trmean, l.trvar, y1, NULL));
        float *grm = tu_read(l.trmean), *grv = tu_read(l.trvar), *got = tu_read(y1);
        double *xd = to_double(x1v, 3), *gd = to_double(l.gamma, 3), *bd = to_double(l.beta, 3);
        double *rm = to_double(grm, 3), *rv = to_double(grv, 3), want[3];
        batchnorm_ref_forward_inference(1, 3, 1, 1, xd, gd, bd, rm, rv, 1e-5, want);
        tu_compare("batchnorm inference (1,3,1,1)", 1600, got, want, 3, TOL_BN_RTOL,
                   2 * TOL_ELEMENTWISE_ATOL);
        free(grm);
        free(grv);
        free(got);
        free(xd);
        free(gd);
        free(bd);
        free(rm);
        free(rv);
    }
    tu_ok(INFER(l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tx, NULL));
    ck_assert_int_eq(clcnn_batchnorm_forward_inference(NULL, l.tx, l.tgamma, l.tbeta, l.trmean,
                                                       l.trvar, l.ty, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(INFER(l.tx, l.tgamma, l.tbeta, NULL, l.trvar, l.ty, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("running_mean is NULL");
    tu_expect_status(INFER(l.tx, l.tgamma, NULL, l.trmean, l.trvar, l.ty, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("beta is NULL");
    tu_expect_status(INFER(l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar, l.ty, &bad),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("momentum 2");
    tu_expect_status(INFER(l.tx, l.tgamma, c4, l.trmean, l.trvar, l.ty, NULL), CLCNN_ERR_SHAPE);
    tu_expect_message("beta has shape (4, 1, 1, 1)");
    tu_expect_status(INFER(xs, l.tgamma, l.tbeta, l.trmean, l.trvar, ys, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("only exact in-place use");
    tu_expect_status(INFER(l.tx, l.tgamma, l.tbeta, l.trmean, l.trvar, l.tgamma, NULL),
                     CLCNN_ERR_SHAPE);
#undef INFER

    clcnn_tensor *tdy = tu_tensor(2, 3, 4, 5, NULL), *tdx = tu_tensor(2, 3, 4, 5, NULL);
    tu_ok(clcnn_tensor_fill(tdy, 0.5f));
#define BWD(x, dy, g, sm, si, dx, dg, db)                                                      \
    clcnn_batchnorm_backward(ctx, x, dy, g, sm, si, dx, dg, db)
    tu_ok(BWD(l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, tdx, l.trmean, l.trvar));
    tu_ok(BWD(l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, tdx, NULL, NULL));
    ck_assert_int_eq(clcnn_batchnorm_backward(NULL, l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, tdx,
                                              NULL, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(BWD(l.tx, NULL, l.tgamma, l.tsmean, l.tsinv, tdx, NULL, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy is NULL");
    tu_expect_status(BWD(l.tx, tdy, l.tgamma, l.tsmean, NULL, tdx, NULL, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("save_invstd is NULL");
    tu_expect_status(BWD(l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, NULL, NULL, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx is NULL");
    tu_expect_status(BWD(l.tx, other, l.tgamma, l.tsmean, l.tsinv, tdx, NULL, NULL),
                     CLCNN_ERR_SHAPE);
    tu_expect_message("dy has shape (2, 3, 5, 4)");
    tu_expect_status(BWD(l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, tdx, c4, NULL),
                     CLCNN_ERR_SHAPE);
    tu_expect_message("dgamma has shape (4, 1, 1, 1)");
    tu_expect_status(BWD(x1, y1, l.tgamma, l.tsmean, l.tsinv, y1, NULL, NULL), CLCNN_ERR_SHAPE);
    tu_expect_message("training needs at least 2");
    tu_expect_status(BWD(l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, tdy, NULL, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy overlaps dx");
    tu_expect_status(BWD(l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, tdx, l.tgamma, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dgamma overlaps gamma");
    tu_expect_status(BWD(l.tx, tdy, l.tgamma, l.tsmean, l.tsinv, tdx, l.trmean, l.trmean),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dbeta overlaps dgamma");
#undef BWD

    clcnn_tensor *ts[] = {c4, x1, y1, other, xs, ys, chs, big, tdy, tdx};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
    layer_free(&l);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("batchnorm");
    TCase *tc = tcase_create("forward_backward");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_forward_train, 0, SHAPE_COUNT);
    tcase_add_loop_test(tc, test_forward_inference, 0, SHAPE_COUNT);
    tcase_add_loop_test(tc, test_backward, 0, SHAPE_COUNT);
    tcase_add_test(tc, test_running_statistics);
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
