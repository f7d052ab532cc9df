/*
 * kernels/conv2d.cl: conv2d forward, direct tiled algorithm (CLCNN_CONV_DIRECT).
 *
 * Options (all optional, #ifndef defaults):
 *   KB  output channels per work-item, the rows of the register block (default 8)
 *   QB  consecutive output columns per work-item; also the vector width, so one of
 *       2, 4, 8, 16 (default 16)
 *   PB  output rows per work-item of conv2d_fwd_rows (default 4)
 *
 * Work-item (i0, i1, i2) computes y[n, k0 .. k0+KB, p, q0 .. q0+QB) with q0 = i0 * QB,
 * n = i1 / P, p = i1 % P, k0 = i2 * KB, holding KB floatQB accumulators while it loops
 * over c, r, s: each step loads QB input pixels of one row as a vector and does KB
 * broadcast fma's with the KB filter taps. Blocks whose columns all lie inside the
 * row (stride_w 1) load with vloadQB. At the left and right borders (stride_w 1) the
 * lanes are still contiguous in memory: one vector load of the window, then a select
 * zeroes the padding lanes (the window only reads elements of x, which may belong to
 * a neighbouring row). Strided blocks gather lane by lane from clamped addresses.
 * Any work-group size works; the host uses 1 on CPUs, where PoCL then runs each
 * work-item as straight-line code.
 *
 * conv2d_fwd_rows (stride_h 1 and dil_h 1 only), for one or two output channels,
 * where the block above has too few rows to pay for its loads: work-item (i0, i1, i2)
 * computes KB channels x PB output rows p0 .. p0+PB x QB columns, p0 = PB * (i1 %
 * ceil(P/PB)), n = i1 / ceil(P/PB); each input row vector it loads feeds the
 * min(PB, R) output rows it lies under.
 *
 * Arguments (both kernels): x, x_off (N,C,H,W); w, w_off (K,C,R,S); b, b_off (K), read only when
 * bit 0 of epilogue is set (then y = conv + b); bit 1 of epilogue applies ReLU
 * (v > 0 ? v : 0) after the bias; y, y_off (N,K,P,Q); then N C H W K R S P Q
 * pad_top pad_left stride_h stride_w dil_h dil_w. Offsets are in elements.
 */
#ifndef KB
#define KB 8
#endif
#ifndef QB
#define QB 16
#endif
#ifndef PB
#define PB 4
#endif
#if QB != 2 && QB != 4 && QB != 8 && QB != 16
#error "QB must be 2, 4, 8 or 16 (an OpenCL vector width)"
#endif

#define VW QB

/* base[idx + i] for the lanes where ok is set, 0 elsewhere. base[0 .. count) is
 * the whole tensor: a window inside it is one vector load; one that sticks out
 * (the first or last row of the tensor) is read from clamped addresses. */
static INLINE VEC load_masked(const __global float *base, int idx, int count, IVEC ok)
{
    if (idx >= 0 && idx <= count - QB)
        return select((VEC)(0.0f), VLOAD(0, base + idx), ok);
    float lane[QB];
#pragma unroll
    for (int i = 0; i < QB; i++)
        lane[i] = base[clamp(idx + i, 0, count - 1)];
    return select((VEC)(0.0f), VLOAD(0, lane), ok);
}

__kernel void conv2d_fwd_direct(__global const float *x, int x_off, __global const float *w,
                                int w_off, __global const float *b, int b_off, int epilogue,
                                __global float *y, int y_off, int N, int C, int H, int W,
                                int K, int R, int S, int P, int Q, int pad_top, int pad_left,
                                int stride_h, int stride_w, int dil_h, int dil_w)
{
    const int q0 = (int)get_global_id(0) * QB;
    const int np = (int)get_global_id(1);
    const int k0 = (int)get_global_id(2) * KB;
    if (q0 >= Q || np >= N * P || k0 >= K)
        return;
    const int n = np / P, p = np % P;
    const int HW = H * W, RS = R * S, CRS = C * RS, CHW = C * HW;
    x += x_off;
    w += w_off;

    /* Rows past K repeat row K-1 so that every load stays in bounds; they are
     * not stored. */
    int wrow[KB];
#pragma unroll
    for (int kb = 0; kb < KB; kb++)
        wrow[kb] = min(k0 + kb, K - 1) * CRS;

    VEC acc[KB];
#pragma unroll
    for (int kb = 0; kb < KB; kb++)
        acc[kb] = (VEC)(0.0f);

    const int col0 = q0 * stride_w - pad_left;
    const int h_base = p * stride_h - pad_top;
    /* Every tap of every lane inside the row: the common case away from the
     * left and right borders, worth its own loop without lane masks. */
    const int interior = stride_w == 1 && col0 >= 0 && col0 + QB - 1 + (S - 1) * dil_w < W;

    if (interior) {
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) {
                const int h = h_base + r * dil_h;
                if ((uint)h >= (uint)H)
                    continue;
                const __global float *xr = x + n * CHW + c * HW + h * W + col0;
                const int wcr = c * RS + r * S;
                for (int s = 0; s < S; s++) {
                    const VEC xv = VLOAD(0, xr + s * dil_w);
#pragma unroll
                    for (int kb = 0; kb < KB; kb++)
                        acc[kb] = fma((VEC)(w[wrow[kb] + wcr + s]), xv, acc[kb]);
                }
            }
    } else if (stride_w == 1) {
        /* s outermost: the lane mask depends on s only */
        for (int s = 0; s < S; s++) {
            const int col = col0 + s * dil_w;
            const IVEC colv = IOTA + (IVEC)(col);
            const IVEC ok = (colv >= (IVEC)(0)) & (colv < (IVEC)(W));
            for (int c = 0; c < C; c++)
                for (int r = 0; r < R; r++) {
                    const int h = h_base + r * dil_h;
                    if ((uint)h >= (uint)H)
                        continue;
                    const VEC xv = load_masked(x, n * CHW + c * HW + h * W + col, N * CHW, ok);
                    const int wi = c * RS + r * S + s;
#pragma unroll
                    for (int kb = 0; kb < KB; kb++)
                        acc[kb] = fma((VEC)(w[wrow[kb] + wi]), xv, acc[kb]);
                }
        }
    } else {
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) {
                const int h = h_base + r * dil_h;
                if ((uint)h >= (uint)H)
                    continue;
                const __global float *xr = x + n * CHW + c * HW + h * W;
                const int wcr = c * RS + r * S;
                for (int s = 0; s < S; s++) {
                    float lane[QB];
#pragma unroll
                    for (int i = 0; i < QB; i++) {
                        const int col = col0 + i * stride_w + s * dil_w;
                        const float v = xr[clamp(col, 0, W - 1)];
                        lane[i] = (uint)col < (uint)W ? v : 0.0f;
                    }
                    const VEC xv = VLOAD(0, lane);
#pragma unroll
                    for (int kb = 0; kb < KB; kb++)
                        acc[kb] = fma((VEC)(w[wrow[kb] + wcr + s]), xv, acc[kb]);
                }
            }
    }

    const int full = q0 + QB <= Q;
