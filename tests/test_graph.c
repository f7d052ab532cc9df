/*
 * Networks that are graphs: named outputs, from(@x) and add(@x) joins,
 * batch norm, dropout, global average pooling and grouped convolution as
 * layers; the forward pass against a float64 composition of the plain C
 * references, the gradient against central differences, training and
 * inference modes, batch norm folding, model files (version 3, and an old
 * version-2 file written here byte by byte), and bad specs.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "act_ref.h"
#include "add_ref.h"
#include "batchnorm_ref.h"
#include "conv2d_ref.h"
#include "dense_ref.h"
#include "global_avgpool_ref.h"
#include "net.h"
#include "net_gradient.h"
#include "testutil.h"

static float *layer_params(clcnn_net *net, int i)
{
    clcnn_layer_info info;
    tu_ok(clcnn_net_layer(net, i, &info));
    float *p = tu_alloc((info.param_count ? info.param_count : 1) * sizeof *p);
    tu_ok(clcnn_net_layer_params(net, i, p, info.param_count));
    return p;
}

static double *to_double(const float *p, size_t n)
{
    double *d = tu_alloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = p[i];
    return d;
}

/* y = conv(x) of layer i, with the network's own weights, in float64. */
static double *ref_conv(clcnn_net *net, int i, const double *x, int n, int c, int h, int w,
                        int k, int r, int pad, int groups, int *p, int *q)
{
    conv2d_ref_geom g = {.N = n, .C = c, .H = h, .W = w, .K = k, .R = r, .S = r,
                         .pad_top = pad, .pad_bottom = pad, .pad_left = pad, .pad_right = pad,
                         .stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1,
                         .groups = groups};
    ck_assert(conv2d_ref_geom_finish(&g));
    float *pf = layer_params(net, i);
    size_t wn = conv2d_ref_w_count(&g);
    double *pw = to_double(pf, wn + (size_t)k);
    double *y = tu_alloc(conv2d_ref_y_count(&g) * sizeof *y);
    conv2d_ref_forward(&g, x, pw, pw + wn, y);
    free(pf);
    free(pw);
    *p = g.P, *q = g.Q;
    return y;
}

/* Training-mode batch norm of layer i, in place, in float64. */
static void ref_bn(clcnn_net *net, int i, double *x, int n, int c, int h, int w)
{
    float *pf = layer_params(net, i);
    double *gb = to_double(pf, 2 * (size_t)c);
    size_t count = (size_t)n * c * h * w;
    double *y = tu_alloc(count * sizeof *y), mean[8], var[8];
    ck_assert_int_le(c, 8);
    batchnorm_ref_forward_train(n, c, h, w, x, gb, gb + c, 1e-5, y, mean, var);
    memcpy(x, y, count * sizeof *y);
    free(y);
    free(gb);
    free(pf);
}

/* A residual block with batch norm and a grouped convolution, then global
 * pooling and a dense classifier: the logits equal the composition of the
 * float64 references of each op, with the network's weights. */
