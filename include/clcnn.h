/*
 * clcnn: a convolutional-network engine on OpenCL.
 *
 * This is the one public header. It needs no OpenCL headers; the interop
 * calls that take OpenCL objects live in clcnn_cl.h.
 *
 * The model in one screen:
 *
 *   clcnn_context   owns an OpenCL device, a queue, the kernels built for it
 *                   and the last error message. Create one per device; use it
 *                   from one thread at a time. Separate contexts share nothing.
 *   clcnn_tensor    a float32 device buffer with a 4-D shape (N, C, H, W),
 *                   row-major NCHW. Matrices are (rows, cols, 1, 1); a conv
 *                   weight is (K, C, R, S); a bias is (K, 1, 1, 1).
 *   ops             clcnn_<op>_forward / _backward_* enqueue kernels on the
 *                   context's queue. They return as soon as the work is
 *                   queued; clcnn_tensor_read waits for it.
 *
 * Every call returns a clcnn_status (CLCNN_OK is 0). On failure,
 * clcnn_last_error(ctx) holds a sentence naming the argument, shape or OpenCL
 * error. The library never prints, never exits, keeps no global mutable state
 * and frees what it allocated on every error path.
 *
 * Dimension letters: N batch, C input channels, H, W input height and width,
 * K output channels, R, S filter height and width, P, Q output height and
 * width. Gradients are dx, dw, db, dy. Backward passes overwrite dx and
 * accumulate (+=) into dw and db, so a caller zeroes weight gradients before a
 * new batch (the optimisers do this).
 *
 * Minimal use:
 *
 *   clcnn_context *ctx;
 *   char err[512];
 *   if (clcnn_context_create(NULL, &ctx, err, sizeof err) != CLCNN_OK) { puts(err); ... }
 *   clcnn_tensor *x, *w, *y;
 *   clcnn_tensor_create(ctx, 1, 1, 28, 28, &x);   ...
 *   clcnn_conv2d_params p = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
 *   clcnn_conv2d_forward(ctx, x, w, NULL, y, &p);
 *   clcnn_tensor_read(y, host, count);
 *   clcnn_tensor_destroy(x); ... clcnn_context_destroy(ctx);
 */
#ifndef CLCNN_H
#define CLCNN_H

#include <signal.h>
#include <stddef.h>

#include "clcnn_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CLCNN_BUILDING_LIBRARY) && defined(__GNUC__)
#define CLCNN_API __attribute__((visibility("default")))
#else
#define CLCNN_API
#endif

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

/* One list generates the enum, clcnn_status_name and clcnn_status_message.
 * Values are fixed once released: new codes are appended. */
#define CLCNN_STATUS_LIST(X)                                                               \
    X(CLCNN_OK, 0, "success")                                                              \
    X(CLCNN_ERR_INVALID_ARGUMENT, 1, "an argument is invalid (NULL, out of range)")        \
    X(CLCNN_ERR_SHAPE, 2, "tensor shapes do not fit the operation")                        \
    X(CLCNN_ERR_NO_DEVICE, 3, "no usable OpenCL device was found")                         \
    X(CLCNN_ERR_OPENCL, 4, "an OpenCL call failed")                                        \
    X(CLCNN_ERR_BUILD, 5, "an OpenCL kernel program failed to build")                      \
    X(CLCNN_ERR_OUT_OF_HOST_MEMORY, 6, "out of host memory")                               \
    X(CLCNN_ERR_OUT_OF_DEVICE_MEMORY, 7, "out of device memory")                           \
    X(CLCNN_ERR_IO, 8, "a file could not be read or written")                              \
    X(CLCNN_ERR_FORMAT, 9, "a file or text is malformed")                                  \
    X(CLCNN_ERR_UNSUPPORTED, 10, "the device or build does not support this")              \
    X(CLCNN_ERR_NUMERIC, 11, "a value became NaN or infinite")                             \
    X(CLCNN_ERR_EXCHANGE, 12, "the gradient exchange between replicas failed")

typedef enum clcnn_status {
#define CLCNN_STATUS_ENUM_(name, value, text) name = value,
    CLCNN_STATUS_LIST(CLCNN_STATUS_ENUM_)
#undef CLCNN_STATUS_ENUM_
} clcnn_status;

/* "CLCNN_ERR_SHAPE" for CLCNN_ERR_SHAPE; "CLCNN_UNKNOWN_STATUS" for values
 * outside the list. Static strings, never NULL. */
CLCNN_API const char *clcnn_status_name(clcnn_status status);
/* A short English description of the status. Static string, never NULL. */
CLCNN_API const char *clcnn_status_message(clcnn_status status);

/* "MAJOR.MINOR.PATCH" of the library actually linked (compare with
 * CLCNN_VERSION_STRING, the header's). Static string. */
CLCNN_API const char *clcnn_version(void);
/* MAJOR * 10000 + MINOR * 100 + PATCH, as CLCNN_VERSION_NUMBER. */
CLCNN_API unsigned clcnn_version_number(void);

/* ------------------------------------------------------------------------ */
/* Devices and contexts                                                     */
/* ------------------------------------------------------------------------ */

typedef struct clcnn_context clcnn_context;
typedef struct clcnn_tensor clcnn_tensor;

/* What clcnn_list_devices reports of one OpenCL device. */
typedef struct clcnn_device_info {
    int platform_index;           /* P in a "P:D" selector */
    int device_index;             /* D in a "P:D" selector */
    char platform_name[128];
    char device_name[128];
    char device_version[128];     /* e.g. "OpenCL 3.0 PoCL ..." */
    char driver_version[128];
    int is_gpu;                   /* 1 for CL_DEVICE_TYPE_GPU */
    unsigned compute_units;
    unsigned max_clock_mhz;
    unsigned long long global_mem_bytes;
} clcnn_device_info;

/*
 * Lists every device of every OpenCL platform into devices[0..capacity) and
 * sets *count to how many exist (which may exceed capacity). *chosen (may be
 * NULL) receives the index, in that list, of the device a context created
 * with the same selector would use.
 *
 * selector: NULL reads the CLCNN_DEVICE environment variable; NULL or "" there
 * means the default rule: the first GPU of any platform, else the first CPU
 * device, else the first device. "P:D" picks platform P, device D by index;
 * any other text picks the first device whose name contains it (case
 * insensitive).
 *
 * Returns CLCNN_ERR_NO_DEVICE when no device exists or the selector matches
 * none (the list is still filled); error (may be NULL) then receives a
 * sentence naming what was found. Thread-safe.
 */
CLCNN_API clcnn_status clcnn_list_devices(const char *selector, clcnn_device_info *devices,
                                          size_t capacity, size_t *count, size_t *chosen,
                                          char *error, size_t error_size);

/* Options for clcnn_context_create; a NULL pointer or zeroed struct gives the
 * defaults. Strings are read during the call only. */
/* The kernel families: the GPU family stages its operands in local memory in
 * large work-groups (tiles of 16x16 to 128x64 outputs, kernels/gemm_tiled.cl);
 * the CPU family runs work-groups of one over register blocks in private
 * memory (PoCL). Both compute the same functions on any device. */
typedef enum clcnn_kernel_family {
    CLCNN_KERNELS_AUTO = 0, /* $CLCNN_KERNELS ("gpu" or "cpu") if set, else the
                             * device's type: GPUs get the GPU family */
    CLCNN_KERNELS_CPU = 1,
    CLCNN_KERNELS_GPU = 2
} clcnn_kernel_family;

