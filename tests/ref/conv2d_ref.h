/*
 * float64 reference for conv2d, written as plain loops over the definition
 * so that it shares no code (and no bug) with the OpenCL kernels. It never
 * uses OpenCL and does not include clcnn.h: the geometry is plain ints.
 */
#ifndef CLCNN_CONV2D_REF_H
#define CLCNN_CONV2D_REF_H

#include <stddef.h>

/* x (N,C,H,W), w (K,C/groups,R,S) -> y (N,K,P,Q). Strides and dilations are
 * >= 1; groups 0 or 1 is one group, else it divides C and K and output
 * channel k sees input channels [k / (K/groups) * C/groups, + C/groups). */
typedef struct conv2d_ref_geom {
    int N, C, H, W;
    int K, R, S;
    int P, Q;
    int pad_top, pad_bottom, pad_left, pad_right;
    int stride_h, stride_w;
    int dil_h, dil_w;
    int groups;
} conv2d_ref_geom;

/* groups, with 0 read as 1. */
int conv2d_ref_groups(const conv2d_ref_geom *g);

/* Fills P and Q from the other fields; returns 0 when the output would be
 * empty (the filter does not fit the padded input), 1 otherwise. */
int conv2d_ref_geom_finish(conv2d_ref_geom *g);

size_t conv2d_ref_x_count(const conv2d_ref_geom *g);
size_t conv2d_ref_w_count(const conv2d_ref_geom *g);
size_t conv2d_ref_y_count(const conv2d_ref_geom *g);

/* y = conv(x, w) + b; b may be NULL. */
void conv2d_ref_forward(const conv2d_ref_geom *g, const double *x, const double *w,
                        const double *b, double *y);

/* dx = d(sum(y * dy))/dx, overwritten. */
void conv2d_ref_backward_data(const conv2d_ref_geom *g, const double *dy, const double *w,
                              double *dx);

/* dw += d(sum(y * dy))/dw; db (may be NULL) += d/db. */
void conv2d_ref_backward_filter(const conv2d_ref_geom *g, const double *x, const double *dy,
                                double *dw, double *db);

#endif /* CLCNN_CONV2D_REF_H */
