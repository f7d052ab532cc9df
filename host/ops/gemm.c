/*
 * The internal GEMM (kernels/gemm.cl): descriptor checks, the table of tile
 * variants and the choice among them, and the column sum used for bias
 * gradients. Also the small helpers the op files share (gemm.h).
 */
#include <limits.h>
#include <stdio.h>

#include "gemm.h"

/* Every variant computes the same result; they differ in the register block
 * per work-item (TM x TN, the -D options), the work-group shape and, for
 * C = A B^T, whether rows of A and B are multiplied as dot products (dot:
 * the vector width along K, or 0 for the broadcast form). */
enum { VARIANT_4X8, VARIANT_8X16, VARIANT_GPU, VARIANT_DOT16, VARIANT_DOT8, VARIANT_TILED };
static const struct gemm_variant {
    const char *name;
    int tm, tn;
    size_t wg_x, wg_y;
    int dot;
    int tiled; /* the GPU family: 1 + the tiled configuration (gemm_tiled.c); 0: none */
} variants[] = {
    /* CPUs with 8-wide float vectors (AVX2), and outputs too small to give
     * every core an 8x16 block: 32 accumulators in four float8 */
    [VARIANT_4X8] = {"4x8", 4, 8, 1, 1, 0, 0},
    /* CPUs with 16-wide float vectors (AVX-512): 128 accumulators in eight
     * float16 registers, about three times the 4x8 speed on PoCL */
    [VARIANT_8X16] = {"8x16", 8, 16, 1, 1, 0, 0},
    /* GPUs: many small blocks in work-groups of 64 */
    [VARIANT_GPU] = {"4x4-wg8x8", 4, 4, 8, 8, 0, 0},
    /* CPUs, C = A B^T (a dense layer's forward pass): 16 float16 partial
     * sums and 8 loads per 16 steps of K (AVX-512: 24 of 32 registers);
     * other transposes run the broadcast form with a 4x4 block */
    [VARIANT_DOT16] = {"dot4x4x16", 4, 4, 1, 1, 16, 0},
    /* the same for 8-wide vectors: 8 float8 partial sums, 6 loads */
    [VARIANT_DOT8] = {"dot2x4x8", 2, 4, 1, 1, 8, 0},
    /* the GPU family: tiles staged in local memory (kernels/gemm_tiled.cl) */
    [VARIANT_TILED] = {"tiled 128x64", 0, 0, 0, 0, 0, 1},
    {"tiled 64x64 k16", 0, 0, 0, 0, 0, 2},
    {"tiled 64x64 r8x8", 0, 0, 0, 0, 0, 3},
    {"tiled 32x32", 0, 0, 0, 0, 0, 4},
    {"tiled 16x16", 0, 0, 0, 0, 0, 5},
    {"tiled 16x128", 0, 0, 0, 0, 0, 6},
};
enum { VARIANT_COUNT = (int)(sizeof variants / sizeof variants[0]) };

int clcnn__gemm_variant_count(void)
{
    return VARIANT_COUNT;
}

const char *clcnn__gemm_variant_name(int variant)
{
    return variant >= 0 && variant < VARIANT_COUNT ? variants[variant].name : NULL;
}

static size_t block_count(int M, int N, int variant)
{
    const struct gemm_variant *v = &variants[variant];
    return (size_t)((M + v->tm - 1) / v->tm) * (size_t)((N + v->tn - 1) / v->tn);
}

int clcnn__gemm_choose(const clcnn_context *ctx, int trans_a, int trans_b, int M, int N, int K)
{
    (void)K;
    if (ctx->gpu_kernels) {
        const int c = clcnn__tiled_choose(ctx, M, N);
        if (c >= 0)
            return VARIANT_TILED + c;
    }
    if (ctx->info.is_gpu)
        return VARIANT_GPU;
    cl_uint width = 0;
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof width,
                        &width, NULL) != CL_SUCCESS)
        width = 0;
    if (trans_b && !trans_a)
        return width >= 16 ? VARIANT_DOT16 : VARIANT_DOT8;
    if (width < 16)
        return VARIANT_4X8;
    size_t cores = ctx->info.compute_units ? ctx->info.compute_units : 1;
    if (block_count(M, N, VARIANT_8X16) < cores &&
        block_count(M, N, VARIANT_4X8) > block_count(M, N, VARIANT_8X16))
        return VARIANT_4X8;
    return VARIANT_8X16;
}

/* ---- shared helpers ---- */

int clcnn__ranges_overlap(cl_mem a, size_t a_start, size_t a_len, cl_mem b, size_t b_start,
                          size_t b_len)
{
    return a == b && a_start < b_start + b_len && b_start < a_start + a_len;
}

