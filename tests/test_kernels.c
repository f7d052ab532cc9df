/*
 * The kernel families: how a context picks one (options, CLCNN_KERNELS, the
 * device type), that AUTO then chooses only that family's variants, and that
 * device limits too small for a tiled configuration are respected: such a
 * variant is refused without a launch, AUTO falls back to one that fits or to
 * the CPU family, and the results still equal the float64 reference; every
 * pass and the tiled GEMM on the GPU family's own choices, small enough for
 * oclgrind. The arithmetic of every variant is checked in test_conv2d and
 * test_dense (run once more with CLCNN_KERNELS=gpu as conv2d-gpu, dense-gpu
 * and net-gpu).
 */
#include <stdlib.h>
#include <string.h>

#include "conv2d.h"
#include "conv2d_ref.h"
#include "gemm.h"
#include "runtime.h"
#include "testutil.h"

static clcnn_tensor *tensor_on(clcnn_context *ctx, int n, int c, int h, int w,
                                  const float *data)
{
    clcnn_tensor *t = NULL;
    tu_ok(clcnn_tensor_create(ctx, n, c, h, w, &t));
    tu_ok(clcnn_tensor_write(t, data, clcnn_tensor_count(t)));
    return t;
}

static clcnn_context *context_of(clcnn_kernel_family family)
{
    clcnn_context_options o = {.kernels = family};
    clcnn_context *ctx = NULL;
    char err[512];
    ck_assert_msg(clcnn_context_create(&o, &ctx, err, sizeof err) == CLCNN_OK, "%s", err);
    return ctx;
}

