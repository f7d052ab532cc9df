/*
 * The GPU family's tiled product (kernels/gemm_tiled.cl): its tile
 * configurations, the device limits each must fit before it is launched, the
 * choice among them, and the plain batched GEMM (mode 0) that dense layers
 * and the convolutions built on one product (1x1, Winograd, im2col) run on
 * it. conv2d_tiled.c launches the implicit-GEMM modes.
 */
#include <stdio.h>

#include "gemm.h"

/* Larger tiles reuse each loaded value more often; smaller ones give more
 * work-groups, waste less on thin products and fit small devices. */
static const clcnn__tiled_config configs[] = {
    {"128x64 k8 r8x4", 128, 64, 8, 8, 4},   /* 256 work-items, 12.1 KiB local */
    {"64x64 k16 r4x4", 64, 64, 16, 4, 4},   /* 256 work-items, 16.3 KiB */
    {"64x64 k8 r8x8", 64, 64, 8, 8, 8},     /* 64 work-items, 8.1 KiB */
    {"32x32 k16 r4x4", 32, 32, 16, 4, 4},   /* 64 work-items, 8.3 KiB */
    {"16x16 k8 r4x4", 16, 16, 8, 4, 4},     /* 16 work-items, 2.1 KiB */
    {"16x128 k8 r2x8", 16, 128, 8, 2, 8},   /* 128 work-items, 9.1 KiB: few rows */
};
enum { CONFIG_COUNT = (int)(sizeof configs / sizeof configs[0]) };

int clcnn__tiled_config_count(void)
{
    return CONFIG_COUNT;
}

const clcnn__tiled_config *clcnn__tiled_config_at(int index)
{
    return index >= 0 && index < CONFIG_COUNT ? &configs[index] : NULL;
}

static size_t group_size(const clcnn__tiled_config *c)
{
    return (size_t)(c->bn / c->rn) * (size_t)(c->bm / c->rm);
}

static unsigned long long local_bytes(const clcnn__tiled_config *c)
{
    return 2ull * c->bk * (unsigned long long)(c->bm + 1 + c->bn + 1) * sizeof(float);
}

int clcnn__tiled_fits(const clcnn_context *ctx, const clcnn__tiled_config *c, const char **why)
{
    const char *reason = NULL;
    if (group_size(c) > ctx->max_work_group_size ||
        (size_t)(c->bn / c->rn) > ctx->max_work_item_sizes[0] ||
        (size_t)(c->bm / c->rm) > ctx->max_work_item_sizes[1])
        reason = "needs a larger work-group than the device allows";
    else if (local_bytes(c) > ctx->local_mem_bytes)
        reason = "needs more local memory than the device has";
    if (why)
        *why = reason;
    return reason == NULL;
}

int clcnn__tiled_choose(const clcnn_context *ctx, long long M, long long N)
{
    const long long want = 2 * (long long)(ctx->info.compute_units ? ctx->info.compute_units : 1);
    int best = -1;
    double best_score = -1;
    for (int i = 0; i < CONFIG_COUNT; i++) {
        const clcnn__tiled_config *c = &configs[i];
        if (!clcnn__tiled_fits(ctx, c, NULL))
            continue;
        const long long rows = (M + c->bm - 1) / c->bm, cols = (N + c->bn - 1) / c->bn;
        /* the share of the tiles' outputs that are real, not edge padding */
        const double used = (double)M * (double)N / ((double)rows * c->bm * cols * c->bn);
        /* tiles that fill the device without wasting half their work first,
         * the largest of them; else the least wasteful */
        const double score = rows * cols >= want && used >= 0.5
                                 ? 2.0 + (double)c->bm * c->bn / (128.0 * 128.0)
                                 : used;
        if (score > best_score) {
            best = i;
            best_score = score;
        }
    }
    return best;
}

clcnn_status clcnn__tiled_kernel(clcnn_context *ctx, const clcnn__tiled_config *c, int mode,
                                 int trans_a, int trans_b, cl_kernel *k, size_t local[3])
{
    const char *why = NULL;
    if (!clcnn__tiled_fits(ctx, c, &why))
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED, "tiled %s %s", c->name, why);
    char options[160];
    snprintf(options, sizeof options,
             "-D BM=%d -D BN=%d -D BK=%d -D RM=%d -D RN=%d -D MODE=%d -D TRANS_A=%d "
             "-D TRANS_B=%d",
             c->bm, c->bn, c->bk, c->rm, c->rn, mode, trans_a, trans_b);
    clcnn_status st = clcnn__kernel(ctx, "gemm_tiled", options, "gemm_tiled", k);
    if (st != CLCNN_OK)
        return st;
    /* the compiled kernel may allow less than the device (registers) */
    size_t kernel_max = 0;
    cl_int err = clGetKernelWorkGroupInfo(*k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof kernel_max, &kernel_max, NULL);
    if (err != CL_SUCCESS)
        return clcnn__cl_fail(ctx, err, "clGetKernelWorkGroupInfo(gemm_tiled)");
    if (group_size(c) > kernel_max)
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                           "tiled %s needs work-groups of %zu but the compiled kernel allows "
                           "%zu on this device",
                           c->name, group_size(c), kernel_max);
    local[0] = (size_t)(c->bn / c->rn);
    local[1] = (size_t)(c->bm / c->rm);
    local[2] = 1;
    return CLCNN_OK;
}

clcnn_status clcnn__tiled_gemm(clcnn_context *ctx, const clcnn__tiled_config *c,
                               const clcnn__tiled_product *p)
{
    cl_kernel k;
    size_t local[3];
    clcnn_status st = clcnn__tiled_kernel(ctx, c, 0, p->trans_a, p->trans_b, &k, local);
    if (st != CLCNN_OK)
        return st;
    const size_t global[3] = {
        clcnn__round_up((size_t)p->N, (size_t)c->bn) / (size_t)c->bn * local[0],
        clcnn__round_up((size_t)p->M, (size_t)c->bm) / (size_t)c->bm * local[1],
        (size_t)p->batches,
    };
    /* absent operands get C's buffer as a never-read stand-in */
    const cl_mem bias = p->bias ? p->bias : p->c, mask = p->mask ? p->mask : p->c;
    return CLCNN__LAUNCH(
        ctx, k, 3, global, local, CLCNN__ARG_INT(p->M), CLCNN__ARG_INT(p->N),
        CLCNN__ARG_INT(p->K), CLCNN__ARG_FLOAT(p->alpha), CLCNN__ARG_FLOAT(p->beta),
        CLCNN__ARG_MEM(p->a), CLCNN__ARG_INT(p->a_off), CLCNN__ARG_INT(p->lda),
        CLCNN__ARG_INT(p->a_stride), CLCNN__ARG_MEM(p->b), CLCNN__ARG_INT(p->b_off),
        CLCNN__ARG_INT(p->ldb), CLCNN__ARG_INT(p->b_stride), CLCNN__ARG_MEM(p->c),
        CLCNN__ARG_INT(p->c_off), CLCNN__ARG_INT(p->ldc), CLCNN__ARG_INT(p->c_stride),
        CLCNN__ARG_MEM(bias), CLCNN__ARG_INT(p->bias_off), CLCNN__ARG_INT(p->bias_mode),
        CLCNN__ARG_INT(p->epilogue), CLCNN__ARG_MEM(mask), CLCNN__ARG_INT(p->mask_off),
        CLCNN__ARG_INT(p->ldm));
}
