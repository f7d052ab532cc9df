/*
 * conv2d outside the arithmetic: the pure output-shape check, the variant
 * table and the AUTO rule (every variant runs some case, the rule picks one
 * that runs), the tuning key and tuning-file entries overriding the rule, and
 * the invalid-argument table with its messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn_cl.h"
#include "conv2d.h"
#include "conv2d_cases.h"
#include "testutil.h"
#include "tuning.h"

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

/* ---- tuning entries ---- */

/* A context with its own tuning table, so that the entries cannot reach the
 * other tests' shared context. */
START_TEST(test_tuning)
{
    clcnn_context *ctx = NULL;
    tu_ok(clcnn_context_create(NULL, &ctx, NULL, 0));
    const int xs[4] = {2, 3, 13, 13}, ws[4] = {7, 3, 3, 3};
    clcnn_conv2d_params p = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    char key[160], key2[160];
    clcnn__conv2d_tuning_key(xs, ws, &p, key, sizeof key);
    ck_assert_str_eq(key, "x2x3x13x13-w7x3x3x3-pad1,1,1,1-str1,1-dil1,1");
    /* the same shapes at stride 2, where Winograd cannot run */
    clcnn_conv2d_params p2 = p;
    p2.stride_h = p2.stride_w = 2;
    clcnn__conv2d_tuning_key(xs, ws, &p2, key2, sizeof key2);
    ck_assert_str_eq(key2, "x2x3x13x13-w7x3x3x3-pad1,1,1,1-str2,2-dil1,1");
    char small[8];
    clcnn__conv2d_tuning_key(xs, ws, &p, small, sizeof small);
    ck_assert_uint_eq(strlen(small), 7);

    char text[1024];
    snprintf(text, sizeof text,
             "clcnn-tuning 2\n"
             "conv2d.fwd %s %d 1 1.5 gemm 4x8 kc128\n"
             "conv2d.bwd_data %s %d 0\n"
             "conv2d.bwd_filter %s %d 99\n"
             "conv2d.fwd %s %d 0\n",
             key, (int)CLCNN_CONV_GEMM, key, (int)CLCNN_CONV_WINOGRAD, key,
             (int)CLCNN_CONV_GEMM, key2, (int)CLCNN_CONV_WINOGRAD);
    tu_ok(clcnn__tuning_load_text(ctx, text, strlen(text)));

    clcnn_conv_algo algo, rule_algo;
    int v, rule_v;
    clcnn__conv2d_select(ctx, CLCNN__CONV2D_FORWARD, xs, ws, &p, &algo, &v);
    ck_assert_int_eq(algo, CLCNN_CONV_GEMM);
    ck_assert_int_eq(v, 1);
    clcnn__conv2d_select(ctx, CLCNN__CONV2D_BACKWARD_DATA, xs, ws, &p, &algo, &v);
    ck_assert_int_eq(algo, CLCNN_CONV_WINOGRAD);
    ck_assert_int_eq(v, 0);
    /* an entry naming a variant that does not exist, or an algorithm that
     * cannot run the shapes, or another algorithm than the one asked for,
     * leaves the rule's choice */
    clcnn__conv2d_select(ctx, CLCNN__CONV2D_BACKWARD_FILTER, xs, ws, &p, &algo, &v);
    clcnn__conv2d_choose(ctx, CLCNN__CONV2D_BACKWARD_FILTER, xs, ws, &p, &rule_algo, &rule_v);
    ck_assert_int_eq(algo, rule_algo);
    ck_assert_int_eq(v, rule_v);
    clcnn__conv2d_select(ctx, CLCNN__CONV2D_FORWARD, xs, ws, &p2, &algo, &v);
    clcnn__conv2d_choose(ctx, CLCNN__CONV2D_FORWARD, xs, ws, &p2, &rule_algo, &rule_v);
    ck_assert_int_eq(algo, rule_algo);
    ck_assert_int_eq(v, rule_v);
    clcnn_conv2d_params direct = p;
    direct.algo = CLCNN_CONV_DIRECT;
    clcnn__conv2d_select(ctx, CLCNN__CONV2D_FORWARD, xs, ws, &direct, &algo, &v);
    ck_assert_int_eq(algo, CLCNN_CONV_DIRECT);

    /* the public call runs the tuned variant: bit-identical to forcing it */
    clcnn_tensor *x, *w, *y, *y2;
    tu_ok(clcnn_tensor_create(ctx, 2, 3, 13, 13, &x));
    tu_ok(clcnn_tensor_create(ctx, 7, 3, 3, 3, &w));
    tu_ok(clcnn_tensor_create(ctx, 2, 7, 13, 13, &y));
    tu_ok(clcnn_tensor_create(ctx, 2, 7, 13, 13, &y2));
    tu_rng rng = tu_rng_make(900);
    float xv[2 * 3 * 13 * 13], wv[7 * 3 * 3 * 3];
    tu_fill(&rng, xv, sizeof xv / sizeof xv[0], -1.0f, 1.0f);
    tu_fill(&rng, wv, sizeof wv / sizeof wv[0], -1.0f, 1.0f);
    tu_ok(clcnn_tensor_write(x, xv, sizeof xv / sizeof xv[0]));
    tu_ok(clcnn_tensor_write(w, wv, sizeof wv / sizeof wv[0]));
    tu_ok(clcnn_conv2d_forward(ctx, x, w, NULL, y, &p));
    clcnn_conv2d_params gemm = p;
    gemm.algo = CLCNN_CONV_GEMM;
    tu_ok(clcnn__conv2d_forward_variant(ctx, x, w, NULL, y2, &gemm, 1));
    const size_t ny = 2 * 7 * 13 * 13;
    float *a = malloc(ny * sizeof *a), *b = malloc(ny * sizeof *b);
    ck_assert(a && b);
    tu_ok(clcnn_tensor_read(y, a, ny));
    tu_ok(clcnn_tensor_read(y2, b, ny));
    ck_assert_mem_eq(a, b, ny * sizeof *a);
    free(a), free(b);
    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(w);
    clcnn_tensor_destroy(y);
    clcnn_tensor_destroy(y2);
    clcnn_context_destroy(ctx);
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
    Suite *s = suite_create("conv2d_api");
    TCase *tc = tcase_create("shape");
    tcase_add_test(tc, test_output_shape);
    tcase_add_test(tc, test_variant_table);
    suite_add_tcase(s, tc);

    tc = tcase_create("tuning");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_tuning);
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
