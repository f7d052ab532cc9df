/*
 * kernels/conv2d_bwd_filter.cl: conv2d backward-filter and bias gradient.
 *
 * dw (K x C*R*S) += dy (K x N*P*Q) * im2col(x)^T, a GEMM with M = K, N = C*R*S and the
 * reduction over the N*P*Q output pixels. The reduction runs along output rows QV
 * columns at a time: dy rows are contiguous vectors, and so are the input rows for
 * stride_w 1, so each step is TM + TJ vector loads feeding TM * TJ vector fma's into
 * TM * TJ floatQV accumulators, summed across lanes once at the end. Where a step
 * reaches past the end of a row (the last columns of dy, the padding of x) it still
 * loads the whole window, which lies in the same tensor, and a select zeroes the
 * lanes outside. With stride_w 2 the input lanes are every other element of a window
 * of 2 * QV, loaded as two vectors and deinterleaved with a constant shuffle; larger
 * strides gather lane by lane.
 *
 * Options (all optional, #ifndef defaults):
 *   TM  output channels k per work-item (default 4)
 *   TJ  filter taps j = (c, r, s) per work-item (default 6)
 *   QV  output columns per reduction step; also the vector width, so one of 2, 4, 8,
 *       16 (default 8)
 *
 * conv2d_bwd_filter: work-item (i0, i1) adds to dw[k0 .. k0+TM, j0 .. j0+TJ] with
 * j0 = i0 * TJ, k0 = i1 * TM (j indexes the C*R*S taps of one filter).
 * conv2d_bwd_bias: work-item i0 = k adds sum over n, p, q of dy[n, k, p, q] to db[k].
 * Any work-group size works for both.
 *
 * Arguments of conv2d_bwd_filter: x, x_off (N,C,H,W); dy, dy_off (N,K,P,Q); dw, dw_off
 * (K,C,R,S), accumulated; then N C H W K R S P Q pad_top pad_left stride_h stride_w
 * dil_h dil_w. Arguments of conv2d_bwd_bias: dy, dy_off; db, db_off (K), accumulated;
 * N K P Q.
 */
#ifndef TM
#define TM 4
#endif
#ifndef TJ
#define TJ 6
#endif
#ifndef QV
#define QV 8
#endif
#if QV != 2 && QV != 4 && QV != 8 && QV != 16
#error "QV must be 2, 4, 8 or 16 (an OpenCL vector width)"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC CAT(float, QV)
#define VLOAD CAT(vload, QV)
#define IVEC CAT(int, QV)
#define UVEC CAT(uint, QV)
#if QV == 2
#define IOTA ((int2)(0, 1))
#elif QV == 4
#define IOTA ((int4)(0, 1, 2, 3))
#elif QV == 8
#define IOTA ((int8)(0, 1, 2, 3, 4, 5, 6, 7))
#else
#define IOTA ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#endif
/* lanes 0, 2, 4, ... of the concatenation of two vectors */
#define EVEN (CAT(convert_uint, QV)(IOTA) * (UVEC)(2))

/* base[idx + i] for the lanes where ok is set, 0 elsewhere. base[0 .. count) is
 * the whole tensor: a window inside it is one vector load; one that sticks out
 * (the first or last row of the tensor) is read from clamped addresses. */
static VEC load_masked(const __global float *base, int idx, int count, IVEC ok)
{
    if (idx >= 0 && idx <= count - QV)
        return select((VEC)(0.0f), VLOAD(0, base + idx), ok);
    float lane[QV];
#pragma unroll
    for (int i = 0; i < QV; i++)
        lane[i] = base[clamp(idx + i, 0, count - 1)];
    return select((VEC)(0.0f), VLOAD(0, lane), ok);
}

static float hsum(VEC v)
{
#if QV == 16
    float8 a = v.lo + v.hi;
    float4 b = a.lo + a.hi;
#elif QV == 8
    float4 b = v.lo + v.hi;
#else
    VEC b = v;
#endif
#if QV >= 4
    float2 c = b.lo + b.hi;
#else
    float2 c = b;
#endif
    return c.x + c.y;
}

