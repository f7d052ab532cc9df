/*
 * What every conv2d algorithm's launcher shares: the work-group size for
 * CPUs, scratch buffers, 1-D launch sizes and the strided resampling of
 * kernels/conv2d_1x1.cl. Calls nothing of the algorithms.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

/* On a CPU, PoCL runs a work-group of one as straight-line code; GPUs get
 * their own choice from the driver for the kernels that allow any size. */
const size_t *clcnn__conv2d_local_size(const clcnn_context *ctx)
{
    static const size_t one[3] = {1, 1, 1};
    return ctx->info.is_gpu ? NULL : one;
}

size_t clcnn__conv2d_compute_units(const clcnn_context *ctx)
{
    return ctx->info.compute_units ? ctx->info.compute_units : 1;
}

clcnn_status clcnn__conv2d_scratch(clcnn_context *ctx, size_t count, clcnn_tensor **t)
{
    if (count > 0x7fffffff)
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                           "conv2d: a scratch buffer of %zu floats is too large", count);
    return clcnn__scratch(ctx, count, t);
}

void clcnn__conv2d_size_1d(const clcnn_context *ctx, size_t count, size_t *global, size_t *local)
{
    *local =
        ctx->max_work_group_size && ctx->max_work_group_size < 64 ? ctx->max_work_group_size : 64;
    *global = clcnn__round_up(count ? count : 1, *local);
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
