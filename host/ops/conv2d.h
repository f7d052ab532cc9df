/*
 * Internal side of the conv2d op family: every (algorithm, tile variant) the
 * ops can run, so that tests and benchmarks can force each one regardless of
 * the AUTO heuristic.
 */
#ifndef CLCNN_CONV2D_H
#define CLCNN_CONV2D_H

#include "runtime.h"

typedef enum clcnn__conv2d_pass {
    CLCNN__CONV2D_FORWARD = 0,
    CLCNN__CONV2D_BACKWARD_DATA = 1,   /* one algorithm: the gather form, listed as DIRECT */
    CLCNN__CONV2D_BACKWARD_FILTER = 2, /* one algorithm: a GEMM, listed as GEMM */
    CLCNN__CONV2D_PASS_COUNT
} clcnn__conv2d_pass;

/* How many tile variants pass runs with algo (0 for AUTO, for an algorithm
 * the pass does not have, or for values out of range). */
int clcnn__conv2d_variant_count(clcnn__conv2d_pass pass, clcnn_conv_algo algo);

/* A short name of the variant, e.g. "gemm 8x16 kc256"; "?" when out of range.
 * Static string. */
const char *clcnn__conv2d_variant_name(clcnn__conv2d_pass pass, clcnn_conv_algo algo,
                                       int variant);

/* The algorithm and variant the ops choose for these shapes on ctx's device
 * when params->algo is AUTO (forward) or always (backward). The shapes must
 * already be valid. */
void clcnn__conv2d_choose(const clcnn_context *ctx, clcnn__conv2d_pass pass,
                          const int x_shape[4], const int w_shape[4],
                          const clcnn_conv2d_params *params, clcnn_conv_algo *algo,
                          int *variant);

/*
 * The public ops with the tile variant forced: variant -1 lets the op choose
 * (exactly the public call); variant >= 0 selects one of
 * clcnn__conv2d_variant_count(pass, algo), where algo is params->algo for the
 * forward pass (then DIRECT or GEMM, not AUTO) and the pass's only algorithm
 * for the backward passes. Returns CLCNN_ERR_INVALID_ARGUMENT for a variant
 * out of range.
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
