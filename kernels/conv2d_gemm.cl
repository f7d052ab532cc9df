/*
 * kernels/conv2d_gemm.cl: conv2d forward as an implicit GEMM (CLCNN_CONV_GEMM).
 *
 * y[n] (K x P*Q) = w (K x C*R*S) * im2col(x[n]) (C*R*S x P*Q) + b, without an im2col
 * buffer: each work-item gathers the im2col columns of its own TN output pixels into a
 * panel in local memory, one reduction chunk of KC rows at a time, and reuses that
 * panel for all of its output channels, so each gathered input value feeds
 * k_per_item fma's instead of one. With stride_w 1 a tile's pixels lie in at most
 * two output rows (when TN <= Q), each a contiguous run of input columns, so a panel
 * row is one or two vector loads of whole windows (inside x) with the padding lanes
 * selected away; other tiles (short rows, strides) gather lane by lane from addresses
 * computed as one vector.
 *
 * Options (all optional, #ifndef defaults):
 *   TM  output channels per register block (default 8)
 *   TN  output pixels per vector; the vector width, so one of 2, 4, 8, 16 (default 16)
 *   NV  vectors of TN pixels per work-item, 1 or 2 (default 1)
 *   KC  reduction rows (c, r, s) per panel chunk; the panel holds KC * (NV * TN + 1)
 *       floats of local memory (default 256)
 *   FLIP_W  1: w is a filter (C, K, R, S) read as w[c, k, R-1-r, S-1-s], the
 *       flipped, transposed filter with which this forward pass on dy computes
 *       a backward-data pass, without a flipped copy (default 0)
 *
 * Work-item (i0, i1, i2) computes y[n, kbeg .. kend, pq0 .. pq0+NV*TN) where pq0 = i0 *
 * NV * TN indexes the P*Q plane of image n = i1, kbeg = i2 * k_per_item and kend =
 * min(K, kbeg + k_per_item) (k_per_item a multiple of TM). For each chunk it walks its
 * rows in blocks of TM with TM x NV floatTN accumulators: NV vector loads of the panel
 * and TM broadcasts feeding TM x NV fma's per reduction step (with NV 2 the loads per
 * fma drop from (TM + 1) / TM to (TM + 2) / 2TM, which is what a CPU's load ports
 * need). Between chunks the partial sums live in y itself (y never overlaps x, w or
 * b), so no chunk-sized scratch is needed.
 * The work-group size must be 1: the panel belongs to its one work-item.
 *
 * Arguments: x, x_off (N,C,H,W); w, w_off (K,C,R,S); b, b_off (K), read only when
 * bit 0 of epilogue is set (then y = conv + b); bit 1 of epilogue applies ReLU
 * (v > 0 ? v : 0) after the bias; y, y_off (N,K,P,Q); then N C H W K R S P Q
 * pad_top pad_left stride_h stride_w dil_h dil_w k_per_item. Offsets are in elements.
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
#define KC 256
#endif
#if TN != 2 && TN != 4 && TN != 8 && TN != 16
#error "TN must be 2, 4, 8 or 16 (an OpenCL vector width)"
#endif
#if NV != 1 && NV != 2
#error "NV must be 1 or 2"
#endif
#ifndef FLIP_W
#define FLIP_W 0
#endif

#define VW TN

/* base[idx + i] for the lanes where ok is set, 0 elsewhere. base[0 .. count) is
 * the whole tensor: a window inside it is one vector load; one that sticks out
 * (the first or last row of the tensor) is read from clamped addresses. */
static INLINE VEC load_masked(const __global float *base, int idx, int count, IVEC ok)
{
    if (idx >= 0 && idx <= count - TN)
        return select((VEC)(0.0f), VLOAD(0, base + idx), ok);
    float lane[TN];
#pragma unroll
    for (int i = 0; i < TN; i++)
        lane[i] = base[clamp(idx + i, 0, count - 1)];
    return select((VEC)(0.0f), VLOAD(0, lane), ok);
}

/* How one vector of TN output pixels gathers its im2col rows. */
typedef struct pixel_tile {
    int row_fast; /* all lanes in one output row, stride_w 1, no padding lanes */
    int two_rows; /* stride_w 1, TN <= Q: lanes [0, split) in one row, the rest in the next */
    int split;
    int win0, win1; /* x index (at c = r = s = 0) lane 0 would read in either run */
    int h0, w0;     /* lane 0's top-left input tap */
    int hlo, hhi;   /* the lowest and highest input row (at r = 0) of the lanes */
    IVEC second, hv, wv;
} pixel_tile;

