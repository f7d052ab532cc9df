/*
 * Reference of inverted dropout, from the mask's definition in
 * kernels/dropout.cl written again in plain C (splitmix64 of the seed and
 * the element index), so that a device's mask can be compared bit for bit
 * with the host's. No OpenCL, no clcnn.h.
 */
#ifndef CLCNN_DROPOUT_REF_H
#define CLCNN_DROPOUT_REF_H

#include <stddef.h>
#include <stdint.h>

/* Whether element i is kept in training with drop probability p. */
int dropout_ref_keep(uint64_t seed, size_t i, double p);

/* y = training ? x * keep / (1 - p) : x (p = 1 zeroes everything). Also the
 * backward pass, on dy. */
void dropout_ref_forward(uint64_t seed, double p, int training, const double *x, double *y,
                         size_t n);

#endif /* CLCNN_DROPOUT_REF_H */
