/*
 * Element-wise activations: ReLU, leaky ReLU, tanh and sigmoid, forward and
 * backward side by side (kernels/act.cl, one kernel per activation).
 * In-place use is allowed; partial overlaps are refused.
 */
#include <math.h>
#include <stdio.h>

#include "gemm.h"

static const char *const act_names[] = {"relu", "leaky_relu", "tanh", "sigmoid"};

/* Pure check of the activation and its parameter. */
static clcnn_status check_act(clcnn_context *ctx, const char *op, clcnn_activation act,
                              float alpha)
{
    if ((int)act < 0 || (int)act >= (int)(sizeof act_names / sizeof act_names[0]))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: activation %d is not a clcnn_activation", op, (int)act);
    if (act == CLCNN_ACT_LEAKY_RELU && !isfinite(alpha))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: leaky ReLU slope alpha must be finite", op);
    return CLCNN_OK;
}

/* Element-wise operands need equal counts (shapes may differ, as for a
 * flattening view) and are either the same memory or disjoint. */
static clcnn_status check_pair(clcnn_context *ctx, const char *op, const char *out_name,
                               const clcnn_tensor *out, const char *in_name,
                               const clcnn_tensor *in)
{
    if (clcnn__shape_count(out->shape) != clcnn__shape_count(in->shape)) {
        char a[64], b[64];
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE,
                           "%s: %s %s and %s %s must have the same element count", op, in_name,
                           clcnn__shape_str(in->shape, a, sizeof a), out_name,
                           clcnn__shape_str(out->shape, b, sizeof b));
    }
    if (clcnn__tensors_overlap(out, in) && !clcnn__tensors_same(out, in))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: %s partly overlaps %s in memory (only exact in-place use is "
                           "allowed)",
                           op, out_name, in_name);
    return CLCNN_OK;
}

static clcnn_status get_kernel(clcnn_context *ctx, clcnn_activation act, const char *pass,
                               cl_kernel *k)
{
    char name[48];
    snprintf(name, sizeof name, "act_%s_%s", act_names[act], pass);
    return clcnn__kernel(ctx, "act", "", name, k);
}

/* float4 work-items plus one for the tail (see kernels/act.cl). */
static void launch_size(const clcnn_context *ctx, size_t n, size_t *global, size_t *local)
{
    clcnn__launch_size_1d(ctx, n / 4 + 1, global, local);
}

/* x (any shape) -> y (same count) */
clcnn_status clcnn_act_forward(clcnn_context *ctx, clcnn_activation act, float alpha,
                               const clcnn_tensor *x, clcnn_tensor *y)
{
    static const char op[] = "clcnn_act_forward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = check_act(ctx, op, act, alpha)) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK ||
        (st = check_pair(ctx, op, "y", y, "x", x)) != CLCNN_OK)
        return st;
    cl_kernel k;
    if ((st = get_kernel(ctx, act, "fwd", &k)) != CLCNN_OK)
        return st;
    size_t n = clcnn__shape_count(x->shape), global, local;
    launch_size(ctx, n, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(x), CLCNN__ARG_TENSOR(y),
                         CLCNN__ARG_FLOAT(alpha), CLCNN__ARG_INT(n));
}

/* x, y (forward input and output), dy -> dx, all of one count */
clcnn_status clcnn_act_backward(clcnn_context *ctx, clcnn_activation act, float alpha,
                                const clcnn_tensor *x, const clcnn_tensor *y,
                                const clcnn_tensor *dy, clcnn_tensor *dx)
{
    static const char op[] = "clcnn_act_backward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = check_act(ctx, op, act, alpha)) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dx, "dx")) != CLCNN_OK ||
        (st = check_pair(ctx, op, "dx", dx, "dy", dy)) != CLCNN_OK)
        return st;
    /* ReLU's derivative is read from x, tanh's and sigmoid's from y; the
     * other one may be NULL but is checked when given. */
    int uses_x = act == CLCNN_ACT_RELU || act == CLCNN_ACT_LEAKY_RELU;
    if (uses_x || x)
        if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
            (st = check_pair(ctx, op, "dx", dx, "x", x)) != CLCNN_OK)
            return st;
    if (!uses_x || y)
        if ((st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK ||
            (st = check_pair(ctx, op, "dx", dx, "y", y)) != CLCNN_OK)
            return st;
    cl_kernel k;
    if ((st = get_kernel(ctx, act, "bwd", &k)) != CLCNN_OK)
        return st;
    const clcnn_tensor *xa = x ? x : y, *ya = y ? y : x; /* any buffer when unused */
    size_t n = clcnn__shape_count(dy->shape), global, local;
    launch_size(ctx, n, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(xa),
                         CLCNN__ARG_TENSOR(ya), CLCNN__ARG_TENSOR(dy), CLCNN__ARG_TENSOR(dx),
                         CLCNN__ARG_FLOAT(alpha), CLCNN__ARG_INT(n));
}