START_TEST(test_graph_forward_matches_reference)
{
    const int n = 3, c = 2, h = 7, w = 6, k = 4, classes = 3;
    const char *spec = "conv(4,3,pad=1) bn relu @a conv(4,3,pad=1,groups=2) bn add(@a) relu "
                       "global_avgpool dense(3)";
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), spec, n, c, h, w, &net));
    tu_ok(clcnn_net_init(net, 3));
    /* biases and batch norm's gamma and beta away from their zero and one */
    for (int i = 0; i < clcnn_net_layer_count(net); i++) {
        clcnn_layer_info info;
        tu_ok(clcnn_net_layer(net, i, &info));
        if (!info.param_count)
            continue;
        float *p = layer_params(net, i);
        tu_rng rng = tu_rng_make(40 + (uint64_t)i);
        for (size_t j = 0; j < info.param_count; j++)
            p[j] += (float)tu_uniform(&rng, -0.3, 0.3);
        tu_ok(clcnn_net_set_layer_params(net, i, p, info.param_count));
        free(p);
    }
    float x[3 * 2 * 7 * 6];
    tu_rng rng = tu_rng_make(11);
    tu_fill(&rng, x, sizeof x / sizeof x[0], -1, 1);
    tu_ok(clcnn_net_forward(net, x, n));
    float logits[3 * 3];
    tu_ok(clcnn_net_layer_output(net, 8, logits, sizeof logits / sizeof logits[0]));

    int p, q;
    double *xd = to_double(x, sizeof x / sizeof x[0]);
    double *a = ref_conv(net, 0, xd, n, c, h, w, k, 3, 1, 1, &p, &q);
    size_t count = (size_t)n * k * p * q;
    ref_bn(net, 1, a, n, k, p, q);
    act_ref_forward(CLCNN_ACT_RELU, 0, a, a, count);
    double *b = ref_conv(net, 3, a, n, k, p, q, k, 3, 1, 2, &p, &q);
    ref_bn(net, 4, b, n, k, p, q);
    add_ref_forward(b, a, b, count);
    act_ref_forward(CLCNN_ACT_RELU, 0, b, b, count);
    double pooled[3 * 4], ref[3 * 3];
    global_avgpool_ref_forward(n, k, p, q, b, pooled);
    float *dense = layer_params(net, 8);
    double *dw = to_double(dense, (size_t)classes * k + classes);
    dense_ref_forward(n, k, classes, pooled, dw, dw + classes * k, ref);
    tu_compare("residual logits", 11, logits, ref, sizeof ref / sizeof ref[0], 1e-4, 1e-5);
    free(xd), free(a), free(b), free(dense), free(dw);
    clcnn_net_destroy(net);
}
END_TEST

/* Every parameter's gradient through a graph where gradient paths join
 * (@a is read by four layers, two of them adds), with batch norm in
 * training mode, grouped and depthwise convolutions, dropout (its mask is
 * fixed while no step is taken) and global pooling, against central
 * differences of the loss. Smooth activations, so that differences hold. */
START_TEST(test_graph_gradient)
{
    const int n = 3;
    const char *spec = "conv(4,3,pad=1) bn tanh @a conv(4,3,pad=1,groups=2) bn add(@a) tanh @b "
                       "from(@a) conv(4,1) add(@b) @c from(@a) conv(4,3,pad=1,groups=4) "
                       "add(@c) dropout(0.3) global_avgpool dense(3)";
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), spec, n, 2, 7, 6, &net));
    tu_ok(clcnn_net_init(net, 9));
    float x[3 * 2 * 7 * 6], labels[3] = {2, 0, 1};
    tu_rng rng = tu_rng_make(5);
    tu_fill(&rng, x, sizeof x / sizeof x[0], -2, 2);
    size_t count = clcnn_net_param_count(net);
    float *params = tu_read(net->params);
    for (size_t i = 0; i < count; i++) /* biases, gamma, beta off their defaults */
        params[i] += (float)tu_uniform(&rng, -0.2, 0.2);
    tu_ok(clcnn_tensor_write(net->params, params, count));
    free(params);
    tu_check_net_gradient(net, x, labels, n, 2, 3e-2, 75);
    clcnn_net_destroy(net);
}
END_TEST

/* The built-in graph models build at 28 x 28, their joins where the
 * architecture has them, and the parameter counts the layer shapes give. */
