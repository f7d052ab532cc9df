/*
 * kernels/conv2d_winograd4.cl: the transforms of Winograd's F(4x4, 3x3) convolution
 * (CLCNN_CONV_WINOGRAD, the "winograd4" variants: filters of 3x3 up to 12x12, stride 1,
 * dilation 1, any padding).
 *
 * A larger R x S filter is cut into G = ceil(R/3) * ceil(S/3) 3x3 sub-filters (zeros
 * past R and S): sub-filter (a, b) holds the taps (3a + r, 3b + s) and sees the input
 * shifted by (3a, 3b), so the convolution is the sum of G 3x3 ones, and the G sub-
 * filters act as G * C input channels of one F(4x4, 3x3) convolution (channel
 * (a * ceil(S/3) + b) * C + c): the same products over G times the channels, with
 * the input transformed once per shift.
 *
 * Each 4x4 output tile comes from a 6x6 input tile d (tiles overlap by 2):
 *   y = A^T [ (G g G^T) .* (B^T d B) ] A
 * with Lavin and Gray's matrices for the points 0, 1, -1, 2, -2 and infinity:
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 *          0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *          1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * The 36 element-wise products, summed over the CG = G * C input channels of the
 * sub-filters below (G = 1 for 3x3), are 36 independent matrix products M[e] (K x T) =
 * U[e] (K x CG) * V[e] (CG x T) over the T = N * ceil(P/4) * ceil(Q/4) tiles, run by
 * conv2d_gemm1x1 (kernels/conv2d_1x1.cl) or the tiled GEMM between these kernels:
 *   U (36, K, CG) = the transformed filters, V (36, CG, T) the transformed input
 *   tiles, M (36, K, T) their products; tile t = (n * tiles_h + th) * tiles_w + tw.
 * 4 times fewer multiplications than the direct form (F(2x2, 3x3): 2.25), and 2.25
 * floats of V and M per pixel instead of 4; the price is a larger rounding error
 * (the transforms' coefficients reach 8 and 1/24), about 1e-5 relative on VGG layers.
 *
 * Options: none, except FUSED_TM, FUSED_NV and FUSED_KMAX, which add conv2d_wino4_fused
 * (below). The input and output transforms handle 8 tiles of one tile row per
 * work-item as float8 lanes. Any work-group size works.
 *
 * conv2d_wino4_filter: work-item i writes U[:, k, c] from w[k, c] (3x3) for the 8
 *   (k, c) with k * C + c = 8 * i .. 8 * i + 7, as float8 lanes (the stores of each
 *   plane one vector, not 36 scalars far apart). Arguments: w, w_off (K,C,3,3); u,
 *   u_off; K C.
 * conv2d_wino4_subfilter: the same from sub-filter c of w[k] for k * CG + c = 8 * i
 *   .. 8 * i + 7. Arguments: w, w_off (K,C,R,S); u, u_off; K CG (G * C) C R S. (A
 *   kernel of its own: its index work per lane, as a branch of the 3x3 kernel, made
 *   vgg-512@14's forward at batch 2, where this transform is much of the time, a
 *   tenth slower.)
 * conv2d_wino4_input: work-item (i0, i1, i2): tiles tw = 8 * i0 .. + 8 of tile row
 *   i1 = n * tiles_h + th, channel c = i2; writes V[:, c, t] at v + v_off, plane
 *   elements apart (CG * T: the host points v_off at a shift's channels and lowers
 *   the padding by the shift). Arguments: x, x_off (N,C,H,W); v, v_off, plane; N C H
 *   W pad_top pad_left tiles_h tiles_w.
 * conv2d_wino4_output: work-item (i0, i1, i2) as above for output channel k = i2; reads
 *   M[:, k, t], writes the 4x4 tiles of y (clipped to P x Q), adding b[k] when bit 0
 *   of epilogue is set and applying ReLU (v > 0 ? v : 0) after it when bit 1 is.
 *   Arguments: m, m_off; b, b_off; epilogue; y, y_off (N,K,P,Q); N K P Q tiles_h
 *   tiles_w.
 */

/* The first tap (r0, s0) of 3x3 sub-filter sub of a filter with S columns:
 * sub-filters go row by row, ceil(S / 3) to a row. */
