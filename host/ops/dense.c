/*
 * Dense (fully connected) layers: forward, backward-data and
 * backward-filter, each one call of the internal GEMM (gemm.h) on the
 * flattened input, plus a column sum for the bias gradient. Networks use
 * the forward and backward-data fused with a ReLU in the GEMM's epilogue.
 */
#include <stdio.h>

#include "gemm.h"

clcnn_status clcnn__dense_output_shape(const int x_shape[4], const int w_shape[4],
                                       int y_shape[4], char *message, size_t message_size)
{
    if (!x_shape || !w_shape || !y_shape) {
        clcnn__message(message, message_size, "dense: %s is NULL",
                       !x_shape ? "x_shape" : !w_shape ? "w_shape" : "y_shape");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    char xs[64], ws[64];
    clcnn__shape_str(x_shape, xs, sizeof xs);
    clcnn__shape_str(w_shape, ws, sizeof ws);
    if (clcnn__shape_count(x_shape) == 0) {
        clcnn__message(message, message_size, "dense: x shape %s is invalid", xs);
        return CLCNN_ERR_SHAPE;
    }
    if (clcnn__shape_count(w_shape) == 0) {
        clcnn__message(message, message_size, "dense: w shape %s is invalid", ws);
        return CLCNN_ERR_SHAPE;
    }
    int F = x_shape[1] * x_shape[2] * x_shape[3]; /* fits: the whole count does */
    if (w_shape[1] != F || w_shape[2] != 1 || w_shape[3] != 1) {
        clcnn__message(message, message_size,
                       "dense: w has shape %s but x %s has %d features, so w must be "
                       "(K, %d, 1, 1)",
                       ws, xs, F, F);
        return CLCNN_ERR_SHAPE;
    }
    y_shape[0] = x_shape[0];
    y_shape[1] = w_shape[0];
    y_shape[2] = 1;
    y_shape[3] = 1;
    clcnn__message(message, message_size, "%s", "");
    return CLCNN_OK;
}

/* Runs the pure check and records its message on ctx. */
static clcnn_status check_dense(clcnn_context *ctx, const char *op, const int x_shape[4],
                                const int w_shape[4], int y_shape[4])
{
    char msg[512];
    clcnn_status st = clcnn__dense_output_shape(x_shape, w_shape, y_shape, msg, sizeof msg);
    return st == CLCNN_OK ? st : clcnn__fail(ctx, st, "%s: %s", op, msg);
}

static clcnn_status check_bias(clcnn_context *ctx, const char *op, const char *name,
                               const clcnn_tensor *b, int K)
{
    clcnn_status st = clcnn__check_tensor(ctx, b, name);
    if (st != CLCNN_OK)
        return st;
    const int want[4] = {K, 1, 1, 1};
    return clcnn__expect_shape(ctx, op, name, b, want, "w's outputs need");
}

/* x (N,C,H,W) as (N,F), w (K,F,1,1), b (K,1,1,1) or NULL -> y (N,K,1,1) */
static clcnn_status dense_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                  const clcnn_tensor *w, const clcnn_tensor *b, clcnn_tensor *y,
                                  int relu, int variant)
{
    static const char op[] = "clcnn_dense_forward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    int want[4];
    if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, w, "w")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK ||
        (st = check_dense(ctx, op, x->shape, w->shape, want)) != CLCNN_OK ||
        (st = clcnn__expect_shape(ctx, op, "y", y, want, "x w^T gives")) != CLCNN_OK ||
        (b && (st = check_bias(ctx, op, "b", b, want[1])) != CLCNN_OK))
        return st;
    if (clcnn__tensors_overlap(y, x) || clcnn__tensors_overlap(y, w) ||
        clcnn__tensors_overlap(y, b))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: y overlaps x, w or b in memory", op);
    int N = want[0], K = want[1], F = w->shape[1];
    clcnn__gemm_desc d = {
        .trans_b = 1, .M = N, .N = K, .K = F, .alpha = 1.0f, .beta = 0.0f,
        .a = x, .lda = F, .b = w, .ldb = F, .c = y, .ldc = K,
        .bias = b, .bias_mode = b ? CLCNN__GEMM_BIAS_COL : CLCNN__GEMM_BIAS_NONE,
        .relu = relu,
    };
    return clcnn__gemm_variant(ctx, &d, variant);
}

/* dy (N,K,1,1), w (K,F,1,1), x (the shape of dx) when relu -> dx (N,C,H,W)
 * with C*H*W = F, overwritten */
