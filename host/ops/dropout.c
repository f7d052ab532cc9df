/*
 * Inverted dropout: in training each element is zeroed with probability p
 * and the others scaled by 1 / (1 - p); in inference the identity. The mask
 * is a hash of (seed, element index) computed on the device
 * (kernels/dropout.cl), so the backward pass recomputes it from the same
 * parameters instead of keeping it, and one seed gives one mask everywhere.
 */
#include <math.h>
#include <stdio.h>

#include "gemm.h"

clcnn_status clcnn_dropout_output_shape(const int x_shape[4], const clcnn_dropout_params *params,
                                        int y_shape[4], char *message, size_t message_size)
{
    if (!x_shape || !params || !y_shape) {
        clcnn__message(message, message_size, "dropout: %s is NULL",
                       !x_shape ? "x_shape" : !params ? "params" : "y_shape");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (!(params->p >= 0.0f && params->p <= 1.0f)) {
        clcnn__message(message, message_size, "dropout: p %g must be in [0, 1]",
                       (double)params->p);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (clcnn__shape_count(x_shape) == 0) {
        char xs[64];
        clcnn__message(message, message_size, "dropout: x shape %s is invalid",
                       clcnn__shape_str(x_shape, xs, sizeof xs));
        return CLCNN_ERR_SHAPE;
    }
    for (int i = 0; i < 4; i++)
        y_shape[i] = x_shape[i];
    clcnn__message(message, message_size, "%s", "");
    return CLCNN_OK;
}

/* in (N,C,H,W) -> out (N,C,H,W), exactly in or disjoint: out = in * mask *
 * scale, the forward pass on x or the backward pass on dy */
static clcnn_status dropout_apply(clcnn_context *ctx, const char *op, const char *in_name,
                                  const clcnn_tensor *in, const char *out_name,
                                  clcnn_tensor *out, const clcnn_dropout_params *params)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, in, in_name)) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, out, out_name)) != CLCNN_OK)
        return st;
    char msg[512];
    int want[4];
    if ((st = clcnn_dropout_output_shape(in->shape, params, want, msg, sizeof msg)) != CLCNN_OK)
        return clcnn__fail(ctx, st, "%s: %s", op, msg);
    char why[64];
    snprintf(why, sizeof why, "%s is", in_name);
    if ((st = clcnn__expect_shape(ctx, op, out_name, out, want, why)) != CLCNN_OK)
        return st;
    const int same = clcnn__tensors_same(in, out);
    if (clcnn__tensors_overlap(in, out) && !same)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: %s partly overlaps %s in memory (only exact in-place use is "
                           "allowed)",
                           op, out_name, in_name);
    const float p = params->p;
    const int identity = !params->training || p == 0.0f;
    if (identity && same)
        return CLCNN_OK;
    /* kept when the hash's top 32 bits u satisfy u / 2^32 >= p: P(keep) =
     * 1 - p to 2^-32, and none for p = 1 (p * 2^32 is exact in double) */
    const cl_ulong threshold = identity ? 0 : (cl_ulong)ceil((double)p * 4294967296.0);
    const float scale = identity ? 1.0f : p == 1.0f ? 0.0f : (float)(1.0 / (1.0 - (double)p));
    const cl_ulong seed = params->seed;
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "dropout", "", "dropout_apply", &k)) != CLCNN_OK)
        return st;
    const size_t n = clcnn__shape_count(want);
    size_t global, local;
    clcnn__launch_size_1d(ctx, n, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(in),
                         CLCNN__ARG_TENSOR(out), ((clcnn__arg){sizeof seed, &seed}),
                         ((clcnn__arg){sizeof threshold, &threshold}), CLCNN__ARG_FLOAT(scale),
                         CLCNN__ARG_INT(n));
}

/* x (N,C,H,W) -> y (N,C,H,W), may be x */
clcnn_status clcnn_dropout_forward(clcnn_context *ctx, const clcnn_tensor *x, clcnn_tensor *y,
                                   const clcnn_dropout_params *params)
{
    return dropout_apply(ctx, "clcnn_dropout_forward", "x", x, "y", y, params);
}

/* dy (N,C,H,W) -> dx (N,C,H,W), may be dy */
clcnn_status clcnn_dropout_backward(clcnn_context *ctx, const clcnn_tensor *dy,
                                    clcnn_tensor *dx, const clcnn_dropout_params *params)
{
    return dropout_apply(ctx, "clcnn_dropout_backward", "dy", dy, "dx", dx, params);
}
