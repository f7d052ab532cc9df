/*
 * conv2d backward-filter: dw (K,C,R,S) and db (K) summed over every output
 * pixel, by rows (kernels/conv2d_bwd_filter.cl), by panels staged in local
 * memory (kernels/conv2d_bwd_panel.cl) or over an image's im2col matrix in
 * private memory (flat, kernels/conv2d_plane.cl, CPUs only).
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

/*
 * The reduction over the N*P output rows is split into chunks when the
 * (k, j) blocks alone are too few to keep every compute unit busy (LeNet's
 * first layer has 6 x 25 weights, a handful of blocks); each chunk stores
 * partial sums in a scratch buffer and one more launch adds them to dw and
 * db. Otherwise the blocks accumulate into dw directly.
 */
clcnn_status clcnn__conv2d_backward_filter_run(clcnn_context *ctx, const conv2d_tile *t,
                                               conv2d_buf x, conv2d_buf dy, conv2d_buf dw,
                                               conv2d_buf db, const conv2d_geom *g)
{
    const int panel = t->method == CONV2D_M_PANEL;
    const int flat = t->method == CONV2D_M_FLAT_FILTER;
    if (t->method != CONV2D_M_FILTER && !panel && !flat)
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                           "conv2d: %s is not a backward-filter variant", t->name);
    const int tm = t->a, tj = t->b, rs = g->R * g->S;
    const int kblocks = (g->K + tm - 1) / tm, groups = (g->C * rs + tj - 1) / tj;
    /* the flat kernel's work-items each take as many groups of tj taps as
     * keep their sums (kblocks x tm x tj vectors a group) within 512 vectors
     * and the rows of their channels within its private memory (one group
     * always fits: conv2d.c checked) */
    int groups_per_item = flat ? 512 / (kblocks * tm * tj) : 1;
    if (groups_per_item > groups)
        groups_per_item = groups;
    while (flat && groups_per_item > 1 &&
           conv2d_flat_floats(g, conv2d_flat_channels(g, groups_per_item * tj), t->c) >
               CONV2D_FLAT_FLOATS)
        groups_per_item--;
    const size_t items_per_split =
        flat ? conv2d_ceil_div((size_t)groups, (size_t)groups_per_item) : 1;
    char options[160];
    if (panel) /* tj taps per work-item: one vector of up to 16, or two of 16 */
        snprintf(options, sizeof options, "-D TM=%d -D TN=%d -D NV=%d -D KC=%d", tm,
                 tj > 16 ? 16 : tj, tj > 16 ? tj / 16 : 1, t->c);
    else if (flat)
        snprintf(options, sizeof options,
                 "-D PLANE_PASS=4 -D FR=%d -D FS=%d -D CB=%d -D TM=%d -D TJ=%d -D QB=%d "
                 "-D KBLOCKS=%d -D FLAT_PQ=%d -D FLAT_Q=%d -D GPI=%d",
                 g->R, g->S, g->C, tm, tj, t->c, kblocks, g->P * g->Q, g->Q, groups_per_item);
    else
        snprintf(options, sizeof options, "-D ROWS=%d -D TM=%d -D TJ=%d -D QV=%d",
                 g->stride_w <= 2 ? g->stride_w : 0, tm, tj, t->c);
    const char *file = panel ? "conv2d_bwd_panel" : flat ? "conv2d_plane" : "conv2d_bwd_filter";
    const char *name = panel                ? "conv2d_bwd_panel"
                       : flat               ? "conv2d_bwd_filter_flat"
                       : g->stride_w == 1   ? "conv2d_bwd_filter_s1"
                       : g->stride_w == 2   ? "conv2d_bwd_filter_s2"
                                            : "conv2d_bwd_filter_sn";
    /* the bias and reduction kernels do not depend on the options: one
     * build of conv2d_bwd_filter.cl without a row kernel serves every variant */
    static const char helper_options[] = "";
    cl_kernel k, kb = NULL, kr = NULL;
    /* the flat kernel sums db as it reads dy; the others leave it to
     * conv2d_bwd_bias, a second pass over dy */
    const int separate_bias = db.mem && !flat;
    clcnn_status st = clcnn__kernel(ctx, file, options, name, &k);
    if (st == CLCNN_OK && separate_bias)
        st = clcnn__kernel(ctx, "conv2d_bwd_filter", helper_options, "conv2d_bwd_bias", &kb);
    if (st != CLCNN_OK)
        return st;

    const size_t crs = (size_t)g->C * (size_t)rs;
    /* the reduction is split along output rows (row kernel), pixels (panel
     * kernel, which sweeps all of K in each work-item) or images (flat
     * kernel, which sweeps all of K and its groups of taps) */
    const size_t units = (size_t)g->N * (flat ? 1 : (size_t)g->P) * (panel ? (size_t)g->Q : 1);
    const size_t blocks = (flat ? items_per_split : conv2d_ceil_div(crs, (size_t)tj)) *
                          (panel || flat ? 1 : conv2d_ceil_div((size_t)g->K, (size_t)tm));
    const size_t want = (ctx->info.is_gpu ? 64 : 16) * clcnn__conv2d_compute_units(ctx);
    size_t splits = blocks >= want ? 1 : conv2d_ceil_div(want, blocks);
    if (splits > units)
        splits = units;
    const size_t per_split = conv2d_ceil_div(units, splits);
    splits = conv2d_ceil_div(units, per_split);
    /* the bias kernel always splits by output rows */
    const size_t np = (size_t)g->N * (size_t)g->P;
    const size_t bias_rows = panel   ? conv2d_ceil_div(np, splits)
                             : flat ? per_split * (size_t)g->P
                                     : per_split;
    const size_t bias_splits = conv2d_ceil_div(np, bias_rows);

    clcnn_tensor *part = NULL;
    const size_t dw_count = (size_t)g->K * crs;
    const size_t count = dw_count + (db.mem ? (size_t)g->K : 0);
    conv2d_buf out_w = dw, out_b = db;
    int split_stride = 0;
    if (splits > 1) {
        if ((unsigned long long)splits * count > 0x7fffffff)
            return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                               "conv2d backward-filter: %zu partial sums are too many",
                               splits * count);
        if ((st = clcnn__kernel(ctx, "conv2d_bwd_filter", helper_options, "conv2d_bwd_reduce",
                                &kr)) != CLCNN_OK ||
            (st = clcnn__conv2d_scratch(ctx, splits * count, &part)) != CLCNN_OK)
            return st;
        out_w = conv2d_tensor_buf(part);
        out_b = (conv2d_buf){part->mem, (int)(part->offset + dw_count)};
        split_stride = (int)count;
        /* the bias splits may be fewer: their slots must still hold zeros */
        if (separate_bias && bias_splits < splits)
            st = clcnn_tensor_fill(part, 0.0f);
    }
    const int accumulate = splits == 1;

    /* the flat kernel's splits go along the first dimension, which PoCL
     * shares out among its threads (with 1 there, one thread ran them all) */
    const size_t global[3] = {flat ? splits : conv2d_ceil_div(crs, (size_t)tj),
                              flat ? items_per_split
                              : panel ? 1
                                      : conv2d_ceil_div((size_t)g->K, (size_t)tm),
                              flat ? 1 : splits};
    static const size_t one[3] = {1, 1, 1};
    /* without db the flat kernel gets a NULL buffer (out_b points into the
     * partial sums either way) */
    const conv2d_buf bias_out = db.mem ? out_b : (conv2d_buf){NULL, 0};
    if (st == CLCNN_OK && flat)
        st = CLCNN__LAUNCH(ctx, k, 3, global, clcnn__conv2d_local_size(ctx), CLCNN__ARG_MEM(x.mem),
                           CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(dy.mem),
                           CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(out_w.mem),
                           CLCNN__ARG_INT(out_w.off), GEOM_ARGS(*g), CLCNN__ARG_INT(per_split),
                           CLCNN__ARG_INT(split_stride), CLCNN__ARG_INT(accumulate),
                           CLCNN__ARG_MEM(bias_out.mem), CLCNN__ARG_INT(bias_out.off));
    else if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, k, 3, global, panel ? one : clcnn__conv2d_local_size(ctx),
                           CLCNN__ARG_MEM(x.mem), CLCNN__ARG_INT(x.off),
                           CLCNN__ARG_MEM(dy.mem), CLCNN__ARG_INT(dy.off),
                           CLCNN__ARG_MEM(out_w.mem), CLCNN__ARG_INT(out_w.off), GEOM_ARGS(*g),
                           CLCNN__ARG_INT(per_split), CLCNN__ARG_INT(split_stride),
                           CLCNN__ARG_INT(accumulate));
    if (st == CLCNN_OK && separate_bias) {
        const size_t bias_global[2] = {(size_t)g->K, bias_splits};
        st = CLCNN__LAUNCH(
            ctx, kb, 2, bias_global, clcnn__conv2d_local_size(ctx), CLCNN__ARG_MEM(dy.mem),
            CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(out_b.mem), CLCNN__ARG_INT(out_b.off),
            CLCNN__ARG_INT(g->N), CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->P), CLCNN__ARG_INT(g->Q),
            CLCNN__ARG_INT(bias_rows), CLCNN__ARG_INT(split_stride), CLCNN__ARG_INT(accumulate));
    }
    if (st == CLCNN_OK && part) {
        size_t reduce_global, local;
        clcnn__conv2d_size_1d(ctx, count, &reduce_global, &local);
        const conv2d_buf b = db.mem ? db : dw;
        st = CLCNN__LAUNCH(ctx, kr, 1, &reduce_global, &local, CLCNN__ARG_MEM(part->mem),
                           CLCNN__ARG_INT(part->offset), CLCNN__ARG_INT(splits),
                           CLCNN__ARG_INT(split_stride), CLCNN__ARG_INT(count),
                           CLCNN__ARG_MEM(dw.mem), CLCNN__ARG_INT(dw.off),
                           CLCNN__ARG_INT(dw_count), CLCNN__ARG_MEM(b.mem),
                           CLCNN__ARG_INT(b.off));
    }
    clcnn_tensor_destroy(part);
    return st;
}
