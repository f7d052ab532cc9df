/*
 * conv2d: forward, backward-data and backward-filter of a 2-D convolution with
 * per-side padding, stride and dilation. The forward pass has two algorithms
 * (direct tiled, implicit GEMM), each with tile variants; the backward passes have
 * one kernel each, also with tile variants. Kernels live in kernels/conv2d*.cl.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "conv2d.h"

/* Strides and dilations above this are rejected as out of range, so that the
 * kernels' int index arithmetic cannot overflow on absurd geometry. */
#define CONV2D_MAX_STEP 65536

/* The geometry every kernel receives, in this order (GEOM_ARGS). */
typedef struct geom {
    int N, C, H, W, K, R, S, P, Q;
    int pad_top, pad_left, stride_h, stride_w, dil_h, dil_w;
} geom;

#define GEOM_ARGS(g)                                                                           \
    CLCNN__ARG_INT((g).N), CLCNN__ARG_INT((g).C), CLCNN__ARG_INT((g).H),                       \
        CLCNN__ARG_INT((g).W), CLCNN__ARG_INT((g).K), CLCNN__ARG_INT((g).R),                   \
        CLCNN__ARG_INT((g).S), CLCNN__ARG_INT((g).P), CLCNN__ARG_INT((g).Q),                   \
        CLCNN__ARG_INT((g).pad_top), CLCNN__ARG_INT((g).pad_left),                             \
        CLCNN__ARG_INT((g).stride_h), CLCNN__ARG_INT((g).stride_w),                            \
        CLCNN__ARG_INT((g).dil_h), CLCNN__ARG_INT((g).dil_w)

/* ---- kernels and their tile variants ---- */

/* One register block of one kernel: rows (output or input channels) x width
 * (the vector width along pixels), and a third size that only some kernels
 * have (GEMM: the reduction chunk KC; backward-filter: the taps TJ). */
typedef struct tile {
    const char *name;
    int rows, width, extra;
} tile;

typedef struct family {
    clcnn__conv2d_pass pass;
    clcnn_conv_algo algo;
    const char *source, *kernel;
    const tile *tiles;
    int count;
} family;

/* Variant 0 is the large block for big layers, variant 1 the small block for
 * layers with few channels or small images, where a large block would mostly
 * compute padding lanes. */
static const tile direct_tiles[] = {{"direct 8x16", 8, 16, 0}, {"direct 4x8", 4, 8, 0}};
static const tile gemm_tiles[] = {{"gemm 8x16 kc256", 8, 16, 256},
                                  {"gemm 4x8 kc128", 4, 8, 128}};
static const tile bwd_data_tiles[] = {{"bwd-data 8x16", 8, 16, 0},
                                      {"bwd-data 4x8", 4, 8, 0}};
static const tile bwd_filter_tiles[] = {{"bwd-filter 4x6x8", 4, 8, 6},
                                        {"bwd-filter 4x4x4", 4, 4, 4}};

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const family families[] = {
    {CLCNN__CONV2D_FORWARD, CLCNN_CONV_DIRECT, "conv2d", "conv2d_fwd_direct", direct_tiles,
     COUNT_OF(direct_tiles)},
    {CLCNN__CONV2D_FORWARD, CLCNN_CONV_GEMM, "conv2d_gemm", "conv2d_fwd_gemm", gemm_tiles,
     COUNT_OF(gemm_tiles)},
    {CLCNN__CONV2D_BACKWARD_DATA, CLCNN_CONV_DIRECT, "conv2d_bwd_data", "conv2d_bwd_data",
     bwd_data_tiles, COUNT_OF(bwd_data_tiles)},
    {CLCNN__CONV2D_BACKWARD_FILTER, CLCNN_CONV_GEMM, "conv2d_bwd_filter", "conv2d_bwd_filter",
     bwd_filter_tiles, COUNT_OF(bwd_filter_tiles)},
};

static const family *find_family(clcnn__conv2d_pass pass, clcnn_conv_algo algo)
{
    for (int i = 0; i < COUNT_OF(families); i++)
        if (families[i].pass == pass && families[i].algo == algo)
            return &families[i];
    return NULL;
}