int clcnn__tensors_overlap(const clcnn_tensor *a, const clcnn_tensor *b)
{
    if (!a || !b)
        return 0;
    return clcnn__ranges_overlap(a->mem, a->offset, clcnn__shape_count(a->shape), b->mem,
                                 b->offset, clcnn__shape_count(b->shape));
}

int clcnn__tensors_same(const clcnn_tensor *a, const clcnn_tensor *b)
{
    return a && b && a->mem == b->mem && a->offset == b->offset &&
           clcnn__shape_count(a->shape) == clcnn__shape_count(b->shape);
}

clcnn_status clcnn__expect_shape(clcnn_context *ctx, const char *op, const char *name,
                                 const clcnn_tensor *t, const int want[4], const char *why)
{
    for (int i = 0; i < 4; i++)
        if (t->shape[i] != want[i]) {
            char a[64], b[64];
            return clcnn__fail(ctx, CLCNN_ERR_SHAPE, "%s: %s has shape %s but %s %s", op, name,
                               clcnn__shape_str(t->shape, a, sizeof a), why,
                               clcnn__shape_str(want, b, sizeof b));
        }
    return CLCNN_OK;
}

void clcnn__launch_size_1d(const clcnn_context *ctx, size_t count, size_t *global,
                           size_t *local)
{
    size_t l = 64;
    if (ctx->max_work_group_size && ctx->max_work_group_size < l)
        l = ctx->max_work_group_size;
    *local = l;
    *global = clcnn__round_up(count ? count : 1, l);
}

/* ---- descriptor checks ---- */

/* Checks that a rows x cols matrix with row stride ld at element off fits in
 * t, and that the kernel's int offset can address it. */
static clcnn_status check_operand(clcnn_context *ctx, const char *name, const clcnn_tensor *t,
                                  size_t off, int rows, int cols, int ld)
{
    clcnn_status st = clcnn__check_tensor(ctx, t, name);
    if (st != CLCNN_OK)
        return st;
    if (ld < cols)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "clcnn__gemm: leading dimension %d of %s is less than its %d columns",
                           ld, name, cols);
    size_t have = clcnn__shape_count(t->shape);
    size_t need = (size_t)(rows - 1) * (size_t)ld + (size_t)cols;
    if (off > have || need > have - off) {
        char s[64];
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE,
                           "clcnn__gemm: %s, a %dx%d matrix with row stride %d at offset %zu, "
                           "does not fit in its tensor %s of %zu elements",
                           name, rows, cols, ld, off, clcnn__shape_str(t->shape, s, sizeof s),
                           have);
    }
    if (t->offset + off > (size_t)INT_MAX)
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE, "clcnn__gemm: offset of %s exceeds INT_MAX",
                           name);
    return CLCNN_OK;
}

/* Extent of a checked operand, for overlap tests. */
static size_t extent(int rows, int cols, int ld)
{
    return (size_t)(rows - 1) * (size_t)ld + (size_t)cols;
}