static INLINE int2 wino4_subfilter_origin(int sub, int S)
{
    const int subs_w = (S + 2) / 3;
    return (int2)(3 * (sub / subs_w), 3 * (sub % subs_w));
}

/* s[0 .. 8), the lanes from count on repeating s[count - 1] (in bounds, never
 * stored) */
static INLINE float8 load8_upto(const __global float *s, int count)
{
    if (count == 8)
        return vload8(0, s);
    float lane[8];
    for (int l = 0; l < 8; l++)
        lane[l] = s[min(l, count - 1)];
    return vload8(0, lane);
}

/* the first count lanes of v to d */
static INLINE void store8_upto(float8 v, __global float *d, int count)
{
    if (count == 8) {
        vstore8(v, 0, d);
        return;
    }
    float lane[8];
    vstore8(v, 0, lane);
    for (int l = 0; l < count; l++)
        d[l] = lane[l];
}

/* U[:, filter] for the 8 filters i0 .. i0 + 7 of g (3x3, one per lane) at o + i0,
 * planes KC elements apart, the first count lanes. */
static INLINE void wino4_filter_transform(const float8 g[9], __global float *o, int KC,
                                          int count)
{
    /* a = G g (6x3), then U = a G^T (6x6); products by the rounded fractions,
     * since a division is many times slower */
    const float sixth = 1.0f / 6.0f, twelfth = 1.0f / 12.0f, d24 = 1.0f / 24.0f;
    float8 a[6][3];
    for (int j = 0; j < 3; j++) {
        const float8 g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
        a[0][j] = 0.25f * g0;
        a[1][j] = -sixth * (g0 + g1 + g2);
        a[2][j] = -sixth * (g0 - g1 + g2);
        a[3][j] = d24 * g0 + twelfth * g1 + sixth * g2;
        a[4][j] = d24 * g0 - twelfth * g1 + sixth * g2;
        a[5][j] = g2;
    }
    for (int r = 0; r < 6; r++) {
        const float8 g0 = a[r][0], g1 = a[r][1], g2 = a[r][2];
        float8 e[6];
        e[0] = 0.25f * g0;
        e[1] = -sixth * (g0 + g1 + g2);
        e[2] = -sixth * (g0 - g1 + g2);
        e[3] = d24 * g0 + twelfth * g1 + sixth * g2;
        e[4] = d24 * g0 - twelfth * g1 + sixth * g2;
        e[5] = g2;
        for (int j = 0; j < 6; j++) {
            __global float *oe = o + (6 * r + j) * KC;
            store8_upto(e[j], oe, count);
        }
    }
}

__kernel void conv2d_wino4_filter(__global const float *w, int w_off, __global float *u,
                                  int u_off, int K, int C)
{
    const int i0 = (int)get_global_id(0) * 8, KC = K * C;
    if (i0 >= KC)
        return;
    const int count = min(8, KC - i0);
    /* the 3x3 filters of 8 consecutive (k, c), one per lane, 9 floats apart
     * (the last group repeats its last filter in the lanes past KC, never
     * stored) */
    float8 g[9];
    const __global float *src = w + w_off + i0 * 9;
    for (int j = 0; j < 9; j++) {
        float lane[8];
        for (int l = 0; l < 8; l++)
            lane[l] = src[min(l, count - 1) * 9 + j];
        g[j] = vload8(0, lane);
    }
    wino4_filter_transform(g, u + u_off + i0, KC, count);
}

__kernel void conv2d_wino4_subfilter(__global const float *w, int w_off, __global float *u,
                                     int u_off, int K, int CG, int C, int R, int S)
{
    const int i0 = (int)get_global_id(0) * 8, KC = K * CG;
    if (i0 >= KC)
        return;
    const int count = min(8, KC - i0);
    /* the 3x3 sub-filters of 8 consecutive (k, c), one per lane (the last group
     * repeats its last filter in the lanes past KC, never stored) */
    float8 g[9];
    int filter[8], r0[8], s0[8];
    for (int l = 0; l < 8; l++) {
        const int f = i0 + min(l, count - 1), k = f / CG;
        const int2 origin = wino4_subfilter_origin(f % CG / C, S);
        filter[l] = (k * C + f % C) * R * S;
        r0[l] = origin.x;
        s0[l] = origin.y;
    }
    const __global float *src = w + w_off;
    for (int j = 0; j < 9; j++) {
        float lane[8];
        for (int l = 0; l < 8; l++) {
            const int r = r0[l] + j / 3, s = s0[l] + j % 3;
            lane[l] = r < R && s < S ? src[filter[l] + r * S + s] : 0.0f;
        }
        g[j] = vload8(0, lane);
    }
    wino4_filter_transform(g, u + u_off + i0, KC, count);
}

