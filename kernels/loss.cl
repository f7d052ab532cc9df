/* kernels/loss.cl (placeholder) */
__kernel void placeholder_loss(__global float *x) { x[0] = 0.0f; }