/* Lanes past the plane repeat the last pixel so that their gathers stay in
 * bounds; they are never stored. */
static INLINE pixel_tile
tile_make(int pq0, int n, int CHW, int H, int W, int S, int P, int Q, int pad_top,
          int pad_left, int stride_h, int stride_w, int dil_w)
{
    const int PQ = P * Q;
    int h0[TN], w0[TN];
#pragma unroll
    for (int i = 0; i < TN; i++) {
        const int pq = min(pq0 + i, PQ - 1);
        h0[i] = (pq / Q) * stride_h - pad_top;
        w0[i] = (pq % Q) * stride_w - pad_left;
    }
    pixel_tile t;
    t.h0 = h0[0];
    t.w0 = w0[0];
    t.hlo = h0[0];
    t.hhi = h0[TN - 1];
    t.row_fast = stride_w == 1 && pq0 % Q + TN <= Q && w0[0] >= 0 &&
                 w0[0] + TN - 1 + (S - 1) * dil_w < W;
    t.two_rows = !t.row_fast && stride_w == 1 && TN <= Q;
    t.split = Q - pq0 % Q;
    t.second = IOTA >= (IVEC)(t.split);
    t.hv = VLOAD(0, h0);
    t.wv = VLOAD(0, w0);
    t.win0 = n * CHW + h0[0] * W + w0[0];
    t.win1 = n * CHW + (h0[0] + stride_h) * W - pad_left - t.split;
    return t;
}

