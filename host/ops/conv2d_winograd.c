/*
 * conv2d by Winograd (stride 1, dilation 1; 3x3 filters, and for F(4x4, 3x3)
 * filters of up to 12x12 as 3x3 sub-filters). Forward by F(2x2, 3x3) or
 * F(4x4, 3x3): the input and filter transforms of
 * kernels/conv2d_winograd.cl (conv2d_winograd4.cl) around 16 (36) batched
 * products of conv2d_1x1.c, and the output transform. Backward-filter by
 * F(4x4, 3x3): the input transform and one of dy around 36 products summed
 * over the tiles, and the filter gradient's transform. A variant's c field
 * is its output tile: 4 for F(4x4, 3x3), else 2.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

/* V (36, G*C, T): F(4x4)'s input transform of x once per sub-filter shift,
 * from the build of conv2d_winograd4.cl with options. */
static clcnn_status wino4_input(clcnn_context *ctx, const char *options, conv2d_buf x,
                                clcnn_tensor *v, const conv2d_geom *g, int tiles_h,
                                int tiles_w)
{
    cl_kernel ki;
    clcnn_status st =
        clcnn__kernel(ctx, "conv2d_winograd4", options, "conv2d_wino4_input", &ki);
    const int subs = conv2d_wino4_subfilters(g), subs_w = (g->S + 2) / 3;
    const size_t T = (size_t)g->N * tiles_h * tiles_w, plane = (size_t)subs * g->C * T;
    const size_t *local = ctx->info.is_gpu ? NULL : (const size_t[3]){1, 1, 1};
    const size_t global[3] = {conv2d_ceil_div((size_t)tiles_w, 8), (size_t)g->N * tiles_h,
                              (size_t)g->C};
    for (int sub = 0; sub < subs && st == CLCNN_OK; sub++)
        st = CLCNN__LAUNCH(ctx, ki, 3, global, local, CLCNN__ARG_MEM(x.mem),
                           CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(v->mem),
                           CLCNN__ARG_INT(v->offset + (size_t)sub * g->C * T),
                           CLCNN__ARG_INT(plane), CLCNN__ARG_INT(g->N), CLCNN__ARG_INT(g->C),
                           CLCNN__ARG_INT(g->H), CLCNN__ARG_INT(g->W),
                           CLCNN__ARG_INT(g->pad_top - 3 * (sub / subs_w)),
                           CLCNN__ARG_INT(g->pad_left - 3 * (sub % subs_w)),
                           CLCNN__ARG_INT(tiles_h), CLCNN__ARG_INT(tiles_w));
    return st;
}

/* The transforms around (m + 2)^2 products of clcnn__conv2d_batched_gemm
 * for m x m output tiles; U, V and M are scratch tensors. */
