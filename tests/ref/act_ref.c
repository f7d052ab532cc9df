/* float64 reference for the activations (see act_ref.h). */
#include "act_ref.h"

#include <math.h>

static double sigmoid(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

void act_ref_forward(int act, double alpha, const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        switch (act) {
        case ACT_REF_RELU:
            y[i] = v > 0 ? v : 0;
            break;
        case ACT_REF_LEAKY_RELU:
            y[i] = v > 0 ? v : alpha * v;
            break;
        case ACT_REF_TANH:
            y[i] = tanh(v);
            break;
        default:
            y[i] = sigmoid(v);
            break;
        }
    }
}

void act_ref_backward(int act, double alpha, const double *x, const double *dy, double *dx,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i], d;
        switch (act) {
        case ACT_REF_RELU:
            d = v > 0 ? 1 : 0;
            break;
        case ACT_REF_LEAKY_RELU:
            d = v > 0 ? 1 : alpha;
            break;
        case ACT_REF_TANH:
            d = 1.0 / (cosh(v) * cosh(v));
            break;
        default:
            d = exp(-v) / ((1.0 + exp(-v)) * (1.0 + exp(-v)));
            break;
        }
        dx[i] = dy[i] * d;
    }
}