/* The backward passes have one algorithm each, whatever params->algo says. */
static clcnn_conv_algo backward_algo(clcnn__conv2d_pass pass)
{
    return pass == CLCNN__CONV2D_BACKWARD_DATA ? CLCNN_CONV_DIRECT : CLCNN_CONV_GEMM;
}

int clcnn__conv2d_variant_count(clcnn__conv2d_pass pass, clcnn_conv_algo algo)
{
    const family *f = find_family(pass, algo);
    return f ? f->count : 0;
}

const char *clcnn__conv2d_variant_name(clcnn__conv2d_pass pass, clcnn_conv_algo algo,
                                       int variant)
{
    const family *f = find_family(pass, algo);
    return f && variant >= 0 && variant < f->count ? f->tiles[variant].name : "?";
}

/* The -D options of the kernel source for tile t. */
static void tile_options(const family *f, const tile *t, char *buf, size_t size)
{
    if (f->pass == CLCNN__CONV2D_BACKWARD_DATA)
        snprintf(buf, size, "-D CB=%d -D WB=%d", t->rows, t->width);
    else if (f->pass == CLCNN__CONV2D_BACKWARD_FILTER)
        snprintf(buf, size, "-D TM=%d -D QV=%d -D TJ=%d", t->rows, t->width, t->extra);
    else if (f->algo == CLCNN_CONV_GEMM)
        snprintf(buf, size, "-D TM=%d -D TN=%d -D KC=%d", t->rows, t->width, t->extra);
    else
        snprintf(buf, size, "-D KB=%d -D QB=%d", t->rows, t->width);
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* ---- the algorithm choice ---- */

/*
 * The AUTO rule, measured with bench/bench_conv2d on PoCL (2-core AVX-512
 * host) over the VGG-style layer, the LeNet-5 and Keras convnet layers at
 * batch 8 and a stride-2 layer; a tuning database will replace it:
 * - forward: DIRECT for stride_w 1 and output rows of at least 8 columns. Its
 *   vector loads read input rows in place and it beat GEMM there even with
 *   half-empty 16-lane blocks (Q = 10, 11). GEMM otherwise: its pixel tiles
 *   span rows, so they stay full for tiny outputs (Q = 3), and its gathered
 *   panel is reused across all output channels, which pays for strides.
 * - the large block everywhere except where its extra rows or lanes would be
 *   mostly empty: K <= 4 (forward), C < 6 or fewer than 8 columns per phase
 *   (backward-data), P*Q <= 8 (GEMM), Q <= 2 (backward-filter).
 * Blocks hold 16-24 accumulator registers of 256 bits: LLVM prefers 256-bit
 * vectors on these hosts and splits a float16 into two registers.
 * On GPUs the same rule applies until the tuning database exists.
 */
void clcnn__conv2d_choose(const clcnn_context *ctx, clcnn__conv2d_pass pass,
                          const int x_shape[4], const int w_shape[4],
                          const clcnn_conv2d_params *params, clcnn_conv_algo *algo,
                          int *variant)
{
    (void)ctx;
    int y_shape[4] = {0, 0, 0, 0};
    clcnn_conv2d_output_shape(x_shape, w_shape, params, y_shape, NULL, 0);
    const int C = x_shape[1], W = x_shape[3], K = w_shape[0];
    const int P = y_shape[2], Q = y_shape[3];
    const int stride_w = params->stride_w ? params->stride_w : 1;
    if (pass == CLCNN__CONV2D_BACKWARD_DATA) {
        *algo = CLCNN_CONV_DIRECT;
        *variant = (C >= 6 && (W + stride_w - 1) / stride_w >= 8) ? 0 : 1;
    } else if (pass == CLCNN__CONV2D_BACKWARD_FILTER) {
        *algo = CLCNN_CONV_GEMM;
        *variant = Q > 2 ? 0 : 1;
    } else {
        *algo = params->algo;
        if (*algo == CLCNN_CONV_AUTO)
            *algo = (stride_w == 1 && Q >= 8) ? CLCNN_CONV_DIRECT : CLCNN_CONV_GEMM;
        if (*algo == CLCNN_CONV_DIRECT)
            *variant = K > 4 ? 0 : 1;
        else
            *variant = (K > 4 && (long long)P * Q > 8) ? 0 : 1;
    }
}

/* ---- shape checks ---- */

clcnn_status clcnn_conv2d_output_shape(const int x_shape[4], const int w_shape[4],
                                       const clcnn_conv2d_params *params, int y_shape[4],
                                       char *message, size_t message_size)
{
    if (!x_shape || !w_shape || !params || !y_shape) {
        clcnn__message(message, message_size, "%s is NULL",
                       !x_shape ? "x_shape" : !w_shape ? "w_shape" : !params ? "params"
                                                                             : "y_shape");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    memset(y_shape, 0, 4 * sizeof *y_shape);
    const struct {
        const char *name;
        int value, max;
    } fields[] = {
        {"pad_top", params->pad_top, INT_MAX},       {"pad_bottom", params->pad_bottom, INT_MAX},
        {"pad_left", params->pad_left, INT_MAX},     {"pad_right", params->pad_right, INT_MAX},
        {"stride_h", params->stride_h, CONV2D_MAX_STEP},
        {"stride_w", params->stride_w, CONV2D_MAX_STEP},
        {"dilation_h", params->dilation_h, CONV2D_MAX_STEP},
        {"dilation_w", params->dilation_w, CONV2D_MAX_STEP},
    };
    for (int i = 0; i < COUNT_OF(fields); i++)
        if (fields[i].value < 0 || fields[i].value > fields[i].max) {
            clcnn__message(message, message_size,
                           "params.%s is %d; it must be in [0, %d] (0 means 1 for strides "
                           "and dilations)",
                           fields[i].name, fields[i].value, fields[i].max);
            return CLCNN_ERR_INVALID_ARGUMENT;
        }
    if ((unsigned)params->algo >= (unsigned)CLCNN_CONV_ALGO_COUNT) {
        clcnn__message(message, message_size, "params.algo is %d; it must be a clcnn_conv_algo",
                       (int)params->algo);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }

    char xs[64], ws[64];
    clcnn__shape_str(x_shape, xs, sizeof xs);
    clcnn__shape_str(w_shape, ws, sizeof ws);
    if (clcnn__shape_count(x_shape) == 0 || clcnn__shape_count(w_shape) == 0) {
        clcnn__message(message, message_size,
                       "x %s or w %s is not a valid shape: every dimension must be >= 1", xs,
                       ws);
        return CLCNN_ERR_SHAPE;
    }
    if (x_shape[1] != w_shape[1]) {
        clcnn__message(message, message_size,
                       "x (N,C,H,W) %s has C = %d but w (K,C,R,S) %s has C = %d", xs,
                       x_shape[1], ws, w_shape[1]);
        return CLCNN_ERR_SHAPE;
    }

    const int stride_h = params->stride_h ? params->stride_h : 1;
    const int stride_w = params->stride_w ? params->stride_w : 1;
    const int dil_h = params->dilation_h ? params->dilation_h : 1;
    const int dil_w = params->dilation_w ? params->dilation_w : 1;
    const long long ext_h = (long long)(w_shape[2] - 1) * dil_h + 1;
    const long long ext_w = (long long)(w_shape[3] - 1) * dil_w + 1;
    const struct {
        const char *name;
        int pad;
        long long extent;
    } pads[] = {{"pad_top", params->pad_top, ext_h},
                {"pad_bottom", params->pad_bottom, ext_h},
                {"pad_left", params->pad_left, ext_w},
                {"pad_right", params->pad_right, ext_w}};
    for (int i = 0; i < COUNT_OF(pads); i++)
        if (pads[i].pad >= pads[i].extent) {
            clcnn__message(message, message_size,
                           "params.%s is %d; it must be smaller than the dilated filter "
                           "extent %lld of w %s, so that every output sees an input pixel",
                           pads[i].name, pads[i].pad, pads[i].extent, ws);
            return CLCNN_ERR_INVALID_ARGUMENT;
        }

    const long long span_h = (long long)x_shape[2] + params->pad_top + params->pad_bottom;
    const long long span_w = (long long)x_shape[3] + params->pad_left + params->pad_right;
    if (span_h > INT_MAX / 2 || span_w > INT_MAX / 2) {
        clcnn__message(message, message_size, "the padded input of x %s is too large", xs);
        return CLCNN_ERR_SHAPE;
    }
    if (span_h < ext_h || span_w < ext_w) {
        clcnn__message(message, message_size,
                       "the dilated filter (%lld x %lld) of w %s does not fit the padded "
                       "input (%lld x %lld) of x %s",
                       ext_h, ext_w, ws, span_h, span_w, xs);
        return CLCNN_ERR_SHAPE;
    }
    int out[4] = {x_shape[0], w_shape[0], (int)((span_h - ext_h) / stride_h + 1),
                  (int)((span_w - ext_w) / stride_w + 1)};
    if (clcnn__shape_count(out) == 0) {
        char ys[64];
        clcnn__message(message, message_size, "the output %s of x %s and w %s is too large",
                       clcnn__shape_str(out, ys, sizeof ys), xs, ws);
        return CLCNN_ERR_SHAPE;
    }
    memcpy(y_shape, out, sizeof out);
    return CLCNN_OK;
}

/* Fills g from the input shape (x or dx), the filter shape (w or dw) and
 * params, and checks that the output tensor (y or dy) has exactly the output
 * shape. op and the names go into the message. */
static clcnn_status make_geom(clcnn_context *ctx, const char *op, const clcnn_tensor *in,
                              const char *in_name, const clcnn_tensor *filter,
                              const char *filter_name, const clcnn_tensor *out,
                              const char *out_name, const clcnn_conv2d_params *params, geom *g)
{
    if (!params)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    char msg[512];
    int y_shape[4];
    clcnn_status st = clcnn_conv2d_output_shape(in->shape, filter->shape, params, y_shape, msg,
                                                sizeof msg);
    if (st != CLCNN_OK)
        return clcnn__fail(ctx, st, "%s: %s (%s, %s)", op, msg, in_name, filter_name);
    if (memcmp(y_shape, out->shape, sizeof y_shape) != 0) {
        char is[64], fs[64], os[64], ys[64];
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE,
                           "%s: %s is %s but %s %s and %s %s give the output shape %s", op,
                           out_name, clcnn__shape_str(out->shape, os, sizeof os), in_name,
                           clcnn__shape_str(in->shape, is, sizeof is), filter_name,
                           clcnn__shape_str(filter->shape, fs, sizeof fs),
                           clcnn__shape_str(y_shape, ys, sizeof ys));
    }
    *g = (geom){
        .N = in->shape[0], .C = in->shape[1], .H = in->shape[2], .W = in->shape[3],
        .K = filter->shape[0], .R = filter->shape[2], .S = filter->shape[3],
        .P = y_shape[2], .Q = y_shape[3],
        .pad_top = params->pad_top, .pad_left = params->pad_left,
        .stride_h = params->stride_h ? params->stride_h : 1,
        .stride_w = params->stride_w ? params->stride_w : 1,
        .dil_h = params->dilation_h ? params->dilation_h : 1,
        .dil_w = params->dilation_w ? params->dilation_w : 1,
    };
    return CLCNN_OK;
}

/* A bias or bias gradient: K elements in any shape, (K,1,1,1) by convention. */
static clcnn_status check_bias(clcnn_context *ctx, const char *op, const clcnn_tensor *b,
                               const char *name, const geom *g)
{
    if (b && clcnn__shape_count(b->shape) != (size_t)g->K) {
        char bs[64];
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE, "%s: %s is %s but needs K = %d elements", op,
                           name, clcnn__shape_str(b->shape, bs, sizeof bs), g->K);
    }
    return CLCNN_OK;
}