START_TEST(test_family_choice)
{
    clcnn_context *gpu = context_of(CLCNN_KERNELS_GPU), *cpu = context_of(CLCNN_KERNELS_CPU);
    ck_assert_int_eq(clcnn_context_kernels(gpu), CLCNN_KERNELS_GPU);
    ck_assert_int_eq(clcnn_context_kernels(cpu), CLCNN_KERNELS_CPU);
    clcnn_context_destroy(gpu);
    clcnn_context_destroy(cpu);

    /* AUTO follows $CLCNN_KERNELS, and a value it does not know is an error */
    const char *saved = getenv("CLCNN_KERNELS");
    char *keep = saved ? strdup(saved) : NULL;
    setenv("CLCNN_KERNELS", "gpu", 1);
    clcnn_context *ctx = context_of(CLCNN_KERNELS_AUTO);
    ck_assert_int_eq(clcnn_context_kernels(ctx), CLCNN_KERNELS_GPU);
    clcnn_context_destroy(ctx);
    setenv("CLCNN_KERNELS", "fastest", 1);
    char err[512] = "";
    ctx = NULL;
    ck_assert_int_eq(clcnn_context_create(NULL, &ctx, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(ctx);
    ck_assert_msg(strstr(err, "CLCNN_KERNELS") && strstr(err, "fastest"), "message: %s", err);
    if (keep)
        setenv("CLCNN_KERNELS", keep, 1);
    else
        unsetenv("CLCNN_KERNELS");
    free(keep);

    clcnn_context_options bad = {.kernels = (clcnn_kernel_family)7};
    ck_assert_int_eq(clcnn_context_create(&bad, &ctx, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(err, "options.kernels is 7"), "message: %s", err);
}
END_TEST

/* Shapes of every kind the rules distinguish: a first layer, 1x1 strided,
 * 3x3 wide (Winograd on the GPU family), odd sizes with dilation. */
static const struct shape {
    int x[4], w[4];
    clcnn_conv2d_params p;
} shapes[] = {
    {{3, 1, 28, 28}, {6, 1, 5, 5}, {.pad_top = 2, .pad_bottom = 2, .pad_left = 2, .pad_right = 2}},
    {{2, 16, 9, 11}, {24, 16, 1, 1}, {.stride_h = 2, .stride_w = 2}},
    {{2, 32, 12, 10}, {40, 32, 3, 3}, {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1}},
    {{1, 5, 13, 17}, {7, 5, 3, 2}, {.pad_top = 2, .pad_right = 1, .stride_h = 3, .dilation_w = 2}},
};
enum { SHAPE_COUNT = (int)(sizeof shapes / sizeof shapes[0]) };

START_TEST(test_auto_stays_in_family)
{
    clcnn_context *gpu = context_of(CLCNN_KERNELS_GPU), *cpu = context_of(CLCNN_KERNELS_CPU);
    for (int i = 0; i < SHAPE_COUNT; i++)
        for (int pass = 0; pass < CLCNN__CONV2D_PASS_COUNT; pass++) {
            clcnn_conv_algo a;
            int v;
            clcnn__conv2d_choose(gpu, (clcnn__conv2d_pass)pass, shapes[i].x, shapes[i].w,
                                 &shapes[i].p, &a, &v);
            ck_assert_msg(clcnn__conv2d_variant_is_gpu((clcnn__conv2d_pass)pass, a, v),
                          "shape %d pass %d: the GPU family chose %s", i, pass,
                          clcnn__conv2d_variant_name((clcnn__conv2d_pass)pass, a, v));
            clcnn__conv2d_choose(cpu, (clcnn__conv2d_pass)pass, shapes[i].x, shapes[i].w,
                                 &shapes[i].p, &a, &v);
            ck_assert_msg(!clcnn__conv2d_variant_is_gpu((clcnn__conv2d_pass)pass, a, v),
                          "shape %d pass %d: the CPU family chose %s", i, pass,
                          clcnn__conv2d_variant_name((clcnn__conv2d_pass)pass, a, v));
        }
    clcnn_context_destroy(gpu);
    clcnn_context_destroy(cpu);
}
END_TEST

static double *widen(const float *p, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = p[i];
    return d;
}

/* Pass `pass` of shape s on ctx with (algo, variant) (variant -1: AUTO)
 * against the float64 reference on random data; returns the op's status.
 * Backward-filter adds to dw and db that start non-zero. */
static clcnn_status pass_checked(clcnn_context *ctx, const struct shape *s,
                                 clcnn__conv2d_pass pass, clcnn_conv_algo algo, int variant)
{
    conv2d_ref_geom g = {.N = s->x[0], .C = s->x[1], .H = s->x[2], .W = s->x[3],
                         .K = s->w[0], .R = s->w[2], .S = s->w[3],
                         .pad_top = s->p.pad_top, .pad_bottom = s->p.pad_bottom,
                         .pad_left = s->p.pad_left, .pad_right = s->p.pad_right,
                         .stride_h = s->p.stride_h ? s->p.stride_h : 1,
                         .stride_w = s->p.stride_w ? s->p.stride_w : 1,
                         .dil_h = s->p.dilation_h ? s->p.dilation_h : 1,
                         .dil_w = s->p.dilation_w ? s->p.dilation_w : 1};
    ck_assert(conv2d_ref_geom_finish(&g));
    const size_t nx = conv2d_ref_x_count(&g), nw = conv2d_ref_w_count(&g);
    const size_t ny = conv2d_ref_y_count(&g), nb = (size_t)g.K;
    float *x = tu_alloc(nx * sizeof *x), *w = tu_alloc(nw * sizeof *w);
    float *dy = tu_alloc(ny * sizeof *dy), *b = tu_alloc(nb * sizeof *b);
    tu_rng rng = tu_rng_make(11 + (uint64_t)pass);
    tu_fill(&rng, x, nx, -1, 1);
    tu_fill(&rng, w, nw, -1, 1);
    tu_fill(&rng, dy, ny, -1, 1);
    tu_fill(&rng, b, nb, -1, 1);
    double *xd = widen(x, nx), *wd = widen(w, nw), *dyd = widen(dy, ny), *bd = widen(b, nb);

    clcnn_tensor *tx = tensor_on(ctx, g.N, g.C, g.H, g.W, x);
    clcnn_tensor *tw = tensor_on(ctx, g.K, g.C, g.R, g.S, w);
    clcnn_tensor *ty = tensor_on(ctx, g.N, g.K, g.P, g.Q, dy);
    clcnn_tensor *tb = tensor_on(ctx, g.K, 1, 1, 1, b);
    clcnn_conv2d_params p = s->p;
    p.algo = algo;
    clcnn_status st;
    const clcnn_tensor *out;
    size_t n;
    double *ref;
    if (pass == CLCNN__CONV2D_FORWARD) {
        ref = tu_alloc((n = ny) * sizeof *ref);
        conv2d_ref_forward(&g, xd, wd, bd, ref);
        st = clcnn__conv2d_forward_variant(ctx, tx, tw, tb, ty, &p, variant);
        out = ty;
    } else if (pass == CLCNN__CONV2D_BACKWARD_DATA) {
        ref = tu_alloc((n = nx) * sizeof *ref);
        conv2d_ref_backward_data(&g, dyd, wd, ref);
        st = clcnn__conv2d_backward_data_variant(ctx, ty, tw, tx, &p, variant);
        out = tx;
    } else {
        /* dw starts as w, db as b: the pass adds to both */
        ref = tu_alloc((n = nw + nb) * sizeof *ref);
        memcpy(ref, wd, nw * sizeof *ref);
        memcpy(ref + nw, bd, nb * sizeof *ref);
        conv2d_ref_backward_filter(&g, xd, dyd, ref, ref + nw);
        st = clcnn__conv2d_backward_filter_variant(ctx, tx, ty, tw, tb, &p, variant);
        out = tw;
    }
    if (st == CLCNN_OK) {
        float *got = tu_alloc(n * sizeof *got);
        tu_ok(clcnn_tensor_read(out, got, clcnn_tensor_count(out)));
        if (pass == CLCNN__CONV2D_BACKWARD_FILTER)
            tu_ok(clcnn_tensor_read(tb, got + nw, nb));
        tu_compare(clcnn__conv2d_variant_name(pass, algo, variant), 11, got, ref, n, 1e-4,
                   1e-4);
        free(got);
    }
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tb);
    free(x);
    free(w);
    free(dy);
    free(b);
    free(xd);
    free(wd);
    free(dyd);
    free(bd);
    free(ref);
    return st;
}

static clcnn_status forward_checked(clcnn_context *ctx, const struct shape *s,
                                    clcnn_conv_algo algo, int variant)
{
    return pass_checked(ctx, s, CLCNN__CONV2D_FORWARD, algo, variant);
}

/* Every pass of every shape on the GPU family's own choice: with the odd
 * sizes above, the tiles' edges cut through rows, columns and the reduction
 * (tests/oclgrind.sh runs this with its race and uninitialised-value checks). */
START_TEST(test_gpu_family_passes)
{
    clcnn_context *ctx = context_of(CLCNN_KERNELS_GPU);
    for (int i = 0; i < SHAPE_COUNT; i++)
        for (int pass = 0; pass < CLCNN__CONV2D_PASS_COUNT; pass++)
            tu_ok(pass_checked(ctx, &shapes[i], (clcnn__conv2d_pass)pass, CLCNN_CONV_AUTO, -1));
    clcnn_context_destroy(ctx);
}
END_TEST

/* The tiled GEMM (mode 0) of every configuration against a plain loop:
 * C = alpha op(A) op(B) + beta C + bias, with ReLU, odd sizes. */
START_TEST(test_tiled_gemm)
{
    clcnn_context *ctx = context_of(CLCNN_KERNELS_GPU);
    const int M = 19, N = 37, K = 23;
    float *a = tu_alloc(M * K * sizeof *a), *b = tu_alloc(K * N * sizeof *b);
    float *c = tu_alloc(M * N * sizeof *c), *bias = tu_alloc(M * sizeof *bias);
    tu_rng rng = tu_rng_make(5);
    tu_fill(&rng, a, M * K, -1, 1);
    tu_fill(&rng, b, K * N, -1, 1);
    tu_fill(&rng, c, M * N, -1, 1);
    tu_fill(&rng, bias, M, -1, 1);
    clcnn_tensor *ta = tensor_on(ctx, 1, 1, M, K, a), *tb = tensor_on(ctx, 1, 1, K, N, b);
    clcnn_tensor *tbias = tensor_on(ctx, 1, 1, 1, M, bias);
    double *ref = tu_alloc(M * N * sizeof *ref);
    float *got = tu_alloc(M * N * sizeof *got);
    for (int cfg = 0; cfg < clcnn__tiled_config_count(); cfg++)
        for (int trans = 0; trans < 4; trans++) {
            const int ta_ = trans & 1, tb_ = trans >> 1;
            /* the same numbers read as the transposes' storage */
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double sum = 0;
                    for (int k = 0; k < K; k++)
                        sum += (double)(ta_ ? a[k * M + i] : a[i * K + k]) *
                               (double)(tb_ ? b[j * K + k] : b[k * N + j]);
                    const double v = 0.5 * sum + 2.0 * c[i * N + j] + bias[i];
                    ref[i * N + j] = v > 0 ? v : 0;
                }
            clcnn_tensor *tc = tensor_on(ctx, 1, 1, M, N, c);
            const clcnn__tiled_product prod = {
                .M = M, .N = N, .K = K, .batches = 1, .trans_a = ta_, .trans_b = tb_,
                .alpha = 0.5f, .beta = 2.0f, .a = ta->mem, .lda = ta_ ? M : K,
                .b = tb->mem, .ldb = tb_ ? K : N, .c = tc->mem, .ldc = N,
                .bias = tbias->mem, .bias_mode = CLCNN__GEMM_BIAS_ROW, .epilogue = 1,
            };
            tu_ok(clcnn__tiled_gemm(ctx, clcnn__tiled_config_at(cfg), &prod));
            tu_ok(clcnn_tensor_read(tc, got, (size_t)M * N));
            tu_compare(clcnn__tiled_config_at(cfg)->name, 5, got, ref, (size_t)M * N, 1e-5,
                       1e-5);
            clcnn_tensor_destroy(tc);
        }
    clcnn_tensor_destroy(ta);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(tbias);
    free(a);
    free(b);
    free(c);
    free(bias);
    free(ref);
    free(got);
    clcnn_context_destroy(ctx);
}
END_TEST

static int find_variant(clcnn_conv_algo algo, const char *name)
{
    for (int v = 0; v < clcnn__conv2d_variant_count(CLCNN__CONV2D_FORWARD, algo); v++)
        if (strcmp(clcnn__conv2d_variant_name(CLCNN__CONV2D_FORWARD, algo, v), name) == 0)
            return v;
    ck_abort_msg("no forward variant named %s", name);
    return -1;
}

static unsigned long long launches(const clcnn_context *ctx)
{
    clcnn_live_objects o;
    tu_ok(clcnn_context_live_objects(ctx, &o));
    return o.launches;
}

START_TEST(test_small_limits)
{
    clcnn_context *ctx = context_of(CLCNN_KERNELS_GPU);
    const struct shape *wide = &shapes[2];
    int y_shape[4];
    ck_assert_int_eq(clcnn_conv2d_output_shape(wide->x, wide->w, &wide->p, y_shape, NULL, 0),
                     CLCNN_OK);
    const long long pixels = (long long)y_shape[0] * y_shape[2] * y_shape[3];

    /* a device of work-groups of 16 and 4 KiB of local memory: only the
     * 16x16 tile fits, and it is what the choice and AUTO take */
    ctx->max_work_group_size = 16;
    ctx->local_mem_bytes = 4096;
    for (int i = 0; i < clcnn__tiled_config_count(); i++) {
        const clcnn__tiled_config *c = clcnn__tiled_config_at(i);
        const char *why = NULL;
        const int fits = clcnn__tiled_fits(ctx, c, &why);
        ck_assert_int_eq(fits, c->bm == 16 && c->bn == 16);
        ck_assert(fits || why != NULL);
    }
    const clcnn__tiled_config *chosen =
        clcnn__tiled_config_at(clcnn__tiled_choose(ctx, wide->w[0], pixels));
    ck_assert_ptr_nonnull(chosen);
    ck_assert_int_eq(chosen->bm, 16);
    ck_assert_int_eq(chosen->bn, 16);

    /* a variant that does not fit is refused and never launched */
    const unsigned long long before = launches(ctx);
    ck_assert_int_eq(forward_checked(ctx, wide, CLCNN_CONV_GEMM,
                                     find_variant(CLCNN_CONV_GEMM, "tiled 128x64")),
                     CLCNN_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(clcnn_last_error(ctx), "work-group"), "message: %s",
                  clcnn_last_error(ctx));
    ck_assert(launches(ctx) == before);
    for (int i = 0; i < SHAPE_COUNT; i++)
        tu_ok(forward_checked(ctx, &shapes[i], CLCNN_CONV_AUTO, -1));
    ck_assert(launches(ctx) > before);

    /* work-groups of 8: no tiled configuration fits; AUTO runs the CPU
     * family's kernels, whose work-groups of one fit any device */
    ctx->max_work_group_size = 8;
    ck_assert_int_eq(clcnn__tiled_choose(ctx, wide->w[0], pixels), -1);
    for (int i = 0; i < SHAPE_COUNT; i++)
        for (int pass = 0; pass < CLCNN__CONV2D_PASS_COUNT; pass++) {
            clcnn_conv_algo a;
            int v;
            clcnn__conv2d_choose(ctx, (clcnn__conv2d_pass)pass, shapes[i].x, shapes[i].w,
                                 &shapes[i].p, &a, &v);
            ck_assert(v >= 0);
            ck_assert(!clcnn__conv2d_variant_is_gpu((clcnn__conv2d_pass)pass, a, v));
        }
    for (int i = 0; i < SHAPE_COUNT; i++)
        tu_ok(forward_checked(ctx, &shapes[i], CLCNN_CONV_AUTO, -1));

    /* local memory alone too small */
    ctx->max_work_group_size = 1024;
    ctx->local_mem_bytes = 1024;
    ck_assert_int_eq(clcnn__tiled_choose(ctx, wide->w[0], pixels), -1);
    clcnn_context_destroy(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("families");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_family_choice);
    tcase_add_test(tc, test_auto_stays_in_family);
    tcase_add_test(tc, test_small_limits);
    tcase_add_test(tc, test_gpu_family_passes);
    tcase_add_test(tc, test_tiled_gemm);
    suite_add_tcase(s, tc);
    return tu_main(s);
}
