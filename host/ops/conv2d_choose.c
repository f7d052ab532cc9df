/*
 * The conv2d algorithms' tile variants and the choice among them: what each
 * variant can run, the built-in rule measured per pass and device type, and
 * the device's tuning file, which overrides the rule where it has an entry.
 */
#include <stdio.h>

#include "conv2d_impl.h"
#include "gemm.h"
#include "tuning.h"

/* ---- algorithms and their tile variants ---- */

/* The GPU family's implicit GEMM (kernels/gemm_tiled.cl): one variant per
 * configuration of gemm_tiled.c, in its order, in each pass's GEMM table. */
#define TILED_VARIANTS                                                                         \
    {"tiled 128x64", CONV2D_M_TILED, 0, 0, 0, 0, 1},                                           \
        {"tiled 64x64 k16", CONV2D_M_TILED, 0, 0, 0, 0, 2},                                    \
        {"tiled 64x64 r8x8", CONV2D_M_TILED, 0, 0, 0, 0, 3},                                   \
        {"tiled 32x32", CONV2D_M_TILED, 0, 0, 0, 0, 4},                                        \
        {"tiled 16x16", CONV2D_M_TILED, 0, 0, 0, 0, 5},                                        \
        {"tiled 16x128", CONV2D_M_TILED, 0, 0, 0, 0, 6}

/* Forward. Direct: KB output channels x QB columns; variant 0 for big layers,
 * 1 for few channels or small images, where a large block would mostly
 * compute padding lanes. Plane: KB channels x PB rows x QB columns, the
 * filter size compiled in, whole planes per work-item (first layers on CPUs).
 * Flat: KB channels x QB pixels of a plane taken as one run of pixels, over
 * the image's im2col matrix in private memory (small images).
 * GEMM: TM x TN with a KC-row panel. */
static const conv2d_tile fwd_direct[] = {
    {"direct 8x16", CONV2D_M_DIRECT, 0, 8, 16, 0, 0},
    {"direct 4x8", CONV2D_M_DIRECT, 0, 4, 8, 0, 0},
    {"direct 1x16", CONV2D_M_DIRECT, 0, 1, 16, 0, 0},
    {"plane 6x4x16", CONV2D_M_PLANE, 0, 6, 4, 16, 0},
    {"plane 8x2x16", CONV2D_M_PLANE, 0, 8, 2, 16, 0},
    {"flat 8x16", CONV2D_M_FLAT, 0, 8, 0, 16, 0},
};

static const conv2d_tile fwd_gemm[] = {
    {"gemm 8x16 kc256", CONV2D_M_GEMM, 0, 8, 16, 256, 0},
    {"gemm 4x8 kc128", CONV2D_M_GEMM, 0, 4, 8, 128, 0},
    {"im2col gemm 8x16", CONV2D_M_IM2COL, 0, 8, 16, 0, 0},
    {"gemm 8x16 kc512", CONV2D_M_GEMM, 0, 8, 16, 512, 0},
    {"gemm 8x32 kc512", CONV2D_M_GEMM, 0, 8, 32, 512, 0},
    {"im2col gemm 8x32", CONV2D_M_IM2COL, 0, 8, 32, 0, 0},
    {"kvec 2x10", CONV2D_M_KVEC, 0, 2, 10, 0, 0},
    TILED_VARIANTS,
};

/* Winograd: the TM x TN block of the 16 products of F(2x2, 3x3), or (c = 4,
 * "winograd4") of the 36 of F(4x4, 3x3); 1x1: of the one product. */
static const conv2d_tile fwd_winograd[] = {
    {"winograd 8x16", CONV2D_M_WINO, 0, 8, 16, 0, 0},
    {"winograd 4x8", CONV2D_M_WINO, 0, 4, 8, 0, 0},
    {"tiled winograd 64x64", CONV2D_M_WINO, 0, 0, 0, 0, 2},
    {"winograd4 8x16", CONV2D_M_WINO, 0, 8, 16, 4, 0},
    {"winograd4 8x32", CONV2D_M_WINO, 0, 8, 32, 4, 0},
    {"tiled winograd4 64x64", CONV2D_M_WINO, 0, 0, 0, 4, 2},
    {"fused winograd4 8x32", CONV2D_M_WINO_FUSED, 0, 8, 32, 4, 0},
    {"fused winograd4 8x16", CONV2D_M_WINO_FUSED, 0, 8, 16, 4, 0},
};

static const conv2d_tile fwd_1x1[] = {
    {"1x1 8x16", CONV2D_M_1X1, 0, 8, 16, 0, 0},
    {"1x1 4x8", CONV2D_M_1X1, 0, 4, 8, 0, 0},
    {"1x1 8x32", CONV2D_M_1X1, 0, 8, 32, 0, 0},
    {"tiled 1x1 64x64", CONV2D_M_1X1, 0, 0, 0, 0, 2},
};

/* Backward-data. The gather kernel (CB input channels x WB columns) runs any
 * geometry; the flipped variants run a forward kernel on dy (stride 1), the
 * rows one KB channels x PB rows x QB columns (dilation_h 1 too) for a first
 * layer's one or two input channels. Plane col2im: whole images of at most 32
 * taps (C*R*S) folded in private memory, QB columns. */
static const conv2d_tile bwd_direct[] = {
    {"gather 8x16", CONV2D_M_GATHER, 0, 8, 16, 0, 0},
    {"gather 4x8", CONV2D_M_GATHER, 0, 4, 8, 0, 0},
    {"flipped direct 8x16", CONV2D_M_DIRECT, 1, 8, 16, 0, 0},
    {"flipped direct 4x8", CONV2D_M_DIRECT, 1, 4, 8, 0, 0},
    {"flipped direct 1x16", CONV2D_M_DIRECT, 1, 1, 16, 0, 0},
    {"flipped direct rows 1x4x16", CONV2D_M_DIRECT, 1, 1, 16, 4, 0},
    {"gather 1x16", CONV2D_M_GATHER, 0, 1, 16, 0, 0},
    {"gather 4x16", CONV2D_M_GATHER, 0, 4, 16, 0, 0},
    {"plane col2im 16", CONV2D_M_PLANE_COL2IM, 0, 0, 0, 16, 0},
    {"flipped plane 1x8x16", CONV2D_M_PLANE, 1, 1, 8, 16, 0},
    {"flipped plane 6x4x16", CONV2D_M_PLANE, 1, 6, 4, 16, 0},
};

