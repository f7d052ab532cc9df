/*
 * kernels/conv2d_bwd_filter.cl: conv2d backward-filter and bias gradient.
 *
 * dw (K x C*R*S) += dy (K x N*P*Q) * im2col(x)^T, a GEMM with M = K, N = C*R*S and the
 * reduction over the N*P*Q output pixels. The reduction walks output rows (n, p), QV
 * columns at a time: dy rows are contiguous vectors, and so are the input rows for
 * stride_w 1, so each step is TM + TJ vector loads feeding TM * TJ vector fma's into
 * TM * TJ floatQV accumulators, summed across lanes once at the end. The tap offsets
 * of a row are computed once per row; the column blocks whose windows lie inside the
 * input for every tap (the interior of an interior row) load without masks, the
 * others load the whole window (inside the tensor) and select the lanes inside the
 * row. With stride_w 2 the input lanes are every other element of a window of
 * 2 * QV, loaded as two vectors and deinterleaved with a constant shuffle; larger
 * strides gather lane by lane.
 *
 * The reduction can be split into chunks of rows_per_split output rows (n, p), one
 * per value of the third index, so that layers with few (k, j) blocks still fill
 * the device; each chunk then stores its partial sums and conv2d_bwd_reduce adds
 * them up in a fixed order (the result does not depend on scheduling).
 *
 * Options (all optional, #ifndef defaults):
 *   ROWS  the one row kernel to build: 1 conv2d_bwd_filter_s1, 2 _s2, 0 _sn;
 *       without it only conv2d_bwd_bias and conv2d_bwd_reduce (a CPU runtime
 *       compiles every kernel of a program, used or not)
 *   TM  output channels k per work-item (default 4)
 *   TJ  filter taps j = (c, r, s) per work-item (default 6)
 *   QV  output columns per reduction step; also the vector width, so one of 2, 4, 8,
 *       16 (default 8)
 *
 * conv2d_bwd_filter_s1 / _s2 / _sn (stride_w 1, 2, any): work-item (i0, i1, i2) sums
 *   dw[k0 .. k0+TM, j0 .. j0+TJ] with j0 = i0 * TJ, k0 = i1 * TM (j indexes the C*R*S
 *   taps of one filter) over output rows [i2 * rows_per_split, ... + rows_per_split)
 *   and writes element (k, j) to out[out_off + i2 * split_stride + k * C*R*S + j],
 *   adding to it when accumulate != 0, else storing.
 * conv2d_bwd_bias: work-item (k, i1) sums dy[n, k, p, q] over the same chunk i1 of
 *   output rows into out[out_off + i1 * split_stride + k], adding or storing likewise.
 * conv2d_bwd_reduce: work-item i sums part[i + s * split_stride] over s < splits and
 *   adds it to dw[dw_off + i] for i < dw_count, else to db[db_off + i - dw_count].
 * Any work-group size works for all of them.
 *
 * Arguments of conv2d_bwd_filter_*: x, x_off (N,C,H,W); dy, dy_off (N,K,P,Q); out,
 * out_off; then N C H W K R S P Q pad_top pad_left stride_h stride_w dil_h dil_w
 * rows_per_split split_stride accumulate. Of conv2d_bwd_bias: dy, dy_off; out,
 * out_off; N K P Q rows_per_split split_stride accumulate. Of conv2d_bwd_reduce: part,
 * part_off, splits, split_stride, count; dw, dw_off, dw_count; db, db_off.
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

#define VW QV
/* lanes 0, 2, 4, ... of the concatenation of two vectors */
#define EVEN (CAT(convert_uint, QV)(IOTA) * (UVEC)(2))

/* base[idx + i] for the lanes where ok is set, 0 elsewhere. base[0 .. count) is
 * the whole tensor: a window inside it is one vector load; one that sticks out
 * (the first or last row of the tensor) is read from clamped addresses. */
