/* float64 reference for 2-D pooling (see pool_ref.h). */
#include "pool_ref.h"

#include <string.h>

int pool_ref_geom_finish(pool_ref_geom *g)
{
    int hp = g->H + g->pad_top + g->pad_bottom, wp = g->W + g->pad_left + g->pad_right;
    if (hp < g->R || wp < g->S)
        return 0;
    g->P = (hp - g->R) / g->stride_h + 1;
    g->Q = (wp - g->S) / g->stride_w + 1;
    return 1;
}

size_t pool_ref_x_count(const pool_ref_geom *g)
{
    return (size_t)g->N * g->C * g->H * g->W;
}

size_t pool_ref_y_count(const pool_ref_geom *g)
{
    return (size_t)g->N * g->C * g->P * g->Q;
}

/* The window of output (p, q), clipped to the real pixels: [*h0, *h1) x
 * [*w0, *w1). */
static void window(const pool_ref_geom *g, int p, int q, int *h0, int *h1, int *w0, int *w1)
{
    int hs = p * g->stride_h - g->pad_top, ws = q * g->stride_w - g->pad_left;
    *h0 = hs < 0 ? 0 : hs;
    *h1 = hs + g->R > g->H ? g->H : hs + g->R;
    *w0 = ws < 0 ? 0 : ws;
    *w1 = ws + g->S > g->W ? g->W : ws + g->S;
}

static double divisor(const pool_ref_geom *g, int h0, int h1, int w0, int w1)
{
    if (g->mode == POOL_REF_AVG_INCLUDE_PAD)
        return (double)g->R * g->S;
    return (double)(h1 - h0) * (w1 - w0);
}

void pool_ref_forward(const pool_ref_geom *g, const double *x, double *y, int *argmax)
{
    for (int plane = 0; plane < g->N * g->C; plane++) {
        const double *xp = x + (size_t)plane * g->H * g->W;
        for (int p = 0; p < g->P; p++)
            for (int q = 0; q < g->Q; q++) {
                int h0, h1, w0, w1;
                window(g, p, q, &h0, &h1, &w0, &w1);
                size_t o = ((size_t)plane * g->P + p) * g->Q + q;
                if (g->mode == POOL_REF_MAX) {
                    int best = h0 * g->W + w0;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            if (xp[h * g->W + w] > xp[best])
                                best = h * g->W + w;
                    y[o] = xp[best];
                    if (argmax)
                        argmax[o] = best;
                } else {
                    double sum = 0;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            sum += xp[h * g->W + w];
                    y[o] = sum / divisor(g, h0, h1, w0, w1);
                }
            }
    }
}

void pool_ref_backward(const pool_ref_geom *g, const double *dy, const int *argmax, double *dx)
{
    memset(dx, 0, pool_ref_x_count(g) * sizeof *dx);
    for (int plane = 0; plane < g->N * g->C; plane++) {
        double *dxp = dx + (size_t)plane * g->H * g->W;
        for (int p = 0; p < g->P; p++)
            for (int q = 0; q < g->Q; q++) {
                size_t o = ((size_t)plane * g->P + p) * g->Q + q;
                if (g->mode == POOL_REF_MAX) {
                    dxp[argmax[o]] += dy[o];
                    continue;
                }
                int h0, h1, w0, w1;
                window(g, p, q, &h0, &h1, &w0, &w1);
                double share = dy[o] / divisor(g, h0, h1, w0, w1);
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        dxp[h * g->W + w] += share;
            }
    }
}