static const conv2d_tile bwd_gemm[] = {
    {"flipped gemm 8x16 kc256", CONV2D_M_GEMM, 1, 8, 16, 256, 0},
    {"gemm col2im 8x16", CONV2D_M_IM2COL, 0, 8, 16, 0, 0},
    {"flipped gemm 8x16 kc512", CONV2D_M_GEMM, 1, 8, 16, 512, 0},
    {"flipped gemm 8x32 kc512", CONV2D_M_GEMM, 1, 8, 32, 512, 0},
    {"gemm col2im 8x32", CONV2D_M_IM2COL, 0, 8, 32, 0, 0},
    {"flipped kvec 2x10", CONV2D_M_KVEC, 1, 2, 10, 0, 0},
    TILED_VARIANTS,
};

static const conv2d_tile bwd_winograd[] = {
    {"flipped winograd 8x16", CONV2D_M_WINO, 1, 8, 16, 0, 0},
    {"flipped tiled winograd 64x64", CONV2D_M_WINO, 1, 0, 0, 0, 2},
    {"flipped winograd4 8x16", CONV2D_M_WINO, 1, 8, 16, 4, 0},
    {"flipped winograd4 8x32", CONV2D_M_WINO, 1, 8, 32, 4, 0},
    {"flipped tiled winograd4 64x64", CONV2D_M_WINO, 1, 0, 0, 4, 2},
    {"flipped fused winograd4 8x32", CONV2D_M_WINO_FUSED, 1, 8, 32, 4, 0},
    {"flipped fused winograd4 8x16", CONV2D_M_WINO_FUSED, 1, 8, 16, 4, 0},
};

/* the flipped 1x1 product also runs strides: it fills every stride-th pixel */
static const conv2d_tile bwd_1x1[] = {
    {"flipped 1x1 8x16", CONV2D_M_1X1, 1, 8, 16, 0, 0},
    {"flipped 1x1 8x32", CONV2D_M_1X1, 1, 8, 32, 0, 0},
    {"flipped tiled 1x1 64x64", CONV2D_M_1X1, 1, 0, 0, 0, 2},
};

/* Backward-filter. Rows: TM output channels x TJ taps x QV columns of an
 * output row per step (vectors along the pixels; for few output channels).
 * Panel: TM output channels x TN taps over a KC-pixel gathered panel (vectors
 * along the taps; everything else). Flat: TM x TJ x QB over the image's
 * im2col matrix, read from rows of shifted input in private memory, summing
 * db on the way (small images, CPUs). */
static const conv2d_tile bwd_filter[] = {
    {"rows 6x4x8", CONV2D_M_FILTER, 0, 6, 4, 8, 0},
    {"rows 4x4x4", CONV2D_M_FILTER, 0, 4, 4, 4, 0},
    {"rows 8x3x8", CONV2D_M_FILTER, 0, 8, 3, 8, 0},
    {"panel 8x16 kc128", CONV2D_M_PANEL, 0, 8, 16, 128, 0},
    {"panel 4x8 kc128", CONV2D_M_PANEL, 0, 4, 8, 128, 0},
    {"panel 8x16 kc512", CONV2D_M_PANEL, 0, 8, 16, 512, 0},
    {"panel 8x32 kc512", CONV2D_M_PANEL, 0, 8, 32, 512, 0},
    {"flat 2x9x16", CONV2D_M_FLAT_FILTER, 0, 2, 9, 16, 0},
    {"flat 4x5x16", CONV2D_M_FLAT_FILTER, 0, 4, 5, 16, 0},
    TILED_VARIANTS,
};

/* Winograd F(4x4, 3x3): the TM x TN block of its 36 products over the tiles
 * (tiled: the GPU family's product) */
static const conv2d_tile bwd_filter_winograd[] = {
    {"winograd4 8x32", CONV2D_M_WINO, 0, 8, 32, 4, 0},
    {"winograd4 8x16", CONV2D_M_WINO, 0, 8, 16, 4, 0},
    {"winograd4 4x16", CONV2D_M_WINO, 0, 4, 16, 4, 0},
    {"tiled winograd4 64x64", CONV2D_M_WINO, 0, 0, 0, 4, 2},
};

static const struct family {
    clcnn__conv2d_pass pass;
    clcnn_conv_algo algo;
    const conv2d_tile *tiles;
    int count;
} families[] = {
    {CLCNN__CONV2D_FORWARD, CLCNN_CONV_DIRECT, fwd_direct, CONV2D_COUNT_OF(fwd_direct)},
    {CLCNN__CONV2D_FORWARD, CLCNN_CONV_GEMM, fwd_gemm, CONV2D_COUNT_OF(fwd_gemm)},
    {CLCNN__CONV2D_FORWARD, CLCNN_CONV_WINOGRAD, fwd_winograd, CONV2D_COUNT_OF(fwd_winograd)},
    {CLCNN__CONV2D_FORWARD, CLCNN_CONV_GEMM_1X1, fwd_1x1, CONV2D_COUNT_OF(fwd_1x1)},
    {CLCNN__CONV2D_BACKWARD_DATA, CLCNN_CONV_DIRECT, bwd_direct, CONV2D_COUNT_OF(bwd_direct)},
    {CLCNN__CONV2D_BACKWARD_DATA, CLCNN_CONV_GEMM, bwd_gemm, CONV2D_COUNT_OF(bwd_gemm)},
    {CLCNN__CONV2D_BACKWARD_DATA, CLCNN_CONV_WINOGRAD, bwd_winograd, CONV2D_COUNT_OF(bwd_winograd)},
    {CLCNN__CONV2D_BACKWARD_DATA, CLCNN_CONV_GEMM_1X1, bwd_1x1, CONV2D_COUNT_OF(bwd_1x1)},
    {CLCNN__CONV2D_BACKWARD_FILTER, CLCNN_CONV_GEMM, bwd_filter, CONV2D_COUNT_OF(bwd_filter)},
    {CLCNN__CONV2D_BACKWARD_FILTER, CLCNN_CONV_WINOGRAD, bwd_filter_winograd,
     CONV2D_COUNT_OF(bwd_filter_winograd)},
};

const conv2d_tile *clcnn__conv2d_tiles(clcnn__conv2d_pass pass, clcnn_conv_algo algo, int *count)
{
    for (int i = 0; i < CONV2D_COUNT_OF(families); i++)
        if (families[i].pass == pass && families[i].algo == algo) {
            *count = families[i].count;
            return families[i].tiles;
        }
    *count = 0;
    return NULL;
}

const char *clcnn__conv2d_algo_name(clcnn_conv_algo algo)
{
    static const char *const names[CLCNN_CONV_ALGO_COUNT] = {"auto", "direct", "gemm", "winograd",
                                                             "gemm_1x1"};
    return (unsigned)algo < (unsigned)CLCNN_CONV_ALGO_COUNT ? names[algo] : "?";
}

