/*
 * conv2d on whole planes in private memory (kernels/conv2d_plane.cl), for the
 * first layers and small images on CPUs: forward by planes (KB x PB x QB
 * blocks, the filter size compiled in), forward over an image's im2col
 * matrix (flat) and backward-data of whole images (plane col2im). The
 * flat backward-filter kernel is launched by conv2d_bwd_filter.c.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

/* The filter size is compiled in, so each (R, S) builds its own program; a
 * work-item sweeps a band of rows of one image, as many bands as it takes to
 * give every compute unit a few work-items. */
clcnn_status clcnn__conv2d_forward_plane(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                         conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                         const conv2d_geom *g, int epilogue)
{
    char options[96];
    snprintf(options, sizeof options,
             "-D PLANE_PASS=1 -D FR=%d -D FS=%d -D KB=%d -D PB=%d -D QB=%d", g->R, g->S, t->a,
             t->b, t->c);
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_plane", options, "conv2d_fwd_plane", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t kblocks = conv2d_ceil_div((size_t)g->K, (size_t)t->a);
    const size_t steps = conv2d_ceil_div((size_t)g->P, (size_t)t->b);
    const size_t want = 4 * clcnn__conv2d_compute_units(ctx);
    const size_t items = (size_t)g->N * kblocks;
    size_t bands = items >= want ? 1 : conv2d_ceil_div(want, items);
    if (bands > steps)
        bands = steps;
    const size_t rows_per_band = conv2d_ceil_div(steps, bands) * (size_t)t->b;
    bands = conv2d_ceil_div((size_t)g->P, rows_per_band);
    const size_t global[2] = {(size_t)g->N * bands, kblocks};
    return CLCNN__LAUNCH(ctx, k, 2, global, clcnn__conv2d_local_size(ctx), CLCNN__ARG_MEM(x.mem),
                         CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                         CLCNN__ARG_MEM(b.mem), CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g),
                         CLCNN__ARG_INT(bands), CLCNN__ARG_INT(rows_per_band));
}

/* A work-item copies one image's rows of shifted input and sweeps a share
 * of its output channels: all of them when the images alone keep every
 * compute unit busy. */
clcnn_status clcnn__conv2d_forward_flat(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                        conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                        const conv2d_geom *g, int epilogue)
{
    char options[128];
    snprintf(options, sizeof options,
             "-D PLANE_PASS=3 -D FR=%d -D FS=%d -D CB=%d -D KB=%d -D QB=%d -D FLAT_PQ=%d "
             "-D FLAT_Q=%d",
             g->R, g->S, g->C, t->a, t->c, g->P * g->Q, g->Q);
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_plane", options, "conv2d_fwd_flat", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t kblocks = conv2d_ceil_div((size_t)g->K, (size_t)t->a);
    const size_t want = 4 * clcnn__conv2d_compute_units(ctx);
    size_t shares = (size_t)g->N >= want ? 1 : conv2d_ceil_div(want, (size_t)g->N);
    if (shares > kblocks)
        shares = kblocks;
    const size_t k_per_item = conv2d_ceil_div(kblocks, shares) * (size_t)t->a;
    const size_t global[2] = {(size_t)g->N, conv2d_ceil_div((size_t)g->K, k_per_item)};
    return CLCNN__LAUNCH(ctx, k, 2, global, clcnn__conv2d_local_size(ctx), CLCNN__ARG_MEM(x.mem),
                         CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                         CLCNN__ARG_MEM(b.mem), CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g),
                         CLCNN__ARG_INT(k_per_item));
}

/* One work-item per image, which it holds in private memory. */
clcnn_status clcnn__conv2d_backward_data_plane(clcnn_context *ctx, const conv2d_tile *t,
                                               conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                               const conv2d_geom *g)
{
    char options[96];
    snprintf(options, sizeof options, "-D PLANE_PASS=2 -D FR=%d -D FS=%d -D CB=%d -D QB=%d",
             g->R, g->S, g->C, t->c);
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_plane", options, "conv2d_bwd_data_plane", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t global[1] = {(size_t)g->N};
    return CLCNN__LAUNCH(ctx, k, 1, global, clcnn__conv2d_local_size(ctx), CLCNN__ARG_MEM(dy.mem),
                         CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                         CLCNN__ARG_MEM(dx.mem), CLCNN__ARG_INT(dx.off), GEOM_ARGS(*g));
}
