/*
 * 2-D pooling (max, average excluding padding, average including padding),
 * forward and backward, NCHW, optionally fused with a ReLU before a max
 * pooling (relu(max(x)) == max(relu(x)), so the fused forward pools the
 * pre-activation and the fused backward lets a gradient through only where
 * the pooled output is positive).
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
 * Work-items walk rows, not elements: a CPU runs each work-group as a loop,
 * and a row per work-item keeps the index arithmetic (divisions) per row
 * while the inner loops stream along memory.
 *
 * pool_fwd: one work-item per output row, flat index over (N,C,P).
 *   args: x (N,C,H,W), y (N,C,P,Q), argmax (int32, y's shape; written when
 *   write_argmax != 0 and MODE == 0, otherwise any buffer), relu (MODE 0:
 *   y = max(0, max of the window); the argmax stays the window's maximum),
 *   g, rows (N*C*P).
 *   Max ties go to the first pixel in row-major order within the window.
 *
 * pool_bwd: one work-item per input element, flat index over (N,C,H,W),
 *   for any geometry. It gathers from every output whose window covers the
 *   pixel, so overlapping windows need no atomics and dx is fully
 *   overwritten.
 * pool_bwd_rows: one work-item per input row, flat index over (N,C,H), for
 *   windows that do not overlap (stride >= window in both directions): the
 *   row is zeroed, then the one output row whose windows cover it scatters
 *   into it.
 *   args (both): dy (N,C,P,Q), argmax (MODE 0; otherwise any buffer),
 *   y (N,C,P,Q) when relu (otherwise any buffer), relu (MODE 0: only
 *   outputs with y > 0 pass their gradient), dx (N,C,H,W), g, total
 *   (elements, or rows for pool_bwd_rows).
 *
 * pool_fwd_2x2, pool_bwd_2x2 (MODE 0 only): the same results for 2x2
 *   windows of stride 2 without padding, the common case, with one
 *   work-item per output row (N*C*P) that handles four outputs at a time
 *   in vector registers. The backward pass writes the two input rows of
 *   its output row, and the last output row of a plane also zeroes the
 *   input rows below it that no window covers (odd H). Arguments as
 *   pool_fwd and pool_bwd_rows, without the geometry after H, W, P, Q.
 */

#ifndef MODE
#error "MODE must be passed with -DMODE=<0|1|2>"
#endif

__kernel void pool_fwd(__global const float *x, int x_off, __global float *y, int y_off,
                       __global int *argmax, int argmax_off, int write_argmax, int relu,
                       int H, int W, int P, int Q, int R, int S, int stride_h, int stride_w,
                       int pad_t, int pad_l, int rows)
{
    const int gid = get_global_id(0);
    if (gid >= rows)
        return;
    const int p = gid % P;
    const int plane = gid / P; /* n * C + c */
    __global const float *xp = x + x_off + plane * H * W;
    __global float *yr = y + y_off + gid * Q;
    const int h0 = p * stride_h - pad_t;
    const int hs = max(h0, 0), he = min(h0 + R, H);

    for (int q = 0; q < Q; q++) {
        const int w0 = q * stride_w - pad_l;
        const int ws = max(w0, 0), we = min(w0 + S, W);
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
        yr[q] = relu ? fmax(best, 0.0f) : best;
        if (write_argmax)
            argmax[argmax_off + gid * Q + q] = best_idx;
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
        yr[q] = sum / (float)count;
#endif
    }
}

__kernel void pool_bwd(__global const float *dy, int dy_off, __global const int *argmax,
                       int argmax_off, __global const float *y, int y_off, int relu,
                       __global float *dx, int dx_off, int H, int W, int P, int Q, int R,
                       int S, int stride_h, int stride_w, int pad_t, int pad_l, int total)
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
    __global const float *yp = y + y_off + plane * P * Q;
    int self = h * W + w;
    for (int p = p_lo; p <= p_hi; p++)
        for (int q = q_lo; q <= q_hi; q++)
            if (amp[p * Q + q] == self && (!relu || yp[p * Q + q] > 0.0f))
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

__kernel void pool_bwd_rows(__global const float *dy, int dy_off, __global const int *argmax,
                            int argmax_off, __global const float *y, int y_off, int relu,
                            __global float *dx, int dx_off, int H, int W, int P, int Q, int R,
                            int S, int stride_h, int stride_w, int pad_t, int pad_l, int rows)
{
    const int gid = get_global_id(0);
    if (gid >= rows)
        return;
    const int h = gid % H;
    const int plane = gid / H;
    __global float *dxr = dx + dx_off + gid * W;
    for (int w = 0; w < W; w++)
        dxr[w] = 0.0f;
    /* the only output row whose windows may cover h */
    const int hp = h + pad_t;
    const int p = hp / stride_h;
    if (p >= P || hp - p * stride_h >= R)
        return;
    const int out_row = (plane * P + p) * Q;
    __global const float *dyr = dy + dy_off + out_row;
#if MODE == 0
    __global const int *amr = argmax + argmax_off + out_row;
    __global const float *yr = y + y_off + out_row;
    const int base = h * W;
    for (int q = 0; q < Q; q++) {
        const int a = amr[q] - base;
        if (a >= 0 && a < W && (!relu || yr[q] > 0.0f))
            dxr[a] = dyr[q];
    }
#else
#if MODE == 1
    const int h0 = p * stride_h - pad_t;
    const int rows_in = min(h0 + R, H) - max(h0, 0);
#else
    const int rows_in = R;
#endif
    for (int q = 0; q < Q; q++) {
        const int w0 = q * stride_w - pad_l;
        const int ws = max(w0, 0), we = min(w0 + S, W);
#if MODE == 1
        const int cols = we - ws;
#else
        const int cols = S;
#endif
        const float g = dyr[q] / (float)(rows_in * cols);
        for (int w = ws; w < we; w++)
            dxr[w] = g;
    }
#endif
}