int clcnn__conv2d_variant_count(clcnn__conv2d_pass pass, clcnn_conv_algo algo)
{
    int count;
    clcnn__conv2d_tiles(pass, algo, &count);
    return count;
}

const char *clcnn__conv2d_variant_name(clcnn__conv2d_pass pass, clcnn_conv_algo algo, int variant)
{
    int count;
    const conv2d_tile *t = clcnn__conv2d_tiles(pass, algo, &count);
    return t && variant >= 0 && variant < count ? t[variant].name : "?";
}

int clcnn__conv2d_variant_is_gpu(clcnn__conv2d_pass pass, clcnn_conv_algo algo, int variant)
{
    const conv2d_tile *t = clcnn__conv2d_find_tile(pass, algo, variant);
    return t && t->gpu;
}

const conv2d_tile *clcnn__conv2d_find_tile(clcnn__conv2d_pass pass, clcnn_conv_algo algo,
                                           int variant)
{
    int count;
    const conv2d_tile *t = clcnn__conv2d_tiles(pass, algo, &count);
    return t && variant >= 0 && variant < count ? &t[variant] : NULL;
}

int clcnn__conv2d_tile_supports(const clcnn_context *ctx, const conv2d_tile *t,
                                const conv2d_geom *g, const char **why)
{
    const char *reason = NULL;
    const int stride1 = g->stride_h == 1 && g->stride_w == 1;
    /* the transformed tiles and their products, 16 planes each (36 for
     * F(4x4, 3x3); of the output, or of the input for a flipped pass) */
    const int wino4 = (t->method == CONV2D_M_WINO && t->c == 4) ||
                      t->method == CONV2D_M_WINO_FUSED;
    const int wtile = wino4 ? 4 : 2;
    const size_t tiles = (size_t)g->N * (((g->P > g->H ? g->P : g->H) + wtile - 1) / wtile) *
                         (((g->Q > g->W ? g->Q : g->W) + wtile - 1) / wtile);
    /* F(4x4) cuts larger filters into 3x3 sub-filters, each a channel more */
    const size_t subs = wino4 ? (size_t)conv2d_wino4_subfilters(g) : 1;
    const size_t planes = (size_t)(wtile + 2) * (wtile + 2) * subs *
                          (g->C > g->K ? (size_t)g->C : (size_t)g->K);
    if (t->flipped && !stride1 && t->method != CONV2D_M_1X1)
        reason = "needs stride 1";
    else if (t->method == CONV2D_M_DIRECT && t->c && g->dil_h != 1)
        reason = "needs dilation_h 1";
    else if (t->method == CONV2D_M_PLANE &&
             (!stride1 || g->dil_h != 1 || g->dil_w != 1 || g->R > 9 || g->S > 9))
        reason = "needs stride 1, dilation 1 and a filter of at most 9x9";
    else if (t->method == CONV2D_M_PLANE_COL2IM &&
             (!stride1 || g->dil_h != 1 || g->dil_w != 1 || g->S > t->c ||
              g->C * g->R * g->S > 32 ||
              (size_t)g->C * (g->P + g->R - 1) * (conv2d_ceil_div((size_t)g->Q, t->c) + 1) *
                      t->c > CONV2D_PLANE_FLOATS))
        reason = "needs stride 1, dilation 1, at most 32 taps and a small image";
    else if ((t->method == CONV2D_M_FLAT || t->method == CONV2D_M_FLAT_FILTER) &&
             ctx->info.is_gpu)
        reason = "runs on CPU devices only (it holds an image's im2col matrix in private "
                 "memory)";
    else if (t->method == CONV2D_M_FLAT &&
             (!stride1 || g->dil_h != 1 || g->dil_w != 1 || (long long)g->P * g->Q < t->c ||
              conv2d_flat_floats(g, g->C, t->c) > CONV2D_FLAT_FLOATS))
        reason = "needs stride 1, dilation 1 and a small image";
    else if (t->method == CONV2D_M_FLAT_FILTER &&
             (!stride1 || g->dil_h != 1 || g->dil_w != 1 || (long long)g->P * g->Q < t->c ||
              conv2d_flat_floats(g, conv2d_flat_channels(g, t->b), t->c) >
                  CONV2D_FLAT_FLOATS ||
              conv2d_ceil_div((size_t)g->K, t->a) * t->a * t->b > 512))
        reason = "needs stride 1, dilation 1, a small image and at most 512 vectors of sums "
                 "(K times the taps of a group)";
    else if (t->method == CONV2D_M_1X1 && (g->R != 1 || g->S != 1))
        reason = "needs a 1x1 filter";
    else if (t->method == CONV2D_M_WINO && !wino4 &&
             (g->R != 3 || g->S != 3 || !stride1 || g->dil_h != 1 || g->dil_w != 1))
        reason = "needs a 3x3 filter, stride 1 and dilation 1";
    else if (wino4 && (g->R < 3 || g->R > 12 || g->S < 3 || g->S > 12 || !stride1 ||
                       g->dil_h != 1 || g->dil_w != 1))
        reason = "needs a filter of 3x3 to 12x12, stride 1 and dilation 1";
    else if (t->method == CONV2D_M_WINO_FUSED && ctx->info.is_gpu)
        reason = "runs on CPU devices only (it holds 36 planes of products in private "
                 "memory)";
    else if ((t->method == CONV2D_M_WINO || t->method == CONV2D_M_WINO_FUSED) &&
             (planes * tiles > 0x7fffffff ||
              (size_t)(wtile + 2) * (wtile + 2) * subs * g->C * g->K > 0x7fffffff))
        reason = "needs more scratch memory than one buffer holds";
    else if (t->method == CONV2D_M_IM2COL &&
             (size_t)g->C * g->R * g->S * g->N * g->P * g->Q > ((size_t)1 << 27))
        reason = "needs more than 512 MiB of scratch memory for the im2col matrix";
    else if ((t->method == CONV2D_M_GEMM || t->method == CONV2D_M_PANEL) &&
             (unsigned long long)(t->b + 1) * t->c * sizeof(float) > ctx->local_mem_bytes)
        reason = "needs more local memory than the device has";
    else if (t->gpu)
        clcnn__tiled_fits(ctx, clcnn__tiled_config_at(t->gpu - 1), &reason);

    if (why)
        *why = reason;
    return reason == NULL;
}

