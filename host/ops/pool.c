/*
 * 2-D pooling: max (with the argmax the backward pass needs) and average,
 * with or without counting padding, and max pooling fused with the ReLU
 * before it (pool.h). Forward and backward side by side; the kernels are in
 * kernels/pool.cl, one program per mode.
 */
#include <stdio.h>

#include "gemm.h"
#include "pool.h"
#include "runtime.h"

/* Stride 0 means the window size. */
static void effective_strides(const clcnn_pool_params *p, int *sh, int *sw)
{
    *sh = p->stride_h ? p->stride_h : p->window_h;
    *sw = p->stride_w ? p->stride_w : p->window_w;
}

clcnn_status clcnn_pool_output_shape(const int x_shape[4], const clcnn_pool_params *params,
                                     int y_shape[4], char *message, size_t message_size)
{
    if (!x_shape || !params || !y_shape) {
        clcnn__message(message, message_size, "pool: %s is NULL",
                       !x_shape ? "x_shape" : !params ? "params" : "y_shape");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    const clcnn_pool_params *p = params;
    if (p->mode != CLCNN_POOL_MAX && p->mode != CLCNN_POOL_AVG_EXCLUDE_PAD &&
        p->mode != CLCNN_POOL_AVG_INCLUDE_PAD) {
        clcnn__message(message, message_size, "pool: mode %d is not a clcnn_pool_mode",
                       (int)p->mode);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (p->window_h < 1 || p->window_w < 1) {
        clcnn__message(message, message_size, "pool: window %dx%d must be at least 1x1",
                       p->window_h, p->window_w);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (p->stride_h < 0 || p->stride_w < 0) {
        clcnn__message(message, message_size,
                       "pool: stride %dx%d must be >= 0 (0 means the window size)",
                       p->stride_h, p->stride_w);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    /* At most half the window, so that every window holds a real pixel. */
    const int pads[4] = {p->pad_top, p->pad_bottom, p->pad_left, p->pad_right};
    const char *pad_names[4] = {"pad_top", "pad_bottom", "pad_left", "pad_right"};
    for (int i = 0; i < 4; i++) {
        int limit = (i < 2 ? p->window_h : p->window_w) / 2;
        if (pads[i] < 0 || pads[i] > limit) {
            clcnn__message(message, message_size,
                           "pool: %s %d must be in [0, %d] (half the %dx%d window)",
                           pad_names[i], pads[i], limit, p->window_h, p->window_w);
            return CLCNN_ERR_INVALID_ARGUMENT;
        }
    }
    char xs[64];
    clcnn__shape_str(x_shape, xs, sizeof xs);
    if (clcnn__shape_count(x_shape) == 0) {
        clcnn__message(message, message_size, "pool: x shape %s is invalid", xs);
        return CLCNN_ERR_SHAPE;
    }
    int sh, sw;
    effective_strides(p, &sh, &sw);
    long hp = (long)x_shape[2] + p->pad_top + p->pad_bottom;
    long wp = (long)x_shape[3] + p->pad_left + p->pad_right;
    if (hp < p->window_h || wp < p->window_w) {
        clcnn__message(message, message_size,
                       "pool: x %s padded to %ldx%ld is smaller than the %dx%d window", xs, hp,
                       wp, p->window_h, p->window_w);
        return CLCNN_ERR_SHAPE;
    }
    y_shape[0] = x_shape[0];
    y_shape[1] = x_shape[1];
    y_shape[2] = (int)((hp - p->window_h) / sh + 1);
    y_shape[3] = (int)((wp - p->window_w) / sw + 1);
    clcnn__message(message, message_size, "%s", "");
    return CLCNN_OK;
}

/* Runs the pure check on x_shape and records its message on ctx. */
static clcnn_status check_geometry(clcnn_context *ctx, const char *op, const int x_shape[4],
                                   const clcnn_pool_params *params, int y_shape[4])
{
    char msg[512];
    clcnn_status st = clcnn_pool_output_shape(x_shape, params, y_shape, msg, sizeof msg);
    if (st != CLCNN_OK)
        return clcnn__fail(ctx, st, "%s: %s", op, msg);
    return CLCNN_OK;
}

/* Max pooling over 2x2 windows of stride 2 without padding, which has its
 * own vectorised kernels. */
static int is_2x2(const clcnn_pool_params *p)
{
    int sh, sw;
    effective_strides(p, &sh, &sw);
    return p->mode == CLCNN_POOL_MAX && p->window_h == 2 && p->window_w == 2 && sh == 2 &&
           sw == 2 && !p->pad_top && !p->pad_bottom && !p->pad_left && !p->pad_right;
}

static clcnn_status get_kernel(clcnn_context *ctx, clcnn_pool_mode mode, const char *name,
                               cl_kernel *k)
{
    char options[32];
    snprintf(options, sizeof options, "-DMODE=%d", (int)mode);
    return clcnn__kernel(ctx, "pool", options, name, k);
}

/* relu is only defined for max pooling. */
static clcnn_status check_relu(clcnn_context *ctx, const char *op,
                               const clcnn_pool_params *params, int relu)
{
    if (relu && params && params->mode != CLCNN_POOL_MAX)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: a fused ReLU needs max pooling, not mode %d", op,
                           (int)params->mode);
    return CLCNN_OK;
}

/* x (N,C,H,W) -> y (N,C,P,Q), argmax (N,C,P,Q) int32 or NULL */
clcnn_status clcnn__pool_forward_act(clcnn_context *ctx, const clcnn_tensor *x, clcnn_tensor *y,
                                     clcnn_tensor *argmax, const clcnn_pool_params *params,
                                     int relu)
{
    static const char op[] = "clcnn_pool_forward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK)
        return st;
    int want[4];
    if ((st = check_geometry(ctx, op, x->shape, params, want)) != CLCNN_OK ||
        (st = clcnn__expect_shape(ctx, op, "y", y, want, "pooling x gives")) != CLCNN_OK ||
        (st = check_relu(ctx, op, params, relu)) != CLCNN_OK)
        return st;
    /* Average pooling ignores argmax, as documented. */
    int write_argmax = argmax && params->mode == CLCNN_POOL_MAX;
    if (write_argmax) {
        if ((st = clcnn__check_tensor(ctx, argmax, "argmax")) != CLCNN_OK ||
            (st = clcnn__expect_shape(ctx, op, "argmax", argmax, want, "y is")) != CLCNN_OK)
            return st;
        if (clcnn__tensors_overlap(argmax, x) || clcnn__tensors_overlap(argmax, y))
            return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                               "%s: argmax overlaps x or y in memory", op);
    }
    if (clcnn__tensors_overlap(x, y))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: y overlaps x in memory", op);

    int fast = is_2x2(params);
    cl_kernel k;
    if ((st = get_kernel(ctx, params->mode, fast ? "pool_fwd_2x2" : "pool_fwd", &k)) !=
        CLCNN_OK)
        return st;
    int sh, sw;
    effective_strides(params, &sh, &sw);
    const clcnn_tensor *am = write_argmax ? argmax : y; /* any buffer when unused */
    size_t rows = (size_t)want[0] * (size_t)want[1] * (size_t)want[2], local, global;
    clcnn__launch_size_1d(ctx, rows, &global, &local);
    if (fast)
        return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(x),
                             CLCNN__ARG_TENSOR(y), CLCNN__ARG_TENSOR(am),
                             CLCNN__ARG_INT(write_argmax), CLCNN__ARG_INT(relu != 0),
                             CLCNN__ARG_INT(x->shape[2]), CLCNN__ARG_INT(x->shape[3]),
                             CLCNN__ARG_INT(want[2]), CLCNN__ARG_INT(want[3]),
                             CLCNN__ARG_INT(rows));
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(x), CLCNN__ARG_TENSOR(y),
                         CLCNN__ARG_TENSOR(am), CLCNN__ARG_INT(write_argmax),
                         CLCNN__ARG_INT(relu != 0), CLCNN__ARG_INT(x->shape[2]),
                         CLCNN__ARG_INT(x->shape[3]), CLCNN__ARG_INT(want[2]),
                         CLCNN__ARG_INT(want[3]), CLCNN__ARG_INT(params->window_h),
                         CLCNN__ARG_INT(params->window_w), CLCNN__ARG_INT(sh),
                         CLCNN__ARG_INT(sw), CLCNN__ARG_INT(params->pad_top),
                         CLCNN__ARG_INT(params->pad_left), CLCNN__ARG_INT(rows));
}

