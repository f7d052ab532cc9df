/* Reference of inverted dropout (see dropout_ref.h). */
#include "dropout_ref.h"

#include <math.h>

int dropout_ref_keep(uint64_t seed, size_t i, double p)
{
    if (p >= 1)
        return 0;
    uint64_t z = seed + ((uint64_t)i + 1) * UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    /* uniform u in [0, 1) from the top 32 bits; kept with probability 1 - p */
    double u = (double)(z >> 32) / 4294967296.0;
    return u >= p;
}

void dropout_ref_forward(uint64_t seed, double p, int training, const double *x, double *y,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!training)
            y[i] = x[i];
        else
            y[i] = dropout_ref_keep(seed, i, p) ? x[i] / (1 - p) : 0;
    }
}
