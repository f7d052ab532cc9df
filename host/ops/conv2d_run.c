/*
 * conv2d launchers: each runs one tile variant of one pass on device buffers
 * whose geometry conv2d.c has already checked. Scratch buffers (a flipped
 * filter, partial sums) are allocated per call and released once enqueued;
 * OpenCL keeps them alive until the kernels that use them are done.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

#define ceil_div conv2d_ceil_div

/* On a CPU, PoCL runs a work-group of one as straight-line code; GPUs get
 * their own choice from the driver for the kernels that allow any size. */
static const size_t *local_size(const clcnn_context *ctx)
{
    static const size_t one[3] = {1, 1, 1};
    return ctx->info.is_gpu ? NULL : one;
}

size_t clcnn__conv2d_compute_units(const clcnn_context *ctx)
{
    return ctx->info.compute_units ? ctx->info.compute_units : 1;
}

clcnn_status clcnn__conv2d_scratch(clcnn_context *ctx, size_t count, clcnn_tensor **t)
{
    if (count > 0x7fffffff)
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                           "conv2d: a scratch buffer of %zu floats is too large", count);
    return clcnn__scratch(ctx, count, t);
}

void clcnn__conv2d_size_1d(const clcnn_context *ctx, size_t count, size_t *global,
                           size_t *local)
{
    *local = ctx->max_work_group_size && ctx->max_work_group_size < 64
                 ? ctx->max_work_group_size
                 : 64;
    *global = clcnn__round_up(count ? count : 1, *local);
}

#define compute_units clcnn__conv2d_compute_units
#define scratch clcnn__conv2d_scratch
#define size_1d clcnn__conv2d_size_1d

static conv2d_buf tensor_buf(const clcnn_tensor *t)
{
    return (conv2d_buf){t->mem, (int)t->offset};
}

/* ---- forward ---- */

static clcnn_status forward_direct(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                   conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                   const conv2d_geom *g, int epilogue)
{
    /* c: output rows per work-item of the rows kernel (0: one, the block kernel) */
    char options[64];
    snprintf(options, sizeof options, "-D KB=%d -D QB=%d -D PB=%d", t->a, t->b,
             t->c ? t->c : 4);
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d", options,
                                    t->c ? "conv2d_fwd_rows" : "conv2d_fwd_direct", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t rows = t->c ? ceil_div((size_t)g->P, (size_t)t->c) : (size_t)g->P;
    const size_t global[3] = {ceil_div((size_t)g->Q, (size_t)t->b), (size_t)g->N * rows,
                              ceil_div((size_t)g->K, (size_t)t->a)};
    return CLCNN__LAUNCH(ctx, k, 3, global, local_size(ctx), CLCNN__ARG_MEM(x.mem),
                         CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                         CLCNN__ARG_MEM(b.mem), CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g));
}

/* The filter size is compiled in, so each (R, S) builds its own program; a
 * work-item sweeps a band of rows of one image, as many bands as it takes to
 * give every compute unit a few work-items. */
static clcnn_status forward_plane(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                  conv2d_buf w, conv2d_buf b, conv2d_buf y, const conv2d_geom *g,
                                  int epilogue)
{
    char options[96];
    snprintf(options, sizeof options,
             "-D PLANE_PASS=1 -D FR=%d -D FS=%d -D KB=%d -D PB=%d -D QB=%d", g->R, g->S, t->a,
             t->b, t->c);
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_plane", options, "conv2d_fwd_plane", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t kblocks = ceil_div((size_t)g->K, (size_t)t->a);
    const size_t steps = ceil_div((size_t)g->P, (size_t)t->b);
    const size_t want = 4 * compute_units(ctx);
    const size_t items = (size_t)g->N * kblocks;
    size_t bands = items >= want ? 1 : ceil_div(want, items);
    if (bands > steps)
        bands = steps;
    const size_t rows_per_band = ceil_div(steps, bands) * (size_t)t->b;
    bands = ceil_div((size_t)g->P, rows_per_band);
    const size_t global[2] = {(size_t)g->N * bands, kblocks};
    return CLCNN__LAUNCH(ctx, k, 2, global, local_size(ctx), CLCNN__ARG_MEM(x.mem),
                         CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                         CLCNN__ARG_MEM(b.mem), CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g),
                         CLCNN__ARG_INT(bands), CLCNN__ARG_INT(rows_per_band));
}

