/*
 * float64 reference for conv2d (see conv2d_ref.h). Every function walks the
 * forward definition y[n,k,p,q] = b[k] + sum_{c,r,s} x[n,c,h,w] w[k,c,r,s]
 * with h = p*stride_h - pad_top + r*dil_h (w likewise), c running over the
 * input channels of k's group (all of them for one group); the backward passes
 * scatter along the same index map instead of inverting it, so they cannot
 * share an inversion mistake with the device kernels.
 */
#include "conv2d_ref.h"

#include <string.h>

int conv2d_ref_geom_finish(conv2d_ref_geom *g)
{
    int eff_r = (g->R - 1) * g->dil_h + 1;
    int eff_s = (g->S - 1) * g->dil_w + 1;
    int span_h = g->H + g->pad_top + g->pad_bottom - eff_r;
    int span_w = g->W + g->pad_left + g->pad_right - eff_s;
    if (span_h < 0 || span_w < 0) {
        g->P = g->Q = 0;
        return 0;
    }
    g->P = span_h / g->stride_h + 1;
    g->Q = span_w / g->stride_w + 1;
    return 1;
}

int conv2d_ref_groups(const conv2d_ref_geom *g)
{
    return g->groups > 1 ? g->groups : 1;
}

size_t conv2d_ref_x_count(const conv2d_ref_geom *g)
{
    return (size_t)g->N * g->C * g->H * g->W;
}

size_t conv2d_ref_w_count(const conv2d_ref_geom *g)
{
    return (size_t)g->K * (g->C / conv2d_ref_groups(g)) * g->R * g->S;
}

size_t conv2d_ref_y_count(const conv2d_ref_geom *g)
{
    return (size_t)g->N * g->K * g->P * g->Q;
}

/* Calls visit(n, k, p, q, c, r, s, x index, w index, y index) for every
 * product term of the forward sum whose input pixel lies inside the image. */
#define CONV2D_REF_FOR_EACH_TERM(g, BODY)                                                      \
    for (int n = 0; n < (g)->N; n++)                                                           \
        for (int k = 0; k < (g)->K; k++)                                                       \
            for (int p = 0; p < (g)->P; p++)                                                   \
                for (int q = 0; q < (g)->Q; q++)                                               \
                    for (int cg = 0; cg < (g)->C / conv2d_ref_groups(g); cg++)                 \
                        for (int r = 0; r < (g)->R; r++) {                                     \
                            const int CG = (g)->C / conv2d_ref_groups(g);                      \
                            const int c = k / ((g)->K / conv2d_ref_groups(g)) * CG + cg;       \
                            int h = p * (g)->stride_h - (g)->pad_top + r * (g)->dil_h;         \
                            if (h < 0 || h >= (g)->H)                                          \
                                continue;                                                      \
                            for (int s = 0; s < (g)->S; s++) {                                 \
                                int wc = q * (g)->stride_w - (g)->pad_left + s * (g)->dil_w;   \
                                if (wc < 0 || wc >= (g)->W)                                    \
                                    continue;                                                  \
                                size_t xi = (((size_t)n * (g)->C + c) * (g)->H + h) * (g)->W + \
                                            wc;                                                \
                                size_t wi = (((size_t)k * CG + cg) * (g)->R + r) * (g)->S +    \
                                            s;                                                 \
                                size_t yi = (((size_t)n * (g)->K + k) * (g)->P + p) * (g)->Q + \
                                            q;                                                 \
                                BODY                                                           \
                            }                                                                  \
                        }

void conv2d_ref_forward(const conv2d_ref_geom *g, const double *x, const double *w,
                        const double *b, double *y)
{
    size_t plane = (size_t)g->P * g->Q;
    for (int n = 0; n < g->N; n++)
        for (int k = 0; k < g->K; k++)
            for (size_t i = 0; i < plane; i++)
                y[((size_t)n * g->K + k) * plane + i] = b ? b[k] : 0.0;
    CONV2D_REF_FOR_EACH_TERM(g, { y[yi] += x[xi] * w[wi]; })
}

void conv2d_ref_backward_data(const conv2d_ref_geom *g, const double *dy, const double *w,
                              double *dx)
{
    memset(dx, 0, conv2d_ref_x_count(g) * sizeof *dx);
    CONV2D_REF_FOR_EACH_TERM(g, { dx[xi] += dy[yi] * w[wi]; })
}

void conv2d_ref_backward_filter(const conv2d_ref_geom *g, const double *x, const double *dy,
                                double *dw, double *db)
{
    CONV2D_REF_FOR_EACH_TERM(g, { dw[wi] += dy[yi] * x[xi]; })
    if (db) {
        size_t plane = (size_t)g->P * g->Q;
        for (int n = 0; n < g->N; n++)
            for (int k = 0; k < g->K; k++)
                for (size_t i = 0; i < plane; i++)
                    db[k] += dy[((size_t)n * g->K + k) * plane + i];
    }
}