#if MODE == 0
/* Argmax within a 2x2 window as 0..3 in row-major order, first on ties. */
#define MAX2X2(a0, a1, b0, b1, best, idx)                                                      \
    do {                                                                                       \
        best = a0;                                                                             \
        idx = 0;                                                                               \
        if (a1 > best) {                                                                       \
            best = a1;                                                                         \
            idx = 1;                                                                           \
        }                                                                                      \
        if (b0 > best) {                                                                       \
            best = b0;                                                                         \
            idx = 2;                                                                           \
        }                                                                                      \
        if (b1 > best) {                                                                       \
            best = b1;                                                                         \
            idx = 3;                                                                           \
        }                                                                                      \
    } while (0)

__kernel void pool_fwd_2x2(__global const float *x, int x_off, __global float *y, int y_off,
                           __global int *argmax, int argmax_off, int write_argmax, int relu,
                           int H, int W, int P, int Q, int rows)
{
    const int gid = get_global_id(0);
    if (gid >= rows)
        return;
    const int p = gid % P;
    const int plane = gid / P;
    const int top = 2 * p * W; /* index of the window's first row in the plane */
    __global const float *r0 = x + x_off + plane * H * W + top;
    __global const float *r1 = r0 + W;
    __global float *yr = y + y_off + gid * Q;
    __global int *ar = argmax + argmax_off + gid * Q;
    int q = 0;
    for (; q + 4 <= Q; q += 4) {
        const float8 a = vload8(0, r0 + 2 * q), b = vload8(0, r1 + 2 * q);
        float4 best = a.even;
        int4 idx = (int4)(0);
        int4 c = isgreater(a.odd, best);
        best = select(best, a.odd, c);
        idx = select(idx, (int4)(1), c);
        c = isgreater(b.even, best);
        best = select(best, b.even, c);
        idx = select(idx, (int4)(W), c);
        c = isgreater(b.odd, best);
        best = select(best, b.odd, c);
        idx = select(idx, (int4)(W + 1), c);
        vstore4(relu ? fmax(best, 0.0f) : best, 0, yr + q);
        if (write_argmax)
            vstore4(idx + top + 2 * q + (int4)(0, 2, 4, 6), 0, ar + q);
    }
    for (; q < Q; q++) {
        float best;
        int idx;
        MAX2X2(r0[2 * q], r0[2 * q + 1], r1[2 * q], r1[2 * q + 1], best, idx);
        yr[q] = relu ? fmax(best, 0.0f) : best;
        if (write_argmax)
            ar[q] = top + 2 * q + (idx >> 1) * W + (idx & 1);
    }
}

__kernel void pool_bwd_2x2(__global const float *dy, int dy_off, __global const int *argmax,
                           int argmax_off, __global const float *y, int y_off, int relu,
                           __global float *dx, int dx_off, int H, int W, int P, int Q, int rows)
{
    const int gid = get_global_id(0);
    if (gid >= rows)
        return;
    const int p = gid % P;
    const int plane = gid / P;
    const int top = 2 * p * W;
    __global float *r0 = dx + dx_off + plane * H * W + top;
    __global float *r1 = r0 + W;
    __global const float *dyr = dy + dy_off + gid * Q;
    __global const int *ar = argmax + argmax_off + gid * Q;
    __global const float *yr = y + y_off + gid * Q;
    int q = 0;
    for (; q + 4 <= Q; q += 4) {
        float4 g = vload4(0, dyr + q);
        if (relu)
            g = select((float4)(0.0f), g, isgreater(vload4(0, yr + q), (float4)(0.0f)));
        /* offset of the chosen pixel from its window's first: 0, 1, W, W + 1 */
        const int4 off = vload4(0, ar + q) - (top + 2 * q + (int4)(0, 2, 4, 6));
        const float4 z = (float4)(0.0f);
        const float4 a0 = select(z, g, off == 0), a1 = select(z, g, off == 1);
        const float4 b0 = select(z, g, off == W), b1 = select(z, g, off == W + 1);
        vstore8((float8)(a0.s0, a1.s0, a0.s1, a1.s1, a0.s2, a1.s2, a0.s3, a1.s3), 0,
                r0 + 2 * q);
        vstore8((float8)(b0.s0, b1.s0, b0.s1, b1.s1, b0.s2, b1.s2, b0.s3, b1.s3), 0,
                r1 + 2 * q);
    }
    for (; q < Q; q++) {
        float g = dyr[q];
        if (relu && !(yr[q] > 0.0f))
            g = 0.0f;
        const int off = ar[q] - (top + 2 * q);
        r0[2 * q] = off == 0 ? g : 0.0f;
        r0[2 * q + 1] = off == 1 ? g : 0.0f;
        r1[2 * q] = off == W ? g : 0.0f;
        r1[2 * q + 1] = off == W + 1 ? g : 0.0f;
    }
    /* an odd W leaves a last column that no window covers */
    for (int w = 2 * Q; w < W; w++)
        r0[w] = r1[w] = 0.0f;
    if (p == P - 1)
        for (int i = 2 * P * W; i < H * W; i++)
            r0[i - top] = 0.0f;
}
#endif
