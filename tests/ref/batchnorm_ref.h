/*
 * float64 reference for batch normalization per channel over (N, H, W),
 * written from the definition: the backward pass follows the chain rule
 * through the variance and the mean term by term (the kernel uses the
 * folded closed form). No OpenCL, no clcnn.h.
 */
#ifndef CLCNN_BATCHNORM_REF_H
#define CLCNN_BATCHNORM_REF_H

/* x (N,C,H,W) -> y: per channel c, mean[c] and the biased var[c] over the
 * M = N*H*W values, y = gamma * (x - mean) / sqrt(var + eps) + beta. mean
 * and var (C values each) may be NULL. */
void batchnorm_ref_forward_train(int N, int C, int H, int W, const double *x,
                                 const double *gamma, const double *beta, double eps, double *y,
                                 double *mean, double *var);

/* running = (1 - momentum) * running + momentum * statistic, the variance
 * made unbiased (var * M / (M - 1)); mean and var from the forward pass. */
void batchnorm_ref_update_running(int C, int M, double momentum, const double *mean,
                                  const double *var, double *running_mean, double *running_var);

/* y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta. */
void batchnorm_ref_forward_inference(int N, int C, int H, int W, const double *x,
                                     const double *gamma, const double *beta,
                                     const double *running_mean, const double *running_var,
                                     double eps, double *y);

/* Gradients of L = sum(dy * y) for the training-mode forward: dx
 * (overwritten), dgamma and dbeta (C values, overwritten). */
void batchnorm_ref_backward(int N, int C, int H, int W, const double *x, const double *gamma,
                            double eps, const double *dy, double *dx, double *dgamma,
                            double *dbeta);

#endif /* CLCNN_BATCHNORM_REF_H */
