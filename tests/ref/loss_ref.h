/*
 * float64 reference of the fused softmax cross-entropy loss, written plainly
 * so that it cannot share a bug with the device code (no OpenCL here).
 */
#ifndef CLCNN_LOSS_REF_H
#define CLCNN_LOSS_REF_H

#include <stddef.h>

/*
 * logits (N,K) row-major, labels (N) class indices as floats. Returns the mean
 * over the batch of logsumexp(z) - z[label]; an invalid label (not an integer
 * in 0..K-1) makes the result NaN. dlogits (may be NULL) receives
 * (softmax(z) - onehot(label)) / N, NaN for a row whose label is invalid.
 */
double loss_ref_softmax_xent(const float *logits, const float *labels, int n, int k,
                             double *dlogits);

/* The same loss with float64 logits, for central-difference checks. */
double loss_ref_softmax_xent_f64(const double *logits, const float *labels, int n, int k,
                                 double *dlogits);

#endif
