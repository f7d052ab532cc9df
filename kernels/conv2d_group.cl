/*
 * Grouped convolution: the copy that makes a group's channels contiguous for
 * the ungrouped kernels, and depthwise convolution (groups == C: one input
 * channel per group, M = K / C output channels each), forward,
 * backward-data and backward-filter, for any padding, stride and dilation.
 *
 * -D options: none.
 *
 * Geometry arguments, `g` below, as GEOM_ARGS in host/ops/conv2d_impl.h, of
 * the whole layer: N, C, H, W, K, R, S, P, Q, pad_top, pad_left, stride_h,
 * stride_w, dil_h, dil_w. Output channel k reads input channel k / M, and
 * its filter is w[k][0][R][S].
 *
 * conv2d_regroup: dst[(b * A + a) * L + l] = src[(a * B + b) * L + l], one
 *   work-item per element (flat over A*B*L): the transpose of an A x B
 *   matrix of rows of L floats, which turns (N, G, L) into (G, N, L) and
 *   back. args: src, dst, A, B, L, total (A*B*L).
 *
 * The depthwise kernels work tap by tap on whole planes: for a tap (r, s)
 * the outputs (p, q) that read inside the image are a range of rows times a
 * range of columns (q_range), so the inner loops have no tests, and with
 * stride 1 they run as float8. Each work-item owns a whole plane or a whole
 * sum, written for CPUs (a row per work-item left PoCL's per-item overhead
 * larger than the work of a 7- or 14-pixel row); on a GPU they run, with
 * less parallelism than it could use.
 *
 * conv2d_dw_fwd: one work-item per output plane (flat over N*K) computing
 *   its P x Q outputs: y = b[k] (epilogue bit 0) + sum over r, s of
 *   x[n][k/M][h][w] w[k][0][r][s] for the taps inside the image (added in
 *   that order), then max(y, 0) when epilogue bit 1 is set. b may be any
 *   buffer when unused. args: x, w, b, y, g, epilogue, planes.
 *
 * conv2d_dw_bwd_data: one work-item per input plane (flat over N*C): every
 *   dx[n][c][h][w] (overwritten) sums dy[n][k][p][q] w[k][0][r][s] over the
 *   M channels k of c and the taps (r, s) whose output (p, q) lies on the
 *   stride grid and inside the output, in that order. args: dy, w, dx, g,
 *   planes.
 *
 * conv2d_dw_bwd_filter: one work-item per (k, t), t < R*S + 1 (flat over
 *   K*(R*S+1)): for t = r*S + s, dw[k][0][r][s] += sum over n, p, q of
 *   dy[n][k][p][q] x[n][k/M][h][w]; for t = R*S, db[k] += sum of dy[n][k]
 *   when want_db (db any buffer otherwise). Each sum runs in one work-item
 *   in a fixed order (eight partial sums with stride 1), so results are the
 *   same every run. args: x, dy, dw, db, g, want_db, items.
 */

#define GEOM_PARAMS                                                                             \
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int pad_t, int pad_l,       \
        int stride_h, int stride_w, int dil_h, int dil_w

__kernel void conv2d_regroup(__global const float *src, int src_off, __global float *dst,
                             int dst_off, int A, int B, int L, int total)
{
    const int gid = get_global_id(0);
    if (gid >= total)
        return;
    const int l = gid % L;
    const int ba = gid / L;
    const int a = ba % A, b = ba / A;
    dst[dst_off + gid] = src[src_off + ((size_t)a * B + b) * L + l];
}

/* The outputs q_lo <= q < q_hi of a row whose column q * stride + off lies
 * in 0 .. W - 1. */
static int2 q_range(int off, int stride, int W, int Q)
{
    const int lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    const int hi = W - 1 - off < 0 ? 0 : min(Q, (W - 1 - off) / stride + 1);
    return (int2)(lo, max(lo, hi));
}

/* dst[q * stride + dst_off] += src[q * stride_src + src_off] * v for q in
 * range: the one loop of the depthwise kernels (forward: dst the output
 * row, stride_src the conv's; backward-data: dst the input-gradient row). */
static void row_fma(__global float *dst, int dst_stride, __global const float *src,
                    int src_stride, float v, int2 range)
{
    int q = range.x;
    if (dst_stride == 1 && src_stride == 1)
        for (; q + 8 <= range.y; q += 8)
            vstore8(fma(vload8(0, src + q), (float8)v, vload8(0, dst + q)), 0, dst + q);
    for (; q < range.y; q++)
        dst[q * dst_stride] = fma(src[q * src_stride], v, dst[q * dst_stride]);
}

static float sum8(float8 v)
{
    const float4 a = v.lo + v.hi;
    const float2 b = a.lo + a.hi;
    return b.x + b.y;
}

