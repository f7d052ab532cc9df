/*
 * kernels/conv2d_bwd_filter.cl: conv2d backward-filter and bias gradient.
 *
 * dw (K x C*R*S) += dy (K x N*P*Q) * im2col(x)^T, a GEMM with M = K, N = C*R*S and the
 * reduction over the N*P*Q output pixels. The reduction runs along output rows QV
 * columns at a time: dy rows are contiguous vectors, and so are the input rows for
 * stride_w 1, so each step is TM + TJ vector loads feeding TM * TJ vector fma's into
 * TM * TJ floatQV accumulators, summed across lanes once at the end.
 *
 * Options (all optional, #ifndef defaults):
 *   TM  output channels k per work-item (default 4)
 *   TJ  filter taps j = (c, r, s) per work-item (default 4)
 *   QV  output columns per reduction step; also the vector width, so one of 2, 4, 8,
 *       16 (default 16)
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
#define TJ 4
#endif
#ifndef QV
#define QV 16
#endif
#if QV != 2 && QV != 4 && QV != 8 && QV != 16
#error "QV must be 2, 4, 8 or 16 (an OpenCL vector width)"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC CAT(float, QV)
#define VLOAD CAT(vload, QV)

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

    for (int n = 0; n < N; n++) {
        const __global float *xn = x + n * C * HW;
        const __global float *dyn = dy + n * K * PQ;
        for (int p = 0; p < P; p++) {
            for (int q0 = 0; q0 < Q; q0 += QV) {
                /* dy lanes past Q are zero, so the x lanes they meet only need
                 * to be finite: they are read from clamped addresses. */
                VEC g[TM];
                if (q0 + QV <= Q) {
#pragma unroll
                    for (int m = 0; m < TM; m++)
                        g[m] = VLOAD(0, dyn + krow[m] + p * Q + q0);
                } else {
#pragma unroll
                    for (int m = 0; m < TM; m++) {
                        float lane[QV];
                        for (int i = 0; i < QV; i++)
                            lane[i] = q0 + i < Q ? dyn[krow[m] + p * Q + q0 + i] : 0.0f;
                        g[m] = VLOAD(0, lane);
                    }
                }
#pragma unroll
                for (int t = 0; t < TJ; t++) {
                    const int h = p * stride_h + hoff[t];
                    if ((uint)h >= (uint)H)
                        continue;
                    const __global float *xr = xn + xoff[t] + h * W;
                    const int col0 = q0 * stride_w + woff[t];
                    VEC xv;
                    if (stride_w == 1 && col0 >= 0 && col0 + QV - 1 < W) {
                        xv = VLOAD(0, xr + col0);
                    } else {
                        float lane[QV];
#pragma unroll
                        for (int i = 0; i < QV; i++) {
                            const int col = col0 + i * stride_w;
                            const float v = xr[clamp(col, 0, W - 1)];
                            lane[i] = (uint)col < (uint)W ? v : 0.0f;
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
