/*
 * conv2d for GPUs: the three passes as implicit GEMMs on the tiled product of
 * kernels/gemm_tiled.cl (the GPU family; configurations in gemm_tiled.c).
 * Forward multiplies w (K x C*R*S) by im2col(x), backward-data w^T by dy
 * gathered per input pixel, backward-filter dy by im2col(x)^T, the last with
 * its long reduction (N*P*Q) split over enough work-groups to fill the device
 * and the splits added by conv2d_bwd_reduce. Any geometry.
 */
#include "conv2d_impl.h"
#include "gemm.h"

enum { MODE_FORWARD = 1, MODE_BACKWARD_DATA = 2, MODE_BACKWARD_FILTER = 3 };

/* Launches mode over an M x NC output with the reduction split in splits of
 * k_per_split rows. */
static clcnn_status launch(clcnn_context *ctx, const conv2d_tile *t, int mode, conv2d_buf a,
                           conv2d_buf b, conv2d_buf c, conv2d_buf bias, int epilogue,
                           const conv2d_geom *g, long long M, long long NC, int k_per_split,
                           int splits, int split_stride)
{
    const clcnn__tiled_config *cfg = clcnn__tiled_config_at(t->gpu - 1);
    cl_kernel k;
    size_t local[3];
    clcnn_status st = clcnn__tiled_kernel(ctx, cfg, mode, 0, 0, &k, local);
    if (st != CLCNN_OK)
        return st;
    const size_t global[3] = {conv2d_ceil_div((size_t)NC, (size_t)cfg->bn) * local[0],
                              conv2d_ceil_div((size_t)M, (size_t)cfg->bm) * local[1],
                              (size_t)splits};
    if (!bias.mem)
        bias = a;
    return CLCNN__LAUNCH(ctx, k, 3, global, local, CLCNN__ARG_MEM(a.mem), CLCNN__ARG_INT(a.off),
                         CLCNN__ARG_MEM(b.mem), CLCNN__ARG_INT(b.off), CLCNN__ARG_MEM(c.mem),
                         CLCNN__ARG_INT(c.off), CLCNN__ARG_MEM(bias.mem),
                         CLCNN__ARG_INT(bias.off), CLCNN__ARG_INT(epilogue), GEOM_ARGS(*g),
                         CLCNN__ARG_INT(k_per_split), CLCNN__ARG_INT(split_stride));
}

clcnn_status clcnn__conv2d_forward_tiled(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                         conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                         const conv2d_geom *g, int epilogue)
{
    return launch(ctx, t, MODE_FORWARD, w, x, y, b, epilogue, g, g->K,
                  (long long)g->N * g->P * g->Q, g->C * g->R * g->S, 1, 0);
}

clcnn_status clcnn__conv2d_backward_data_tiled(clcnn_context *ctx, const conv2d_tile *t,
                                               conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                               const conv2d_geom *g)
{
    return launch(ctx, t, MODE_BACKWARD_DATA, w, dy, dx, (conv2d_buf){NULL, 0}, 0, g, g->C,
                  (long long)g->N * g->H * g->W, g->K * g->R * g->S, 1, 0);
}

clcnn_status clcnn__conv2d_backward_filter_tiled(clcnn_context *ctx, const conv2d_tile *t,
                                                 conv2d_buf x, conv2d_buf dy, conv2d_buf dw,
                                                 conv2d_buf db, const conv2d_geom *g)
{
    const clcnn__tiled_config *cfg = clcnn__tiled_config_at(t->gpu - 1);
    const int crs = g->C * g->R * g->S;
    const size_t npq = (size_t)g->N * g->P * g->Q;
    const size_t groups = conv2d_ceil_div((size_t)g->K, (size_t)cfg->bm) *
                          conv2d_ceil_div((size_t)crs, (size_t)cfg->bn);
    const size_t want = 4 * clcnn__conv2d_compute_units(ctx);
    const size_t stages = conv2d_ceil_div(npq, (size_t)cfg->bk);
    size_t splits = groups >= want ? 1 : conv2d_ceil_div(want, groups);
    if (splits > stages)
        splits = stages;
    /* whole stages per split */
    const size_t per_split = conv2d_ceil_div(stages, splits) * (size_t)cfg->bk;
    splits = conv2d_ceil_div(npq, per_split);
    const size_t dw_count = (size_t)g->K * (size_t)crs;

    clcnn_status st = CLCNN_OK;
    clcnn_tensor *part = NULL;
    if (splits == 1) {
        st = launch(ctx, t, MODE_BACKWARD_FILTER, dy, x, dw, (conv2d_buf){NULL, 0}, 1, g, g->K,
                    crs, (int)per_split, 1, 0);
    } else {
        cl_kernel kr;
        if ((unsigned long long)splits * dw_count > 0x7fffffff)
            return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                               "conv2d backward-filter: %zu partial sums are too many",
                               splits * dw_count);
        if ((st = clcnn__kernel(ctx, "conv2d_bwd_filter", "", "conv2d_bwd_reduce", &kr)) !=
                CLCNN_OK ||
            (st = clcnn__conv2d_scratch(ctx, splits * dw_count, &part)) != CLCNN_OK)
            return st;
        st = launch(ctx, t, MODE_BACKWARD_FILTER, dy, x, conv2d_tensor_buf(part),
                    (conv2d_buf){NULL, 0}, 0, g, g->K, crs, (int)per_split, (int)splits,
                    (int)dw_count);
        size_t global, local;
        clcnn__conv2d_size_1d(ctx, dw_count, &global, &local);
        if (st == CLCNN_OK)
            st = CLCNN__LAUNCH(ctx, kr, 1, &global, &local, CLCNN__ARG_MEM(part->mem),
                               CLCNN__ARG_INT(part->offset), CLCNN__ARG_INT(splits),
                               CLCNN__ARG_INT(dw_count), CLCNN__ARG_INT(dw_count),
                               CLCNN__ARG_MEM(dw.mem), CLCNN__ARG_INT(dw.off),
                               CLCNN__ARG_INT(dw_count), CLCNN__ARG_MEM(dw.mem),
                               CLCNN__ARG_INT(dw.off));
        clcnn_tensor_destroy(part);
    }
    if (st != CLCNN_OK || !db.mem)
        return st;
    /* db += the sum of dy over (n, p, q): one work-item per output channel */
    cl_kernel kb;
    if ((st = clcnn__kernel(ctx, "conv2d_bwd_filter", "", "conv2d_bwd_bias", &kb)) != CLCNN_OK)
        return st;
    const size_t bias_global[2] = {(size_t)g->K, 1};
    return CLCNN__LAUNCH(ctx, kb, 2, bias_global, NULL, CLCNN__ARG_MEM(dy.mem),
                         CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(db.mem), CLCNN__ARG_INT(db.off),
                         CLCNN__ARG_INT(g->N), CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->P),
                         CLCNN__ARG_INT(g->Q), CLCNN__ARG_INT(g->N * g->P),
                         CLCNN__ARG_INT(0), CLCNN__ARG_INT(1));
}