clcnn_status clcnn__conv2d_forward_winograd(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                            conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                            const conv2d_geom *g, int epilogue)
{
    /* fused: the products and the output transform in one kernel */
    const int fused = t->method == CONV2D_M_WINO_FUSED;
    const int f4 = t->c == 4, tile = f4 ? 4 : 2, planes = (tile + 2) * (tile + 2);
    const char *prog = f4 ? "conv2d_winograd4" : "conv2d_winograd";
    const int tiles_h = (g->P + tile - 1) / tile, tiles_w = (g->Q + tile - 1) / tile;
    const size_t T = (size_t)g->N * tiles_h * tiles_w;
    /* the channels of the product: G sub-filters per input channel */
    const int CG = (f4 ? conv2d_wino4_subfilters(g) : 1) * g->C;
    cl_kernel kf, ki = NULL, ko;
    clcnn_tensor *u = NULL, *v = NULL, *m = NULL;
    clcnn_status st;
    char options[64] = "";
    if (fused)
        snprintf(options, sizeof options, "-D FUSED_TM=%d -D FUSED_NV=%d -D FUSED_KMAX=%d",
                 t->a, t->b / 16, CONV2D_WINO4_FUSED_KMAX);
    const int subs = f4 && CG != g->C;
    const char *filter = !f4 ? "conv2d_wino_filter"
                         : subs ? "conv2d_wino4_subfilter"
                                : "conv2d_wino4_filter";
    const char *output = fused ? "conv2d_wino4_fused"
                         : f4  ? "conv2d_wino4_output"
                               : "conv2d_wino_output";
    if ((st = clcnn__kernel(ctx, prog, options, filter, &kf)) != CLCNN_OK ||
        (!f4 && (st = clcnn__kernel(ctx, prog, "", "conv2d_wino_input", &ki)) != CLCNN_OK) ||
        (st = clcnn__kernel(ctx, prog, options, output, &ko)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, planes * (size_t)g->K * CG, &u)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, planes * (size_t)CG * T, &v)) != CLCNN_OK ||
        (!fused &&
         (st = clcnn__conv2d_scratch(ctx, planes * (size_t)g->K * T, &m)) != CLCNN_OK))
        goto done;

    size_t global1, local1;
    /* F(4x4): 8 filters per work-item */
    clcnn__conv2d_size_1d(ctx, conv2d_ceil_div((size_t)g->K * CG, f4 ? 8 : 1), &global1,
                          &local1);
    if (subs)
        st = CLCNN__LAUNCH(ctx, kf, 1, &global1, &local1, CLCNN__ARG_MEM(w.mem),
                           CLCNN__ARG_INT(w.off), CLCNN__ARG_MEM(u->mem),
                           CLCNN__ARG_INT(u->offset), CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(CG),
                           CLCNN__ARG_INT(g->C), CLCNN__ARG_INT(g->R), CLCNN__ARG_INT(g->S));
    else
        st = CLCNN__LAUNCH(ctx, kf, 1, &global1, &local1, CLCNN__ARG_MEM(w.mem),
                           CLCNN__ARG_INT(w.off), CLCNN__ARG_MEM(u->mem),
                           CLCNN__ARG_INT(u->offset), CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->C));
    const size_t *local = ctx->info.is_gpu ? NULL : (const size_t[3]){1, 1, 1};
    const size_t in_global[3] = {conv2d_ceil_div((size_t)tiles_w, 8),
                                 (size_t)g->N * tiles_h, (size_t)g->C};
    if (st == CLCNN_OK && f4)
        st = wino4_input(ctx, options, x, v, g, tiles_h, tiles_w);
    else if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, ki, 3, in_global, local, CLCNN__ARG_MEM(x.mem),
                           CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(v->mem),
                           CLCNN__ARG_INT(v->offset), CLCNN__ARG_INT(g->N), CLCNN__ARG_INT(g->C),
                           CLCNN__ARG_INT(g->H), CLCNN__ARG_INT(g->W), CLCNN__ARG_INT(g->pad_top),
                           CLCNN__ARG_INT(g->pad_left), CLCNN__ARG_INT(tiles_h),
                           CLCNN__ARG_INT(tiles_w));
    if (!b.mem) b = w;
    if (st == CLCNN_OK && fused) {
        /* at most FUSED_KMAX channels per work-item, fewer when the tiles
         * alone would leave the device idle */
        int kpi = CONV2D_WINO4_FUSED_KMAX;
        const size_t tile_items = conv2d_ceil_div(T, (size_t)t->b);
        while (kpi > t->a && tile_items * conv2d_ceil_div((size_t)g->K, (size_t)kpi) <
                                 4 * clcnn__conv2d_compute_units(ctx))
            kpi -= t->a;
        const size_t fused_global[2] = {conv2d_ceil_div((size_t)g->K, (size_t)kpi), tile_items};
        static const size_t one[2] = {1, 1};
        st = CLCNN__LAUNCH(ctx, ko, 2, fused_global, one,
                           CLCNN__ARG_MEM(v->mem), CLCNN__ARG_INT(v->offset),
                           CLCNN__ARG_MEM(u->mem), CLCNN__ARG_INT(u->offset),
                           CLCNN__ARG_MEM(b.mem), CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                           CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), CLCNN__ARG_INT(g->N),
                           CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->P), CLCNN__ARG_INT(g->Q),
                           CLCNN__ARG_INT(tiles_h), CLCNN__ARG_INT(tiles_w), CLCNN__ARG_INT(CG),
                           CLCNN__ARG_INT(kpi));
        goto done;
    }
    if (st == CLCNN_OK)
        st = clcnn__conv2d_batched_gemm(ctx, t, conv2d_tensor_buf(v), (size_t)CG * T,
                                        conv2d_tensor_buf(u), (size_t)g->K * CG, 0,
                                        (conv2d_buf){NULL, 0}, 0, conv2d_tensor_buf(m),
                                        (size_t)g->K * T, planes, g->K, CG, (int)T);
    const size_t out_global[3] = {conv2d_ceil_div((size_t)tiles_w, 8), (size_t)g->N * tiles_h,
                                  (size_t)g->K};
    if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, ko, 3, out_global, local, CLCNN__ARG_MEM(m->mem),
                           CLCNN__ARG_INT(m->offset), CLCNN__ARG_MEM(b.mem),
                           CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                           CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), CLCNN__ARG_INT(g->N),
                           CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->P), CLCNN__ARG_INT(g->Q),
                           CLCNN__ARG_INT(tiles_h), CLCNN__ARG_INT(tiles_w));
