/*
 * The whole-network gradient check shared by the network suites: the
 * backward pass's parameter gradient against central differences of the
 * loss.
 */
#ifndef CLCNN_NET_GRADIENT_H
#define CLCNN_NET_GRADIENT_H

#include <stddef.h>

#include "clcnn.h"

/* Checks every stride-th parameter of net (its current values) on the batch
 * (x, labels) of n images: each gradient within relative error tolerance of
 * (loss(p + h) - loss(p - h)) / 2h with h = 1e-2, and more than
 * min_nonzero_percent of the checked gradients non-zero, so that a backward
 * pass which drops a path cannot pass on zeros. Use smooth activations:
 * differences across a kink do not hold. */
void tu_check_net_gradient(clcnn_net *net, const float *x, const float *labels, int n,
                           size_t stride, double tolerance, int min_nonzero_percent);

#endif /* CLCNN_NET_GRADIENT_H */