/* An output must not share memory with an input: the kernels read inputs
 * while they write, and the GEMM keeps partial sums in y. */
static clcnn_status check_overlap(clcnn_context *ctx, const char *op, const clcnn_tensor *out,
                                  const char *out_name, const clcnn_tensor *in,
                                  const char *in_name)
{
    if (!in || out->mem != in->mem)
        return CLCNN_OK;
    size_t out_end = out->offset + clcnn__shape_count(out->shape);
    size_t in_end = in->offset + clcnn__shape_count(in->shape);
    if (out->offset < in_end && in->offset < out_end)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: %s overlaps %s in memory; outputs must not overlap inputs",
                           op, out_name, in_name);
    return CLCNN_OK;
}

/* The kernel of (pass, algo) for the given (or chosen) variant. */
static clcnn_status get_kernel(clcnn_context *ctx, const char *op, clcnn__conv2d_pass pass,
                               clcnn_conv_algo algo, int variant, const char *kernel_name,
                               const tile **t, cl_kernel *k)
{
    const family *f = find_family(pass, algo);
    if (!f || variant < 0 || variant >= f->count)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: no tile variant %d for algorithm %d (it has %d)", op, variant,
                           (int)algo, f ? f->count : 0);
    *t = &f->tiles[variant];
    if (f->algo == CLCNN_CONV_GEMM && pass == CLCNN__CONV2D_FORWARD &&
        (unsigned long long)(*t)->extra * (*t)->width * sizeof(float) > ctx->local_mem_bytes)
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                           "%s: %s needs more local memory than the device's %llu bytes", op,
                           (*t)->name, ctx->local_mem_bytes);
    char options[128];
    tile_options(f, *t, options, sizeof options);
    return clcnn__kernel(ctx, f->source, options, kernel_name ? kernel_name : f->kernel, k);
}

