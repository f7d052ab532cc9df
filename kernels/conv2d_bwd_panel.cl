/*
 * kernels/conv2d_bwd_panel.cl: conv2d backward-filter as a GEMM over a gathered panel.
 *
 * dw (K x C*R*S) += dy (K x N*P*Q) * im2col(x)^T with the vector lanes along the
 * filter taps j = (c, r, s) instead of along the output pixels: each work-item owns
 * NV x TN consecutive taps and gathers their im2col rows for KC output pixels at a
 * time into a panel in local memory (NV floatTN per pixel), then sweeps all K output
 * channels in blocks of TM: per pixel, NV panel vectors and TM broadcast dy values
 * feed TM x NV fma's. The gather is shared by all K channels, so it pays off when K is
 * large, and no lane is wasted on short output rows (P*Q = 9, 14 columns, strides),
 * where the row-vector kernel (conv2d_bwd_filter.cl) leaves lanes empty.
 *
 * The pixels [i2 * per_split, ... + per_split) of the flattened N*P*Q reduction
 * belong to work-item column i2: with more than one column each stores partial sums
 * that conv2d_bwd_reduce (conv2d_bwd_filter.cl) adds up.
 *
 * Options (all optional, #ifndef defaults):
 *   TM  output channels per register block (default 8)
 *   TN  taps per vector; the vector width, so one of 4, 8, 16 (default 16)
 *   NV  vectors of TN taps per work-item, 1 or 2 (default 1)
 *   KC  output pixels per panel; the panel takes KC * (NV * TN + 1) * 4 bytes of
 *       local memory (default 128)
 *
 * conv2d_bwd_panel: work-item (i0, i1, i2) with j0 = i0 * NV * TN computes dw[k, j0 ..
 *   j0 + NV * TN)
 *   for all k over its pixels and writes element (k, j) to
 *   out[out_off + i2 * split_stride + k * C*R*S + j], adding to it when accumulate != 0,
 *   else storing. i1 must be 0. The work-group size must be 1.
 *
 * Arguments: x, x_off (N,C,H,W); dy, dy_off (N,K,P,Q); out, out_off; then N C H W K R S
 * P Q pad_top pad_left stride_h stride_w dil_h dil_w per_split split_stride accumulate.
 */
#ifndef TM
#define TM 8
#endif
#ifndef TN
#define TN 16
#endif
#ifndef NV
#define NV 1
#endif
#ifndef KC
#define KC 128
#endif
#if TN != 4 && TN != 8 && TN != 16
#error "TN must be 4, 8 or 16 (an OpenCL vector width)"
#endif
#if NV != 1 && NV != 2
#error "NV must be 1 or 2"
#endif

#define VW TN

/* o[0 .. n) = v's first n lanes, added to o when add != 0: the last, partial
 * vector of taps. Out of line: its TM * NV unrolled copies slowed the
 * compile, and only the last block of taps needs it. */
