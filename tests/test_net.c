/*
 * Sequential networks: spec parsing and shapes, the whole network's gradient
 * against central differences, partial batches, training that must learn
 * (loss falls, 256 MNIST images overfitted to >= 99%). Model files and
 * checkpoints are tests/test_checkpoint.c's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "net.h"
#include "net_gradient.h"
#include "testutil.h"

START_TEST(test_builtin_specs)
{
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "lenet5", 4, 1, 28, 28, &net));
    ck_assert_str_eq(clcnn_net_spec(net),
                     "conv(6,5,pad=2) relu maxpool(2) conv(16,5) relu maxpool(2) flatten "
                     "dense(120) relu dense(84) relu dense(10)");
    /* 156 + 2416 + 48120 + 10164 + 850 */
    ck_assert_uint_eq(clcnn_net_param_count(net), 61706);
    ck_assert_int_eq(clcnn_net_classes(net), 10);
    ck_assert_int_eq(clcnn_net_layer_count(net), 12);
    clcnn_layer_info info;
    tu_ok(clcnn_net_layer(net, 3, &info));
    ck_assert_str_eq(info.text, "conv(16,5)");
    ck_assert_int_eq(info.out_shape[0], 4);
    ck_assert_int_eq(info.out_shape[1], 16);
    ck_assert_int_eq(info.out_shape[2], 10);
    ck_assert_uint_eq(info.param_count, 2416);
    clcnn_net_destroy(net);

    tu_ok(clcnn_net_create(tu_ctx(), "convnet", 2, 1, 28, 28, &net));
    /* 320 + 18496 + 73856 + 11530 */
    ck_assert_uint_eq(clcnn_net_param_count(net), 104202);
    tu_ok(clcnn_net_layer(net, 8, &info));
    ck_assert_str_eq(info.text, "flatten");
    ck_assert_int_eq(info.out_shape[1], 1152);
    clcnn_net_destroy(net);

    tu_ok(clcnn_net_create(tu_ctx(),
                           "  conv(4,3,5,pad=same,stride=2,dilation=2) leaky_relu(0.2)\t"
                           "avgpool(3,2) tanh dense(7) sigmoid dense(3) softmax",
                           1, 3, 17, 13, &net));
    ck_assert_str_eq(clcnn_net_spec(net), "conv(4,3,5,pad=same,stride=2,dilation=2) "
                                          "leaky_relu(0.2) avgpool(3,2) tanh dense(7) sigmoid "
                                          "dense(3) softmax");
    clcnn_net_destroy(net);

    /* padded pooling, the average counting the padding or not; include_pad
     * without padding is the plain average */
    tu_ok(clcnn_net_create(tu_ctx(),
                           "maxpool(3,2,pad=1) avgpool(3,1,include_pad=1,pad=1) "
                           "avgpool(2,pad=1) avgpool(1,include_pad=1) flatten dense(3)",
                           1, 2, 9, 8, &net));
    ck_assert_str_eq(clcnn_net_spec(net), "maxpool(3,2,pad=1) avgpool(3,1,pad=1,include_pad=1) "
                                          "avgpool(2,pad=1) avgpool(1) flatten dense(3)");
    ck_assert_int_eq(net->layers[0].d.pool.pad_left, 1);
    ck_assert_int_eq(net->layers[1].d.pool.mode, CLCNN_POOL_AVG_INCLUDE_PAD);
    ck_assert_int_eq(net->layers[2].d.pool.mode, CLCNN_POOL_AVG_EXCLUDE_PAD);
    ck_assert_int_eq(net->layers[3].d.pool.mode, CLCNN_POOL_AVG_EXCLUDE_PAD);
    /* 9x8 -> 5x4 -> 5x4 -> 3x3 */
    ck_assert_int_eq(net->layers[2].out_shape[2], 3);
    ck_assert_int_eq(net->layers[2].out_shape[3], 3);
    clcnn_net_destroy(net);
    clcnn_net_destroy(NULL);
}
END_TEST

