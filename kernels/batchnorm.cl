/*
 * Batch normalization per channel over (N, H, W), NCHW, with PyTorch's
 * BatchNorm2d semantics: forward in training mode (batch statistics, running
 * statistics updated), forward in inference mode (running statistics) and
 * the backward pass of the training mode.
 *
 * -D options:
 *   WG (required)  work-group size of bn_fwd_train and bn_bwd, a power of
 *                  two: the kernels are launched with one group of WG
 *                  work-items per channel.
 *
 * Channel c's values are x[(n * C + c) * HW + i] for n < N, i < HW; the
 * kernels walk them as one flat run j = n * HW + i of M = N * HW values.
 * Sums over a channel go through a fixed-order tree in local memory, so a
 * run gives the same bits every time (no atomics).
 *
 * bn_fwd_train: group c computes mean = sum(x) / M, then (a second pass,
 *   for accuracy) var = sum((x - mean)^2) / M, invstd = 1 / sqrt(var + eps),
 *   writes save_mean[c], save_invstd[c], and when update != 0 updates
 *   running_mean[c] and running_var[c] with momentum (the variance unbiased,
 *   var * M / (M - 1); M >= 2 is checked by the host), then writes
 *   y = (x - mean) * invstd * gamma[c] + beta[c] (a third pass).
 *   args: x, y, gamma, beta, running_mean, running_var (any buffers when
 *   update is 0), save_mean, save_invstd, update, momentum, eps, C, HW, M.
 *
 * bn_fwd_infer: one work-item per element (flat over N*C*H*W):
 *   y = (x - running_mean[c]) / sqrt(running_var[c] + eps) * gamma[c]
 *   + beta[c]. Each work-item reads its element before writing it, so y may
 *   be x.
 *   args: x, y, gamma, beta, running_mean, running_var, eps, C, HW, total.
 *
 * bn_bwd: group c sums dbeta_c = sum(dy) and dgamma_c = sum(dy * x_hat) with
 *   x_hat = (x - mean) * invstd (one pass, two trees), adds them to
 *   dbeta[c] and dgamma[c] where want_dbeta, want_dgamma (otherwise those
 *   may be any buffers), and writes
 *   dx = gamma[c] * invstd * (dy - dbeta_c / M - x_hat * dgamma_c / M).
 *   args: x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta,
 *   want_dgamma, want_dbeta, C, HW, M.
 */
#ifndef WG
#error "WG must be passed with -DWG=<n>"
#endif
#if (WG & (WG - 1)) != 0
#error "WG must be a power of two"
#endif

/* The offset of value j of channel c. */
#define AT(j) (((size_t)((j) / HW) * C + c) * HW + (j) % HW)

/* Sums v over the group in a fixed order; every work-item gets the total.
 * Every work-item of the group must call it (it holds barriers). */
static float group_sum(__local float *red, int lid, float v)
{
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {
        if (lid < s)
            red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = red[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* red is rewritten by the next sum */
    return total;
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void bn_fwd_train(__global const float *x, int x_off, __global float *y, int y_off,
                  __global const float *gamma, int gamma_off, __global const float *beta,
                  int beta_off, __global float *running_mean, int rm_off,
                  __global float *running_var, int rv_off, __global float *save_mean,
                  int sm_off, __global float *save_invstd, int si_off, int update,
                  float momentum, float eps, int C, int HW, int M)
{
    __local float red[WG];
    const int c = (int)get_group_id(0);
    const int lid = (int)get_local_id(0);
    x += x_off;
    y += y_off;

    float s = 0.0f;
    for (int j = lid; j < M; j += WG)
        s += x[AT(j)];
    const float mean = group_sum(red, lid, s) / (float)M;
    s = 0.0f;
    for (int j = lid; j < M; j += WG) {
        const float d = x[AT(j)] - mean;
        s += d * d;
    }
    const float var = group_sum(red, lid, s) / (float)M;
    const float invstd = 1.0f / sqrt(var + eps);
    if (lid == 0) {
        save_mean[sm_off + c] = mean;
        save_invstd[si_off + c] = invstd;
        if (update) {
            const float unbiased = var * ((float)M / (float)(M - 1));
            running_mean[rm_off + c] = (1.0f - momentum) * running_mean[rm_off + c] +
                                       momentum * mean;
            running_var[rv_off + c] = (1.0f - momentum) * running_var[rv_off + c] +
                                      momentum * unbiased;
        }
    }
    const float scale = invstd * gamma[gamma_off + c], shift = beta[beta_off + c];
    for (int j = lid; j < M; j += WG) {
        const size_t at = AT(j);
        y[at] = (x[at] - mean) * scale + shift;
    }
}

__kernel void bn_fwd_infer(__global const float *x, int x_off, __global float *y, int y_off,
                           __global const float *gamma, int gamma_off,
                           __global const float *beta, int beta_off,
                           __global const float *running_mean, int rm_off,
                           __global const float *running_var, int rv_off, float eps, int C,
                           int HW, int total)
{
    const int gid = get_global_id(0);
    if (gid >= total)
        return;
    const int c = (gid / HW) % C;
    const float invstd = 1.0f / sqrt(running_var[rv_off + c] + eps);
    y[y_off + gid] = (x[x_off + gid] - running_mean[rm_off + c]) * (invstd * gamma[gamma_off + c]) +
                     beta[beta_off + c];
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void bn_bwd(__global const float *x, int x_off, __global const float *dy, int dy_off,
            __global const float *gamma, int gamma_off, __global const float *save_mean,
            int sm_off, __global const float *save_invstd, int si_off, __global float *dx,
            int dx_off, __global float *dgamma, int dgamma_off, __global float *dbeta,
            int dbeta_off, int want_dgamma, int want_dbeta, int C, int HW, int M)
{
    __local float red[WG];
    const int c = (int)get_group_id(0);
    const int lid = (int)get_local_id(0);
    x += x_off;
    dy += dy_off;
    dx += dx_off;
    const float mean = save_mean[sm_off + c], invstd = save_invstd[si_off + c];

    float sd = 0.0f, sdx = 0.0f;
    for (int j = lid; j < M; j += WG) {
        const size_t at = AT(j);
        const float g = dy[at];
        sd += g;
        sdx += g * ((x[at] - mean) * invstd);
    }
    const float sum_dy = group_sum(red, lid, sd);
    const float sum_dy_xhat = group_sum(red, lid, sdx);
    if (lid == 0) {
        if (want_dbeta)
            dbeta[dbeta_off + c] += sum_dy;
        if (want_dgamma)
            dgamma[dgamma_off + c] += sum_dy_xhat;
    }
    const float scale = gamma[gamma_off + c] * invstd;
    const float mean_dy = sum_dy / (float)M, mean_dy_xhat = sum_dy_xhat / (float)M;
    for (int j = lid; j < M; j += WG) {
        const size_t at = AT(j);
        const float xhat = (x[at] - mean) * invstd;
        dx[at] = scale * (dy[at] - mean_dy - xhat * mean_dy_xhat);
    }
}
