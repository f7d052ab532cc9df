/* float64 reference for batch normalization (see batchnorm_ref.h). */
#include "batchnorm_ref.h"

#include <math.h>
#include <stddef.h>

static size_t at(int C, int H, int W, int n, int c, int i)
{
    return ((size_t)n * C + c) * ((size_t)H * W) + i;
}

/* mean and biased variance of channel c */
static void stats(int N, int C, int H, int W, const double *x, int c, double *mean,
                  double *var)
{
    const int HW = H * W;
    const double M = (double)N * HW;
    double s = 0;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++)
            s += x[at(C, H, W, n, c, i)];
    const double mu = s / M;
    double v = 0;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++) {
            double d = x[at(C, H, W, n, c, i)] - mu;
            v += d * d;
        }
    *mean = mu;
    *var = v / M;
}

void batchnorm_ref_forward_train(int N, int C, int H, int W, const double *x,
                                 const double *gamma, const double *beta, double eps, double *y,
                                 double *mean, double *var)
{
    for (int c = 0; c < C; c++) {
        double mu, v;
        stats(N, C, H, W, x, c, &mu, &v);
        if (mean)
            mean[c] = mu;
        if (var)
            var[c] = v;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < H * W; i++) {
                size_t k = at(C, H, W, n, c, i);
                y[k] = gamma[c] * (x[k] - mu) / sqrt(v + eps) + beta[c];
            }
    }
}

void batchnorm_ref_update_running(int C, int M, double momentum, const double *mean,
                                  const double *var, double *running_mean, double *running_var)
{
    for (int c = 0; c < C; c++) {
        running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean[c];
        running_var[c] = (1 - momentum) * running_var[c] + momentum * var[c] * M / (M - 1.0);
    }
}

void batchnorm_ref_forward_inference(int N, int C, int H, int W, const double *x,
                                     const double *gamma, const double *beta,
                                     const double *running_mean, const double *running_var,
                                     double eps, double *y)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H * W; i++) {
                size_t k = at(C, H, W, n, c, i);
                y[k] = gamma[c] * (x[k] - running_mean[c]) / sqrt(running_var[c] + eps) +
                       beta[c];
            }
}

void batchnorm_ref_backward(int N, int C, int H, int W, const double *x, const double *gamma,
                            double eps, const double *dy, double *dx, double *dgamma,
                            double *dbeta)
{
    const int HW = H * W;
    const double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double mu, v;
        stats(N, C, H, W, x, c, &mu, &v);
        const double sd = sqrt(v + eps);
        /* y = gamma * xhat + beta, xhat = (x - mu) / sd */
        double dg = 0, db = 0, dvar = 0, dmu = 0, sum_xmu = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t k = at(C, H, W, n, c, i);
                double dxhat = dy[k] * gamma[c];
                dg += dy[k] * (x[k] - mu) / sd;
                db += dy[k];
                dvar += dxhat * (x[k] - mu) * -0.5 * pow(v + eps, -1.5);
                dmu += -dxhat / sd;
                sum_xmu += x[k] - mu;
            }
        /* var depends on mu too: d var / d mu = -2 * mean(x - mu) */
        dmu += dvar * -2.0 * sum_xmu / M;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t k = at(C, H, W, n, c, i);
                dx[k] = dy[k] * gamma[c] / sd + dvar * 2.0 * (x[k] - mu) / M + dmu / M;
            }
        dgamma[c] = dg;
        dbeta[c] = db;
    }
}