int clcnn__conv2d_variant_supported(const clcnn_context *ctx, clcnn__conv2d_pass pass,
                                    clcnn_conv_algo algo, int variant, const int x_shape[4],
                                    const int w_shape[4], const clcnn_conv2d_params *params)
{
    const conv2d_tile *t = clcnn__conv2d_find_tile(pass, algo, variant);
    int y_shape[4];
    if (!t || clcnn_conv2d_output_shape(x_shape, w_shape, params, y_shape, NULL, 0) != CLCNN_OK)
        return 0;
    const conv2d_geom g = clcnn__conv2d_geom_of(x_shape, w_shape, y_shape, params);
    return clcnn__conv2d_tile_supports(ctx, t, &g, NULL);
}

/* ---- the algorithm choice ---- */

/* Indices into the tables above that the rule names. */
enum {
    V_DIRECT_8X16 = 0, V_DIRECT_4X8 = 1, V_DIRECT_1X16 = 2,
    V_GEMM_4X8 = 1, V_GEMM_8X16_KC512 = 3, V_GEMM_8X32_KC512 = 4, V_1X1_8X16 = 0,
    V_1X1_4X8 = 1, V_1X1_8X32 = 2, V_FLIPPED_GEMM_KC512 = 2, V_FLIPPED_GEMM_8X32_KC512 = 3,
    V_COL2IM_8X32 = 4, V_FLIPPED_1X1_8X16 = 0, V_FLIPPED_1X1_8X32 = 1, V_KVEC_2X10 = 6,
    V_FLIPPED_KVEC_2X10 = 5,
    V_GATHER_8X16 = 0, V_GATHER_4X8 = 1, V_FLIPPED_DIRECT_1X16 = 4, V_FLIPPED_PLANE_6X4X16 = 10,
    V_FLIPPED_ROWS_1X4X16 = 5, V_GATHER_1X16 = 6, V_GATHER_4X16 = 7,
    V_ROWS_6X4X8 = 0, V_PANEL_8X16_KC512 = 5, V_PANEL_8X32_KC512 = 6,
    V_PLANE_6X4X16 = 3, V_PLANE_8X2X16 = 4, V_FLAT_8X16 = 5, V_PLANE_COL2IM = 8,
    V_FLAT_FILTER_2X9X16 = 7, V_FLAT_FILTER_4X5X16 = 8,
    V_WINO4_8X16 = 3, V_WINO4_8X32 = 4, V_FLIPPED_WINO4_8X16 = 2, V_FLIPPED_WINO4_8X32 = 3,
    V_FILTER_WINO4_8X32 = 0, V_FILTER_WINO4_4X16 = 2, V_FUSED_WINO4_8X32 = 6,
    V_FLIPPED_FUSED_WINO4_8X32 = 5,
};

