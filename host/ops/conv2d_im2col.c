/*
 * conv2d by an explicit im2col (forward) or col2im (backward-data) around one
 * batched product of conv2d_1x1.c, for small images where a product over all
 * images' pixels keeps the vectors full.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

/* A 2-D launch of kernel `name` of conv2d_1x1.cl over d0 x d1 items with the
 * buffers src, dst and the geometry (im2col, col2im). */
static clcnn_status launch_geom_2d(clcnn_context *ctx, const char *name, size_t d0, size_t d1,
                                   conv2d_buf src, conv2d_buf dst, const conv2d_geom *g,
                                   int by_image)
{
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_1x1", "-D TM=8 -D TN=16", name, &k);
    if (st != CLCNN_OK)
        return st;
    const size_t global[2] = {d0, d1};
    return CLCNN__LAUNCH(ctx, k, 2, global, NULL, CLCNN__ARG_MEM(src.mem),
                         CLCNN__ARG_INT(src.off), CLCNN__ARG_MEM(dst.mem),
                         CLCNN__ARG_INT(dst.off), GEOM_ARGS(*g), CLCNN__ARG_INT(by_image));
}

/* dst (B, A, L) = src (A, B, L) with the first two dimensions exchanged. */
static clcnn_status swap(clcnn_context *ctx, conv2d_buf src, conv2d_buf dst, int A, int B,
                         int L)
{
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_1x1", "-D TM=8 -D TN=16", "conv2d_swap", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t global[3] = {(size_t)L, (size_t)A, (size_t)B};
    return CLCNN__LAUNCH(ctx, k, 3, global, NULL, CLCNN__ARG_MEM(src.mem),
                         CLCNN__ARG_INT(src.off), CLCNN__ARG_MEM(dst.mem),
                         CLCNN__ARG_INT(dst.off), CLCNN__ARG_INT(A), CLCNN__ARG_INT(B),
                         CLCNN__ARG_INT(L));
}

/* Images of at least this many output pixels get one product each (col by
 * image), which reads x's rows and writes y in place; smaller ones share one
 * product over all images' pixels, with (K, N) exchanges around it. */
#define BY_IMAGE_PIXELS 256

/* col = im2col(x); y = w col (+ bias, ReLU), per image or over all pixels.
 * One product over the pixels of all images keeps the vectors full when an
 * image has only a few. */
clcnn_status clcnn__conv2d_forward_im2col(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                          conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                          const conv2d_geom *g, int epilogue)
{
    const size_t pq = (size_t)g->P * g->Q, npq = (size_t)g->N * pq;
    const size_t crs = (size_t)g->C * g->R * g->S;
    const int by_image = pq >= BY_IMAGE_PIXELS;
    clcnn_tensor *col = NULL, *tmp = NULL;
    clcnn_status st;
    if ((st = clcnn__conv2d_scratch(ctx, crs * npq, &col)) != CLCNN_OK ||
        (!by_image && (st = clcnn__conv2d_scratch(ctx, (size_t)g->K * npq, &tmp)) != CLCNN_OK) ||
        (st = launch_geom_2d(ctx, "conv2d_im2col", (size_t)g->N, crs, x, conv2d_tensor_buf(col), g,
                             by_image)) != CLCNN_OK)
        goto done;
    if (by_image)
        st = clcnn__conv2d_batched_gemm(ctx, t, conv2d_tensor_buf(col), crs * pq, w, 0, 0, b,
                                        epilogue, y, (size_t)g->K * pq, g->N, g->K, (int)crs,
                                        (int)pq);
    else if ((st = clcnn__conv2d_batched_gemm(ctx, t, conv2d_tensor_buf(col), 0, w, 0, 0, b,
                                              epilogue, conv2d_tensor_buf(tmp), 0, 1, g->K,
                                              (int)crs, (int)npq)) == CLCNN_OK)
        st = swap(ctx, conv2d_tensor_buf(tmp), y, g->K, g->N, (int)pq);
done:
    clcnn_tensor_destroy(col);
    clcnn_tensor_destroy(tmp);
    return st;
}

/* col = w^T (C*R*S, K) dy (K, P*Q per image, or N*P*Q over all), then dx =
 * col2im(col): the scatter form, which skips the padding the flipped forms
 * multiply by zero (most of a 3x3 output grown back to 5x5) and reads dy in
 * place for images that are not tiny. */
clcnn_status clcnn__conv2d_backward_col2im(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf dy,
                                           conv2d_buf w, conv2d_buf dx, const conv2d_geom *g)
{
    const size_t pq = (size_t)g->P * g->Q, npq = (size_t)g->N * pq;
    const size_t crs = (size_t)g->C * g->R * g->S;
    const int by_image = pq >= BY_IMAGE_PIXELS;
    clcnn_tensor *dyt = NULL, *col = NULL;
    clcnn_status st;
    if ((!by_image && (st = clcnn__conv2d_scratch(ctx, (size_t)g->K * npq, &dyt)) != CLCNN_OK) ||
        (st = clcnn__conv2d_scratch(ctx, crs * npq, &col)) != CLCNN_OK)
        goto done;
    /* the product's a is w^T, which w (K x C*R*S) is, read transposed */
    if (by_image)
        st = clcnn__conv2d_batched_gemm(ctx, t, dy, (size_t)g->K * pq, w, 0, 1,
                                        (conv2d_buf){NULL, 0}, 0, conv2d_tensor_buf(col), crs * pq,
                                        g->N, (int)crs, g->K, (int)pq);
    else if ((st = swap(ctx, dy, conv2d_tensor_buf(dyt), g->N, g->K, (int)pq)) == CLCNN_OK)
        st = clcnn__conv2d_batched_gemm(ctx, t, conv2d_tensor_buf(dyt), 0, w, 0, 1,
                                        (conv2d_buf){NULL, 0}, 0, conv2d_tensor_buf(col), 0, 1,
                                        (int)crs, g->K, (int)npq);
    if (st == CLCNN_OK)
        st = launch_geom_2d(ctx, "conv2d_col2im", (size_t)g->N * g->C, (size_t)g->H,
                            conv2d_tensor_buf(col), dx, g, by_image);
done:
    clcnn_tensor_destroy(dyt);
    clcnn_tensor_destroy(col);
    return st;
}