static INLINE VEC load_masked(const __global float *base, int idx, int count, IVEC ok)
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

/* x[idx + i * stride_w] for the QV lanes, all inside the tensor. sw is 1 or 2
 * when the kernel is specialised for that stride, 0 otherwise. */
static INLINE VEC load_fast(const __global float *x, int idx, int sw, int stride_w)
{
    if (sw == 1)
        return VLOAD(0, x + idx);
    if (sw == 2)
        return shuffle2(VLOAD(0, x + idx), VLOAD(0, x + idx + QV), EVEN);
    float lane[QV];
#pragma unroll
    for (int i = 0; i < QV; i++)
        lane[i] = x[idx + i * stride_w];
    return VLOAD(0, lane);
}

/* Lanes i < QV of a tap at columns col0 + i * stride_w of output-block q0: set
 * where the column lies inside [0, W) and q0 + i < Q. */
static INLINE IVEC border_mask(int col0, int q0, int W, int Q, int stride_w)
{
    const IVEC colv = IOTA * (IVEC)(stride_w) + (IVEC)(col0);
    return (colv >= (IVEC)(0)) & (colv < (IVEC)(W)) & ((IOTA + (IVEC)(q0)) < (IVEC)(Q));
}

/* The lanes of x at columns col0 + i * stride_w (i < QV) of the row starting at
 * x[row], zero where ok is clear (ok from border_mask). */
static INLINE VEC load_border(const __global float *x, int row, int col0, int W, int count,
                       IVEC ok, int sw, int stride_w)
{
    const int idx = row + col0;
    if (sw == 1)
        return load_masked(x, idx, count, ok);
    if (sw == 2) {
        VEC lo, hi;
        if (idx >= 0 && idx <= count - 2 * QV) {
            lo = VLOAD(0, x + idx);
            hi = VLOAD(0, x + idx + QV);
        } else {
            float lane[2 * QV];
#pragma unroll
            for (int i = 0; i < 2 * QV; i++)
                lane[i] = x[clamp(idx + i, 0, count - 1)];
            lo = VLOAD(0, lane);
            hi = VLOAD(1, lane);
        }
        return select((VEC)(0.0f), shuffle2(lo, hi, EVEN), ok);
    }
    float lane[QV];
#pragma unroll
    for (int i = 0; i < QV; i++)
        lane[i] = x[row + clamp(col0 + i * stride_w, 0, W - 1)];
    return select((VEC)(0.0f), VLOAD(0, lane), ok);
}

/* Border blocks whose lane masks are computed once per work-item rather than
 * once per row (rows share them); further border blocks compute their own. */
#define MASKED_BLOCKS 3