START_TEST(test_bad_specs)
{
    static const struct {
        const char *spec;
        clcnn_status status;
    } cases[] = {
        {"", CLCNN_ERR_FORMAT},
        {"conv(6)", CLCNN_ERR_FORMAT},
        {"conv(6,5", CLCNN_ERR_FORMAT},
        {"conv(6,5,,pad=1)", CLCNN_ERR_FORMAT},
        {"conv(6,5,foo=1) dense(10)", CLCNN_ERR_FORMAT},
        {"dense(0)", CLCNN_ERR_FORMAT},
        {"dense(-3)", CLCNN_ERR_FORMAT},
        {"dense(10) softmax relu", CLCNN_ERR_FORMAT},
        {"transformer(12)", CLCNN_ERR_FORMAT},
        {"maxpool(2,2,2) dense(10)", CLCNN_ERR_FORMAT},
        {"maxpool(2,pad=1,include_pad=1) dense(10)", CLCNN_ERR_FORMAT},
        {"avgpool(2,pad=1,include_pad=2) dense(10)", CLCNN_ERR_FORMAT},
        {"avgpool(2,pad=-1) dense(10)", CLCNN_ERR_FORMAT},
        {"avgpool(2,pad=2) dense(10)", CLCNN_ERR_INVALID_ARGUMENT}, /* more than half the window */
        {"leaky_relu(nan) dense(10)", CLCNN_ERR_FORMAT},
        {"leaky_relu(.18e52) dense(10)", CLCNN_ERR_FORMAT}, /* infinite as a float */
        {"leaky_relu(-3.5e38) dense(10)", CLCNN_ERR_FORMAT},
        {"conv(6,5,pad=9) dense(10)", CLCNN_ERR_INVALID_ARGUMENT}, /* padding > filter */
        {"conv(6,40) dense(10)", CLCNN_ERR_SHAPE},       /* filter larger than the image */
        {"relu", CLCNN_ERR_SHAPE},                       /* nothing to train */
        {"conv(3,3)", CLCNN_ERR_SHAPE},                  /* does not end in class scores */
        {"softmax", CLCNN_ERR_SHAPE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clcnn_net *net = (clcnn_net *)1;
        clcnn_status st = clcnn_net_create(tu_ctx(), cases[i].spec, 2, 1, 28, 28, &net);
        ck_assert_msg(st == cases[i].status, "spec \"%s\": expected %s, got %s (%s)",
                      cases[i].spec, clcnn_status_name(cases[i].status), clcnn_status_name(st),
                      clcnn_last_error(tu_ctx()));
        ck_assert_ptr_null(net);
        ck_assert_str_ne(clcnn_last_error(tu_ctx()), "");
    }
    clcnn_net *net = NULL;
    tu_expect_status(clcnn_net_create(tu_ctx(), "lenet5", 0, 1, 28, 28, &net), CLCNN_ERR_SHAPE);
    tu_expect_status(clcnn_net_create(tu_ctx(), NULL, 1, 1, 28, 28, &net),
                     CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

/* The whole network's parameter gradient against central differences of
 * its loss, on a smooth network (no kinks) with every layer kind. */
START_TEST(test_net_gradient)
{
    const int n = 3, classes = 4;
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "conv(3,3,pad=1) tanh avgpool(2) conv(5,2) sigmoid flatten "
                           "dense(6) tanh dense(4) softmax",
                           n, 2, 9, 8, &net));
    tu_ok(clcnn_net_init(net, 7));
    tu_rng rng = tu_rng_make(5);
    float x[3 * 2 * 9 * 8], labels[3] = {0, 3, 2};
    tu_fill(&rng, x, sizeof x / sizeof x[0], -2, 2);
    ck_assert_int_eq(clcnn_net_classes(net), classes);
    tu_check_net_gradient(net, x, labels, n, 3, 2e-2, 50);
    clcnn_net_destroy(net);
}
END_TEST

/* Loss, gradients and probabilities of one batch. */
typedef struct pass_result {
    float loss;
    float *grads, *probs;
} pass_result;

static pass_result run_pass(clcnn_net *net, const float *x, const float *labels, int n)
{
    pass_result r;
    tu_ok(clcnn_tensor_fill(net->grads, 0.0f));
    tu_ok(clcnn_net_forward(net, x, n));
    tu_ok(clcnn_net_backward(net, labels));
    tu_ok(clcnn_net_loss(net, &r.loss));
    r.grads = tu_read(net->grads);
    r.probs = tu_alloc((size_t)n * (size_t)clcnn_net_classes(net) * sizeof *r.probs);
    tu_ok(clcnn_net_predict(net, x, n, r.probs));
    return r;
}

/* ReLUs fused into their neighbours' launches give exactly what the
 * separate passes give (the same float operations, only fewer launches),
 * in every position a ReLU can take. Loop index: one spec. */
START_TEST(test_fused_matches_unfused)
{
    static const struct {
        const char *spec;
        int c, h, w;
        int fwd, bwd; /* ReLU passes that run inside a neighbour */
    } specs[] = {
        {"lenet5", 1, 28, 28, 4, 4},
        {"convnet", 1, 28, 28, 3, 3},
        /* a ReLU after a pooling, two in a row, one that ends the network */
        {"conv(4,3,pad=1) relu maxpool(2) relu flatten dense(7) relu relu dense(5) relu", 2, 9,
         8, 3, 3},
        /* the first layer, an overlapping pooling, a dense layer on a 4-D input */
        {"relu maxpool(3,2) conv(3,2) relu dense(6) relu dense(4) softmax", 3, 11, 10, 3, 2},
        /* backward, average pooling and leaky ReLU stay separate */
        {"conv(3,3) relu avgpool(2) leaky_relu(0.1) flatten dense(6) relu dense(3)", 1, 10, 10,
         2, 1},
    };
    const int n = 5;
    clcnn_net *fused = NULL, *plain = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), specs[_i].spec, n, specs[_i].c, specs[_i].h, specs[_i].w,
                           &fused));
    tu_ok(clcnn_net_create(tu_ctx(), specs[_i].spec, n, specs[_i].c, specs[_i].h, specs[_i].w,
                           &plain));
    clcnn__net_unfuse(plain);
    int fwd = 0, bwd = 0;
    for (int i = 0; i < fused->layer_count; i++) {
        fwd += fused->layers[i].fused_fwd;
        bwd += fused->layers[i].fused_bwd;
    }
    ck_assert_msg(fwd == specs[_i].fwd && bwd == specs[_i].bwd,
                  "%s: %d forward and %d backward ReLU passes fused, want %d and %d",
                  specs[_i].spec, fwd, bwd, specs[_i].fwd, specs[_i].bwd);
    tu_ok(clcnn_net_init(fused, 11));
    tu_ok(clcnn_net_init(plain, 11));
    size_t image = (size_t)specs[_i].c * (size_t)specs[_i].h * (size_t)specs[_i].w;
    int classes = clcnn_net_classes(fused);
    float *x = tu_alloc((size_t)n * image * sizeof *x), labels[5];
    tu_rng rng = tu_rng_make(600 + (uint64_t)_i);
    tu_fill(&rng, x, (size_t)n * image, -1, 2);
    for (int i = 0; i < n; i++)
        labels[i] = (float)(i % classes);
    pass_result a = run_pass(fused, x, labels, n), b = run_pass(plain, x, labels, n);
    ck_assert_msg(a.loss == b.loss, "%s: loss %.9g fused, %.9g separate", specs[_i].spec,
                  (double)a.loss, (double)b.loss);
    size_t count = clcnn_net_param_count(fused), nonzero = 0;
    for (size_t i = 0; i < count; i++) {
        ck_assert_msg(a.grads[i] == b.grads[i], "%s: gradient %zu is %.9g fused, %.9g separate",
                      specs[_i].spec, i, (double)a.grads[i], (double)b.grads[i]);
        nonzero += a.grads[i] != 0.0f;
    }
    ck_assert_msg(nonzero > count / 4, "%s: only %zu of %zu gradients are non-zero",
                  specs[_i].spec, nonzero, count);
    for (size_t i = 0; i < (size_t)n * (size_t)classes; i++)
        ck_assert_msg(a.probs[i] == b.probs[i], "%s: probability %zu is %.9g fused, %.9g "
                      "separate", specs[_i].spec, i, (double)a.probs[i], (double)b.probs[i]);
    free(a.grads);
    free(a.probs);
    free(b.grads);
    free(b.probs);
    free(x);
    clcnn_net_destroy(fused);
    clcnn_net_destroy(plain);
}
END_TEST