typedef struct clcnn_context_options {
    /* Device selector, as for clcnn_list_devices. NULL: $CLCNN_DEVICE. */
    const char *device;
    /* Folder for compiled kernel binaries and tuning files. NULL:
     * $CLCNN_CACHE_DIR, else $XDG_CACHE_HOME/clcnn, else $HOME/.cache/clcnn.
     * "" disables the cache. A cache that cannot be written is skipped
     * silently. On PoCL, whose own cache keeps compiled kernels, binaries
     * go only to a folder named here or by $CLCNN_CACHE_DIR. */
    const char *cache_dir;
    /* Folder of kernel .cl files to read instead of the copies built into
     * the library (for kernel development). NULL: $CLCNN_KERNEL_DIR, else
     * the built-in copies. */
    const char *kernel_dir;
    /* Which kernel family AUTO convolutions and GEMMs choose from (an
     * explicitly requested algorithm without a variant of that family runs
     * its other family's). A $CLCNN_KERNELS other than "gpu", "cpu" or
     * empty fails context creation with CLCNN_ERR_INVALID_ARGUMENT. */
    clcnn_kernel_family kernels;
} clcnn_context_options;

/*
 * Creates a context on the selected device with its own OpenCL context and
 * in-order queue. Kernels are built lazily, on first use.
 *
 * On success *out is set and must be released with clcnn_context_destroy.
 * On failure *out is NULL and error (may be NULL) receives the reason:
 * CLCNN_ERR_NO_DEVICE, CLCNN_ERR_OPENCL, CLCNN_ERR_OUT_OF_HOST_MEMORY.
 */
CLCNN_API clcnn_status clcnn_context_create(const clcnn_context_options *options,
                                            clcnn_context **out, char *error,
                                            size_t error_size);

/* Waits for queued work, then frees the context. Every tensor of the context
 * must have been destroyed before. Accepts NULL. */
CLCNN_API void clcnn_context_destroy(clcnn_context *ctx);

/* The message of the last failed call on ctx ("" if none). Owned by the
 * context; valid until the next call on it. NULL ctx gives a static text. */
CLCNN_API const char *clcnn_last_error(const clcnn_context *ctx);

/* Fills *info with the context's device. */
CLCNN_API clcnn_status clcnn_context_device(clcnn_context *ctx, clcnn_device_info *info);

/* Waits until every queued operation of the context has completed. */
CLCNN_API clcnn_status clcnn_context_finish(clcnn_context *ctx);

/* What a context holds now, for leak checks and soak tests: handles not yet
 * destroyed, and the OpenCL objects the library keeps a reference to. */
typedef struct clcnn_live_objects {
    long tensors;      /* clcnn_tensor handles */
    long nets;         /* clcnn_net handles */
    long buffers;      /* cl_mem references: one per tensor, one per scratch buffer */
    long programs;     /* built programs, kept until the context is destroyed */
    long kernels;      /* their kernels */
    unsigned long long tensor_bytes; /* device memory of the tensors that own a buffer */
    unsigned long long launches;     /* kernels enqueued since the context was made */
} clcnn_live_objects;

/* Fills *out (CLCNN_ERR_INVALID_ARGUMENT for a NULL argument). */
CLCNN_API clcnn_status clcnn_context_live_objects(const clcnn_context *ctx,
                                                  clcnn_live_objects *out);

/* The kernel family the context chose (CLCNN_KERNELS_CPU or _GPU). */
CLCNN_API clcnn_kernel_family clcnn_context_kernels(const clcnn_context *ctx);

/* ------------------------------------------------------------------------ */
/* Tensors                                                                  */
/* ------------------------------------------------------------------------ */

/* Creates an (n, c, h, w) float32 tensor on the device, contents undefined.
 * Every dimension must be >= 1 and the element count must fit in an int.
 * Release with clcnn_tensor_destroy. */
CLCNN_API clcnn_status clcnn_tensor_create(clcnn_context *ctx, int n, int c, int h, int w,
                                           clcnn_tensor **out);

/* Creates a tensor that shares t's memory with another shape of the same
 * element count (flatten: (N, C, H, W) -> (N, C*H*W, 1, 1)). The view keeps
 * the memory alive on its own; destroy it separately. */
CLCNN_API clcnn_status clcnn_tensor_view(clcnn_tensor *t, int n, int c, int h, int w,
                                         clcnn_tensor **out);

/* Frees the tensor (the memory once no view or wrapper holds it). Accepts
 * NULL. */
CLCNN_API void clcnn_tensor_destroy(clcnn_tensor *t);

/* Copies t's shape into shape[4] as (N, C, H, W). */
CLCNN_API void clcnn_tensor_shape(const clcnn_tensor *t, int shape[4]);

/* N * C * H * W. */
CLCNN_API size_t clcnn_tensor_count(const clcnn_tensor *t);

/* Copies count floats from host memory into t; count must equal t's element
 * count. Returns when the copy is done, so src may be reused at once. */
CLCNN_API clcnn_status clcnn_tensor_write(clcnn_tensor *t, const float *src, size_t count);

/* Waits for queued work on t's context and copies t into dst (count must
 * equal t's element count). */
CLCNN_API clcnn_status clcnn_tensor_read(const clcnn_tensor *t, float *dst, size_t count);

/* Sets every element of t to value. */
CLCNN_API clcnn_status clcnn_tensor_fill(clcnn_tensor *t, float value);

/* ------------------------------------------------------------------------ */
/* Convolution                                                              */
/* ------------------------------------------------------------------------ */

/* The algorithms behind clcnn_conv2d_*. AUTO lets the library choose per
 * shape and device (the device's tuning file, written by `clcnn tune`, else a
 * built-in rule); every algorithm computes the same function. Asking for an
 * algorithm that cannot run the shapes returns CLCNN_ERR_UNSUPPORTED. */
typedef enum clcnn_conv_algo {
    CLCNN_CONV_AUTO = 0,
    CLCNN_CONV_DIRECT = 1,   /* direct tiled convolution; any geometry */
    CLCNN_CONV_GEMM = 2,     /* implicit GEMM (im2col fused into a tiled GEMM); any */
    CLCNN_CONV_WINOGRAD = 3, /* Winograd F(2x2, 3x3) or F(4x4, 3x3) (its
                              * variants): 3x3 filters, stride 1, dilation 1,
                              * any padding */
    CLCNN_CONV_GEMM_1X1 = 4, /* a plain matrix product: 1x1 filters, any stride */
    CLCNN_CONV_ALGO_COUNT
} clcnn_conv_algo;

/* Geometry of a 2-D convolution. A zeroed struct is a valid default:
 * stride and dilation 0 mean 1, padding 0. Strides and dilations are at most
 * 65536. Each padding must be smaller than the dilated filter extent
 * ((R - 1) * dilation + 1), so every output sees at least one input pixel.
 * algo selects the forward algorithm; the backward passes always choose
 * their own.
 * groups splits the channels into that many independent convolutions, as
 * PyTorch's Conv2d(groups=G) does: 0 and 1 mean 1; C and K must both be
 * divisible by G (CLCNN_ERR_SHAPE naming C, K and G otherwise), the weight
 * is then (K, C/G, R, S), and output channels [g*K/G, (g+1)*K/G) see only
 * input channels [g*C/G, (g+1)*C/G). groups == C == K is a depthwise
 * convolution, which has its own fast kernels. An algorithm that cannot run
 * groups > 1 gives CLCNN_ERR_UNSUPPORTED when asked for; AUTO never picks it.
 * A negative groups is CLCNN_ERR_INVALID_ARGUMENT. */
typedef struct clcnn_conv2d_params {
    int pad_top, pad_bottom, pad_left, pad_right;
    int stride_h, stride_w;
    int dilation_h, dilation_w;
    clcnn_conv_algo algo;
    int groups;
} clcnn_conv2d_params;

