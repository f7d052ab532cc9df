/*
 * float64 reference for global average pooling (N,C,H,W) -> (N,C,1,1),
 * written as plain loops (the backward pass scatters each plane's gradient,
 * where the kernel gathers per element). No OpenCL, no clcnn.h.
 */
#ifndef CLCNN_GLOBAL_AVGPOOL_REF_H
#define CLCNN_GLOBAL_AVGPOOL_REF_H

/* y[n][c] = mean over h, w of x[n][c][h][w]. */
void global_avgpool_ref_forward(int N, int C, int H, int W, const double *x, double *y);

/* dx = d(sum(dy * y))/dx, overwritten. */
void global_avgpool_ref_backward(int N, int C, int H, int W, const double *dy, double *dx);

#endif /* CLCNN_GLOBAL_AVGPOOL_REF_H */
