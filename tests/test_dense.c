/*
 * Dense layers and the internal GEMM under them: every GEMM tile variant in
 * every transpose combination against the float64 reference (with strides,
 * offsets, alpha, beta and bias), the dense ops on LeNet/Keras and odd
 * shapes with each variant forced and with the automatic choice, a
 * central-difference check of the reference backward, and the
 * invalid-argument tables.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn_cl.h"
#include "dense_ref.h"
#include "gemm.h"
#include "testutil.h"
#include "tolerance.h"

static double *to_double(const float *f, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

static float *random_floats(tu_rng *rng, size_t n)
{
    float *p = tu_alloc(n * sizeof *p);
    tu_fill(rng, p, n, -1, 1);
    return p;
}

/* ---- GEMM ---- */

typedef struct gemm_case {
    int M, N, K;
} gemm_case;

static const gemm_case gemm_cases[] = {
    {1, 1, 1}, {5, 7, 3}, {2, 4, 9}, {17, 33, 19}, {9, 10, 400}, {33, 17, 64}, {64, 120, 37},
    /* K = 16 + 8 + 3: every step of the dot-product form's walk along K */
    {6, 5, 27},
};

/* The GEMM's fused epilogue on the reference result: ReLU, then the mask
 * (an M x N matrix with row stride ldm). */
static void epilogue_ref(double *c, int M, int N, int ldc, int relu, const float *mask,
                         int ldm)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double *v = &c[(size_t)i * ldc + j];
            if (relu && !(*v > 0))
                *v = 0;
            if (mask && !(mask[(size_t)i * ldm + j] > 0))
                *v = 0;
        }
}

/*
 * One GEMM with A, B, C, bias and mask at element offsets inside larger
 * tensors, row strides wider than the rows, and C's stride padding filled
 * with a sentinel that must survive. epilogue: bit 0 ReLU, bit 1 mask.
 */
static void run_gemm(int variant, int ta, int tb, const gemm_case *gc, int beta_one,
                     int bias_mode, int epilogue, uint64_t seed)
{
    tu_rng rng = tu_rng_make(seed);
    int M = gc->M, N = gc->N, K = gc->K;
    int a_rows = ta ? K : M, a_cols = ta ? M : K, b_rows = tb ? N : K, b_cols = tb ? K : N;
    int lda = a_cols + 3, ldb = b_cols + 1, ldc = N + 2;
    size_t a_off = 5, b_off = 2, c_off = 7, bias_off = 1;
    size_t na = a_off + (size_t)a_rows * lda, nb = b_off + (size_t)b_rows * ldb;
    size_t nc = c_off + (size_t)M * ldc, nbias = bias_off + (size_t)(M > N ? M : N);
    float *a = random_floats(&rng, na), *b = random_floats(&rng, nb);
    float *c = random_floats(&rng, nc), *bias = random_floats(&rng, nbias);
    const float sentinel = 12345.0f;
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++)
            c[c_off + (size_t)i * ldc + j] = sentinel;
    if (!beta_one) /* beta 0 must not read C: NaN there must not leak */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                c[c_off + (size_t)i * ldc + j] = NAN;

    double *ad = to_double(a, na), *bd = to_double(b, nb), *cd = to_double(c, nc);
    double *biasd = to_double(bias, nbias);
    const float alpha = 0.75f;
    gemm_ref(ta, tb, M, N, K, alpha, ad + a_off, lda, bd + b_off, ldb, beta_one ? 1.0 : 0.0,
             cd + c_off, ldc, biasd + bias_off, bias_mode);
    const int ldm = N + 1;
    const size_t mask_off = 4, nmask = mask_off + (size_t)M * ldm;
    float *mask = random_floats(&rng, nmask);
    epilogue_ref(cd + c_off, M, N, ldc, epilogue & 1, epilogue & 2 ? mask + mask_off : NULL,
                 ldm);

    clcnn_tensor *tA = tu_tensor(1, 1, 1, (int)na, a), *tB = tu_tensor(1, 1, 1, (int)nb, b);
    clcnn_tensor *tC = tu_tensor(1, 1, 1, (int)nc, c);
    clcnn_tensor *tbias = tu_tensor(1, 1, 1, (int)nbias, bias);
    clcnn_tensor *tmask = tu_tensor(1, 1, 1, (int)nmask, mask);
    clcnn__gemm_desc d = {
        .trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K,
        .alpha = alpha, .beta = beta_one ? 1.0f : 0.0f,
        .a = tA, .a_off = a_off, .lda = lda, .b = tB, .b_off = b_off, .ldb = ldb,
        .c = tC, .c_off = c_off, .ldc = ldc,
        .bias = tbias, .bias_off = bias_off, .bias_mode = (clcnn__gemm_bias)bias_mode,
        .relu = epilogue & 1, .mask = epilogue & 2 ? tmask : NULL, .mask_off = mask_off,
        .ldm = ldm,
    };
    tu_ok(clcnn__gemm_variant(tu_ctx(), &d, variant));
    float *got = tu_read(tC);

    /* compare the M x N matrix; the padding keeps its sentinel */
    size_t mn = (size_t)M * N;
    float *gm = tu_alloc(mn * sizeof *gm);
    double *rm = tu_alloc(mn * sizeof *rm);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            size_t at = c_off + (size_t)i * ldc + j;
            if (j < N) {
                gm[(size_t)i * N + j] = got[at];
                rm[(size_t)i * N + j] = cd[at];
            } else {
                ck_assert_msg(got[at] == sentinel, "gemm wrote C's padding at row %d col %d",
                              i, j);
            }
        }
    for (size_t i = 0; i < c_off; i++)
        ck_assert_msg(got[i] == c[i], "gemm wrote before C's offset");
    char what[160];
    snprintf(what, sizeof what, "gemm %s %c%c M=%d N=%d K=%d beta=%d bias=%d relu=%d mask=%d",
             clcnn__gemm_variant_name(variant), ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K,
             beta_one, bias_mode, epilogue & 1, (epilogue & 2) >> 1);
    int nonzero = 0;
    for (size_t i = 0; i < mn; i++)
        nonzero += rm[i] != 0;
    if (nonzero) {
        tu_compare(what, seed, gm, rm, mn, TOL_REDUCTION_RTOL, tol_reduction_atol(K + 2));
    } else { /* a tiny case the epilogue zeroes completely */
        for (size_t i = 0; i < mn; i++)
            ck_assert_msg(gm[i] == 0.0f, "%s (seed %llu): C[%zu] = %g, want 0", what,
                          (unsigned long long)seed, i, (double)gm[i]);
    }

    free(a);
    free(b);
    free(c);
    free(bias);
    free(ad);
    free(bd);
    free(cd);
    free(biasd);
    free(mask);
    free(got);
    free(gm);
    free(rm);
    clcnn_tensor_destroy(tA);
    clcnn_tensor_destroy(tB);
    clcnn_tensor_destroy(tC);
    clcnn_tensor_destroy(tbias);
    clcnn_tensor_destroy(tmask);
}

