/* float64 reference for global average pooling (see global_avgpool_ref.h). */
#include "global_avgpool_ref.h"

#include <stddef.h>

void global_avgpool_ref_forward(int N, int C, int H, int W, const double *x, double *y)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double sum = 0;
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    sum += x[(((size_t)n * C + c) * H + h) * W + w];
            y[(size_t)n * C + c] = sum / ((double)H * W);
        }
}

void global_avgpool_ref_backward(int N, int C, int H, int W, const double *dy, double *dx)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double share = dy[(size_t)n * C + c] / ((double)H * W);
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    dx[(((size_t)n * C + c) * H + h) * W + w] = share;
        }
}