/* On a CPU, PoCL runs a work-group of one as straight-line code; GPUs get
 * their own choice from the driver for the kernels that allow any size. */
static const size_t *local_size(const clcnn_context *ctx)
{
    static const size_t one[3] = {1, 1, 1};
    return ctx->info.is_gpu ? NULL : one;
}

/* ---- forward ---- */

static clcnn_status launch_forward(clcnn_context *ctx, clcnn_conv_algo algo, int variant,
                                   const clcnn_tensor *x, const clcnn_tensor *w,
                                   const clcnn_tensor *b, clcnn_tensor *y, const geom *g,
                                   int relu)
{
    const tile *t;
    cl_kernel k;
    clcnn_status st = get_kernel(ctx, "clcnn_conv2d_forward", CLCNN__CONV2D_FORWARD, algo,
                                 variant, NULL, &t, &k);
    if (st != CLCNN_OK)
        return st;
    /* Without a bias the kernel gets w's buffer as a never-read stand-in. */
    const cl_mem b_mem = b ? b->mem : w->mem;
    const int b_off = b ? (int)b->offset : 0;
    const int epilogue = (b != NULL) | (relu ? 2 : 0);
    if (algo == CLCNN_CONV_DIRECT) {
        const size_t global[3] = {ceil_div((size_t)g->Q, (size_t)t->width),
                                  (size_t)g->N * (size_t)g->P,
                                  ceil_div((size_t)g->K, (size_t)t->rows)};
        return CLCNN__LAUNCH(ctx, k, 3, global, local_size(ctx), CLCNN__ARG_TENSOR(x),
                             CLCNN__ARG_TENSOR(w), CLCNN__ARG_MEM(b_mem), CLCNN__ARG_INT(b_off),
                             CLCNN__ARG_INT(epilogue), CLCNN__ARG_TENSOR(y), GEOM_ARGS(*g));
    }
    /* Each work-item reuses its gathered panel for k_per_item output
     * channels; all of K unless that leaves too few work-items to fill the
     * device, then K is split. */
    const size_t tiles = ceil_div((size_t)g->P * (size_t)g->Q, (size_t)t->width);
    const size_t items = tiles * (size_t)g->N;
    const size_t want = 4 * (size_t)(ctx->info.compute_units ? ctx->info.compute_units : 1);
    size_t blocks = ceil_div((size_t)g->K, (size_t)t->rows);
    size_t splits = items >= want ? 1 : ceil_div(want, items);
    if (splits > blocks)
        splits = blocks;
    const size_t k_per_item = ceil_div(blocks, splits) * (size_t)t->rows;
    const size_t global[3] = {tiles, (size_t)g->N, ceil_div((size_t)g->K, k_per_item)};
    static const size_t one[3] = {1, 1, 1};
    return CLCNN__LAUNCH(ctx, k, 3, global, one, CLCNN__ARG_TENSOR(x), CLCNN__ARG_TENSOR(w),
                         CLCNN__ARG_MEM(b_mem), CLCNN__ARG_INT(b_off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_TENSOR(y), GEOM_ARGS(*g), CLCNN__ARG_INT(k_per_item));
}

clcnn_status clcnn__conv2d_forward_act_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                               const clcnn_tensor *w, const clcnn_tensor *b,
                                               clcnn_tensor *y,
                                               const clcnn_conv2d_params *params, int relu,
                                               int variant)
{
    static const char op[] = "clcnn_conv2d_forward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    if (relu != 0 && relu != 1)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: relu is %d; it must be 0 or 1",
                           op, relu);
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, w, "w")) != CLCNN_OK ||
        (b && (st = clcnn__check_tensor(ctx, b, "b")) != CLCNN_OK) ||
        (st = clcnn__check_tensor(ctx, y, "y")) != CLCNN_OK)
        return st;
    geom g;
    if ((st = make_geom(ctx, op, x, "x", w, "w", y, "y", params, &g)) != CLCNN_OK ||
        (st = check_bias(ctx, op, b, "b", &g)) != CLCNN_OK ||
        (st = check_overlap(ctx, op, y, "y", x, "x")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, y, "y", w, "w")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, y, "y", b, "b")) != CLCNN_OK)
        return st;
    clcnn_conv_algo algo = params->algo;
    if (variant < 0) {
        clcnn__conv2d_choose(ctx, CLCNN__CONV2D_FORWARD, x->shape, w->shape, params, &algo,
                             &variant);
    } else if (algo == CLCNN_CONV_AUTO) {
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: a forced tile variant needs params.algo DIRECT or GEMM", op);
    }
    return launch_forward(ctx, algo, variant, x, w, b, y, &g, relu);
}

