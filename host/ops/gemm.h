/*
 * Internal GEMM of clcnn (kernels/gemm.cl) and the helpers the op files
 * share. Dense layers are built on clcnn__gemm; the convolution's GEMM paths
 * may use it too. Matrices are row-major views into tensors: an element
 * offset from the tensor's own offset and a leading dimension (row stride).
 */
#ifndef CLCNN_GEMM_H
#define CLCNN_GEMM_H

#include "runtime.h"

/* Where clcnn__gemm adds its optional bias vector. */
typedef enum clcnn__gemm_bias {
    CLCNN__GEMM_BIAS_NONE = 0,
    CLCNN__GEMM_BIAS_COL = 1, /* C[i][j] += bias[j], bias has N elements */
    CLCNN__GEMM_BIAS_ROW = 2  /* C[i][j] += bias[i], bias has M elements */
} clcnn__gemm_bias;

/*
 * C = alpha * op(A) op(B) + beta * C (+ bias), op(A) (M,K), op(B) (K,N),
 * C (M,N). A is stored (M,K) with row stride lda, or (K,M) when trans_a;
 * B is stored (K,N) with ldb, or (N,K) when trans_b. With beta == 0, C is
 * only written (never read), so it may hold garbage; beta == 1 accumulates.
 * C must not overlap A, B, bias or mask.
 * The epilogue can fuse a ReLU's forward or backward pass into the same
 * launch: relu != 0 makes each result r into r > 0 ? r : 0, and a mask
 * (an (M,N) matrix with row stride ldm) makes it r where mask > 0, else 0.
 */
typedef struct clcnn__gemm_desc {
    int trans_a, trans_b;
    int M, N, K;
    float alpha, beta;
    const clcnn_tensor *a;
    size_t a_off;
    int lda;
    const clcnn_tensor *b;
    size_t b_off;
    int ldb;
    clcnn_tensor *c;
    size_t c_off;
    int ldc;
    const clcnn_tensor *bias; /* only read when bias_mode != NONE */
    size_t bias_off;
    clcnn__gemm_bias bias_mode;
    int relu;
    const clcnn_tensor *mask; /* NULL: none */
    size_t mask_off;
    int ldm;
} clcnn__gemm_desc;

/* Let clcnn__gemm_variant choose the tile variant. */
#define CLCNN__GEMM_AUTO (-1)

/* The tile variants (register block sizes and work-group shapes) that the
 * kernel is built with; every one computes the same result. */
int clcnn__gemm_variant_count(void);
/* "4x8" and so on; NULL outside [0, count). */
const char *clcnn__gemm_variant_name(int variant);
/* The variant clcnn__gemm uses for these transposes and sizes on ctx's
 * device. */
int clcnn__gemm_choose(const clcnn_context *ctx, int trans_a, int trans_b, int M, int N, int K);

/* Enqueues the GEMM with the chosen variant. Returns
 * CLCNN_ERR_INVALID_ARGUMENT or CLCNN_ERR_SHAPE for a bad descriptor (the
 * message names the operand), or an OpenCL/build status. */
clcnn_status clcnn__gemm(clcnn_context *ctx, const clcnn__gemm_desc *d);
/* The same with the variant forced (CLCNN__GEMM_AUTO: choose), so that tests
 * run every variant. */
clcnn_status clcnn__gemm_variant(clcnn_context *ctx, const clcnn__gemm_desc *d, int variant);

/* ---- the GPU family's tiled product (gemm_tiled.c, kernels/gemm_tiled.cl) ---- */

/* A tile configuration: BM x BN outputs per work-group from BK-deep stages
 * in local memory, RM x RN per work-item. */
typedef struct clcnn__tiled_config {
    const char *name;
    int bm, bn, bk, rm, rn;
} clcnn__tiled_config;

int clcnn__tiled_config_count(void);
/* NULL outside [0, count). */
const clcnn__tiled_config *clcnn__tiled_config_at(int index);

/* Whether c's work-group and local memory fit ctx's device; when not and why
 * is not NULL, a short reason goes there. */
int clcnn__tiled_fits(const clcnn_context *ctx, const clcnn__tiled_config *c, const char **why);

/* The configuration for an M x N product on ctx's device: of those that fit,
 * the largest tile that gives two work-groups per compute unit with at most
 * half of its outputs in the edge padding, else the least padded; -1 when
 * none fits. */
int clcnn__tiled_choose(const clcnn_context *ctx, long long M, long long N);

/* The gemm_tiled kernel of mode 0-3 built for c, and its local size; fails
 * with CLCNN_ERR_UNSUPPORTED (never launching) when c does not fit the device
 * or the compiled kernel's CL_KERNEL_WORK_GROUP_SIZE. */
