/*
 * Batch normalization per channel over (N, H, W), NCHW, with PyTorch's
 * BatchNorm2d semantics: forward in training mode (batch statistics, running
 * statistics updated), forward in inference mode (running statistics) and
 * the backward pass of the training mode.
 *
 * -D options:
 *   WG (required)  work-group size of bn_fwd_train and bn_bwd, a power of
 *                  two: the kernels are launched with one group of WG
 *                  work-items per channel. WG > 1 is for GPUs: neighbouring
 *                  work-items read neighbouring values, sums go through a
 *                  tree in local memory. WG = 1 is for CPUs: one work-item
 *                  walks its channel image by image in order, as float8
 *                  with eight partial sums (a stride of WG values there puts
 *                  every work-item on every cache line, and a single sum is
 *                  a chain of dependent adds: 20-25 ms on PoCL for what the
 *                  walk does in a few).
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

#if WG == 1

/* ---- CPU devices: one work-item per channel ---- */

static float sum8(float8 v)
{
    const float4 a = v.lo + v.hi;
    const float2 b = a.lo + a.hi;
    return b.x + b.y;
}

/* sum over channel c of (x - shift), or of (x - shift)^2 when square */
static float channel_sum(const __global float *x, int c, int C, int HW, int N, float shift,
                         int square)
{
    float8 acc = 0.0f;
    float tail = 0.0f;
    for (int n = 0; n < N; n++) {
        const __global float *p = x + ((size_t)n * C + c) * HW;
        int i = 0;
        for (; i + 8 <= HW; i += 8) {
            const float8 d = vload8(0, p + i) - shift;
            acc += square ? d * d : d;
        }
        for (; i < HW; i++) {
            const float d = p[i] - shift;
            tail += square ? d * d : d;
        }
    }
    return sum8(acc) + tail;
}

__kernel void bn_fwd_train(__global const float *x, int x_off, __global float *y, int y_off,
                           __global const float *gamma, int gamma_off,
                           __global const float *beta, int beta_off,
                           __global float *running_mean, int rm_off,
                           __global float *running_var, int rv_off, __global float *save_mean,
                           int sm_off, __global float *save_invstd, int si_off, int update,
                           float momentum, float eps, int C, int HW, int M)
{
    const int c = (int)get_global_id(0);
    if (c >= C)
        return;
    x += x_off;
    y += y_off;
    const int N = M / HW;
    const float mean = channel_sum(x, c, C, HW, N, 0.0f, 0) / (float)M;
    const float var = channel_sum(x, c, C, HW, N, mean, 1) / (float)M;
    const float invstd = 1.0f / sqrt(var + eps);
    save_mean[sm_off + c] = mean;
    save_invstd[si_off + c] = invstd;
    if (update) {
        const float unbiased = var * ((float)M / (float)(M - 1));
        running_mean[rm_off + c] = (1.0f - momentum) * running_mean[rm_off + c] + momentum * mean;
        running_var[rv_off + c] = (1.0f - momentum) * running_var[rv_off + c] +
                                  momentum * unbiased;
    }
    const float scale = invstd * gamma[gamma_off + c], shift = beta[beta_off + c];
    for (int n = 0; n < N; n++) {
        const size_t at = ((size_t)n * C + c) * HW;
        int i = 0;
        for (; i + 8 <= HW; i += 8)
            vstore8((vload8(0, x + at + i) - mean) * scale + shift, 0, y + at + i);
        for (; i < HW; i++)
            y[at + i] = (x[at + i] - mean) * scale + shift;
    }
}

__kernel void bn_bwd(__global const float *x, int x_off, __global const float *dy, int dy_off,
                     __global const float *gamma, int gamma_off, __global const float *save_mean,
                     int sm_off, __global const float *save_invstd, int si_off,
                     __global float *dx, int dx_off, __global float *dgamma, int dgamma_off,
                     __global float *dbeta, int dbeta_off, int want_dgamma, int want_dbeta,
                     int C, int HW, int M)
{
    const int c = (int)get_global_id(0);
    if (c >= C)
        return;
    x += x_off;
    dy += dy_off;
    dx += dx_off;
    const int N = M / HW;
    const float mean = save_mean[sm_off + c], invstd = save_invstd[si_off + c];
    float8 acc_dy = 0.0f, acc_dy_xhat = 0.0f;
    float tail_dy = 0.0f, tail_dy_xhat = 0.0f;
    for (int n = 0; n < N; n++) {
        const size_t at = ((size_t)n * C + c) * HW;
        int i = 0;
        for (; i + 8 <= HW; i += 8) {
            const float8 g = vload8(0, dy + at + i);
            acc_dy += g;
            acc_dy_xhat += g * ((vload8(0, x + at + i) - mean) * invstd);
        }
        for (; i < HW; i++) {
            tail_dy += dy[at + i];
            tail_dy_xhat += dy[at + i] * ((x[at + i] - mean) * invstd);
        }
    }
    const float sum_dy = sum8(acc_dy) + tail_dy;
    const float sum_dy_xhat = sum8(acc_dy_xhat) + tail_dy_xhat;
    if (want_dbeta)
        dbeta[dbeta_off + c] += sum_dy;
    if (want_dgamma)
        dgamma[dgamma_off + c] += sum_dy_xhat;
    const float scale = gamma[gamma_off + c] * invstd;
    const float mean_dy = sum_dy / (float)M, mean_dy_xhat = sum_dy_xhat / (float)M;
    for (int n = 0; n < N; n++) {
        const size_t at = ((size_t)n * C + c) * HW;
        int i = 0;
        for (; i + 8 <= HW; i += 8) {
            const float8 xhat = (vload8(0, x + at + i) - mean) * invstd;
            vstore8(scale * (vload8(0, dy + at + i) - mean_dy - xhat * mean_dy_xhat), 0,
                    dx + at + i);
        }
        for (; i < HW; i++) {
            const float xhat = (x[at + i] - mean) * invstd;
            dx[at + i] = scale * (dy[at + i] - mean_dy - xhat * mean_dy_xhat);
        }
    }
}

#else

/* ---- GPU devices: one work-group of WG work-items per channel ---- */

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

#endif /* WG */

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