clcnn_status clcnn__conv2d_forward_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                           const clcnn_tensor *w, const clcnn_tensor *b,
                                           clcnn_tensor *y, const clcnn_conv2d_params *params,
                                           int variant)
{
    return clcnn__conv2d_forward_act_variant(ctx, x, w, b, y, params, 0, variant);
}

/* x (N,C,H,W), w (K,C,R,S), b (K) or NULL -> y (N,K,P,Q) = relu(conv + b) */
clcnn_status clcnn__conv2d_forward_act(clcnn_context *ctx, const clcnn_tensor *x,
                                       const clcnn_tensor *w, const clcnn_tensor *b,
                                       clcnn_tensor *y, const clcnn_conv2d_params *p, int relu)
{
    return clcnn__conv2d_forward_act_variant(ctx, x, w, b, y, p, relu, -1);
}

/* x (N,C,H,W), w (K,C,R,S), b (K) or NULL -> y (N,K,P,Q) */
clcnn_status clcnn_conv2d_forward(clcnn_context *ctx, const clcnn_tensor *x,
                                  const clcnn_tensor *w, const clcnn_tensor *b, clcnn_tensor *y,
                                  const clcnn_conv2d_params *params)
{
    return clcnn__conv2d_forward_variant(ctx, x, w, b, y, params, -1);
}

