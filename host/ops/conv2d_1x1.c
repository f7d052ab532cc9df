/*
 * The plain batched matrix product of kernels/conv2d_1x1.cl (TM x TN blocks)
 * and the 1x1 convolution, which is that product alone (a strided input is
 * subsampled first). Winograd and im2col multiply with it too.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"
#include "gemm.h"

clcnn_status clcnn__conv2d_batched_gemm(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf in,
                                        size_t in_stride, conv2d_buf a, size_t a_stride,
                                        int a_trans, conv2d_buf bias, int epilogue, conv2d_buf out,
                                        size_t out_stride, int batches, int M, int C, int L)
{
    if (t->gpu) {
        const clcnn__tiled_product p = {
            .M = M, .N = L, .K = C, .batches = batches, .trans_a = a_trans, .alpha = 1.0f,
            .a = a.mem, .a_off = a.off, .lda = a_trans ? M : C, .a_stride = (int)a_stride,
            .b = in.mem, .b_off = in.off, .ldb = L, .b_stride = (int)in_stride,
            .c = out.mem, .c_off = out.off, .ldc = L, .c_stride = (int)out_stride,
            .bias = (epilogue & 1) ? bias.mem : NULL, .bias_off = bias.off,
            .bias_mode = (epilogue & 1) ? CLCNN__GEMM_BIAS_ROW : CLCNN__GEMM_BIAS_NONE,
            .epilogue = (epilogue & 2) ? 1 : 0,
        };
        return clcnn__tiled_gemm(ctx, clcnn__tiled_config_at(t->gpu - 1), &p);
    }
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
            (st = clcnn__conv2d_resample(ctx, "conv2d_subsample", x, conv2d_tensor_buf(sub),
                                         g->N * g->C, g)) != CLCNN_OK) {
            clcnn_tensor_destroy(sub);
            return st;
        }
        x = conv2d_tensor_buf(sub);
    }
    st = clcnn__conv2d_batched_gemm(ctx, t, x, (size_t)g->C * pq, w, 0, 0, b, epilogue, y,
                                    (size_t)g->K * pq, g->N, g->K, g->C, (int)pq);
    clcnn_tensor_destroy(sub);
    return st;
}