/* B^T applied to six float8 values (one column or row of 8 tiles), into r */
#define WINO4_BT(r, d0, d1, d2, d3, d4, d5)                                                    \
    do {                                                                                       \
        r[0] = 4.0f * (d0) - 5.0f * (d2) + (d4);                                               \
        r[1] = (d3) + (d4) - 4.0f * ((d1) + (d2));                                             \
        r[2] = (d4) - (d3) + 4.0f * ((d1) - (d2));                                             \
        r[3] = (d4) - (d2) + 2.0f * ((d3) - (d1));                                             \
        r[4] = (d4) - (d2) + 2.0f * ((d1) - (d3));                                             \
        r[5] = 4.0f * (d1) - 5.0f * (d3) + (d5);                                               \
    } while (0)

__kernel void conv2d_wino4_input(__global const float *x, int x_off, __global float *v,
                                 int v_off, int plane, int N, int C, int H, int W, int pad_top,
                                 int pad_left, int tiles_h, int tiles_w)
{
    const int tw0 = (int)get_global_id(0) * 8;
    const int nth = (int)get_global_id(1);
    const int c = (int)get_global_id(2);
    if (tw0 >= tiles_w || nth >= N * tiles_h || c >= C)
        return;
    const int n = nth / tiles_h, th = nth % tiles_h;
    const __global float *xc = x + x_off + (n * C + c) * H * W;
    const int col0 = 4 * tw0 - pad_left;

    /* r[i][j]: (d B)[i][j] for input row i of the tiles, tile column j, one tile
     * per lane. Tile l reads the row's columns 4l .. 4l + 5 of 34: column j of
     * the 8 tiles is a shuffle of two of the windows [0, 16), [16, 32), [4, 20)
     * and [18, 34) (a padded row comes through a private copy). */
    float8 r[6][6];
    for (int i = 0; i < 6; i++) {
        const int h = 4 * th - pad_top + i;
        float16 a, b, a4, b18;
        if ((uint)h >= (uint)H) {
            a = b = a4 = b18 = (float16)(0.0f);
        } else if (col0 >= 0 && col0 + 34 <= W) {
            const __global float *src = xc + h * W + col0;
            a = vload16(0, src);
            b = vload16(0, src + 16);
            a4 = vload16(0, src + 4);
            b18 = vload16(0, src + 18);
        } else {
            float row[34];
            for (int j = 0; j < 34; j++) {
                const int col = col0 + j;
                const float val = xc[h * W + clamp(col, 0, W - 1)];
                row[j] = (uint)col < (uint)W ? val : 0.0f;
            }
            a = vload16(0, row);
            b = vload16(0, row + 16);
            a4 = vload16(0, row + 4);
            b18 = vload16(0, row + 18);
        }
        float8 d[6];
        d[0] = shuffle2(a, b, (uint8)(0, 4, 8, 12, 16, 20, 24, 28));
        d[1] = shuffle2(a, b, (uint8)(1, 5, 9, 13, 17, 21, 25, 29));
        d[2] = shuffle2(a, b, (uint8)(2, 6, 10, 14, 18, 22, 26, 30));
        d[3] = shuffle2(a, b, (uint8)(3, 7, 11, 15, 19, 23, 27, 31));
        d[4] = shuffle2(a4, b18, (uint8)(0, 4, 8, 12, 18, 22, 26, 30));
        d[5] = shuffle2(a4, b18, (uint8)(1, 5, 9, 13, 19, 23, 27, 31));
        /* the row times B: B^T on the six columns */
        WINO4_BT(r[i], d[0], d[1], d[2], d[3], d[4], d[5]);
    }

    const int T = N * tiles_h * tiles_w;
    const int t0 = nth * tiles_w + tw0, count = min(8, tiles_w - tw0);
    __global float *o = v + v_off + c * T + t0;
    for (int j = 0; j < 6; j++) {
        /* B^T on column j */
        float8 e[6];
        WINO4_BT(e, r[0][j], r[1][j], r[2][j], r[3][j], r[4][j], r[5][j]);
        for (int i = 0; i < 6; i++) {
            __global float *oe = o + (6 * i + j) * plane;
            store8_upto(e[i], oe, count);
        }
    }
}

