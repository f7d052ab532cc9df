/*
 * Optimiser steps over a flat parameter tensor, one launch per step: the
 * parameter update, the state update and the zeroing of the gradient (ready
 * to accumulate the next batch) happen in the same pass over memory.
 *
 * Options: none.
 *
 * Work-item g updates elements 4g .. 4g+3 as one float4 (vload4/vstore4 need
 * only float alignment, so tensors at any element offset work). The one
 * work-item whose group of four runs past `count` takes its 1..3 elements
 * through the same float4 code with zero padding; padded lanes are never
 * stored (and stay finite: Adam's update of zeros is 0 / eps).
 *
 * Arguments: param, grad, state as (buffer, element offset) pairs, count,
 * then the hyper-parameters as floats (see each kernel). Weight decay is L2
 * added to the gradient, g' = g + weight_decay * p, skipped when it is 0 so
 * that a non-finite parameter does not turn into NaN through 0 * inf.
 */

/* Elements i .. i+3 of p, zeros past n. */
static float4 load4(const __global float *p, int i, int n)
{
    if (n - i >= 4)
        return vload4(0, p + i);
    float4 v = (float4)(0.0f);
    v.s0 = p[i];
    if (n - i > 1)
        v.s1 = p[i + 1];
    if (n - i > 2)
        v.s2 = p[i + 2];
    return v;
}

/* Stores the lanes of v that fall below n. */
static void store4(__global float *p, int i, int n, float4 v)
{
    if (n - i >= 4) {
        vstore4(v, 0, p + i);
        return;
    }
    p[i] = v.s0;
    if (n - i > 1)
        p[i + 1] = v.s1;
    if (n - i > 2)
        p[i + 2] = v.s2;
}

/* First element of this work-item's group of four, or -1 past the end
 * (written so that no int overflows for counts near INT_MAX). */
static int first_element(int count)
{
    const int groups = count / 4 + (count % 4 != 0);
    const int g = (int)get_global_id(0);
    return g < groups ? 4 * g : -1;
}

/*
 * SGD (PyTorch semantics, no dampening): with momentum > 0,
 * v = momentum * v + g' and the update is g' + momentum * v (nesterov) or v;
 * otherwise the update is g' and state is not touched (the op may pass any
 * buffer). p -= lr * update; grad = 0.
 */
__kernel void optim_sgd(__global float *param, int param_off, __global float *grad, int grad_off,
                        __global float *state, int state_off, int count, float lr,
                        float weight_decay, float momentum, int nesterov)
{
    const int i = first_element(count);
    if (i < 0)
        return;
    __global float *pp = param + param_off;
    __global float *gp = grad + grad_off;
    float4 p = load4(pp, i, count);
    float4 g = load4(gp, i, count);
    if (weight_decay != 0.0f)
        g += weight_decay * p;
    if (momentum > 0.0f) {
        __global float *vp = state + state_off;
        float4 v = momentum * load4(vp, i, count) + g;
        store4(vp, i, count, v);
        g = nesterov ? g + momentum * v : v;
    }
    store4(pp, i, count, p - lr * g);
    store4(gp, i, count, (float4)(0.0f));
}

/*
 * Adam (PyTorch semantics, L2 weight decay): state holds m at [0, count) and
 * v at [count, 2 count) from its offset.
 *   m = beta1 m + (1 - beta1) g';  v = beta2 v + (1 - beta2) g'^2
 *   p -= step_size * m / (sqrt(v) * inv_sqrt_bc2 + eps)
 * with step_size = lr / (1 - beta1^step) and inv_sqrt_bc2 =
 * 1 / sqrt(1 - beta2^step) computed by the host in double: eps is added after
 * the square root of the bias-corrected second moment. grad = 0.
 */
__kernel void optim_adam(__global float *param, int param_off, __global float *grad, int grad_off,
                         __global float *state, int state_off, int count, float step_size,
                         float inv_sqrt_bc2, float beta1, float beta2, float eps,
                         float weight_decay)
{
    const int i = first_element(count);
    if (i < 0)
        return;
    __global float *pp = param + param_off;
    __global float *gp = grad + grad_off;
    __global float *mp = state + state_off;
    __global float *vp = mp + count;
    float4 p = load4(pp, i, count);
    float4 g = load4(gp, i, count);
    if (weight_decay != 0.0f)
        g += weight_decay * p;
    float4 m = beta1 * load4(mp, i, count) + (1.0f - beta1) * g;
    float4 v = beta2 * load4(vp, i, count) + (1.0f - beta2) * (g * g);
    store4(mp, i, count, m);
    store4(vp, i, count, v);
    store4(pp, i, count, p - step_size * (m / (sqrt(v) * inv_sqrt_bc2 + eps)));
    store4(gp, i, count, (float4)(0.0f));
}
