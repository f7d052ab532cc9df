/*
 * Element-wise add, the join of a residual connection: forward, backward
 * (both inputs receive dy) and y += alpha * x, which sums the gradients of a
 * tensor that feeds several layers. Kernels in kernels/add.cl.
 */
#include <math.h>

#include "gemm.h"

clcnn_status clcnn_add_output_shape(const int a_shape[4], const int b_shape[4], int y_shape[4],
                                    char *message, size_t message_size)
{
    if (!a_shape || !b_shape || !y_shape) {
        clcnn__message(message, message_size, "add: %s is NULL",
                       !a_shape ? "a_shape" : !b_shape ? "b_shape" : "y_shape");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    char as[64], bs[64];
    clcnn__shape_str(a_shape, as, sizeof as);
    clcnn__shape_str(b_shape, bs, sizeof bs);
    if (clcnn__shape_count(a_shape) == 0 || clcnn__shape_count(b_shape) == 0) {
        clcnn__message(message, message_size, "add: %s shape %s is invalid",
                       clcnn__shape_count(a_shape) == 0 ? "a" : "b",
                       clcnn__shape_count(a_shape) == 0 ? as : bs);
        return CLCNN_ERR_SHAPE;
    }
    for (int i = 0; i < 4; i++)
        if (a_shape[i] != b_shape[i]) {
            clcnn__message(message, message_size,
                           "add: a %s and b %s must have the same shape", as, bs);
            return CLCNN_ERR_SHAPE;
        }
    for (int i = 0; i < 4; i++)
        y_shape[i] = a_shape[i];
    clcnn__message(message, message_size, "%s", "");
    return CLCNN_OK;
}

/* Runs the pure check and records its message on ctx. */
static clcnn_status check_add(clcnn_context *ctx, const char *op, const int a_shape[4],
                              const int b_shape[4], int y_shape[4])
{
    char msg[512];
    clcnn_status st = clcnn_add_output_shape(a_shape, b_shape, y_shape, msg, sizeof msg);
    return st == CLCNN_OK ? st : clcnn__fail(ctx, st, "%s: %s", op, msg);
}

/* An output may be exactly an input (in place), never partly over it. */
static clcnn_status check_alias(clcnn_context *ctx, const char *op, const char *out_name,
                                const clcnn_tensor *out, const char *in_name,
                                const clcnn_tensor *in)
{
    if (clcnn__tensors_overlap(out, in) && !clcnn__tensors_same(out, in))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: %s partly overlaps %s in memory (only exact in-place use is "
                           "allowed)",
                           op, out_name, in_name);
    return CLCNN_OK;
}

/* float4 work-items plus one for the tail (see kernels/add.cl). */
static void launch_size(const clcnn_context *ctx, size_t n, size_t *global, size_t *local)
{
    clcnn__launch_size_1d(ctx, n / 4 + 1, global, local);
}

/* a, b (N,C,H,W) -> y (N,C,H,W) */
clcnn_status clcnn_add_forward(clcnn_context *ctx, const clcnn_tensor *a, const clcnn_tensor *b,
                               clcnn_tensor *y)
{
    static const char op[] = "clcnn_add_forward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    int want[4];
    if ((st = clcnn__check_tensor(ctx, a, "a")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, b, "b")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK ||
        (st = check_add(ctx, op, a->shape, b->shape, want)) != CLCNN_OK ||
        (st = clcnn__expect_shape(ctx, op, "y", y, want, "a and b are")) != CLCNN_OK ||
        (st = check_alias(ctx, op, "y", y, "a", a)) != CLCNN_OK ||
        (st = check_alias(ctx, op, "y", y, "b", b)) != CLCNN_OK)
        return st;
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "add", "", "add_fwd", &k)) != CLCNN_OK)
        return st;
    size_t n = clcnn__shape_count(want), global, local;
    launch_size(ctx, n, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(a), CLCNN__ARG_TENSOR(b),
                         CLCNN__ARG_TENSOR(y), CLCNN__ARG_INT(n));
}

/* dy (N,C,H,W) -> da, db (N,C,H,W), each NULL or overwritten */
clcnn_status clcnn_add_backward(clcnn_context *ctx, const clcnn_tensor *dy, clcnn_tensor *da,
                                clcnn_tensor *db)
{
    static const char op[] = "clcnn_add_backward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK)
        return st;
    clcnn_tensor *outs[2] = {da, db};
    const char *names[2] = {"da", "db"};
    for (int i = 0; i < 2; i++)
        if (outs[i] &&
            ((st = clcnn__check_tensor(ctx, outs[i], names[i])) != CLCNN_OK ||
             (st = clcnn__expect_shape(ctx, op, names[i], outs[i], dy->shape, "dy is")) !=
                 CLCNN_OK ||
             (st = check_alias(ctx, op, names[i], outs[i], "dy", dy)) != CLCNN_OK))
            return st;
    if (clcnn__tensors_overlap(da, db))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: da overlaps db in memory", op);
    /* an output that is dy itself already holds the gradient */
    int write_a = da && !clcnn__tensors_same(da, dy), write_b = db && !clcnn__tensors_same(db, dy);
    if (!write_a && !write_b)
        return CLCNN_OK;
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "add", "", "add_bwd", &k)) != CLCNN_OK)
        return st;
    const clcnn_tensor *ta = write_a ? da : dy, *tb = write_b ? db : dy; /* any when unused */
    size_t n = clcnn__shape_count(dy->shape), global, local;
    launch_size(ctx, n, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(dy),
                         CLCNN__ARG_TENSOR(ta), CLCNN__ARG_TENSOR(tb), CLCNN__ARG_INT(write_a),
                         CLCNN__ARG_INT(write_b), CLCNN__ARG_INT(n));
}

/* x (any shape) -> y (same count) += alpha * x */
clcnn_status clcnn_axpy(clcnn_context *ctx, float alpha, const clcnn_tensor *x, clcnn_tensor *y)
{
    static const char op[] = "clcnn_axpy";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK)
        return st;
    if (!isfinite(alpha))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: alpha %g is not finite", op,
                           (double)alpha);
    size_t n = clcnn__shape_count(x->shape);
    if (n != clcnn__shape_count(y->shape)) {
        char a[64], b[64];
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE,
                           "%s: x %s and y %s must have the same element count", op,
                           clcnn__shape_str(x->shape, a, sizeof a),
                           clcnn__shape_str(y->shape, b, sizeof b));
    }
    if (clcnn__tensors_overlap(x, y))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: y overlaps x in memory", op);
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "add", "", "add_axpy", &k)) != CLCNN_OK)
        return st;
    size_t global, local;
    launch_size(ctx, n, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_FLOAT(alpha),
                         CLCNN__ARG_TENSOR(x), CLCNN__ARG_TENSOR(y), CLCNN__ARG_INT(n));
}