/*
 * The AUTO rule, measured with bench_conv2d -s all on PoCL (2-core AVX-512
 * host, shared and loaded, so differences under ~15% are not resolved; the
 * figures are GFLOP/s estimated from CPU time); the tuning file overrides it
 * per shape:
 * - forward: 1x1 filters of stride 1 as one matrix product (GEMM_1X1), which
 *   beat the implicit GEMM 1.1-1.9x; DIRECT where the reduction C*R*S is
 *   short (< 200: LeNet, the first layers) and stride_w is 1, since the
 *   implicit GEMM would gather its panel for a few output channels only; the
 *   implicit GEMM everywhere else (1.1-1.5x over DIRECT from VGG to the 9x9
 *   layers, 3-7x for strides and small images, where its panel gathers lanes
 *   with vector address arithmetic; the explicit im2col GEMM only ties it on
 *   3x3 outputs), with a panel of 512 reduction rows, 3-7% over 256 (fewer
 *   passes over the partial sums in y). Winograd F(2x2, 3x3) is not chosen:
 *   against the implicit GEMM with two vectors per work-item it lost on every
 *   3x3 layer measured (VGG 128@28: 160 vs 326, 256@28: 215 vs 372), its
 *   transforms' memory traffic and scratch buffers costing more than the
 *   multiplications it saves.
 * - forward and backward-data on CPUs, Winograd F(4x4, 3x3) (4x fewer
 *   multiplications, 2.25 floats of scratch per pixel and channel instead of
 *   F(2x2)'s 4) for 3x3 stride-1 layers of 64+ channels in and out, outputs
 *   (of the pass) of at least 13x13, at least 32 tiles (backward-data 16)
 *   and 2^28 multiply-adds (wino4_pays). Milliseconds of CPU time per
 *   pass, bench_conv2d -r 7 -p fd at clcnn bench's batches, implicit GEMM
 *   8x32 kc512 vs F(2x2) vs F(4x4) 8x16 / 8x32, forward | backward-data: vgg-64@56 21.8 / 22.1 /
 *   17.0 | 23.7 / 24.9 / 18.8; vgg-128@28 21.8 / 22.6 / 16.8 | 21.1 / 18.8 /
 *   13.6; vgg-256@28 19.1 / 16.3 / 12.7 | 20.0 / 16.3 / 13.0; vgg-512@14 (32
 *   tiles) 24.1 / 28.6 / 18.6 (8x32) | 54.8 / 31.7 / 20.3 (8x32); soumith L5
 *   (64 tiles) 21.1 / 26.2 / 19.1 (8x32) | 47.0 / 28.3 / 21.1 (8x32). With 8x32
 *   product blocks from 32 to 95 tiles, 8x16 otherwise (vgg-256@28, 98
 *   tiles: 12.7 vs 14.9; 512@14 at batch 1, 16 tiles, backward-data 13.0
 *   vs 29.3, and 17.6-21.3 for the flipped implicit GEMM). Below the
 *   thresholds it ties or loses: 512@14 at batch 1 forward 13.2 vs 11.3
 *   (its 36 filter planes cost as much as the products), 384@13 at batch 1
 *   backward-data 8.0 vs 7.0, 256@7 at batch 8 (half the 4x4 tiles
 *   padding) 8.9 vs 7.0, 32 channels 56x56 7.3 vs 6.4, and batches of 1-2 of the VGG layers
 *   (0.1-0.25 G multiply-adds) within 15% either way.
 * - F(4x4)'s products and output transform fused into one kernel (the
 *   products of all 36 planes of a block of channels and tiles kept in
 *   private memory, so that M does not go through memory) for 3x3 layers of
 *   at most 64 channels in (the flipped pass: 64 out): vgg-64@56 forward 9.3
 *   -> 7.6 ms, backward-data 9.4 -> 7.6 (8x32 blocks; wall time on a quiet
 *   machine). With more channels the block's planes no longer stay in the
 *   first-level cache and it loses: 128@28 8.0 vs 8.2 (8x16), 256@28 7.6 vs
 *   10.9, L5 9.5 vs 10.1, the 9x9 L2 13.6 vs 21.4.
 * - on CPUs, F(4x4, 3x3) also for filters of 4x4 to 12x12, cut into 3x3
 *   sub-filters (wino4_large_pays), all three passes. CPU ms at clcnn bench's
 *   batches, bench_conv2d -r 5 on one free core: soumith L2 (N 1, 196 tiles)
 *   forward 39.8 -> 24.3 over the implicit GEMM, backward-data 50.8 -> 32.6
 *   over the flipped implicit GEMM, backward-filter 45.8 -> 33.9 over the
 *   panel; L3 at N 8 (288 tiles) 120 -> 60, 179 -> 139 and 135 -> 70, at N 1
 *   backward-data (64 tiles of dx) 21.3 -> 18.2; L1's backward-filter (3
 *   channels in, 16 sub-filters each: 48 rows of products) 26.5 -> 17.9.
 *   With fewer tiles (L3's forward at N 1: 36) the transformed filters, 36 x
 *   9 x C x K floats, cost more than the products save (19.0 vs 14.7); where
 *   the padding of sub-filters and tiles eats the savings (L4's 7x7 filter on
 *   10x10 outputs keeps 1.7x of the 4x) it loses 1.5-2x; forward and
 *   backward-data need 64 channels in (L1's forward: 22.8 vs 20.0).
 * - the products (implicit GEMM, 1x1, col2im) take two vectors of 16 pixels
 *   per work-item where a plane has at least 120 pixels: 16 accumulators
 *   instead of 8, and 10 loads per 16 fma's instead of 9 per 8 (VGG 64@56
 *   forward 203 -> 288, 1x1 64 -> 256 forward 271 -> 381); on smaller planes
 *   the second vector is mostly padding.
 * - small planes with at least 32 channels out and at most 2^20 weights: the
 *   vectors along the output channels instead of the pixels (kvec), forward
 *   for outputs of at most 100 pixels (Keras conv3: 145 -> 256 over the
 *   implicit GEMM, L4 244 -> 263; at 121 pixels it loses, Keras conv2 175
 *   vs 220), backward-data as the flipped forward for 3x3 filters, 32+ input
 *   channels and inputs of under 200 pixels (Keras conv2 118 -> 211 over the
 *   gather, conv3 94 -> 248 over col2im, skipping the taps in the padding;
 *   with 384 channels the filter no longer stays in the caches and it loses
 *   2x).
 * - backward-data: tiny outputs (P*Q <= 16) by the product of the transposed
 *   filter and dy with col2im, which skips the padding the flipped forms
 *   multiply by zero (Keras conv3: 72 -> 101); 1x1 filters as one product,
 *   upsampled into dx for strides (ResNet 1x1 stride 2: 143 -> 334 over the
 *   gather); other strided layers gather (the flipped form needs stride 1),
 *   in blocks of 4 channels for 3 or 4 (the RGB input of L1 and the ResNet
 *   stem: 114 -> 160); stride 1 runs a forward algorithm on the flipped
 *   filter: one or two input channels with a one-channel direct block (of 4
 *   rows for filters of 5+ rows, LeNet conv1: 44 -> 51), with >= 64 channels
 *   the implicit GEMM (VGG 64@56: 238 -> 264 over the gather; for filters of
 *   5x5 and up too, since its panels leave out the rows of taps that fall
 *   in the padding: at clcnn bench's batches L2 25.4 ms and L3 10.9 vs 32.3
 *   and 14.1 for col2im below), but on planes of at most 256 pixels with
 *   large filters the flipped kvec (L4 18.9 vs 22.5 col2im and 22.8 the
 *   flipped GEMM, whose vectors along 16 columns are mostly padding there);
 *   the product of the transposed filter and dy, its columns summed back by
 *   col2im, which computes no padding, for few input channels when there
 *   are 64+ output channels to sum over (L1 146 -> 268 over the gather,
 *   15.4 vs 58 ms for the flipped GEMM; with 16 it loses 2x), the gather
 *   otherwise.
 * - backward-filter on CPUs: Winograd F(4x4, 3x3) where forward would take
 *   it and there are at least 64 tiles (its 36 products sum over the tiles,
 *   and the 36 x C x K partial filters they leave cost as much as the
 *   products when the tiles are few). CPU ms, bench_conv2d -r 5 at clcnn
 *   bench's batches, the panel 8x32 kc512 vs F(4x4) 8x32 / 4x16: vgg-64@56
 *   (1568 tiles) 25.8 / 16.2 / 19.0; vgg-128@28 (392) 21.3 / 12.3 / 16.0;
 *   vgg-256@28 (98) 19.4 / 12.0 / 10.9; soumith L5 (64) 17.9 / 15.9 / 14.6;
 *   vgg-512@14 (32) 19.3 / 28.8 / 29.5. 8x32 products from 256 tiles, 4x16
 *   below.
 * - backward-filter otherwise: the tap panel of 512 pixels (whose dy rows stream long
 *   enough for the prefetcher: Keras conv1 48 -> 56 over 128 pixels), with two
 *   vectors of 16 taps per work-item where there are more than 16 taps (VGG
 *   64@56: 222 -> 268, L2 279 -> 352), except for at most 8 output channels,
 *   where its vectors along the taps would sweep too few channels to pay for
 *   the gather and the row kernel wins (LeNet's K = 6).
 * - blocks shrink where the large ones would mostly compute padding lanes:
 *   K <= 4 (forward), fewer than 8 columns per phase (gather), P*Q <= 8.
 * - on CPUs, the plane kernels, whose work-items sweep whole images with the
 *   filter size compiled in (stride 1, filters up to 9x9). For first layers
 *   (at most 32 taps C*R*S, small images; measured at batch 64, where the
 *   layer stays in the caches): backward-data by col2im in private
 *   memory (Keras conv1 44 -> 203 over the gather, LeNet conv1 63 -> 145 over
 *   the flipped rows), backward-data of 5 or 6 input channels by the
 *   flipped plane kernel with blocks of 6 channels, where the gather's
 *   blocks of 8 leave a quarter of their lanes idle (LeNet conv2 116 -> 169;
 *   with 3 channels it ties the gather of 4, with 8 it loses 2x to the
 *   gather of 8); forward, for at most 32 channels out,
 *   wherever the rule takes DIRECT (batch 1024: LeNet conv1 108 -> 194,
 *   conv2 122 -> 160, Keras conv1 59 -> 81 over the direct kernel, whose
 *   partial blocks store lane by lane where the plane kernel's spill into the
 *   next row). Where an image's im2col matrix (forward) or a group of its
 *   rows (backward-filter) fits in private memory, the flat kernels, whose
 *   vectors run across row ends and whose weights come as scalars from the
 *   caches: forward for 16 or more channels out, whatever the filter (batch
 *   1024: Keras conv1 80 -> 128 over the plane kernel, conv2 227 -> 276
 *   over the implicit GEMM, LeNet conv2 177 -> 236; C32 8x8 K128 3x3 186 ->
 *   330 over kvec, 1x1 C64 8x8 K128 297 -> 340 over the 1x1 product; with
 *   LeNet conv1's 6 channels the plane kernel ties), backward-filter for up
 *   to 56 channels out, any number of taps (first layers of at most 32 taps
 *   with more channels: blocks of 4 channels and 5 taps), with db summed in
 *   the same pass over dy instead of conv2d_bwd_bias's second one (Keras
 *   conv1 73 -> 160 and LeNet conv1 89 -> 192 over the panel and the rows,
 *   which a plane kernel over zero-padded image copies had taken to 115 and
 *   150; LeNet conv2 112 -> 135 over the panel, C16 K32 32x32 170 -> 289,
 *   C1 48x48 3x3 85 -> 155 over that plane kernel, which the flat one now
 *   replaces).
 * A GPU with the CPU family forced (CLCNN_KERNELS=cpu) gets the same rule
 * without the plane kernels; the GPU family has its own (gpu_rule).
 */