START_TEST(test_builtin_graphs)
{
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "resnet", 2, 1, 28, 28, &net));
    /* stem 32; block 32-32; block 64 (stride 2) with a 1x1 projection; the
     * same at 128; dense 10 (conv: K*C*R*S + K, bn: 2K) */
    size_t convs = (32 * 1 * 9 + 32) + 2 * (32 * 32 * 9 + 32) + (64 * 32 * 9 + 64) +
                   (64 * 64 * 9 + 64) + (64 * 32 + 64) + (128 * 64 * 9 + 128) +
                   (128 * 128 * 9 + 128) + (128 * 64 + 128);
    size_t bns = 2 * (32 * 3 + 64 * 3 + 128 * 3);
    ck_assert_uint_eq(clcnn_net_param_count(net), convs + bns + 128 * 10 + 10);
    int adds = 0, froms = 0;
    for (int i = 0; i < net->layer_count; i++) {
        adds += net->layers[i].d.kind == CLCNN__LAYER_ADD;
        froms += net->layers[i].d.input != i - 1;
    }
    ck_assert_int_eq(adds, 3);
    ck_assert_int_eq(froms, 2);
    /* the canonical spec plans to the same network */
    clcnn_net *again = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), clcnn_net_spec(net), 2, 1, 28, 28, &again));
    ck_assert_str_eq(clcnn_net_spec(again), clcnn_net_spec(net));
    ck_assert_uint_eq(clcnn_net_param_count(again), clcnn_net_param_count(net));
    clcnn_net_destroy(again);
    clcnn_net_destroy(net);

    tu_ok(clcnn_net_create(tu_ctx(), "mobilenet", 2, 1, 28, 28, &net));
    /* stem 32; depthwise 3x3 (C*9 + C) then 1x1 (K*C + K) blocks 32-64,
     * 64-128 (stride 2), 128-128, 128-256 (stride 2), 256-256; dense 10 */
    size_t dw = (32 * 9 + 32) + (64 * 9 + 64) + 2 * (128 * 9 + 128) + (256 * 9 + 256);
    size_t pw = (64 * 32 + 64) + (128 * 64 + 128) + (128 * 128 + 128) + (256 * 128 + 256) +
                (256 * 256 + 256);
    size_t mbn = 2 * (32 + 32 + 64 + 64 + 128 + 128 + 128 + 128 + 256 + 256 + 256);
    ck_assert_uint_eq(clcnn_net_param_count(net), (32 * 9 + 32) + dw + pw + mbn + 256 * 10 + 10);
    clcnn_net_destroy(net);
}
END_TEST

/* Bad graphs are refused with a message naming the layer. */
START_TEST(test_graph_bad_specs)
{
    const struct {
        const char *spec;
        clcnn_status status;
        const char *needle;
    } cases[] = {
        {"conv(4,3) frob dense(10)", CLCNN_ERR_FORMAT, "layer 2 \"frob\""},
        {"conv(4,3,pad=1) @a conv(5,3,pad=1) add(@a) flatten dense(3)", CLCNN_ERR_SHAPE,
         "layer 3 add(@a)"},
        {"conv(4,3,pad=1) add(@b) @b flatten dense(3)", CLCNN_ERR_FORMAT, "no cycles"},
        {"conv(4,3,pad=1) from(@z) relu flatten dense(3)", CLCNN_ERR_FORMAT, "from(@z)"},
        {"conv(4,3,groups=3) flatten dense(3)", CLCNN_ERR_SHAPE, "layer 1 conv(4,3,groups=3)"},
        {"conv(3,3,groups=2) flatten dense(3)", CLCNN_ERR_SHAPE, "groups=2 must divide"},
        {"conv(4,3) @a conv(4,3) from(@a) flatten dense(3)", CLCNN_ERR_FORMAT,
         "layer 2 conv(4,3) is read by no"},
        {"conv(4,3) @a relu @a flatten dense(2)", CLCNN_ERR_FORMAT, "@a names two"},
        {"@a conv(4,3) flatten dense(2)", CLCNN_ERR_FORMAT, "must follow a layer"},
        {"conv(4,3) @1x flatten dense(2)", CLCNN_ERR_FORMAT, "bad name"},
        {"conv(4,3) flatten dense(2) from(@input)", CLCNN_ERR_FORMAT, "at the end"},
        {"bn(momentum=2) flatten dense(2)", CLCNN_ERR_FORMAT, "layer 1"},
        {"dropout(1) flatten dense(2)", CLCNN_ERR_FORMAT, "layer 1"},
        {"conv(3,3) @b global_avgpool add(@b) flatten dense(2)", CLCNN_ERR_SHAPE,
         "layer 3 add(@b)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clcnn_net *net = (clcnn_net *)1;
        clcnn_status st = clcnn_net_create(tu_ctx(), cases[i].spec, 2, 2, 9, 9, &net);
        ck_assert_msg(st == cases[i].status, "spec \"%s\": expected %s, got %s (%s)",
                      cases[i].spec, clcnn_status_name(cases[i].status), clcnn_status_name(st),
                      clcnn_last_error(tu_ctx()));
        ck_assert_ptr_null(net);
        ck_assert_msg(strstr(clcnn_last_error(tu_ctx()), cases[i].needle),
                      "spec \"%s\": the message \"%s\" lacks \"%s\"", cases[i].spec,
                      clcnn_last_error(tu_ctx()), cases[i].needle);
    }
    /* the network input may be read by a later join */
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "conv(2,3,pad=1) add(@input) flatten dense(2)", 2, 2, 5, 5,
                           &net));
    clcnn_net_destroy(net);
}
END_TEST

