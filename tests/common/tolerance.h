/*
 * Named tolerances for comparing float32 device results with the float64
 * reference: |got - ref| <= atol + rtol * |ref|. Float32 accumulation over a
 * reduction of length L has error growing about like sqrt(L) * 2^-24 * the
 * magnitude of the terms, so the absolute part scales with the reduction.
 */
#ifndef CLCNN_TOLERANCE_H
#define CLCNN_TOLERANCE_H

#include <math.h>

/* element-wise ops: one rounding, plus libm-level error for tanh / exp */
#define TOL_ELEMENTWISE_RTOL 1e-5
#define TOL_ELEMENTWISE_ATOL 1e-6

/* softmax: exp and one division per element */
#define TOL_SOFTMAX_RTOL 1e-5
#define TOL_SOFTMAX_ATOL 1e-6

/* pooling: max is exact; average adds up to window-size terms */
#define TOL_POOL_RTOL 1e-5
#define TOL_POOL_ATOL 1e-6

/* Sums of `length` products of values of magnitude up to about 1. */
#define TOL_REDUCTION_RTOL 1e-5
static inline double tol_reduction_atol(double length)
{
    return 2e-6 * sqrt(length);
}

/* Winograd F(4x4, 3x3) (the "winograd4" conv2d variants): its transforms
 * multiply by up to 8 (A^T) and 5 (B^T) around the sums and by 1/24 (G), so
 * its rounding error is that of a reduction of terms some 100 times larger:
 * the reduction's atol times this (measured: up to about 25 times). */
#define TOL_WINO4_ATOL_SCALE 100.0

/* softmax cross-entropy: the loss sums N per-sample log-sum-exps in a tree,
 * and each dlogits element is (p - onehot) / N, where p near 1 carries a few
 * float32 ulps of 1 (exp, one division) that the subtraction exposes, so the
 * absolute part is a few ulps of 1 divided by N (the test divides). */
#define TOL_LOSS_RTOL 1e-5
#define TOL_LOSS_ATOL 1e-6
#define TOL_LOSS_DLOGITS_ATOL 5e-7

/* optimisers: a few float32 roundings per element and step, over a few steps */
#define TOL_OPTIM_RTOL 1e-5
#define TOL_OPTIM_ATOL 1e-6

/* Central differences in float64 on a reference forward, step about 1e-5:
 * the error is O(h^2) for smooth functions (about 1e-11) plus rounding of
 * order 1e-16 * |loss| / h, and none for piecewise-linear ones away from
 * their kinks. */
#define TOL_GRADCHECK_RTOL 1e-6
#define TOL_GRADCHECK_ATOL 1e-8

#endif /* CLCNN_TOLERANCE_H */
