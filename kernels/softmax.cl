/*
 * Softmax over the channel axis of an NCHW tensor, forward and backward.
 *
 * -D options: none.
 *
 * One work-item per position (n, h, w), flat index n * HW + (h * W + w); it
 * walks the C channels at stride HW. Neighbouring work-items read
 * neighbouring pixels, so loads coalesce on a GPU and vectorise across
 * work-items on a CPU.
 *
 * softmax_fwd: y = exp(x - max_c x) / sum_c exp(x - max_c x). Subtracting
 *   the maximum keeps every exp() in (0, 1], so large logits stay finite.
 *   args: x, y, C, HW, total = N * HW. y may be x: each channel is read
 *   before it is written.
 * softmax_bwd: dx = y * (dy - sum_c dy * y).
 *   args: y, dy, dx, C, HW, total. dx may be dy or y.
 */

__kernel void softmax_fwd(__global const float *x, int x_off, __global float *y, int y_off,
                          int C, int HW, int total)
{
    const int gid = get_global_id(0);
    if (gid >= total)
        return;
    const int base = (gid / HW) * C * HW + gid % HW;
    __global const float *xp = x + x_off + base;
    __global float *yp = y + y_off + base;

    float m = xp[0];
    for (int c = 1; c < C; c++)
        m = fmax(m, xp[c * HW]);
    float sum = 0.0f;
    for (int c = 0; c < C; c++) {
        float e = exp(xp[c * HW] - m);
        yp[c * HW] = e;
        sum += e;
    }
    for (int c = 0; c < C; c++)
        yp[c * HW] = yp[c * HW] / sum;
}

__kernel void softmax_bwd(__global const float *y, int y_off, __global const float *dy,
                          int dy_off, __global float *dx, int dx_off, int C, int HW, int total)
{
    const int gid = get_global_id(0);
    if (gid >= total)
        return;
    const int base = (gid / HW) * C * HW + gid % HW;
    __global const float *yp = y + y_off + base;
    __global const float *gp = dy + dy_off + base;
    __global float *dp = dx + dx_off + base;

    float dot = 0.0f;
    for (int c = 0; c < C; c++)
        dot = fma(gp[c * HW], yp[c * HW], dot);
    for (int c = 0; c < C; c++) {
        float yv = yp[c * HW];
        dp[c * HW] = yv * (gp[c * HW] - dot);
    }
}
