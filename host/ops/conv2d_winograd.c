/*
 * conv2d launchers of the algorithms built on a plain batched matrix product
 * (kernels/conv2d_1x1.cl): 1x1 convolutions, where the product is the whole
 * convolution; Winograd F(2x2, 3x3), where it multiplies the transformed
 * tiles between the transforms of kernels/conv2d_winograd.c; and the
 * explicit im2col / col2im GEMM for small images.
 */
#include <stdio.h>

#include "conv2d_impl.h"

static conv2d_buf tensor_buf(const clcnn_tensor *t)
{
    return (conv2d_buf){t->mem, (int)t->offset};
}

clcnn_status clcnn__conv2d_batched_gemm(clcnn_context *ctx, const conv2d_tile *t,
                                        conv2d_buf in, size_t in_stride, conv2d_buf a,
                                        size_t a_stride, int a_trans, conv2d_buf bias,
                                        int epilogue, conv2d_buf out, size_t out_stride,
                                        int batches, int M, int C, int L)
{
    /* b columns per work-item: one vector of up to 16, or two of 16 */
    char options[80];
    const int tn = t->b > 16 ? 16 : t->b;
    snprintf(options, sizeof options, "-D TM=%d -D TN=%d -D NV=%d%s", t->a, tn, t->b / tn,
             a_trans ? " -D A_TRANS=1" : "");
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_1x1", options, "conv2d_gemm1x1", &k);
    if (st != CLCNN_OK)
        return st;
    if (!bias.mem)
        bias = a;
    /* Each work-item reuses its slice of in for m_per_item rows: all of M
     * unless that leaves too few work-items to fill the device. */
    const size_t cols = conv2d_ceil_div((size_t)L, (size_t)t->b);
    const size_t items = cols * (size_t)batches;
    const size_t want = 4 * clcnn__conv2d_compute_units(ctx);
    const size_t blocks = conv2d_ceil_div((size_t)M, (size_t)t->a);
    size_t splits = items >= want ? 1 : conv2d_ceil_div(want, items);
    if (splits > blocks)
        splits = blocks;
    const size_t m_per_item = conv2d_ceil_div(blocks, splits) * (size_t)t->a;
    const size_t global[3] = {cols, (size_t)batches, conv2d_ceil_div((size_t)M, m_per_item)};
    static const size_t one[3] = {1, 1, 1};
    return CLCNN__LAUNCH(ctx, k, 3, global, ctx->info.is_gpu ? NULL : one,
                         CLCNN__ARG_MEM(in.mem), CLCNN__ARG_INT(in.off),
                         CLCNN__ARG_INT(in_stride), CLCNN__ARG_MEM(a.mem), CLCNN__ARG_INT(a.off),
                         CLCNN__ARG_INT(a_stride), CLCNN__ARG_MEM(bias.mem),
                         CLCNN__ARG_INT(bias.off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_MEM(out.mem), CLCNN__ARG_INT(out.off),
                         CLCNN__ARG_INT(out_stride), CLCNN__ARG_INT(M), CLCNN__ARG_INT(C),
                         CLCNN__ARG_INT(L), CLCNN__ARG_INT(m_per_item));
}

clcnn_status clcnn__conv2d_resample(clcnn_context *ctx, const char *kernel, conv2d_buf src,
                                    conv2d_buf dst, int planes, const conv2d_geom *g)
{
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_1x1", "-D TM=8 -D TN=16", kernel, &k);
    if (st != CLCNN_OK)
        return st;
    const int down = kernel[7] == 's'; /* conv2d_subsample */
    const size_t global[2] = {down ? (size_t)g->P : (size_t)g->H, (size_t)planes};
    return CLCNN__LAUNCH(ctx, k, 2, global, NULL, CLCNN__ARG_MEM(src.mem),
                         CLCNN__ARG_INT(src.off), CLCNN__ARG_MEM(dst.mem),
                         CLCNN__ARG_INT(dst.off), CLCNN__ARG_INT(planes), CLCNN__ARG_INT(g->H),
                         CLCNN__ARG_INT(g->W), CLCNN__ARG_INT(g->P), CLCNN__ARG_INT(g->Q),
                         CLCNN__ARG_INT(g->stride_h), CLCNN__ARG_INT(g->stride_w));
}

/* y[n] (K x P*Q) = w (K x C) x[n] (C x P*Q): a strided input is first
 * subsampled into a scratch tensor, so that the product reads whole rows. */
clcnn_status clcnn__conv2d_forward_1x1(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                       conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                       const conv2d_geom *g, int epilogue)
{
    const size_t pq = (size_t)g->P * g->Q;
    clcnn_tensor *sub = NULL;
    clcnn_status st = CLCNN_OK;
    if (g->stride_h != 1 || g->stride_w != 1) {
        if ((st = clcnn__conv2d_scratch(ctx, (size_t)g->N * g->C * pq, &sub)) != CLCNN_OK ||
            (st = clcnn__conv2d_resample(ctx, "conv2d_subsample", x, tensor_buf(sub),
                                         g->N * g->C, g)) != CLCNN_OK) {
            clcnn_tensor_destroy(sub);
            return st;
        }
        x = tensor_buf(sub);
    }
    st = clcnn__conv2d_batched_gemm(ctx, t, x, (size_t)g->C * pq, w, 0, 0, b, epilogue, y,
                                    (size_t)g->K * pq, g->N, g->K, g->C, (int)pq);
    clcnn_tensor_destroy(sub);
    return st;
}

/* The transforms of conv2d_winograd.cl around 16 products of
 * clcnn__conv2d_batched_gemm; U, V and M are scratch tensors. */
clcnn_status clcnn__conv2d_forward_winograd(clcnn_context *ctx, const conv2d_tile *t,
                                            conv2d_buf x, conv2d_buf w, conv2d_buf b,
                                            conv2d_buf y, const conv2d_geom *g, int epilogue)
{
    const int tiles_h = (g->P + 1) / 2, tiles_w = (g->Q + 1) / 2;
    const size_t T = (size_t)g->N * tiles_h * tiles_w;
    cl_kernel kf, ki, ko;
    clcnn_tensor *u = NULL, *v = NULL, *m = NULL;
    clcnn_status st;
    if ((st = clcnn__kernel(ctx, "conv2d_winograd", "", "conv2d_wino_filter", &kf)) != CLCNN_OK ||
        (st = clcnn__kernel(ctx, "conv2d_winograd", "", "conv2d_wino_input", &ki)) != CLCNN_OK ||
        (st = clcnn__kernel(ctx, "conv2d_winograd", "", "conv2d_wino_output", &ko)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, 16 * (size_t)g->K * g->C, &u)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, 16 * (size_t)g->C * T, &v)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, 16 * (size_t)g->K * T, &m)) != CLCNN_OK)
        goto done;

    size_t global1, local1;
    clcnn__conv2d_size_1d(ctx, (size_t)g->K * g->C, &global1, &local1);
    st = CLCNN__LAUNCH(ctx, kf, 1, &global1, &local1, CLCNN__ARG_MEM(w.mem),
                       CLCNN__ARG_INT(w.off), CLCNN__ARG_MEM(u->mem), CLCNN__ARG_INT(u->offset),
                       CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->C));
    const size_t *local = ctx->info.is_gpu ? NULL : (const size_t[3]){1, 1, 1};
    const size_t in_global[3] = {conv2d_ceil_div((size_t)tiles_w, 8),
                                 (size_t)g->N * tiles_h, (size_t)g->C};
    if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, ki, 3, in_global, local, CLCNN__ARG_MEM(x.mem),
                           CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(v->mem),
                           CLCNN__ARG_INT(v->offset), CLCNN__ARG_INT(g->N), CLCNN__ARG_INT(g->C),
                           CLCNN__ARG_INT(g->H), CLCNN__ARG_INT(g->W), CLCNN__ARG_INT(g->pad_top),
                           CLCNN__ARG_INT(g->pad_left), CLCNN__ARG_INT(tiles_h),
                           CLCNN__ARG_INT(tiles_w));
    if (st == CLCNN_OK)
        st = clcnn__conv2d_batched_gemm(ctx, t, tensor_buf(v), (size_t)g->C * T, tensor_buf(u),
                                        (size_t)g->K * g->C, 0, (conv2d_buf){NULL, 0}, 0,
                                        tensor_buf(m), (size_t)g->K * T, 16, g->K, g->C, (int)T);
    const size_t out_global[3] = {conv2d_ceil_div((size_t)tiles_w, 8),
                                  (size_t)g->N * tiles_h, (size_t)g->K};
    if (!b.mem)
        b = w;
    if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, ko, 3, out_global, local, CLCNN__ARG_MEM(m->mem),
                           CLCNN__ARG_INT(m->offset), CLCNN__ARG_MEM(b.mem),
                           CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                           CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), CLCNN__ARG_INT(g->N),
                           CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->P), CLCNN__ARG_INT(g->Q),
                           CLCNN__ARG_INT(tiles_h), CLCNN__ARG_INT(tiles_w));
