/*
 * conv2d forward, kvec: KV vectors of 16 output channels x PT pixels per
 * work-item (kernels/conv2d_kvec.cl), for layers with many output channels
 * and few pixels.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

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
 * position first, so that each work-item skips the padding's taps, and on
 * planes of 16+ pixels x is read from a (C, H, W, N) copy, where those
 * pixels are neighbours. */
clcnn_status clcnn__conv2d_forward_kvec(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                        conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                        const conv2d_geom *g, int epilogue)
{
    const double inside =
        inside_share(g->P, g->R, g->H, g->pad_top, g->stride_h, g->dil_h) *
        inside_share(g->Q, g->S, g->W, g->pad_left, g->stride_w, g->dil_w);
    const int by_position = inside >= 0.6 ? 0 : (long long)g->H * g->W >= 16 ? 2 : 1;
    char options[64];
    snprintf(options, sizeof options, "-D KV=%d -D PT=%d -D BY_POSITION=%d", t->a, t->b,
             by_position);
    cl_kernel k, kp, kx = NULL;
    clcnn_status st;
    if ((st = clcnn__kernel(ctx, "conv2d_kvec", options, "conv2d_fwd_kvec", &k)) != CLCNN_OK ||
        (st = clcnn__kernel(ctx, "conv2d_kvec", options, "conv2d_pack_kvec", &kp)) != CLCNN_OK ||
        (by_position == 2 && (st = clcnn__kernel(ctx, "conv2d_kvec", options,
                                                 "conv2d_kvec_positions", &kx)) != CLCNN_OK))
        return st;
    const size_t kpad = conv2d_ceil_div((size_t)g->K, 16 * (size_t)t->a) * 16 * (size_t)t->a;
    const size_t taps = (size_t)g->R * g->S * g->C;
    const size_t chw = (size_t)g->C * g->H * g->W;
    clcnn_tensor *wt = NULL, *xt = NULL;
    if ((st = clcnn__conv2d_scratch(ctx, taps * kpad, &wt)) != CLCNN_OK ||
        (by_position == 2 && (st = clcnn__conv2d_scratch(ctx, chw * g->N, &xt)) != CLCNN_OK)) {
        clcnn_tensor_destroy(wt);
        return st;
    }
    if (xt) {
        const size_t blocks[2] = {conv2d_ceil_div(chw, 16), conv2d_ceil_div((size_t)g->N, 16)};
        st = CLCNN__LAUNCH(ctx, kx, 2, blocks, clcnn__conv2d_local_size(ctx), CLCNN__ARG_MEM(x.mem),
                           CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(xt->mem),
                           CLCNN__ARG_INT(xt->offset), CLCNN__ARG_INT(g->N),
                           CLCNN__ARG_INT((int)chw));
        x = conv2d_tensor_buf(xt);
    }
    const size_t pack_global[2] = {kpad, taps};
    if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, kp, 2, pack_global, NULL, CLCNN__ARG_MEM(w.mem),
                           CLCNN__ARG_INT(w.off), CLCNN__ARG_MEM(wt->mem),
                           CLCNN__ARG_INT(wt->offset), CLCNN__ARG_INT(g->K), CLCNN__ARG_INT(g->C),
                           CLCNN__ARG_INT(g->R), CLCNN__ARG_INT(g->S), CLCNN__ARG_INT(kpad));
    const size_t pixels = (size_t)g->N * g->P * g->Q;
    const size_t global[2] = {conv2d_ceil_div(pixels, (size_t)t->b), kpad / (16 * (size_t)t->a)};
    if (st == CLCNN_OK)
        st = CLCNN__LAUNCH(ctx, k, 2, global, clcnn__conv2d_local_size(ctx), CLCNN__ARG_MEM(x.mem),
                           CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(wt->mem),
                           CLCNN__ARG_INT(wt->offset), CLCNN__ARG_MEM(b.mem),
                           CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                           CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g),
                           CLCNN__ARG_INT(kpad));
    clcnn_tensor_destroy(wt);
    clcnn_tensor_destroy(xt);
    return st;
}
