/*
 * conv2d forward as an implicit GEMM (kernels/conv2d_gemm.cl): im2col fused
 * into a TM x TN tiled product over KC-row panels staged in local memory;
 * any geometry, and backward-data through the flipped filter (FLIP_W).
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

clcnn_status clcnn__conv2d_forward_gemm(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                        conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                        const conv2d_geom *g, int epilogue)
{
    /* b pixels per work-item: one vector of up to 16, or two of 16 */
    char options[80];
    const int tn = t->b > 16 ? 16 : t->b;
    snprintf(options, sizeof options, "-D TM=%d -D TN=%d -D NV=%d -D KC=%d%s", t->a, tn,
             t->b / tn, t->c, t->flipped ? " -D FLIP_W=1" : "");
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_gemm", options, "conv2d_fwd_gemm", &k);
    if (st != CLCNN_OK)
        return st;
    /* Each work-item reuses its gathered panel for k_per_item output
     * channels; all of K unless that leaves too few work-items to fill the
     * device, then K is split. */
    const size_t tiles = conv2d_ceil_div((size_t)g->P * (size_t)g->Q, (size_t)t->b);
    const size_t items = tiles * (size_t)g->N;
    const size_t want = 4 * clcnn__conv2d_compute_units(ctx);
    size_t blocks = conv2d_ceil_div((size_t)g->K, (size_t)t->a);
    size_t splits = items >= want ? 1 : conv2d_ceil_div(want, items);
    if (splits > blocks)
        splits = blocks;
    const size_t k_per_item = conv2d_ceil_div(blocks, splits) * (size_t)t->a;
    const size_t global[3] = {tiles, (size_t)g->N, conv2d_ceil_div((size_t)g->K, k_per_item)};
    static const size_t one[3] = {1, 1, 1};
    return CLCNN__LAUNCH(ctx, k, 3, global, one, CLCNN__ARG_MEM(x.mem), CLCNN__ARG_INT(x.off),
                         CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off), CLCNN__ARG_MEM(b.mem),
                         CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g),
                         CLCNN__ARG_INT(k_per_item));
}