done:
    clcnn_tensor_destroy(u);
    clcnn_tensor_destroy(v);
    clcnn_tensor_destroy(m);
    return st;
}

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
clcnn_status clcnn__conv2d_forward_im2col(clcnn_context *ctx, const conv2d_tile *t,
                                          conv2d_buf x, conv2d_buf w, conv2d_buf b,
                                          conv2d_buf y, const conv2d_geom *g, int epilogue)
{
    const size_t pq = (size_t)g->P * g->Q, npq = (size_t)g->N * pq;
    const size_t crs = (size_t)g->C * g->R * g->S;
    const int by_image = pq >= BY_IMAGE_PIXELS;
    clcnn_tensor *col = NULL, *tmp = NULL;
    clcnn_status st;
    if ((st = clcnn__conv2d_scratch(ctx, crs * npq, &col)) != CLCNN_OK ||
        (!by_image && (st = clcnn__conv2d_scratch(ctx, (size_t)g->K * npq, &tmp)) != CLCNN_OK) ||
        (st = launch_geom_2d(ctx, "conv2d_im2col", (size_t)g->N, crs, x, tensor_buf(col), g,
                             by_image)) != CLCNN_OK)
        goto done;
    if (by_image)
        st = clcnn__conv2d_batched_gemm(ctx, t, tensor_buf(col), crs * pq, w, 0, 0, b, epilogue, y,
                                        (size_t)g->K * pq, g->N, g->K, (int)crs, (int)pq);
    else if ((st = clcnn__conv2d_batched_gemm(ctx, t, tensor_buf(col), 0, w, 0, 0, b, epilogue,
                                              tensor_buf(tmp), 0, 1, g->K, (int)crs,
                                              (int)npq)) == CLCNN_OK)
        st = swap(ctx, tensor_buf(tmp), y, g->K, g->N, (int)pq);
done:
    clcnn_tensor_destroy(col);
    clcnn_tensor_destroy(tmp);
    return st;
}

