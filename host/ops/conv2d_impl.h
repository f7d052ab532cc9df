/*
 * Private to host/ops/conv2d*.c: the geometry every conv2d kernel receives,
 * the table of algorithms and tile variants, and the launchers that run one
 * variant on device buffers. conv2d.c checks the arguments and dispatches,
 * conv2d_choose.c chooses, one file per algorithm enqueues its kernels, and
 * conv2d_launch.c holds what those share.
 */
#ifndef CLCNN_CONV2D_IMPL_H
#define CLCNN_CONV2D_IMPL_H

#include "conv2d.h"

/* The geometry every kernel receives, in this order (GEOM_ARGS). With G > 1
 * groups, C and K are those of one group (the algorithms run group by group,
 * conv2d_group.c); G is not a kernel argument, and 0 means 1. */
typedef struct conv2d_geom {
    int N, C, H, W, K, R, S, P, Q;
    int pad_top, pad_left, stride_h, stride_w, dil_h, dil_w;
    int G;
} conv2d_geom;

#define GEOM_ARGS(g)                                                                           \
    CLCNN__ARG_INT((g).N), CLCNN__ARG_INT((g).C), CLCNN__ARG_INT((g).H),                       \
        CLCNN__ARG_INT((g).W), CLCNN__ARG_INT((g).K), CLCNN__ARG_INT((g).R),                   \
        CLCNN__ARG_INT((g).S), CLCNN__ARG_INT((g).P), CLCNN__ARG_INT((g).Q),                   \
        CLCNN__ARG_INT((g).pad_top), CLCNN__ARG_INT((g).pad_left),                             \
        CLCNN__ARG_INT((g).stride_h), CLCNN__ARG_INT((g).stride_w),                            \
        CLCNN__ARG_INT((g).dil_h), CLCNN__ARG_INT((g).dil_w)

/* A device operand: a buffer and an element offset into it (mem NULL: absent). */
typedef struct conv2d_buf {
    cl_mem mem;
    int off;
} conv2d_buf;

/* How a variant computes its pass. */
typedef enum conv2d_method {
    CONV2D_M_DIRECT,  /* kernels/conv2d.cl: KB x QB register block */
    CONV2D_M_GEMM,    /* kernels/conv2d_gemm.cl: TM x TN block, KC panel rows */
    CONV2D_M_GATHER,  /* kernels/conv2d_bwd_data.cl: CB x WB block */
    CONV2D_M_FILTER,  /* kernels/conv2d_bwd_filter.cl: TM x TJ x QV block */
    CONV2D_M_PANEL,   /* kernels/conv2d_bwd_panel.cl: TM x TN block, KC panel pixels */
    CONV2D_M_1X1,     /* kernels/conv2d_1x1.cl: TM x TN block of a plain GEMM */
    CONV2D_M_WINO,    /* kernels/conv2d_winograd.cl + conv2d_1x1.cl: TM x TN block */
    CONV2D_M_WINO_FUSED, /* kernels/conv2d_winograd4.cl: F(4x4) products and output
                          * transform in one kernel, TM x TN block (CPUs) */
    CONV2D_M_IM2COL,  /* kernels/conv2d_1x1.cl: explicit im2col (forward) or col2im
                       * (backward-data) around one product, TM x TN block */
    CONV2D_M_PLANE,   /* kernels/conv2d_plane.cl: KB x PB x QB block, whole planes */
    CONV2D_M_PLANE_COL2IM, /* kernels/conv2d_plane.cl: backward-data of whole images in
                            * private memory, QB columns */
    CONV2D_M_FLAT,         /* kernels/conv2d_plane.cl: forward over an image's im2col
                            * matrix in private memory, KB channels x QB pixels */
    CONV2D_M_FLAT_FILTER,  /* kernels/conv2d_plane.cl: backward-filter over an image's
                            * im2col matrix, TM x TJ x QB block */
    CONV2D_M_KVEC,         /* kernels/conv2d_kvec.cl: KV vectors of 16 output channels x
                            * PT pixels */
    CONV2D_M_TILED         /* kernels/gemm_tiled.cl: the GPU family's implicit GEMM of
                            * every pass, a tiled configuration (gemm_tiled.c) */
} conv2d_method;

