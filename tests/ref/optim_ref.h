/*
 * float64 references of the optimisers and learning-rate schedules, written
 * from their formulas (PyTorch semantics) with no OpenCL, to check the device
 * kernels and clcnn_lr_at against.
 */
#ifndef CLCNN_OPTIM_REF_H
#define CLCNN_OPTIM_REF_H

#include <stddef.h>

/*
 * One SGD step over count elements: g' = g + wd * p; with momentum > 0,
 * v = momentum * v + g' and the update is g' + momentum * v (Nesterov) or v;
 * without momentum the update is g' and v is untouched (may be NULL).
 * p -= lr * update.
 */
void optim_ref_sgd(double *p, const double *g, double *v, size_t count, double lr, double wd,
                   double momentum, int nesterov);

/*
 * One Adam step number `step` (1-based) over count elements: g' = g + wd * p;
 * m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
 * p -= lr * (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps).
 */
void optim_ref_adam(double *p, const double *g, double *m, double *v, size_t count, long step,
                    double lr, double wd, double beta1, double beta2, double eps);

/* Learning-rate schedules at time t. */
double optim_ref_lr_step(double base, int step_size, double gamma, long t);
double optim_ref_lr_cosine(double base, double min_lr, long total, long t);

#endif
