/*
 * kernels/conv2d_kvec.cl: conv2d forward with the vector lanes along the output
 * channels, for small output planes (CLCNN_CONV_GEMM).
 *
 * On a plane of a few pixels (the Keras conv3: 3x3) a vector of 16 output pixels is
 * mostly empty. Here the lanes hold 16 output channels instead, so every lane is
 * used whenever K is a multiple of 16: a work-item owns PT output pixels and KV
 * vectors of 16 channels, and for each tap (r, s, c) loads KV filter vectors and PT
 * input values, each of which feeds KV fma's. A tap in the padding for all of a
 * work-item's pixels is skipped. With BY_POSITION the pixels are numbered position
 * first, image second (pixel i is position i / N of image i % N), so a work-item's
 * pixels are mostly the same position in PT images and share their padding: for
 * heavily padded planes (the backward-data pass of the Keras conv3, run as this
 * kernel on the flipped filter, pads a 3x3 dy by 2: 64% of the taps are padding).
 * Otherwise they are numbered image first, neighbours in a row, which reads x with
 * better locality. Position first on planes of 16+ pixels, x is read from a copy
 * laid out (C, H, W, N) (conv2d_kvec_positions), where a work-item's PT images of
 * one position are neighbours, as its channels are not (L4's backward-data, a 10x10
 * dy: 46.6 -> 37.5 CPU ms); on smaller planes a pixel's channels share cache lines
 * and the copy would cost more (Keras conv3's 3x3 dy: 17 -> 29 ms). The filter is packed first as wt (R, S, C, Kpad), Kpad =
 * K rounded up to 16 * KV with zeros, so that a tap's channels are one contiguous
 * run; the loop runs c innermost, where each pixel's input address only grows by
 * H*W and its padding test is fixed.
 *
 * Options (all optional, #ifndef defaults):
 *   KV  vectors of 16 output channels per work-item, 1 or 2 (default 2)
 *   PT  output pixels per work-item (default 8)
 *   BY_POSITION  1: pixels numbered position first; 2: that, and x laid out (C, H,
 *       W, N) (default 0: image first; x is (N, C, H, W) unless 2)
 *
 * conv2d_fwd_kvec: work-item (i0, i1) computes y[n_i, k0 .. k0+16*KV, p_i, q_i] for the
 *   pixels i0 * PT + i of N*P*Q (i < PT; image first: n_i = (i0 * PT + i) / (P*Q),
 *   position (p_i, q_i) = (i0 * PT + i) % (P*Q); position first: the position is
 *   (i0 * PT + i) / N and the image the remainder), k0 = i1 * 16 * KV. Any work-group
 *   size.
 *   Arguments: x, x_off (N,C,H,W); wt, wt_off (R,S,C,Kpad); b, b_off (K), read only when
 *   bit 0 of epilogue is set (then y = conv + b); bit 1 of epilogue applies ReLU after
 *   the bias; y, y_off (N,K,P,Q); then N C H W K R S P Q pad_top pad_left stride_h
 *   stride_w dil_h dil_w Kpad.
 * conv2d_pack_kvec: work-item (k, j) with j = (r * S + s) * C + c writes wt[j * Kpad +
 *   k] = w[k, c, r, s], 0 for k >= K. Arguments: w, w_off (K,C,R,S); wt, wt_off; K C R S
 *   Kpad.
 */
#ifndef KV
#define KV 2
#endif
#ifndef PT
#define PT 8
#endif
#ifndef BY_POSITION
#define BY_POSITION 0
#endif
#if KV != 1 && KV != 2
#error "KV must be 1 or 2"
#endif

/* pixel pix's image and position (pq = p * Q + q) */
#if BY_POSITION
#define PIX_IMAGE(pix) ((pix) % N)
#define PIX_POSITION(pix) ((pix) / N)
#else
#define PIX_IMAGE(pix) ((pix) / PQ)
#define PIX_POSITION(pix) ((pix) % PQ)
#endif

/* Lane l of v is channel k0 + l of a pixel, stored at yp[(k0 + l) * PQ]
 * with the epilogue for the channels below K. Out of line: its PT * KV
 * unrolled copies of 16 scalar stores made the kernel seconds slower to
 * compile, for no gain in speed. */
static __attribute__((noinline)) void store_channels(float16 v, int k0, int K, int PQ,
                                                     __global const float *b, int epilogue,
                                                     __global float *yp)
{
    float lane[16];
    vstore16(v, 0, lane);
    for (int l = 0; l < 16; l++) {
        const int k = k0 + l;
        if (k >= K)
            break;
        float out = lane[l] + (epilogue & 1 ? b[k] : 0.0f);
        if (epilogue & 2)
            out = out > 0.0f ? out : 0.0f;
        yp[k * PQ] = out;
    }
}