/* The private copy of one image that conv2d_bwd_data_plane holds, and the
 * rows of shifted input of the flat forward and backward-filter kernels, in
 * floats (PLANE_FLOATS and FLAT_FLOATS in kernels/conv2d_plane.cl). */
#define CONV2D_PLANE_FLOATS 8192
#define CONV2D_FLAT_FLOATS 49152

/* One tile variant. Backward-data variants marked flipped run the forward
 * method on dy with the flipped, transposed filter (stride 1 only). */
typedef struct conv2d_tile {
    const char *name;
    conv2d_method method;
    int flipped;
    int a, b, c; /* block sizes in the order of the method's comment */
    int gpu;     /* the GPU family: 1 + its tiled configuration (the product
                  * of a TILED, WINO or 1X1 variant); 0: the CPU family */
} conv2d_tile;

/* ---- conv2d_shape.c, conv2d_choose.c ---- */

#define CONV2D_COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The kernel geometry of shapes that passed clcnn_conv2d_output_shape. */
conv2d_geom clcnn__conv2d_geom_of(const int x_shape[4], const int w_shape[4],
                                  const int y_shape[4], const clcnn_conv2d_params *params);

/* The variants of (pass, algo); NULL with *count 0 when there are none. */
const conv2d_tile *clcnn__conv2d_tiles(clcnn__conv2d_pass pass, clcnn_conv_algo algo,
                                       int *count);

/* Variant `variant` of (pass, algo), or NULL when there is no such variant. */
const conv2d_tile *clcnn__conv2d_find_tile(clcnn__conv2d_pass pass, clcnn_conv_algo algo,
                                           int variant);

/* Whether tile t runs geometry g on ctx's device; when not and why is not
 * NULL, a short reason ("needs stride 1") goes there. */
int clcnn__conv2d_tile_supports(const clcnn_context *ctx, const conv2d_tile *t,
                                const conv2d_geom *g, const char **why);

/* clcnn__conv2d_select on a geometry already made; forced is the algorithm
 * the caller asked for (AUTO: any). *variant is -1 when forced has none
 * that runs g. */
void clcnn__conv2d_select_geom(clcnn_context *ctx, const conv2d_geom *g,
                               clcnn__conv2d_pass pass, const int x_shape[4],
                               const int w_shape[4], const clcnn_conv2d_params *params,
                               clcnn_conv_algo forced, clcnn_conv_algo *algo, int *variant);

/* ---- shared by the algorithms' launchers (conv2d_launch.c) ---- */

static inline size_t conv2d_ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* The private floats of the flat kernels' rows of shifted input for
 * channels input channels: S rows each, each row (P+R-1)*Q pixels rounded up
 * to vectors of qb, and one vector for its spill (SS in
 * kernels/conv2d_plane.cl). */
static inline size_t conv2d_flat_floats(const conv2d_geom *g, int channels, int qb)
{
    const size_t pixels = (size_t)(g->P + g->R - 1) * g->Q;
    return (size_t)channels * g->S * (conv2d_ceil_div(pixels, (size_t)qb) * qb + qb);
}

/* The input channels that taps consecutive taps (c, r, s) can touch. */
static inline int conv2d_flat_channels(const conv2d_geom *g, int taps)
{
    const int spanned = (taps - 1) / (g->R * g->S) + 2;
    return spanned < g->C ? spanned : g->C;
}

/* The 3x3 sub-filters Winograd F(4x4, 3x3) cuts g's R x S filter into
 * (kernels/conv2d_winograd4.cl). */
static inline int conv2d_wino4_subfilters(const conv2d_geom *g)
{
    return ((g->R + 2) / 3) * ((g->S + 2) / 3);
}

/* The channels F(4x4)'s fused products keep in private memory at most
 * (FUSED_KMAX in kernels/conv2d_winograd4.cl). */
#define CONV2D_WINO4_FUSED_KMAX 32

