/* float64 reference for dense layers and GEMM (see dense_ref.h). */
#include "dense_ref.h"

#include <stddef.h>

void dense_ref_forward(int N, int F, int K, const double *x, const double *w, const double *b,
                       double *y)
{
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            double s = b ? b[k] : 0;
            for (int f = 0; f < F; f++)
                s += x[(size_t)n * F + f] * w[(size_t)k * F + f];
            y[(size_t)n * K + k] = s;
        }
}

void dense_ref_backward_data(int N, int F, int K, const double *dy, const double *w,
                             double *dx)
{
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += dy[(size_t)n * K + k] * w[(size_t)k * F + f];
            dx[(size_t)n * F + f] = s;
        }
}

void dense_ref_backward_filter(int N, int F, int K, const double *x, const double *dy,
                               double *dw, double *db)
{
    for (int k = 0; k < K; k++) {
        for (int f = 0; f < F; f++) {
            double s = 0;
            for (int n = 0; n < N; n++)
                s += dy[(size_t)n * K + k] * x[(size_t)n * F + f];
            dw[(size_t)k * F + f] += s;
        }
        if (db) {
            double s = 0;
            for (int n = 0; n < N; n++)
                s += dy[(size_t)n * K + k];
            db[k] += s;
        }
    }
}

void gemm_ref(int trans_a, int trans_b, int M, int N, int K, double alpha, const double *A,
              int lda, const double *B, int ldb, double beta, double *C, int ldc,
              const double *bias, int bias_mode)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                double a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
            }
            double c = alpha * s;
            if (bias_mode == 1)
                c += bias[j];
            else if (bias_mode == 2)
                c += bias[i];
            if (beta != 0)
                c += beta * C[(size_t)i * ldc + j];
            C[(size_t)i * ldc + j] = c;
        }
}