/* clcnn_net_prepare runs a pass on zeros but changes nothing a training run
 * keeps: weights, optimiser state and step count; the gradients end zero. */
START_TEST(test_prepare_keeps_state)
{
    const int n = 4;
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "lenet5", n, 1, 28, 28, &net));
    clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 0.002f};
    tu_ok(clcnn_net_set_optimizer(net, &adam));
    float *x = tu_alloc((size_t)n * 784 * sizeof *x), labels[4] = {1, 7, 3, 0};
    tu_rng rng = tu_rng_make(71);
    tu_fill(&rng, x, (size_t)n * 784, -1, 2);
    tu_ok(clcnn_net_train_batch(net, x, labels, n, 0.002f));
    float *params = tu_read(net->params), *state = tu_read(net->state);
    long steps = clcnn_net_steps(net);
    tu_ok(clcnn_net_prepare(net));
    float *params2 = tu_read(net->params), *state2 = tu_read(net->state);
    float *grads = tu_read(net->grads);
    size_t count = clcnn_net_param_count(net);
    ck_assert_mem_eq(params, params2, count * sizeof *params);
    ck_assert_mem_eq(state, state2, clcnn_tensor_count(net->state) * sizeof *state);
    ck_assert_int_eq(clcnn_net_steps(net), steps);
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(grads[i] == 0.0f, "gradient %zu is %g after prepare", i, (double)grads[i]);
    ck_assert_int_eq(clcnn_net_prepare(NULL), CLCNN_ERR_INVALID_ARGUMENT);
    free(x);
    free(params);
    free(state);
    free(params2);
    free(state2);
    free(grads);
    clcnn_net_destroy(net);
}
END_TEST