/* Whether the CPU rule takes F(4x4, 3x3) for a 3x3 stride-1 pass of g's
 * batch with c channels in, k out, p x q outputs and at least min_tiles
 * 4x4 tiles (see the rule above). */
static int wino4_pays(const conv2d_geom *g, int c, int k, int p, int q, int min_tiles)
{
    const long long tiles = (long long)g->N * ((p + 3) / 4) * ((q + 3) / 4);
    return g->R == 3 && g->S == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1 &&
           g->dil_w == 1 && c >= 64 && k >= 64 && p >= 13 && q >= 13 && tiles >= min_tiles &&
           (long long)g->N * c * k * 9 * p * q >= (1LL << 28);
}

/* Whether the CPU rule takes F(4x4, 3x3) for a filter of 4x4 to 12x12 (cut
 * into 3x3 sub-filters) in a pass with c channels in, k out and p x q
 * outputs (the tiled plane: forward's P x Q, the flipped backward-data's H x
 * W): c times the sub-filters at least min_rows (the product's rows or
 * reduction), 64+ channels out, 64+ tiles, and at least half of F(4x4)'s 4x
 * fewer multiplications left after the padding of sub-filters and tiles
 * (the direct form's P*Q*R*S against 36 per tile and sub-filter). */
static int wino4_large_pays(const conv2d_geom *g, int c, int k, int p, int q, int min_rows)
{
    const long long th = (p + 3) / 4, tw = (q + 3) / 4;
    const long long subs = conv2d_wino4_subfilters(g);
    return g->R * g->S > 9 && g->R >= 3 && g->S >= 3 && g->R <= 12 && g->S <= 12 &&
           g->stride_h == 1 &&
           g->stride_w == 1 && g->dil_h == 1 && g->dil_w == 1 && c * subs >= min_rows &&
           k >= 64 && g->N * th * tw >= 64 &&
           (long long)g->P * g->Q * g->R * g->S >= 2 * 36 * th * tw * subs;
}

