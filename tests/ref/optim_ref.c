/* float64 references of SGD, Adam and the learning-rate schedules (see optim_ref.h). */
#include <math.h>

#include "optim_ref.h"

void optim_ref_sgd(double *p, const double *g, double *v, size_t count, double lr, double wd,
                   double momentum, int nesterov)
{
    for (size_t i = 0; i < count; i++) {
        double gi = g[i] + wd * p[i];
        double update = gi;
        if (momentum > 0.0) {
            v[i] = momentum * v[i] + gi;
            update = nesterov ? gi + momentum * v[i] : v[i];
        }
        p[i] -= lr * update;
    }
}

void optim_ref_adam(double *p, const double *g, double *m, double *v, size_t count, long step,
                    double lr, double wd, double beta1, double beta2, double eps)
{
    double bc1 = 1.0 - pow(beta1, (double)step);
    double bc2 = 1.0 - pow(beta2, (double)step);
    for (size_t i = 0; i < count; i++) {
        double gi = g[i] + wd * p[i];
        m[i] = beta1 * m[i] + (1.0 - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0 - beta2) * gi * gi;
        double m_hat = m[i] / bc1;
        double v_hat = v[i] / bc2;
        p[i] -= lr * m_hat / (sqrt(v_hat) + eps);
    }
}

double optim_ref_lr_step(double base, int step_size, double gamma, long t)
{
    long k = t / step_size;
    double lr = base;
    for (long i = 0; i < k; i++)
        lr *= gamma;
    return lr;
}

double optim_ref_lr_cosine(double base, double min_lr, long total, long t)
{
    if (t >= total)
        return min_lr;
    const double pi = 3.14159265358979323846;
    return min_lr + (base - min_lr) * (1.0 + cos(pi * (double)t / (double)total)) / 2.0;
}
