/*
 * 2-D pooling (max, average excluding padding, average including padding),
 * forward and backward, NCHW.
 *
 * -D options:
 *   MODE (required)  0 max, 1 average over the window's real pixels,
 *                    2 average over the whole window (padding counts as 0)
 * The geometry is passed at run time, so one program per mode serves every
 * layer. The host guarantees every window holds at least one real pixel
 * (padding at most half the window, no window past the padded input).
 *
 * Geometry arguments, `g` below: H, W (input), P, Q (output), R, S (window),
 * stride_h, stride_w, pad_t, pad_l.
 *
 * pool_fwd: one work-item per output element, flat index over (N,C,P,Q).
 *   args: x (N,C,H,W), y (N,C,P,Q), argmax (int32, y's shape; written when
 *   write_argmax != 0 and MODE == 0, otherwise any buffer), g, total.
 *   Max ties go to the first pixel in row-major order within the window.
 *
 * pool_bwd: one work-item per input element, flat index over (N,C,H,W). It
 *   gathers from every output whose window covers the pixel, so overlapping
 *   windows need no atomics and dx is fully overwritten.
 *   args: dy (N,C,P,Q), argmax (MODE 0; otherwise any buffer), dx (N,C,H,W),
 *   g, total.
 */

#ifndef MODE
#error "MODE must be passed with -DMODE=<0|1|2>"
#endif

__kernel void pool_fwd(__global const float *x, int x_off, __global float *y, int y_off,
                       __global int *argmax, int argmax_off, int write_argmax, int H, int W,
                       int P, int Q, int R, int S, int stride_h, int stride_w, int pad_t,
                       int pad_l, int total)
{
    int gid = get_global_id(0);
    if (gid >= total)
        return;
    int q = gid % Q;
    int p = (gid / Q) % P;
    int plane = gid / (P * Q); /* n * C + c */
    __global const float *xp = x + x_off + plane * H * W;

    int h0 = p * stride_h - pad_t;
    int w0 = q * stride_w - pad_l;
    int hs = max(h0, 0), he = min(h0 + R, H);
    int ws = max(w0, 0), we = min(w0 + S, W);

#if MODE == 0
    /* The host guarantees every window holds at least one real pixel. */
    float best = xp[hs * W + ws];
    int best_idx = hs * W + ws;
    for (int h = hs; h < he; h++)
        for (int w = ws; w < we; w++) {
            float v = xp[h * W + w];
            if (v > best) {
                best = v;
                best_idx = h * W + w;
            }
        }
    y[y_off + gid] = best;
    if (write_argmax)
        argmax[argmax_off + gid] = best_idx;
#else
    float sum = 0.0f;
    for (int h = hs; h < he; h++)
        for (int w = ws; w < we; w++)
            sum += xp[h * W + w];
#if MODE == 1
    int count = (he - hs) * (we - ws);
#else
    int count = R * S;
#endif
    y[y_off + gid] = sum / (float)count;
#endif
}

__kernel void pool_bwd(__global const float *dy, int dy_off, __global const int *argmax,
                       int argmax_off, __global float *dx, int dx_off, int H, int W, int P,
                       int Q, int R, int S, int stride_h, int stride_w, int pad_t, int pad_l,
                       int total)
{
    int gid = get_global_id(0);
    if (gid >= total)
        return;
    int w = gid % W;
    int h = (gid / W) % H;
    int plane = gid / (H * W);

    /* Outputs p whose window [p*stride_h - pad_t, +R) covers h. */
    int hp = h + pad_t, wp = w + pad_l;
    int p_lo = hp < R ? 0 : (hp - R) / stride_h + 1;
    int p_hi = min(hp / stride_h, P - 1);
    int q_lo = wp < S ? 0 : (wp - S) / stride_w + 1;
    int q_hi = min(wp / stride_w, Q - 1);

    __global const float *dyp = dy + dy_off + plane * P * Q;
    float sum = 0.0f;
#if MODE == 0
    __global const int *amp = argmax + argmax_off + plane * P * Q;
    int self = h * W + w;
    for (int p = p_lo; p <= p_hi; p++)
        for (int q = q_lo; q <= q_hi; q++)
            if (amp[p * Q + q] == self)
                sum += dyp[p * Q + q];
#else
    for (int p = p_lo; p <= p_hi; p++) {
#if MODE == 1
        int h0 = p * stride_h - pad_t;
        int rows = min(h0 + R, H) - max(h0, 0);
#else
        int rows = R;
#endif
        for (int q = q_lo; q <= q_hi; q++) {
#if MODE == 1
            int w0 = q * stride_w - pad_l;
            int cols = min(w0 + S, W) - max(w0, 0);
#else
            int cols = S;
#endif
            sum += dyp[p * Q + q] / (float)(rows * cols);
        }
    }
#endif
    dx[dx_off + gid] = sum;
}