/* A device operand for tensor t (NULL: absent). */
static inline conv2d_buf conv2d_tensor_buf(const clcnn_tensor *t)
{
    return t ? (conv2d_buf){t->mem, (int)t->offset} : (conv2d_buf){NULL, 0};
}

/* The local size for kernels that allow any: one on a CPU, where PoCL runs a
 * work-group of one as straight-line code; NULL (the driver's choice) on a GPU. */
const size_t *clcnn__conv2d_local_size(const clcnn_context *ctx);

/* A scratch tensor of count floats; CLCNN_ERR_UNSUPPORTED above INT_MAX. */
clcnn_status clcnn__conv2d_scratch(clcnn_context *ctx, size_t count, clcnn_tensor **t);

/* A 1-D launch over count items in groups of up to 64. */
void clcnn__conv2d_size_1d(const clcnn_context *ctx, size_t count, size_t *global,
                           size_t *local);

/* The device's compute units (at least 1). */
size_t clcnn__conv2d_compute_units(const clcnn_context *ctx);

/* Launches a 1-D kernel of conv2d_1x1.cl that resamples (N*C planes) between
 * H x W and P x Q with the strides: "conv2d_subsample" or "conv2d_upsample". */
clcnn_status clcnn__conv2d_resample(clcnn_context *ctx, const char *kernel, conv2d_buf src,
                                    conv2d_buf dst, int planes, const conv2d_geom *g);

/* ---- the algorithms: each enqueues one pass with tile t on checked
 * geometry g; epilogue: bit 0 adds b (b.mem is never NULL: conv2d.c passes
 * a stand-in), bit 1 applies ReLU ---- */

#define CONV2D_FORWARD_ARGS                                                                    \
    clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x, conv2d_buf w, conv2d_buf b,        \
        conv2d_buf y, const conv2d_geom *g, int epilogue

/* conv2d_direct.c, conv2d_gemm.c, conv2d_kvec.c, conv2d_plane.c */
clcnn_status clcnn__conv2d_forward_direct(CONV2D_FORWARD_ARGS);
clcnn_status clcnn__conv2d_forward_gemm(CONV2D_FORWARD_ARGS);
clcnn_status clcnn__conv2d_forward_kvec(CONV2D_FORWARD_ARGS);
clcnn_status clcnn__conv2d_forward_plane(CONV2D_FORWARD_ARGS);
clcnn_status clcnn__conv2d_forward_flat(CONV2D_FORWARD_ARGS);
clcnn_status clcnn__conv2d_backward_data_plane(clcnn_context *ctx, const conv2d_tile *t,
                                               conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                               const conv2d_geom *g);

/* conv2d_bwd_data.c: the gather, and the filter w (K,C,R,S) rewritten by
 * kernel `name` of conv2d_bwd_data.cl into a new scratch tensor *out
 * (conv2d_flip_filter: (C,K,R,S) flipped; conv2d_pack_rskc: (R,S,K,C)). */
clcnn_status clcnn__conv2d_backward_data_gather(clcnn_context *ctx, const conv2d_tile *t,
                                                conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                                const conv2d_geom *g);
clcnn_status clcnn__conv2d_repack_filter(clcnn_context *ctx, const char *name, conv2d_buf w,
                                         const conv2d_geom *g, clcnn_tensor **out);

/* conv2d_group.c: grouped convolution (g->G > 1) and depthwise convolution
 * (one input channel per group, its own kernels). clcnn__conv2d_grouped runs
 * tile t of pass group by group through `run` (conv2d.c's dispatch of one
 * pass on one group), on contiguous copies of each group's channels where
 * the batch has several images. ops are the pass's four operands on the full
 * tensors in the order forward (x, w, b, y), backward-data (dy, w, -, dx),
 * backward-filter (x, dy, dw, db); absent ones have mem NULL. */
typedef clcnn_status (*conv2d_group_run)(clcnn_context *ctx, const conv2d_tile *t,
                                         const conv2d_buf *ops, const conv2d_geom *g,
                                         int epilogue);
