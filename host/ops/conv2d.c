/*
 * conv2d: forward, backward-data and backward-filter of a 2-D convolution with
 * per-side padding, stride and dilation. This file checks the arguments, asks
 * conv2d_choose.c for the tile variant to run and hands it to the file of its
 * algorithm (conv2d_direct.c, _gemm.c, _kvec.c, _plane.c, _1x1.c, _winograd.c,
 * _im2col.c, _bwd_data.c, _bwd_filter.c); those share conv2d_launch.c and call
 * nothing back. Grouped layers run each group through the same dispatch
 * (conv2d_group.c); depthwise ones, when the choice is the library's, by
 * their own kernels.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

/* ---- the algorithm of a tile variant ---- */

static clcnn_status run_forward(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                conv2d_buf w, conv2d_buf b, conv2d_buf y, const conv2d_geom *g,
                                int epilogue)
{
    /* Without a bias the kernels get w's buffer as a never-read stand-in. */
    if (!b.mem)
        b = (conv2d_buf){w.mem, 0};
    switch (t->method) {
    case CONV2D_M_DIRECT:
        return clcnn__conv2d_forward_direct(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_GEMM:
        return clcnn__conv2d_forward_gemm(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_PLANE:
        return clcnn__conv2d_forward_plane(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_FLAT:
        return clcnn__conv2d_forward_flat(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_KVEC:
        return clcnn__conv2d_forward_kvec(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_1X1:
        return clcnn__conv2d_forward_1x1(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_WINO:
    case CONV2D_M_WINO_FUSED:
        return clcnn__conv2d_forward_winograd(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_IM2COL:
        return clcnn__conv2d_forward_im2col(ctx, t, x, w, b, y, g, epilogue);
    case CONV2D_M_TILED:
        return clcnn__conv2d_forward_tiled(ctx, t, x, w, b, y, g, epilogue);
    default:
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED, "conv2d: %s is not a forward variant",
                           t->name);
    }
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
                          : clcnn__conv2d_repack_filter(ctx, "conv2d_flip_filter", w, g, &wf);
    if (st != CLCNN_OK)
        return st;
    const conv2d_buf wflip = wf ? conv2d_tensor_buf(wf) : w;
    const conv2d_geom f = {
        .N = g->N, .C = g->K, .H = g->P, .W = g->Q, .K = g->C, .R = g->R, .S = g->S,
        .P = g->H, .Q = g->W,
        .pad_top = (g->R - 1) * g->dil_h - g->pad_top,
        .pad_left = (g->S - 1) * g->dil_w - g->pad_left,
        .stride_h = 1, .stride_w = 1, .dil_h = g->dil_h, .dil_w = g->dil_w,
    };
    if (g->stride_h == 1 && g->stride_w == 1) {
        st = run_forward(ctx, t, dy, wflip, (conv2d_buf){NULL, 0}, dx, &f, 0);
    } else {
        /* a strided 1x1 filter: dx holds w^T dy at every stride-th pixel and
         * zeros between them */
        const conv2d_geom f1 = {
            .N = g->N, .C = g->K, .H = g->P, .W = g->Q, .K = g->C, .R = 1, .S = 1,
            .P = g->P, .Q = g->Q, .stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1,
        };
        clcnn_tensor *tmp = NULL;
        st = clcnn__conv2d_scratch(ctx, (size_t)g->N * g->C * g->P * g->Q, &tmp);
        if (st == CLCNN_OK)
            st = run_forward(ctx, t, dy, wflip, (conv2d_buf){NULL, 0},
                                           conv2d_tensor_buf(tmp), &f1, 0);
        if (st == CLCNN_OK)
            st = clcnn__conv2d_resample(ctx, "conv2d_upsample", conv2d_tensor_buf(tmp), dx,
                                        g->N * g->C, g);
        clcnn_tensor_destroy(tmp);
    }
    clcnn_tensor_destroy(wf);
    return st;
}

static clcnn_status run_backward_data(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf dy,
                                      conv2d_buf w, conv2d_buf dx, const conv2d_geom *g)
{
    if (t->flipped)
        return backward_flipped(ctx, t, dy, w, dx, g);
    if (t->method == CONV2D_M_TILED)
        return clcnn__conv2d_backward_data_tiled(ctx, t, dy, w, dx, g);
    if (t->method == CONV2D_M_GATHER)
        return clcnn__conv2d_backward_data_gather(ctx, t, dy, w, dx, g);
    if (t->method == CONV2D_M_IM2COL)
        return clcnn__conv2d_backward_col2im(ctx, t, dy, w, dx, g);
    if (t->method == CONV2D_M_PLANE_COL2IM)
        return clcnn__conv2d_backward_data_plane(ctx, t, dy, w, dx, g);
    return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                       "conv2d: %s is not a backward-data variant", t->name);
}

/* The dispatchers above on one group's operands (conv2d_group.c's order). */
static clcnn_status group_forward(clcnn_context *ctx, const conv2d_tile *t,
                                  const conv2d_buf *ops, const conv2d_geom *g, int epilogue)
{
    return run_forward(ctx, t, ops[0], ops[1], ops[2], ops[3], g, epilogue);
}

static clcnn_status group_backward_data(clcnn_context *ctx, const conv2d_tile *t,
                                        const conv2d_buf *ops, const conv2d_geom *g,
                                        int epilogue)
{
    (void)epilogue;
    return run_backward_data(ctx, t, ops[0], ops[1], ops[3], g);
}

static clcnn_status run_backward_filter(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                        conv2d_buf dy, conv2d_buf dw, conv2d_buf db,
                                        const conv2d_geom *g)
{
    if (t->method == CONV2D_M_TILED)
        return clcnn__conv2d_backward_filter_tiled(ctx, t, x, dy, dw, db, g);
    if (t->method == CONV2D_M_WINO)
        return clcnn__conv2d_backward_filter_winograd(ctx, t, x, dy, dw, db, g);
    return clcnn__conv2d_backward_filter_run(ctx, t, x, dy, dw, db, g);
}

static clcnn_status group_backward_filter(clcnn_context *ctx, const conv2d_tile *t,
                                          const conv2d_buf *ops, const conv2d_geom *g,
                                          int epilogue)
{
    (void)epilogue;
    return run_backward_filter(ctx, t, ops[0], ops[1], ops[2], ops[3], g);
}

/* Fills g from the input shape (x or dx), the filter shape (w or dw) and
 * params, and checks that the output tensor (y or dy) has exactly the output
 * shape. op and the names go into the message. */
static clcnn_status make_geom(clcnn_context *ctx, const char *op, const clcnn_tensor *in,
                              const char *in_name, const clcnn_tensor *filter,
                              const char *filter_name, const clcnn_tensor *out,
                              const char *out_name, const clcnn_conv2d_params *params,
                              conv2d_geom *g)
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
    *g = clcnn__conv2d_geom_of(in->shape, filter->shape, y_shape, params);
    return CLCNN_OK;
}

/* A bias or bias gradient: K elements in any shape, (K,1,1,1) by convention. */
static clcnn_status check_bias(clcnn_context *ctx, const char *op, const clcnn_tensor *b,
                               const char *name, const conv2d_geom *g)
{
    const int K = g->K * (g->G > 1 ? g->G : 1); /* g is one group's */
    if (b && clcnn__shape_count(b->shape) != (size_t)K) {
        char bs[64];
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE, "%s: %s is %s but needs K = %d elements", op,
                           name, clcnn__shape_str(b->shape, bs, sizeof bs), K);
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

/*
 * The tile a pass runs: with variant < 0 the op's own choice (forward: of
 * params->algo unless AUTO; backward: always AUTO), else variant of
 * params->algo, which must then name an algorithm. Fails with
 * CLCNN_ERR_INVALID_ARGUMENT for a variant out of range and
 * CLCNN_ERR_UNSUPPORTED for one that cannot run these shapes.
 */
static clcnn_status pick(clcnn_context *ctx, const char *op, clcnn__conv2d_pass pass,
                         const conv2d_geom *g, const int *x_shape, const int *w_shape,
                         const clcnn_conv2d_params *params, int variant, const conv2d_tile **t)
{
    clcnn_conv_algo algo = params->algo;
    if (variant < 0) {
        clcnn__conv2d_select_geom(ctx, g, pass, x_shape, w_shape, params,
                    pass == CLCNN__CONV2D_FORWARD ? params->algo : CLCNN_CONV_AUTO, &algo,
                    &variant);
        if (variant < 0) {
            /* only an explicitly requested forward algorithm can lack a
             * variant for the shape */
            const char *why = NULL;
            clcnn__conv2d_tile_supports(ctx, clcnn__conv2d_find_tile(pass, algo, 0), g, &why);
            return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                               "%s: params.algo %d does not run these shapes: %s", op,
                               (int)algo, why ? why : "no variant");
        }
    } else if (algo == CLCNN_CONV_AUTO) {
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: a forced tile variant needs params.algo set to an algorithm",
                           op);
    }
    *t = clcnn__conv2d_find_tile(pass, algo, variant);
    if (!*t)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: no tile variant %d for algorithm %d (it has %d)", op, variant,
                           (int)algo, clcnn__conv2d_variant_count(pass, algo));
    const char *why = NULL;
    if (!clcnn__conv2d_tile_supports(ctx, *t, g, &why)) {
        char xs[64], ws[64];
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                           "%s: %s (algorithm %d, variant %d) %s; x %s, w %s, stride %dx%d, "
                           "dilation %dx%d",
                           op, (*t)->name, (int)algo, variant, why,
                           clcnn__shape_str(x_shape, xs, sizeof xs),
                           clcnn__shape_str(w_shape, ws, sizeof ws), g->stride_h, g->stride_w,
                           g->dil_h, g->dil_w);
    }
    return CLCNN_OK;
}

/* ---- forward ---- */

clcnn_status clcnn__conv2d_forward_act_variant(clcnn_context *ctx, const clcnn_tensor *x,
                                               const clcnn_tensor *w, const clcnn_tensor *b,
                                               clcnn_tensor *y, const clcnn_conv2d_params *params,
                                               int relu, int variant)
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
    conv2d_geom g;
    const conv2d_tile *t = NULL;
    if ((st = make_geom(ctx, op, x, "x", w, "w", y, "y", params, &g)) != CLCNN_OK ||
        (st = check_bias(ctx, op, b, "b", &g)) != CLCNN_OK ||
        (st = check_overlap(ctx, op, y, "y", x, "x")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, y, "y", w, "w")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, y, "y", b, "b")) != CLCNN_OK)
        return st;
    const int epilogue = (b != NULL) | (relu << 1);
    const conv2d_buf ops[4] = {conv2d_tensor_buf(x), conv2d_tensor_buf(w), conv2d_tensor_buf(b),
                               conv2d_tensor_buf(y)};
    if (conv2d_is_depthwise(&g) && variant < 0 && params->algo == CLCNN_CONV_AUTO)
        return clcnn__conv2d_forward_depthwise(ctx, NULL, ops[0], ops[1],
                                               b ? ops[2] : ops[1], ops[3], &g, epilogue);
    if ((st = pick(ctx, op, CLCNN__CONV2D_FORWARD, &g, x->shape, w->shape, params, variant,
                   &t)) != CLCNN_OK)
        return st;
    if (g.G > 1)
        return clcnn__conv2d_grouped(ctx, CLCNN__CONV2D_FORWARD, t, group_forward, ops, &g,
                                     epilogue);
    return run_forward(ctx, t, ops[0], ops[1], ops[2], ops[3], &g, epilogue);
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
    return clcnn__conv2d_forward_act_variant(ctx, x, w, b, y, params, 0, -1);
}