/* Loop index: one tile variant, forced; every transpose combination. */
START_TEST(test_gemm_variant)
{
    int variant = _i;
    ck_assert_ptr_nonnull(clcnn__gemm_variant_name(variant));
    int k = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t ci = 0; ci < sizeof gemm_cases / sizeof gemm_cases[0]; ci++, k++)
                run_gemm(variant, ta, tb, &gemm_cases[ci], k % 2, k % 3, k % 4,
                         7000 + (uint64_t)variant * 1000 + (uint64_t)k);
}
END_TEST

START_TEST(test_gemm_colsum)
{
    tu_rng rng = tu_rng_make(88);
    const int M = 13, N = 11, lda = 14;
    size_t na = 3 + (size_t)M * lda;
    float *a = random_floats(&rng, na), *out = random_floats(&rng, 2 + (size_t)N);
    double *ref = tu_alloc((size_t)N * sizeof *ref);
    for (int j = 0; j < N; j++) {
        ref[j] = out[2 + j];
        for (int i = 0; i < M; i++)
            ref[j] += a[3 + (size_t)i * lda + j];
    }
    clcnn_tensor *tA = tu_tensor(1, 1, 1, (int)na, a), *tout = tu_tensor(1, 1, 1, 2 + N, out);
    tu_ok(clcnn__gemm_colsum(tu_ctx(), M, N, tA, 3, lda, 1.0f, tout, 2));
    float *got = tu_read(tout);
    ck_assert(got[0] == out[0] && got[1] == out[1]);
    tu_compare("gemm_colsum beta=1", 88, got + 2, ref, (size_t)N, TOL_REDUCTION_RTOL,
               tol_reduction_atol(M));
    free(got);
    tu_ok(clcnn__gemm_colsum(tu_ctx(), M, N, tA, 3, lda, 0.0f, tout, 2));
    got = tu_read(tout);
    for (int j = 0; j < N; j++)
        ref[j] -= out[2 + j];
    tu_compare("gemm_colsum beta=0", 88, got + 2, ref, (size_t)N, TOL_REDUCTION_RTOL,
               tol_reduction_atol(M));
    free(got);
    free(a);
    free(out);
    free(ref);
    clcnn_tensor_destroy(tA);
    clcnn_tensor_destroy(tout);
}
END_TEST

/* ---- dense ---- */

typedef struct dense_case {
    const char *name;
    int N, C, H, W, K;
} dense_case;

static const dense_case dense_cases[] = {
    {"1 -> 1", 1, 1, 1, 1, 1},
    {"LeNet flatten (16,5,5) -> 120", 2, 16, 5, 5, 120},
    {"LeNet 400 -> 120", 2, 400, 1, 1, 120},
    {"LeNet 120 -> 84", 3, 120, 1, 1, 84},
    {"LeNet 84 -> 10", 1, 84, 1, 1, 10},
    {"Keras flatten (128,3,3) = 1152 -> 10", 2, 128, 3, 3, 10},
    {"(3,13,13) -> 7", 5, 3, 13, 13, 7},
    {"odd 13 -> 33", 7, 13, 1, 1, 33},
    {"batch 20, 50 -> 40", 20, 50, 1, 1, 40},
    {"(1,1,5) -> 1", 3, 1, 1, 5, 1},
};
enum { DENSE_COUNT = sizeof dense_cases / sizeof dense_cases[0] };