clcnn_status clcnn__conv2d_grouped(clcnn_context *ctx, clcnn__conv2d_pass pass,
                                   const conv2d_tile *t, conv2d_group_run run,
                                   const conv2d_buf ops[4], const conv2d_geom *g, int epilogue);
/* Whether g is depthwise: several groups of one input channel each. */
static inline int conv2d_is_depthwise(const conv2d_geom *g)
{
    return g->G > 1 && g->C == 1;
}
clcnn_status clcnn__conv2d_forward_depthwise(CONV2D_FORWARD_ARGS);
clcnn_status clcnn__conv2d_backward_data_depthwise(clcnn_context *ctx, conv2d_buf dy,
                                                   conv2d_buf w, conv2d_buf dx,
                                                   const conv2d_geom *g);
clcnn_status clcnn__conv2d_backward_filter_depthwise(clcnn_context *ctx, conv2d_buf x,
                                                     conv2d_buf dy, conv2d_buf dw,
                                                     conv2d_buf db, const conv2d_geom *g);

/* conv2d_bwd_filter.c: rows, panel and flat variants. */
clcnn_status clcnn__conv2d_backward_filter_run(clcnn_context *ctx, const conv2d_tile *t,
                                               conv2d_buf x, conv2d_buf dy, conv2d_buf dw,
                                               conv2d_buf db, const conv2d_geom *g);

/* conv2d_tiled.c: the GPU family's implicit GEMMs (t->gpu set) */
clcnn_status clcnn__conv2d_forward_tiled(CONV2D_FORWARD_ARGS);
clcnn_status clcnn__conv2d_backward_data_tiled(clcnn_context *ctx, const conv2d_tile *t,
                                               conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                               const conv2d_geom *g);
clcnn_status clcnn__conv2d_backward_filter_tiled(clcnn_context *ctx, const conv2d_tile *t,
                                                 conv2d_buf x, conv2d_buf dy, conv2d_buf dw,
                                                 conv2d_buf db, const conv2d_geom *g);

/* conv2d_1x1.c: out[b] (M x L) = a[b] (M x C) * in[b] (C x L) (+ bias, ReLU per epilogue) for
 * b < batches, with tile t's TM x TN block (or its tiled configuration); strides in elements between the
 * batches (a_stride 0: one matrix for all); a_trans: a[b] is stored as its
 * transpose (C x M). */
clcnn_status clcnn__conv2d_batched_gemm(clcnn_context *ctx, const conv2d_tile *t,
                                        conv2d_buf in, size_t in_stride, conv2d_buf a,
                                        size_t a_stride, int a_trans, conv2d_buf bias,
                                        int epilogue, conv2d_buf out, size_t out_stride,
                                        int batches, int M, int C, int L);

/* the 1x1 GEMM (R = S = 1, any stride) */
clcnn_status clcnn__conv2d_forward_1x1(CONV2D_FORWARD_ARGS);

/* conv2d_winograd.c: F(2x2, 3x3) (3x3 filters) and F(4x4, 3x3) (3x3 to 12x12
 * filters as 3x3 sub-filters), stride 1, dilation 1; backward-filter by
 * F(4x4, 3x3) only */
clcnn_status clcnn__conv2d_forward_winograd(CONV2D_FORWARD_ARGS);
clcnn_status clcnn__conv2d_backward_filter_winograd(clcnn_context *ctx, const conv2d_tile *t,
                                                    conv2d_buf x, conv2d_buf dy, conv2d_buf dw,
                                                    conv2d_buf db, const conv2d_geom *g);

/* conv2d_im2col.c, the explicit GEMM forms: y from a product over im2col(x),
 * dx by col2im from a product of the transposed filter and dy. */
clcnn_status clcnn__conv2d_forward_im2col(CONV2D_FORWARD_ARGS);
clcnn_status clcnn__conv2d_backward_col2im(clcnn_context *ctx, const conv2d_tile *t,
                                           conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                           const conv2d_geom *g);

#endif /* CLCNN_CONV2D_IMPL_H */