static void bwd_filter(__global const float *x, int x_off, __global const float *dy,
                       int dy_off, __global float *out, int out_off, int N, int C, int H,
                       int W, int K, int R, int S, int P, int Q, int pad_top, int pad_left,
                       int stride_h, int stride_w, int dil_h, int dil_w, int rows_per_split,
                       int split_stride, int accumulate, int sw)
{
    const int j0 = (int)get_global_id(0) * TJ;
    const int k0 = (int)get_global_id(1) * TM;
    const int split = (int)get_global_id(2);
    const int HW = H * W, RS = R * S, CRS = C * RS, PQ = P * Q, NP = N * P;
    if (j0 >= CRS || k0 >= K || split * rows_per_split >= NP)
        return;
    x += x_off;
    dy += dy_off;

    /* Taps and channels past the end repeat the last one (in bounds, never
     * stored). */
    int xoff[TJ], hoff[TJ], woff[TJ], krow[TM];
    int wmin = INT_MAX, wmax = INT_MIN;
#pragma unroll
    for (int t = 0; t < TJ; t++) {
        const int j = min(j0 + t, CRS - 1);
        xoff[t] = j / RS * HW;
        hoff[t] = j % RS / S * dil_h - pad_top;
        woff[t] = j % S * dil_w - pad_left;
        wmin = min(wmin, woff[t]);
        wmax = max(wmax, woff[t]);
    }
#pragma unroll
    for (int m = 0; m < TM; m++)
        krow[m] = min(k0 + m, K - 1) * PQ;

    /* Column blocks [b_lo, b_hi) are full (QV columns inside Q) and read only
     * columns inside [0, W) for every tap; the stride-2 window reads one
     * element past its last lane. */
    const int step = QV * stride_w;
    const int reach = (QV - 1) * stride_w + (sw == 2 ? 1 : 0) + wmax;
    const int b_lo = wmin >= 0 ? 0 : (-wmin + step - 1) / step;
    const int b_hi = W - 1 - reach < 0 ? 0 : min((W - 1 - reach) / step + 1, Q / QV);
    const int nblk = (Q + QV - 1) / QV;

    /* the masks of the first border blocks of an inside row */
    IVEC mask[MASKED_BLOCKS * TJ];
    for (int b = 0, slot = 0; b < nblk && slot < MASKED_BLOCKS; b++) {
        if (b == b_lo)
            b = max(b_lo, b_hi);
        if (b >= nblk)
            break;
#pragma unroll
        for (int t = 0; t < TJ; t++)
            mask[slot * TJ + t] = border_mask(b * QV * stride_w + woff[t], b * QV, W, Q, stride_w);
        slot++;
    }

    VEC acc[TM * TJ];
#pragma unroll
    for (int i = 0; i < TM * TJ; i++)
        acc[i] = (VEC)(0.0f);

    const int CHW = C * HW, KPQ = K * PQ;
    const int row_end = min(NP, (split + 1) * rows_per_split);
    int n = split * rows_per_split / P, p = split * rows_per_split % P;
    for (int g = split * rows_per_split; g < row_end; g++) {
        /* x index of column 0 of each tap's input row in this output row */
        int row[TJ];
        int inside = 1;
#pragma unroll
        for (int t = 0; t < TJ; t++) {
            const int h = p * stride_h + hoff[t];
            inside &= (uint)h < (uint)H;
            row[t] = (uint)h < (uint)H ? n * CHW + xoff[t] + h * W : -1;
        }
        const int dyrow = n * KPQ + p * Q;
        const int lo = inside ? b_lo : nblk, hi = inside ? max(b_lo, b_hi) : nblk;

        for (int b = lo; b < hi; b++) {
            const int q0 = b * QV;
            VEC gv[TM];
#pragma unroll
            for (int m = 0; m < TM; m++)
                gv[m] = VLOAD(0, dy + dyrow + krow[m] + q0);
#pragma unroll
            for (int t = 0; t < TJ; t++) {
                const VEC xv = load_fast(x, row[t] + q0 * stride_w + woff[t], sw, stride_w);
#pragma unroll
                for (int m = 0; m < TM; m++)
                    acc[m * TJ + t] = fma(gv[m], xv, acc[m * TJ + t]);
            }
        }

        /* the other blocks, with lanes past Q or outside the row masked */
        int slot = 0;
        for (int b = 0; b < nblk; b++, slot++) {
            if (b == lo)
                b = hi;
            if (b >= nblk)
                break;
            const int q0 = b * QV;
            const IVEC qok = (IOTA + (IVEC)(q0)) < (IVEC)(Q);
            const int full = q0 + QV <= Q;
            VEC gv[TM];
#pragma unroll
            for (int m = 0; m < TM; m++) {
                const int idx = dyrow + krow[m] + q0;
                gv[m] = full ? VLOAD(0, dy + idx) : load_masked(dy, idx, N * KPQ, qok);
            }
#pragma unroll
            for (int t = 0; t < TJ; t++) {
                if (row[t] < 0)
                    continue;
                const int col0 = q0 * stride_w + woff[t];
                const IVEC ok = slot < MASKED_BLOCKS && lo == b_lo
                                    ? mask[slot * TJ + t]
                                    : border_mask(col0, q0, W, Q, stride_w);
                const VEC xv = load_border(x, row[t], col0, W, N * CHW, ok, sw, stride_w);
#pragma unroll
                for (int m = 0; m < TM; m++)
                    acc[m * TJ + t] = fma(gv[m], xv, acc[m * TJ + t]);
            }
        }
        if (++p == P) {
            p = 0;
            n++;
        }
    }

    out += out_off + split * split_stride;
#pragma unroll
    for (int m = 0; m < TM; m++)
#pragma unroll
        for (int t = 0; t < TJ; t++)
            if (k0 + m < K && j0 + t < CRS) {
                const int i = (k0 + m) * CRS + j0 + t;
                const float v = hsum(acc[m * TJ + t]);
                out[i] = accumulate ? out[i] + v : v;
            }
}

