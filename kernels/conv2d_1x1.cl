/*
 * kernels/conv2d_1x1.cl: batched matrix product for 1x1 convolutions (CLCNN_CONV_GEMM_1X1),
 * the transformed-tile products of Winograd (CLCNN_CONV_WINOGRAD) and the explicit
 * im2col / col2im forms of CLCNN_CONV_GEMM, with the layout kernels around them.
 *
 * out[b] (M x L) = a[b] (M x C) * in[b] (C x L) (+ bias, ReLU), row-major, for each batch
 * b: a 1x1 convolution of stride 1 is exactly this with in[b] = x[n] (C x H*W), a = w
 * (K x C), out[b] = y[n] (K x P*Q); Winograd multiplies its 16 transformed planes the
 * same way with a different a per plane. The lanes run along L, where both in and out
 * are contiguous, so no gather is needed: each work-item owns NV x TN columns of one
 * batch and a range of rows, and for every TM rows reads its slice of in (C x NV*TN
 * floats, which stays in the first-level cache across the row blocks): NV vector
 * loads and TM broadcasts feed TM x NV fma's per row of in.
 *
 * Options (all optional, #ifndef defaults):
 *   TM  rows per register block (default 8)
 *   TN  columns per vector; the vector width, so one of 4, 8, 16 (default 16)
 *   NV  vectors of TN columns per work-item, 1 or 2 (default 1)
 *   A_TRANS  1: a[b] is stored transposed, as (C x M) (default 0), so that a
 *       filter (K x C*R*S) serves as the transposed filter of col2im's product
 *       without a copy
 *
 * Work-item (i0, i1, i2): columns [i0 * NV*TN, (i0 + 1) * NV*TN) of batch b = i1, rows
 * [i2 * m_per_item, min(M, ...)) (m_per_item a multiple of TM). Any work-group size.
 *
 * Arguments: in, in_off, in_stride (elements between batches); a, a_off, a_stride (0:
 * one matrix for all batches); bias, bias_off (M), read only when bit 0 of epilogue is
 * set; bit 1 of epilogue applies ReLU (v > 0 ? v : 0) after the bias; out, out_off,
 * out_stride; then M C L m_per_item.
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
#if TN != 4 && TN != 8 && TN != 16
#error "TN must be 4, 8 or 16 (an OpenCL vector width)"
#endif
#if NV != 1 && NV != 2
#error "NV must be 1 or 2"
#endif
#ifndef A_TRANS
#define A_TRANS 0
#endif

#define VW TN

__kernel void conv2d_gemm1x1(__global const float *in, int in_off, int in_stride,
                             __global const float *a, int a_off, int a_stride,
                             __global const float *bias, int bias_off, int epilogue,
                             __global float *out, int out_off, int out_stride, int M, int C,
                             int L, int m_per_item)
{
    const int l0 = (int)get_global_id(0) * NV * TN;
    const int b = (int)get_global_id(1);
    const int mbeg = (int)get_global_id(2) * m_per_item;
    if (l0 >= L || mbeg >= M)
        return;
    const int mend = min(M, mbeg + m_per_item);
    const int ncol = min(NV * TN, L - l0);
    in += in_off + b * in_stride + l0;
    a += a_off + b * a_stride;
    out += out_off + b * out_stride + l0;

    for (int m0 = mbeg; m0 < mend; m0 += TM) {
        /* rows past M repeat row M-1 (in bounds, never stored); element (m,
         * c) of a is at arow[m] + c * astep */
        const __global float *arow[TM];
        const int astep = A_TRANS ? M : 1;
        VEC acc[TM * NV];
#pragma unroll
        for (int m = 0; m < TM; m++) {
            arow[m] = a + min(m0 + m, M - 1) * (A_TRANS ? 1 : C);
#pragma unroll
            for (int v = 0; v < NV; v++)
                acc[m * NV + v] = (VEC)(0.0f);
        }
        for (int c = 0; c < C; c++) {
            VEC x[NV];
            if (ncol == NV * TN) {
#pragma unroll
                for (int v = 0; v < NV; v++)
                    x[v] = VLOAD(v, in + c * L);
            } else {
                /* the last columns: lanes past L read column L-1 of the row (in
                 * bounds, never stored) */
                float lane[NV * TN];
#pragma unroll
                for (int i = 0; i < NV * TN; i++)
                    lane[i] = in[c * L + min(i, ncol - 1)];
#pragma unroll
                for (int v = 0; v < NV; v++)
                    x[v] = VLOAD(v, lane);
            }
#pragma unroll
            for (int m = 0; m < TM; m++) {
                const VEC av = (VEC)(arow[m][c * astep]);
#pragma unroll
                for (int v = 0; v < NV; v++)
                    acc[m * NV + v] = fma(av, x[v], acc[m * NV + v]);
            }
        }
