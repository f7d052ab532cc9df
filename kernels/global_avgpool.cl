/*
 * Global average pooling (N,C,H,W) -> (N,C,1,1), forward and backward.
 *
 * -D options: none.
 *
 * gap_fwd: one work-item per plane (flat index n * C + c over N*C): the
 *   mean of its HW values, summed as a float4 of four interleaved partial
 *   sums (shorter rounding chains than one running sum) plus the scalar
 *   tail, then divided by HW.
 *   args: x, y, hw (H*W), planes (N*C).
 * gap_bwd: one work-item per element of dx (flat over N*C*H*W):
 *   dx = dy of its plane / HW, so dx is fully overwritten.
 *   args: dy, dx, hw, total (N*C*H*W).
 */

__kernel void gap_fwd(__global const float *x, int x_off, __global float *y, int y_off, int hw,
                      int planes)
{
    const int gid = get_global_id(0);
    if (gid >= planes)
        return;
    __global const float *xp = x + x_off + (size_t)gid * hw;
    float4 acc = (float4)(0.0f);
    int i = 0;
    for (; i + 4 <= hw; i += 4)
        acc += vload4(0, xp + i);
    float tail = 0.0f;
    for (; i < hw; i++)
        tail += xp[i];
    y[y_off + gid] = ((acc.s0 + acc.s1) + (acc.s2 + acc.s3) + tail) / (float)hw;
}

__kernel void gap_bwd(__global const float *dy, int dy_off, __global float *dx, int dx_off,
                      int hw, int total)
{
    const int gid = get_global_id(0);
    if (gid >= total)
        return;
    dx[dx_off + gid] = dy[dy_off + gid / hw] / (float)hw;
}