__kernel void conv2d_dw_fwd(__global const float *restrict x, int x_off,
                            __global const float *restrict w, int w_off,
                            __global const float *restrict b, int b_off,
                            __global float *restrict y, int y_off, GEOM_PARAMS, int epilogue,
                            int planes)
{
    const int gid = get_global_id(0);
    if (gid >= planes)
        return;
    const int k = gid % K, n = gid / K;
    const int c = k / (K / C);
    __global const float *xp = x + x_off + ((size_t)n * C + c) * H * W;
    __global const float *wk = w + w_off + (size_t)k * R * S;
    __global float *yp = y + y_off + (size_t)gid * P * Q;
    const float bias = (epilogue & 1) ? b[b_off + k] : 0.0f;
    for (int i = 0; i < P * Q; i++)
        yp[i] = bias;
    for (int r = 0; r < R; r++) {
        const int row_off = r * dil_h - pad_t; /* output row p reads row p * stride_h + row_off */
        const int2 rows = q_range(row_off, stride_h, H, P);
        for (int s = 0; s < S; s++) {
            const int off = s * dil_w - pad_l;
            const int2 cols = q_range(off, stride_w, W, Q);
            const float v = wk[r * S + s];
            for (int p = rows.x; p < rows.y; p++)
                row_fma(yp + p * Q, 1, xp + (p * stride_h + row_off) * W + off, stride_w, v,
                        cols);
        }
    }
    if (epilogue & 2)
        for (int i = 0; i < P * Q; i++)
            yp[i] = fmax(yp[i], 0.0f);
}

__kernel void conv2d_dw_bwd_data(__global const float *restrict dy, int dy_off,
                                 __global const float *restrict w, int w_off,
                                 __global float *restrict dx, int dx_off, GEOM_PARAMS,
                                 int planes)
{
    const int gid = get_global_id(0);
    if (gid >= planes)
        return;
    const int c = gid % C, n = gid / C;
    const int M = K / C;
    __global float *dxp = dx + dx_off + (size_t)gid * H * W;
    for (int i = 0; i < H * W; i++)
        dxp[i] = 0.0f;
    for (int m = 0; m < M; m++) {
        const int k = c * M + m;
        __global const float *dyp = dy + dy_off + ((size_t)n * K + k) * P * Q;
        __global const float *wk = w + w_off + (size_t)k * R * S;
        for (int r = 0; r < R; r++) {
            const int row_off = r * dil_h - pad_t;
            const int2 rows = q_range(row_off, stride_h, H, P);
            for (int s = 0; s < S; s++) {
                const int off = s * dil_w - pad_l;
                const int2 cols = q_range(off, stride_w, W, Q);
                const float v = wk[r * S + s];
                for (int p = rows.x; p < rows.y; p++)
                    row_fma(dxp + (p * stride_h + row_off) * W + off, stride_w, dyp + p * Q, 1,
                            v, cols);
            }
        }
    }
}

__kernel void conv2d_dw_bwd_filter(__global const float *restrict x, int x_off,
                                   __global const float *restrict dy, int dy_off,
                                   __global float *restrict dw, int dw_off,
                                   __global float *restrict db, int db_off, GEOM_PARAMS,
                                   int want_db, int items)
{
    const int gid = get_global_id(0);
    if (gid >= items)
        return;
    const int taps = R * S;
    const int t = gid % (taps + 1), k = gid / (taps + 1);
    const int c = k / (K / C);
    float8 acc8 = 0.0f;
    float acc = 0.0f;
    if (t == taps) {
        if (!want_db)
            return;
        for (int n = 0; n < N; n++) {
            __global const float *dyp = dy + dy_off + ((size_t)n * K + k) * P * Q;
            int i = 0;
            for (; i + 8 <= P * Q; i += 8)
                acc8 += vload8(0, dyp + i);
            for (; i < P * Q; i++)
                acc += dyp[i];
        }
        db[db_off + k] += sum8(acc8) + acc;
        return;
    }
    const int r = t / S, s = t % S;
    const int off = s * dil_w - pad_l;
    const int2 range = q_range(off, stride_w, W, Q);
    const int row_off = r * dil_h - pad_t;
    const int2 rows = q_range(row_off, stride_h, H, P);
    for (int n = 0; n < N; n++) {
        __global const float *dyp = dy + dy_off + ((size_t)n * K + k) * P * Q;
        __global const float *xp = x + x_off + ((size_t)n * C + c) * H * W;
        for (int p = rows.x; p < rows.y; p++) {
            __global const float *dyr = dyp + p * Q;
            __global const float *xr = xp + (p * stride_h + row_off) * W + off;
            int q = range.x;
            if (stride_w == 1)
                for (; q + 8 <= range.y; q += 8)
                    acc8 = fma(vload8(0, dyr + q), vload8(0, xr + q), acc8);
            for (; q < range.y; q++)
                acc = fma(dyr[q], xr[q * stride_w], acc);
        }
    }
    dw[dw_off + (size_t)k * taps + t] += sum8(acc8) + acc;
}
