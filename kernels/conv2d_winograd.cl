/*
 * kernels/conv2d_winograd.cl: the transforms of Winograd's F(2x2, 3x3) convolution
 * (CLCNN_CONV_WINOGRAD: 3x3 filters, stride 1, dilation 1, any padding).
 *
 * Each 2x2 output tile comes from a 4x4 input tile d (tiles overlap by 2):
 *   y = A^T [ (G g G^T) .* (B^T d B) ] A
 * with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2;
 * 1/2 -1/2 1/2; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1]. The 16 element-wise products,
 * summed over the input channels, are 16 independent matrix products
 * M[e] (K x T) = U[e] (K x C) * V[e] (C x T) over the T = N * ceil(P/2) * ceil(Q/2)
 * tiles, run by conv2d_gemm1x1 (kernels/conv2d_1x1.cl) between these kernels:
 *   U (16, K, C) = the transformed filters, V (16, C, T) the transformed input tiles,
 *   M (16, K, T) their products; tile t = (n * tiles_h + th) * tiles_w + tw.
 * 2.25 times fewer multiplications than the direct form, for 4 times the memory traffic
 * of the input and output through V and M.
 *
 * No options. The input and output transforms handle 8 tiles of one tile row per
 * work-item as float8 lanes. Any work-group size works.
 *
 * conv2d_wino_filter: work-item i = k * C + c writes U[:, k, c] from w[k, c] (3x3).
 *   Arguments: w, w_off (K,C,3,3); u, u_off; K C.
 * conv2d_wino_input: work-item (i0, i1, i2): tiles tw = 8 * i0 .. + 8 of tile row
 *   i1 = n * tiles_h + th, channel c = i2; writes V[:, c, t]. Arguments: x, x_off
 *   (N,C,H,W); v, v_off; N C H W pad_top pad_left tiles_h tiles_w.
 * conv2d_wino_output: work-item (i0, i1, i2) as above for output channel k = i2; reads
 *   M[:, k, t], writes the 2x2 tiles of y (clipped to P x Q), adding b[k] when bit 0
 *   of epilogue is set and applying ReLU (v > 0 ? v : 0) after it when bit 1 is.
 *   Arguments: m, m_off; b, b_off; epilogue; y, y_off (N,K,P,Q); N K P Q tiles_h
 *   tiles_w.
 */

