/* float64 reference for add and axpy (see add_ref.h). */
#include "add_ref.h"

void add_ref_forward(const double *a, const double *b, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void add_ref_backward(const double *dy, double *da, double *db, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (da)
            da[i] = dy[i];
        if (db)
            db[i] = dy[i];
    }
}

void add_ref_axpy(double alpha, const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}
