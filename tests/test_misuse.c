/*
 * API misuse: every public function of clcnn.h and clcnn_cl.h called with
 * NULL handles and buffers, zero, negative and overflowing sizes, shapes
 * whose element count overflows int or size_t, out-of-range enums and
 * tensors of another context. Each must return its documented status with a
 * message on the context (where there is one), or for functions returning
 * void or a value, take NULL harmlessly. Nothing may crash; under
 * -Db_sanitize=address,undefined nothing may read or write out of bounds or
 * overflow a signed integer either.
 *
 * Destroyed handles are not tested: the API does not promise to detect them
 * (handles are plain pointers, as in zstd and libuv), and using one is
 * undefined behaviour that AddressSanitizer reports.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "testutil.h"

static clcnn_context *other; /* a second context: its tensors are foreign to tu_ctx() */

static void other_up(void)
{
    char err[512];
    clcnn_status st = clcnn_context_create(NULL, &other, err, sizeof err);
    ck_assert_msg(st == CLCNN_OK, "second context: %s", err);
}

static void other_down(void)
{
    clcnn_context_destroy(other);
    other = NULL;
}

/* Calls `call` on a context whose last error was cleared, and checks its
 * status and that it recorded a message. */
#define EXPECT(ctx, call, status)                                                              \
    do {                                                                                       \
        clcnn_context *ctx_ = (ctx);                                                           \
        if (ctx_)                                                                              \
            ctx_->error[0] = '\0';                                                             \
        clcnn_status got_ = (call);                                                            \
        ck_assert_msg(got_ == (status), "%s: expected %s, got %s: %s", #call,                  \
                      clcnn_status_name(status), clcnn_status_name(got_),                      \
                      ctx_ ? clcnn_last_error(ctx_) : "");                                     \
        if (ctx_ && (status) != CLCNN_OK)                                                      \
            ck_assert_msg(clcnn_last_error(ctx_)[0] != '\0', "%s: no message recorded", #call); \
    } while (0)

/* For calls with no context to record on: the status only. */
#define EXPECT_NOCTX(call, status) EXPECT(NULL, call, status)

/* For calls that fill an error buffer: the status and a message there. */
#define EXPECT_MSG(call, status, buf)                                                          \
    do {                                                                                       \
        (buf)[0] = '\0';                                                                       \
        clcnn_status got_ = (call);                                                            \
        ck_assert_msg(got_ == (status), "%s: expected %s, got %s: %s", #call,                  \
                      clcnn_status_name(status), clcnn_status_name(got_), (buf));              \
        ck_assert_msg((buf)[0] != '\0', "%s: no message", #call);                              \
    } while (0)

#define INVALID CLCNN_ERR_INVALID_ARGUMENT
#define SHAPE CLCNN_ERR_SHAPE

START_TEST(test_status_version_devices)
{
    ck_assert_str_eq(clcnn_status_name((clcnn_status)-1), "CLCNN_UNKNOWN_STATUS");
    ck_assert_str_eq(clcnn_status_name((clcnn_status)INT_MAX), "CLCNN_UNKNOWN_STATUS");
    ck_assert(clcnn_status_message((clcnn_status)12345) != NULL);
    ck_assert(clcnn_version() != NULL && clcnn_version_number() > 0);
    ck_assert(clcnn_last_error(NULL) != NULL);

    char err[512];
    size_t count = 99, chosen = 99;
    /* no room and nowhere to report: still a valid call */
    EXPECT_NOCTX(clcnn_list_devices(NULL, NULL, 0, NULL, NULL, NULL, 0), CLCNN_OK);
    EXPECT_MSG(clcnn_list_devices(NULL, NULL, 4, &count, &chosen, err, sizeof err), INVALID, err);
    ck_assert(count == 0);
    EXPECT_NOCTX(clcnn_list_devices(NULL, NULL, 4, NULL, NULL, NULL, 100), INVALID);
    clcnn_device_info one;
    EXPECT_NOCTX(clcnn_list_devices(NULL, &one, 1, &count, NULL, err, sizeof err), CLCNN_OK);
    ck_assert(count >= 1);
    EXPECT_MSG(clcnn_list_devices("no such device \x01", &one, 1, &count, &chosen, err,
                                  sizeof err),
               CLCNN_ERR_NO_DEVICE, err);
    EXPECT_MSG(clcnn_list_devices("99999:0", &one, 1, &count, &chosen, err, sizeof err),
               CLCNN_ERR_NO_DEVICE, err);
    /* a one-byte error buffer is filled with "" and not overrun */
    char tiny[1] = {'x'};
    EXPECT_NOCTX(clcnn_list_devices("nothing matches this", &one, 1, &count, NULL, tiny, 1),
                 CLCNN_ERR_NO_DEVICE);
    ck_assert(tiny[0] == '\0');
}
END_TEST

START_TEST(test_contexts)
{
    char err[512];
    clcnn_context *ctx = (clcnn_context *)&err; /* must be reset to NULL on failure */
    EXPECT_MSG(clcnn_context_create(NULL, NULL, err, sizeof err), INVALID, err);
    EXPECT_NOCTX(clcnn_context_create(NULL, NULL, NULL, 0), INVALID);
    clcnn_context_options bad = {.device = "no device is called this"};
    EXPECT_MSG(clcnn_context_create(&bad, &ctx, err, sizeof err), CLCNN_ERR_NO_DEVICE, err);
    ck_assert(ctx == NULL);
    clcnn_context_destroy(NULL);
    EXPECT_NOCTX(clcnn_context_device(NULL, NULL), INVALID);
    clcnn_device_info info;
    EXPECT_NOCTX(clcnn_context_device(NULL, &info), INVALID);
    EXPECT(tu_ctx(), clcnn_context_device(tu_ctx(), NULL), INVALID);
    EXPECT_NOCTX(clcnn_context_finish(NULL), INVALID);

    /* interop */
    ck_assert(clcnn_context_cl_context(NULL) == NULL);
    ck_assert(clcnn_context_cl_queue(NULL) == NULL);
    ck_assert(clcnn_context_cl_device(NULL) == NULL);
    cl_context cl = clcnn_context_cl_context(tu_ctx());
    cl_command_queue q = clcnn_context_cl_queue(tu_ctx());
    cl_command_queue foreign_q = clcnn_context_cl_queue(other);
    ctx = (clcnn_context *)&err;
    EXPECT_MSG(clcnn_context_create_from_cl(NULL, q, NULL, &ctx, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_context_create_from_cl(cl, NULL, NULL, &ctx, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_context_create_from_cl(cl, q, NULL, NULL, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_context_create_from_cl(cl, foreign_q, NULL, &ctx, err, sizeof err), INVALID,
               err);
    ck_assert(ctx == NULL);
    /* an object that is not a queue */
    EXPECT_MSG(clcnn_context_create_from_cl(cl, (cl_command_queue)cl, NULL, &ctx, err,
                                            sizeof err),
               INVALID, err);
    ck_assert(ctx == NULL);
}
END_TEST

START_TEST(test_tensors)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_tensor *t = (clcnn_tensor *)ctx, *v = NULL;
    EXPECT_NOCTX(clcnn_tensor_create(NULL, 1, 1, 1, 1, &t), INVALID);
    EXPECT(ctx, clcnn_tensor_create(ctx, 1, 1, 1, 1, NULL), INVALID);
    const int bad[][4] = {
        {0, 1, 1, 1},   {1, 0, 1, 1},        {1, 1, 0, 1},       {1, 1, 1, 0},
        {-1, 1, 1, 1},  {1, 1, 1, INT_MIN},  {65536, 65536, 2, 1}, {INT_MAX, 2, 1, 1},
        {INT_MAX, INT_MAX, INT_MAX, INT_MAX}, {46341, 46341, 1, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = (clcnn_tensor *)ctx;
        EXPECT(ctx, clcnn_tensor_create(ctx, bad[i][0], bad[i][1], bad[i][2], bad[i][3], &t),
               SHAPE);
        ck_assert(t == NULL);
    }
    /* INT_MAX elements fit the count but (8 GiB) not the largest buffer of most
     * devices */
    if (ctx->max_alloc_bytes && ctx->max_alloc_bytes < (unsigned long long)INT_MAX * 4) {
        EXPECT(ctx, clcnn_tensor_create(ctx, INT_MAX, 1, 1, 1, &t),
               CLCNN_ERR_OUT_OF_DEVICE_MEMORY);
        ck_assert(t == NULL);
    }

    clcnn_tensor_destroy(NULL);
    int shape[4] = {7, 7, 7, 7};
    clcnn_tensor_shape(NULL, shape);
    ck_assert(shape[0] == 0 && shape[3] == 0);
    clcnn_tensor_shape(NULL, NULL);
    ck_assert(clcnn_tensor_count(NULL) == 0);
    ck_assert(clcnn_tensor_cl_mem(NULL, NULL) == NULL);
    size_t off = 5;
    ck_assert(clcnn_tensor_cl_mem(NULL, &off) == NULL && off == 0);

    t = tu_tensor(2, 3, 4, 5, NULL);
    clcnn_tensor_shape(t, NULL);
    float host[120] = {0};
    EXPECT_NOCTX(clcnn_tensor_write(NULL, host, 120), INVALID);
    EXPECT(ctx, clcnn_tensor_write(t, NULL, 120), INVALID);
    EXPECT(ctx, clcnn_tensor_write(t, host, 0), SHAPE);
    EXPECT(ctx, clcnn_tensor_write(t, host, 119), SHAPE);
    EXPECT(ctx, clcnn_tensor_write(t, host, SIZE_MAX), SHAPE);
    EXPECT_NOCTX(clcnn_tensor_read(NULL, host, 120), INVALID);
    EXPECT(ctx, clcnn_tensor_read(t, NULL, 120), INVALID);
    EXPECT(ctx, clcnn_tensor_read(t, host, 121), SHAPE);
    EXPECT(ctx, clcnn_tensor_read(t, host, (size_t)-1), SHAPE);
    EXPECT_NOCTX(clcnn_tensor_fill(NULL, 0), INVALID);
    EXPECT(ctx, clcnn_tensor_fill(t, NAN), CLCNN_OK); /* a NaN fill is a value like any */

    EXPECT_NOCTX(clcnn_tensor_view(NULL, 1, 1, 1, 120, &v), INVALID);
    EXPECT(ctx, clcnn_tensor_view(t, 1, 1, 1, 120, NULL), INVALID);
    EXPECT(ctx, clcnn_tensor_view(t, 1, 1, 1, 121, &v), SHAPE);
    EXPECT(ctx, clcnn_tensor_view(t, 0, 1, 1, 120, &v), SHAPE);
    EXPECT(ctx, clcnn_tensor_view(t, 65536, 65536, 2, 1, &v), SHAPE);
    EXPECT(ctx, clcnn_tensor_view(t, -120, -1, 1, 1, &v), SHAPE);
    ck_assert(v == NULL);

    cl_mem mem = clcnn_tensor_cl_mem(t, NULL);
    EXPECT_NOCTX(clcnn_tensor_wrap(NULL, mem, 0, 1, 1, 1, 1, &v), INVALID);
    EXPECT(ctx, clcnn_tensor_wrap(ctx, NULL, 0, 1, 1, 1, 1, &v), INVALID);
    EXPECT(ctx, clcnn_tensor_wrap(ctx, mem, 0, 1, 1, 1, 1, NULL), INVALID);
    EXPECT(ctx, clcnn_tensor_wrap(ctx, mem, 2, 1, 1, 1, 1, &v), INVALID);
    EXPECT(ctx, clcnn_tensor_wrap(ctx, mem, 0, 1, 1, 1, 121, &v), SHAPE);
    EXPECT(ctx, clcnn_tensor_wrap(ctx, mem, 480, 1, 1, 1, 1, &v), SHAPE);
    EXPECT(ctx, clcnn_tensor_wrap(ctx, mem, SIZE_MAX - 3, 1, 1, 1, 1, &v), SHAPE);
    EXPECT(ctx, clcnn_tensor_wrap(ctx, mem, 0, INT_MAX, INT_MAX, 1, 1, &v), SHAPE);
    /* a buffer of another OpenCL context, and an object that is not a buffer */
    clcnn_tensor *foreign = NULL;
    tu_ok(clcnn_tensor_create(other, 1, 1, 1, 4, &foreign));
    EXPECT(ctx, clcnn_tensor_wrap(ctx, clcnn_tensor_cl_mem(foreign, NULL), 0, 1, 1, 1, 4, &v),
           INVALID);
    /* an object that is not a buffer: OpenCL may not say so (PoCL reports a size
     * of 0), but the call must fail */
    ck_assert(clcnn_tensor_wrap(ctx, (cl_mem)clcnn_context_cl_queue(ctx), 0, 1, 1, 1, 4, &v) !=
              CLCNN_OK);
    ck_assert(v == NULL);
    clcnn_tensor_destroy(foreign);
    clcnn_tensor_destroy(t);
}
END_TEST

/* The op tables: every op called with each operand NULL, of another context,
 * and with a NULL context. */
typedef struct operands {
    clcnn_tensor *x, *w, *b, *y, *dy, *dx, *dw, *db, *argmax;
} operands;

static void make_conv_operands(clcnn_context *ctx, operands *o)
{
    memset(o, 0, sizeof *o);
    tu_ok(clcnn_tensor_create(ctx, 2, 3, 6, 6, &o->x));
    tu_ok(clcnn_tensor_create(ctx, 4, 3, 3, 3, &o->w));
    tu_ok(clcnn_tensor_create(ctx, 4, 1, 1, 1, &o->b));
    tu_ok(clcnn_tensor_create(ctx, 2, 4, 4, 4, &o->y));
    tu_ok(clcnn_tensor_create(ctx, 2, 4, 4, 4, &o->dy));
    tu_ok(clcnn_tensor_create(ctx, 2, 3, 6, 6, &o->dx));
    tu_ok(clcnn_tensor_create(ctx, 4, 3, 3, 3, &o->dw));
    tu_ok(clcnn_tensor_create(ctx, 4, 1, 1, 1, &o->db));
    tu_ok(clcnn_tensor_create(ctx, 2, 4, 4, 4, &o->argmax));
    float x[2 * 3 * 6 * 6];
    tu_rng rng = tu_rng_make(1);
    tu_fill(&rng, x, sizeof x / sizeof x[0], -1, 1);
    tu_ok(clcnn_tensor_write(o->x, x, sizeof x / sizeof x[0]));
}

static void free_operands(operands *o)
{
    clcnn_tensor *all[] = {o->x, o->w, o->b, o->y, o->dy, o->dx, o->dw, o->db, o->argmax};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
}

/* Runs `call` with operand `field` replaced by NULL and by the other
 * context's tensor, expecting INVALID both times; then restores it. */
#define EACH_BAD_OPERAND(o, f, call)                                                           \
    do {                                                                                       \
        clcnn_tensor *saved_ = (o).f;                                                          \
        (o).f = NULL;                                                                          \
        EXPECT(ctx, call, INVALID);                                                            \
        (o).f = foreign.f;                                                                     \
        EXPECT(ctx, call, INVALID);                                                            \
        (o).f = saved_;                                                                        \
    } while (0)

START_TEST(test_ops_operands)
{
    clcnn_context *ctx = tu_ctx();
    operands o, foreign;
    make_conv_operands(ctx, &o);
    make_conv_operands(other, &foreign);
    clcnn_conv2d_params cp = {0};
    clcnn_pool_params pp = {.mode = CLCNN_POOL_MAX, .window_h = 2, .window_w = 2};

    /* the valid calls first, so that the failures below are the operands' */
    tu_ok(clcnn_conv2d_forward(ctx, o.x, o.w, o.b, o.y, &cp));
    tu_ok(clcnn_conv2d_backward_data(ctx, o.dy, o.w, o.dx, &cp));
    tu_ok(clcnn_conv2d_backward_filter(ctx, o.x, o.dy, o.dw, o.db, &cp));

    EXPECT_NOCTX(clcnn_conv2d_forward(NULL, o.x, o.w, o.b, o.y, &cp), INVALID);
    EXPECT(ctx, clcnn_conv2d_forward(ctx, o.x, o.w, o.b, o.y, NULL), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_conv2d_forward(ctx, o.x, o.w, o.b, o.y, &cp));
    EACH_BAD_OPERAND(o, w, clcnn_conv2d_forward(ctx, o.x, o.w, o.b, o.y, &cp));
    EACH_BAD_OPERAND(o, y, clcnn_conv2d_forward(ctx, o.x, o.w, o.b, o.y, &cp));
    /* b may be NULL, but not foreign */
    EXPECT(ctx, clcnn_conv2d_forward(ctx, o.x, o.w, foreign.b, o.y, &cp), INVALID);
    tu_ok(clcnn_conv2d_forward(ctx, o.x, o.w, NULL, o.y, &cp));
    /* out-of-range enums and parameters */
    clcnn_conv2d_params bad_cp = {.algo = (clcnn_conv_algo)99};
    EXPECT(ctx, clcnn_conv2d_forward(ctx, o.x, o.w, NULL, o.y, &bad_cp), INVALID);
    bad_cp = (clcnn_conv2d_params){.stride_h = -1};
    EXPECT(ctx, clcnn_conv2d_forward(ctx, o.x, o.w, NULL, o.y, &bad_cp), INVALID);
    bad_cp = (clcnn_conv2d_params){.pad_top = INT_MAX, .pad_bottom = INT_MAX};
    EXPECT(ctx, clcnn_conv2d_forward(ctx, o.x, o.w, NULL, o.y, &bad_cp), INVALID);
    bad_cp = (clcnn_conv2d_params){.dilation_w = INT_MAX};
    EXPECT(ctx, clcnn_conv2d_forward(ctx, o.x, o.w, NULL, o.y, &bad_cp), INVALID);
    /* the output aliasing the input */
    EXPECT(ctx, clcnn_conv2d_forward(ctx, o.x, o.w, NULL, o.x, &cp), SHAPE);

    EXPECT_NOCTX(clcnn_conv2d_backward_data(NULL, o.dy, o.w, o.dx, &cp), INVALID);
    EXPECT(ctx, clcnn_conv2d_backward_data(ctx, o.dy, o.w, o.dx, NULL), INVALID);
    EACH_BAD_OPERAND(o, dy, clcnn_conv2d_backward_data(ctx, o.dy, o.w, o.dx, &cp));
    EACH_BAD_OPERAND(o, w, clcnn_conv2d_backward_data(ctx, o.dy, o.w, o.dx, &cp));
    EACH_BAD_OPERAND(o, dx, clcnn_conv2d_backward_data(ctx, o.dy, o.w, o.dx, &cp));
    EXPECT_NOCTX(clcnn_conv2d_backward_filter(NULL, o.x, o.dy, o.dw, o.db, &cp), INVALID);
    EXPECT(ctx, clcnn_conv2d_backward_filter(ctx, o.x, o.dy, o.dw, o.db, NULL), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_conv2d_backward_filter(ctx, o.x, o.dy, o.dw, o.db, &cp));
    EACH_BAD_OPERAND(o, dy, clcnn_conv2d_backward_filter(ctx, o.x, o.dy, o.dw, o.db, &cp));
    EACH_BAD_OPERAND(o, dw, clcnn_conv2d_backward_filter(ctx, o.x, o.dy, o.dw, o.db, &cp));
    EXPECT(ctx, clcnn_conv2d_backward_filter(ctx, o.x, o.dy, o.dw, foreign.db, &cp), INVALID);
    tu_ok(clcnn_conv2d_backward_filter(ctx, o.x, o.dy, o.dw, NULL, &cp));

    /* pooling: x (2,3,6,6) -> (2,3,3,3); reuse tensors of fitting shapes */
    clcnn_tensor *py, *pa, *pdy;
    tu_ok(clcnn_tensor_create(ctx, 2, 3, 3, 3, &py));
    tu_ok(clcnn_tensor_create(ctx, 2, 3, 3, 3, &pa));
    tu_ok(clcnn_tensor_create(ctx, 2, 3, 3, 3, &pdy));
    tu_ok(clcnn_pool_forward(ctx, o.x, py, pa, &pp));
    tu_ok(clcnn_pool_backward(ctx, pdy, pa, o.dx, &pp));
    EXPECT_NOCTX(clcnn_pool_forward(NULL, o.x, py, pa, &pp), INVALID);
    EXPECT(ctx, clcnn_pool_forward(ctx, o.x, py, pa, NULL), INVALID);
    EXPECT(ctx, clcnn_pool_forward(ctx, NULL, py, pa, &pp), INVALID);
    EXPECT(ctx, clcnn_pool_forward(ctx, foreign.x, py, pa, &pp), INVALID);
    EXPECT(ctx, clcnn_pool_forward(ctx, o.x, NULL, pa, &pp), INVALID);
    EXPECT(ctx, clcnn_pool_backward(ctx, NULL, pa, o.dx, &pp), INVALID);
    EXPECT(ctx, clcnn_pool_backward(ctx, pdy, NULL, o.dx, &pp), INVALID);
    EXPECT(ctx, clcnn_pool_backward(ctx, pdy, pa, NULL, &pp), INVALID);
    EXPECT(ctx, clcnn_pool_backward(ctx, pdy, pa, foreign.dx, &pp), INVALID);
    EXPECT_NOCTX(clcnn_pool_backward(NULL, pdy, pa, o.dx, &pp), INVALID);
    EXPECT(ctx, clcnn_pool_backward(ctx, pdy, pa, o.dx, NULL), INVALID);
    clcnn_pool_params bad_pp = pp;
    bad_pp.mode = (clcnn_pool_mode)7;
    EXPECT(ctx, clcnn_pool_forward(ctx, o.x, py, pa, &bad_pp), INVALID);
    bad_pp = pp;
    bad_pp.window_h = 0;
    EXPECT(ctx, clcnn_pool_forward(ctx, o.x, py, pa, &bad_pp), INVALID);
    bad_pp = pp;
    bad_pp.window_w = INT_MAX;
    bad_pp.pad_left = bad_pp.pad_right = INT_MAX / 2;
    EXPECT(ctx, clcnn_pool_forward(ctx, o.x, py, pa, &bad_pp), SHAPE);
    clcnn_tensor_destroy(py);
    clcnn_tensor_destroy(pa);
    clcnn_tensor_destroy(pdy);

    /* activations and softmax on x / dx (same shape) */
    tu_ok(clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, o.x, o.dx));
    EXPECT_NOCTX(clcnn_act_forward(NULL, CLCNN_ACT_RELU, 0, o.x, o.dx), INVALID);
    EXPECT(ctx, clcnn_act_forward(ctx, (clcnn_activation)-1, 0, o.x, o.dx), INVALID);
    EXPECT(ctx, clcnn_act_forward(ctx, (clcnn_activation)4, 0, o.x, o.dx), INVALID);
    EXPECT(ctx, clcnn_act_forward(ctx, CLCNN_ACT_LEAKY_RELU, NAN, o.x, o.dx), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_act_forward(ctx, CLCNN_ACT_TANH, 0, o.x, o.dx));
    EACH_BAD_OPERAND(o, dx, clcnn_act_forward(ctx, CLCNN_ACT_TANH, 0, o.x, o.dx));
    EXPECT(ctx, clcnn_act_forward(ctx, CLCNN_ACT_TANH, 0, o.x, o.w), SHAPE);
    EXPECT_NOCTX(clcnn_act_backward(NULL, CLCNN_ACT_RELU, 0, o.x, NULL, o.dx, o.dx), INVALID);
    EXPECT(ctx, clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, NULL, NULL, o.dx, o.dx), INVALID);
    EXPECT(ctx, clcnn_act_backward(ctx, CLCNN_ACT_SIGMOID, 0, NULL, NULL, o.dx, o.dx), INVALID);
    EXPECT(ctx, clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, o.x, NULL, NULL, o.dx), INVALID);
    EXPECT(ctx, clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, o.x, NULL, o.dx, NULL), INVALID);
    EXPECT(ctx, clcnn_act_backward(ctx, CLCNN_ACT_RELU, 0, foreign.x, NULL, o.dx, o.dx),
           INVALID);
    EXPECT(ctx, clcnn_act_backward(ctx, (clcnn_activation)9, 0, o.x, o.x, o.dx, o.dx), INVALID);
    tu_ok(clcnn_softmax_forward(ctx, o.x, o.dx));
    EXPECT_NOCTX(clcnn_softmax_forward(NULL, o.x, o.dx), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_softmax_forward(ctx, o.x, o.dx));
    EACH_BAD_OPERAND(o, dx, clcnn_softmax_forward(ctx, o.x, o.dx));
    EXPECT_NOCTX(clcnn_softmax_backward(NULL, o.x, o.x, o.dx), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_softmax_backward(ctx, o.x, o.dx, o.dx));
    EACH_BAD_OPERAND(o, dx, clcnn_softmax_backward(ctx, o.x, o.x, o.dx));

    free_operands(&o);
    free_operands(&foreign);
}
END_TEST

START_TEST(test_dense_loss_optim_operands)
{
    clcnn_context *ctx = tu_ctx();
    operands o, foreign;
    /* dense: x (4,3,2,2) -> F 12, w (5,12,1,1), b (5), y (4,5,1,1) */
    clcnn_context *ctxs[2] = {ctx, other};
    operands *os[2] = {&o, &foreign};
    for (int i = 0; i < 2; i++) {
        memset(os[i], 0, sizeof *os[i]);
        tu_ok(clcnn_tensor_create(ctxs[i], 4, 3, 2, 2, &os[i]->x));
        tu_ok(clcnn_tensor_create(ctxs[i], 5, 12, 1, 1, &os[i]->w));
        tu_ok(clcnn_tensor_create(ctxs[i], 5, 1, 1, 1, &os[i]->b));
        tu_ok(clcnn_tensor_create(ctxs[i], 4, 5, 1, 1, &os[i]->y));
        tu_ok(clcnn_tensor_create(ctxs[i], 4, 5, 1, 1, &os[i]->dy));
        tu_ok(clcnn_tensor_create(ctxs[i], 4, 3, 2, 2, &os[i]->dx));
        tu_ok(clcnn_tensor_create(ctxs[i], 5, 12, 1, 1, &os[i]->dw));
        tu_ok(clcnn_tensor_create(ctxs[i], 5, 1, 1, 1, &os[i]->db));
        tu_ok(clcnn_tensor_create(ctxs[i], 4, 1, 1, 1, &os[i]->argmax)); /* labels */
    }
    tu_ok(clcnn_tensor_fill(o.argmax, 1.0f));
    tu_ok(clcnn_dense_forward(ctx, o.x, o.w, o.b, o.y));
    EXPECT_NOCTX(clcnn_dense_forward(NULL, o.x, o.w, o.b, o.y), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_dense_forward(ctx, o.x, o.w, o.b, o.y));
    EACH_BAD_OPERAND(o, w, clcnn_dense_forward(ctx, o.x, o.w, o.b, o.y));
    EACH_BAD_OPERAND(o, y, clcnn_dense_forward(ctx, o.x, o.w, o.b, o.y));
    EXPECT(ctx, clcnn_dense_forward(ctx, o.x, o.w, foreign.b, o.y), INVALID);
    EXPECT(ctx, clcnn_dense_forward(ctx, o.x, o.x, NULL, o.y), SHAPE);
    EXPECT_NOCTX(clcnn_dense_backward_data(NULL, o.dy, o.w, o.dx), INVALID);
    EACH_BAD_OPERAND(o, dy, clcnn_dense_backward_data(ctx, o.dy, o.w, o.dx));
    EACH_BAD_OPERAND(o, w, clcnn_dense_backward_data(ctx, o.dy, o.w, o.dx));
    EACH_BAD_OPERAND(o, dx, clcnn_dense_backward_data(ctx, o.dy, o.w, o.dx));
    EXPECT_NOCTX(clcnn_dense_backward_filter(NULL, o.x, o.dy, o.dw, o.db), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_dense_backward_filter(ctx, o.x, o.dy, o.dw, o.db));
    EACH_BAD_OPERAND(o, dy, clcnn_dense_backward_filter(ctx, o.x, o.dy, o.dw, o.db));
    EACH_BAD_OPERAND(o, dw, clcnn_dense_backward_filter(ctx, o.x, o.dy, o.dw, o.db));
    EXPECT(ctx, clcnn_dense_backward_filter(ctx, o.x, o.dy, o.dw, foreign.db), INVALID);

    /* the loss: logits y (4,5,1,1), labels argmax (4), dlogits dy, loss b[0..1) */
    clcnn_tensor *loss, *foreign_loss;
    tu_ok(clcnn_tensor_create(ctx, 1, 1, 1, 1, &loss));
    tu_ok(clcnn_tensor_create(other, 1, 1, 1, 1, &foreign_loss));
    tu_ok(clcnn_softmax_cross_entropy(ctx, o.y, o.argmax, o.dy, loss));
    tu_ok(clcnn_softmax_cross_entropy(ctx, o.y, o.argmax, NULL, NULL));
    EXPECT_NOCTX(clcnn_softmax_cross_entropy(NULL, o.y, o.argmax, o.dy, loss), INVALID);
    EACH_BAD_OPERAND(o, y, clcnn_softmax_cross_entropy(ctx, o.y, o.argmax, o.dy, loss));
    EACH_BAD_OPERAND(o, argmax, clcnn_softmax_cross_entropy(ctx, o.y, o.argmax, o.dy, loss));
    EXPECT(ctx, clcnn_softmax_cross_entropy(ctx, o.y, o.argmax, foreign.dy, loss), INVALID);
    EXPECT(ctx, clcnn_softmax_cross_entropy(ctx, o.y, o.argmax, o.dy, foreign_loss), INVALID);
    EXPECT(ctx, clcnn_softmax_cross_entropy(ctx, o.y, o.argmax, o.dy, o.b), SHAPE);
    EXPECT(ctx, clcnn_softmax_cross_entropy(ctx, o.x, o.argmax, NULL, loss), SHAPE);

    /* optimiser on w / dw with state */
    ck_assert(clcnn_optim_state_count(CLCNN_OPTIM_SGD, 10) == 10);
    ck_assert(clcnn_optim_state_count(CLCNN_OPTIM_ADAM, 10) == 20);
    (void)clcnn_optim_state_count((clcnn_optimizer)42, 10);
    (void)clcnn_optim_state_count(CLCNN_OPTIM_ADAM, SIZE_MAX);
    clcnn_tensor *state, *foreign_state;
    tu_ok(clcnn_tensor_create(ctx, 2, 60, 1, 1, &state));
    tu_ok(clcnn_tensor_create(other, 2, 60, 1, 1, &foreign_state));
    tu_ok(clcnn_tensor_fill(state, 0.0f));
    clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 0.01f};
    tu_ok(clcnn_optim_step(ctx, &adam, 1, o.w, o.dw, state));
    EXPECT_NOCTX(clcnn_optim_step(NULL, &adam, 1, o.w, o.dw, state), INVALID);
    EXPECT(ctx, clcnn_optim_step(ctx, NULL, 1, o.w, o.dw, state), INVALID);
    EXPECT(ctx, clcnn_optim_step(ctx, &adam, 0, o.w, o.dw, state), INVALID);
    EXPECT(ctx, clcnn_optim_step(ctx, &adam, LONG_MIN, o.w, o.dw, state), INVALID);
    EACH_BAD_OPERAND(o, w, clcnn_optim_step(ctx, &adam, 1, o.w, o.dw, state));
    EACH_BAD_OPERAND(o, dw, clcnn_optim_step(ctx, &adam, 1, o.w, o.dw, state));
    EXPECT(ctx, clcnn_optim_step(ctx, &adam, 1, o.w, o.dw, NULL), INVALID);
    EXPECT(ctx, clcnn_optim_step(ctx, &adam, 1, o.w, o.dw, foreign_state), INVALID);
    EXPECT(ctx, clcnn_optim_step(ctx, &adam, 1, o.w, o.w, state), INVALID);
    EXPECT(ctx, clcnn_optim_step(ctx, &adam, 1, o.w, o.db, state), SHAPE);
    const float bad_values[] = {-1.0f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        clcnn_optim_params p = adam;
        p.lr = bad_values[i];
        EXPECT(ctx, clcnn_optim_step(ctx, &p, 1, o.w, o.dw, state), INVALID);
        p = adam;
        p.weight_decay = bad_values[i];
        EXPECT(ctx, clcnn_optim_step(ctx, &p, 1, o.w, o.dw, state), INVALID);
        p = adam;
        p.eps = bad_values[i];
        EXPECT(ctx, clcnn_optim_step(ctx, &p, 1, o.w, o.dw, state), INVALID);
        p = adam;
        p.beta1 = bad_values[i];
        EXPECT(ctx, clcnn_optim_step(ctx, &p, 1, o.w, o.dw, state), INVALID);
    }
    clcnn_optim_params p = {.kind = (clcnn_optimizer)5, .lr = 0.1f};
    EXPECT(ctx, clcnn_optim_step(ctx, &p, 1, o.w, o.dw, state), INVALID);
    p = (clcnn_optim_params){.kind = CLCNN_OPTIM_SGD, .lr = 0.1f, .momentum = 1.0f};
    EXPECT(ctx, clcnn_optim_step(ctx, &p, 1, o.w, o.dw, state), INVALID);
    p = (clcnn_optim_params){.kind = CLCNN_OPTIM_SGD, .lr = 0.1f, .nesterov = 1};
    EXPECT(ctx, clcnn_optim_step(ctx, &p, 1, o.w, o.dw, state), INVALID);

    /* schedules: pure, never fail */
    ck_assert(clcnn_lr_at(NULL, 3) == 0.0f);
    clcnn_lr_params s = {.kind = (clcnn_lr_schedule)77, .base_lr = 0.5f};
    ck_assert(clcnn_lr_at(&s, 1) == 0.5f);
    s = (clcnn_lr_params){.kind = CLCNN_LR_STEP, .base_lr = 0.5f, .step_size = 0};
    ck_assert(clcnn_lr_at(&s, LONG_MAX) == 0.5f);
    s = (clcnn_lr_params){.kind = CLCNN_LR_COSINE, .base_lr = 0.5f, .total = 0};
    ck_assert(clcnn_lr_at(&s, LONG_MIN) == 0.5f);
    s = (clcnn_lr_params){.kind = CLCNN_LR_STEP, .base_lr = 1, .step_size = 1, .gamma = 0.5f};
    ck_assert(isfinite(clcnn_lr_at(&s, LONG_MAX)));

    clcnn_tensor_destroy(loss);
    clcnn_tensor_destroy(foreign_loss);
    clcnn_tensor_destroy(state);
    clcnn_tensor_destroy(foreign_state);
    free_operands(&o);
    free_operands(&foreign);
}
END_TEST

