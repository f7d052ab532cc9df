/*
 * Grouped convolution: every algorithm runs a grouped layer group by group,
 * as the ordinary convolution of that group's channels, on contiguous copies
 * of them where the batch has more than one image (kernels/conv2d_group.cl
 * regroups (N, G, ...) to (G, N, ...) and back); and depthwise convolution,
 * one input channel per group, by kernels of its own that run the whole
 * layer in one launch per pass.
 */
#include "conv2d_impl.h"

/* How an operand of a pass is split into groups. */
enum { OP_NONE, OP_IN, OP_OUT, OP_PARAM };

/* dst (B, A, L) = src (A, B, L) transposed in its first two axes. */
static clcnn_status regroup(clcnn_context *ctx, conv2d_buf src, conv2d_buf dst, int A, int B,
                            size_t L)
{
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_group", "", "conv2d_regroup", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t total = (size_t)A * B * L;
    size_t global, local;
    clcnn__conv2d_size_1d(ctx, total, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_MEM(src.mem),
                         CLCNN__ARG_INT(src.off), CLCNN__ARG_MEM(dst.mem),
                         CLCNN__ARG_INT(dst.off), CLCNN__ARG_INT(A), CLCNN__ARG_INT(B),
                         CLCNN__ARG_INT(L), CLCNN__ARG_INT(total));
}

clcnn_status clcnn__conv2d_grouped(clcnn_context *ctx, clcnn__conv2d_pass pass,
                                   const conv2d_tile *t, conv2d_group_run run,
                                   const conv2d_buf ops[4], const conv2d_geom *g, int epilogue)
{
    const int G = g->G, N = g->N;
    const size_t in_plane = (size_t)g->C * g->H * g->W, out_plane = (size_t)g->K * g->P * g->Q;
    const size_t filter = (size_t)g->K * g->C * g->R * g->S;
    /* each operand's role and its elements per group (per image for IN, OUT) */
    int kind[4];
    size_t per[4];
    switch (pass) {
    case CLCNN__CONV2D_FORWARD: /* x, w, b, y */
        kind[0] = OP_IN, per[0] = in_plane, kind[1] = OP_PARAM, per[1] = filter;
        kind[2] = OP_PARAM, per[2] = (size_t)g->K, kind[3] = OP_OUT, per[3] = out_plane;
        break;
    case CLCNN__CONV2D_BACKWARD_DATA: /* dy, w, -, dx */
        kind[0] = OP_IN, per[0] = out_plane, kind[1] = OP_PARAM, per[1] = filter;
        kind[2] = OP_NONE, per[2] = 0, kind[3] = OP_OUT, per[3] = in_plane;
        break;
    default: /* x, dy, dw, db */
        kind[0] = OP_IN, per[0] = in_plane, kind[1] = OP_IN, per[1] = out_plane;
        kind[2] = OP_PARAM, per[2] = filter, kind[3] = OP_PARAM, per[3] = (size_t)g->K;
        break;
    }
    /* With one image a group's channels are contiguous already; otherwise
     * the inputs are copied to (G, N, ...) and the output comes back from
     * there. */
    clcnn_tensor *copy[4] = {NULL, NULL, NULL, NULL};
    conv2d_buf base[4];
    clcnn_status st = CLCNN_OK;
    for (int i = 0; i < 4 && st == CLCNN_OK; i++) {
        base[i] = ops[i];
        if (N == 1 || !ops[i].mem || (kind[i] != OP_IN && kind[i] != OP_OUT))
            continue;
        st = clcnn__conv2d_scratch(ctx, (size_t)N * G * per[i], &copy[i]);
        if (st == CLCNN_OK) {
            base[i] = conv2d_tensor_buf(copy[i]);
            if (kind[i] == OP_IN)
                st = regroup(ctx, ops[i], base[i], N, G, per[i]);
        }
    }
    for (int gi = 0; gi < G && st == CLCNN_OK; gi++) {
        conv2d_buf part[4];
        for (int i = 0; i < 4; i++) {
            part[i] = base[i];
            if (!part[i].mem)
                continue;
            const size_t step = kind[i] == OP_PARAM ? per[i] : (size_t)N * per[i];
            part[i].off += (int)(step * (size_t)gi);
        }
        st = run(ctx, t, part, g, epilogue);
    }
    if (st == CLCNN_OK && copy[3])
        st = regroup(ctx, base[3], ops[3], G, N, per[3]);
    for (int i = 0; i < 4; i++)
        clcnn_tensor_destroy(copy[i]);
    return st;
}

/* ---- depthwise ---- */

/* The geometry of the whole layer, which the depthwise kernels take. */
static conv2d_geom whole(const conv2d_geom *g)
{
    conv2d_geom f = *g;
    f.C = g->C * g->G;
    f.K = g->K * g->G;
    return f;
}

clcnn_status clcnn__conv2d_forward_depthwise(CONV2D_FORWARD_ARGS)
{
    (void)t;
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_group", "", "conv2d_dw_fwd", &k);
    if (st != CLCNN_OK)
        return st;
    const conv2d_geom f = whole(g);
    const size_t planes = (size_t)f.N * f.K;
    size_t global, local;
    clcnn__conv2d_size_1d(ctx, planes, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_MEM(x.mem), CLCNN__ARG_INT(x.off),
                         CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off), CLCNN__ARG_MEM(b.mem),
                         CLCNN__ARG_INT(b.off), CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off),
                         GEOM_ARGS(f), CLCNN__ARG_INT(epilogue), CLCNN__ARG_INT(planes));
}

clcnn_status clcnn__conv2d_backward_data_depthwise(clcnn_context *ctx, conv2d_buf dy,
                                                   conv2d_buf w, conv2d_buf dx,
                                                   const conv2d_geom *g)
{
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_group", "", "conv2d_dw_bwd_data", &k);
    if (st != CLCNN_OK)
        return st;
    const conv2d_geom f = whole(g);
    const size_t planes = (size_t)f.N * f.C;
    size_t global, local;
    clcnn__conv2d_size_1d(ctx, planes, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_MEM(dy.mem),
                         CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                         CLCNN__ARG_MEM(dx.mem), CLCNN__ARG_INT(dx.off), GEOM_ARGS(f),
                         CLCNN__ARG_INT(planes));
}

clcnn_status clcnn__conv2d_backward_filter_depthwise(clcnn_context *ctx, conv2d_buf x,
                                                     conv2d_buf dy, conv2d_buf dw,
                                                     conv2d_buf db, const conv2d_geom *g)
{
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d_group", "", "conv2d_dw_bwd_filter", &k);
    if (st != CLCNN_OK)
        return st;
    const conv2d_geom f = whole(g);
    const size_t items = (size_t)f.K * (f.R * f.S + 1);
    const conv2d_buf dbuf = db.mem ? db : dw; /* never written when want_db is 0 */
    size_t global, local;
    clcnn__conv2d_size_1d(ctx, items, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_MEM(x.mem), CLCNN__ARG_INT(x.off),
                         CLCNN__ARG_MEM(dy.mem), CLCNN__ARG_INT(dy.off), CLCNN__ARG_MEM(dw.mem),
                         CLCNN__ARG_INT(dw.off), CLCNN__ARG_MEM(dbuf.mem),
                         CLCNN__ARG_INT(dbuf.off), GEOM_ARGS(f), CLCNN__ARG_INT(db.mem != NULL),
                         CLCNN__ARG_INT(items));
}