static clcnn_status dense_backward_data(clcnn_context *ctx, const clcnn_tensor *dy,
                                        const clcnn_tensor *w, const clcnn_tensor *x,
                                        clcnn_tensor *dx, int relu, int variant)
{
    static const char op[] = "clcnn_dense_backward_data";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    int want[4];
    if ((st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, w, "w")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dx, "dx")) != CLCNN_OK ||
        (st = check_dense(ctx, op, dx->shape, w->shape, want)) != CLCNN_OK ||
        (st = clcnn__expect_shape(ctx, op, "dy", dy, want, "dx and w need")) != CLCNN_OK)
        return st;
    if (clcnn__tensors_overlap(dx, dy) || clcnn__tensors_overlap(dx, w))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: dx overlaps dy or w in memory",
                           op);
    if (relu) {
        /* x is read as dx is written: N rows of F features */
        int x_gives[4];
        if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
            (st = check_dense(ctx, op, x->shape, w->shape, x_gives)) != CLCNN_OK ||
            (st = clcnn__expect_shape(ctx, op, "dy", dy, x_gives, "x and w need")) != CLCNN_OK)
            return st;
        if (clcnn__tensors_overlap(dx, x))
            return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: dx overlaps x in memory",
                               op);
    }
    int N = want[0], K = want[1], F = w->shape[1];
    clcnn__gemm_desc d = {
        .M = N, .N = F, .K = K, .alpha = 1.0f, .beta = 0.0f,
        .a = dy, .lda = K, .b = w, .ldb = F, .c = dx, .ldc = F,
        .mask = relu ? x : NULL, .ldm = F,
    };
    return clcnn__gemm_variant(ctx, &d, variant);
}

/* x (N,C,H,W) as (N,F), dy (N,K,1,1) -> dw (K,F,1,1) +=, db (K,1,1,1) += or NULL */
clcnn_status clcnn__dense_backward_filter_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                                  const clcnn_tensor *dy, clcnn_tensor *dw,
                                                  clcnn_tensor *db, int variant)
{
    static const char op[] = "clcnn_dense_backward_filter";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    int want[4];
    if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dw, "dw")) != CLCNN_OK ||
        (st = check_dense(ctx, op, x->shape, dw->shape, want)) != CLCNN_OK ||
        (st = clcnn__expect_shape(ctx, op, "dy", dy, want, "x and dw need")) != CLCNN_OK ||
        (db && (st = check_bias(ctx, op, "db", db, want[1])) != CLCNN_OK))
        return st;
    if (clcnn__tensors_overlap(dw, x) || clcnn__tensors_overlap(dw, dy) ||
        clcnn__tensors_overlap(db, x) || clcnn__tensors_overlap(db, dy) ||
        clcnn__tensors_overlap(db, dw))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: dw or db overlaps x, dy or each other in memory", op);
    int N = want[0], K = want[1], F = dw->shape[1];
    /* dw (K,F) += dy^T (K,N) x (N,F); dy is stored (N,K). */
    clcnn__gemm_desc d = {
        .trans_a = 1, .M = K, .N = F, .K = N, .alpha = 1.0f, .beta = 1.0f,
        .a = dy, .lda = K, .b = x, .ldb = F, .c = dw, .ldc = F,
    };
    if ((st = clcnn__gemm_variant(ctx, &d, variant)) != CLCNN_OK)
        return st;
    return db ? clcnn__gemm_colsum(ctx, N, K, dy, 0, K, 1.0f, db, 0) : CLCNN_OK;
}

clcnn_status clcnn__dense_forward_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                          const clcnn_tensor *w, const clcnn_tensor *b,
                                          clcnn_tensor *y, int variant)
{
    return dense_forward(ctx, x, w, b, y, 0, variant);
}

clcnn_status clcnn__dense_backward_data_variant(clcnn_context *ctx, const clcnn_tensor *dy,
                                                const clcnn_tensor *w, clcnn_tensor *dx,
                                                int variant)
{
    return dense_backward_data(ctx, dy, w, NULL, dx, 0, variant);
}

clcnn_status clcnn__dense_forward_act(clcnn_context *ctx, const clcnn_tensor *x,
                                     const clcnn_tensor *w, const clcnn_tensor *b,
                                     clcnn_tensor *y, int relu)
{
    return dense_forward(ctx, x, w, b, y, relu != 0, CLCNN__GEMM_AUTO);
}

clcnn_status clcnn__dense_backward_data_act(clcnn_context *ctx, const clcnn_tensor *dy,
                                           const clcnn_tensor *w, const clcnn_tensor *x,
                                           clcnn_tensor *dx, int relu)
{
    return dense_backward_data(ctx, dy, w, x, dx, relu != 0, CLCNN__GEMM_AUTO);
}

clcnn_status clcnn_dense_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                 const clcnn_tensor *w, const clcnn_tensor *b, clcnn_tensor *y)
{
    return dense_forward(ctx, x, w, b, y, 0, CLCNN__GEMM_AUTO);
}

clcnn_status clcnn_dense_backward_data(clcnn_context *ctx, const clcnn_tensor *dy,
                                       const clcnn_tensor *w, clcnn_tensor *dx)
{
    return dense_backward_data(ctx, dy, w, NULL, dx, 0, CLCNN__GEMM_AUTO);
}

clcnn_status clcnn_dense_backward_filter(clcnn_context *ctx, const clcnn_tensor *x,
                                         const clcnn_tensor *dy, clcnn_tensor *dw,
                                         clcnn_tensor *db)
{
    return clcnn__dense_backward_filter_variant(ctx, x, dy, dw, db, CLCNN__GEMM_AUTO);
}