__kernel void conv2d_wino_filter(__global const float *w, int w_off, __global float *u,
                                 int u_off, int K, int C)
{
    const int i = (int)get_global_id(0);
    if (i >= K * C)
        return;
    const __global float *g = w + w_off + i * 9;
    /* a = G g (4x3), then U = a G^T (4x4) */
    float a[4][3];
    for (int j = 0; j < 3; j++) {
        a[0][j] = g[j];
        a[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        a[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        a[3][j] = g[6 + j];
    }
    const int KC = K * C;
    __global float *o = u + u_off + i;
    for (int r = 0; r < 4; r++) {
        o[(4 * r + 0) * KC] = a[r][0];
        o[(4 * r + 1) * KC] = 0.5f * (a[r][0] + a[r][1] + a[r][2]);
        o[(4 * r + 2) * KC] = 0.5f * (a[r][0] - a[r][1] + a[r][2]);
        o[(4 * r + 3) * KC] = a[r][2];
    }
}

__kernel void conv2d_wino_input(__global const float *x, int x_off, __global float *v,
                                int v_off, int N, int C, int H, int W, int pad_top,
                                int pad_left, int tiles_h, int tiles_w)
{
    const int tw0 = (int)get_global_id(0) * 8;
    const int nth = (int)get_global_id(1);
    const int c = (int)get_global_id(2);
    if (tw0 >= tiles_w || nth >= N * tiles_h || c >= C)
        return;
    const int n = nth / tiles_h, th = nth % tiles_h;
    const __global float *xc = x + x_off + (n * C + c) * H * W;
    const int col0 = 2 * tw0 - pad_left;

    /* d[i][j]: input row i, tile column j of the 8 tiles, one lane each; the
     * 18 input columns of a row are lanes 0-15 and 2-17 of two windows */
    float8 d[4][4];
    for (int i = 0; i < 4; i++) {
        const int h = 2 * th - pad_top + i;
        float16 lo, hi;
        if ((uint)h >= (uint)H) {
            lo = hi = (float16)(0.0f);
        } else if (col0 >= 0 && col0 + 18 <= W) {
            lo = vload16(0, xc + h * W + col0);
            hi = vload16(0, xc + h * W + col0 + 2);
        } else {
            float row[18];
            for (int j = 0; j < 18; j++) {
                const int col = col0 + j;
                const float val = xc[h * W + clamp(col, 0, W - 1)];
                row[j] = (uint)col < (uint)W ? val : 0.0f;
            }
            lo = vload16(0, row);
            hi = vload16(0, row + 2);
        }
        d[i][0] = lo.even;
        d[i][1] = lo.odd;
        d[i][2] = hi.even;
        d[i][3] = hi.odd;
    }

    /* B^T d, then (B^T d) B */
    float8 r[4][4];
    for (int j = 0; j < 4; j++) {
        r[0][j] = d[0][j] - d[2][j];
        r[1][j] = d[1][j] + d[2][j];
        r[2][j] = d[2][j] - d[1][j];
        r[3][j] = d[1][j] - d[3][j];
    }
    const int T = N * tiles_h * tiles_w, CT = C * T;
    const int t0 = nth * tiles_w + tw0, count = min(8, tiles_w - tw0);
    __global float *o = v + v_off + c * T + t0;
    for (int i = 0; i < 4; i++) {
        float8 e[4];
        e[0] = r[i][0] - r[i][2];
        e[1] = r[i][1] + r[i][2];
        e[2] = r[i][2] - r[i][1];
        e[3] = r[i][1] - r[i][3];
        for (int j = 0; j < 4; j++) {
            __global float *oe = o + (4 * i + j) * CT;
            if (count == 8) {
                vstore8(e[j], 0, oe);
            } else {
                float lane[8];
                vstore8(e[j], 0, lane);
                for (int l = 0; l < count; l++)
                    oe[l] = lane[l];
            }
        }
    }
}

__kernel void conv2d_wino_output(__global const float *m, int m_off, __global const float *b,
                                 int b_off, int epilogue, __global float *y, int y_off, int N,
                                 int K, int P, int Q, int tiles_h, int tiles_w)
{
    const int tw0 = (int)get_global_id(0) * 8;
    const int nth = (int)get_global_id(1);
    const int k = (int)get_global_id(2);
    if (tw0 >= tiles_w || nth >= N * tiles_h || k >= K)
        return;
    const int n = nth / tiles_h, th = nth % tiles_h;
    const int T = N * tiles_h * tiles_w, KT = K * T;
    const int t0 = nth * tiles_w + tw0, count = min(8, tiles_w - tw0);
    const __global float *src = m + m_off + k * T + t0;

    /* A^T M, then (A^T M) A; lanes past the last tile repeat it (never stored) */
    float8 u[2][4];
    for (int j = 0; j < 4; j++) {
        float8 e[4];
        for (int i = 0; i < 4; i++) {
            const __global float *s = src + (4 * i + j) * KT;
            if (count == 8) {
                e[i] = vload8(0, s);
            } else {
                float lane[8];
                for (int l = 0; l < 8; l++)
                    lane[l] = s[min(l, count - 1)];
                e[i] = vload8(0, lane);
            }
        }
        u[0][j] = e[0] + e[1] + e[2];
        u[1][j] = e[1] - e[2] - e[3];
    }
    const float bias = epilogue & 1 ? b[b_off + k] : 0.0f;
    __global float *yk = y + y_off + (n * K + k) * P * Q;
    const int q0 = 2 * tw0;
    for (int i = 0; i < 2; i++) {
        const int p = 2 * th + i;
        if (p >= P)
            break;
        const float8 even = u[i][0] + u[i][1] + u[i][2] + (float8)(bias);
        const float8 odd = u[i][1] - u[i][2] - u[i][3] + (float8)(bias);
        float16 row = shuffle2(even, odd,
                               (uint16)(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
        if (epilogue & 2)
            row = select((float16)(0.0f), row, row > (float16)(0.0f));
        __global float *yr = yk + p * Q + q0;
        if (q0 + 16 <= Q) {
            vstore16(row, 0, yr);
        } else {
            float lane[16];
            vstore16(row, 0, lane);
            for (int l = 0; l < 16 && q0 + l < Q; l++)
                yr[l] = lane[l];
        }
    }
}