/*
 * Pure shape check: x_shape (N,C,H,W), w_shape (K,C/groups,R,S) -> y_shape
 * (N,K,P,Q) with P = (H + pad_top + pad_bottom - (R-1)*dilation_h - 1) /
 * stride_h + 1, and likewise Q. Returns CLCNN_ERR_INVALID_ARGUMENT for a NULL
 * pointer or an out-of-range parameter, CLCNN_ERR_SHAPE when the shapes do
 * not fit. message (may be NULL) receives the reason.
 */
CLCNN_API clcnn_status clcnn_conv2d_output_shape(const int x_shape[4], const int w_shape[4],
                                                 const clcnn_conv2d_params *params,
                                                 int y_shape[4], char *message,
                                                 size_t message_size);

/* y = conv(x, w) + b.  x (N,C,H,W), w (K,C/groups,R,S), b (K,1,1,1) or NULL,
 * y (N,K,P,Q). The conv2d ops check shapes as clcnn_conv2d_output_shape does,
 * and the output must have exactly the output shape (CLCNN_ERR_SHAPE). An
 * output that overlaps an input in memory is CLCNN_ERR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_conv2d_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                            const clcnn_tensor *w, const clcnn_tensor *b,
                                            clcnn_tensor *y, const clcnn_conv2d_params *params);

/* dx = d(loss)/dx, overwritten.  dy (N,K,P,Q), w (K,C/groups,R,S), dx (N,C,H,W). */
CLCNN_API clcnn_status clcnn_conv2d_backward_data(clcnn_context *ctx, const clcnn_tensor *dy,
                                                  const clcnn_tensor *w, clcnn_tensor *dx,
                                                  const clcnn_conv2d_params *params);

/* dw += d(loss)/dw and, if db is not NULL, db += d(loss)/db.
 * x (N,C,H,W), dy (N,K,P,Q), dw (K,C/groups,R,S), db (K,1,1,1). */
CLCNN_API clcnn_status clcnn_conv2d_backward_filter(clcnn_context *ctx, const clcnn_tensor *x,
                                                    const clcnn_tensor *dy, clcnn_tensor *dw,
                                                    clcnn_tensor *db,
                                                    const clcnn_conv2d_params *params);

/* ------------------------------------------------------------------------ */
/* Pooling                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum clcnn_pool_mode {
    CLCNN_POOL_MAX = 0,
    /* Average over the window's real pixels only: padding is not counted. */
    CLCNN_POOL_AVG_EXCLUDE_PAD = 1,
    /* Average over the whole window: padding counts as zeros. */
    CLCNN_POOL_AVG_INCLUDE_PAD = 2
} clcnn_pool_mode;

/* Window geometry; stride 0 means the window size. Each padding must be at
 * most half the window (as in PyTorch). */
typedef struct clcnn_pool_params {
    clcnn_pool_mode mode;
    int window_h, window_w;
    int stride_h, stride_w;
    int pad_top, pad_bottom, pad_left, pad_right;
} clcnn_pool_params;

/* Pure shape check: x_shape (N,C,H,W) -> y_shape (N,C,P,Q). Statuses and
 * message as clcnn_conv2d_output_shape. */
CLCNN_API clcnn_status clcnn_pool_output_shape(const int x_shape[4],
                                               const clcnn_pool_params *params, int y_shape[4],
                                               char *message, size_t message_size);

/* x (N,C,H,W) -> y (N,C,P,Q). For CLCNN_POOL_MAX, argmax (same shape as y,
 * may be NULL) receives, per output, the index h * W + w of the chosen input
 * pixel in its plane, stored as int32 bits; backward needs it. */
CLCNN_API clcnn_status clcnn_pool_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                          clcnn_tensor *y, clcnn_tensor *argmax,
                                          const clcnn_pool_params *params);

/* dx = d(loss)/dx, overwritten. dy (N,C,P,Q), dx (N,C,H,W); argmax from the
 * forward pass for CLCNN_POOL_MAX, ignored (may be NULL) for average. */
CLCNN_API clcnn_status clcnn_pool_backward(clcnn_context *ctx, const clcnn_tensor *dy,
                                           const clcnn_tensor *argmax, clcnn_tensor *dx,
                                           const clcnn_pool_params *params);

/* ------------------------------------------------------------------------ */
/* Activations and softmax                                                  */
/* ------------------------------------------------------------------------ */

typedef enum clcnn_activation {
    CLCNN_ACT_RELU = 0,
    CLCNN_ACT_LEAKY_RELU = 1, /* x > 0 ? x : alpha * x */
    CLCNN_ACT_TANH = 2,
    CLCNN_ACT_SIGMOID = 3
} clcnn_activation;

/* y = act(x), element-wise; x and y have the same count and may be the same
 * tensor. alpha is the leaky-ReLU slope, ignored otherwise. */
CLCNN_API clcnn_status clcnn_act_forward(clcnn_context *ctx, clcnn_activation act, float alpha,
                                         const clcnn_tensor *x, clcnn_tensor *y);

/* dx = dy * act'(x), overwritten. y is the forward output (tanh and sigmoid
 * use it, ReLU uses x); the one an activation does not use may be NULL.
 * dx may be dy. */
CLCNN_API clcnn_status clcnn_act_backward(clcnn_context *ctx, clcnn_activation act, float alpha,
                                          const clcnn_tensor *x, const clcnn_tensor *y,
                                          const clcnn_tensor *dy, clcnn_tensor *dx);

/* Softmax over the channel axis C for every (n, h, w), computed stably
 * (the maximum is subtracted first). x, y (N,C,H,W); y may be x. */
CLCNN_API clcnn_status clcnn_softmax_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                             clcnn_tensor *y);

/* dx = y * (dy - sum_c(dy * y)), overwritten. y from the forward pass. */
CLCNN_API clcnn_status clcnn_softmax_backward(clcnn_context *ctx, const clcnn_tensor *y,
                                              const clcnn_tensor *dy, clcnn_tensor *dx);

/* ------------------------------------------------------------------------ */
/* Dense (fully connected)                                                  */
/* ------------------------------------------------------------------------ */

/* y = x w^T + b.  x (N,C,H,W) is read as N rows of F = C*H*W features;
 * w (K,F,1,1); b (K,1,1,1) or NULL; y (N,K,1,1). */
CLCNN_API clcnn_status clcnn_dense_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                           const clcnn_tensor *w, const clcnn_tensor *b,
                                           clcnn_tensor *y);

/* dx = dy w, overwritten.  dy (N,K,1,1), w (K,F,1,1), dx with N*F elements
 * in x's shape. */
CLCNN_API clcnn_status clcnn_dense_backward_data(clcnn_context *ctx, const clcnn_tensor *dy,
                                                 const clcnn_tensor *w, clcnn_tensor *dx);

/* dw += dy^T x, and db += column sums of dy when db is not NULL. */
CLCNN_API clcnn_status clcnn_dense_backward_filter(clcnn_context *ctx, const clcnn_tensor *x,
                                                   const clcnn_tensor *dy, clcnn_tensor *dw,
                                                   clcnn_tensor *db);

/* ------------------------------------------------------------------------ */
/* Element-wise add (residual joins)                                        */
/* ------------------------------------------------------------------------ */

/* Pure shape check: a_shape and b_shape must be equal and valid; y_shape
 * receives that shape. CLCNN_ERR_INVALID_ARGUMENT for a NULL pointer,
 * CLCNN_ERR_SHAPE naming both shapes otherwise; message (may be NULL)
 * receives the reason. */
CLCNN_API clcnn_status clcnn_add_output_shape(const int a_shape[4], const int b_shape[4],
                                              int y_shape[4], char *message,
                                              size_t message_size);