static void train_steps(clcnn_net *net, int steps, int n, int c, int h, int w, uint64_t seed)
{
    size_t count = (size_t)n * c * h * w;
    float *x = tu_alloc(count * sizeof *x), labels[64];
    tu_rng rng = tu_rng_make(seed);
    for (int s = 0; s < steps; s++) {
        tu_fill(&rng, x, count, -1, 1);
        for (int i = 0; i < n; i++)
            labels[i] = (float)(i % clcnn_net_classes(net));
        tu_ok(clcnn_net_train_batch(net, x, labels, n, 0.01f));
    }
    free(x);
}

/* Training and inference modes: batch norm's running statistics move only in
 * training (not in prepare), inference is deterministic and differs from
 * training's batch statistics, folding batch norm into the convolution gives
 * the unfolded result, and backward after an inference pass is refused. */
START_TEST(test_modes_and_folding)
{
    const int n = 4, c = 3, h = 8, w = 7;
    const char *spec = "conv(6,3,pad=1) bn relu conv(6,3,pad=1,groups=6) bn relu @a "
                       "conv(6,1) bn add(@a) dropout(0.25) global_avgpool dense(4)";
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), spec, n, c, h, w, &net));
    ck_assert_int_eq(clcnn_net_training(net), 1);
    /* both conv-bn-relu runs fold into their convolution; the bn before
     * the add folds alone */
    ck_assert_int_eq(net->layers[0].folds_relu, 3);
    ck_assert_int_eq(net->layers[3].folds_relu, 6);
    ck_assert_int_eq(net->layers[6].folds_bn, 8);
    ck_assert_int_eq(net->layers[6].folds_relu, 0);
    float *stats0 = tu_read(net->stats);
    tu_ok(clcnn_net_prepare(net));
    float *stats1 = tu_read(net->stats);
    ck_assert_mem_eq(stats0, stats1, net->stats_count * sizeof *stats0);
    train_steps(net, 5, n, c, h, w, 21);
    float *stats2 = tu_read(net->stats);
    ck_assert(memcmp(stats1, stats2, net->stats_count * sizeof *stats1) != 0);

    float x[4 * 3 * 8 * 7], labels[4] = {0, 1, 2, 3};
    tu_rng rng = tu_rng_make(8);
    tu_fill(&rng, x, sizeof x / sizeof x[0], -1, 1);
    float folded[16], unfolded[16], again[16], train_mode[16];
    tu_ok(clcnn_net_predict(net, x, n, folded));
    net->fold_off = 1;
    tu_ok(clcnn_net_predict(net, x, n, unfolded));
    net->fold_off = 0;
    double ref[16];
    for (int i = 0; i < 16; i++)
        ref[i] = unfolded[i];
    tu_compare("folded batch norm", 8, folded, ref, 16, 1e-5, 1e-6);
    tu_ok(clcnn_net_predict(net, x, n, again));
    ck_assert_mem_eq(folded, again, sizeof folded);
    /* the statistics of an inference pass stay */
    float *stats3 = tu_read(net->stats);
    ck_assert_mem_eq(stats2, stats3, net->stats_count * sizeof *stats2);

    /* training mode: batch statistics and dropout, another result */
    tu_ok(clcnn_net_forward(net, x, n));
    tu_ok(clcnn_softmax_forward(tu_ctx(), net->layers[net->layer_count - 1].y, net->probs));
    tu_ok(clcnn_tensor_read(net->probs, train_mode, 16));
    double diff = 0;
    for (int i = 0; i < 16; i++)
        diff = fmax(diff, fabs(train_mode[i] - folded[i]));
    ck_assert_msg(diff > 1e-4, "training and inference modes agree (%g)", diff);

    /* inference mode through clcnn_net_forward, and backward refused */
    tu_ok(clcnn_net_set_training(net, 0));
    tu_ok(clcnn_net_forward(net, x, n));
    tu_expect_status(clcnn_net_backward(net, labels), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("inference mode");
    tu_ok(clcnn_net_set_training(net, 1));
    free(stats0), free(stats1), free(stats2), free(stats3);
    clcnn_net_destroy(net);
}
END_TEST