/* Forward (with and without bias), backward-data and backward-filter (with
 * and without db, onto non-zero starting gradients) of one case with one
 * variant (CLCNN__GEMM_AUTO: the public entry points). */
static void run_dense(const dense_case *dc, int variant, uint64_t seed)
{
    tu_rng rng = tu_rng_make(seed);
    int N = dc->N, K = dc->K, F = dc->C * dc->H * dc->W;
    size_t nx = (size_t)N * F, nw = (size_t)K * F, ny = (size_t)N * K;
    float *x = random_floats(&rng, nx), *w = random_floats(&rng, nw);
    float *b = random_floats(&rng, (size_t)K), *dy = random_floats(&rng, ny);
    float *dw0 = random_floats(&rng, nw), *db0 = random_floats(&rng, (size_t)K);
    double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, (size_t)K);
    double *dyd = to_double(dy, ny), *dw_ref = to_double(dw0, nw);
    double *db_ref = to_double(db0, (size_t)K);
    double *y_ref = tu_alloc(ny * sizeof *y_ref), *y0_ref = tu_alloc(ny * sizeof *y0_ref);
    double *dx_ref = tu_alloc(nx * sizeof *dx_ref);
    dense_ref_forward(N, F, K, xd, wd, bd, y_ref);
    dense_ref_forward(N, F, K, xd, wd, NULL, y0_ref);
    dense_ref_backward_data(N, F, K, dyd, wd, dx_ref);
    dense_ref_backward_filter(N, F, K, xd, dyd, dw_ref, db_ref);

    clcnn_tensor *tx = tu_tensor(N, dc->C, dc->H, dc->W, x), *tw = tu_tensor(K, F, 1, 1, w);
    clcnn_tensor *tb = tu_tensor(K, 1, 1, 1, b), *ty = tu_tensor(N, K, 1, 1, NULL);
    clcnn_tensor *tdy = tu_tensor(N, K, 1, 1, dy);
    clcnn_tensor *tdx = tu_tensor(N, dc->C, dc->H, dc->W, NULL);
    clcnn_tensor *tdw = tu_tensor(K, F, 1, 1, dw0), *tdb = tu_tensor(K, 1, 1, 1, db0);
    tu_ok(clcnn_tensor_fill(ty, NAN));
    tu_ok(clcnn_tensor_fill(tdx, NAN));
    clcnn_context *ctx = tu_ctx();
    const char *vname = variant == CLCNN__GEMM_AUTO ? "auto" : clcnn__gemm_variant_name(variant);
    char what[160];
    double atol_f = tol_reduction_atol(F + 1), atol_k = tol_reduction_atol(K);
    double atol_n = tol_reduction_atol(N + 1);

    tu_ok(variant == CLCNN__GEMM_AUTO ? clcnn_dense_forward(ctx, tx, tw, tb, ty)
                                      : clcnn__dense_forward_variant(ctx, tx, tw, tb, ty,
                                                                     variant));
    float *y = tu_read(ty);
    snprintf(what, sizeof what, "dense forward %s [%s]", dc->name, vname);
    tu_compare(what, seed, y, y_ref, ny, TOL_REDUCTION_RTOL, atol_f);
    free(y);
    tu_ok(variant == CLCNN__GEMM_AUTO ? clcnn_dense_forward(ctx, tx, tw, NULL, ty)
                                      : clcnn__dense_forward_variant(ctx, tx, tw, NULL, ty,
                                                                     variant));
    y = tu_read(ty);
    snprintf(what, sizeof what, "dense forward without bias %s [%s]", dc->name, vname);
    tu_compare(what, seed, y, y0_ref, ny, TOL_REDUCTION_RTOL, atol_f);

    tu_ok(variant == CLCNN__GEMM_AUTO
              ? clcnn_dense_backward_data(ctx, tdy, tw, tdx)
              : clcnn__dense_backward_data_variant(ctx, tdy, tw, tdx, variant));
    float *dx = tu_read(tdx);
    snprintf(what, sizeof what, "dense backward data %s [%s]", dc->name, vname);
    tu_compare(what, seed, dx, dx_ref, nx, TOL_REDUCTION_RTOL, atol_k);

    tu_ok(variant == CLCNN__GEMM_AUTO
              ? clcnn_dense_backward_filter(ctx, tx, tdy, tdw, tdb)
              : clcnn__dense_backward_filter_variant(ctx, tx, tdy, tdw, tdb, variant));
    float *dw = tu_read(tdw), *db = tu_read(tdb);
    snprintf(what, sizeof what, "dense backward filter dw += %s [%s]", dc->name, vname);
    tu_compare(what, seed, dw, dw_ref, nw, TOL_REDUCTION_RTOL, atol_n);
    snprintf(what, sizeof what, "dense backward filter db += %s [%s]", dc->name, vname);
    tu_compare(what, seed, db, db_ref, (size_t)K, TOL_REDUCTION_RTOL, atol_n);

    /* a second call without db accumulates into dw again and leaves db */
    dense_ref_backward_filter(N, F, K, xd, dyd, dw_ref, NULL);
    tu_ok(variant == CLCNN__GEMM_AUTO
              ? clcnn_dense_backward_filter(ctx, tx, tdy, tdw, NULL)
              : clcnn__dense_backward_filter_variant(ctx, tx, tdy, tdw, NULL, variant));
    float *dw2 = tu_read(tdw), *db2 = tu_read(tdb);
    snprintf(what, sizeof what, "dense backward filter dw += twice %s [%s]", dc->name, vname);
    tu_compare(what, seed, dw2, dw_ref, nw, TOL_REDUCTION_RTOL, 2 * atol_n);
    ck_assert_mem_eq(db, db2, (size_t)K * sizeof *db);

    free(x);
    free(w);
    free(b);
    free(dy);
    free(dw0);
    free(db0);
    free(xd);
    free(wd);
    free(bd);
    free(dyd);
    free(dw_ref);
    free(db_ref);
    free(y_ref);
    free(y0_ref);
    free(dx_ref);
    free(y);
    free(dx);
    free(dw);
    free(db);
    free(dw2);
    free(db2);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
    clcnn_tensor_destroy(tdw);
    clcnn_tensor_destroy(tdb);
}