START_TEST(test_shape_checks_overflow)
{
    char msg[512];
    int y[4];
    clcnn_conv2d_params cp = {0};
    const int x_ok[4] = {1, 1, 8, 8}, w_ok[4] = {1, 1, 3, 3};
    EXPECT_MSG(clcnn_conv2d_output_shape(NULL, w_ok, &cp, y, msg, sizeof msg), INVALID, msg);
    EXPECT_MSG(clcnn_conv2d_output_shape(x_ok, NULL, &cp, y, msg, sizeof msg), INVALID, msg);
    EXPECT_MSG(clcnn_conv2d_output_shape(x_ok, w_ok, NULL, y, msg, sizeof msg), INVALID, msg);
    EXPECT_MSG(clcnn_conv2d_output_shape(x_ok, w_ok, &cp, NULL, msg, sizeof msg), INVALID, msg);
    EXPECT_NOCTX(clcnn_conv2d_output_shape(x_ok, w_ok, &cp, y, NULL, 0), CLCNN_OK);
    EXPECT_NOCTX(clcnn_conv2d_output_shape(x_ok, w_ok, &cp, y, NULL, 512), CLCNN_OK);
    const int huge[][2][4] = {
        {{1, 1, INT_MAX, 1}, {1, 1, INT_MAX, 1}},
        {{1, 1, 65536, 65536}, {1, 1, 3, 3}},
        {{INT_MAX, 1, 1, 1}, {INT_MAX, 1, 1, 1}},
        {{1, INT_MAX, 1, 1}, {1, INT_MAX, 1, 1}},
        {{1, 1, 46340, 46340}, {46340, 1, 1, 1}},
        {{1, 1, INT_MAX, 1}, {1, 1, 65536, 1}},
        {{-1, 1, 8, 8}, {1, 1, 3, 3}},
        {{1, 1, 8, 8}, {1, 1, 0, 3}},
    };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        clcnn_conv2d_params big = {.dilation_h = 65536, .pad_top = INT_MAX - 1};
        clcnn_status st = clcnn_conv2d_output_shape(huge[i][0], huge[i][1], &cp, y, msg, sizeof msg);
        ck_assert_msg(st == SHAPE || st == CLCNN_OK, "conv shape %zu: %s", i, clcnn_status_name(st));
        if (st == CLCNN_OK)
            ck_assert(y[0] >= 1 && y[1] >= 1 && y[2] >= 1 && y[3] >= 1 &&
                      (long long)y[0] * y[1] * y[2] * y[3] <= INT_MAX);
        st = clcnn_conv2d_output_shape(huge[i][0], huge[i][1], &big, y, msg, sizeof msg);
        ck_assert_msg(st == SHAPE || st == INVALID, "conv shape %zu, dilated: %s", i,
                      clcnn_status_name(st));
    }

    clcnn_pool_params pp = {.mode = CLCNN_POOL_AVG_INCLUDE_PAD, .window_h = 2, .window_w = 2};
    EXPECT_MSG(clcnn_pool_output_shape(NULL, &pp, y, msg, sizeof msg), INVALID, msg);
    EXPECT_MSG(clcnn_pool_output_shape(x_ok, NULL, y, msg, sizeof msg), INVALID, msg);
    EXPECT_MSG(clcnn_pool_output_shape(x_ok, &pp, NULL, msg, sizeof msg), INVALID, msg);
    /* absurd but some valid (a stride of INT_MAX gives one output): a status, or an
     * output shape that makes sense */
    const clcnn_pool_params bad_pools[] = {
        {.mode = CLCNN_POOL_MAX, .window_h = INT_MAX, .window_w = INT_MAX},
        {.mode = CLCNN_POOL_MAX, .window_h = 2, .window_w = 2, .stride_h = INT_MAX},
        {.mode = CLCNN_POOL_MAX, .window_h = INT_MAX, .window_w = 2, .pad_top = INT_MAX / 2,
         .pad_bottom = INT_MAX / 2},
        {.mode = CLCNN_POOL_MAX, .window_h = -2, .window_w = 2},
        {.mode = CLCNN_POOL_MAX, .window_h = 2, .window_w = 2, .pad_left = -1},
        {.mode = CLCNN_POOL_MAX, .window_h = 2, .window_w = 2, .stride_w = INT_MIN},
    };
    const int x_big[4] = {1, 1, 46340, 46340};
    for (size_t i = 0; i < sizeof bad_pools / sizeof bad_pools[0]; i++) {
        clcnn_status st = clcnn_pool_output_shape(x_ok, &bad_pools[i], y, msg, sizeof msg);
        ck_assert_msg(st == SHAPE || st == INVALID || (st == CLCNN_OK && y[2] >= 1 && y[3] >= 1),
                      "pool params %zu: %s", i, clcnn_status_name(st));
        st = clcnn_pool_output_shape(x_big, &bad_pools[i], y, msg, sizeof msg);
        ck_assert_msg(st != CLCNN_OK || (y[2] >= 1 && y[3] >= 1), "pool params %zu on a big "
                      "input", i);
    }
}
END_TEST