/* y = a + b, element-wise. a, b, y (N,C,H,W), all of one shape. y may be a
 * or b itself (in place); a partial overlap is CLCNN_ERR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_add_forward(clcnn_context *ctx, const clcnn_tensor *a,
                                         const clcnn_tensor *b, clcnn_tensor *y);

/* da = dy and db = dy, each overwritten; either may be NULL (an input that
 * needs no gradient) and either may be dy itself (then nothing is copied for
 * it). dy, da, db (N,C,H,W), one shape. To add dy into a gradient that
 * already holds another branch's contribution, use clcnn_axpy instead. */
CLCNN_API clcnn_status clcnn_add_backward(clcnn_context *ctx, const clcnn_tensor *dy,
                                          clcnn_tensor *da, clcnn_tensor *db);

/* y += alpha * x, element-wise over the flat elements: x and y have the
 * same element count (shapes may differ, as for a flattening view) and do
 * not overlap in memory (CLCNN_ERR_INVALID_ARGUMENT), so that a gradient
 * reaching a tensor along several paths of a network is summed. alpha must
 * be finite. */
CLCNN_API clcnn_status clcnn_axpy(clcnn_context *ctx, float alpha, const clcnn_tensor *x,
                                  clcnn_tensor *y);

/* ------------------------------------------------------------------------ */
/* Global average pooling                                                   */
/* ------------------------------------------------------------------------ */

/* Pure shape check: x_shape (N,C,H,W) -> y_shape (N,C,1,1). Statuses and
 * message as clcnn_add_output_shape. */
CLCNN_API clcnn_status clcnn_global_avgpool_output_shape(const int x_shape[4], int y_shape[4],
                                                         char *message, size_t message_size);

/* y[n][c] = mean of x[n][c] over its H x W plane. x (N,C,H,W), y (N,C,1,1);
 * they must not overlap. */
CLCNN_API clcnn_status clcnn_global_avgpool_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                                    clcnn_tensor *y);

/* dx[n][c][h][w] = dy[n][c] / (H * W), overwritten. dy (N,C,1,1),
 * dx (N,C,H,W); they must not overlap. */
CLCNN_API clcnn_status clcnn_global_avgpool_backward(clcnn_context *ctx, const clcnn_tensor *dy,
                                                     clcnn_tensor *dx);

/* ------------------------------------------------------------------------ */
/* Batch normalization                                                      */
/* ------------------------------------------------------------------------ */

/*
 * Batch normalization per channel over (N, H, W), with PyTorch's
 * BatchNorm2d semantics. A zeroed struct (or a NULL pointer) gives
 * PyTorch's defaults.
 */
typedef struct clcnn_batchnorm_params {
    float eps;      /* added to the variance; 0 means 1e-5; else finite and > 0 */
    float momentum; /* running = (1 - momentum) * running + momentum * batch
                       statistic; 0 means 0.1; else in (0, 1] */
} clcnn_batchnorm_params;

/*
 * Pure check: x_shape (N,C,H,W) -> y_shape (N,C,H,W), and every per-channel
 * tensor (gamma, beta, running and saved statistics, their gradients) is
 * (C,1,1,1). training != 0 also needs N * H * W >= 2 values per channel (the
 * unbiased variance of one value is undefined, as PyTorch refuses it).
 * params may be NULL (the defaults). CLCNN_ERR_INVALID_ARGUMENT for a NULL
 * shape or a bad eps or momentum, CLCNN_ERR_SHAPE for a bad x_shape;
 * message (may be NULL) receives the reason.
 */
CLCNN_API clcnn_status clcnn_batchnorm_output_shape(const int x_shape[4], int training,
                                                    const clcnn_batchnorm_params *params,
                                                    int y_shape[4], char *message,
                                                    size_t message_size);

/*
 * Training-mode forward with the batch's statistics: per channel c, over
 * the M = N * H * W values of x, mean and biased variance var, then
 * y = gamma * (x - mean) / sqrt(var + eps) + beta.
 * x, y (N,C,H,W); gamma, beta, running_mean, running_var, save_mean,
 * save_invstd (C,1,1,1).
 * save_mean and save_invstd (= 1 / sqrt(var + eps)) are overwritten with
 * what clcnn_batchnorm_backward needs. running_mean and running_var are
 * updated with momentum, the variance unbiased (var * M / (M - 1)), as
 * PyTorch does; both may be NULL (no update), not one alone. y must not
 * overlap any other operand (backward reads x again); the per-channel
 * tensors must not overlap each other or x, y.
 */
CLCNN_API clcnn_status clcnn_batchnorm_forward_train(
    clcnn_context *ctx, const clcnn_tensor *x, const clcnn_tensor *gamma,
    const clcnn_tensor *beta, clcnn_tensor *running_mean, clcnn_tensor *running_var,
    clcnn_tensor *save_mean, clcnn_tensor *save_invstd, clcnn_tensor *y,
    const clcnn_batchnorm_params *params);

/*
 * Inference-mode forward with the running statistics:
 * y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
 * Shapes as clcnn_batchnorm_forward_train; y may be x itself (in place),
 * a partial overlap is CLCNN_ERR_INVALID_ARGUMENT. params->momentum is not
 * used (but checked).
 */
CLCNN_API clcnn_status clcnn_batchnorm_forward_inference(
    clcnn_context *ctx, const clcnn_tensor *x, const clcnn_tensor *gamma,
    const clcnn_tensor *beta, const clcnn_tensor *running_mean,
    const clcnn_tensor *running_var, clcnn_tensor *y, const clcnn_batchnorm_params *params);

/*
 * Backward pass of the training-mode forward, with save_mean and
 * save_invstd as that pass left them and x its input:
 * x_hat = (x - mean) * invstd, dbeta += sum(dy), dgamma += sum(dy * x_hat)
 * (sums per channel over N, H, W; accumulated like dw and db), and
 * dx = gamma * invstd / M * (M * dy - sum(dy) - x_hat * sum(dy * x_hat)),
 * overwritten. x, dy, dx (N,C,H,W); gamma, save_mean, save_invstd, dgamma,
 * dbeta (C,1,1,1). dgamma and dbeta may be NULL (not wanted); dx must not
 * overlap any other operand.
 */
CLCNN_API clcnn_status clcnn_batchnorm_backward(clcnn_context *ctx, const clcnn_tensor *x,
                                                const clcnn_tensor *dy,
                                                const clcnn_tensor *gamma,
                                                const clcnn_tensor *save_mean,
                                                const clcnn_tensor *save_invstd,
                                                clcnn_tensor *dx, clcnn_tensor *dgamma,
                                                clcnn_tensor *dbeta);

/* ------------------------------------------------------------------------ */
/* Dropout                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Inverted dropout. In training each element is kept with probability
 * 1 - p and scaled by 1 / (1 - p), else zeroed; whether element i (its flat
 * index in the tensor) is kept depends only on (seed, i), through a
 * counter-based hash computed on the device, so the same seed gives the
 * same mask on any device and the backward pass recomputes it instead of
 * storing it. A network changes the seed every step. Inference (training
 * 0) is the identity.
 */
typedef struct clcnn_dropout_params {
    float p;                 /* probability of zeroing, in [0, 1]; 1 zeroes all */
    unsigned long long seed; /* with the element index, decides the mask */
    int training;            /* 0: y = x */
} clcnn_dropout_params;

/* Pure check: x_shape (N,C,H,W) -> y_shape, the same; params not NULL and
 * p in [0, 1]. Statuses and message as clcnn_add_output_shape. */
CLCNN_API clcnn_status clcnn_dropout_output_shape(const int x_shape[4],
                                                  const clcnn_dropout_params *params,
                                                  int y_shape[4], char *message,
                                                  size_t message_size);

