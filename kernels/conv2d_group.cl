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
 * conv2d_dw_fwd: one work-item per output row (flat over N*K*P) computing
 *   its Q outputs: y = b[k] (epilogue bit 0) + sum over r, s of
 *   x[n][k/M][h][w] w[k][0][r][s] for the taps inside the image, then
 *   max(y, 0) when epilogue bit 1 is set. b may be any buffer when unused.
 *   args: x, w, b, y, g, epilogue, rows.
 *
 * conv2d_dw_bwd_data: one work-item per input row (flat over N*C*H): every
 *   dx[n][c][h][w] (overwritten) gathers dy[n][k][p][q] w[k][0][r][s] over
 *   the M channels k of c and the taps (r, s) whose output (p, q) lies on
 *   the stride grid and inside the output. args: dy, w, dx, g, rows.
 *
 * conv2d_dw_bwd_filter: one work-item per (k, t), t < R*S + 1 (flat over
 *   K*(R*S+1)): for t = r*S + s, dw[k][0][r][s] += sum over n, p, q of
 *   dy[n][k][p][q] x[n][k/M][h][w]; for t = R*S, db[k] += sum of dy[n][k]
 *   when want_db (db any buffer otherwise). Each sum runs in one work-item
 *   in a fixed order, so results are the same every run.
 *   args: x, dy, dw, db, g, want_db, items.
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

__kernel void conv2d_dw_fwd(__global const float *x, int x_off, __global const float *w,
                            int w_off, __global const float *b, int b_off, __global float *y,
                            int y_off, GEOM_PARAMS, int epilogue, int rows)
{
    const int gid = get_global_id(0);
    if (gid >= rows)
        return;
    const int p = gid % P;
    const int nk = gid / P;
    const int k = nk % K, n = nk / K;
    const int c = k / (K / C);
    __global const float *xp = x + x_off + ((size_t)n * C + c) * H * W;
    __global const float *wk = w + w_off + (size_t)k * R * S;
    __global float *yr = y + y_off + (size_t)gid * Q;
    const float bias = (epilogue & 1) ? b[b_off + k] : 0.0f;
    const int h0 = p * stride_h - pad_t;
    for (int q = 0; q < Q; q++) {
        const int w0 = q * stride_w - pad_l;
        float acc = bias;
        for (int r = 0; r < R; r++) {
            const int h = h0 + r * dil_h;
            if (h < 0 || h >= H)
                continue;
            __global const float *xr = xp + h * W;
            for (int s = 0; s < S; s++) {
                const int wc = w0 + s * dil_w;
                if (wc >= 0 && wc < W)
                    acc = fma(xr[wc], wk[r * S + s], acc);
            }
        }
        yr[q] = (epilogue & 2) ? fmax(acc, 0.0f) : acc;
    }
}

__kernel void conv2d_dw_bwd_data(__global const float *dy, int dy_off, __global const float *w,
                                 int w_off, __global float *dx, int dx_off, GEOM_PARAMS,
                                 int rows)
{
    const int gid = get_global_id(0);
    if (gid >= rows)
        return;
    const int h = gid % H;
    const int nc = gid / H;
    const int c = nc % C, n = nc / C;
    const int M = K / C;
    __global float *dxr = dx + dx_off + (size_t)gid * W;
    for (int wc = 0; wc < W; wc++) {
        float acc = 0.0f;
        for (int m = 0; m < M; m++) {
            const int k = c * M + m;
            __global const float *dyp = dy + dy_off + ((size_t)n * K + k) * P * Q;
            __global const float *wk = w + w_off + (size_t)k * R * S;
            for (int r = 0; r < R; r++) {
                const int t = h + pad_t - r * dil_h;
                if (t < 0 || t % stride_h)
                    continue;
                const int p = t / stride_h;
                if (p >= P)
                    continue;
                for (int s = 0; s < S; s++) {
                    const int u = wc + pad_l - s * dil_w;
                    if (u < 0 || u % stride_w)
                        continue;
                    const int q = u / stride_w;
                    if (q < Q)
                        acc = fma(dyp[p * Q + q], wk[r * S + s], acc);
                }
            }
        }
        dxr[wc] = acc;
    }
}

__kernel void conv2d_dw_bwd_filter(__global const float *x, int x_off, __global const float *dy,
                                   int dy_off, __global float *dw, int dw_off,
                                   __global float *db, int db_off, GEOM_PARAMS, int want_db,
                                   int items)
{
    const int gid = get_global_id(0);
    if (gid >= items)
        return;
    const int taps = R * S;
    const int t = gid % (taps + 1), k = gid / (taps + 1);
    const int c = k / (K / C);
    float acc = 0.0f;
    if (t == taps) {
        if (!want_db)
            return;
        for (int n = 0; n < N; n++) {
            __global const float *dyp = dy + dy_off + ((size_t)n * K + k) * P * Q;
            for (int i = 0; i < P * Q; i++)
                acc += dyp[i];
        }
        db[db_off + k] += acc;
        return;
    }
    const int r = t / S, s = t % S;
    for (int n = 0; n < N; n++) {
        __global const float *dyp = dy + dy_off + ((size_t)n * K + k) * P * Q;
        __global const float *xp = x + x_off + ((size_t)n * C + c) * H * W;
        for (int p = 0; p < P; p++) {
            const int h = p * stride_h - pad_t + r * dil_h;
            if (h < 0 || h >= H)
                continue;
            for (int q = 0; q < Q; q++) {
                const int wc = q * stride_w - pad_l + s * dil_w;
                if (wc >= 0 && wc < W)
                    acc = fma(dyp[p * Q + q], xp[h * W + wc], acc);
            }
        }
    }
    dw[dw_off + (size_t)k * taps + t] += acc;
}