START_TEST(test_data_and_rng)
{
    char err[512];
    clcnn_dataset *ds = (clcnn_dataset *)err;
    EXPECT_MSG(clcnn_dataset_load_idx(NULL, "l", &ds, err, sizeof err), INVALID, err);
    ck_assert(ds == NULL);
    EXPECT_MSG(clcnn_dataset_load_idx("i", NULL, &ds, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_dataset_load_idx("i", "l", NULL, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_dataset_load_idx("/nonexistent/i", "/nonexistent/l", &ds, err, sizeof err),
               CLCNN_ERR_IO, err);
    EXPECT_MSG(clcnn_dataset_load_idx("/", "/", &ds, err, sizeof err), CLCNN_ERR_IO, err);
    EXPECT_MSG(clcnn_dataset_load_idx("/dev/null", "/dev/null", &ds, err, sizeof err),
               CLCNN_ERR_FORMAT, err);
    EXPECT_MSG(clcnn_dataset_load_dir(NULL, "t10k", &ds, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_dataset_load_dir("/", NULL, &ds, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_dataset_load_dir("/", "", &ds, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_dataset_load_dir("/", "../etc", &ds, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_dataset_load_dir("/", "t10k", NULL, err, sizeof err), INVALID, err);
    EXPECT_MSG(clcnn_dataset_load_dir("", "t10k", &ds, err, sizeof err), CLCNN_ERR_IO, err);
    ck_assert(ds == NULL);
    EXPECT_NOCTX(clcnn_dataset_load_dir("/", "t10k", &ds, NULL, 0), CLCNN_ERR_IO);

    clcnn_dataset_destroy(NULL);
    ck_assert(clcnn_dataset_count(NULL) == 0);
    ck_assert(clcnn_dataset_classes(NULL) == 0);
    int c = 5, h = 5, w = 5;
    clcnn_dataset_shape(NULL, &c, &h, &w);
    ck_assert(c == 0 && h == 0 && w == 0);
    clcnn_dataset_shape(NULL, NULL, NULL, NULL);
    EXPECT_NOCTX(clcnn_dataset_truncate(NULL, 1), INVALID);
    float x[4];
    size_t idx[1] = {0};
    EXPECT_NOCTX(clcnn_dataset_batch(NULL, idx, 1, 0, 1, x, NULL), INVALID);

    const char *src = getenv("CLCNN_SOURCE_DIR");
    char data_dir[4096];
    snprintf(data_dir, sizeof data_dir, "%s/data/mnist", src && *src ? src : ".");
    tu_ok(clcnn_dataset_load_dir(data_dir, "t10k", &ds, err, sizeof err));
    clcnn_dataset_shape(ds, NULL, &h, NULL);
    ck_assert(h == 28);
    EXPECT_NOCTX(clcnn_dataset_truncate(ds, 0), INVALID);
    EXPECT_NOCTX(clcnn_dataset_truncate(ds, SIZE_MAX), INVALID);
    EXPECT_NOCTX(clcnn_dataset_truncate(ds, 10001), INVALID);
    float *xs = tu_alloc(2 * 784 * sizeof *xs), labels[2];
    size_t two[2] = {0, 9999}, out_of_range[2] = {0, 10000}, huge[1] = {SIZE_MAX};
    EXPECT_NOCTX(clcnn_dataset_batch(ds, two, 2, 0.1f, 0.3f, xs, labels), CLCNN_OK);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, two, 2, 0.1f, 0.3f, xs, NULL), CLCNN_OK);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, NULL, 0, 0.1f, 0.3f, NULL, NULL), CLCNN_OK);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, NULL, 2, 0.1f, 0.3f, xs, labels), INVALID);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, two, 2, 0.1f, 0.3f, NULL, labels), INVALID);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, out_of_range, 2, 0.1f, 0.3f, xs, labels), INVALID);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, huge, 1, 0.1f, 0.3f, xs, labels), INVALID);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, two, 2, 0.1f, 0.0f, xs, labels), INVALID);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, two, 2, 0.1f, -1.0f, xs, labels), INVALID);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, two, 2, NAN, 0.3f, xs, labels), INVALID);
    EXPECT_NOCTX(clcnn_dataset_batch(ds, two, 2, 0.1f, INFINITY, xs, labels), INVALID);
    free(xs);
    clcnn_dataset_destroy(ds);

    /* the generator: NULL is harmless */
    clcnn_rng_seed(NULL, 1);
    ck_assert(clcnn_rng_next(NULL) == 0);
    ck_assert(clcnn_rng_uniform(NULL) == 0.0);
    size_t perm[3] = {7, 7, 7};
    clcnn_rng_permutation(NULL, perm, 3);
    clcnn_rng rng;
    clcnn_rng_seed(&rng, 0);
    clcnn_rng_permutation(&rng, NULL, 5);
    clcnn_rng_permutation(&rng, perm, 0);
    clcnn_rng_permutation(&rng, perm, 3);
    ck_assert(perm[0] + perm[1] + perm[2] == 3);
    /* a zeroed generator that was never seeded must still move on, or a
     * permutation (and so a training epoch) would never end */
    clcnn_rng zero = {{0, 0, 0, 0}};
    ck_assert(clcnn_rng_next(&zero) != clcnn_rng_next(&zero));
    clcnn_rng_permutation(&zero, perm, 3);
    ck_assert(perm[0] + perm[1] + perm[2] == 3);
}
END_TEST