/* ---- backward ---- */

clcnn_status clcnn__conv2d_backward_data_variant(clcnn_context *ctx, const clcnn_tensor *dy,
                                                 const clcnn_tensor *w, clcnn_tensor *dx,
                                                 const clcnn_conv2d_params *params,
                                                 int variant)
{
    static const char op[] = "clcnn_conv2d_backward_data";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, w, "w")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dx, "dx")) != CLCNN_OK)
        return st;
    geom g;
    if ((st = make_geom(ctx, op, dx, "dx", w, "w", dy, "dy", params, &g)) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dx, "dx", dy, "dy")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dx, "dx", w, "w")) != CLCNN_OK)
        return st;
    clcnn_conv_algo algo = backward_algo(CLCNN__CONV2D_BACKWARD_DATA);
    if (variant < 0)
        clcnn__conv2d_choose(ctx, CLCNN__CONV2D_BACKWARD_DATA, dx->shape, w->shape, params,
                             &algo, &variant);
    const tile *t;
    cl_kernel k;
    if ((st = get_kernel(ctx, op, CLCNN__CONV2D_BACKWARD_DATA, algo, variant, NULL, &t, &k)) !=
        CLCNN_OK)
        return st;
    /* Columns are grouped by phase (v mod stride_w) so that a work-item's
     * lanes read consecutive dy columns; nblk blocks of width lanes each. */
    const size_t nblk = ceil_div(ceil_div((size_t)g.W, (size_t)g.stride_w), (size_t)t->width);
    const size_t global[3] = {(size_t)g.stride_w * nblk, (size_t)g.N * (size_t)g.H,
                              ceil_div((size_t)g.C, (size_t)t->rows)};
    return CLCNN__LAUNCH(ctx, k, 3, global, local_size(ctx), CLCNN__ARG_TENSOR(dy),
                         CLCNN__ARG_TENSOR(w), CLCNN__ARG_TENSOR(dx), GEOM_ARGS(g),
                         CLCNN__ARG_INT(nblk));
}

