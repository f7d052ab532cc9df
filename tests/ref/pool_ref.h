/*
 * float64 reference for 2-D pooling, written as plain loops over the
 * definition (the backward pass scatters, where the kernel gathers). It
 * never uses OpenCL and does not include clcnn.h: the geometry is plain ints.
 */
#ifndef CLCNN_POOL_REF_H
#define CLCNN_POOL_REF_H

#include <stddef.h>

/* The modes, numbered as clcnn_pool_mode. */
enum { POOL_REF_MAX = 0, POOL_REF_AVG_EXCLUDE_PAD = 1, POOL_REF_AVG_INCLUDE_PAD = 2 };

/* x (N,C,H,W) -> y (N,C,P,Q); window R x S; strides >= 1. */
typedef struct pool_ref_geom {
    int mode;
    int N, C, H, W;
    int R, S;
    int stride_h, stride_w;
    int pad_top, pad_bottom, pad_left, pad_right;
    int P, Q;
} pool_ref_geom;

/* Fills P and Q; returns 0 when the window does not fit the padded input. */
int pool_ref_geom_finish(pool_ref_geom *g);

size_t pool_ref_x_count(const pool_ref_geom *g);
size_t pool_ref_y_count(const pool_ref_geom *g);

/* y = pool(x). For max, argmax (may be NULL) receives the index h * W + w of
 * the first largest pixel of each window (row-major order) in its plane. */
void pool_ref_forward(const pool_ref_geom *g, const double *x, double *y, int *argmax);

/* dx = d(sum(y * dy))/dx, overwritten; argmax from pool_ref_forward for max
 * (unused for average). */
void pool_ref_backward(const pool_ref_geom *g, const double *dy, const int *argmax, double *dx);

#endif /* CLCNN_POOL_REF_H */