/* A work-item copies one image's rows of shifted input and sweeps a share
 * of its output channels: all of them when the images alone keep every
 * compute unit busy. */
static clcnn_status forward_flat(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                 conv2d_buf w, conv2d_buf b, conv2d_buf y, const conv2d_geom *g,
                                 int epilogue)
{
    char options[128];
    snprintf(options, sizeof options,
             "-D PLANE_PASS=3 -D FR=%d -D FS=%d -D CB=%d -D KB=%d -D QB=%d -D FLAT_PQ=%d "
             "-D FLAT_Q=%d",
             g->R, g->S, g->C, t->a, t->c, g->P * g->Q, g->Q);
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_plane", options, "conv2d_fwd_flat", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t kblocks = ceil_div((size_t)g->K, (size_t)t->a);
    const size_t want = 4 * compute_units(ctx);
    size_t shares = (size_t)g->N >= want ? 1 : ceil_div(want, (size_t)g->N);
    if (shares > kblocks)
        shares = kblocks;
    const size_t k_per_item = ceil_div(kblocks, shares) * (size_t)t->a;
    const size_t global[2] = {(size_t)g->N, ceil_div((size_t)g->K, k_per_item)};
    return CLCNN__LAUNCH(ctx, k, 2, global, local_size(ctx), CLCNN__ARG_MEM(x.mem),
                         CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                         CLCNN__ARG_MEM(b.mem), CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g),
                         CLCNN__ARG_INT(k_per_item));
}

/* The share of (output pixel, tap) pairs that lie inside the input along one
 * axis: out positions, taps of size, input extent, padding before, stride,
 * dilation. */
static double inside_share(int out, int taps, int extent, int pad, int stride, int dil)
{
    long long inside = 0;
    for (int o = 0; o < out; o++)
        for (int r = 0; r < taps; r++) {
            const long long at = (long long)o * stride - pad + (long long)r * dil;
            inside += at >= 0 && at < extent;
        }
    return (double)inside / ((double)out * taps);
}

/* The filter is packed (R, S, C, Kpad) into a scratch tensor first. Where
 * more than 40% of the (pixel, tap) pairs are padding, the pixels go
 * position first, so that each work-item skips the padding's taps. */
static clcnn_status forward_kvec(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                 conv2d_buf w, conv2d_buf b, conv2d_buf y, const conv2d_geom *g,
                                 int epilogue)
{
    const double inside =
        inside_share(g->P, g->R, g->H, g->pad_top, g->stride_h, g->dil_h) *
        inside_share(g->Q, g->S, g->W, g->pad_left, g->stride_w, g->dil_w);
    char options[64];
    snprintf(options, sizeof options, "-D KV=%d -D PT=%d -D BY_POSITION=%d", t->a, t->b,
             inside < 0.6);
    cl_kernel k, kp;
    clcnn_status st;
    if ((st = clcnn__kernel(ctx, "conv2d_kvec", options, "conv2d_fwd_kvec", &k)) != CLCNN_OK ||
        (st = clcnn__kernel(ctx, "conv2d_kvec", options, "conv2d_pack_kvec", &kp)) != CLCNN_OK)
        return st;
    const size_t kpad = ceil_div((size_t)g->K, 16 * (size_t)t->a) * 16 * (size_t)t->a;
    const size_t taps = (size_t)g->R * g->S * g->C;
    clcnn_tensor *wt = NULL;
    if ((st = scratch(ctx, taps * kpad, &wt)) != CLCNN_OK)
        return st;
    const size_t pack_global[2] = {kpad, taps};
    st = CLCNN__LAUNCH(ctx, kp, 2, pack_global, NULL, CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                       CLCNN__ARG_MEM(wt->mem), CLCNN__ARG_INT(wt->offset), CLCNN__ARG_INT(g->K),
                       CLCNN__ARG_INT(g->C), CLCNN__ARG_INT(g->R), CLCNN__ARG_INT(g->S),
                       CLCNN__ARG_INT(kpad));
    const size_t pixels = (size_t)g->N * g->P * g->Q;
    const size_t global[2] = {ceil_div(pixels, (size_t)t->b), kpad / (16 * (size_t)t->a)};
    if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, k, 2, global, local_size(ctx), CLCNN__ARG_MEM(x.mem),
                           CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(wt->mem),
                           CLCNN__ARG_INT(wt->offset), CLCNN__ARG_MEM(b.mem),
                           CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                           CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g),
                           CLCNN__ARG_INT(kpad));
    clcnn_tensor_destroy(wt);
    return st;
}