/* col = w^T (C*R*S, K) dy (K, P*Q per image, or N*P*Q over all), then dx =
 * col2im(col): the scatter form, which skips the padding the flipped forms
 * multiply by zero (most of a 3x3 output grown back to 5x5) and reads dy in
 * place for images that are not tiny. */
clcnn_status clcnn__conv2d_backward_col2im(clcnn_context *ctx, const conv2d_tile *t,
                                           conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                           const conv2d_geom *g)
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
                                        (conv2d_buf){NULL, 0}, 0, tensor_buf(col), crs * pq,
                                        g->N, (int)crs, g->K, (int)pq);
    else if ((st = swap(ctx, dy, tensor_buf(dyt), g->N, g->K, (int)pq)) == CLCNN_OK)
        st = clcnn__conv2d_batched_gemm(ctx, t, tensor_buf(dyt), 0, w, 0, 1,
                                        (conv2d_buf){NULL, 0}, 0, tensor_buf(col), 0, 1,
                                        (int)crs, g->K, (int)npq);
    if (st == CLCNN_OK)
        st = launch_geom_2d(ctx, "conv2d_col2im", (size_t)g->N * g->C, (size_t)g->H,
                            tensor_buf(col), dx, g, by_image);
done:
    clcnn_tensor_destroy(dyt);
    clcnn_tensor_destroy(col);
    return st;
}