/* y = x * mask / (1 - p) (training) or y = x. x, y (N,C,H,W), one shape;
 * y may be x itself (in place), a partial overlap is
 * CLCNN_ERR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_dropout_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                             clcnn_tensor *y,
                                             const clcnn_dropout_params *params);

/* dx = dy * mask / (1 - p) with the mask of the forward pass that had the
 * same params (training), or dx = dy; overwritten. dy, dx one shape; dx may
 * be dy itself. */
CLCNN_API clcnn_status clcnn_dropout_backward(clcnn_context *ctx, const clcnn_tensor *dy,
                                              clcnn_tensor *dx,
                                              const clcnn_dropout_params *params);

/* ------------------------------------------------------------------------ */
/* Loss and optimisers                                                      */
/* ------------------------------------------------------------------------ */

/*
 * Softmax cross-entropy, fused and numerically stable, averaged over the
 * batch. logits (N,K,1,1); labels (N,1,1,1) (any shape of N elements)
 * holding class indices 0..K-1 as floats (a label that is not an integer in
 * that range makes the loss, and that sample's row of dlogits, NaN). dlogits
 * (may be NULL; same shape as logits; may be logits itself, computed in
 * place) is overwritten with d(mean loss)/d(logits) =
 * (softmax(logits) - onehot(label)) / N. loss (may be NULL) is a (1,1,1,1)
 * tensor that receives the mean loss on the device, so no host
 * synchronisation is needed until the caller reads it. With both outputs
 * NULL only the arguments are checked. One kernel launch, deterministic.
 * Returns CLCNN_ERR_INVALID_ARGUMENT for a NULL ctx, logits or labels or a
 * tensor of another context, CLCNN_ERR_SHAPE when logits are not (N,K,1,1),
 * labels do not hold N elements, dlogits differs in shape from logits or
 * loss is not one element.
 */
CLCNN_API clcnn_status clcnn_softmax_cross_entropy(clcnn_context *ctx, const clcnn_tensor *logits,
                                                   const clcnn_tensor *labels,
                                                   clcnn_tensor *dlogits, clcnn_tensor *loss);

typedef enum clcnn_optimizer {
    CLCNN_OPTIM_SGD = 0, /* SGD with momentum (optionally Nesterov) */
    CLCNN_OPTIM_ADAM = 1
} clcnn_optimizer;

/* Optimiser hyper-parameters. Weight decay is L2, added to the gradient
 * (g += weight_decay * p) before the update, as PyTorch's SGD and Adam do. */
typedef struct clcnn_optim_params {
    clcnn_optimizer kind;
    float lr;
    float weight_decay;
    float momentum; /* SGD; 0 is plain SGD */
    int nesterov;   /* SGD; needs momentum > 0 */
    float beta1, beta2, eps; /* Adam; zeros mean 0.9, 0.999, 1e-8 */
} clcnn_optim_params;

/* Elements of optimiser state per parameter tensor of `count` elements: SGD
 * count (the velocity), Adam 2 * count (first and second moments). */
CLCNN_API size_t clcnn_optim_state_count(clcnn_optimizer kind, size_t count);

/*
 * One optimiser step on a flat parameter tensor, in one launch: applies grad
 * to param, updates state (zeroed by the caller before the first step) and
 * then zeroes grad, ready to accumulate the next batch. param and grad have
 * the same element count, state clcnn_optim_state_count(kind, count); state
 * may be NULL for SGD without momentum, which never touches it. The three
 * must not share memory. step is the 1-based number of this step (Adam's bias
 * corrections 1 - beta^step, computed in double).
 * Returns CLCNN_ERR_INVALID_ARGUMENT for a NULL ctx, params, param, grad or
 * needed state, a tensor of another context, overlapping tensors, an unknown
 * kind, lr not finite and >= 0, weight_decay not finite and >= 0, momentum
 * outside [0, 1), nesterov without momentum, betas outside [0, 1), eps not
 * finite and > 0 (after the zero defaults) or step < 1; CLCNN_ERR_SHAPE when
 * an element count differs.
 */
CLCNN_API clcnn_status clcnn_optim_step(clcnn_context *ctx, const clcnn_optim_params *params,
                                        long step, clcnn_tensor *param, clcnn_tensor *grad,
                                        clcnn_tensor *state);

typedef enum clcnn_lr_schedule {
    CLCNN_LR_CONSTANT = 0, /* base_lr */
    CLCNN_LR_STEP = 1,     /* base_lr * gamma^floor(t / step_size) */
    CLCNN_LR_COSINE = 2    /* min_lr + (base_lr - min_lr) * (1 + cos(pi * t / total)) / 2 */
} clcnn_lr_schedule;

typedef struct clcnn_lr_params {
    clcnn_lr_schedule kind;
    float base_lr;
    int step_size;  /* STEP */
    float gamma;    /* STEP */
    long total;     /* COSINE: t at which min_lr is reached */
    float min_lr;   /* COSINE */
} clcnn_lr_params;

/* The learning rate at time t >= 0 (epochs or steps, as the caller counts;
 * t < 0 counts as 0). Pure; a schedule with invalid fields (step_size < 1,
 * gamma not finite and > 0, total < 1, min_lr not finite, unknown kind)
 * returns base_lr; a NULL schedule returns 0. */
CLCNN_API float clcnn_lr_at(const clcnn_lr_params *schedule, long t);

/* ------------------------------------------------------------------------ */
/* Data sets (IDX files, as MNIST and Fashion-MNIST)                        */
/* ------------------------------------------------------------------------ */

typedef struct clcnn_dataset clcnn_dataset;

/*
 * Reads an IDX image file (rank 3: count, rows, cols, unsigned bytes) and an
 * IDX label file (rank 1, unsigned bytes), each plain or gzip-compressed.
 * Magic, rank, dimensions, the two counts and each file's real length are
 * validated before anything is trusted or allocated: a bad file gives
 * CLCNN_ERR_FORMAT (or CLCNN_ERR_IO if unreadable) and a message naming the
 * file and the problem in error (may be NULL). Labels must be < 256 classes;
 * the class count is max label + 1. *out must be freed with
 * clcnn_dataset_destroy.
 */
CLCNN_API clcnn_status clcnn_dataset_load_idx(const char *images_path, const char *labels_path,
                                              clcnn_dataset **out, char *error,
                                              size_t error_size);

/* Loads <dir>/<which>-images-idx3-ubyte and <dir>/<which>-labels-idx1-ubyte, each
 * plain or with .gz (the plain file is taken when both exist): which is "train" or
 * "t10k" (any file-name prefix without '/'). Missing files give CLCNN_ERR_IO naming
 * them. */
CLCNN_API clcnn_status clcnn_dataset_load_dir(const char *dir, const char *which,
                                              clcnn_dataset **out, char *error,
                                              size_t error_size);

/* Accepts NULL. */
CLCNN_API void clcnn_dataset_destroy(clcnn_dataset *ds);

/* Number of images, image shape (channels 1, rows, cols) and class count. */
CLCNN_API size_t clcnn_dataset_count(const clcnn_dataset *ds);
CLCNN_API void clcnn_dataset_shape(const clcnn_dataset *ds, int *c, int *h, int *w);
CLCNN_API int clcnn_dataset_classes(const clcnn_dataset *ds);

/* Keeps only the first count images; 1 <= count <= current count, else
 * CLCNN_ERR_INVALID_ARGUMENT. The class count is kept. */
CLCNN_API clcnn_status clcnn_dataset_truncate(clcnn_dataset *ds, size_t count);

/*
 * Copies the images indices[0..n) into x (n * c * h * w floats, NCHW),
 * normalised as (pixel / 255 - mean) / std, and their labels into labels
 * (n floats holding class indices, as clcnn_softmax_cross_entropy takes).
 * labels may be NULL. An index >= count, a NULL x or indices (with n > 0), or a
 * std that is not positive and finite gives CLCNN_ERR_INVALID_ARGUMENT.
 */