static clcnn_status forward_gemm(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                 conv2d_buf w, conv2d_buf b, conv2d_buf y, const conv2d_geom *g,
                                 int epilogue)
{
    /* b pixels per work-item: one vector of up to 16, or two of 16 */
    char options[80];
    const int tn = t->b > 16 ? 16 : t->b;
    snprintf(options, sizeof options, "-D TM=%d -D TN=%d -D NV=%d -D KC=%d%s", t->a, tn,
             t->b / tn, t->c, t->flipped ? " -D FLIP_W=1" : "");
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_gemm", options, "conv2d_fwd_gemm", &k);
    if (st != CLCNN_OK)
        return st;
    /* Each work-item reuses its gathered panel for k_per_item output
     * channels; all of K unless that leaves too few work-items to fill the
     * device, then K is split. */
    const size_t tiles = ceil_div((size_t)g->P * (size_t)g->Q, (size_t)t->b);
    const size_t items = tiles * (size_t)g->N;
    const size_t want = 4 * compute_units(ctx);
    size_t blocks = ceil_div((size_t)g->K, (size_t)t->a);
    size_t splits = items >= want ? 1 : ceil_div(want, items);
    if (splits > blocks)
        splits = blocks;
    const size_t k_per_item = ceil_div(blocks, splits) * (size_t)t->a;
    const size_t global[3] = {tiles, (size_t)g->N, ceil_div((size_t)g->K, k_per_item)};
    static const size_t one[3] = {1, 1, 1};
    return CLCNN__LAUNCH(ctx, k, 3, global, one, CLCNN__ARG_MEM(x.mem), CLCNN__ARG_INT(x.off),
                         CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off), CLCNN__ARG_MEM(b.mem),
                         CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g),
                         CLCNN__ARG_INT(k_per_item));
}

