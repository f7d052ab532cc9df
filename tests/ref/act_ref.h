/*
 * float64 reference for the element-wise activations. The backward pass
 * differentiates in terms of x (the kernels use y for tanh and sigmoid), so
 * the two do not share a formula. No OpenCL, no clcnn.h.
 */
#ifndef CLCNN_ACT_REF_H
#define CLCNN_ACT_REF_H

#include <stddef.h>

/* Numbered as clcnn_activation. */
enum { ACT_REF_RELU = 0, ACT_REF_LEAKY_RELU = 1, ACT_REF_TANH = 2, ACT_REF_SIGMOID = 3 };

/* y[i] = act(x[i]) for i < n; alpha is the leaky-ReLU slope. */
void act_ref_forward(int act, double alpha, const double *x, double *y, size_t n);

/* dx[i] = dy[i] * act'(x[i]). */
void act_ref_backward(int act, double alpha, const double *x, const double *dy, double *dx,
                      size_t n);

#endif /* CLCNN_ACT_REF_H */