done:
    clcnn_tensor_destroy(u);
    clcnn_tensor_destroy(v);
    clcnn_tensor_destroy(m);
    return st;
}

/* dw += G^T [V (CG x T) * E (T x K)] G per plane and (k, sub-filter), db += the
 * sums of dy, from kernels/conv2d_winograd4.cl and conv2d_bwd_filter.cl's bias
 * sum. */
clcnn_status clcnn__conv2d_backward_filter_winograd(clcnn_context *ctx, const conv2d_tile *t,
                                                    conv2d_buf x, conv2d_buf dy, conv2d_buf dw,
                                                    conv2d_buf db, const conv2d_geom *g)
{
    const int planes = 36, tiles_h = (g->P + 3) / 4, tiles_w = (g->Q + 3) / 4;
    const size_t T = (size_t)g->N * tiles_h * tiles_w;
    const int CG = conv2d_wino4_subfilters(g) * g->C;
    cl_kernel kd, kg, kb = NULL;
    clcnn_tensor *v = NULL, *e = NULL, *m = NULL;
    clcnn_status st;
    if (t->c != 4)
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                           "conv2d: %s: backward-filter runs F(4x4, 3x3) only", t->name);
    if ((st = clcnn__kernel(ctx, "conv2d_winograd4", "", "conv2d_wino4_dy", &kd)) != CLCNN_OK ||
        (st = clcnn__kernel(ctx, "conv2d_winograd4", "", "conv2d_wino4_filter_grad", &kg)) !=
            CLCNN_OK ||
        (db.mem &&
         (st = clcnn__kernel(ctx, "conv2d_bwd_filter", "", "conv2d_bwd_bias", &kb)) != CLCNN_OK) ||
        (st = clcnn__conv2d_scratch(ctx, planes * (size_t)CG * T, &v)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, planes * T * g->K, &e)) != CLCNN_OK ||
        (st = clcnn__conv2d_scratch(ctx, planes * (size_t)CG * g->K, &m)) != CLCNN_OK)
        goto done;

    const size_t *local = ctx->info.is_gpu ? NULL : (const size_t[3]){1, 1, 1};
    st = wino4_input(ctx, "", x, v, g, tiles_h, tiles_w);
    const size_t dy_global[2] = {conv2d_ceil_div((size_t)g->K, 8), T};
    if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, kd, 2, dy_global, local, CLCNN__ARG_MEM(dy.mem),
                           CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(e->mem),
                           CLCNN__ARG_INT(e->offset), CLCNN__ARG_INT(g->N), CLCNN__ARG_INT(g->K),
                           CLCNN__ARG_INT(g->P), CLCNN__ARG_INT(g->Q), CLCNN__ARG_INT(tiles_h),
                           CLCNN__ARG_INT(tiles_w));
    if (st == CLCNN_OK)
        st = clcnn__conv2d_batched_gemm(ctx, t, conv2d_tensor_buf(e), T * g->K,
                                        conv2d_tensor_buf(v), (size_t)CG * T, 0,
                                        (conv2d_buf){NULL, 0}, 0, conv2d_tensor_buf(m),
                                        (size_t)CG * g->K, planes, CG, (int)T, g->K);
    const size_t grad_global[2] = {conv2d_ceil_div((size_t)g->K, 8), (size_t)CG};
    if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, kg, 2, grad_global, local, CLCNN__ARG_MEM(m->mem),
                           CLCNN__ARG_INT(m->offset), CLCNN__ARG_MEM(dw.mem),
                           CLCNN__ARG_INT(dw.off), CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(CG),
                           CLCNN__ARG_INT(g->C), CLCNN__ARG_INT(g->R), CLCNN__ARG_INT(g->S));
    const size_t bias_global[2] = {(size_t)g->K, 1};
    if (st == CLCNN_OK && kb)
        st = CLCNN__LAUNCH(ctx, kb, 2, bias_global, clcnn__conv2d_local_size(ctx),
                           CLCNN__ARG_MEM(dy.mem), CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(db.mem),
                           CLCNN__ARG_INT(db.off), CLCNN__ARG_INT(g->N), CLCNN__ARG_INT(g->K),
                           CLCNN__ARG_INT(g->P), CLCNN__ARG_INT(g->Q),
                           CLCNN__ARG_INT(g->N * g->P), CLCNN__ARG_INT(0), CLCNN__ARG_INT(1));
done:
    clcnn_tensor_destroy(v);
    clcnn_tensor_destroy(e);
    clcnn_tensor_destroy(m);
    return st;
}