static __attribute__((noinline)) void store_lanes(VEC v, int n, int add, __global float *o)
{
    float lane[TN];
    VSTORE(v, 0, lane);
    for (int t = 0; t < n; t++)
        o[t] = add ? o[t] + lane[t] : lane[t];
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
conv2d_bwd_panel(__global const float *x, int x_off, __global const float *dy, int dy_off,
                 __global float *out, int out_off, int N, int C, int H, int W, int K, int R,
                 int S, int P, int Q, int pad_top, int pad_left, int stride_h, int stride_w,
                 int dil_h, int dil_w, int per_split, int split_stride, int accumulate)
{
    __local float panel[KC * NV * TN];
    __local int dyoff[KC];
    const int j0 = (int)get_global_id(0) * NV * TN;
    const int split = (int)get_global_id(2);
    const int HW = H * W, RS = R * S, CRS = C * RS, PQ = P * Q, CHW = C * HW, KPQ = K * PQ;
    const int NPQ = N * PQ;
    const int pbeg = split * per_split, pend = min(NPQ, pbeg + per_split);
    if (j0 >= CRS || pbeg >= NPQ)
        return;
    x += x_off;
    dy += dy_off;
    out += out_off + split * split_stride + j0;
    const int ntap = min(NV * TN, CRS - j0);

    /* Taps past the end repeat the last one (in bounds, never stored). */
    int xoff[NV * TN], hoff[NV * TN], woff[NV * TN];
#pragma unroll
    for (int t = 0; t < NV * TN; t++) {
        const int j = min(j0 + t, CRS - 1);
        xoff[t] = j / RS * HW;
        hoff[t] = j % RS / S * dil_h - pad_top;
        woff[t] = j % S * dil_w - pad_left;
    }
    IVEC xoffv[NV], hoffv[NV], woffv[NV];
#pragma unroll
    for (int v = 0; v < NV; v++) {
        xoffv[v] = VLOAD(v, xoff);
        hoffv[v] = VLOAD(v, hoff);
        woffv[v] = VLOAD(v, woff);
    }

    int n = pbeg / PQ, pq = pbeg % PQ;
    int p = pq / Q, q = pq % Q;
    for (int c0 = pbeg; c0 < pend; c0 += KC) {
        const int len = min(KC, pend - c0);
        for (int i = 0; i < len; i++) {
#pragma unroll
            for (int v = 0; v < NV; v++) {
                /* the tap indices as one vector computation, then the loads */
                const IVEC h = hoffv[v] + (IVEC)(p * stride_h);
                const IVEC w = woffv[v] + (IVEC)(q * stride_w);
                const IVEC ok =
                    (h >= (IVEC)(0)) & (h < (IVEC)(H)) & (w >= (IVEC)(0)) & (w < (IVEC)(W));
                const IVEC idx = (IVEC)(n * CHW) + xoffv[v] +
                                 clamp(h, (IVEC)(0), (IVEC)(H - 1)) * (IVEC)(W) +
                                 clamp(w, (IVEC)(0), (IVEC)(W - 1));
                int ix[TN];
                VSTORE(idx, 0, ix);
                float lane[TN];
#pragma unroll
                for (int t = 0; t < TN; t++)
                    lane[t] = x[ix[t]];
                VSTORE(select((VEC)(0.0f), VLOAD(0, lane), ok), i * NV + v, panel);
            }
            dyoff[i] = n * KPQ + pq;
            if (++q == Q) {
                q = 0;
                if (++p == P) {
                    p = 0;
                    n++;
                }
            }
            if (++pq == PQ)
                pq = 0;
        }

        const int add = accumulate || c0 != pbeg;
        for (int k0 = 0; k0 < K; k0 += TM) {
            int krow[TM];
            VEC acc[TM * NV];
#pragma unroll
            for (int m = 0; m < TM; m++) {
                /* rows past K repeat row K-1 (in bounds, never stored) */
                krow[m] = min(k0 + m, K - 1) * PQ;
#pragma unroll
                for (int v = 0; v < NV; v++)
                    acc[m * NV + v] = (VEC)(0.0f);
            }
            for (int i = 0; i < len; i++) {
                VEC pv[NV];
#pragma unroll
                for (int v = 0; v < NV; v++)
                    pv[v] = VLOAD(i * NV + v, panel);
                const __global float *d = dy + dyoff[i];
#pragma unroll
                for (int m = 0; m < TM; m++) {
                    const VEC dv = (VEC)(d[krow[m]]);
#pragma unroll
                    for (int v = 0; v < NV; v++)
                        acc[m * NV + v] = fma(dv, pv[v], acc[m * NV + v]);
                }
            }
#pragma unroll
            for (int m = 0; m < TM; m++) {
                if (k0 + m >= K)
                    break;
                __global float *o = out + (k0 + m) * CRS;
#pragma unroll
                for (int v = 0; v < NV; v++) {
                    const int rest = ntap - v * TN;
                    if (rest >= TN) {
                        VSTORE(add ? acc[m * NV + v] + VLOAD(v, o) : acc[m * NV + v], v, o);
                    } else
                        store_lanes(acc[m * NV + v], rest, add, o + v * TN);
                }
            }
        }
    }
}