/* A^T applied to six float8 values, into o (4) */
#define WINO4_AT(o, m0, m1, m2, m3, m4, m5) WINO4_AT_OF(float8, o, m0, m1, m2, m3, m4, m5)
#define WINO4_AT_OF(type, o, m0, m1, m2, m3, m4, m5)                                           \
    do {                                                                                       \
        const type s12 = (m1) + (m2), d12 = (m1) - (m2);                                       \
        const type s34 = (m3) + (m4), d34 = (m3) - (m4);                                       \
        o[0] = (m0) + s12 + s34;                                                               \
        o[1] = d12 + 2.0f * d34;                                                               \
        o[2] = s12 + 4.0f * s34;                                                               \
        o[3] = d12 + 8.0f * d34 + (m5);                                                        \
    } while (0)

__kernel void conv2d_wino4_output(__global const float *m, int m_off, __global const float *b,
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

    /* A^T M (4x6), then (A^T M) A; lanes past the last tile repeat it (never stored) */
    float8 u[4][6];
    for (int j = 0; j < 6; j++) {
        float8 e[6];
        for (int i = 0; i < 6; i++) {
            const __global float *s = src + (6 * i + j) * KT;
            e[i] = load8_upto(s, count);
        }
        float8 col[4];
        WINO4_AT(col, e[0], e[1], e[2], e[3], e[4], e[5]);
        for (int i = 0; i < 4; i++)
            u[i][j] = col[i];
    }
    const float8 bias = (float8)(epilogue & 1 ? b[b_off + k] : 0.0f);
    __global float *yk = y + y_off + (n * K + k) * P * Q;
    const int q0 = 4 * tw0;
    for (int i = 0; i < 4; i++) {
        const int p = 4 * th + i;
        if (p >= P)
            break;
        float8 o[4];
        WINO4_AT(o, u[i][0], u[i][1], u[i][2], u[i][3], u[i][4], u[i][5]);
        /* output column 4l + j is o[j] lane l: interleave pairs, then pairs of pairs */
        const uint16 pairs = (uint16)(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        const float16 e01 = shuffle2(o[0] + bias, o[1] + bias, pairs);
        const float16 e23 = shuffle2(o[2] + bias, o[3] + bias, pairs);
        float16 lo = shuffle2(e01, e23,
                              (uint16)(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
        float16 hi = shuffle2(
            e01, e23, (uint16)(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31));
        if (epilogue & 2) {
            lo = select((float16)(0.0f), lo, lo > (float16)(0.0f));
            hi = select((float16)(0.0f), hi, hi > (float16)(0.0f));
        }
        __global float *yr = yk + p * Q + q0;
        if (q0 + 32 <= Q) {
            vstore16(lo, 0, yr);
            vstore16(hi, 0, yr + 16);
        } else {
            float lane[32];
            vstore16(lo, 0, lane);
            vstore16(hi, 0, lane + 16);
            for (int l = 0; l < 32 && q0 + l < Q; l++)
                yr[l] = lane[l];
        }
    }
}

#ifdef FUSED_TM
/*
 * conv2d_wino4_fused (CPU devices): the 36 products and the output transform in one
 * kernel, so that M never goes through memory (on the VGG layers its round trip was
 * about a quarter of the pass). Work-item (i0, i1) owns the output channels k =
 * i0 * k_per_item .. + k_per_item (k_per_item <= FUSED_KMAX, a multiple of FUSED_TM)
 * and the 16 * FUSED_NV tiles from t0 = i1 * 16 * FUSED_NV: for each plane e it sums
 * U[e][k, :] * V[e][:, t0 ..] in FUSED_TM x FUSED_NV float16 blocks (the tiles as
 * lanes), keeps the sums of all 36 planes in private memory (at most 36 * FUSED_KMAX
 * * 16 * FUSED_NV floats), then applies A^T . A to each lane and stores its tile's
 * outputs inside P x Q, with the bias and ReLU of epilogue. The first dimension is
 * the channels, so that the work-items PoCL runs one after another share their
 * tiles' V in the caches. Options: FUSED_TM (rows per block), FUSED_NV (1 or 2),
 * FUSED_KMAX (the host's CONV2D_WINO4_FUSED_KMAX).
 * Arguments: v, v_off (36, CG, T); u, u_off (36, K, CG); b, b_off; epilogue; y, y_off
 * (N,K,P,Q); N K P Q tiles_h tiles_w CG k_per_item.
 */
#ifndef FUSED_KMAX
#define FUSED_KMAX 32
#endif
#define FUSED_TILES (16 * FUSED_NV)

__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
conv2d_wino4_fused(__global const float *v, int v_off, __global const float *u, int u_off,
                   __global const float *b, int b_off, int epilogue, __global float *y,
                   int y_off, int N, int K, int P, int Q, int tiles_h, int tiles_w, int CG,
                   int k_per_item)
{
    const int kbeg = (int)get_global_id(0) * k_per_item;
    const int t0 = (int)get_global_id(1) * FUSED_TILES;
    const int T = N * tiles_h * tiles_w;
    if (kbeg >= K || t0 >= T)
        return;
    const int kend = min(K, kbeg + k_per_item), ntile = min(FUSED_TILES, T - t0);
    const int CT = CG * T, KC = K * CG;
    /* sums[e][row block][m * FUSED_NV + vec] */
    float16 sums[36][FUSED_KMAX / FUSED_TM][FUSED_TM * FUSED_NV];

    for (int e = 0; e < 36; e++) {
        const __global float *ve = v + v_off + e * CT + t0;
        const __global float *ue = u + u_off + e * KC;
        for (int k0 = kbeg, blk = 0; k0 < kend; k0 += FUSED_TM, blk++) {
            /* rows past K repeat row K-1 (in bounds, never stored) */
            const __global float *arow[FUSED_TM];
            float16 acc[FUSED_TM * FUSED_NV];
#pragma unroll
            for (int m = 0; m < FUSED_TM; m++) {
                arow[m] = ue + min(k0 + m, K - 1) * CG;
#pragma unroll
                for (int w = 0; w < FUSED_NV; w++)
                    acc[m * FUSED_NV + w] = (float16)(0.0f);
            }
            for (int c = 0; c < CG; c++) {
                float16 x[FUSED_NV];
                if (ntile == FUSED_TILES) {
#pragma unroll
                    for (int w = 0; w < FUSED_NV; w++)
                        x[w] = vload16(w, ve + c * T);
                } else {
                    /* lanes past T read tile T-1 (never stored) */
                    float lane[FUSED_TILES];
                    for (int i = 0; i < FUSED_TILES; i++)
                        lane[i] = ve[c * T + min(i, ntile - 1)];
                    for (int w = 0; w < FUSED_NV; w++)
                        x[w] = vload16(w, lane);
                }
#pragma unroll
                for (int m = 0; m < FUSED_TM; m++) {
                    const float16 av = (float16)(arow[m][c]);
#pragma unroll
                    for (int w = 0; w < FUSED_NV; w++)
                        acc[m * FUSED_NV + w] = fma(av, x[w], acc[m * FUSED_NV + w]);
                }
            }
#pragma unroll
            for (int i = 0; i < FUSED_TM * FUSED_NV; i++)
                sums[e][blk][i] = acc[i];
        }
    }

    /* each lane's tile: its image, first output row and column */
    int base[FUSED_TILES], p0[FUSED_TILES], q0[FUSED_TILES];
    for (int l = 0; l < FUSED_TILES; l++) {
        const int t = min(t0 + l, T - 1), tw = t % tiles_w, nth = t / tiles_w;
        base[l] = nth / tiles_h * K * P * Q;
        p0[l] = 4 * (nth % tiles_h);
        q0[l] = 4 * tw;
    }
    for (int k0 = kbeg, blk = 0; k0 < kend; k0 += FUSED_TM, blk++)
        for (int m = 0; m < FUSED_TM && k0 + m < kend; m++) {
            const int k = k0 + m;
            const float bias = epilogue & 1 ? b[b_off + k] : 0.0f;
            for (int w = 0; w < FUSED_NV; w++) {
                const int slot = m * FUSED_NV + w;
                /* A^T M (4x6), then (A^T M) A */
                float16 at[4][6];
                for (int j = 0; j < 6; j++) {
                    float16 col[4];
                    WINO4_AT_OF(float16, col, sums[j][blk][slot], sums[6 + j][blk][slot],
                                sums[12 + j][blk][slot], sums[18 + j][blk][slot],
                                sums[24 + j][blk][slot], sums[30 + j][blk][slot]);
                    for (int i = 0; i < 4; i++)
                        at[i][j] = col[i];
                }
                for (int i = 0; i < 4; i++) {
                    float16 o[4];
                    WINO4_AT_OF(float16, o, at[i][0], at[i][1], at[i][2], at[i][3], at[i][4],
                                at[i][5]);
                    float out[4][16];
                    for (int j = 0; j < 4; j++) {
                        float16 r = o[j] + (float16)(bias);
                        if (epilogue & 2)
                            r = select((float16)(0.0f), r, r > (float16)(0.0f));
                        vstore16(r, 0, out[j]);
                    }
                    for (int l = 0; l < 16 && w * 16 + l < ntile; l++) {
                        const int tl = w * 16 + l, p = p0[tl] + i;
                        if (p >= P)
                            continue;
                        __global float *yr = y + y_off + base[tl] + (k * P + p) * Q + q0[tl];
                        for (int j = 0; j < 4 && q0[tl] + j < Q; j++)
                            yr[j] = out[j][l];
                    }
                }
            }
        }
}
#endif

/*
 * Backward-filter by the same matrices. Differentiating y = A^T [U .* V] A with
 * respect to g (U = G g G^T) gives, for each 4x4 tile of dy,
 *   dg = G^T [ (A dy A^T) .* (B^T d B) ] G,
 * so sub-filter c of dw[k] is G^T M[c, k] G with M[e] (CG x K) = V[e] (CG x T) * E[e]
 * (T x K) summed over the tiles by the same batched product: V from conv2d_wino4_input
 * (tiles of the forward output, which dy has), E (36, T, K) the transformed tiles of dy
 * from conv2d_wino4_dy (dy is zero past P x Q, where the forward stored nothing).
 *
 * conv2d_wino4_dy: work-item (i0, i1) writes E[:, t, k0 .. k0 + 8) for tile t = i1 and
 *   k0 = 8 * i0, the 8 channels as float8 lanes (one vector store per plane). Arguments:
 *   dy, dy_off (N,K,P,Q); e, e_off; N K P Q tiles_h tiles_w.
 * conv2d_wino4_filter_grad: work-item (i0, i1) adds G^T M[:, c, k] G to sub-filter c
 *   (its taps inside R x S) of dw[k] for c = i1 and k = 8 * i0 .. + 8 as float8 lanes.
 *   Arguments: m, m_off (36, CG, K); dw, dw_off (K,C,R,S); K CG C R S.
 */

/* A applied to four float8 values (a column or row of 8 4x4 tiles), into r (6) */
#define WINO4_A(r, y0, y1, y2, y3)                                                             \
    do {                                                                                       \
        const float8 s02 = (y0) + (y2), s13 = (y1) + (y3);                                     \
        const float8 q02 = (y0) + 4.0f * (y2), q13 = 2.0f * (y1) + 8.0f * (y3);                \
        r[0] = (y0);                                                                           \
        r[1] = s02 + s13;                                                                      \
        r[2] = s02 - s13;                                                                      \
        r[3] = q02 + q13;                                                                      \
        r[4] = q02 - q13;                                                                      \
        r[5] = (y3);                                                                           \
    } while (0)

__kernel void conv2d_wino4_dy(__global const float *dy, int dy_off, __global float *e,
                              int e_off, int N, int K, int P, int Q, int tiles_h, int tiles_w)
{
    const int k0 = (int)get_global_id(0) * 8, t = (int)get_global_id(1);
    const int T = N * tiles_h * tiles_w;
    if (k0 >= K || t >= T)
        return;
    const int n = t / (tiles_h * tiles_w), th = t / tiles_w % tiles_h, tw = t % tiles_w;
    const int count = min(8, K - k0), PQ = P * Q;
    /* lanes past K repeat channel K-1 (never stored) */
    int plane[8];
    for (int l = 0; l < 8; l++)
        plane[l] = (n * K + k0 + min(l, count - 1)) * PQ;
    const __global float *src = dy + dy_off;

    /* r[i][a]: (dy A^T)[i][a] for tile row i */
    float8 r[4][6];
    for (int i = 0; i < 4; i++) {
        const int p = 4 * th + i;
        float8 y[4];
        for (int j = 0; j < 4; j++) {
            const int q = 4 * tw + j;
            float lane[8];
            for (int l = 0; l < 8; l++)
                lane[l] = p < P && q < Q ? src[plane[l] + p * Q + q] : 0.0f;
            y[j] = vload8(0, lane);
        }
        WINO4_A(r[i], y[0], y[1], y[2], y[3]);
    }
    const int TK = T * K;
    __global float *o = e + e_off + t * K + k0;
    for (int a = 0; a < 6; a++) {
        float8 col[6];
        WINO4_A(col, r[0][a], r[1][a], r[2][a], r[3][a]);
        for (int b = 0; b < 6; b++) {
            __global float *oe = o + (6 * b + a) * TK;
            store8_upto(col[b], oe, count);
        }
    }
}

/* G^T applied to six float8 values, into o (3) */
#define WINO4_GT(o, m0, m1, m2, m3, m4, m5)                                                    \
    do {                                                                                       \
        const float8 s12 = (m1) + (m2), d12 = (m1) - (m2);                                     \
        const float8 s34 = (m3) + (m4), d34 = (m3) - (m4);                                     \
        o[0] = 0.25f * (m0) - (1.0f / 6.0f) * s12 + (1.0f / 24.0f) * s34;                      \
        o[1] = (1.0f / 6.0f) * -d12 + (1.0f / 12.0f) * d34;                                    \
        o[2] = (1.0f / 6.0f) * (s34 - s12) + (m5);                                             \
    } while (0)

__kernel void conv2d_wino4_filter_grad(__global const float *m, int m_off, __global float *dw,
                                       int dw_off, int K, int CG, int C, int R, int S)
{
    const int k0 = (int)get_global_id(0) * 8, cg = (int)get_global_id(1);
    if (k0 >= K || cg >= CG)
        return;
    const int count = min(8, K - k0), CK = CG * K;
    const __global float *src = m + m_off + cg * K + k0;
    /* u[r][b]: (G^T M)[r][b] */
    float8 u[3][6];
    for (int b = 0; b < 6; b++) {
        float8 col[6];
        for (int a = 0; a < 6; a++) {
            const __global float *s = src + (6 * a + b) * CK;
            col[a] = load8_upto(s, count);
        }
        float8 o[3];
        WINO4_GT(o, col[0], col[1], col[2], col[3], col[4], col[5]);
        for (int r = 0; r < 3; r++)
            u[r][b] = o[r];
    }
    float g[9][8];
    for (int r = 0; r < 3; r++) {
        float8 o[3];
        WINO4_GT(o, u[r][0], u[r][1], u[r][2], u[r][3], u[r][4], u[r][5]);
        for (int s = 0; s < 3; s++)
            vstore8(o[s], 0, g[3 * r + s]);
    }
    /* sub-filter cg / C of channel cg % C: taps (r0 + r, s0 + s) */
    const int2 origin = wino4_subfilter_origin(cg / C, S);
    const int r0 = origin.x, s0 = origin.y;
    __global float *out = dw + dw_off + (k0 * C + cg % C) * R * S;
    for (int l = 0; l < count; l++)
        for (int j = 0; j < 9; j++) {
            const int r = r0 + j / 3, s = s0 + j % 3;
            if (r < R && s < S)
                out[l * C * R * S + r * S + s] += g[j][l];
        }
}
