/* float64 reference of softmax cross-entropy (see loss_ref.h). */
#include <math.h>
#include <stdlib.h>

#include "loss_ref.h"

static int valid_label(float label, int k)
{
    return label >= 0.0f && label < (float)k && label == floorf(label);
}

double loss_ref_softmax_xent_f64(const double *logits, const float *labels, int n, int k,
                                 double *dlogits)
{
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const double *z = logits + (size_t)i * k;
        double *d = dlogits ? dlogits + (size_t)i * k : NULL;
        int ok = valid_label(labels[i], k);
        int label = ok ? (int)labels[i] : -1;
        /* log-sum-exp with the maximum subtracted, so large logits stay finite */
        double m = z[0];
        for (int j = 1; j < k; j++)
            if (z[j] > m)
                m = z[j];
        double s = 0.0;
        for (int j = 0; j < k; j++)
            s += exp(z[j] - m);
        total += ok ? log(s) + m - z[label] : NAN;
        if (d)
            for (int j = 0; j < k; j++)
                d[j] = ok ? (exp(z[j] - m) / s - (j == label ? 1.0 : 0.0)) / n : NAN;
    }
    return total / n;
}

double loss_ref_softmax_xent(const float *logits, const float *labels, int n, int k,
                             double *dlogits)
{
    size_t count = (size_t)n * (size_t)k;
    double *z = malloc(count * sizeof *z);
    if (!z)
        return NAN;
    for (size_t i = 0; i < count; i++)
        z[i] = logits[i];
    double loss = loss_ref_softmax_xent_f64(z, labels, n, k, dlogits);
    free(z);
    return loss;
}
