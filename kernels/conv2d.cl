/* kernels/conv2d.cl (placeholder) */
__kernel void placeholder_conv2d(__global float *x) { x[0] = 0.0f; }
