/*
 * Internal side of the conv2d op family: every (algorithm, tile variant) the
 * ops can run, so that tests, benchmarks and `clcnn tune` can force each one
 * regardless of the AUTO choice; the tuning key; the fused forward epilogue.
 */
#ifndef CLCNN_CONV2D_H
#define CLCNN_CONV2D_H

#include "runtime.h"

typedef enum clcnn__conv2d_pass {
    CLCNN__CONV2D_FORWARD = 0,
    CLCNN__CONV2D_BACKWARD_DATA = 1,
    CLCNN__CONV2D_BACKWARD_FILTER = 2,
    CLCNN__CONV2D_PASS_COUNT
} clcnn__conv2d_pass;

/*
 * Enumerating and forcing variants (tests, bench_conv2d, `clcnn tune`): for
 * each pass, each algo from CLCNN_CONV_DIRECT to CLCNN_CONV_ALGO_COUNT - 1 and
 * each variant below clcnn__conv2d_variant_count(pass, algo) (0 when the pass
 * has no such algorithm), clcnn__conv2d_variant_supported says whether it runs
 * a shape, and the *_variant ops below with params->algo = algo run it. The
 * tuning file stores (algo, variant) per pass under
 * clcnn__conv2d_tuning_key; op names "conv2d.fwd", "conv2d.bwd_data",
 * "conv2d.bwd_filter".
 *
 * Algorithms per pass:
 *   forward          DIRECT (any geometry), GEMM (any), WINOGRAD (3x3, stride
 *                    1, dilation 1), GEMM_1X1 (1x1 filters, any stride)
 *   backward-data    DIRECT: gather variants (any), flipped-filter direct
 *                    variants (stride 1); GEMM: flipped-filter implicit GEMM
 *                    (stride 1); WINOGRAD: flipped (3x3, stride 1, dilation
 *                    1); GEMM_1X1: flipped (1x1, any stride)
 *   backward-filter  GEMM (any): rows and panel kernels
 *
 * Scratch: some variants allocate device buffers per call and release them
 * once their kernels are enqueued: Winograd 16 * (C*T + K*T + K*C) floats (T
 * = N * ceil(P/2) * ceil(Q/2) tiles; F(4x4, 3x3): 36 * (...), T = N *
 * ceil(P/4) * ceil(Q/4)), the explicit im2col / col2im GEMM
 * C*R*S * N*P*Q floats and a copy of y or dy, the flipped variants and the
 * gather a copy of w, strided 1x1 variants a resampled copy of x or dx, and
 * backward-filter's split reduction splits * (K*C*R*S + K) floats.
 */

/* "auto", "direct", "gemm", "winograd", "gemm_1x1"; "?" out of range. */
const char *clcnn__conv2d_algo_name(clcnn_conv_algo algo);

/* How many tile variants pass runs with algo (0 for AUTO, for an algorithm
 * the pass does not have, or for values out of range). */
int clcnn__conv2d_variant_count(clcnn__conv2d_pass pass, clcnn_conv_algo algo);

/* A short name of the variant, e.g. "gemm 8x16 kc256"; "?" when out of range.
 * Static string. */
const char *clcnn__conv2d_variant_name(clcnn__conv2d_pass pass, clcnn_conv_algo algo,
                                       int variant);

/* 1 when the variant is of the GPU kernel family (kernels/gemm_tiled.cl), 0
 * when of the CPU family or out of range. */
int clcnn__conv2d_variant_is_gpu(clcnn__conv2d_pass pass, clcnn_conv_algo algo, int variant);

/* 1 when (pass, algo, variant) exists and runs these shapes on ctx's device
 * (some need stride 1, a 3x3 filter, enough local memory...), 0 otherwise,
 * including for shapes clcnn_conv2d_output_shape rejects. */
int clcnn__conv2d_variant_supported(const clcnn_context *ctx, clcnn__conv2d_pass pass,
                                    clcnn_conv_algo algo, int variant, const int x_shape[4],
                                    const int w_shape[4], const clcnn_conv2d_params *params);