#pragma unroll
    for (int kb = 0; kb < KB; kb++) {
        const int k = k0 + kb;
        if (k < K) {
            VEC v = acc[kb] + (VEC)(epilogue & 1 ? b[b_off + k] : 0.0f);
            if (epilogue & 2)
                v = select((VEC)(0.0f), v, v > (VEC)(0.0f));
            __global float *yr = y + y_off + ((n * K + k) * P + p) * Q + q0;
            if (full) {
                VSTORE(v, 0, yr);
            } else {
                float lane[QB];
                VSTORE(v, 0, lane);
                for (int i = 0; i < Q - q0; i++)
                    yr[i] = lane[i];
            }
        }
    }
}

__kernel void conv2d_fwd_rows(__global const float *x, int x_off, __global const float *w,
                              int w_off, __global const float *b, int b_off, int epilogue,
                              __global float *y, int y_off, int N, int C, int H, int W, int K,
                              int R, int S, int P, int Q, int pad_top, int pad_left,
                              int stride_h, int stride_w, int dil_h, int dil_w)
{
    const int q0 = (int)get_global_id(0) * QB;
    const int pblocks = (P + PB - 1) / PB;
    const int np = (int)get_global_id(1);
    const int k0 = (int)get_global_id(2) * KB;
    if (q0 >= Q || np >= N * pblocks || k0 >= K)
        return;
    const int n = np / pblocks, p0 = np % pblocks * PB;
    const int HW = H * W, RS = R * S, CRS = C * RS, CHW = C * HW;
    x += x_off;
    w += w_off;

    int wrow[KB];
#pragma unroll
    for (int kb = 0; kb < KB; kb++)
        wrow[kb] = min(k0 + kb, K - 1) * CRS;
    VEC acc[KB * PB];
#pragma unroll
    for (int i = 0; i < KB * PB; i++)
        acc[i] = (VEC)(0.0f);

    const int col0 = q0 * stride_w - pad_left;
    /* input row p0 - pad_top + i lies under output row p0 + pb with tap r = i - pb */
    for (int c = 0; c < C; c++)
        for (int i = 0; i < PB + R - 1; i++) {
            const int h = p0 - pad_top + i;
            if ((uint)h >= (uint)H)
                continue;
            const int row = n * CHW + c * HW + h * W;
            for (int s = 0; s < S; s++) {
                const int col = col0 + s * dil_w;
                VEC xv;
                if (stride_w == 1 && col >= 0 && col + QB <= W) {
                    xv = VLOAD(0, x + row + col);
                } else {
                    const IVEC colv = IOTA * (IVEC)(stride_w) + (IVEC)(col);
                    const IVEC ok = (colv >= (IVEC)(0)) & (colv < (IVEC)(W));
                    if (stride_w == 1) {
                        xv = load_masked(x, row + col, N * CHW, ok);
                    } else {
                        float lane[QB];
#pragma unroll
                        for (int l = 0; l < QB; l++)
                            lane[l] = x[row + clamp(col + l * stride_w, 0, W - 1)];
                        xv = select((VEC)(0.0f), VLOAD(0, lane), ok);
                    }
                }
#pragma unroll
                for (int pb = 0; pb < PB; pb++) {
                    const int r = i - pb;
                    if (r >= 0 && r < R) {
#pragma unroll
                        for (int kb = 0; kb < KB; kb++)
                            acc[kb * PB + pb] =
                                fma((VEC)(w[wrow[kb] + c * RS + r * S + s]), xv, acc[kb * PB + pb]);
                    }
                }
            }
        }

    const int full = q0 + QB <= Q;
#pragma unroll
    for (int kb = 0; kb < KB; kb++)
#pragma unroll
        for (int pb = 0; pb < PB; pb++) {
            const int k = k0 + kb, p = p0 + pb;
            if (k >= K || p >= P)
                continue;
            VEC v = acc[kb * PB + pb] + (VEC)(epilogue & 1 ? b[b_off + k] : 0.0f);
            if (epilogue & 2)
                v = select((VEC)(0.0f), v, v > (VEC)(0.0f));
            __global float *yr = y + y_off + ((n * K + k) * P + p) * Q + q0;
            if (full) {
                VSTORE(v, 0, yr);
            } else {
                float lane[QB];
                VSTORE(v, 0, lane);
                for (int l = 0; l < Q - q0; l++)
                    yr[l] = lane[l];
            }
        }
}