clcnn_status clcnn__tiled_kernel(clcnn_context *ctx, const clcnn__tiled_config *c, int mode,
                                 int trans_a, int trans_b, cl_kernel *k, size_t local[3]);

/* C[z] = alpha op(A[z]) op(B[z]) + beta C[z] (+ bias, ReLU, mask as in
 * clcnn__gemm_desc; epilogue bit 0 ReLU, bit 1 mask) for z < batches, on
 * buffers and element offsets already checked; *_stride: elements between
 * batches. */
typedef struct clcnn__tiled_product {
    int M, N, K, batches;
    int trans_a, trans_b;
    float alpha, beta;
    cl_mem a, b, c, bias, mask; /* bias, mask NULL: none */
    int a_off, lda, a_stride, b_off, ldb, b_stride, c_off, ldc, c_stride;
    int bias_off, bias_mode, epilogue, mask_off, ldm;
} clcnn__tiled_product;

clcnn_status clcnn__tiled_gemm(clcnn_context *ctx, const clcnn__tiled_config *c,
                               const clcnn__tiled_product *p);

/* out[j] = beta * out[j] + sum_i A[i][j] for an (M,N) matrix A with row
 * stride lda at a_off in a; beta 0 or 1 as for clcnn__gemm. */
clcnn_status clcnn__gemm_colsum(clcnn_context *ctx, int M, int N, const clcnn_tensor *a,
                                size_t a_off, int lda, float beta, clcnn_tensor *out,
                                size_t out_off);

/*
 * Pure shape check of the dense ops: x_shape (N,C,H,W) read as N rows of
 * F = C*H*W features, w_shape (K,F,1,1) -> y_shape (N,K,1,1). Returns
 * CLCNN_ERR_INVALID_ARGUMENT for a NULL pointer, CLCNN_ERR_SHAPE when the
 * shapes do not fit; message (may be NULL) receives the reason.
 */
clcnn_status clcnn__dense_output_shape(const int x_shape[4], const int w_shape[4],
                                       int y_shape[4], char *message, size_t message_size);

/* The dense ops (clcnn_dense_*) with the GEMM variant forced, for tests. */
clcnn_status clcnn__dense_forward_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                          const clcnn_tensor *w, const clcnn_tensor *b,
                                          clcnn_tensor *y, int variant);
clcnn_status clcnn__dense_backward_data_variant(clcnn_context *ctx, const clcnn_tensor *dy,
                                                const clcnn_tensor *w, clcnn_tensor *dx,
                                                int variant);
clcnn_status clcnn__dense_backward_filter_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                                  const clcnn_tensor *dy, clcnn_tensor *dw,
                                                  clcnn_tensor *db, int variant);

/* The dense ops fused with a ReLU (relu != 0), which networks use:
 * forward y = relu(x w^T + b); backward-data dx = (dy w) * relu'(x), where x
 * (the layer's forward input) is itself a ReLU output, so that the ReLU
 * before the layer needs no backward pass of its own (x > 0 exactly where
 * the ReLU's derivative is 1). relu == 0 is the public op. */
clcnn_status clcnn__dense_forward_act(clcnn_context *ctx, const clcnn_tensor *x,
                                     const clcnn_tensor *w, const clcnn_tensor *b,
                                     clcnn_tensor *y, int relu);
clcnn_status clcnn__dense_backward_data_act(clcnn_context *ctx, const clcnn_tensor *dy,
                                           const clcnn_tensor *w, const clcnn_tensor *x,
                                           clcnn_tensor *dx, int relu);

/* ---- helpers shared by the op files ---- */

/* Whether element ranges [a_start, a_start + a_len) and [b_start, ...) of
 * the same buffer overlap; ranges of different buffers never do. */
int clcnn__ranges_overlap(cl_mem a, size_t a_start, size_t a_len, cl_mem b, size_t b_start,
                          size_t b_len);

/* Whether the memory of two tensors overlaps (NULL never does). */
int clcnn__tensors_overlap(const clcnn_tensor *a, const clcnn_tensor *b);

/* Whether a and b are exactly the same memory (same buffer, offset and
 * count): the only overlap an in-place element-wise op allows. */
int clcnn__tensors_same(const clcnn_tensor *a, const clcnn_tensor *b);

/* Fails with CLCNN_ERR_SHAPE, "<op>: <name> has shape (..) but <why> (..)",
 * unless t's shape is want. */
clcnn_status clcnn__expect_shape(clcnn_context *ctx, const char *op, const char *name,
                                 const clcnn_tensor *t, const int want[4], const char *why);

/* A 1-D launch of `count` work-items: the local size (at most 64) and the
 * global size rounded up to it; kernels guard the index. */
void clcnn__launch_size_1d(const clcnn_context *ctx, size_t count, size_t *global,
                           size_t *local);

#endif /* CLCNN_GEMM_H */