#pragma unroll
        for (int m = 0; m < TM; m++) {
            if (m0 + m >= mend)
                break;
#pragma unroll
            for (int v = 0; v < NV; v++) {
                VEC r = acc[m * NV + v];
                if (epilogue & 1)
                    r += (VEC)(bias[bias_off + m0 + m]);
                if (epilogue & 2)
                    r = select((VEC)(0.0f), r, r > (VEC)(0.0f));
                __global float *o = out + (m0 + m) * L + v * TN;
                if (ncol == NV * TN) {
                    VSTORE(r, 0, o);
                } else {
                    float lane[TN];
                    VSTORE(r, 0, lane);
                    for (int i = 0; i < min(TN, ncol - v * TN); i++)
                        o[i] = lane[i];
                }
            }
        }
    }
}

/*
 * conv2d_subsample: work-item (p, plane) writes row p of dst (N*C planes of P x Q),
 * dst[plane, p, q] = src[plane, p * stride_h, q * stride_w] of src (planes of H x W):
 * the input a strided 1x1 convolution reads. conv2d_upsample: the reverse for its
 * backward-data pass: work-item (h, plane) writes row h of dst (planes of H x W),
 * src[plane, h / stride_h, v / stride_w] where both divide evenly (and lie inside
 * src, planes of P x Q), 0 elsewhere. Arguments of both: src, src_off; dst, dst_off;
 * NC H W P Q stride_h stride_w.
 */
__kernel void conv2d_subsample(__global const float *src, int src_off, __global float *dst,
                               int dst_off, int NC, int H, int W, int P, int Q, int stride_h,
                               int stride_w)
{
    const int p = (int)get_global_id(0), plane = (int)get_global_id(1);
    if (p >= P || plane >= NC)
        return;
    const __global float *sr = src + src_off + (plane * H + p * stride_h) * W;
    __global float *dr = dst + dst_off + (plane * P + p) * Q;
    for (int q = 0; q < Q; q++)
        dr[q] = sr[q * stride_w];
}

__kernel void conv2d_upsample(__global const float *src, int src_off, __global float *dst,
                              int dst_off, int NC, int H, int W, int P, int Q, int stride_h,
                              int stride_w)
{
    const int h = (int)get_global_id(0), plane = (int)get_global_id(1);
    if (h >= H || plane >= NC)
        return;
    __global float *dr = dst + dst_off + (plane * H + h) * W;
    for (int v = 0; v < W; v++)
        dr[v] = 0.0f;
    if (h % stride_h != 0 || h / stride_h >= P)
        return;
    const __global float *sr = src + src_off + (plane * P + h / stride_h) * Q;
    for (int q = 0; q < Q && q * stride_w < W; q++)
        dr[q * stride_w] = sr[q];
}

/*
 * The explicit GEMM forms. col holds the im2col matrix of every image: with
 * by_image 0 as (C*R*S, N*P*Q), the columns of all images side by side, so that one
 * product has long rows even when an image has only a few pixels; with by_image 1
 * as (N, C*R*S, P*Q), one matrix per image for a batched product that reads dy or
 * writes y in place.
 * conv2d_im2col: work-item (n, j) writes the P*Q elements of row j = (c, r, s) of
 *   image n: col[(c, r, s), (n, p, q)] = x[n, c, p*stride_h - pad_top + r*dil_h,
 *   q*stride_w - pad_left + s*dil_w], 0 in the padding. Arguments: x, x_off; col,
 *   col_off; then N C H W K R S P Q pad_top pad_left stride_h stride_w dil_h dil_w
 *   by_image.
 * conv2d_col2im: work-item (n * C + c, h) writes row h of dx[n, c] (dx is (N,C,H,W)),
 *   each element the sum of the elements of col that im2col would have read from
 *   there. Arguments: col, col_off; dx, dx_off; the geometry and by_image as above.
 * conv2d_swap: work-item (l, a, b) writes dst[b, a, l] = src[a, b, l], dst (B, A, L)
 *   being src (A, B, L) with the first two dimensions exchanged. Arguments: src,
 *   src_off; dst, dst_off; A B L.
 * All three: any work-group size.
 */
