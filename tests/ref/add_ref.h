/*
 * float64 reference for the element-wise add, its backward pass and the
 * accumulation y += alpha * x, written as plain loops. No OpenCL, no
 * clcnn.h.
 */
#ifndef CLCNN_ADD_REF_H
#define CLCNN_ADD_REF_H

#include <stddef.h>

/* y[i] = a[i] + b[i] for i < n. */
void add_ref_forward(const double *a, const double *b, double *y, size_t n);

/* The gradient of L = sum(dy * (a + b)) with respect to a and to b: da and
 * db (either may be NULL) receive dy. */
void add_ref_backward(const double *dy, double *da, double *db, size_t n);

/* y[i] += alpha * x[i]. */
void add_ref_axpy(double alpha, const double *x, double *y, size_t n);

#endif /* CLCNN_ADD_REF_H */