/* Loop index: one dense case, with the automatic choice and each variant. */
START_TEST(test_dense)
{
    run_dense(&dense_cases[_i], CLCNN__GEMM_AUTO, 2000 + (uint64_t)_i * 10);
    for (int v = 0; v < clcnn__gemm_variant_count(); v++)
        run_dense(&dense_cases[_i], v, 2001 + (uint64_t)_i * 10 + (uint64_t)v);
}
END_TEST

/* The dense ops fused with a ReLU, as networks run them: the forward pass
 * with the ReLU after it, the backward-data pass with the derivative of the
 * ReLU before it (read from x, the layer's input), against the reference
 * ops followed by the ReLU's own passes. Loop index: one dense case. */
START_TEST(test_dense_relu)
{
    const dense_case *dc = &dense_cases[_i];
    uint64_t seed = 2500 + (uint64_t)_i;
    tu_rng rng = tu_rng_make(seed);
    int N = dc->N, K = dc->K, F = dc->C * dc->H * dc->W;
    size_t nx = (size_t)N * F, nw = (size_t)K * F, ny = (size_t)N * K;
    float *x = random_floats(&rng, nx), *w = random_floats(&rng, nw);
    float *b = random_floats(&rng, (size_t)K), *dy = random_floats(&rng, ny);
    /* x is a ReLU output: about half of it zero */
    for (size_t i = 0; i < nx; i++)
        x[i] = x[i] > 0 ? x[i] : 0.0f;
    double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, (size_t)K);
    double *dyd = to_double(dy, ny);
    double *y_ref = tu_alloc(ny * sizeof *y_ref), *dx_ref = tu_alloc(nx * sizeof *dx_ref);
    dense_ref_forward(N, F, K, xd, wd, bd, y_ref);
    for (size_t i = 0; i < ny; i++)
        y_ref[i] = y_ref[i] > 0 ? y_ref[i] : 0;
    dense_ref_backward_data(N, F, K, dyd, wd, dx_ref);
    for (size_t i = 0; i < nx; i++)
        dx_ref[i] = xd[i] > 0 ? dx_ref[i] : 0;

    clcnn_context *ctx = tu_ctx();
    clcnn_tensor *tx = tu_tensor(N, dc->C, dc->H, dc->W, x), *tw = tu_tensor(K, F, 1, 1, w);
    clcnn_tensor *tb = tu_tensor(K, 1, 1, 1, b), *ty = tu_tensor(N, K, 1, 1, NULL);
    clcnn_tensor *tdy = tu_tensor(N, K, 1, 1, dy);
    clcnn_tensor *tdx = tu_tensor(N, dc->C, dc->H, dc->W, NULL);
    tu_ok(clcnn_tensor_fill(ty, NAN));
    tu_ok(clcnn_tensor_fill(tdx, NAN));
    char what[160];
    tu_ok(clcnn__dense_forward_act(ctx, tx, tw, tb, ty, 1));
    float *y = tu_read(ty);
    snprintf(what, sizeof what, "dense forward + relu %s", dc->name);
    int positive = 0;
    for (size_t i = 0; i < ny; i++)
        positive += y_ref[i] > 0;
    if (positive) /* a one-output case may be all zero after the ReLU */
        tu_compare(what, seed, y, y_ref, ny, TOL_REDUCTION_RTOL, tol_reduction_atol(F + 1));
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(y[i] >= 0, "%s: y[%zu] = %g is negative", what, i, (double)y[i]);
    tu_ok(clcnn__dense_backward_data_act(ctx, tdy, tw, tx, tdx, 1));
    float *dx = tu_read(tdx);
    snprintf(what, sizeof what, "dense backward data + relu' %s", dc->name);
    int passed = 0;
    for (size_t i = 0; i < nx; i++) {
        if (x[i] > 0)
            passed++;
        else
            ck_assert_msg(dx[i] == 0.0f, "%s: dx[%zu] = %g where x <= 0", what, i,
                          (double)dx[i]);
    }
    if (passed)
        tu_compare(what, seed, dx, dx_ref, nx, TOL_REDUCTION_RTOL, tol_reduction_atol(K));
    /* relu 0 is the public op */
    tu_ok(clcnn__dense_backward_data_act(ctx, tdy, tw, NULL, tdx, 0));
    float *dx0 = tu_read(tdx);
    dense_ref_backward_data(N, F, K, dyd, wd, dx_ref);
    tu_compare("dense backward data, relu 0", seed, dx0, dx_ref, nx, TOL_REDUCTION_RTOL,
               tol_reduction_atol(K));

    free(x);
    free(w);
    free(b);
    free(dy);
    free(xd);
    free(wd);
    free(bd);
    free(dyd);
    free(y_ref);
    free(dx_ref);
    free(y);
    free(dx);
    free(dx0);
    clcnn_tensor *ts[] = {tx, tw, tb, ty, tdy, tdx};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
}
END_TEST

