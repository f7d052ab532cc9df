/*
 * Softmax over the channel axis for every (n, h, w), forward and backward
 * (kernels/softmax.cl). Computed stably: the maximum is subtracted first.
 */
#include <stdio.h>

#include "gemm.h"

/* Pure check of an output against one input: the same shape (the channel
 * axis matters, so equal counts are not enough), and the same memory or
 * disjoint. */
static clcnn_status check_io(clcnn_context *ctx, const char *op, const char *out_name,
                             const clcnn_tensor *out, const char *in_name,
                             const clcnn_tensor *in)
{
    char why[32];
    snprintf(why, sizeof why, "%s is", in_name);
    clcnn_status st = clcnn__expect_shape(ctx, op, out_name, out, in->shape, why);
    if (st != CLCNN_OK)
        return st;
    if (clcnn__tensors_overlap(out, in) && !clcnn__tensors_same(out, in))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: %s partly overlaps %s in memory (only exact in-place use is "
                           "allowed)",
                           op, out_name, in_name);
    return CLCNN_OK;
}

static void launch_size(const clcnn_context *ctx, const int shape[4], size_t *global,
                        size_t *local)
{
    clcnn__launch_size_1d(ctx, (size_t)shape[0] * (size_t)shape[2] * (size_t)shape[3], global,
                          local);
}

/* x (N,C,H,W) -> y (N,C,H,W) */
clcnn_status clcnn_softmax_forward(clcnn_context *ctx, const clcnn_tensor *x, clcnn_tensor *y)
{
    static const char op[] = "clcnn_softmax_forward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK ||
        (st = check_io(ctx, op, "y", y, "x", x)) != CLCNN_OK)
        return st;
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "softmax", "", "softmax_fwd", &k)) != CLCNN_OK)
        return st;
    int HW = x->shape[2] * x->shape[3];
    size_t global, local;
    launch_size(ctx, x->shape, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(x), CLCNN__ARG_TENSOR(y),
                         CLCNN__ARG_INT(x->shape[1]), CLCNN__ARG_INT(HW),
                         CLCNN__ARG_INT(x->shape[0] * HW));
}

/* y, dy (N,C,H,W) -> dx (N,C,H,W) */
clcnn_status clcnn_softmax_backward(clcnn_context *ctx, const clcnn_tensor *y,
                                    const clcnn_tensor *dy, clcnn_tensor *dx)
{
    static const char op[] = "clcnn_softmax_backward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dx, "dx")) != CLCNN_OK ||
        (st = clcnn__expect_shape(ctx, op, "dy", dy, y->shape, "y is")) != CLCNN_OK ||
        (st = check_io(ctx, op, "dx", dx, "y", y)) != CLCNN_OK ||
        (st = check_io(ctx, op, "dx", dx, "dy", dy)) != CLCNN_OK)
        return st;
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "softmax", "", "softmax_bwd", &k)) != CLCNN_OK)
        return st;
    int HW = y->shape[2] * y->shape[3];
    size_t global, local;
    launch_size(ctx, y->shape, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(y), CLCNN__ARG_TENSOR(dy),
                         CLCNN__ARG_TENSOR(dx), CLCNN__ARG_INT(y->shape[1]), CLCNN__ARG_INT(HW),
                         CLCNN__ARG_INT(y->shape[0] * HW));
}