/* Row (c, r, s) of im2col(x[n]) for the tile's lanes, 0 in the padding. */
static INLINE VEC
tile_gather(const pixel_tile *t, const __global float *x, int n, int c, int r, int s, int N,
            int CHW, int H, int W, int dil_h, int dil_w)
{
    const int HW = H * W;
    const __global float *xc = x + n * CHW + c * HW;
    if (t->row_fast) {
        const int h = t->h0 + r * dil_h;
        return (uint)h < (uint)H ? VLOAD(0, xc + h * W + t->w0 + s * dil_w) : (VEC)(0.0f);
    }
    const IVEC hh = t->hv + (IVEC)(r * dil_h), ww = t->wv + (IVEC)(s * dil_w);
    const IVEC ok =
        (hh >= (IVEC)(0)) & (hh < (IVEC)(H)) & (ww >= (IVEC)(0)) & (ww < (IVEC)(W));
    if (t->two_rows) {
        const int shift = c * HW + r * dil_h * W + s * dil_w;
        VEC v = load_masked(x, t->win0 + shift, N * CHW, ok & ~t->second);
        if (t->split < TN)
            v = select(v, load_masked(x, t->win1 + shift, N * CHW, ok & t->second), t->second);
        return v;
    }
    /* the lanes' addresses and masks as vector arithmetic, then the loads: the
     * per-lane index math would cost more than the loads themselves */
    const IVEC idx = clamp(hh, (IVEC)(0), (IVEC)(H - 1)) * (IVEC)(W) +
                     clamp(ww, (IVEC)(0), (IVEC)(W - 1));
    int ix[TN];
    VSTORE(idx, 0, ix);
    float lane[TN];
#pragma unroll
    for (int i = 0; i < TN; i++)
        lane[i] = xc[ix[i]];
    return select((VEC)(0.0f), VLOAD(0, lane), ok);
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
conv2d_fwd_gemm(__global const float *x, int x_off, __global const float *w, int w_off,
                __global const float *b, int b_off, int epilogue, __global float *y, int y_off,
                int N, int C, int H, int W, int K, int R, int S, int P, int Q, int pad_top,
                int pad_left, int stride_h, int stride_w, int dil_h, int dil_w, int k_per_item)
{
    __local float panel[KC * NV * TN];
    __local int used[KC];
    const int PQ = P * Q;
    const int pq0 = (int)get_global_id(0) * NV * TN;
    const int n = (int)get_global_id(1);
    const int kbeg = (int)get_global_id(2) * k_per_item;
    if (pq0 >= PQ || n >= N || kbeg >= K)
        return;
    const int kend = min(K, kbeg + k_per_item);
    const int RS = R * S, CRS = C * RS, CHW = C * H * W;
    x += x_off;
    w += w_off;
    y += y_off + n * K * PQ;

    pixel_tile tile[NV];
    int ntile[NV];
    int hlo = INT_MAX, hhi = INT_MIN;
#pragma unroll
    for (int v = 0; v < NV; v++) {
        tile[v] = tile_make(pq0 + v * TN, n, CHW, H, W, S, P, Q, pad_top, pad_left, stride_h,
                            stride_w, dil_w);
        ntile[v] = clamp(PQ - pq0 - v * TN, 0, TN);
        hlo = min(hlo, tile[v].hlo);
        hhi = max(hhi, tile[v].hhi);
    }

    for (int j0 = 0; j0 < CRS; j0 += KC) {
        const int jn = min(KC, CRS - j0);
        int c = j0 / RS, r = j0 % RS / S, s = j0 % S;
        /* Panel rows whose input row lies in the padding for every lane are
         * zeros: they are left out, and used[] keeps, for each row kept, the
         * offset of its weight from a row's first (the backward-data pass of
         * a large unpadded filter, run as this forward pass, is mostly such
         * padding). */
        int kept = 0;
        for (int jj = 0; jj < jn; jj++) {
            if (!(hhi + r * dil_h < 0 || hlo + r * dil_h >= H)) {
#pragma unroll
                for (int v = 0; v < NV; v++)
                    VSTORE(tile_gather(&tile[v], x, n, c, r, s, N, CHW, H, W, dil_h, dil_w),
                           kept * NV + v, panel);
                used[kept++] = FLIP_W ? c * K * RS + RS - 1 - r * S - s : j0 + jj;
            }
            if (++s == S) {
                s = 0;
                if (++r == R) {
                    r = 0;
                    c++;
                }
            }
        }

        const int first = j0 == 0, last = j0 + jn == CRS;
        for (int k0 = kbeg; k0 < kend; k0 += TM) {
            int wrow[TM];
            VEC acc[TM * NV];
#pragma unroll
            for (int m = 0; m < TM; m++) {
                /* rows past K repeat row K-1 (in bounds, never stored) */
                wrow[m] = min(k0 + m, K - 1) * (FLIP_W ? RS : CRS);
#pragma unroll
                for (int v = 0; v < NV; v++) {
                    acc[m * NV + v] = (VEC)(0.0f);
                    if (!first && k0 + m < kend) {
                        const __global float *yr = y + (k0 + m) * PQ + pq0 + v * TN;
                        if (ntile[v] == TN) {
                            acc[m * NV + v] = VLOAD(0, yr);
                        } else {
                            float lane[TN];
                            for (int i = 0; i < TN; i++)
                                lane[i] = i < ntile[v] ? yr[i] : 0.0f;
                            acc[m * NV + v] = VLOAD(0, lane);
                        }
                    }
                }
            }
            for (int t = 0; t < kept; t++) {
                const int wj = used[t];
                VEC bv[NV];
#pragma unroll
                for (int v = 0; v < NV; v++)
                    bv[v] = VLOAD(t * NV + v, panel);
#pragma unroll
                for (int m = 0; m < TM; m++) {
                    const VEC wv = (VEC)(w[wrow[m] + wj]);
#pragma unroll
                    for (int v = 0; v < NV; v++)
                        acc[m * NV + v] = fma(wv, bv[v], acc[m * NV + v]);
                }
            }
#pragma unroll
            for (int m = 0; m < TM; m++) {
                const int k = k0 + m;
                if (k >= kend)
                    continue;
#pragma unroll
                for (int v = 0; v < NV; v++) {
                    VEC out = acc[m * NV + v];
                    if (last && (epilogue & 1))
                        out += (VEC)(b[b_off + k]);
                    if (last && (epilogue & 2))
                        out = select((VEC)(0.0f), out, out > (VEC)(0.0f));
                    __global float *yr = y + k * PQ + pq0 + v * TN;
                    if (ntile[v] == TN) {
                        VSTORE(out, 0, yr);
                    } else {
                        float lane[TN];
                        VSTORE(out, 0, lane);
                        for (int i = 0; i < ntile[v]; i++)
                            yr[i] = lane[i];
                    }
                }
            }
        }
    }
}