/* w, b and dw, db carved out of two arena buffers at odd offsets, as a
 * network lays out its parameters and gradients. */
START_TEST(test_dense_arena)
{
    const int N = 3, F = 21, K = 17;
    const size_t nw = (size_t)K * F, off_w = 3, off_b = off_w + nw + 2;
    uint64_t seed = 3131;
    tu_rng rng = tu_rng_make(seed);
    float *x = random_floats(&rng, (size_t)N * F), *w = random_floats(&rng, nw);
    float *b = random_floats(&rng, (size_t)K), *dy = random_floats(&rng, (size_t)N * K);
    float *dw0 = random_floats(&rng, nw), *db0 = random_floats(&rng, (size_t)K);
    double *xd = to_double(x, (size_t)N * F), *wd = to_double(w, nw);
    double *bd = to_double(b, (size_t)K), *dyd = to_double(dy, (size_t)N * K);
    double *dw_ref = to_double(dw0, nw), *db_ref = to_double(db0, (size_t)K);
    double *y_ref = tu_alloc((size_t)N * K * sizeof *y_ref);
    double *dx_ref = tu_alloc((size_t)N * F * sizeof *dx_ref);
    dense_ref_forward(N, F, K, xd, wd, bd, y_ref);
    dense_ref_backward_data(N, F, K, dyd, wd, dx_ref);
    dense_ref_backward_filter(N, F, K, xd, dyd, dw_ref, db_ref);

    clcnn_context *ctx = tu_ctx();
    int arena_len = (int)(off_b + (size_t)K + 5);
    clcnn_tensor *params = tu_tensor(1, 1, 1, arena_len, NULL);
    clcnn_tensor *grads = tu_tensor(1, 1, 1, arena_len, NULL);
    tu_ok(clcnn_tensor_fill(grads, NAN)); /* the gaps must keep it */
    cl_mem pm = clcnn_tensor_cl_mem(params, NULL), gm = clcnn_tensor_cl_mem(grads, NULL);
    clcnn_tensor *tw, *tb, *tdw, *tdb;
    tu_ok(clcnn_tensor_wrap(ctx, pm, off_w * 4, K, F, 1, 1, &tw));
    tu_ok(clcnn_tensor_wrap(ctx, pm, off_b * 4, K, 1, 1, 1, &tb));
    tu_ok(clcnn_tensor_wrap(ctx, gm, off_w * 4, K, F, 1, 1, &tdw));
    tu_ok(clcnn_tensor_wrap(ctx, gm, off_b * 4, K, 1, 1, 1, &tdb));
    tu_ok(clcnn_tensor_write(tw, w, nw));
    tu_ok(clcnn_tensor_write(tb, b, (size_t)K));
    tu_ok(clcnn_tensor_write(tdw, dw0, nw));
    tu_ok(clcnn_tensor_write(tdb, db0, (size_t)K));
    clcnn_tensor *tx = tu_tensor(N, 3, 7, 1, x), *ty = tu_tensor(N, K, 1, 1, NULL);
    clcnn_tensor *tdy = tu_tensor(N, K, 1, 1, dy), *tdx = tu_tensor(N, F, 1, 1, NULL);
    for (int v = CLCNN__GEMM_AUTO; v < clcnn__gemm_variant_count(); v++) {
        double *dw_want = to_double(dw0, nw), *db_want = to_double(db0, (size_t)K);
        dense_ref_backward_filter(N, F, K, xd, dyd, dw_want, db_want);
        tu_ok(clcnn_tensor_write(tdw, dw0, nw));
        tu_ok(clcnn_tensor_write(tdb, db0, (size_t)K));
        tu_ok(clcnn__dense_forward_variant(ctx, tx, tw, tb, ty, v));
        tu_ok(clcnn__dense_backward_data_variant(ctx, tdy, tw, tdx, v));
        tu_ok(clcnn__dense_backward_filter_variant(ctx, tx, tdy, tdw, tdb, v));
        float *y = tu_read(ty), *dx = tu_read(tdx), *dw = tu_read(tdw), *db = tu_read(tdb);
        tu_compare("dense arena forward", seed, y, y_ref, (size_t)N * K, TOL_REDUCTION_RTOL,
                   tol_reduction_atol(F + 1));
        tu_compare("dense arena backward data", seed, dx, dx_ref, (size_t)N * F,
                   TOL_REDUCTION_RTOL, tol_reduction_atol(K));
        tu_compare("dense arena dw", seed, dw, dw_want, nw, TOL_REDUCTION_RTOL,
                   tol_reduction_atol(N + 1));
        tu_compare("dense arena db", seed, db, db_want, (size_t)K, TOL_REDUCTION_RTOL,
                   tol_reduction_atol(N + 1));
        free(y);
        free(dx);
        free(dw);
        free(db);
        free(dw_want);
        free(db_want);
    }
    /* the parameters are only read, and nothing outside dw and db is written */
    float *pa = tu_read(params), *ga = tu_read(grads);
    ck_assert(memcmp(pa + off_w, w, nw * sizeof *w) == 0);
    ck_assert(memcmp(pa + off_b, b, (size_t)K * sizeof *b) == 0);
    for (size_t i = 0; i < (size_t)arena_len; i++)
        if (i < off_w || (i >= off_w + nw && i < off_b) || i >= off_b + (size_t)K)
            ck_assert_msg(isnan(ga[i]), "gradient arena element %zu was written", i);
    free(pa);
    free(ga);

    clcnn_tensor *ts[] = {tw, tb, tdw, tdb, tx, ty, tdy, tdx, params, grads};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
    free(x);
    free(w);
    free(b);
    free(dy);
    free(dw0);
    free(db0);
    free(xd);
    free(wd);
    free(bd);
    free(dyd);
    free(dw_ref);
    free(db_ref);
    free(y_ref);
    free(dx_ref);
}
END_TEST