__kernel void conv2d_fwd_kvec(__global const float *x, int x_off, __global const float *wt,
                              int wt_off, __global const float *b, int b_off, int epilogue,
                              __global float *y, int y_off, int N, int C, int H, int W, int K,
                              int R, int S, int P, int Q, int pad_top, int pad_left,
                              int stride_h, int stride_w, int dil_h, int dil_w, int Kpad)
{
    const int pix0 = (int)get_global_id(0) * PT;
    const int k0 = (int)get_global_id(1) * 16 * KV;
    const int PQ = P * Q, NPQ = N * PQ, HW = H * W;
    /* x's element steps between pixels of a row and between channels */
    const int pixel_step = BY_POSITION == 2 ? N : 1;
    const int channel_step = BY_POSITION == 2 ? HW * N : HW;
    if (pix0 >= NPQ || k0 >= K)
        return;
    x += x_off;
    wt += wt_off + k0;

    /* each pixel's image, first input row and column; pixels past the end
     * repeat the last one (never stored) */
    int base[PT], h0[PT], w0[PT];
#pragma unroll
    for (int i = 0; i < PT; i++) {
        const int pix = min(pix0 + i, NPQ - 1);
        const int pq = PIX_POSITION(pix);
        base[i] = BY_POSITION == 2 ? PIX_IMAGE(pix) : PIX_IMAGE(pix) * C * HW;
        h0[i] = pq / Q * stride_h - pad_top;
        w0[i] = pq % Q * stride_w - pad_left;
    }

    float16 acc[PT * KV];
#pragma unroll
    for (int i = 0; i < PT * KV; i++)
        acc[i] = (float16)(0.0f);

    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++) {
            /* this tap's input element of each pixel at c = 0 (an address inside
             * x for the pixels in the padding, whose values are not used) */
            int at[PT], inside[PT], any = 0;
#pragma unroll
            for (int i = 0; i < PT; i++) {
                const int h = h0[i] + r * dil_h, v = w0[i] + s * dil_w;
                inside[i] = (uint)h < (uint)H && (uint)v < (uint)W;
                at[i] = inside[i] ? base[i] + (h * W + v) * pixel_step : 0;
                any |= inside[i];
            }
            if (!any)
                continue;
            const __global float *wrs = wt + (r * S + s) * C * Kpad;
            for (int c = 0; c < C; c++) {
                float16 wv[KV];
#pragma unroll
                for (int v = 0; v < KV; v++)
                    wv[v] = vload16(v, wrs + c * Kpad);
#pragma unroll
                for (int i = 0; i < PT; i++) {
                    const float xv = inside[i] ? x[at[i] + c * channel_step] : 0.0f;
#pragma unroll
                    for (int v = 0; v < KV; v++)
                        acc[i * KV + v] = fma((float16)(xv), wv[v], acc[i * KV + v]);
                }
            }
        }

    /* lane l of vector v is channel k0 + 16 v + l: one scalar store each */
#pragma unroll
    for (int i = 0; i < PT; i++) {
        const int pix = pix0 + i;
        if (pix >= NPQ)
            break;
        __global float *yp = y + y_off + PIX_IMAGE(pix) * K * PQ + PIX_POSITION(pix);
#pragma unroll
        for (int v = 0; v < KV; v++)
            store_channels(acc[i * KV + v], k0 + 16 * v, K, PQ, b + b_off, epilogue, yp);
    }
}

__kernel void conv2d_pack_kvec(__global const float *w, int w_off, __global float *wt,
                               int wt_off, int K, int C, int R, int S, int Kpad)
{
    const int k = (int)get_global_id(0), j = (int)get_global_id(1);
    if (k >= Kpad || j >= R * S * C)
        return;
    const int c = j % C, rs = j / C;
    wt[wt_off + j * Kpad + k] = k < K ? w[w_off + (k * C + c) * R * S + rs] : 0.0f;
}

/* xt (C*H*W, N) = x (N, C*H*W) transposed, for BY_POSITION 2: work-item (i0, i1)
 * moves the 16 x 16 block of elements 16 i0 .. and images 16 i1 ... Arguments: x,
 * x_off; xt, xt_off; N CHW. */
__kernel void conv2d_kvec_positions(__global const float *x, int x_off, __global float *xt,
                                    int xt_off, int N, int CHW)
{
    const int j0 = (int)get_global_id(0) * 16, n0 = (int)get_global_id(1) * 16;
    if (j0 >= CHW || n0 >= N)
        return;
    const int js = min(16, CHW - j0), ns = min(16, N - n0);
    float block[16][16];
    for (int n = 0; n < ns; n++)
        for (int j = 0; j < js; j++)
            block[j][n] = x[x_off + (n0 + n) * CHW + j0 + j];
    for (int j = 0; j < js; j++)
        for (int n = 0; n < ns; n++)
            xt[xt_off + (j0 + j) * N + n0 + n] = block[j][n];
}