__kernel void conv2d_im2col(__global const float *x, int x_off, __global float *col,
                            int col_off, int N, int C, int H, int W, int K, int R, int S, int P,
                            int Q, int pad_top, int pad_left, int stride_h, int stride_w,
                            int dil_h, int dil_w, int by_image)
{
    const int n = (int)get_global_id(0), j = (int)get_global_id(1);
    const int RS = R * S, PQ = P * Q;
    if (n >= N || j >= C * RS)
        return;
    const int c = j / RS, r = j % RS / S, s = j % S;
    const __global float *xc = x + x_off + (n * C + c) * H * W;
    __global float *dst = col + col_off + (by_image ? (n * C * RS + j) * PQ : (j * N + n) * PQ);
    for (int p = 0; p < P; p++) {
        const int h = p * stride_h - pad_top + r * dil_h;
        const int v0 = -pad_left + s * dil_w;
        if ((uint)h >= (uint)H) {
            for (int q = 0; q < Q; q++)
                dst[p * Q + q] = 0.0f;
            continue;
        }
        const __global float *xr = xc + h * W;
        for (int q = 0, v = v0; q < Q; q++, v += stride_w)
            dst[p * Q + q] = (uint)v < (uint)W ? xr[clamp(v, 0, W - 1)] : 0.0f;
    }
}

__kernel void conv2d_col2im(__global const float *col, int col_off, __global float *dx,
                            int dx_off, int N, int C, int H, int W, int K, int R, int S, int P,
                            int Q, int pad_top, int pad_left, int stride_h, int stride_w,
                            int dil_h, int dil_w, int by_image)
{
    const int nc = (int)get_global_id(0), h = (int)get_global_id(1);
    if (nc >= N * C || h >= H)
        return;
    const int n = nc / C, c = nc % C, PQ = P * Q, RS = R * S;
    /* NPQ: the distance between rows of col */
    const int NPQ = by_image ? PQ : N * PQ;
    const __global float *src =
        col + col_off + (by_image ? (n * C + c) * RS * PQ : c * RS * NPQ + n * PQ);
    __global float *dst = dx + dx_off + (nc * H + h) * W;
    if (stride_h == 1 && stride_w == 1 && dil_h == 1 && dil_w == 1) {
        /* TN columns at a time: tap (r, s) reads a run of TN consecutive q */
        const int count = (by_image ? N * C * RS * PQ : C * RS * NPQ) + col_off;
        for (int v0 = 0; v0 < W; v0 += TN) {
            VEC sum = (VEC)(0.0f);
            for (int r = 0; r < R; r++) {
                const int u = h + pad_top - r;
                if ((uint)u >= (uint)P)
                    continue;
                for (int s = 0; s < S; s++) {
                    const int t0 = v0 + pad_left - s;
                    const IVEC t = IOTA + (IVEC)(t0);
                    const IVEC ok = (t >= (IVEC)(0)) & (t < (IVEC)(Q));
                    const int at = (int)(src - col) + (r * S + s) * NPQ + u * Q + t0;
                    VEC v;
                    if (at >= 0 && at <= count - TN) {
                        v = VLOAD(0, col + at);
                    } else {
                        float lane[TN];
#pragma unroll
                        for (int i = 0; i < TN; i++)
                            lane[i] = col[clamp(at + i, 0, count - 1)];
                        v = VLOAD(0, lane);
                    }
                    sum += select((VEC)(0.0f), v, ok);
                }
            }
            if (v0 + TN <= W) {
                VSTORE(sum, 0, dst + v0);
            } else {
                float lane[TN];
                VSTORE(sum, 0, lane);
                for (int i = 0; i < W - v0; i++)
                    dst[v0 + i] = lane[i];
            }
        }
        return;
    }
    for (int v = 0; v < W; v++) {
        float sum = 0.0f;
        for (int r = 0; r < R; r++) {
            const int u = h + pad_top - r * dil_h;
            if (u < 0 || u % stride_h != 0 || u / stride_h >= P)
                continue;
            const __global float *sr = src + r * S * NPQ + u / stride_h * Q;
            for (int s = 0; s < S; s++) {
                const int t = v + pad_left - s * dil_w;
                if (t >= 0 && t % stride_w == 0 && t / stride_w < Q)
                    sum += sr[s * NPQ + t / stride_w];
            }
        }
        dst[v] = sum;
    }
}

__kernel void conv2d_swap(__global const float *src, int src_off, __global float *dst,
                          int dst_off, int A, int B, int L)
{
    const int l = (int)get_global_id(0), a = (int)get_global_id(1), b = (int)get_global_id(2);
    if (l >= L || a >= A || b >= B)
        return;
    dst[dst_off + (b * A + a) * L + l] = src[src_off + (a * B + b) * L + l];
}