static clcnn_status check_desc(clcnn_context *ctx, const clcnn__gemm_desc *d)
{
    if (!d)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "clcnn__gemm: descriptor is NULL");
    if (d->M < 1 || d->N < 1 || d->K < 1)
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE,
                           "clcnn__gemm: sizes M=%d, N=%d, K=%d must all be >= 1", d->M, d->N,
                           d->K);
    if ((d->trans_a != 0 && d->trans_a != 1) || (d->trans_b != 0 && d->trans_b != 1))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "clcnn__gemm: trans_a %d and trans_b %d must be 0 or 1", d->trans_a,
                           d->trans_b);
    int a_rows = d->trans_a ? d->K : d->M, a_cols = d->trans_a ? d->M : d->K;
    int b_rows = d->trans_b ? d->N : d->K, b_cols = d->trans_b ? d->K : d->N;
    clcnn_status st;
    if ((st = check_operand(ctx, "A", d->a, d->a_off, a_rows, a_cols, d->lda)) != CLCNN_OK ||
        (st = check_operand(ctx, "B", d->b, d->b_off, b_rows, b_cols, d->ldb)) != CLCNN_OK ||
        (st = check_operand(ctx, "C", d->c, d->c_off, d->M, d->N, d->ldc)) != CLCNN_OK)
        return st;
    size_t c_start = d->c->offset + d->c_off, c_len = extent(d->M, d->N, d->ldc);
    if (clcnn__ranges_overlap(d->c->mem, c_start, c_len, d->a->mem, d->a->offset + d->a_off,
                              extent(a_rows, a_cols, d->lda)) ||
        clcnn__ranges_overlap(d->c->mem, c_start, c_len, d->b->mem, d->b->offset + d->b_off,
                              extent(b_rows, b_cols, d->ldb)))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "clcnn__gemm: C overlaps A or B in memory");
    if (d->mask) {
        if ((st = check_operand(ctx, "mask", d->mask, d->mask_off, d->M, d->N, d->ldm)) !=
            CLCNN_OK)
            return st;
        if (clcnn__ranges_overlap(d->c->mem, c_start, c_len, d->mask->mem,
                                  d->mask->offset + d->mask_off, extent(d->M, d->N, d->ldm)))
            return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                               "clcnn__gemm: C overlaps mask in memory");
    }
    if (d->bias_mode == CLCNN__GEMM_BIAS_NONE)
        return CLCNN_OK;
    if (d->bias_mode != CLCNN__GEMM_BIAS_COL && d->bias_mode != CLCNN__GEMM_BIAS_ROW)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "clcnn__gemm: bias_mode %d is not a clcnn__gemm_bias",
                           (int)d->bias_mode);
    int bias_len = d->bias_mode == CLCNN__GEMM_BIAS_COL ? d->N : d->M;
    if ((st = check_operand(ctx, "bias", d->bias, d->bias_off, 1, bias_len, bias_len)) !=
        CLCNN_OK)
        return st;
    if (clcnn__ranges_overlap(d->c->mem, c_start, c_len, d->bias->mem,
                              d->bias->offset + d->bias_off, (size_t)bias_len))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "clcnn__gemm: C overlaps bias in memory");
    return CLCNN_OK;
}

static void variant_options(int variant, int trans_a, int trans_b, char *buf, size_t size)
{
    const struct gemm_variant *v = &variants[variant];
    /* DOT only changes the kernel for C = A B^T: other transposes share one
     * program with the broadcast variants of the same block */
    int dot = trans_b && !trans_a ? v->dot : 0;
    if (dot)
        snprintf(buf, size, "-DTM=%d -DTN=%d -DTRANS_A=%d -DTRANS_B=%d -DDOT=%d", v->tm, v->tn,
                 trans_a, trans_b, dot);
    else
        snprintf(buf, size, "-DTM=%d -DTN=%d -DTRANS_A=%d -DTRANS_B=%d", v->tm, v->tn,
                 trans_a, trans_b);
}

/* ---- the GEMM ---- */

static clcnn_status gemm_tiled(clcnn_context *ctx, const clcnn__gemm_desc *d,
                               const clcnn__tiled_config *c)
{
    const clcnn__tiled_product p = {
        .M = d->M, .N = d->N, .K = d->K, .batches = 1,
        .trans_a = d->trans_a, .trans_b = d->trans_b, .alpha = d->alpha, .beta = d->beta,
        .a = d->a->mem, .a_off = (int)(d->a->offset + d->a_off), .lda = d->lda,
        .b = d->b->mem, .b_off = (int)(d->b->offset + d->b_off), .ldb = d->ldb,
        .c = d->c->mem, .c_off = (int)(d->c->offset + d->c_off), .ldc = d->ldc,
        .bias = d->bias_mode != CLCNN__GEMM_BIAS_NONE ? d->bias->mem : NULL,
        .bias_off = d->bias_mode != CLCNN__GEMM_BIAS_NONE ? (int)(d->bias->offset + d->bias_off)
                                                           : 0,
        .bias_mode = (int)d->bias_mode,
        .epilogue = (d->relu ? 1 : 0) | (d->mask ? 2 : 0),
        .mask = d->mask ? d->mask->mem : NULL,
        .mask_off = d->mask ? (int)(d->mask->offset + d->mask_off) : 0, .ldm = d->ldm,
    };
    return clcnn__tiled_gemm(ctx, c, &p);
}