static void heuristic(const clcnn_context *ctx, const conv2d_geom *g, clcnn__conv2d_pass pass,
                      clcnn_conv_algo forced, clcnn_conv_algo *algo, int *variant)
{
    const int stride1 = g->stride_h == 1 && g->stride_w == 1;
    const int one = g->R == 1 && g->S == 1;
    const long long crs = (long long)g->C * g->R * g->S;
    const int cpu = !ctx->info.is_gpu;
    /* planes of at least 120 pixels: two vectors per work-item (out: the
     * forward output; in: the input, which the flipped backward passes write) */
    const int wide_out = (long long)g->P * g->Q >= 120, wide_in = (long long)g->H * g->W >= 120;
    /* filters of at most 2^20 weights (4 MiB), which the channel-vector
     * kernel streams once per block of pixels */
    const int small_filter = crs * g->K <= (1 << 20);
    if (pass == CLCNN__CONV2D_BACKWARD_FILTER) {
        if (cpu && (wino4_pays(g, g->C, g->K, g->P, g->Q, 64) ||
                    wino4_large_pays(g, g->C, g->K, g->P, g->Q, 32))) {
            const long long tiles = (long long)g->N * ((g->P + 3) / 4) * ((g->Q + 3) / 4);
            *algo = CLCNN_CONV_WINOGRAD;
            *variant = tiles >= 256 ? V_FILTER_WINO4_8X32 : V_FILTER_WINO4_4X16;
            return;
        }
        *algo = CLCNN_CONV_GEMM;
        *variant = g->K <= 8 ? V_ROWS_6X4X8 : crs > 16 ? V_PANEL_8X32_KC512 : V_PANEL_8X16_KC512;
        if (cpu && clcnn__conv2d_tile_supports(ctx, &bwd_filter[V_FLAT_FILTER_2X9X16], g, NULL))
            *variant = V_FLAT_FILTER_2X9X16;
        else if (cpu && crs <= 32 &&
                 clcnn__conv2d_tile_supports(ctx, &bwd_filter[V_FLAT_FILTER_4X5X16], g, NULL))
            *variant = V_FLAT_FILTER_4X5X16; /* first layers with more channels */
        return;
    }
    if (pass == CLCNN__CONV2D_BACKWARD_DATA) {
        *algo = CLCNN_CONV_DIRECT;
        *variant = g->C <= 2 ? V_GATHER_1X16
                   : (g->W + g->stride_w - 1) / g->stride_w < 8 ? V_GATHER_4X8
                   : g->C <= 4                                   ? V_GATHER_4X16
                                                                 : V_GATHER_8X16;
        if (stride1 && g->C >= 32 && g->R * g->S <= 9 && (long long)g->H * g->W < 200 &&
            small_filter) {
            *algo = CLCNN_CONV_GEMM;
            *variant = V_FLIPPED_KVEC_2X10;
            return;
        }
        if ((long long)g->P * g->Q <= 16 && g->K >= 64 && g->C * g->R * g->S >= 128) {
            *algo = CLCNN_CONV_GEMM;
            *variant = V_COL2IM_8X32;
            return;
        }
        if (cpu && wino4_pays(g, g->K, g->C, g->H, g->W, 16)) {
            const long long tiles = (long long)g->N * ((g->H + 3) / 4) * ((g->W + 3) / 4);
            *algo = CLCNN_CONV_WINOGRAD;
            *variant = g->K <= 64                    ? V_FLIPPED_FUSED_WINO4_8X32
                       : tiles >= 32 && tiles < 96 ? V_FLIPPED_WINO4_8X32
                                                   : V_FLIPPED_WINO4_8X16;
            return;
        }
        if (cpu && g->K >= 64 && wino4_large_pays(g, g->K, g->C, g->H, g->W, 64)) {
            *algo = CLCNN_CONV_WINOGRAD;
            *variant = V_FLIPPED_WINO4_8X32;
            return;
        }
        if (one) {
            *algo = CLCNN_CONV_GEMM_1X1;
            *variant = wide_out ? V_FLIPPED_1X1_8X32 : V_FLIPPED_1X1_8X16;
            return;
        }
        if (cpu && clcnn__conv2d_tile_supports(ctx, &bwd_direct[V_PLANE_COL2IM], g, NULL)) {
            *variant = V_PLANE_COL2IM;
            return;
        }
        if (!stride1)
            return;
        if (g->C <= 2) {
            *variant = g->R >= 5 && g->dil_h == 1 ? V_FLIPPED_ROWS_1X4X16 : V_FLIPPED_DIRECT_1X16;
        } else if (cpu && (g->C == 5 || g->C == 6) &&
                   clcnn__conv2d_tile_supports(ctx, &bwd_direct[V_FLIPPED_PLANE_6X4X16], g,
                                               NULL)) {
            *variant = V_FLIPPED_PLANE_6X4X16;
        } else if (g->R * g->S >= 25 && g->C >= 64 && (long long)g->H * g->W <= 256 &&
                   small_filter) {
            *algo = CLCNN_CONV_GEMM;
            *variant = V_FLIPPED_KVEC_2X10;
        } else if (g->R * g->S >= 25 && g->C < 64 && g->K >= 64 && crs >= 128) {
            *algo = CLCNN_CONV_GEMM;
            *variant = V_COL2IM_8X32;
        } else if (g->C >= 64) {
            *algo = CLCNN_CONV_GEMM;
            *variant = wide_in ? V_FLIPPED_GEMM_8X32_KC512 : V_FLIPPED_GEMM_KC512;
        }
        return;
    }
    *algo = forced;
    if ((forced == CLCNN_CONV_AUTO || forced == CLCNN_CONV_DIRECT) && cpu && g->K >= 16 &&
        clcnn__conv2d_tile_supports(ctx, &fwd_direct[V_FLAT_8X16], g, NULL)) {
        *algo = CLCNN_CONV_DIRECT;
        *variant = V_FLAT_8X16;
        return;
    }
    if ((forced == CLCNN_CONV_AUTO || forced == CLCNN_CONV_WINOGRAD) && cpu &&
        (wino4_pays(g, g->C, g->K, g->P, g->Q, 32) ||
         (g->C >= 64 && wino4_large_pays(g, g->C, g->K, g->P, g->Q, 64)))) {
        const long long tiles = (long long)g->N * ((g->P + 3) / 4) * ((g->Q + 3) / 4);
        *algo = CLCNN_CONV_WINOGRAD;
        *variant = g->R == 3 && g->S == 3 && g->C <= 64 ? V_FUSED_WINO4_8X32
                   : tiles < 96                         ? V_WINO4_8X32
                                                        : V_WINO4_8X16;
        return;
    }
    if (*algo == CLCNN_CONV_AUTO) {
        if (one && stride1)
            *algo = CLCNN_CONV_GEMM_1X1;
        else if (crs < 200 && g->stride_w == 1)
            *algo = CLCNN_CONV_DIRECT;
        else
            *algo = CLCNN_CONV_GEMM;
    }
    if (*algo == CLCNN_CONV_DIRECT && cpu && g->K <= 32 &&
        clcnn__conv2d_tile_supports(ctx, &fwd_direct[V_PLANE_6X4X16], g, NULL))
        *variant = g->K <= 6 ? V_PLANE_6X4X16 : V_PLANE_8X2X16;
    else if (*algo == CLCNN_CONV_DIRECT)
        *variant = g->K > 4 ? V_DIRECT_8X16 : g->K > 2 ? V_DIRECT_4X8 : V_DIRECT_1X16;
    else if (*algo == CLCNN_CONV_GEMM && g->K >= 32 && (long long)g->P * g->Q <= 100 &&
             small_filter)
        *variant = V_KVEC_2X10;
    else if (*algo == CLCNN_CONV_GEMM)
        *variant = g->K <= 4 || (long long)g->P * g->Q <= 8 ? V_GEMM_4X8
                   : wide_out                                ? V_GEMM_8X32_KC512
                                                             : V_GEMM_8X16_KC512;
    else if (*algo == CLCNN_CONV_GEMM_1X1)
        *variant = g->K <= 4 ? V_1X1_4X8 : wide_out ? V_1X1_8X32 : V_1X1_8X16;
    else
        *variant = g->K > 4 ? 0 : 1;
}

/*
 * The GPU family's rule, from the shape alone (no GPU has measured it yet;
 * `clcnn tune` on a GPU replaces it per shape): 1x1 filters as one batched
 * product per image (any stride), 3x3 stride-1 layers with 32+ channels in
 * and out by Winograd F(2x2, 3x3) (2.25x fewer multiplications, products on
 * the tiled GEMM), everything else, and every backward-filter pass, as the
 * tiled implicit GEMM with the largest tile that still gives two work-groups
 * per compute unit. Returns 0 when forced names an algorithm without a GPU
 * variant that runs g.
 */
