/*
 * conv2d forward by Winograd F(2x2, 3x3) or F(4x4, 3x3): the input and filter
 * transforms of kernels/conv2d_winograd.cl (conv2d_winograd4.cl) around 16
 * (36) batched products of conv2d_1x1.c, and the output transform (3x3
 * filters, stride 1, dilation 1). A variant's c field is its output tile:
 * 4 for F(4x4, 3x3), else 2.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

/* The transforms around (m + 2)^2 products of clcnn__conv2d_batched_gemm
 * for m x m output tiles; U, V and M are scratch tensors. */
clcnn_status clcnn__conv2d_forward_winograd(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                            conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                            const conv2d_geom *g, int epilogue)
{
    const int f4 = t->c == 4, tile = f4 ? 4 : 2, planes = (tile + 2) * (tile + 2);
    const char *prog = f4 ? "conv2d_winograd4" : "conv2d_winograd";
    const int tiles_h = (g->P + tile - 1) / tile, tiles_w = (g->Q + tile - 1) / tile;
    const size_t T = (size_t)g->N * tiles_h * tiles_w;
    cl_kernel kf, ki, ko;
    clcnn_tensor *u = NULL, *v = NULL, *m = NULL;
    clcnn_status st;
    if ((st = clcnn__kernel(ctx, prog, "", f4 ? "conv2d_wino4_filter" : "conv2d_wino_filter",
                            &kf)) != CLCNN_OK ||
        (st = clcnn__kernel(ctx, prog, "", f4 ? "conv2d_wino4_input" : "conv2d_wino_input",
                            &ki)) != CLCNN_OK ||
        (st = clcnn__kernel(ctx, prog, "", f4 ? "conv2d_wino4_output" : "conv2d_wino_output",
                            &ko)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, planes * (size_t)g->K * g->C, &u)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, planes * (size_t)g->C * T, &v)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, planes * (size_t)g->K * T, &m)) != CLCNN_OK)
        goto done;

    size_t global1, local1;
    /* F(4x4): 8 filters per work-item */
    clcnn__conv2d_size_1d(ctx, conv2d_ceil_div((size_t)g->K * g->C, f4 ? 8 : 1), &global1,
                          &local1);
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
        st = clcnn__conv2d_batched_gemm(ctx, t, conv2d_tensor_buf(v), (size_t)g->C * T,
                                        conv2d_tensor_buf(u), (size_t)g->K * g->C, 0,
                                        (conv2d_buf){NULL, 0}, 0, conv2d_tensor_buf(m),
                                        (size_t)g->K * T, planes, g->K, g->C, (int)T);
    const size_t out_global[3] = {conv2d_ceil_div((size_t)tiles_w, 8), (size_t)g->N * tiles_h,
                                  (size_t)g->K};
    if (!b.mem) b = w;
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