/* dy (N,K,P,Q), w (K,C,R,S) -> dx (N,C,H,W), overwritten */
clcnn_status clcnn_conv2d_backward_data(clcnn_context *ctx, const clcnn_tensor *dy,
                                        const clcnn_tensor *w, clcnn_tensor *dx,
                                        const clcnn_conv2d_params *params)
{
    return clcnn__conv2d_backward_data_variant(ctx, dy, w, dx, params, -1);
}

clcnn_status clcnn__conv2d_backward_filter_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                                   const clcnn_tensor *dy, clcnn_tensor *dw,
                                                   clcnn_tensor *db,
                                                   const clcnn_conv2d_params *params,
                                                   int variant)
{
    static const char op[] = "clcnn_conv2d_backward_filter";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, x, "x")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dw, "dw")) != CLCNN_OK ||
        (db && (st = clcnn__check_tensor(ctx, db, "db")) != CLCNN_OK))
        return st;
    geom g;
    if ((st = make_geom(ctx, op, x, "x", dw, "dw", dy, "dy", params, &g)) != CLCNN_OK ||
        (st = check_bias(ctx, op, db, "db", &g)) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dw, "dw", x, "x")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dw, "dw", dy, "dy")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dw, "dw", db, "db")) != CLCNN_OK ||
        (db && (st = check_overlap(ctx, op, db, "db", x, "x")) != CLCNN_OK) ||
        (db && (st = check_overlap(ctx, op, db, "db", dy, "dy")) != CLCNN_OK))
        return st;
    clcnn_conv_algo algo = backward_algo(CLCNN__CONV2D_BACKWARD_FILTER);
    if (variant < 0)
        clcnn__conv2d_choose(ctx, CLCNN__CONV2D_BACKWARD_FILTER, x->shape, dw->shape, params,
                             &algo, &variant);
    const tile *t;
    cl_kernel k, kb = NULL;
    if ((st = get_kernel(ctx, op, CLCNN__CONV2D_BACKWARD_FILTER, algo, variant, NULL, &t,
                         &k)) != CLCNN_OK ||
        (db && (st = get_kernel(ctx, op, CLCNN__CONV2D_BACKWARD_FILTER, algo, variant,
                                "conv2d_bwd_bias", &t, &kb)) != CLCNN_OK))
        return st;
    const size_t crs = (size_t)g.C * (size_t)g.R * (size_t)g.S;
    const size_t global[2] = {ceil_div(crs, (size_t)t->extra),
                              ceil_div((size_t)g.K, (size_t)t->rows)};
    st = CLCNN__LAUNCH(ctx, k, 2, global, local_size(ctx), CLCNN__ARG_TENSOR(x),
                       CLCNN__ARG_TENSOR(dy), CLCNN__ARG_TENSOR(dw), GEOM_ARGS(g));
    if (st != CLCNN_OK || !db)
        return st;
    const size_t bias_global[1] = {(size_t)g.K};
    return CLCNN__LAUNCH(ctx, kb, 1, bias_global, local_size(ctx), CLCNN__ARG_TENSOR(dy),
                         CLCNN__ARG_TENSOR(db), CLCNN__ARG_INT(g.N), CLCNN__ARG_INT(g.K),
                         CLCNN__ARG_INT(g.P), CLCNN__ARG_INT(g.Q));
}

/* x (N,C,H,W), dy (N,K,P,Q) -> dw (K,C,R,S) +=, db (K) += if not NULL */
clcnn_status clcnn_conv2d_backward_filter(clcnn_context *ctx, const clcnn_tensor *x,
                                          const clcnn_tensor *dy, clcnn_tensor *dw,
                                          clcnn_tensor *db, const clcnn_conv2d_params *params)
{
    return clcnn__conv2d_backward_filter_variant(ctx, x, dy, dw, db, params, -1);
}