/* The algorithm and variant the built-in rule picks for these shapes on ctx's
 * device (forward: of params->algo unless it is AUTO; backward passes ignore
 * params->algo), always one that runs them, except for a forward algorithm
 * that cannot run them at all (then *variant is -1). The shapes must already
 * be valid. */
void clcnn__conv2d_choose(const clcnn_context *ctx, clcnn__conv2d_pass pass,
                          const int x_shape[4], const int w_shape[4],
                          const clcnn_conv2d_params *params, clcnn_conv_algo *algo,
                          int *variant);

/* What the ops run when not forced: the tuning file's entry for the shape
 * when it has one that applies (exists, runs the shapes and, for a forward
 * pass with params->algo set, is of that algorithm), else
 * clcnn__conv2d_choose. */
void clcnn__conv2d_select(clcnn_context *ctx, clcnn__conv2d_pass pass, const int x_shape[4],
                          const int w_shape[4], const clcnn_conv2d_params *params,
                          clcnn_conv_algo *algo, int *variant);

/* A stable text key of the shapes and geometry (strides and dilations of 0
 * written as 1), without white space, for the tuning file:
 * "x8x64x56x56-w64x64x3x3-pad1,1,1,1-str1,1-dil1,1". buf receives at most
 * size bytes, NUL-terminated (160 always suffice). */
void clcnn__conv2d_tuning_key(const int x_shape[4], const int w_shape[4],
                              const clcnn_conv2d_params *p, char *buf, size_t size);

/*
 * The public ops with the variant forced: variant -1 is exactly the public
 * call (the forward pass honours params->algo, the backward passes choose
 * for themselves); variant >= 0 runs that variant of params->algo, which must
 * then not be AUTO (CLCNN_ERR_INVALID_ARGUMENT), for any pass. A variant out
 * of range is CLCNN_ERR_INVALID_ARGUMENT; one that cannot run the shapes is
 * CLCNN_ERR_UNSUPPORTED, with a message saying why.
 */
clcnn_status clcnn__conv2d_forward_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                           const clcnn_tensor *w, const clcnn_tensor *b,
                                           clcnn_tensor *y, const clcnn_conv2d_params *params,
                                           int variant);
clcnn_status clcnn__conv2d_backward_data_variant(clcnn_context *ctx, const clcnn_tensor *dy,
                                                 const clcnn_tensor *w, clcnn_tensor *dx,
                                                 const clcnn_conv2d_params *params,
                                                 int variant);
clcnn_status clcnn__conv2d_backward_filter_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                                   const clcnn_tensor *dy, clcnn_tensor *dw,
                                                   clcnn_tensor *db,
                                                   const clcnn_conv2d_params *params,
                                                   int variant);

/*
 * The forward pass with its epilogue fused: y = conv(x, w) + b (b may be
 * NULL), then, when relu is 1, y = y > 0 ? y : 0 (as the ReLU activation
 * computes it) in the same kernel, so a conv + ReLU layer writes y once.
 * relu must be 0 or 1 (else CLCNN_ERR_INVALID_ARGUMENT). Every forward
 * algorithm supports it; params->algo chooses as in clcnn_conv2d_forward, and
 * the _variant form forces a variant as clcnn__conv2d_forward_variant does.
 */
clcnn_status clcnn__conv2d_forward_act(clcnn_context *ctx, const clcnn_tensor *x,
                                       const clcnn_tensor *w, const clcnn_tensor *b,
                                       clcnn_tensor *y, const clcnn_conv2d_params *p, int relu);
clcnn_status clcnn__conv2d_forward_act_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                               const clcnn_tensor *w, const clcnn_tensor *b,
                                               clcnn_tensor *y,
                                               const clcnn_conv2d_params *params, int relu,
                                               int variant);

#endif /* CLCNN_CONV2D_H */
