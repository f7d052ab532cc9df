/*
 * float64 reference for softmax over the channel axis of an NCHW tensor.
 * The backward pass multiplies by the full Jacobian (y_i (delta_ij - y_j)),
 * not the shortcut the kernel uses. No OpenCL, no clcnn.h.
 */
#ifndef CLCNN_SOFTMAX_REF_H
#define CLCNN_SOFTMAX_REF_H

/* y[n,c,h,w] = exp(x[n,c,h,w]) / sum_c' exp(x[n,c',h,w]), computed stably. */
void softmax_ref_forward(int N, int C, int H, int W, const double *x, double *y);

/* dx = J^T dy per position, from the forward output y. */
void softmax_ref_backward(int N, int C, int H, int W, const double *y, const double *dy,
                          double *dx);

#endif /* CLCNN_SOFTMAX_REF_H */