/* A partial batch gives the same outputs as the same images in a full one. */
START_TEST(test_partial_batch)
{
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "lenet5", 5, 1, 28, 28, &net));
    tu_rng rng = tu_rng_make(9);
    float *x = tu_alloc(5 * 784 * sizeof *x);
    tu_fill(&rng, x, 5 * 784, -1, 2);
    float full[50], part[20];
    tu_ok(clcnn_net_predict(net, x, 5, full));
    tu_ok(clcnn_net_predict(net, x, 2, part));
    for (int i = 0; i < 20; i++)
        ck_assert_float_eq_tol(part[i], full[i], 1e-6);
    for (int s = 0; s < 5; s++) {
        double sum = 0;
        for (int k = 0; k < 10; k++)
            sum += full[s * 10 + k];
        ck_assert_double_eq_tol(sum, 1.0, 1e-5);
    }
    tu_expect_status(clcnn_net_predict(net, x, 6, full), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_net_forward(net, x, 0), CLCNN_ERR_INVALID_ARGUMENT);
    float bad_labels[5] = {1, 2, 10, 0, 0};
    tu_ok(clcnn_net_forward(net, x, 5));
    tu_expect_status(clcnn_net_backward(net, bad_labels), CLCNN_ERR_INVALID_ARGUMENT);
    free(x);
    clcnn_net_destroy(net);
}
END_TEST

/* Training learns: the loss falls and 256 MNIST images are fitted >= 99%. */
START_TEST(test_overfit_256)
{
    clcnn_dataset *ds = tu_mnist("train", 256);
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "lenet5", 32, 1, 28, 28, &net));
    tu_ok(clcnn_net_init(net, 3));
    clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 2e-3f};
    tu_ok(clcnn_net_set_optimizer(net, &adam));
    clcnn_train_state state = tu_train_state(3, 32, 2e-3f, 40);
    state.schedule.kind = CLCNN_LR_CONSTANT;
    float first = 0, loss = 0, acc = 0;
    for (int epoch = 0; epoch < 40 && acc < 0.99f; epoch++) {
        tu_ok(clcnn_train_epoch(net, ds, NULL, &state, &loss));
        if (epoch == 0)
            first = loss;
        tu_ok(clcnn_evaluate(net, ds, CLCNN_MNIST_MEAN, CLCNN_MNIST_STD, &acc, NULL));
    }
    ck_assert_msg(loss < first * 0.2f, "loss went from %g to %g only", (double)first,
                  (double)loss);
    ck_assert_msg(acc >= 0.99f, "training accuracy %.4f after %d epochs", (double)acc,
                  state.epoch);
    clcnn_net_destroy(net);
    clcnn_dataset_destroy(ds);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("net");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_builtin_specs);
    tcase_add_test(tc, test_bad_specs);
    tcase_add_test(tc, test_net_gradient);
    tcase_add_loop_test(tc, test_fused_matches_unfused, 0, 5);
    tcase_add_test(tc, test_prepare_keeps_state);
    tcase_add_test(tc, test_partial_batch);
    tcase_add_test(tc, test_overfit_256);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
