/*
 * float64 reference for dense layers and for the general matrix multiply
 * they are built on, as plain loops. No OpenCL, no clcnn.h.
 */
#ifndef CLCNN_DENSE_REF_H
#define CLCNN_DENSE_REF_H

/* y (N,K) = x (N,F) w (K,F)^T + b (K; may be NULL). */
void dense_ref_forward(int N, int F, int K, const double *x, const double *w, const double *b,
                       double *y);

/* dx (N,F) = dy (N,K) w (K,F), overwritten. */
void dense_ref_backward_data(int N, int F, int K, const double *dy, const double *w,
                             double *dx);

/* dw (K,F) += dy^T x; db (K; may be NULL) += column sums of dy. */
void dense_ref_backward_filter(int N, int F, int K, const double *x, const double *dy,
                               double *dw, double *db);

/*
 * C = alpha * op(A) op(B) + beta * C + bias, op(A) (M,K), op(B) (K,N), all
 * row-major with row strides lda, ldb, ldc; A is stored (K,M) when trans_a,
 * B (N,K) when trans_b. With beta == 0 C is not read. bias_mode 0: none,
 * 1: bias[j] per column, 2: bias[i] per row.
 */
void gemm_ref(int trans_a, int trans_b, int M, int N, int K, double alpha, const double *A,
              int lda, const double *B, int ldb, double beta, double *C, int ldc,
              const double *bias, int bias_mode);

#endif /* CLCNN_DENSE_REF_H */