START_TEST(test_networks)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_net *net = (clcnn_net *)ctx;
    EXPECT_NOCTX(clcnn_net_create(NULL, "lenet5", 1, 1, 28, 28, &net), INVALID);
    EXPECT(ctx, clcnn_net_create(ctx, NULL, 1, 1, 28, 28, &net), INVALID);
    EXPECT(ctx, clcnn_net_create(ctx, "lenet5", 1, 1, 28, 28, NULL), INVALID);
    const struct {
        const char *spec;
        int batch, c, h, w;
        clcnn_status status;
    } bad[] = {
        {"lenet5", 0, 1, 28, 28, SHAPE},
        {"lenet5", -1, 1, 28, 28, SHAPE},
        {"lenet5", 1, 0, 28, 28, SHAPE},
        {"lenet5", 1, 1, -28, 28, SHAPE},
        {"lenet5", 1, 1, 65536, 65536, SHAPE},
        {"lenet5", INT_MAX, 1, 28, 28, CLCNN_ERR_OUT_OF_DEVICE_MEMORY},
        {"lenet5", 10000000, 1, 28, 28, CLCNN_ERR_OUT_OF_DEVICE_MEMORY},
        {"lenet5", 1, INT_MAX, 1, 1, SHAPE},
        {"lenet5", 1, 1, 2, 2, SHAPE},
        {"", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"   ", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"softmax", 1, 1, 28, 28, SHAPE},
        {"relu", 1, 1, 28, 28, SHAPE},
        {"flatten dense(10) softmax softmax", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"conv(", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"conv(0,3) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"conv(-3,3) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"conv(2147483647,3) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"conv(99999999999999999999,3) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"conv(4,3,stride=2147483647) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"conv(4,3,dilation=-1) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"conv(4,3,pad=2147483647) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"conv(4,3,pad=3) flatten dense(10)", 1, 1, 28, 28, INVALID},
        {"maxpool(2147483647) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"maxpool(1048576) flatten dense(10)", 1, 1, 28, 28, SHAPE},
        {"flatten dense(2147483647)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"flatten dense(1048576) dense(1048576)", 1, 1, 28, 28, SHAPE},
        {"flatten dense(65536) dense(65536)", 1, 1, 28, 28, SHAPE},
        {"leaky_relu(nan) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"leaky_relu(1e999) flatten dense(10)", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"flatten dense(10) bogus", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
        {"flatten dense(10)\x01", 1, 1, 28, 28, CLCNN_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        net = (clcnn_net *)ctx;
        ctx->error[0] = '\0';
        clcnn_status st =
            clcnn_net_create(ctx, bad[i].spec, bad[i].batch, bad[i].c, bad[i].h, bad[i].w, &net);
        ck_assert_msg(st == bad[i].status, "net \"%s\" batch %d (%d,%d,%d): expected %s, got %s: %s",
                      bad[i].spec, bad[i].batch, bad[i].c, bad[i].h, bad[i].w,
                      clcnn_status_name(bad[i].status), clcnn_status_name(st),
                      clcnn_last_error(ctx));
        ck_assert(net == NULL);
        ck_assert_msg(clcnn_last_error(ctx)[0], "no message for \"%s\"", bad[i].spec);
    }
    /* the too-large batch is refused before any device allocation: the message says
     * what fits */
    EXPECT(ctx, clcnn_net_create(ctx, "lenet5", 10000000, 1, 28, 28, &net),
           CLCNN_ERR_OUT_OF_DEVICE_MEMORY);
    ck_assert_msg(strstr(clcnn_last_error(ctx), "at most") != NULL, "%s", clcnn_last_error(ctx));

    /* queries and destroy on NULL */
    clcnn_net_destroy(NULL);
    EXPECT_NOCTX(clcnn_net_init(NULL, 1), INVALID);
    ck_assert_str_eq(clcnn_net_spec(NULL), "");
    int shape[4] = {9, 9, 9, 9};
    clcnn_net_input_shape(NULL, shape);
    ck_assert(shape[0] == 0);
    clcnn_net_input_shape(NULL, NULL);
    ck_assert(clcnn_net_classes(NULL) == 0);
    ck_assert(clcnn_net_param_count(NULL) == 0);
    ck_assert(clcnn_net_layer_count(NULL) == 0);
    ck_assert(clcnn_net_steps(NULL) == 0);
    clcnn_layer_info info;
    EXPECT_NOCTX(clcnn_net_layer(NULL, 0, &info), INVALID);
    clcnn_optim_params sgd = {.kind = CLCNN_OPTIM_SGD, .lr = 0.1f};
    EXPECT_NOCTX(clcnn_net_set_optimizer(NULL, &sgd), INVALID);
    float x[2 * 784] = {0}, labels[2] = {1, 2}, probs[20], loss;
    EXPECT_NOCTX(clcnn_net_forward(NULL, x, 1), INVALID);
    EXPECT_NOCTX(clcnn_net_backward(NULL, labels), INVALID);
    EXPECT_NOCTX(clcnn_net_step(NULL, 0.1f), INVALID);
    EXPECT_NOCTX(clcnn_net_train_batch(NULL, x, labels, 1, 0.1f), INVALID);
    EXPECT_NOCTX(clcnn_net_loss(NULL, &loss), INVALID);
    EXPECT_NOCTX(clcnn_net_predict(NULL, x, 1, probs), INVALID);
    EXPECT_NOCTX(clcnn_net_check_finite(NULL, NULL), INVALID);
    EXPECT_NOCTX(clcnn_net_prepare(NULL), INVALID);
    EXPECT_NOCTX(clcnn_net_set_exchange(NULL, NULL), INVALID);
    int layer = 5;
    EXPECT_NOCTX(clcnn_net_check_finite(NULL, &layer), INVALID);
    ck_assert(layer == -1);
    clcnn_train_state state = {.batch = 2};
    EXPECT_NOCTX(clcnn_net_save(NULL, "/tmp/x", &state), INVALID);
    EXPECT_NOCTX(clcnn_train_epoch(NULL, NULL, NULL, &state, NULL), INVALID);
    EXPECT_NOCTX(clcnn_evaluate(NULL, NULL, 0, 1, NULL, NULL), INVALID);

    /* a real network, misused */
    tu_ok(clcnn_net_create(ctx, "lenet5", 2, 1, 28, 28, &net));
    tu_ok(clcnn_net_prepare(net));
    clcnn_net_input_shape(net, NULL);
    EXPECT(ctx, clcnn_net_layer(net, -1, &info), INVALID);
    EXPECT(ctx, clcnn_net_layer(net, clcnn_net_layer_count(net), &info), INVALID);
    EXPECT(ctx, clcnn_net_layer(net, INT_MAX, &info), INVALID);
    EXPECT(ctx, clcnn_net_layer(net, 0, NULL), INVALID);
    EXPECT(ctx, clcnn_net_set_optimizer(net, NULL), INVALID);
    clcnn_optim_params bad_kind = {.kind = (clcnn_optimizer)3, .lr = 0.1f};
    EXPECT(ctx, clcnn_net_set_optimizer(net, &bad_kind), INVALID);
    EXPECT(ctx, clcnn_net_forward(net, NULL, 1), INVALID);
    EXPECT(ctx, clcnn_net_forward(net, x, 0), INVALID);
    EXPECT(ctx, clcnn_net_forward(net, x, -1), INVALID);
    EXPECT(ctx, clcnn_net_forward(net, x, 3), INVALID);
    EXPECT(ctx, clcnn_net_forward(net, x, INT_MAX), INVALID);
    tu_ok(clcnn_net_forward(net, x, 2));
    EXPECT(ctx, clcnn_net_backward(net, NULL), INVALID);
    const float bad_labels[][2] = {{-1, 0}, {10, 0}, {0.5f, 0}, {NAN, 0}, {INFINITY, 0}, {1e30f, 0}};
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++)
        EXPECT(ctx, clcnn_net_backward(net, bad_labels[i]), INVALID);
    tu_ok(clcnn_net_backward(net, labels));
    EXPECT(ctx, clcnn_net_step(net, -1.0f), INVALID);
    EXPECT(ctx, clcnn_net_step(net, NAN), INVALID);
    EXPECT(ctx, clcnn_net_step(net, INFINITY), INVALID);
    EXPECT(ctx, clcnn_net_train_batch(net, x, NULL, 2, 0.1f), INVALID);
    EXPECT(ctx, clcnn_net_train_batch(net, NULL, labels, 2, 0.1f), INVALID);
    EXPECT(ctx, clcnn_net_loss(net, NULL), INVALID);
    EXPECT(ctx, clcnn_net_predict(net, x, 1, NULL), INVALID);
    EXPECT(ctx, clcnn_net_predict(net, NULL, 1, probs), INVALID);
    EXPECT(ctx, clcnn_net_predict(net, x, 0, probs), INVALID);
    EXPECT(ctx, clcnn_net_predict(net, x, 3, probs), INVALID);
    EXPECT(ctx, clcnn_net_save(net, NULL, NULL), INVALID);
    EXPECT(ctx, clcnn_net_save(net, "", NULL), CLCNN_ERR_IO);
    EXPECT(ctx, clcnn_net_save(net, "/", NULL), CLCNN_ERR_IO);
    EXPECT(ctx, clcnn_net_save(net, "/nonexistent-folder/model.clcnn", NULL), CLCNN_ERR_IO);
    EXPECT(ctx, clcnn_train_epoch(net, NULL, NULL, &state, NULL), INVALID);
    EXPECT(ctx, clcnn_evaluate(net, NULL, 0, 1, NULL, NULL), INVALID);

    clcnn_net *loaded = (clcnn_net *)ctx;
    EXPECT_NOCTX(clcnn_net_load(NULL, "x", 0, &loaded, NULL, NULL), INVALID);
    EXPECT(ctx, clcnn_net_load(ctx, NULL, 0, &loaded, NULL, NULL), INVALID);
    EXPECT(ctx, clcnn_net_load(ctx, "x", 0, NULL, NULL, NULL), INVALID);
    EXPECT(ctx, clcnn_net_load(ctx, "x", -1, &loaded, NULL, NULL), INVALID);
    EXPECT(ctx, clcnn_net_load(ctx, "", 0, &loaded, NULL, NULL), CLCNN_ERR_IO);
    EXPECT(ctx, clcnn_net_load(ctx, "/", 0, &loaded, NULL, NULL), CLCNN_ERR_IO);
    EXPECT(ctx, clcnn_net_load(ctx, "/dev/null", 0, &loaded, NULL, NULL), CLCNN_ERR_IO);
    ck_assert(loaded == NULL);

    /* ONNX */
    loaded = (clcnn_net *)ctx;
    EXPECT_NOCTX(clcnn_net_load_onnx(NULL, "x.onnx", 0, &loaded), INVALID);
    EXPECT(ctx, clcnn_net_load_onnx(ctx, NULL, 0, &loaded), INVALID);
    EXPECT(ctx, clcnn_net_load_onnx(ctx, "x.onnx", 0, NULL), INVALID);
    EXPECT(ctx, clcnn_net_load_onnx(ctx, "x.onnx", -1, &loaded), INVALID);
    EXPECT(ctx, clcnn_net_load_onnx(ctx, "x.onnx", INT_MAX, &loaded), INVALID);
    EXPECT(ctx, clcnn_net_load_onnx(ctx, "", 0, &loaded), CLCNN_ERR_IO);
    EXPECT(ctx, clcnn_net_load_onnx(ctx, "/", 0, &loaded), CLCNN_ERR_IO);
    EXPECT(ctx, clcnn_net_load_onnx(ctx, "/dev/null", 0, &loaded), CLCNN_ERR_IO);
    ck_assert(loaded == NULL);
    EXPECT_NOCTX(clcnn_net_save_onnx(NULL, "/tmp/x.onnx"), INVALID);
    EXPECT(ctx, clcnn_net_save_onnx(net, NULL), INVALID);
    EXPECT(ctx, clcnn_net_save_onnx(net, ""), CLCNN_ERR_IO);
    EXPECT(ctx, clcnn_net_save_onnx(net, "/nonexistent-folder/model.onnx"), CLCNN_ERR_IO);
    EXPECT_NOCTX(clcnn_net_set_layer_params(NULL, 0, x, 1), INVALID);
    EXPECT(ctx, clcnn_net_set_layer_params(net, 0, NULL, 1), INVALID);
    EXPECT(ctx, clcnn_net_set_layer_params(net, -1, x, 1), INVALID);
    EXPECT(ctx, clcnn_net_set_layer_params(net, INT_MAX, x, 1), INVALID);
    EXPECT(ctx, clcnn_net_set_layer_params(net, 0, x, SIZE_MAX), SHAPE);

    /* a data set of another image size and one with more classes than outputs */
    char err[512];
    clcnn_dataset *ds = NULL;
    const char *src = getenv("CLCNN_SOURCE_DIR");
    char data_dir[4096];
    snprintf(data_dir, sizeof data_dir, "%s/data/mnist", src && *src ? src : ".");
    tu_ok(clcnn_dataset_load_dir(data_dir, "t10k", &ds, err, sizeof err));
    tu_ok(clcnn_dataset_truncate(ds, 8));
    clcnn_net *small = NULL, *few = NULL;
    tu_ok(clcnn_net_create(ctx, "flatten dense(10)", 2, 1, 14, 14, &small));
    tu_ok(clcnn_net_create(ctx, "flatten dense(3)", 2, 1, 28, 28, &few));
    EXPECT(ctx, clcnn_train_epoch(small, ds, NULL, &state, NULL), SHAPE);
    EXPECT(ctx, clcnn_evaluate(small, ds, 0, 1, NULL, NULL), SHAPE);
    EXPECT(ctx, clcnn_train_epoch(few, ds, NULL, &state, NULL), SHAPE);
    EXPECT(ctx, clcnn_train_epoch(net, ds, NULL, NULL, NULL), INVALID);
    clcnn_train_options bad_shift = {.max_shift = 28};
    EXPECT(ctx, clcnn_train_epoch(net, ds, &bad_shift, &state, NULL), INVALID);
    bad_shift.max_shift = -1;
    EXPECT(ctx, clcnn_train_epoch(net, ds, &bad_shift, &state, NULL), INVALID);
    EXPECT(ctx, clcnn_evaluate(net, ds, 0, 0, NULL, NULL), INVALID);
    EXPECT(ctx, clcnn_evaluate(net, ds, NAN, 1, NULL, NULL), INVALID);
    tu_ok(clcnn_evaluate(net, ds, 0, 1, NULL, NULL));
    clcnn_net_destroy(small);
    clcnn_net_destroy(few);
    clcnn_dataset_destroy(ds);
    clcnn_net_destroy(net);
}
END_TEST

/* The ops of residual and mobile networks: add, axpy, global average
 * pooling, batch normalization and dropout, on x / dx (2,3,6,6). */
START_TEST(test_modern_ops_operands)
{
    clcnn_context *ctx = tu_ctx();
    operands o, foreign;
    make_conv_operands(ctx, &o);
    make_conv_operands(other, &foreign);

    tu_ok(clcnn_add_forward(ctx, o.x, o.x, o.dx));
    EXPECT_NOCTX(clcnn_add_forward(NULL, o.x, o.x, o.dx), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_add_forward(ctx, o.x, o.dx, o.dx));
    EACH_BAD_OPERAND(o, dx, clcnn_add_forward(ctx, o.x, o.x, o.dx));
    EXPECT(ctx, clcnn_add_forward(ctx, o.x, o.y, o.dx), SHAPE);
    EXPECT(ctx, clcnn_add_forward(ctx, o.x, o.x, o.y), SHAPE);
    tu_ok(clcnn_add_backward(ctx, o.x, o.dx, NULL));
    EXPECT_NOCTX(clcnn_add_backward(NULL, o.x, o.dx, NULL), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_add_backward(ctx, o.x, o.dx, NULL));
    EXPECT(ctx, clcnn_add_backward(ctx, o.x, foreign.dx, NULL), INVALID);
    EXPECT(ctx, clcnn_add_backward(ctx, o.x, NULL, foreign.dx), INVALID);
    EXPECT(ctx, clcnn_add_backward(ctx, o.x, o.y, NULL), SHAPE);
    tu_ok(clcnn_axpy(ctx, 0.5f, o.x, o.dx));
    EXPECT_NOCTX(clcnn_axpy(NULL, 0.5f, o.x, o.dx), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_axpy(ctx, 0.5f, o.x, o.dx));
    EACH_BAD_OPERAND(o, dx, clcnn_axpy(ctx, 0.5f, o.x, o.dx));
    EXPECT(ctx, clcnn_axpy(ctx, NAN, o.x, o.dx), INVALID);
    EXPECT(ctx, clcnn_axpy(ctx, 1.0f, o.x, o.y), SHAPE);
    EXPECT(ctx, clcnn_axpy(ctx, 1.0f, o.x, o.x), INVALID);

    /* global average pooling: (2,3,6,6) -> (2,3,1,1) in the per-channel
     * tensors below */
    clcnn_tensor *pc[2][7];
    clcnn_context *ctxs[2] = {ctx, other};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 7; j++)
            tu_ok(clcnn_tensor_create(ctxs[i], j == 0 ? 2 : 3, j == 0 ? 3 : 1, 1, 1, &pc[i][j]));
    clcnn_tensor *gy = pc[0][0], *fgy = pc[1][0];
    tu_ok(clcnn_global_avgpool_forward(ctx, o.x, gy));
    EXPECT_NOCTX(clcnn_global_avgpool_forward(NULL, o.x, gy), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_global_avgpool_forward(ctx, o.x, gy));
    EXPECT(ctx, clcnn_global_avgpool_forward(ctx, o.x, NULL), INVALID);
    EXPECT(ctx, clcnn_global_avgpool_forward(ctx, o.x, fgy), INVALID);
    EXPECT(ctx, clcnn_global_avgpool_forward(ctx, o.x, o.y), SHAPE);
    tu_ok(clcnn_global_avgpool_backward(ctx, gy, o.dx));
    EXPECT_NOCTX(clcnn_global_avgpool_backward(NULL, gy, o.dx), INVALID);
    EACH_BAD_OPERAND(o, dx, clcnn_global_avgpool_backward(ctx, gy, o.dx));
    EXPECT(ctx, clcnn_global_avgpool_backward(ctx, NULL, o.dx), INVALID);
    EXPECT(ctx, clcnn_global_avgpool_backward(ctx, fgy, o.dx), INVALID);
    EXPECT(ctx, clcnn_global_avgpool_backward(ctx, o.y, o.dx), SHAPE);
    EXPECT_NOCTX(clcnn_global_avgpool_output_shape(NULL, (int[4]){0}, NULL, 0), INVALID);
    EXPECT_NOCTX(clcnn_global_avgpool_output_shape((int[]){INT_MAX, INT_MAX, 2, 2}, (int[4]){0},
                                                   NULL, 0),
                 SHAPE);
    EXPECT_NOCTX(clcnn_add_output_shape((int[]){INT_MAX, INT_MAX, 2, 2},
                                        (int[]){INT_MAX, INT_MAX, 2, 2}, (int[4]){0}, NULL, 0),
                 SHAPE);

    /* batch normalization of x into dx; per-channel tensors (3,1,1,1) */
    clcnn_tensor *g = pc[0][1], *be = pc[0][2], *rm = pc[0][3], *rv = pc[0][4];
    clcnn_tensor *sm = pc[0][5], *si = pc[0][6], *fg = pc[1][1];
    tu_ok(clcnn_tensor_fill(g, 1.0f));
    tu_ok(clcnn_tensor_fill(be, 0.0f));
    tu_ok(clcnn_tensor_fill(rm, 0.0f));
    tu_ok(clcnn_tensor_fill(rv, 1.0f));
    clcnn_batchnorm_params bp = {0};
    tu_ok(clcnn_batchnorm_forward_train(ctx, o.x, g, be, rm, rv, sm, si, o.dx, &bp));
    EXPECT_NOCTX(clcnn_batchnorm_forward_train(NULL, o.x, g, be, rm, rv, sm, si, o.dx, &bp),
                 INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_batchnorm_forward_train(ctx, o.x, g, be, rm, rv, sm, si, o.dx,
                                                         &bp));
    EACH_BAD_OPERAND(o, dx, clcnn_batchnorm_forward_train(ctx, o.x, g, be, rm, rv, sm, si, o.dx,
                                                          &bp));
    EXPECT(ctx, clcnn_batchnorm_forward_train(ctx, o.x, fg, be, rm, rv, sm, si, o.dx, &bp),
           INVALID);
    EXPECT(ctx, clcnn_batchnorm_forward_train(ctx, o.x, g, be, rm, NULL, sm, si, o.dx, &bp),
           INVALID);
    EXPECT(ctx, clcnn_batchnorm_forward_train(ctx, o.x, g, be, rm, rv, sm, si, o.y, &bp), SHAPE);
    EXPECT(ctx, clcnn_batchnorm_forward_train(ctx, o.x, o.b, be, rm, rv, sm, si, o.dx, &bp),
           SHAPE);
    bp.eps = -1.0f;
    EXPECT(ctx, clcnn_batchnorm_forward_train(ctx, o.x, g, be, rm, rv, sm, si, o.dx, &bp),
           INVALID);
    bp = (clcnn_batchnorm_params){.momentum = FLT_MAX};
    EXPECT(ctx, clcnn_batchnorm_forward_inference(ctx, o.x, g, be, rm, rv, o.dx, &bp), INVALID);
    tu_ok(clcnn_batchnorm_forward_inference(ctx, o.x, g, be, rm, rv, o.dx, NULL));
    EXPECT_NOCTX(clcnn_batchnorm_forward_inference(NULL, o.x, g, be, rm, rv, o.dx, NULL),
                 INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_batchnorm_forward_inference(ctx, o.x, g, be, rm, rv, o.dx,
                                                             NULL));
    EXPECT(ctx, clcnn_batchnorm_forward_inference(ctx, o.x, g, be, NULL, rv, o.dx, NULL),
           INVALID);
    EXPECT(ctx, clcnn_batchnorm_forward_inference(ctx, o.x, g, be, rm, fg, o.dx, NULL), INVALID);
    clcnn_tensor *bdy;
    tu_ok(clcnn_tensor_create(ctx, 2, 3, 6, 6, &bdy));
    tu_ok(clcnn_tensor_fill(bdy, 0.25f));
    tu_ok(clcnn_batchnorm_backward(ctx, o.x, bdy, g, sm, si, o.dx, rm, rv));
    EXPECT_NOCTX(clcnn_batchnorm_backward(NULL, o.x, bdy, g, sm, si, o.dx, rm, rv), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_batchnorm_backward(ctx, o.x, bdy, g, sm, si, o.dx, rm, rv));
    EACH_BAD_OPERAND(o, dx, clcnn_batchnorm_backward(ctx, o.x, bdy, g, sm, si, o.dx, rm, rv));
    EXPECT(ctx, clcnn_batchnorm_backward(ctx, o.x, bdy, g, sm, si, o.dx, fg, rv), INVALID);
    EXPECT(ctx, clcnn_batchnorm_backward(ctx, o.x, o.y, g, sm, si, o.dx, rm, rv), SHAPE);
    EXPECT_NOCTX(clcnn_batchnorm_output_shape(NULL, 1, NULL, (int[4]){0}, NULL, 0), INVALID);
    EXPECT_NOCTX(clcnn_batchnorm_output_shape((int[]){INT_MAX, INT_MAX, 2, 2}, 1, NULL,
                                              (int[4]){0}, NULL, 0),
                 SHAPE);
    clcnn_tensor_destroy(bdy);

    /* dropout */
    clcnn_dropout_params dp = {.p = 0.5f, .seed = 3, .training = 1};
    tu_ok(clcnn_dropout_forward(ctx, o.x, o.dx, &dp));
    EXPECT_NOCTX(clcnn_dropout_forward(NULL, o.x, o.dx, &dp), INVALID);
    EXPECT(ctx, clcnn_dropout_forward(ctx, o.x, o.dx, NULL), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_dropout_forward(ctx, o.x, o.dx, &dp));
    EACH_BAD_OPERAND(o, dx, clcnn_dropout_forward(ctx, o.x, o.dx, &dp));
    EXPECT(ctx, clcnn_dropout_forward(ctx, o.x, o.y, &dp), SHAPE);
    tu_ok(clcnn_dropout_backward(ctx, o.x, o.dx, &dp));
    EXPECT_NOCTX(clcnn_dropout_backward(NULL, o.x, o.dx, &dp), INVALID);
    EXPECT(ctx, clcnn_dropout_backward(ctx, o.x, o.dx, NULL), INVALID);
    EACH_BAD_OPERAND(o, x, clcnn_dropout_backward(ctx, o.x, o.dx, &dp));
    EACH_BAD_OPERAND(o, dx, clcnn_dropout_backward(ctx, o.x, o.dx, &dp));
    dp.p = -FLT_MIN;
    EXPECT(ctx, clcnn_dropout_forward(ctx, o.x, o.dx, &dp), INVALID);
    dp.p = NAN;
    EXPECT(ctx, clcnn_dropout_backward(ctx, o.x, o.dx, &dp), INVALID);
    dp.p = 0.5f;
    EXPECT_NOCTX(clcnn_dropout_output_shape((int[]){INT_MAX, INT_MAX, 2, 2}, &dp, (int[4]){0},
                                            NULL, 0),
                 SHAPE);
    EXPECT_NOCTX(clcnn_dropout_output_shape((int[]){1, 1, 1, 1}, &dp, NULL, NULL, 0), INVALID);

    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 7; j++)
            clcnn_tensor_destroy(pc[i][j]);

    free_operands(&o);
    free_operands(&foreign);
}
END_TEST

static Suite *misuse_suite(void)
{
    Suite *s = suite_create("misuse");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, other_up, other_down);
    tcase_add_test(tc, test_status_version_devices);
    tcase_add_test(tc, test_contexts);
    tcase_add_test(tc, test_tensors);
    tcase_add_test(tc, test_ops_operands);
    tcase_add_test(tc, test_dense_loss_optim_operands);
    tcase_add_test(tc, test_shape_checks_overflow);
    tcase_add_test(tc, test_data_and_rng);
    tcase_add_test(tc, test_networks);
    tcase_add_test(tc, test_modern_ops_operands);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(misuse_suite());
}
