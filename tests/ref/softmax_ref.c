/* float64 reference for softmax (see softmax_ref.h). */
#include "softmax_ref.h"

#include <math.h>
#include <stddef.h>

/* Element (n, c, pixel s) of an (N,C,HW) tensor. */
static size_t at(int C, int HW, int n, int c, int s)
{
    return ((size_t)n * C + c) * HW + s;
}

void softmax_ref_forward(int N, int C, int H, int W, const double *x, double *y)
{
    int HW = H * W;
    for (int n = 0; n < N; n++)
        for (int s = 0; s < HW; s++) {
            double m = -INFINITY, sum = 0;
            for (int c = 0; c < C; c++)
                m = fmax(m, x[at(C, HW, n, c, s)]);
            for (int c = 0; c < C; c++)
                sum += exp(x[at(C, HW, n, c, s)] - m);
            for (int c = 0; c < C; c++)
                y[at(C, HW, n, c, s)] = exp(x[at(C, HW, n, c, s)] - m) / sum;
        }
}

void softmax_ref_backward(int N, int C, int H, int W, const double *y, const double *dy,
                          double *dx)
{
    int HW = H * W;
    for (int n = 0; n < N; n++)
        for (int s = 0; s < HW; s++)
            for (int i = 0; i < C; i++) {
                double yi = y[at(C, HW, n, i, s)], g = 0;
                for (int j = 0; j < C; j++) {
                    double yj = y[at(C, HW, n, j, s)];
                    g += dy[at(C, HW, n, j, s)] * yj * ((i == j ? 1.0 : 0.0) - yi);
                }
                dx[at(C, HW, n, i, s)] = g;
            }
}