__kernel void conv2d_bwd_filter(__global const float *x, int x_off, __global const float *dy,
                                int dy_off, __global float *dw, int dw_off, int N, int C,
                                int H, int W, int K, int R, int S, int P, int Q, int pad_top,
                                int pad_left, int stride_h, int stride_w, int dil_h,
                                int dil_w)
{
    const int j0 = (int)get_global_id(0) * TJ;
    const int k0 = (int)get_global_id(1) * TM;
    const int HW = H * W, RS = R * S, CRS = C * RS, PQ = P * Q;
    if (j0 >= CRS || k0 >= K)
        return;
    x += x_off;
    dy += dy_off;

    /* Taps and channels past the end repeat the last one (in bounds, never
     * stored). */
    int xoff[TJ], hoff[TJ], woff[TJ], krow[TM];
#pragma unroll
    for (int t = 0; t < TJ; t++) {
        const int j = min(j0 + t, CRS - 1);
        xoff[t] = j / RS * HW;
        hoff[t] = j % RS / S * dil_h - pad_top;
        woff[t] = j % S * dil_w - pad_left;
    }
#pragma unroll
    for (int m = 0; m < TM; m++)
        krow[m] = min(k0 + m, K - 1) * PQ;

    VEC acc[TM * TJ];
#pragma unroll
    for (int i = 0; i < TM * TJ; i++)
        acc[i] = (VEC)(0.0f);

    const int CHW = C * HW, KPQ = K * PQ;
    for (int n = 0; n < N; n++) {
        for (int p = 0; p < P; p++) {
            for (int q0 = 0; q0 < Q; q0 += QV) {
                const int full = q0 + QV <= Q;
                /* lanes past Q are zero in dy and masked in x as well, so that
                 * they add exact zeros whatever x holds there */
                const IVEC qok = (IOTA + (IVEC)(q0)) < (IVEC)(Q);
                VEC g[TM];
#pragma unroll
                for (int m = 0; m < TM; m++) {
                    const int idx = n * KPQ + krow[m] + p * Q + q0;
                    g[m] = full ? VLOAD(0, dy + idx) : load_masked(dy, idx, N * KPQ, qok);
                }
#pragma unroll
                for (int t = 0; t < TJ; t++) {
                    const int h = p * stride_h + hoff[t];
                    if ((uint)h >= (uint)H)
                        continue;
                    const int col0 = q0 * stride_w + woff[t];
                    const int idx = n * CHW + xoff[t] + h * W + col0;
                    VEC xv;
                    if (stride_w == 1) {
                        if (full && col0 >= 0 && col0 + QV <= W) {
                            xv = VLOAD(0, x + idx);
                        } else {
                            const IVEC colv = IOTA + (IVEC)(col0);
                            const IVEC ok = (colv >= (IVEC)(0)) & (colv < (IVEC)(W)) & qok;
                            xv = load_masked(x, idx, N * CHW, ok);
                        }
                    } else if (stride_w == 2) {
                        const IVEC colv = IOTA * (IVEC)(2) + (IVEC)(col0);
                        const IVEC ok = (colv >= (IVEC)(0)) & (colv < (IVEC)(W)) & qok;
                        VEC lo, hi;
                        if (idx >= 0 && idx <= N * CHW - 2 * QV) {
                            lo = VLOAD(0, x + idx);
                            hi = VLOAD(0, x + idx + QV);
                        } else {
                            float lane[2 * QV];
#pragma unroll
                            for (int i = 0; i < 2 * QV; i++)
                                lane[i] = x[clamp(idx + i, 0, N * CHW - 1)];
                            lo = VLOAD(0, lane);
                            hi = VLOAD(1, lane);
                        }
                        xv = select((VEC)(0.0f), shuffle2(lo, hi, EVEN), ok);
                    } else {
                        const __global float *xr = x + n * CHW + xoff[t] + h * W;
                        float lane[QV];
#pragma unroll
                        for (int i = 0; i < QV; i++) {
                            const int col = col0 + i * stride_w;
                            const float v = xr[clamp(col, 0, W - 1)];
                            lane[i] = (uint)col < (uint)W && q0 + i < Q ? v : 0.0f;
                        }
                        xv = VLOAD(0, lane);
                    }
#pragma unroll
                    for (int m = 0; m < TM; m++)
                        acc[m * TJ + t] = fma(g[m], xv, acc[m * TJ + t]);
                }
            }
        }
    }

#pragma unroll
    for (int m = 0; m < TM; m++)
#pragma unroll
        for (int t = 0; t < TJ; t++)
            if (k0 + m < K && j0 + t < CRS)
                dw[dw_off + (k0 + m) * CRS + j0 + t] += hsum(acc[m * TJ + t]);
}

__kernel void conv2d_bwd_bias(__global const float *dy, int dy_off, __global float *db,
                              int db_off, int N, int K, int P, int Q)
{
    const int k = (int)get_global_id(0);
    if (k >= K)
        return;
    const int PQ = P * Q;
    float16 acc = (float16)(0.0f);
    float tail = 0.0f;
    for (int n = 0; n < N; n++) {
        const __global float *d = dy + dy_off + (n * K + k) * PQ;
        int i = 0;
        for (; i + 16 <= PQ; i += 16)
            acc += vload16(0, d + i);
        for (; i < PQ; i++)
            tail += d[i];
    }
    const float8 a = acc.lo + acc.hi;
    const float4 b = a.lo + a.hi;
    const float2 c = b.lo + b.hi;
    db[db_off + k] += c.x + c.y + tail;
}