static int gpu_rule(const clcnn_context *ctx, const conv2d_geom *g, clcnn__conv2d_pass pass,
                    clcnn_conv_algo forced, clcnn_conv_algo *algo, int *variant)
{
    const int one = g->R == 1 && g->S == 1;
    const int wino = g->R == 3 && g->S == 3 && g->stride_h == 1 && g->stride_w == 1 &&
                     g->dil_h == 1 && g->dil_w == 1 && g->C >= 32 && g->K >= 32;
    long long M = g->K, N = (long long)g->N * g->P * g->Q; /* the product's output */
    if (pass == CLCNN__CONV2D_BACKWARD_DATA) {
        M = g->C;
        N = (long long)g->N * g->H * g->W;
    } else if (pass == CLCNN__CONV2D_BACKWARD_FILTER) {
        N = (long long)g->C * g->R * g->S;
    }
    const int cfg = clcnn__tiled_choose(ctx, M, N);
    clcnn_conv_algo tries[2] = {forced, CLCNN_CONV_GEMM};
    if (forced == CLCNN_CONV_AUTO)
        tries[0] = pass == CLCNN__CONV2D_BACKWARD_FILTER ? CLCNN_CONV_GEMM
                   : one                                 ? CLCNN_CONV_GEMM_1X1
                   : wino                                ? CLCNN_CONV_WINOGRAD
                                                         : CLCNN_CONV_GEMM;
    for (int i = 0; i < (forced == CLCNN_CONV_AUTO ? 2 : 1); i++) {
        int count = 0;
        const conv2d_tile *tiles = clcnn__conv2d_tiles(pass, tries[i], &count);
        for (int v = 0; v < count; v++) {
            const conv2d_tile *t = &tiles[v];
            if (t->gpu && (t->method != CONV2D_M_TILED || t->gpu == cfg + 1) &&
                clcnn__conv2d_tile_supports(ctx, t, g, NULL)) {
                *algo = tries[i];
                *variant = v;
                return 1;
            }
        }
    }
    return 0;
}

/* The context's family's rule on a supported choice; else the first
 * supported variant of the same algorithm, of the context's family first
 * (-1 when there is none). */
static void choose_geom(const clcnn_context *ctx, const conv2d_geom *g, clcnn__conv2d_pass pass,
                        clcnn_conv_algo forced, clcnn_conv_algo *algo, int *variant)
{
    if (ctx->gpu_kernels && gpu_rule(ctx, g, pass, forced, algo, variant))
        return;
    heuristic(ctx, g, pass, forced, algo, variant);
    const conv2d_tile *t = clcnn__conv2d_find_tile(pass, *algo, *variant);
    if (t && clcnn__conv2d_tile_supports(ctx, t, g, NULL))
        return;
    for (int any = 0; any < 2; any++)
        for (int v = 0; v < clcnn__conv2d_variant_count(pass, *algo); v++) {
            t = clcnn__conv2d_find_tile(pass, *algo, v);
            if ((any || !t->gpu == !ctx->gpu_kernels) &&
                clcnn__conv2d_tile_supports(ctx, t, g, NULL)) {
                *variant = v;
                return;
            }
        }
    /* a rule that named an algorithm without a variant for g: with the
     * choice the library's, any algorithm's first variant that runs it */
    for (int a = CLCNN_CONV_DIRECT; forced == CLCNN_CONV_AUTO && a < CLCNN_CONV_ALGO_COUNT; a++)
        for (int v = 0; v < clcnn__conv2d_variant_count(pass, (clcnn_conv_algo)a); v++)
            if (clcnn__conv2d_tile_supports(ctx, clcnn__conv2d_find_tile(pass, a, v), g, NULL)) {
                *algo = (clcnn_conv_algo)a;
                *variant = v;
                return;
            }
    *variant = -1;
}

void clcnn__conv2d_choose(const clcnn_context *ctx, clcnn__conv2d_pass pass, const int x_shape[4],
                          const int w_shape[4], const clcnn_conv2d_params *params,
                          clcnn_conv_algo *algo, int *variant)
{
    int y_shape[4] = {0, 0, 0, 0};
    clcnn_conv2d_output_shape(x_shape, w_shape, params, y_shape, NULL, 0);
    const conv2d_geom g = clcnn__conv2d_geom_of(x_shape, w_shape, y_shape, params);
    choose_geom(ctx, &g, pass, pass == CLCNN__CONV2D_FORWARD ? params->algo : CLCNN_CONV_AUTO,
                algo, variant);
}

/* ---- the tuning file ---- */

static const char *const tuning_op[CLCNN__CONV2D_PASS_COUNT] = {
    "conv2d.fwd", "conv2d.bwd_data", "conv2d.bwd_filter"};

void clcnn__conv2d_tuning_key(const int x_shape[4], const int w_shape[4],
                              const clcnn_conv2d_params *p, char *buf, size_t size)
{
    if (!buf || size == 0) return;
    snprintf(buf, size, "x%dx%dx%dx%d-w%dx%dx%dx%d-pad%d,%d,%d,%d-str%d,%d-dil%d,%d",
             x_shape[0], x_shape[1], x_shape[2], x_shape[3], w_shape[0], w_shape[1], w_shape[2],
             w_shape[3], p->pad_top, p->pad_bottom, p->pad_left, p->pad_right,
             p->stride_h ? p->stride_h : 1, p->stride_w ? p->stride_w : 1,
             p->dilation_h ? p->dilation_h : 1, p->dilation_w ? p->dilation_w : 1);
}

/* The tuning file's choice when it has one that exists, runs g and (for a
 * forced forward algorithm) is of that algorithm; else the rule's. */
void clcnn__conv2d_select_geom(clcnn_context *ctx, const conv2d_geom *g, clcnn__conv2d_pass pass,
                               const int x_shape[4], const int w_shape[4],
                               const clcnn_conv2d_params *params, clcnn_conv_algo forced,
                               clcnn_conv_algo *algo, int *variant)
{
    char key[160];
    int a = 0, v = 0;
    clcnn__conv2d_tuning_key(x_shape, w_shape, params, key, sizeof key);
    if (clcnn__tuning_lookup(ctx, tuning_op[pass], key, &a, &v) && a > CLCNN_CONV_AUTO &&
        a < CLCNN_CONV_ALGO_COUNT && (forced == CLCNN_CONV_AUTO || (int)forced == a)) {
        const conv2d_tile *t = clcnn__conv2d_find_tile(pass, (clcnn_conv_algo)a, v);
        /* an entry of the other kernel family is not this context's choice */
        if (t && !t->gpu == !ctx->gpu_kernels && clcnn__conv2d_tile_supports(ctx, t, g, NULL)) {
            *algo = (clcnn_conv_algo)a;
            *variant = v;
            return;
        }
    }
    choose_geom(ctx, g, pass, forced, algo, variant);
}

void clcnn__conv2d_select(clcnn_context *ctx, clcnn__conv2d_pass pass, const int x_shape[4],
                          const int w_shape[4], const clcnn_conv2d_params *params,
                          clcnn_conv_algo *algo, int *variant)
{
    int y_shape[4] = {0, 0, 0, 0};
    clcnn_conv2d_output_shape(x_shape, w_shape, params, y_shape, NULL, 0);
    const conv2d_geom g = clcnn__conv2d_geom_of(x_shape, w_shape, y_shape, params);
    clcnn__conv2d_select_geom(ctx, &g, pass, x_shape, w_shape, params,
                pass == CLCNN__CONV2D_FORWARD ? params->algo : CLCNN_CONV_AUTO, algo, variant);
}