clcnn_status clcnn_pool_forward(clcnn_context *ctx, const clcnn_tensor *x, clcnn_tensor *y,
                                clcnn_tensor *argmax, const clcnn_pool_params *params)
{
    return clcnn__pool_forward_act(ctx, x, y, argmax, params, 0);
}

/* dy (N,C,P,Q), argmax (N,C,P,Q) for max, y (N,C,P,Q) with relu -> dx (N,C,H,W) */
clcnn_status clcnn__pool_backward_act(clcnn_context *ctx, const clcnn_tensor *dy,
                                      const clcnn_tensor *argmax, const clcnn_tensor *y,
                                      clcnn_tensor *dx, const clcnn_pool_params *params,
                                      int relu)
{
    static const char op[] = "clcnn_pool_backward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dx, "dx")) != CLCNN_OK)
        return st;
    int want[4];
    if ((st = check_geometry(ctx, op, dx->shape, params, want)) != CLCNN_OK ||
        (st = clcnn__expect_shape(ctx, op, "dy", dy, want, "pooling dx gives")) != CLCNN_OK ||
        (st = check_relu(ctx, op, params, relu)) != CLCNN_OK)
        return st;
    if (relu) {
        if ((st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK ||
            (st = clcnn__expect_shape(ctx, op, "y", y, want, "dy is")) != CLCNN_OK)
            return st;
        if (clcnn__tensors_overlap(dx, y))
            return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: dx overlaps y in memory",
                               op);
    }
    int is_max = params->mode == CLCNN_POOL_MAX;
    if (is_max) {
        if (!argmax)
            return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                               "%s: argmax is NULL; max pooling needs the argmax saved by "
                               "clcnn_pool_forward",
                               op);
        if ((st = clcnn__check_tensor(ctx, argmax, "argmax")) != CLCNN_OK ||
            (st = clcnn__expect_shape(ctx, op, "argmax", argmax, want, "dy is")) != CLCNN_OK)
            return st;
        if (clcnn__tensors_overlap(dx, argmax))
            return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                               "%s: dx overlaps argmax in memory", op);
    }
    if (clcnn__tensors_overlap(dx, dy))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: dx overlaps dy in memory", op);

    int sh, sw;
    effective_strides(params, &sh, &sw);
    /* Windows that do not overlap scatter a row at a time; overlapping ones
     * gather per element. */
    int rows = sh >= params->window_h && sw >= params->window_w, fast = is_2x2(params);
    cl_kernel k;
    if ((st = get_kernel(ctx, params->mode,
                         fast   ? "pool_bwd_2x2"
                         : rows ? "pool_bwd_rows"
                                : "pool_bwd",
                         &k)) != CLCNN_OK)
        return st;
    const clcnn_tensor *am = is_max ? argmax : dy; /* any buffer when unused */
    const clcnn_tensor *ya = relu ? y : dy;
    size_t total = clcnn__shape_count(dx->shape), local, global;
    if (fast)
        total = (size_t)want[0] * (size_t)want[1] * (size_t)want[2];
    else if (rows)
        total /= (size_t)dx->shape[3];
    clcnn__launch_size_1d(ctx, total, &global, &local);
    if (fast)
        return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(dy),
                             CLCNN__ARG_TENSOR(am), CLCNN__ARG_TENSOR(ya),
                             CLCNN__ARG_INT(relu != 0), CLCNN__ARG_TENSOR(dx),
                             CLCNN__ARG_INT(dx->shape[2]), CLCNN__ARG_INT(dx->shape[3]),
                             CLCNN__ARG_INT(want[2]), CLCNN__ARG_INT(want[3]),
                             CLCNN__ARG_INT(total));
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(dy),
                         CLCNN__ARG_TENSOR(am), CLCNN__ARG_TENSOR(ya),
                         CLCNN__ARG_INT(relu != 0), CLCNN__ARG_TENSOR(dx),
                         CLCNN__ARG_INT(dx->shape[2]), CLCNN__ARG_INT(dx->shape[3]),
                         CLCNN__ARG_INT(want[2]), CLCNN__ARG_INT(want[3]),
                         CLCNN__ARG_INT(params->window_h), CLCNN__ARG_INT(params->window_w),
                         CLCNN__ARG_INT(sh), CLCNN__ARG_INT(sw), CLCNN__ARG_INT(params->pad_top),
                         CLCNN__ARG_INT(params->pad_left), CLCNN__ARG_INT(total));
}

clcnn_status clcnn_pool_backward(clcnn_context *ctx, const clcnn_tensor *dy,
                                 const clcnn_tensor *argmax, clcnn_tensor *dx,
                                 const clcnn_pool_params *params)
{
    return clcnn__pool_backward_act(ctx, dy, argmax, NULL, dx, params, 0);
}