clcnn_status clcnn__conv2d_run_forward(clcnn_context *ctx, const conv2d_tile *t,
                                       conv2d_buf x, conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                       const conv2d_geom *g, int epilogue)
{
    /* Without a bias the kernels get w's buffer as a never-read stand-in. */
    if (!b.mem)
        b = (conv2d_buf){w.mem, 0};
    switch (t->method) {
    case CONV2D_M_DIRECT:
        return forward_direct(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_GEMM:
        return forward_gemm(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_PLANE:
        return forward_plane(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_FLAT:
        return forward_flat(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_KVEC:
        return forward_kvec(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_1X1:
        return clcnn__conv2d_forward_1x1(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_WINO:
        return clcnn__conv2d_forward_winograd(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_IM2COL:
        return clcnn__conv2d_forward_im2col(ctx, t, x, w, b, y, g, epilogue);
    default:
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED, "conv2d: %s is not a forward variant",
                           t->name);
    }
}

/* ---- backward data ---- */

/* The filter w (K,C,R,S) rewritten by kernel `name` of conv2d_bwd_data.cl
 * into a new scratch tensor *out (flipped: (C,K,R,S); packed: (R,S,K,C)). */
static clcnn_status repack_filter(clcnn_context *ctx, const char *name, conv2d_buf w,
                                  const conv2d_geom *g, clcnn_tensor **out)
{
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_bwd_data", "-D REPACK_ONLY", name, &k);
    if (st != CLCNN_OK)
        return st;
    if ((st = scratch(ctx, (size_t)g->K * g->C * g->R * g->S, out)) != CLCNN_OK)
        return st;
    size_t global, local;
    const int packed = strcmp(name, "conv2d_pack_rskc") == 0;
    const size_t cblocks = ceil_div((size_t)g->C, 16);
    size_1d(ctx, (packed ? (size_t)g->K : ceil_div((size_t)g->K, 16)) * cblocks, &global,
            &local);
    st = CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                       CLCNN__ARG_MEM((*out)->mem), CLCNN__ARG_INT((*out)->offset),
                       CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->C), CLCNN__ARG_INT(g->R),
                       CLCNN__ARG_INT(g->S));
    if (st != CLCNN_OK) {
        clcnn_tensor_destroy(*out);
        *out = NULL;
    }
    return st;
}

static clcnn_status backward_gather(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf dy,
                                    conv2d_buf w, conv2d_buf dx, const conv2d_geom *g)
{
    char options[64];
    snprintf(options, sizeof options, "-D CB=%d -D WB=%d", t->a, t->b);
    cl_kernel k;
    clcnn_tensor *wp = NULL;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_bwd_data", options, "conv2d_bwd_data", &k);
    if (st != CLCNN_OK || (st = repack_filter(ctx, "conv2d_pack_rskc", w, g, &wp)) != CLCNN_OK)
        return st;
    /* Columns are grouped by phase (v mod stride_w) so that a work-item's
     * lanes read consecutive dy columns; nblk blocks of width lanes each. */
    const size_t nblk = ceil_div(ceil_div((size_t)g->W, (size_t)g->stride_w), (size_t)t->b);
    const size_t global[3] = {(size_t)g->stride_w * nblk, (size_t)g->N * (size_t)g->H,
                              ceil_div((size_t)g->C, (size_t)t->a)};
    st = CLCNN__LAUNCH(ctx, k, 3, global, local_size(ctx), CLCNN__ARG_MEM(dy.mem),
                       CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(wp->mem),
                       CLCNN__ARG_INT(wp->offset), CLCNN__ARG_MEM(dx.mem),
                       CLCNN__ARG_INT(dx.off), GEOM_ARGS(*g), CLCNN__ARG_INT(nblk));
    clcnn_tensor_destroy(wp);
    return st;
}

/*
 * With stride 1, dx is the forward convolution of dy (N,K,P,Q) with the
 * filter transposed to (C,K,R,S) and flipped in r and s, padded by the
 * dilated extent minus the original padding: the forward kernels, tuned
 * harder than any gather, then compute the backward pass as well.
 */
static clcnn_status backward_flipped(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf dy,
                                     conv2d_buf w, conv2d_buf dx, const conv2d_geom *g)
{
    /* the implicit GEMM reads w flipped itself (FLIP_W) */
    clcnn_tensor *wf = NULL;
    clcnn_status st = t->method == CONV2D_M_GEMM
                          ? CLCNN_OK
                          : repack_filter(ctx, "conv2d_flip_filter", w, g, &wf);
    if (st != CLCNN_OK)
        return st;
    const conv2d_buf wflip = wf ? tensor_buf(wf) : w;
    const conv2d_geom f = {
        .N = g->N, .C = g->K, .H = g->P, .W = g->Q, .K = g->C, .R = g->R, .S = g->S,
        .P = g->H, .Q = g->W,
        .pad_top = (g->R - 1) * g->dil_h - g->pad_top,
        .pad_left = (g->S - 1) * g->dil_w - g->pad_left,
        .stride_h = 1, .stride_w = 1, .dil_h = g->dil_h, .dil_w = g->dil_w,
    };
    if (g->stride_h == 1 && g->stride_w == 1) {
        st = clcnn__conv2d_run_forward(ctx, t, dy, wflip, (conv2d_buf){NULL, 0}, dx, &f, 0);
    } else {
        /* a strided 1x1 filter: dx holds w^T dy at every stride-th pixel and
         * zeros between them */
        const conv2d_geom f1 = {
            .N = g->N, .C = g->K, .H = g->P, .W = g->Q, .K = g->C, .R = 1, .S = 1,
            .P = g->P, .Q = g->Q, .stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1,
        };
        clcnn_tensor *tmp = NULL;
        st = scratch(ctx, (size_t)g->N * g->C * g->P * g->Q, &tmp);
        if (st == CLCNN_OK)
            st = clcnn__conv2d_run_forward(ctx, t, dy, wflip, (conv2d_buf){NULL, 0},
                                           tensor_buf(tmp), &f1, 0);
        if (st == CLCNN_OK)
            st = clcnn__conv2d_resample(ctx, "conv2d_upsample", tensor_buf(tmp), dx,
                                        g->N * g->C, g);
        clcnn_tensor_destroy(tmp);
    }
    clcnn_tensor_destroy(wf);
    return st;
}

/* One work-item per image, which it holds in private memory. */
static clcnn_status backward_plane(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf dy,
                                   conv2d_buf w, conv2d_buf dx, const conv2d_geom *g)
{
    char options[96];
    snprintf(options, sizeof options, "-D PLANE_PASS=2 -D FR=%d -D FS=%d -D CB=%d -D QB=%d",
             g->R, g->S, g->C, t->c);
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_plane", options, "conv2d_bwd_data_plane", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t global[1] = {(size_t)g->N};
    return CLCNN__LAUNCH(ctx, k, 1, global, local_size(ctx), CLCNN__ARG_MEM(dy.mem),
                         CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                         CLCNN__ARG_MEM(dx.mem), CLCNN__ARG_INT(dx.off), GEOM_ARGS(*g));
}

clcnn_status clcnn__conv2d_run_backward_data(clcnn_context *ctx, const conv2d_tile *t,
                                             conv2d_buf dy, conv2d_buf w, conv2d_buf dx,
                                             const conv2d_geom *g)
{
    if (t->flipped)
        return backward_flipped(ctx, t, dy, w, dx, g);
    if (t->method == CONV2D_M_GATHER)
        return backward_gather(ctx, t, dy, w, dx, g);
    if (t->method == CONV2D_M_IM2COL)
        return clcnn__conv2d_backward_col2im(ctx, t, dy, w, dx, g);
    if (t->method == CONV2D_M_PLANE_COL2IM)
        return backward_plane(ctx, t, dy, w, dx, g);
    return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                       "conv2d: %s is not a backward-data variant", t->name);
}

/* ---- backward filter ---- */

/*
 * The reduction over the N*P output rows is split into chunks when the
 * (k, j) blocks alone are too few to keep every compute unit busy (LeNet's
 * first layer has 6 x 25 weights, a handful of blocks); each chunk stores
 * partial sums in a scratch buffer and one more launch adds them to dw and
 * db. Otherwise the blocks accumulate into dw directly.
 */
clcnn_status clcnn__conv2d_run_backward_filter(clcnn_context *ctx, const conv2d_tile *t,
                                               conv2d_buf x, conv2d_buf dy, conv2d_buf dw,
                                               conv2d_buf db, const conv2d_geom *g)
{
    const int panel = t->method == CONV2D_M_PANEL;
    const int flat = t->method == CONV2D_M_FLAT_FILTER;
    if (t->method != CONV2D_M_FILTER && !panel && !flat)
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                           "conv2d: %s is not a backward-filter variant", t->name);
    const int tm = t->a, tj = t->b, rs = g->R * g->S;
    const int kblocks = (g->K + tm - 1) / tm, groups = (g->C * rs + tj - 1) / tj;
    /* the flat kernel's work-items each take as many groups of tj taps as
     * keep their sums (kblocks x tm x tj vectors a group) within 512 vectors
     * and the rows of their channels within its private memory (one group
     * always fits: conv2d.c checked) */
    int groups_per_item = flat ? 512 / (kblocks * tm * tj) : 1;
    if (groups_per_item > groups)
        groups_per_item = groups;
    while (flat && groups_per_item > 1 &&
           conv2d_flat_floats(g, conv2d_flat_channels(g, groups_per_item * tj), t->c) >
               CONV2D_FLAT_FLOATS)
        groups_per_item--;
    const size_t items_per_split = flat ? ceil_div((size_t)groups, (size_t)groups_per_item) : 1;
    char options[160];
    if (panel) /* tj taps per work-item: one vector of up to 16, or two of 16 */
        snprintf(options, sizeof options, "-D TM=%d -D TN=%d -D NV=%d -D KC=%d", tm,
                 tj > 16 ? 16 : tj, tj > 16 ? tj / 16 : 1, t->c);
    else if (flat)
        snprintf(options, sizeof options,
                 "-D PLANE_PASS=4 -D FR=%d -D FS=%d -D CB=%d -D TM=%d -D TJ=%d -D QB=%d "
                 "-D KBLOCKS=%d -D FLAT_PQ=%d -D FLAT_Q=%d -D GPI=%d",
                 g->R, g->S, g->C, tm, tj, t->c, kblocks, g->P * g->Q, g->Q, groups_per_item);
    else
        snprintf(options, sizeof options, "-D ROWS=%d -D TM=%d -D TJ=%d -D QV=%d",
                 g->stride_w <= 2 ? g->stride_w : 0, tm, tj, t->c);
    const char *file = panel ? "conv2d_bwd_panel" : flat ? "conv2d_plane" : "conv2d_bwd_filter";
    const char *name = panel                ? "conv2d_bwd_panel"
                       : flat               ? "conv2d_bwd_filter_flat"
                       : g->stride_w == 1   ? "conv2d_bwd_filter_s1"
                       : g->stride_w == 2   ? "conv2d_bwd_filter_s2"
                                            : "conv2d_bwd_filter_sn";
    /* the bias and reduction kernels do not depend on the options: one
     * build of conv2d_bwd_filter.cl without a row kernel serves every variant */
    static const char helper_options[] = "";
    cl_kernel k, kb = NULL, kr = NULL;
    /* the flat kernel sums db as it reads dy; the others leave it to
     * conv2d_bwd_bias, a second pass over dy */
    const int separate_bias = db.mem && !flat;
    clcnn_status st = clcnn__kernel(ctx, file, options, name, &k);
    if (st == CLCNN_OK && separate_bias)
        st = clcnn__kernel(ctx, "conv2d_bwd_filter", helper_options, "conv2d_bwd_bias", &kb);
    if (st != CLCNN_OK)
        return st;

    const size_t crs = (size_t)g->C * (size_t)rs;
    /* the reduction is split along output rows (row kernel), pixels (panel
     * kernel, which sweeps all of K in each work-item) or images (flat
     * kernel, which sweeps all of K and its groups of taps) */
    const size_t units = (size_t)g->N * (flat ? 1 : (size_t)g->P) * (panel ? (size_t)g->Q : 1);
    const size_t blocks = (flat ? items_per_split : ceil_div(crs, (size_t)tj)) *
                          (panel || flat ? 1 : ceil_div((size_t)g->K, (size_t)tm));
    const size_t want = (ctx->info.is_gpu ? 64 : 16) * compute_units(ctx);
    size_t splits = blocks >= want ? 1 : ceil_div(want, blocks);
    if (splits > units)
        splits = units;
    const size_t per_split = ceil_div(units, splits);
    splits = ceil_div(units, per_split);
    /* the bias kernel always splits by output rows */
    const size_t np = (size_t)g->N * (size_t)g->P;
    const size_t bias_rows = panel   ? ceil_div(np, splits)
                             : flat ? per_split * (size_t)g->P
                                     : per_split;
    const size_t bias_splits = ceil_div(np, bias_rows);

    clcnn_tensor *part = NULL;
    const size_t dw_count = (size_t)g->K * crs;
    const size_t count = dw_count + (db.mem ? (size_t)g->K : 0);
    conv2d_buf out_w = dw, out_b = db;
    int split_stride = 0;
    if (splits > 1) {
        if ((unsigned long long)splits * count > 0x7fffffff)
            return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                               "conv2d backward-filter: %zu partial sums are too many",
                               splits * count);
        if ((st = clcnn__kernel(ctx, "conv2d_bwd_filter", helper_options, "conv2d_bwd_reduce",
                                &kr)) != CLCNN_OK ||
            (st = scratch(ctx, splits * count, &part)) != CLCNN_OK)
            return st;
        out_w = tensor_buf(part);
        out_b = (conv2d_buf){part->mem, (int)(part->offset + dw_count)};
        split_stride = (int)count;
        /* the bias splits may be fewer: their slots must still hold zeros */
        if (separate_bias && bias_splits < splits)
            st = clcnn_tensor_fill(part, 0.0f);
    }
    const int accumulate = splits == 1;

    /* the flat kernel's splits go along the first dimension, which PoCL
     * shares out among its threads (with 1 there, one thread ran them all) */
    const size_t global[3] = {flat ? splits : ceil_div(crs, (size_t)tj),
                              flat ? items_per_split
                              : panel ? 1
                                      : ceil_div((size_t)g->K, (size_t)tm),
                              flat ? 1 : splits};
    static const size_t one[3] = {1, 1, 1};
    /* without db the flat kernel gets a NULL buffer (out_b points into the
     * partial sums either way) */
    const conv2d_buf bias_out = db.mem ? out_b : (conv2d_buf){NULL, 0};
    if (st == CLCNN_OK && flat)
        st = CLCNN__LAUNCH(ctx, k, 3, global, local_size(ctx), CLCNN__ARG_MEM(x.mem),
                           CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(dy.mem),
                           CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(out_w.mem),
                           CLCNN__ARG_INT(out_w.off), GEOM_ARGS(*g), CLCNN__ARG_INT(per_split),
                           CLCNN__ARG_INT(split_stride), CLCNN__ARG_INT(accumulate),
                           CLCNN__ARG_MEM(bias_out.mem), CLCNN__ARG_INT(bias_out.off));
    else if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, k, 3, global, panel ? one : local_size(ctx),
                           CLCNN__ARG_MEM(x.mem), CLCNN__ARG_INT(x.off),
                           CLCNN__ARG_MEM(dy.mem), CLCNN__ARG_INT(dy.off),
                           CLCNN__ARG_MEM(out_w.mem), CLCNN__ARG_INT(out_w.off), GEOM_ARGS(*g),
                           CLCNN__ARG_INT(per_split), CLCNN__ARG_INT(split_stride),
                           CLCNN__ARG_INT(accumulate));
    if (st == CLCNN_OK && separate_bias) {
        const size_t bias_global[2] = {(size_t)g->K, bias_splits};
        st = CLCNN__LAUNCH(ctx, kb, 2, bias_global, local_size(ctx), CLCNN__ARG_MEM(dy.mem),
                           CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(out_b.mem),
                           CLCNN__ARG_INT(out_b.off), CLCNN__ARG_INT(g->N),
                           CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->P), CLCNN__ARG_INT(g->Q),
                           CLCNN__ARG_INT(bias_rows), CLCNN__ARG_INT(split_stride),
                           CLCNN__ARG_INT(accumulate));
    }
    if (st == CLCNN_OK && part) {
        size_t reduce_global, local;
        size_1d(ctx, count, &reduce_global, &local);
        const conv2d_buf b = db.mem ? db : dw;
        st = CLCNN__LAUNCH(ctx, kr, 1, &reduce_global, &local, CLCNN__ARG_MEM(part->mem),
                           CLCNN__ARG_INT(part->offset), CLCNN__ARG_INT(splits),
                           CLCNN__ARG_INT(split_stride), CLCNN__ARG_INT(count),
                           CLCNN__ARG_MEM(dw.mem), CLCNN__ARG_INT(dw.off),
                           CLCNN__ARG_INT(dw_count), CLCNN__ARG_MEM(b.mem),
                           CLCNN__ARG_INT(b.off));
    }
    clcnn_tensor_destroy(part);
    return st;
}
