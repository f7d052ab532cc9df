/*
 * Global average pooling, (N,C,H,W) -> (N,C,1,1), the head of residual and
 * mobile networks before their classifier: forward and backward side by
 * side, kernels in kernels/global_avgpool.cl.
 */
#include "gemm.h"

clcnn_status clcnn_global_avgpool_output_shape(const int x_shape[4], int y_shape[4],
                                               char *message, size_t message_size)
{
    if (!x_shape || !y_shape) {
        clcnn__message(message, message_size, "global_avgpool: %s is NULL",
                       !x_shape ? "x_shape" : "y_shape");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (clcnn__shape_count(x_shape) == 0) {
        char xs[64];
        clcnn__message(message, message_size, "global_avgpool: x shape %s is invalid",
                       clcnn__shape_str(x_shape, xs, sizeof xs));
        return CLCNN_ERR_SHAPE;
    }
    y_shape[0] = x_shape[0];
    y_shape[1] = x_shape[1];
    y_shape[2] = 1;
    y_shape[3] = 1;
    clcnn__message(message, message_size, "%s", "");
    return CLCNN_OK;
}

/* Runs the pure check and records its message on ctx. */
static clcnn_status check_gap(clcnn_context *ctx, const char *op, const int x_shape[4],
                              int y_shape[4])
{
    char msg[512];
    clcnn_status st = clcnn_global_avgpool_output_shape(x_shape, y_shape, msg, sizeof msg);
    return st == CLCNN_OK ? st : clcnn__fail(ctx, st, "%s: %s", op, msg);
}

/* x (N,C,H,W) -> y (N,C,1,1) */
clcnn_status clcnn_global_avgpool_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                          clcnn_tensor *y)
{
    static const char op[] = "clcnn_global_avgpool_forward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    int want[4];
    if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK ||
        (st = check_gap(ctx, op, x->shape, want)) != CLCNN_OK ||
        (st = clcnn__expect_shape(ctx, op, "y", y, want, "pooling x gives")) != CLCNN_OK)
        return st;
    if (clcnn__tensors_overlap(x, y))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: y overlaps x in memory", op);
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "global_avgpool", "", "gap_fwd", &k)) != CLCNN_OK)
        return st;
    const int planes = want[0] * want[1], hw = x->shape[2] * x->shape[3];
    size_t global, local;
    clcnn__launch_size_1d(ctx, (size_t)planes, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(x), CLCNN__ARG_TENSOR(y),
                         CLCNN__ARG_INT(hw), CLCNN__ARG_INT(planes));
}

/* dy (N,C,1,1) -> dx (N,C,H,W), overwritten */
clcnn_status clcnn_global_avgpool_backward(clcnn_context *ctx, const clcnn_tensor *dy,
                                           clcnn_tensor *dx)
{
    static const char op[] = "clcnn_global_avgpool_backward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    int want[4];
    if ((st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dx, "dx")) != CLCNN_OK ||
        (st = check_gap(ctx, op, dx->shape, want)) != CLCNN_OK ||
        (st = clcnn__expect_shape(ctx, op, "dy", dy, want, "pooling dx gives")) != CLCNN_OK)
        return st;
    if (clcnn__tensors_overlap(dx, dy))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: dx overlaps dy in memory", op);
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "global_avgpool", "", "gap_bwd", &k)) != CLCNN_OK)
        return st;
    const int hw = dx->shape[2] * dx->shape[3];
    const size_t total = clcnn__shape_count(dx->shape);
    size_t global, local;
    clcnn__launch_size_1d(ctx, total, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(dy),
                         CLCNN__ARG_TENSOR(dx), CLCNN__ARG_INT(hw), CLCNN__ARG_INT(total));
}