CLCNN_API clcnn_status clcnn_dataset_batch(const clcnn_dataset *ds, const size_t *indices,
                                           size_t n, float mean, float std, float *x,
                                           float *labels);

/* MNIST's pixel statistics, the usual normalisation. */
#define CLCNN_MNIST_MEAN 0.1307f
#define CLCNN_MNIST_STD 0.3081f

/* A small seeded generator (xoshiro256**), kept by the caller, so that runs
 * and resumed runs reproduce exactly. */
typedef struct clcnn_rng {
    unsigned long long s[4];
} clcnn_rng;

CLCNN_API void clcnn_rng_seed(clcnn_rng *rng, unsigned long long seed);
CLCNN_API unsigned long long clcnn_rng_next(clcnn_rng *rng);
/* Uniform in [0, 1). */
CLCNN_API double clcnn_rng_uniform(clcnn_rng *rng);
/* Sets perm to a uniformly random permutation of 0..n-1 (Fisher-Yates). */
CLCNN_API void clcnn_rng_permutation(clcnn_rng *rng, size_t *perm, size_t n);

/* ------------------------------------------------------------------------ */
/* Sequential networks                                                      */
/* ------------------------------------------------------------------------ */

typedef struct clcnn_net clcnn_net;

/*
 * Builds a sequential network for inputs of shape (batch, c, h, w), with
 * every device buffer it will need (parameters, gradients, activations,
 * optimiser state) allocated here and none per step. Weights are
 * initialised with clcnn_net_init(net, 1).
 *
 * spec is a built-in model name or a list of layers separated by spaces:
 *   lenet5    conv(6,5,pad=2) relu maxpool(2) conv(16,5) relu maxpool(2)
 *             flatten dense(120) relu dense(84) relu dense(10)
 *             (LeCun et al. 1998 layout, with ReLU and max-pooling)
 *   convnet   conv(32,3) relu maxpool(2) conv(64,3) relu maxpool(2)
 *             conv(128,3) relu flatten dense(10) softmax   (the Keras example)
 *   conv(K,R[,S][,pad=P|same][,stride=T][,dilation=D])  K filters of R x S
 *   relu | leaky_relu(ALPHA) | tanh | sigmoid
 *   maxpool(W[,STRIDE][,pad=P]) | avgpool(W[,STRIDE][,pad=P][,include_pad=1])
 *             (P pixels of padding on each side; the average counts them
 *             with include_pad=1, else only the real pixels)
 *   flatten | dense(K) | softmax (last layer only)
 * The network's output is K class scores; a trailing softmax makes
 * clcnn_net_predict return probabilities (it always does) and is fused
 * with the loss in training. Errors: CLCNN_ERR_FORMAT for a spec that does
 * not parse (message names the token), CLCNN_ERR_SHAPE when a layer does not
 * fit its input, CLCNN_ERR_OUT_OF_DEVICE_MEMORY, before anything is
 * allocated, when the buffers for batch images exceed the device's global
 * memory or largest allocation (message: bytes needed and available, and
 * the largest batch that fits).
 */
CLCNN_API clcnn_status clcnn_net_create(clcnn_context *ctx, const char *spec, int batch, int c,
                                        int h, int w, clcnn_net **out);

/* Frees the network and its device buffers. Accepts NULL. */
CLCNN_API void clcnn_net_destroy(clcnn_net *net);

/* Re-initialises every weight from seed: He-uniform for layers followed by
 * ReLU or leaky ReLU, Glorot-uniform otherwise; biases zero. Clears the
 * gradients, the optimiser state and the step count. */
CLCNN_API clcnn_status clcnn_net_init(clcnn_net *net, unsigned long long seed);

/* The canonical spec (built-in names expanded). Owned by net. */
CLCNN_API const char *clcnn_net_spec(const clcnn_net *net);

/* The batch size and input shape the network was built for. */
CLCNN_API void clcnn_net_input_shape(const clcnn_net *net, int shape[4]);

/* Number of classes (the last layer's outputs). */
CLCNN_API int clcnn_net_classes(const clcnn_net *net);

/* Total number of trainable parameters. */
CLCNN_API size_t clcnn_net_param_count(const clcnn_net *net);

/* What clcnn_net_layer reports of one layer. */
typedef struct clcnn_layer_info {
    char text[96];      /* the layer in spec form, e.g. "conv(6,5,pad=2)" */
    int out_shape[4];   /* output shape at the network's batch size */
    size_t param_count; /* weights + biases (batch norm: gamma + beta) */
    /* the layers (0-based) whose outputs it reads: -1 is the network input;
     * input2, a join's second operand, is -2 for layers with one input */
    int input, input2;
    char name[16]; /* its output's @name in the spec, or "" */
} clcnn_layer_info;

CLCNN_API int clcnn_net_layer_count(const clcnn_net *net);
CLCNN_API clcnn_status clcnn_net_layer(const clcnn_net *net, int index, clcnn_layer_info *info);

/* Copies layer index's parameters into dst: count must be its param_count
 * (weights first, KCRS for a convolution and outputs x inputs for a dense
 * layer, then the biases). CLCNN_ERR_INVALID_ARGUMENT for a bad index or
 * NULL, CLCNN_ERR_SHAPE for another count. */
CLCNN_API clcnn_status clcnn_net_layer_params(clcnn_net *net, int index, float *dst,
                                              size_t count);

/* Overwrites layer index's parameters from src, in the order
 * clcnn_net_layer_params reads them (count must be its param_count). The
 * optimiser state and step count are kept. CLCNN_ERR_INVALID_ARGUMENT,
 * CLCNN_ERR_SHAPE as clcnn_net_layer_params; CLCNN_ERR_NUMERIC, with nothing
 * written, when a value is NaN or infinite. */
CLCNN_API clcnn_status clcnn_net_set_layer_params(clcnn_net *net, int index, const float *src,
                                                  size_t count);

/* Copies layer index's output of the last clcnn_net_forward (or predict)
 * into dst: n images of out_shape[1] x [2] x [3] values each, NCHW, where n
 * is that pass's image count; count must be that product. A ReLU that runs
 * inside its neighbour's launch makes that neighbour's output the ReLU's. In
 * inference a convolution with batch norm folded into it writes only the
 * batch norm's output (or, with a ReLU after it, only the ReLU's): read that
 * layer's, or run the pass in training mode for every layer's.
 * CLCNN_ERR_INVALID_ARGUMENT, CLCNN_ERR_SHAPE as clcnn_net_layer_params. */
CLCNN_API clcnn_status clcnn_net_layer_output(clcnn_net *net, int index, float *dst,
                                              size_t count);

/*
 * Sets the optimiser (default: SGD, lr 0.01, no momentum). Resets the
 * optimiser state and step count when the kind changes. Hyper-parameters
 * outside the ranges clcnn_optim_step lists are CLCNN_ERR_INVALID_ARGUMENT
 * here already, with a sentence naming the field.
 */
CLCNN_API clcnn_status clcnn_net_set_optimizer(clcnn_net *net, const clcnn_optim_params *params);

/*
 * Forward pass on n <= batch images x (n * c * h * w floats, NCHW). Results
 * stay on the device until clcnn_net_predict or clcnn_net_backward uses them.
 */
CLCNN_API clcnn_status clcnn_net_forward(clcnn_net *net, const float *x, int n);

/*
 * Training or inference mode (default: training, as a new PyTorch module).
 * clcnn_net_forward runs in this mode; clcnn_net_train_batch always
 * trains and clcnn_net_predict always infers, whatever it is. Training: batch
 * norm normalises with the batch's statistics and updates its running ones,
 * dropout drops. Inference: batch norm uses the running statistics (folded
 * into the convolution before it where there is one) and dropout is the
 * identity. A network without batch norm or dropout computes the same in both.
 */