clcnn_status clcnn__gemm_variant(clcnn_context *ctx, const clcnn__gemm_desc *d, int variant)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st = check_desc(ctx, d);
    if (st != CLCNN_OK)
        return st;
    if (variant == CLCNN__GEMM_AUTO)
        variant = clcnn__gemm_choose(ctx, d->trans_a, d->trans_b, d->M, d->N, d->K);
    if (variant < 0 || variant >= VARIANT_COUNT)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "clcnn__gemm: variant %d is not in [0, %d)", variant, VARIANT_COUNT);
    const struct gemm_variant *v = &variants[variant];
    if (v->tiled)
        return gemm_tiled(ctx, d, clcnn__tiled_config_at(v->tiled - 1));

    char options[96];
    variant_options(variant, d->trans_a, d->trans_b, options, sizeof options);
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "gemm", options, "gemm", &k)) != CLCNN_OK)
        return st;

    /* dimension 0 walks column blocks, 1 row blocks; clip the work-group to
     * the device and round the grid up to it */
    size_t local[2] = {v->wg_x, v->wg_y};
    while (local[0] * local[1] > ctx->max_work_group_size && (local[0] > 1 || local[1] > 1)) {
        if (local[0] >= local[1])
            local[0] /= 2;
        else
            local[1] /= 2;
    }
    size_t global[2] = {
        clcnn__round_up(((size_t)d->N + (size_t)v->tn - 1) / (size_t)v->tn, local[0]),
        clcnn__round_up(((size_t)d->M + (size_t)v->tm - 1) / (size_t)v->tm, local[1]),
    };
    const clcnn_tensor *bias = d->bias_mode != CLCNN__GEMM_BIAS_NONE ? d->bias : d->c;
    size_t bias_off = d->bias_mode != CLCNN__GEMM_BIAS_NONE ? d->bias_off : 0;
    /* the kernel's epilogue flags: bit 0 ReLU, bit 1 mask */
    const clcnn_tensor *mask = d->mask ? d->mask : d->c;
    size_t mask_off = d->mask ? d->mask_off : 0;
    int epilogue = (d->relu ? 1 : 0) | (d->mask ? 2 : 0);
    return CLCNN__LAUNCH(
        ctx, k, 2, global, local, CLCNN__ARG_INT(d->M), CLCNN__ARG_INT(d->N),
        CLCNN__ARG_INT(d->K), CLCNN__ARG_FLOAT(d->alpha), CLCNN__ARG_FLOAT(d->beta),
        CLCNN__ARG_MEM(d->a->mem), CLCNN__ARG_INT(d->a->offset + d->a_off),
        CLCNN__ARG_INT(d->lda), CLCNN__ARG_MEM(d->b->mem),
        CLCNN__ARG_INT(d->b->offset + d->b_off), CLCNN__ARG_INT(d->ldb),
        CLCNN__ARG_MEM(d->c->mem), CLCNN__ARG_INT(d->c->offset + d->c_off),
        CLCNN__ARG_INT(d->ldc), CLCNN__ARG_MEM(bias->mem), CLCNN__ARG_INT(bias->offset + bias_off),
        CLCNN__ARG_INT(d->bias_mode), CLCNN__ARG_INT(epilogue), CLCNN__ARG_MEM(mask->mem),
        CLCNN__ARG_INT(mask->offset + mask_off), CLCNN__ARG_INT(d->ldm));
}

clcnn_status clcnn__gemm(clcnn_context *ctx, const clcnn__gemm_desc *d)
{
    return clcnn__gemm_variant(ctx, d, CLCNN__GEMM_AUTO);
}

clcnn_status clcnn__gemm_colsum(clcnn_context *ctx, int M, int N, const clcnn_tensor *a,
                                size_t a_off, int lda, float beta, clcnn_tensor *out,
                                size_t out_off)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    if (M < 1 || N < 1)
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE,
                           "clcnn__gemm_colsum: sizes M=%d, N=%d must be >= 1", M, N);
    clcnn_status st;
    if ((st = check_operand(ctx, "A", a, a_off, M, N, lda)) != CLCNN_OK ||
        (st = check_operand(ctx, "out", out, out_off, 1, N, N)) != CLCNN_OK)
        return st;
    if (clcnn__ranges_overlap(out->mem, out->offset + out_off, (size_t)N, a->mem,
                              a->offset + a_off, extent(M, N, lda)))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "clcnn__gemm_colsum: out overlaps A in memory");
    /* One fixed option string (a variant that larger GEMMs build anyway), so
     * the column sum never costs more than one program. */
    char options[96];
    variant_options(VARIANT_8X16, 0, 0, options, sizeof options);
    cl_kernel k;
    if ((st = clcnn__kernel(ctx, "gemm", options, "gemm_colsum", &k)) != CLCNN_OK)
        return st;
    size_t global, local;
    clcnn__launch_size_1d(ctx, (size_t)N, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_INT(M), CLCNN__ARG_INT(N),
                         CLCNN__ARG_FLOAT(beta), CLCNN__ARG_MEM(a->mem),
                         CLCNN__ARG_INT(a->offset + a_off), CLCNN__ARG_INT(lda),
                         CLCNN__ARG_MEM(out->mem), CLCNN__ARG_INT(out->offset + out_off));
}