#define BWD_FILTER_KERNEL(name, sw)                                                            \
    __kernel void name(__global const float *x, int x_off, __global const float *dy,           \
                       int dy_off, __global float *out, int out_off, int N, int C, int H,      \
                       int W, int K, int R, int S, int P, int Q, int pad_top, int pad_left,    \
                       int stride_h, int stride_w, int dil_h, int dil_w, int rows_per_split,   \
                       int split_stride, int accumulate)                                       \
    {                                                                                          \
        bwd_filter(x, x_off, dy, dy_off, out, out_off, N, C, H, W, K, R, S, P, Q, pad_top,     \
                   pad_left, stride_h, stride_w, dil_h, dil_w, rows_per_split, split_stride,   \
                   accumulate, sw);                                                            \
    }

#if defined(ROWS) && ROWS == 1
BWD_FILTER_KERNEL(conv2d_bwd_filter_s1, 1)
#elif defined(ROWS) && ROWS == 2
BWD_FILTER_KERNEL(conv2d_bwd_filter_s2, 2)
#elif defined(ROWS)
BWD_FILTER_KERNEL(conv2d_bwd_filter_sn, 0)
#endif

__kernel void conv2d_bwd_bias(__global const float *dy, int dy_off, __global float *out,
                              int out_off, int N, int K, int P, int Q, int rows_per_split,
                              int split_stride, int accumulate)
{
    const int k = (int)get_global_id(0);
    const int split = (int)get_global_id(1);
    const int NP = N * P;
    if (k >= K || split * rows_per_split >= NP)
        return;
    const int row_end = min(NP, (split + 1) * rows_per_split);
    float16 acc = (float16)(0.0f);
    float tail = 0.0f;
    /* the rows of one image are contiguous: sum them as one run */
    for (int g = split * rows_per_split; g < row_end;) {
        const int n = g / P, p = g % P;
        const int rows = min(row_end - g, P - p);
        const __global float *d = dy + dy_off + (n * K + k) * P * Q + p * Q;
        const int len = rows * Q;
        int i = 0;
        for (; i + 16 <= len; i += 16)
            acc += vload16(0, d + i);
        for (; i < len; i++)
            tail += d[i];
        g += rows;
    }
    const float8 a = acc.lo + acc.hi;
    const float4 b = a.lo + a.hi;
    const float2 c = b.lo + b.hi;
    const float v = c.x + c.y + tail;
    const int i = out_off + split * split_stride + k;
    out[i] = accumulate ? out[i] + v : v;
}

__kernel void conv2d_bwd_reduce(__global const float *part, int part_off, int splits,
                                int split_stride, int count, __global float *dw, int dw_off,
                                int dw_count, __global float *db, int db_off)
{
    const int i = (int)get_global_id(0);
    if (i >= count)
        return;
    float v = 0.0f;
    for (int s = 0; s < splits; s++)
        v += part[part_off + s * split_stride + i];
    if (i < dw_count)
        dw[dw_off + i] += v;
    else
        db[db_off + i - dw_count] += v;
}