CLCNN_API clcnn_status clcnn_net_set_training(clcnn_net *net, int training);
CLCNN_API int clcnn_net_training(const clcnn_net *net);

/* Loss and backward pass for the last forward pass: labels holds n class
 * indices as floats. Gradients accumulate until clcnn_net_step. After an
 * inference-mode pass of a network with batch norm or dropout it is
 * CLCNN_ERR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_net_backward(clcnn_net *net, const float *labels);

/* One optimiser step with learning rate lr (the optimiser's lr is ignored
 * here, so a schedule can drive it); zeroes the gradients. */
CLCNN_API clcnn_status clcnn_net_step(clcnn_net *net, float lr);

/* forward + backward + step on one batch. Does not wait for the device. */
CLCNN_API clcnn_status clcnn_net_train_batch(clcnn_net *net, const float *x, const float *labels,
                                             int n, float lr);

/* The mean loss of the last backward pass (waits for the device). Returns
 * CLCNN_ERR_NUMERIC, naming the step, if it is NaN or infinite. */
CLCNN_API clcnn_status clcnn_net_loss(clcnn_net *net, float *loss);

/*
 * Looks for NaN and infinite values in the network: the input of the last
 * forward pass, then layer by layer its parameters and its outputs of that
 * pass, in forward order, so the first place found is where the values went
 * wrong (outputs are undefined before the first forward pass). Returns
 * CLCNN_OK when all are finite, else CLCNN_ERR_NUMERIC with a message naming
 * the place ("layer 4 conv(16,5): its weights hold 12 NaN and 0 infinite
 * values (of 2400), after 37 optimiser steps"); *layer (may be NULL)
 * receives that layer's 0-based index, or -1 for the input or when all are
 * finite. It reads the network back from the device, so it is meant for the
 * failure path (after CLCNN_ERR_NUMERIC from clcnn_net_loss or
 * clcnn_train_epoch) or an explicit check, not for every step.
 */
CLCNN_API clcnn_status clcnn_net_check_finite(clcnn_net *net, int *layer);

/* Forward pass on n <= batch images and their class probabilities
 * (n * classes floats) into probs. */
CLCNN_API clcnn_status clcnn_net_predict(clcnn_net *net, const float *x, int n, float *probs);

/* Optimiser steps taken since init or load. */
CLCNN_API long clcnn_net_steps(const clcnn_net *net);

/*
 * Builds, or loads from the kernel cache, every kernel that training and
 * prediction with this network use, by running one forward and backward
 * pass on zeros and waiting for it, so that the first real step runs at full
 * speed and start-up can be timed. Weights, the optimiser state and the
 * step count stay as they were; the gradients are left zero, as after a
 * step, and the loss of the pass on zeros is meaningless.
 */
CLCNN_API clcnn_status clcnn_net_prepare(clcnn_net *net);

/* ---- data-parallel training: the gradient exchange ---- */

/*
 * Sums count floats in place over every replica: each replica passes its own
 * values and receives the element-wise sum of all of them (an allreduce with
 * a sum, e.g. MPI_Allreduce(MPI_IN_PLACE, ..., MPI_SUM) or ncclAllReduce).
 * Every replica calls it the same number of times with the same counts in the
 * same order. Returns 0 on success; anything else fails the step.
 */
typedef int (*clcnn_allreduce_fn)(void *user, float *data, size_t count);

/* How a network takes part in data-parallel training; see
 * clcnn_net_set_exchange. */
typedef struct clcnn_exchange {
    int rank, ranks;              /* this replica, 0..ranks-1, and how many */
    clcnn_allreduce_fn allreduce; /* the transport: MPI, NCCL or the caller's own */
    void *user;                   /* passed to allreduce */
    size_t bucket_floats;         /* most floats per allreduce call (0: 4 Mi floats) */
} clcnn_exchange;

/*
 * Makes the network one of exchange->ranks replicas that train together
 * (NULL makes it train alone again). Every clcnn_net_step then reads the
 * gradient arena to the host, has it summed over the replicas by
 * exchange->allreduce in buckets of at most bucket_floats (one call per
 * bucket, the first one led by this replica's image count), writes back the
 * mean gradient of all images of the step (each replica weighted by the
 * images of its last backward pass since the previous step, 0 if none) and
 * only then updates the weights, so replicas that start equal stay equal.
 * A replica that got no images in a step still calls clcnn_net_step.
 *
 * With an exchange set, clcnn_train_epoch takes the network's batch size as
 * each replica's share: the global batch is batch * ranks, shuffled and
 * augmented exactly as one process with that batch would, and replica r
 * trains on images [n*r/ranks, n*(r+1)/ranks) of each global batch of n.
 *
 * Without an exchange (the default) a step costs what it always did. The
 * struct is copied; host memory for one copy of the gradients is allocated
 * here. allreduce is called from the thread that calls clcnn_net_step or
 * clcnn_train_epoch, with memory owned by net that is valid during the call
 * only. The exchange is not saved in model files.
 *
 * Errors: CLCNN_ERR_INVALID_ARGUMENT for ranks < 1, a rank outside
 * 0..ranks-1 or a NULL allreduce; a failing allreduce makes clcnn_net_step
 * return CLCNN_ERR_EXCHANGE naming the bucket, with the weights unchanged.
 */
CLCNN_API clcnn_status clcnn_net_set_exchange(clcnn_net *net, const clcnn_exchange *exchange);

/* ---- model files and checkpoints ---- */

/* The training loop's own state, stored in checkpoints so that a resumed run
 * continues exactly as an uninterrupted one. */
typedef struct clcnn_train_state {
    int epoch;                /* epochs completed */
    int batch;                /* batch size of the run */
    unsigned long long seed;  /* the run's seed */
    clcnn_rng rng;            /* the shuffling and augmentation generator, now */
    clcnn_lr_params schedule; /* learning-rate schedule of the run */
    float best_accuracy;      /* for the caller's bookkeeping, in [0, 1] */
    long batch_in_epoch;      /* batches of epoch `epoch` + 1 already trained
                                 (0 between epochs; set by a stopped epoch) */
    clcnn_rng epoch_rng;      /* with batch_in_epoch > 0: the generator as that
                                 epoch began, to shuffle it the same way again */
} clcnn_train_state;

/* The largest epoch count and batch size a training state may hold. */
#define CLCNN_MAX_EPOCHS 100000
#define CLCNN_MAX_BATCH 65536

/*
 * Checks every value of a training state before it is trusted, as
 * clcnn_net_load does for a checkpoint, clcnn_net_save before writing one
 * and the clcnn tool for its command line. steps is the optimiser's step
 * count (clcnn_net_steps). The ranges: 0 <= epoch <= CLCNN_MAX_EPOCHS, and
 * epoch <= schedule.total where total > 0; 1 <= batch <= CLCNN_MAX_BATCH;
 * rng not all zero (xoshiro's one dead state), epoch_rng too when
 * batch_in_epoch > 0; schedule.kind one of clcnn_lr_schedule; base_lr
 * finite and > 0; step_size 1..CLCNN_MAX_EPOCHS for STEP (else
 * 0..CLCNN_MAX_EPOCHS); gamma in (0, 1] for STEP (else in [0, 1]); total
 * 1..CLCNN_MAX_EPOCHS for COSINE (else 0..CLCNN_MAX_EPOCHS); min_lr finite,
 * 0 <= min_lr <= base_lr; best_accuracy in [0, 1]; 0 <= batch_in_epoch and
 * epoch + batch_in_epoch <= steps <= (epoch + 1) * 2^31 (an epoch has at
 * least one step and at most 2^31, and no step is skipped).
 * Returns CLCNN_OK, or CLCNN_ERR_INVALID_ARGUMENT with a sentence naming the
 * field, its value and the allowed range in message (may be NULL).
 */