/* Central differences of L = sum(dy * y) in float64 on the reference
 * forward prove the reference dx, dw and db. */
START_TEST(test_reference_gradient)
{
    const int N = 3, F = 7, K = 4;
    uint64_t seed = 99;
    tu_rng rng = tu_rng_make(seed);
    double x[3 * 7], w[4 * 7], b[4], dy[3 * 4], y[3 * 4];
    double dx[3 * 7], dw[4 * 7] = {0}, db[4] = {0};
    double *params[3] = {x, w, b};
    const double *grads[3] = {dx, dw, db};
    const int sizes[3] = {N * F, K * F, K};
    const char *names[3] = {"x", "w", "b"};
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < sizes[p]; i++)
            params[p][i] = tu_uniform(&rng, -1, 1);
    for (int i = 0; i < N * K; i++)
        dy[i] = tu_uniform(&rng, -1, 1);
    dense_ref_backward_data(N, F, K, dy, w, dx);
    dense_ref_backward_filter(N, F, K, x, dy, dw, db);
    const double h = 1e-5;
    for (int p = 0; p < 3; p++) {
        size_t nonzero = 0;
        for (int i = 0; i < sizes[p]; i++) {
            double keep = params[p][i], lp = 0, lm = 0;
            params[p][i] = keep + h;
            dense_ref_forward(N, F, K, x, w, b, y);
            for (int o = 0; o < N * K; o++)
                lp += dy[o] * y[o];
            params[p][i] = keep - h;
            dense_ref_forward(N, F, K, x, w, b, y);
            for (int o = 0; o < N * K; o++)
                lm += dy[o] * y[o];
            params[p][i] = keep;
            double num = (lp - lm) / (2 * h), got = grads[p][i];
            nonzero += got != 0;
            ck_assert_msg(fabs(num - got) <= TOL_GRADCHECK_ATOL + TOL_GRADCHECK_RTOL * fabs(num),
                          "dense (seed %llu): d/d%s[%d] numeric %.9g, reference %.9g",
                          (unsigned long long)seed, names[p], i, num, got);
        }
        ck_assert_msg(nonzero > 0, "dense: the gradient of %s is all zeros", names[p]);
    }
}
END_TEST

