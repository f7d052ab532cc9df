/*
 * Private to host/ops/conv2d*.c: the geometry every conv2d kernel receives,
 * the table of algorithms and tile variants, and the launchers that run one
 * variant on device buffers. conv2d.c checks arguments and chooses;
 * conv2d_run.c enqueues kernels.
 */
#ifndef CLCNN_CONV2D_IMPL_H
#define CLCNN_CONV2D_IMPL_H

#include "conv2d.h"

/* The geometry every kernel receives, in this order (GEOM_ARGS). */
typedef struct conv2d_geom {
    int N, C, H, W, K, R, S, P, Q;
    int pad_top, pad_left, stride_h, stride_w, dil_h, dil_w;
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
    CONV2D_M_PANEL    /* kernels/conv2d_bwd_panel.cl: TM x TN block, KC panel pixels */
} conv2d_method;

/* One tile variant. Backward-data variants marked flipped run the forward
 * method on dy with the flipped, transposed filter (stride 1 only). */
typedef struct conv2d_tile {
    const char *name;
    conv2d_method method;
    int flipped;
    int a, b, c; /* block sizes in the order of the method's comment */
} conv2d_tile;

/* The variants of (pass, algo); NULL with *count 0 when there are none. */
const conv2d_tile *clcnn__conv2d_tiles(clcnn__conv2d_pass pass, clcnn_conv_algo algo,
                                       int *count);

/* Whether tile t runs geometry g on ctx's device; when not and why is not
 * NULL, a short reason ("needs stride 1") goes there. */
int clcnn__conv2d_tile_supports(const clcnn_context *ctx, const conv2d_tile *t,
                                const conv2d_geom *g, const char **why);

/* The launchers: enqueue one pass with tile t on checked geometry g.
 * epilogue: bit 0 adds b, bit 1 applies ReLU. */
clcnn_status clcnn__conv2d_run_forward(clcnn_context *ctx, const conv2d_tile *t,
                                       conv2d_buf x, conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                       const conv2d_geom *g, int epilogue);
clcnn_status clcnn__conv2d_run_backward_data(clcnn_context *ctx, const conv2d_tile *t,
                                             conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                             const conv2d_geom *g);
clcnn_status clcnn__conv2d_run_backward_filter(clcnn_context *ctx, const conv2d_tile *t,
                                               conv2d_buf x, conv2d_buf dy, conv2d_buf dw,
                                               conv2d_buf db, const conv2d_geom *g);

#endif /* CLCNN_CONV2D_IMPL_H */