CLCNN_API clcnn_status clcnn_train_state_validate(const clcnn_train_state *state, long steps,
                                                  char *message, size_t message_size);

/*
 * Saves the network to path: a versioned binary file (magic, format version,
 * spec, input shape, tensor shapes, float32 little-endian data, CRC-32 over
 * everything). With state not NULL it is a checkpoint that also holds the
 * optimiser (kind, hyper-parameters, step count, state) and state. The file
 * is written to a temporary file in the same folder, flushed to disk and
 * renamed over path, so a crash or full disk never leaves a half-written
 * file and never loses the file that was there (CLCNN_ERR_IO on failure).
 * Parameters or optimiser state holding NaN or infinity are not written
 * (CLCNN_ERR_NUMERIC naming the layer), so a diverged network never replaces
 * a good file. A crash can leave a temporary "<path>.tmp-XXXXXX" beside
 * path; the next save removes those of its own path older than a minute.
 */
CLCNN_API clcnn_status clcnn_net_save(clcnn_net *net, const char *path,
                                      const clcnn_train_state *state);

/*
 * Loads a model file or checkpoint into a new network for batch size batch
 * (0: the batch size it was saved with). Every field is validated and the
 * checksum verified before anything is allocated on the strength of it:
 * CLCNN_ERR_FORMAT (message names the problem) for a malformed, truncated or
 * corrupted file, CLCNN_ERR_IO if it cannot be read, CLCNN_ERR_NUMERIC
 * (naming the layer) for parameters or optimiser state holding NaN or
 * infinity, CLCNN_ERR_OUT_OF_DEVICE_MEMORY when batch is too large for the
 * device (as clcnn_net_create). If state is not NULL,
 * *has_state (may be NULL) says whether the file was a checkpoint and state
 * receives its training state; the optimiser is restored either way when
 * present.
 */
CLCNN_API clcnn_status clcnn_net_load(clcnn_context *ctx, const char *path, int batch,
                                      clcnn_net **out, clcnn_train_state *state,
                                      int *has_state);

/* ---- ONNX interchange ---- */

/*
 * Loads an ONNX model (a ModelProto file, opsets 9 to 18) into a new network
 * for batch size batch (0: the file's batch dimension when fixed, else 1).
 * The graph, from one float32 (N, C, H, W) input, with C, H and W fixed, to
 * one output, becomes a graph network (joins, branches) of the operators
 * Conv (any group that divides the channels; pads equal on all sides or as
 * pad=same), BatchNormalization (folded into the Conv before it when only it
 * reads that Conv, else a bn layer with the running statistics), Gemm,
 * MatMul (and an Add of a constant bias after it), Add of two computed
 * tensors of one shape, Relu, LeakyRelu, Tanh, Sigmoid, MaxPool and
 * AveragePool (square windows), GlobalAveragePool, GlobalMaxPool (square
 * maps), Flatten (axis 1), Reshape to (N, -1), Dropout, Softmax (last) and
 * Identity; weights are initializers or Constant nodes of FLOAT type, as
 * raw_data or float_data. Every field is checked before it is used; a cycle,
 * or a node reading a tensor nothing writes, is CLCNN_ERR_FORMAT naming the
 * node. The network starts in inference mode (clcnn_net_set_training).
 * Errors: CLCNN_ERR_IO when the file cannot be read, CLCNN_ERR_FORMAT for a
 * malformed file or one of 2 GiB or more (refused before reading),
 * CLCNN_ERR_UNSUPPORTED for an operator, attribute or data type clcnn cannot
 * run (message: the node, its operator and what is missing),
 * CLCNN_ERR_NUMERIC for NaN or infinite weights, and the errors of
 * clcnn_net_create. On failure *out is NULL.
 */
CLCNN_API clcnn_status clcnn_net_load_onnx(clcnn_context *ctx, const char *path, int batch,
                                           clcnn_net **out);

/*
 * Saves the network as an ONNX model (IR version 7, opset 13) that
 * onnxruntime and other ONNX tools run: input "input" (N, C, H, W) with a
 * symbolic N, output "output" (N, K), the class scores, or probabilities when
 * the network ends in softmax. Written atomically as clcnn_net_save writes.
 * The optimiser state is not saved. CLCNN_ERR_IO when the file cannot be
 * written, CLCNN_ERR_NUMERIC (nothing written) for non-finite parameters.
 */
CLCNN_API clcnn_status clcnn_net_save_onnx(clcnn_net *net, const char *path);

/* ---- training and evaluation loops ---- */

/* Called during clcnn_train_epoch after every report_every batches and after
 * the last: images done so far in this epoch, the epoch's size, and the mean
 * loss of the batches sampled so far. Return non-zero to stop the epoch
 * early, as options->stop does. */
typedef int (*clcnn_progress_fn)(void *user, size_t done, size_t total, float loss);

/* How clcnn_train_epoch feeds the network. A zeroed struct means MNIST's
 * normalisation, no augmentation, a loss reading every 16 batches. */
typedef struct clcnn_train_options {
    float mean, std;   /* pixels become (p / 255 - mean) / std; std 0: MNIST's */
    int max_shift;     /* augmentation: shift each image by up to this many
                          pixels in x and y, filling with background (0: none) */
    int report_every;  /* batches between loss readings (0: 16) */
    clcnn_progress_fn progress; /* may be NULL */
    void *user;        /* passed to progress */
    const volatile sig_atomic_t *stop; /* may be NULL; read after every batch
                          (with replicas, at each loss reading, all agreeing):
                          non-zero stops the epoch there (a signal handler may
                          set it) */
} clcnn_train_options;

/*
 * One epoch over ds: shuffles with state->rng, takes batches of the net's
 * batch size (the last one partial), normalises and augments them as options
 * say (options may be NULL), trains with learning rate
 * clcnn_lr_at(&state->schedule, state->epoch), then increments state->epoch.
 * An epoch stopped early (options->stop or progress) returns CLCNN_OK with
 * state->epoch unchanged and state->batch_in_epoch counting the batches done;
 * the next call (after a checkpoint and a reload too) continues that epoch
 * where it stopped, exactly as if it had not stopped. state is validated
 * first (clcnn_train_state_validate; a batch_in_epoch past the epoch's last
 * batch is CLCNN_ERR_INVALID_ARGUMENT).
 * The loss is read back (a device synchronisation) every report_every batches
 * and after the last one; *mean_loss (may be NULL) receives the mean of those
 * readings. A NaN or infinite loss stops the epoch with CLCNN_ERR_NUMERIC.
 * With an exchange set (clcnn_net_set_exchange) the batches are global ones
 * of batch * ranks images, each replica training on its share, and the
 * readings are the mean loss over every replica's images. A stop asked for
 * by any replica's progress callback stops every replica after that batch
 * (each returns CLCNN_OK without counting the epoch).
 */
CLCNN_API clcnn_status clcnn_train_epoch(clcnn_net *net, const clcnn_dataset *ds,
                                         const clcnn_train_options *options,
                                         clcnn_train_state *state, float *mean_loss);

/*
 * Classifies every image of ds and compares with its labels: *accuracy (may
 * be NULL) in [0, 1], and confusion (may be NULL) a classes x classes matrix
 * of counts, row = true label, column = prediction (classes of the net).
 */
CLCNN_API clcnn_status clcnn_evaluate(clcnn_net *net, const clcnn_dataset *ds, float mean,
                                      float std, float *accuracy, long *confusion);

#ifdef __cplusplus
}
#endif

#endif /* CLCNN_H */