/* ---- backward ---- */

clcnn_status clcnn__conv2d_backward_data_variant(clcnn_context *ctx, const clcnn_tensor *dy,
                                                 const clcnn_tensor *w, clcnn_tensor *dx,
                                                 const clcnn_conv2d_params *params, int variant)
{
    static const char op[] = "clcnn_conv2d_backward_data";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st;
    if ((st = clcnn__check_tensor(ctx, dy, "dy")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, w, "w")) != CLCNN_OK ||
        (st = clcnn__check_tensor(ctx, dx, "dx")) != CLCNN_OK)
        return st;
    conv2d_geom g;
    const conv2d_tile *t = NULL;
    if ((st = make_geom(ctx, op, dx, "dx", w, "w", dy, "dy", params, &g)) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dx, "dx", dy, "dy")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dx, "dx", w, "w")) != CLCNN_OK)
        return st;
    const conv2d_buf ops[4] = {conv2d_tensor_buf(dy), conv2d_tensor_buf(w), {NULL, 0},
                               conv2d_tensor_buf(dx)};
    if (conv2d_is_depthwise(&g) && variant < 0)
        return clcnn__conv2d_backward_data_depthwise(ctx, ops[0], ops[1], ops[3], &g);
    if ((st = pick(ctx, op, CLCNN__CONV2D_BACKWARD_DATA, &g, dx->shape, w->shape, params,
                   variant, &t)) != CLCNN_OK)
        return st;
    if (g.G > 1)
        return clcnn__conv2d_grouped(ctx, CLCNN__CONV2D_BACKWARD_DATA, t, group_backward_data,
                                     ops, &g, 0);
    return run_backward_data(ctx, t, ops[0], ops[1], ops[3], &g);
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
                                                   const clcnn_conv2d_params *params, int variant)
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
    conv2d_geom g;
    const conv2d_tile *t = NULL;
    if ((st = make_geom(ctx, op, x, "x", dw, "dw", dy, "dy", params, &g)) != CLCNN_OK ||
        (st = check_bias(ctx, op, db, "db", &g)) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dw, "dw", x, "x")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dw, "dw", dy, "dy")) != CLCNN_OK ||
        (st = check_overlap(ctx, op, dw, "dw", db, "db")) != CLCNN_OK ||
        (db && (st = check_overlap(ctx, op, db, "db", x, "x")) != CLCNN_OK) ||
        (db && (st = check_overlap(ctx, op, db, "db", dy, "dy")) != CLCNN_OK))
        return st;
    const conv2d_buf ops[4] = {conv2d_tensor_buf(x), conv2d_tensor_buf(dy),
                               conv2d_tensor_buf(dw), conv2d_tensor_buf(db)};
    if (conv2d_is_depthwise(&g) && variant < 0)
        return clcnn__conv2d_backward_filter_depthwise(ctx, ops[0], ops[1], ops[2], ops[3], &g);
    if ((st = pick(ctx, op, CLCNN__CONV2D_BACKWARD_FILTER, &g, x->shape, dw->shape, params,
                   variant, &t)) != CLCNN_OK)
        return st;
    if (g.G > 1)
        return clcnn__conv2d_grouped(ctx, CLCNN__CONV2D_BACKWARD_FILTER, t,
                                     group_backward_filter, ops, &g, 0);
    return run_backward_filter(ctx, t, ops[0], ops[1], ops[2], ops[3], &g);
}

/* x (N,C,H,W), dy (N,K,P,Q) -> dw (K,C,R,S) +=, db (K) += if not NULL */
clcnn_status clcnn_conv2d_backward_filter(clcnn_context *ctx, const clcnn_tensor *x,
                                          const clcnn_tensor *dy, clcnn_tensor *dw,
                                          clcnn_tensor *db, const clcnn_conv2d_params *params)
{
    return clcnn__conv2d_backward_filter_variant(ctx, x, dy, dw, db, params, -1);
}