/* The pure check's table. */
START_TEST(test_output_shape)
{
    static const struct {
        int x[4], w[4];
        clcnn_status want;
        int y[4];
        const char *needle;
    } table[] = {
        {{2, 16, 5, 5}, {120, 400, 1, 1}, CLCNN_OK, {2, 120, 1, 1}, ""},
        {{2, 1152, 1, 1}, {10, 1152, 1, 1}, CLCNN_OK, {2, 10, 1, 1}, ""},
        {{2, 16, 5, 5}, {120, 399, 1, 1}, CLCNN_ERR_SHAPE, {0}, "400 features"},
        {{2, 16, 5, 5}, {120, 16, 5, 5}, CLCNN_ERR_SHAPE, {0}, "(K, 400, 1, 1)"},
        {{2, 400, 1, 1}, {120, 400, 1, 2}, CLCNN_ERR_SHAPE, {0}, "(120, 400, 1, 2)"},
        {{0, 400, 1, 1}, {120, 400, 1, 1}, CLCNN_ERR_SHAPE, {0}, "x shape (0, 400, 1, 1)"},
        {{2, 400, 1, 1}, {-1, 400, 1, 1}, CLCNN_ERR_SHAPE, {0}, "w shape (-1, 400, 1, 1)"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int y[4];
        char msg[256];
        clcnn_status st = clcnn__dense_output_shape(table[i].x, table[i].w, y, msg, sizeof msg);
        ck_assert_msg(st == table[i].want, "case %zu: got %s (%s)", i, clcnn_status_name(st),
                      msg);
        ck_assert_msg(strstr(msg, table[i].needle) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                      msg, table[i].needle);
        if (st == CLCNN_OK)
            ck_assert_mem_eq(y, table[i].y, sizeof y);
    }
    ck_assert_int_eq(clcnn__dense_output_shape(NULL, table[0].w, (int[4]){0}, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_invalid_dense)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_tensor *x = tu_tensor(2, 4, 2, 2, NULL), *w = tu_tensor(3, 16, 1, 1, NULL);
    clcnn_tensor *b = tu_tensor(3, 1, 1, 1, NULL), *y = tu_tensor(2, 3, 1, 1, NULL);
    clcnn_tensor *w_bad = tu_tensor(3, 15, 1, 1, NULL), *y_bad = tu_tensor(2, 3, 1, 2, NULL);
    clcnn_tensor *b_bad = tu_tensor(1, 3, 1, 1, NULL), *x_other = tu_tensor(3, 16, 1, 1, NULL);
    tu_ok(clcnn_tensor_fill(x, 0.5f));
    tu_ok(clcnn_tensor_fill(w, 0.25f));
    tu_ok(clcnn_tensor_fill(b, 0.0f));

    ck_assert_int_eq(clcnn_dense_forward(NULL, x, w, b, y), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_dense_forward(ctx, NULL, w, b, y), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn_dense_forward(ctx, x, NULL, b, y), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("w is NULL");
    tu_expect_status(clcnn_dense_forward(ctx, x, w, b, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("y is NULL");
    tu_expect_status(clcnn_dense_forward(ctx, x, w_bad, b, y), CLCNN_ERR_SHAPE);
    tu_expect_message("w has shape (3, 15, 1, 1) but x (2, 4, 2, 2) has 16 features");
    tu_expect_status(clcnn_dense_forward(ctx, x, w, b, y_bad), CLCNN_ERR_SHAPE);
    tu_expect_message("y has shape (2, 3, 1, 2) but x w^T gives (2, 3, 1, 1)");
    tu_expect_status(clcnn_dense_forward(ctx, x, w, b_bad, y), CLCNN_ERR_SHAPE);
    tu_expect_message("b has shape (1, 3, 1, 1)");
    tu_expect_status(clcnn_dense_forward(ctx, x_other, w, b, x_other), CLCNN_ERR_SHAPE);
    /* y may not be w itself: w (3,16) as x (3,16) gives y (3,3), so use a
     * w-shaped tensor that is also a valid y to hit the overlap check */
    clcnn_tensor *sq_x = tu_tensor(3, 3, 1, 1, NULL), *sq_w = tu_tensor(3, 3, 1, 1, NULL);
    tu_expect_status(clcnn_dense_forward(ctx, sq_x, sq_w, NULL, sq_w),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("overlaps");
    tu_expect_status(clcnn_dense_forward(ctx, sq_x, sq_w, NULL, sq_x),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_ok(clcnn_dense_forward(ctx, x, w, NULL, y));

    /* backward data: dy (2,3,1,1), w (3,16,1,1) -> dx (2,4,2,2) */
    ck_assert_int_eq(clcnn_dense_backward_data(NULL, y, w, x), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_dense_backward_data(ctx, NULL, w, x), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy is NULL");
    tu_expect_status(clcnn_dense_backward_data(ctx, y, w, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx is NULL");
    tu_expect_status(clcnn_dense_backward_data(ctx, y_bad, w, x), CLCNN_ERR_SHAPE);
    tu_expect_message("dy has shape (2, 3, 1, 2) but dx and w need (2, 3, 1, 1)");
    tu_expect_status(clcnn_dense_backward_data(ctx, y, w, b), CLCNN_ERR_SHAPE);
    tu_expect_message("x (3, 1, 1, 1) has 1 features");
    tu_expect_status(clcnn_dense_backward_data(ctx, y, w_bad, x), CLCNN_ERR_SHAPE);
    tu_expect_status(clcnn_dense_backward_data(ctx, sq_x, sq_w, sq_w),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx overlaps");
    /* dx may have any shape with x's N and F */
    clcnn_tensor *dx_flat = tu_tensor(2, 16, 1, 1, NULL);
    tu_ok(clcnn_dense_backward_data(ctx, y, w, dx_flat));
    /* fused with the ReLU before: x (the forward input) must be given, of dx's shape */
    tu_ok(clcnn__dense_backward_data_act(ctx, y, w, x, dx_flat, 1));
    tu_expect_status(clcnn__dense_backward_data_act(ctx, y, w, NULL, dx_flat, 1),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn__dense_backward_data_act(ctx, y, w, x_other, dx_flat, 1),
                     CLCNN_ERR_SHAPE);
    tu_expect_message("dy has shape (2, 3, 1, 1) but x and w need (3, 3, 1, 1)");
    tu_expect_status(clcnn__dense_backward_data_act(ctx, y, w, dx_flat, dx_flat, 1),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dx overlaps x");
    tu_expect_status(clcnn__dense_forward_act(ctx, x, w_bad, b, y, 1), CLCNN_ERR_SHAPE);

    /* backward filter: x (2,4,2,2), dy (2,3,1,1) -> dw (3,16,1,1), db (3,1,1,1) */
    ck_assert_int_eq(clcnn_dense_backward_filter(NULL, x, y, w, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_dense_backward_filter(ctx, NULL, y, w, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("x is NULL");
    tu_expect_status(clcnn_dense_backward_filter(ctx, x, NULL, w, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dy is NULL");
    tu_expect_status(clcnn_dense_backward_filter(ctx, x, y, NULL, b),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("dw is NULL");
    tu_expect_status(clcnn_dense_backward_filter(ctx, x, y, w_bad, b), CLCNN_ERR_SHAPE);
    tu_expect_message("w has shape (3, 15, 1, 1)");
    tu_expect_status(clcnn_dense_backward_filter(ctx, x, y_bad, w, b), CLCNN_ERR_SHAPE);
    tu_expect_message("dy has shape (2, 3, 1, 2) but x and dw need (2, 3, 1, 1)");
    tu_expect_status(clcnn_dense_backward_filter(ctx, x, y, w, b_bad), CLCNN_ERR_SHAPE);
    tu_expect_message("db has shape (1, 3, 1, 1)");
    tu_expect_status(clcnn_dense_backward_filter(ctx, sq_x, sq_w, sq_w, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("overlaps");

    clcnn_tensor *ts[] = {x, w, b, y, w_bad, y_bad, b_bad, x_other, sq_x, sq_w, dx_flat};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        clcnn_tensor_destroy(ts[i]);
}
END_TEST

/* The GEMM descriptor checks. */
START_TEST(test_invalid_gemm)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_tensor *a = tu_tensor(1, 1, 4, 5, NULL), *b = tu_tensor(1, 1, 5, 6, NULL);
    clcnn_tensor *c = tu_tensor(1, 1, 4, 6, NULL), *bias = tu_tensor(1, 1, 1, 6, NULL);
    tu_ok(clcnn_tensor_fill(a, 1.0f));
    tu_ok(clcnn_tensor_fill(b, 1.0f));
    tu_ok(clcnn_tensor_fill(bias, 0.5f)); /* read by the valid call below */
    const clcnn__gemm_desc ok = {
        .M = 4, .N = 6, .K = 5, .alpha = 1, .a = a, .lda = 5, .b = b, .ldb = 6,
        .c = c, .ldc = 6, .bias = bias, .bias_mode = CLCNN__GEMM_BIAS_COL,
    };
    tu_ok(clcnn__gemm(ctx, &ok));
    clcnn__gemm_desc d;

    ck_assert_int_eq(clcnn__gemm(NULL, &ok), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__gemm(ctx, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    d = ok, d.M = 0;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_SHAPE);
    tu_expect_message("M=0");
    d = ok, d.trans_a = 2;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    d = ok, d.lda = 4;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("leading dimension 4 of A");
    d = ok, d.a_off = 1;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_SHAPE);
    tu_expect_message("A, a 4x5 matrix with row stride 5 at offset 1");
    d = ok, d.trans_b = 1; /* B (6,5) with ldb 6 needs 35 elements; it has 30 */
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_SHAPE);
    tu_expect_message("B, a 6x5 matrix");
    d = ok, d.N = 7;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    d = ok, d.c = NULL;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("C is NULL");
    d = ok, d.bias = NULL;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("bias is NULL");
    d = ok, d.bias_mode = CLCNN__GEMM_BIAS_ROW, d.bias_off = 3; /* 4 rows from 3 > 6 */
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_SHAPE);
    d = ok, d.bias_mode = (clcnn__gemm_bias)5;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    d = ok, d.c = b, d.ldc = 6;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("C overlaps A or B");
    d = ok, d.c = bias, d.M = 1, d.a = a;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("C overlaps bias");
    d = ok, d.mask = a, d.ldm = 6; /* a 4x6 mask needs 24 elements; a has 20 */
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_SHAPE);
    tu_expect_message("mask, a 4x6 matrix");
    d = ok, d.mask = c, d.ldm = 6;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("C overlaps mask");
    d = ok, d.mask = c, d.ldm = 5;
    tu_expect_status(clcnn__gemm(ctx, &d), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("leading dimension 5 of mask");
    tu_expect_status(clcnn__gemm_variant(ctx, &ok, clcnn__gemm_variant_count()),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("variant");
    ck_assert_ptr_null(clcnn__gemm_variant_name(-1));
    tu_expect_status(clcnn__gemm_colsum(ctx, 0, 6, c, 0, 6, 1, bias, 0), CLCNN_ERR_SHAPE);
    tu_expect_status(clcnn__gemm_colsum(ctx, 4, 6, c, 0, 6, 1, c, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__gemm_colsum(ctx, 4, 6, c, 0, 6, 1, bias, 1), CLCNN_ERR_SHAPE);

    clcnn_tensor_destroy(a);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(c);
    clcnn_tensor_destroy(bias);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("dense");
    TCase *tc = tcase_create("gemm");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_gemm_variant, 0, clcnn__gemm_variant_count());
    tcase_add_test(tc, test_gemm_colsum);
    suite_add_tcase(s, tc);

    tc = tcase_create("dense");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_dense, 0, DENSE_COUNT);
    tcase_add_loop_test(tc, test_dense_relu, 0, DENSE_COUNT);
    tcase_add_test(tc, test_dense_arena);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradcheck");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_reference_gradient);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_output_shape);
    tcase_add_test(tc, test_invalid_dense);
    tcase_add_test(tc, test_invalid_gemm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