/* A trained graph model, saved and loaded, predicts bit-identically: its
 * parameters and batch norm statistics come back exactly. */
START_TEST(test_graph_save_load)
{
    const int n = 3, c = 1, h = 12, w = 12;
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(),
                           "conv(4,3,pad=1) bn relu @a conv(4,3,pad=1) bn add(@a) relu @b "
                           "from(@a) conv(8,1,stride=2) bn relu @c "
                           "from(@b) conv(8,3,pad=1,stride=2) add(@c) global_avgpool "
                           "dropout(0.5) dense(3)",
                           n, c, h, w, &net));
    train_steps(net, 4, n, c, h, w, 3);
    char path[] = "/tmp/clcnn-graph-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    tu_ok(clcnn_net_save(net, path, NULL));
    clcnn_net *loaded = NULL;
    tu_ok(clcnn_net_load(tu_ctx(), path, 0, &loaded, NULL, NULL));
    ck_assert_str_eq(clcnn_net_spec(loaded), clcnn_net_spec(net));
    float *p0 = tu_read(net->params), *p1 = tu_read(loaded->params);
    float *s0 = tu_read(net->stats), *s1 = tu_read(loaded->stats);
    ck_assert_mem_eq(p0, p1, net->param_count * sizeof *p0);
    ck_assert_mem_eq(s0, s1, net->stats_count * sizeof *s0);
    float x[3 * 12 * 12], a[9], b[9];
    tu_rng rng = tu_rng_make(4);
    tu_fill(&rng, x, sizeof x / sizeof x[0], -1, 1);
    tu_ok(clcnn_net_predict(net, x, n, a));
    tu_ok(clcnn_net_predict(loaded, x, n, b));
    ck_assert_mem_eq(a, b, sizeof a);
    free(p0), free(p1), free(s0), free(s1);
    clcnn_net_destroy(loaded);
    clcnn_net_destroy(net);
    unlink(path);
}
END_TEST

static void put32(unsigned char **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *(*p)++ = (unsigned char)(v >> (8 * i));
}

/* A version-2 model file, the format before batch norm, written byte by
 * byte from its documented layout, still loads with its weights. */
START_TEST(test_version2_file_loads)
{
    const char *spec = "conv(2,3) relu flatten dense(3)";
    /* conv w (2,1,3,3), b (2); dense w (3,18), b (3) */
    const size_t count = 18 + 2 + 54 + 3;
    float params[77];
    tu_rng rng = tu_rng_make(77);
    tu_fill(&rng, params, count, -1, 1);
    unsigned char buf[1024], *p = buf;
    memcpy(p, "CLCNNMDL", 8), p += 8;
    put32(&p, 2), put32(&p, 0), put32(&p, (uint32_t)strlen(spec));
    memcpy(p, spec, strlen(spec)), p += strlen(spec);
    const uint32_t header[] = {2, 1, 5, 5, 4, 2, 1, 3, 3, 2, 1, 1, 1, 3, 18, 1, 1, 3, 1, 1, 1};
    for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
        put32(&p, header[i]);
    put32(&p, (uint32_t)count), put32(&p, 0); /* u64 */
    memcpy(p, params, count * sizeof *params), p += count * sizeof *params;
    put32(&p, (uint32_t)crc32(0L, buf, (uInt)(p - buf)));
    char path[] = "/tmp/clcnn-v2-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, (size_t)(p - buf)), p - buf);
    close(fd);
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_load(tu_ctx(), path, 0, &net, NULL, NULL));
    ck_assert_str_eq(clcnn_net_spec(net), spec);
    float *got = tu_read(net->params);
    ck_assert_mem_eq(got, params, count * sizeof *params);
    free(got);
    clcnn_net_destroy(net);
    unlink(path);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_graph_forward_matches_reference);
    tcase_add_test(tc, test_graph_gradient);
    tcase_add_test(tc, test_builtin_graphs);
    tcase_add_test(tc, test_graph_bad_specs);
    tcase_add_test(tc, test_modes_and_folding);
    tcase_add_test(tc, test_graph_save_load);
    tcase_add_test(tc, test_version2_file_loads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
