/*
 * conv2d backward-data by gathering (kernels/conv2d_bwd_data.cl): each
 * work-item sums a CB input channels x WB columns block of dx over the taps
 * that reach it, any geometry; and the filter repacking that the gather and
 * the flipped forms need.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

/* The filter w (K,C,R,S) rewritten by kernel `name` of conv2d_bwd_data.cl
 * into a new scratch tensor *out (flipped: (C,K,R,S); packed: (R,S,K,C)). */
clcnn_status clcnn__conv2d_repack_filter(clcnn_context *ctx, const char *name, conv2d_buf w,
                                         const conv2d_geom *g, clcnn_tensor **out)
{
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_bwd_data", "-D REPACK_ONLY", name, &k);
    if (st != CLCNN_OK)
        return st;
    if ((st = clcnn__conv2d_scratch(ctx, (size_t)g->K * g->C * g->R * g->S, out)) != CLCNN_OK)
        return st;
    size_t global, local;
    const int packed = strcmp(name, "conv2d_pack_rskc") == 0;
    const size_t cblocks = conv2d_ceil_div((size_t)g->C, 16);
    clcnn__conv2d_size_1d(ctx,
                          (packed ? (size_t)g->K : conv2d_ceil_div((size_t)g->K, 16)) * cblocks,
                          &global, &local);
    st = CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                       CLCNN__ARG_MEM((*out)->mem), CLCNN__ARG_INT((*out)->offset),
                       CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->C), CLCNN__ARG_INT(g->R),
                       CLCNN__ARG_INT(g->S));
    if (st != CLCNN_OK) {
        clcnn_tensor_destroy(*out);
        *out = NULL;
    }
    return st;
}

clcnn_status clcnn__conv2d_backward_data_gather(clcnn_context *ctx, const conv2d_tile *t,
                                                conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                                const conv2d_geom *g)
{
    char options[64];
    snprintf(options, sizeof options, "-D CB=%d -D WB=%d", t->a, t->b);
    cl_kernel k;
    clcnn_tensor *wp = NULL;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_bwd_data", options, "conv2d_bwd_data", &k);
    if (st != CLCNN_OK ||
        (st = clcnn__conv2d_repack_filter(ctx, "conv2d_pack_rskc", w, g, &wp)) != CLCNN_OK)
        return st;
    /* Columns are grouped by phase (v mod stride_w) so that a work-item's
     * lanes read consecutive dy columns; nblk blocks of width lanes each. */
    const size_t nblk =
        conv2d_ceil_div(conv2d_ceil_div((size_t)g->W, (size_t)g->stride_w), (size_t)t->b);
    const size_t global[3] = {(size_t)g->stride_w * nblk, (size_t)g->N * (size_t)g->H,
                              conv2d_ceil_div((size_t)g->C, (size_t)t->a)};
    st = CLCNN__LAUNCH(ctx, k, 3, global, clcnn__conv2d_local_size(ctx), CLCNN__ARG_MEM(dy.mem),
                       CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(wp->mem), CLCNN__ARG_INT(wp->offset),
                       CLCNN__ARG_MEM(dx.mem), CLCNN__ARG_INT(dx.off), GEOM_ARGS(*g),
                       CLCNN__ARG_INT(nblk));
    clcnn_tensor_destroy(wp);
    return st;
}
