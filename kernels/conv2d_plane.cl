/*
 * kernels/conv2d_plane.cl: conv2d forward, backward-data and backward-filter
 * for short reductions (first layers, LeNet's second) and, with the flat
 * kernels further down, for small images, stride 1 and dilation 1, on CPUs.
 *
 * With one input channel a work-item of the direct kernel does a few hundred
 * fma's, less than what a CPU runtime spends starting it, and its loops over
 * r and s run a handful of times each. Here the filter size is a compile-time
 * constant, so every loop over taps unrolls, and one work-item sweeps whole
 * output planes (or a band of their rows), or whole images for the backward
 * passes, which it holds in private memory.
 *
 * Options:
 *   PLANE_PASS  the one kernel to build (required): 1 conv2d_fwd_plane, 2
 *           conv2d_bwd_data_plane, 3 conv2d_fwd_flat, 4 conv2d_bwd_filter_flat
 *           (the flat kernels' own options are with them). A CPU runtime
 *           compiles every kernel of a program, and these, unrolled over the
 *           filter, take seconds each: a program holds the one it is built for.
 *   FR, FS  filter rows and columns (required)
 *   CB      input channels (passes 2 to 4; default 1)
 *   KB      output channels per work-item, or per step of the flat forward kernel
 *           (passes 1 and 3; default 8)
 *   PB      output rows per step (pass 1; default 2)
 *   QB      output columns (pixels) per step; also the vector width, so one of 2,
 *           4, 8, 16 (default 16)
 *
 * conv2d_fwd_plane: work-item (i0, i1) computes y[n, k0 .. k0+KB, p, q] for every q
 * and the rows p of band b, n = i0 / bands, b = i0 % bands, k0 = i1 * KB, a band
 * being rows_per_band consecutive rows (a multiple of PB). Each step holds KB x PB
 * floatQB accumulators: every input row vector it loads (PB + FR - 1 rows, FS
 * shifts each) feeds the KB channels of each of the min(PB, FR) output rows it
 * lies under. Blocks whose windows lie inside the row load with vloadQB; at the
 * borders one vector load of the window (inside the tensor) and a select zero the
 * padding lanes.
 *
 * Arguments: x, x_off (N,C,H,W); w, w_off (K,C,FR,FS); b, b_off (K), read only when
 * bit 0 of epilogue is set (then y = conv + b); bit 1 of epilogue applies ReLU
 * after the bias; y, y_off (N,K,P,Q); then N C H W K R S P Q pad_top pad_left
 * stride_h stride_w dil_h dil_w (R = FR, S = FS, strides and dilations 1), bands,
 * rows_per_band. Offsets are in elements.
 */
#ifndef PLANE_PASS
#error "PLANE_PASS (1 to 4, the kernel to build) is required"
#endif
#ifndef FR
#error "FR (filter rows) is required"
#endif
#ifndef FS
#error "FS (filter columns) is required"
#endif
#ifndef KB
#define KB 8
#endif
#ifndef PB
#define PB 2
#endif
#ifndef QB
#define QB 16
#endif
#if QB != 2 && QB != 4 && QB != 8 && QB != 16
#error "QB must be 2, 4, 8 or 16 (an OpenCL vector width)"
#endif

#define VW QB
#define CONVERT_UVEC CAT(convert_uint, QB)

/* Reads a[0 .. count) front to back, so that the caches hold it for the
 * loops that follow: those read one row of each of many planes in turn, an
 * order the hardware prefetcher follows badly once the tensor no longer fits
 * in the caches (Keras conv1 backward-data at batch 1024: 7.4 -> 2.9 ms).
 * The sum goes to a volatile variable, so that the loads are kept. */
static void touch(const __global float *a, int count)
{
    VEC sum = (VEC)(0.0f);
    for (int i = 0; i + QB <= count; i += QB)
        sum += VLOAD(0, a + i);
    volatile float sink = sum.s0;
    (void)sink;
}

/* x[clamp(idx + i, 0, count - 1)] lane by lane: the loads of blocks at the
 * tensor's two ends only. Kept out of line: inlined at every tap, its QB
 * scalar loads made the first-layer kernel take seconds more to compile. */
static __attribute__((noinline)) VEC load_clamped(const __global float *x, int idx, int count)
{
    float lane[QB];
    for (int i = 0; i < QB; i++)
        lane[i] = x[clamp(idx + i, 0, count - 1)];
    return VLOAD(0, lane);
}

/* x[idx + i] for the lanes whose column col + i lies in [0, W), 0 elsewhere;
 * x[0 .. count) is the whole tensor. */
static INLINE VEC load_row(const __global float *x, int idx, int count, int col, int W)
{
    const IVEC colv = IOTA + (IVEC)(col);
    const IVEC ok = (colv >= (IVEC)(0)) & (colv < (IVEC)(W));
    if (idx >= 0 && idx <= count - QB)
        return select((VEC)(0.0f), VLOAD(0, x + idx), ok);
    return select((VEC)(0.0f), load_clamped(x, idx, count), ok);
}

/* a[at .. at + QB) with the lanes not in ok zeroed (a row's last block, whose
 * lanes past the row end read the next row), all of it when full; a[0 ..
 * count) is the whole tensor. */
static INLINE VEC load_block(const __global float *a, int at, int count, int full, IVEC ok)
{
    if (full)
        return VLOAD(0, a + at);
    if (at <= count - QB)
        return select((VEC)(0.0f), VLOAD(0, a + at), ok);
    float lane[QB];
#pragma unroll
    for (int l = 0; l < QB; l++)
        lane[l] = a[min(at + l, count - 1)];
    return select((VEC)(0.0f), VLOAD(0, lane), ok);
}

/* The forward kernels' epilogue: v + bias, ReLU'd when bit 1 of epilogue is
 * set, stored at dst whole, or its first `lanes` lanes only. */
#if PLANE_PASS == 1 || PLANE_PASS == 3
/* The first `lanes` lanes of v to dst; out of line, as load_clamped, since
 * the stores that need it are few and its copies at every store slowed the
 * compile. */
static __attribute__((noinline)) void store_lanes(VEC v, __global float *dst, int lanes)
{
    float lane[QB];
    VSTORE(v, 0, lane);
    for (int l = 0; l < lanes; l++)
        dst[l] = lane[l];
}

static INLINE void store_out(VEC v, float bias, int epilogue, __global float *dst, int whole,
                             int lanes)
{
    v += (VEC)(bias);
    if (epilogue & 2)
        v = select((VEC)(0.0f), v, v > (VEC)(0.0f));
    if (whole)
        VSTORE(v, 0, dst);
    else
        store_lanes(v, dst, lanes);
}
#endif

#if PLANE_PASS == 1
__kernel void conv2d_fwd_plane(__global const float *x, int x_off, __global const float *w,
                               int w_off, __global const float *b, int b_off, int epilogue,
                               __global float *y, int y_off, int N, int C, int H, int W,
                               int K, int R, int S, int P, int Q, int pad_top, int pad_left,
                               int stride_h, int stride_w, int dil_h, int dil_w, int bands,
                               int rows_per_band)
{
    const int nb = (int)get_global_id(0);
    const int k0 = (int)get_global_id(1) * KB;
    if (nb >= N * bands || k0 >= K)
        return;
    const int n = nb / bands;
    const int p_begin = nb % bands * rows_per_band;
    const int p_end = min(p_begin + rows_per_band, P);
    const int count = N * C * H * W;
    x += x_off;
    w += w_off;

    /* Channels past K repeat channel K-1 so that every load stays in bounds;
     * they are not stored. */
    int wrow[KB];
    float bias[KB];
#pragma unroll
    for (int kb = 0; kb < KB; kb++) {
        wrow[kb] = min(k0 + kb, K - 1) * C * FR * FS;
        bias[kb] = epilogue & 1 ? b[b_off + min(k0 + kb, K - 1)] : 0.0f;
    }

    /* The column blocks go right to left, so that a row's last, partial
     * block can be stored whole: its lanes past the row end (the spill) fall
     * on the next row's first block, which this work-item stores afterwards
     * (with one block per row, the next row's block comes later in the same
     * step). A band's last row, whose next row is not this work-item's, and
     * rows shorter than their spill store lane by lane. */
    const int last_q0 = (Q - 1) / QB * QB;
    for (int p0 = p_begin; p0 < p_end; p0 += PB)
        for (int q0 = last_q0; q0 >= 0; q0 -= QB) {
            VEC acc[KB * PB];
#pragma unroll
            for (int i = 0; i < KB * PB; i++)
                acc[i] = (VEC)(0.0f);
            const int col0 = q0 - pad_left;
            const int interior = col0 >= 0 && col0 + QB - 1 + FS - 1 < W;
            for (int c = 0; c < C; c++) {
                const int plane = (n * C + c) * H * W;
                const int wc = c * FR * FS;
                /* not unrolled: unrolling it too (PB + FR - 1 rows of FS x PB x KB
                 * fma's) ran no faster and took PoCL ~6 s more to compile and to
                 * compile again at the first launch */
                for (int i = 0; i < PB + FR - 1; i++) {
                    /* input row i of the block; rows in the padding add nothing */
                    const int h = p0 - pad_top + i;
                    if ((uint)h >= (uint)H)
                        continue;
                    const int row = plane + h * W + col0;
#pragma unroll
                    for (int s = 0; s < FS; s++) {
                        const VEC xv = interior ? VLOAD(0, x + row + s)
                                                : load_row(x, row + s, count, col0 + s, W);
#pragma unroll
                        for (int pb = 0; pb < PB; pb++) {
                            const int r = i - pb;
                            if (r >= 0 && r < FR) {
#pragma unroll
                                for (int kb = 0; kb < KB; kb++)
                                    acc[kb * PB + pb] = fma((VEC)(w[wrow[kb] + wc + r * FS + s]),
                                                            xv, acc[kb * PB + pb]);
                            }
                        }
                    }
                }
            }

            const int full = q0 + QB <= Q, spill = q0 + QB - Q;
#pragma unroll
            for (int kb = 0; kb < KB; kb++)
#pragma unroll
                for (int pb = 0; pb < PB; pb++) {
                    const int k = k0 + kb, p = p0 + pb;
                    if (k >= K || p >= p_end)
                        continue;
                    store_out(acc[kb * PB + pb], bias[kb], epilogue,
                              y + y_off + ((n * K + k) * P + p) * Q + q0,
                              full || (p + 1 < p_end && spill <= Q), Q - q0);
                }
        }
}
#endif

/*
 * conv2d_bwd_data_plane (stride 1, dilation 1, CB = C input channels): work-item n
 * computes dx[n] whole, as the product of the transposed filter and dy folded back
 * onto the image (col2im), in a private zero-padded copy of dx[n]: for each QB-pixel
 * block of an output row it holds CB x FR x FS floatQB sums over the K channels of
 * dy (each dy vector feeding all of them), then adds each sum into the copy at its
 * tap's shift. Nothing needs a mask except the dy loads of a row's last block, and
 * no two work-items write the same element. The copy has (P + FR - 1) rows of
 * (ceil(Q / QB) + 1) * QB columns per channel; the host checks that all of it
 * fits in PLANE_FLOATS and that FS <= QB. Each dy load comes with a prefetch of
 * the same element of image n + 1, the work-item a thread most likely runs
 * next (Keras conv1 at batch 1024: 146 -> 211 GFLOP/s over reading each
 * image ahead of its sums); the first image is read ahead.
 *
 * Arguments: dy, dy_off (N,K,P,Q); w, w_off (K,C,FR,FS); dx, dx_off (N,C,H,W); then N C
 * H W K R S P Q pad_top pad_left stride_h stride_w dil_h dil_w.
 */
#ifndef CB
#define CB 1
#endif
#define PLANE_FLOATS 8192
#define TAPS (CB * FR * FS)

#if PLANE_PASS == 2
__kernel void conv2d_bwd_data_plane(__global const float *dy, int dy_off,
                                    __global const float *w, int w_off, __global float *dx,
                                    int dx_off, int N, int C, int H, int W, int K, int R, int S,
                                    int P, int Q, int pad_top, int pad_left, int stride_h,
                                    int stride_w, int dil_h, int dil_w)
{
    const int n = (int)get_global_id(0);
    if (n >= N)
        return;
    dy += dy_off;
    w += w_off;
    const int BH = P + FR - 1, BW = ((Q + QB - 1) / QB + 1) * QB, BHW = BH * BW;
    const int count = N * K * P * Q;
    float buf[PLANE_FLOATS];
    for (int i = 0; i < CB * BHW; i += QB) /* BW is a multiple of QB */
        VSTORE((VEC)(0.0f), 0, buf + i);
    if (n == 0)
        touch(dy, K * P * Q);

    for (int p = 0; p < P; p++)
        for (int q0 = 0; q0 < Q; q0 += QB) {
            const IVEC ok = IOTA + (IVEC)(q0) < (IVEC)(Q);
            const int full = q0 + QB <= Q;
            VEC acc[TAPS];
#pragma unroll
            for (int j = 0; j < TAPS; j++)
                acc[j] = (VEC)(0.0f);
            for (int k = 0; k < K; k++) {
                const int at = ((n * K + k) * P + p) * Q + q0;
                const VEC d = load_block(dy, at, count, full, ok);
                if (n + 1 < N)
                    PREFETCH(dy + at + K * P * Q);
#pragma unroll
                for (int j = 0; j < TAPS; j++)
                    acc[j] = fma((VEC)(w[k * TAPS + j]), d, acc[j]);
            }
            /* Tap (c, r, s) of output pixel (p, q) lands on dx[c, p + r - pad_top,
             * q + s - pad_left], row p + r and column q + s of the copy. The FS
             * taps of a filter row are shifted into two aligned vectors (lanes
             * [q0, q0 + QB) and [q0 + QB, q0 + 2 QB)) before they are added, since
             * overlapping unaligned read-modify-writes would each wait for the
             * store before them. */
#pragma unroll
            for (int c = 0; c < CB; c++)
#pragma unroll
                for (int r = 0; r < FR; r++) {
                    float *at = buf + c * BHW + (p + r) * BW + q0;
                    VEC lo = VLOAD(0, at), hi = VLOAD(0, at + QB);
#pragma unroll
                    for (int s = 0; s < FS; s++) {
                        const VEC v = acc[(c * FR + r) * FS + s];
                        const UVEC lane = CONVERT_UVEC(IOTA);
                        /* lane i of lo takes v[i - s], of hi v[QB + i - s]; index QB
                         * and above picks the zero vector */
                        lo += shuffle2(v, (VEC)(0.0f),
                                       select((UVEC)(QB), lane - (UVEC)(s), lane >= (UVEC)(s)));
                        hi += shuffle2(v, (VEC)(0.0f),
                                       select((UVEC)(QB), lane + (UVEC)(QB - s),
                                              lane < (UVEC)(s)));
                    }
                    VSTORE(lo, 0, at);
                    VSTORE(hi, 0, at + QB);
                }
        }

    /* the image is the copy without its border: rows pad_top.., columns pad_left.. */
    for (int c = 0; c < CB; c++)
        for (int h = 0; h < H; h++) {
            const float *src = buf + c * BHW + (h + pad_top) * BW + pad_left;
            __global float *dst = dx + dx_off + ((n * CB + c) * H + h) * W;
            int v = 0;
            for (; v + QB <= W; v += QB)
                VSTORE(VLOAD(0, src + v), 0, dst + v);
            for (; v < W; v++)
                dst[v] = src[v];
        }
}
#endif

/*
 * The flat kernels (PLANE_PASS 3 and 4, CB = C input channels) work on the
 * image's im2col matrix, one row of P*Q output pixels per tap, so that the
 * pixels of a plane run on across its rows: a plane of P*Q pixels takes
 * ceil(P*Q / QB) vectors instead of P * ceil(Q / QB) (Keras conv1's
 * 26-pixel rows: 98% of the lanes used instead of 81%), and loads and stores
 * need no masks but at the plane's end. Tap (c, r, s)'s row is row (c, 0,
 * s)'s shifted by r * Q, once that row runs on for FR - 1 more output rows,
 * so only the rows (c, s) are copied to private memory, FR times fewer (the
 * loads of rows r > 0 straddle cache lines, but the copies cost more: LeNet
 * conv2 forward 192 -> 266 GFLOP/s). build_shifted fills the rows (c, s) of
 * the channels [c_begin, c_end), row (c - c_begin, s) at rows + ((c -
 * c_begin) * FS + s) * SS: column j = h * Q + q (h < P + FR - 1) is x[n, c, h
 * - pad_top, q + s - pad_left], 0 outside the image and past the rows, and
 * tap (c, r, s) of output pixel i is column i + r * Q. A row's blocks are
 * stored whole, the spill of a row's last block landing on the next row,
 * written afterwards. FLAT_PQ and FLAT_Q are P*Q and Q.
 */
/* the private floats of either kernel's rows of shifted input */
#define FLAT_FLOATS 49152

#if PLANE_PASS >= 3
#if !defined(FLAT_PQ) || !defined(FLAT_Q)
#error "FLAT_PQ and FLAT_Q (output pixels per plane and per row) are required"
#endif
#define SS (((FLAT_PQ + (FR - 1) * FLAT_Q) + QB - 1) / QB * QB + QB)

static void build_shifted(float *rows, const __global float *x, int n, int N, int H, int W,
                          int pad_top, int pad_left, int c_begin, int c_end)
{
    const int count = N * CB * H * W, Q = FLAT_Q, HB = FLAT_PQ / FLAT_Q + FR - 1;
    for (int c = c_begin; c < c_end; c++)
        for (int s = 0; s < FS; s++) {
            float *dst = rows + ((c - c_begin) * FS + s) * SS;
            for (int hb = 0; hb < HB; hb++) {
                const int h = hb - pad_top;
                const int inside = (uint)h < (uint)H;
                const int row = ((n * CB + c) * H + h) * W + s - pad_left;
                for (int q0 = 0; q0 < Q; q0 += QB)
                    VSTORE(inside ? load_row(x, row + q0, count, q0 + s - pad_left, W)
                                  : (VEC)(0.0f),
                           0, dst + hb * Q + q0);
            }
            for (int i = HB * Q; i < SS; i++)
                dst[i] = 0.0f;
        }
}
#endif

/*
 * conv2d_fwd_flat: work-item (n, i1) computes y[n, k] for k in [i1 *
 * k_per_item, ...), KB channels at a time, each block of QB pixels from the
 * TAPS rows of the image's im2col matrix, read from build_shifted's rows (one
 * vector load per tap feeds KB fma's). The blocks go from the plane's end
 * back to its start, so that the last, partial block of plane k can be
 * stored whole: its spill lands on plane k + 1's first block, stored
 * afterwards, except for the work-item's last plane, whose last block stores
 * lane by lane (the host ensures P*Q >= QB, so the next plane's first block
 * covers the spill).
 *
 * Arguments: as conv2d_fwd_plane's up to dil_w, then k_per_item (a multiple
 * of KB).
 */
#if PLANE_PASS == 3
__kernel void conv2d_fwd_flat(__global const float *x, int x_off, __global const float *w,
                              int w_off, __global const float *b, int b_off, int epilogue,
                              __global float *y, int y_off, int N, int C, int H, int W, int K,
                              int R, int S, int P, int Q, int pad_top, int pad_left,
                              int stride_h, int stride_w, int dil_h, int dil_w, int k_per_item)
{
    const int n = (int)get_global_id(0);
    const int k_begin = (int)get_global_id(1) * k_per_item;
    if (n >= N || k_begin >= K)
        return;
    const int k_end = min(k_begin + k_per_item, K);
    const int PQ = FLAT_PQ;
    float rows[FLAT_FLOATS];
    build_shifted(rows, x + x_off, n, N, H, W, pad_top, pad_left, 0, CB);
    w += w_off;
    __global float *yn = y + y_off + n * K * PQ;

    for (int k0 = k_begin; k0 < k_end; k0 += KB) {
        /* channels past k_end repeat channel k_end-1; they are not stored */
        int wrow[KB];
        float bias[KB];
#pragma unroll
        for (int kb = 0; kb < KB; kb++) {
            wrow[kb] = min(k0 + kb, k_end - 1) * TAPS;
            bias[kb] = epilogue & 1 ? b[b_off + min(k0 + kb, k_end - 1)] : 0.0f;
        }
        for (int i0 = (PQ - 1) / QB * QB; i0 >= 0; i0 -= QB) {
            VEC acc[KB];
#pragma unroll
            for (int kb = 0; kb < KB; kb++)
                acc[kb] = (VEC)(0.0f);
            for (int c = 0; c < CB; c++)
#pragma unroll
                for (int r = 0; r < FR; r++)
#pragma unroll
                    for (int s = 0; s < FS; s++) {
                        const VEC xv = VLOAD(0, rows + (c * FS + s) * SS + r * FLAT_Q + i0);
                        const int t = (c * FR + r) * FS + s;
#pragma unroll
                        for (int kb = 0; kb < KB; kb++)
                            acc[kb] = fma((VEC)(w[wrow[kb] + t]), xv, acc[kb]);
                    }
            const int full = i0 + QB <= PQ;
            if (i0 >= QB)
#pragma unroll
                for (int kb = 0; kb < KB; kb++)
                    PREFETCH_W(yn + min(k0 + kb, k_end - 1) * PQ + i0 - QB);
#pragma unroll
            for (int kb = 0; kb < KB; kb++) {
                const int k = k0 + kb;
                if (k < k_end)
                    store_out(acc[kb], bias[kb], epilogue, yn + k * PQ + i0,
                              full || k + 1 < k_end, PQ - i0);
            }
        }
    }
}
#endif

/*
 * conv2d_bwd_filter_flat (KBLOCKS = ceil(K / TM), GROUPS of TJ taps = ceil(CB *
 * FR * FS / TJ)): work-item (i0, i1) sums dw[all K, the taps of groups [i1 *
 * GPI, (i1 + 1) * GPI)] over the images [i0 * images_per_split, ...) (the
 * split along the first dimension, which a CPU runtime shares out among its
 * threads; GPI groups per item, so that its sums stay in private memory). For
 * each image it builds the shifted rows of the channels its taps belong to
 * (the host checks that they fit), then for each group and each block of TM
 * channels sweeps the dy planes in QB-pixel blocks, TM dy vectors and TJ row
 * vectors making TM x TJ fma's; the channel blocks go in order, so the
 * image's dy is read front to back, and the next image's is fetched as the
 * first group reads it. The sums live in a private array between images and
 * are added across lanes at the end: element (k, j) goes to out[out_off + i0
 * * split_stride + k * C*FR*FS + j], added when accumulate != 0, else stored.
 * The work-items with i1 = 0 also sum db[k] (over dy as they read it) into
 * db[db_off + i0 * split_stride + k], added likewise; db NULL: no bias.
 *
 * Arguments: x, x_off (N,C,H,W); dy, dy_off (N,K,P,Q); out, out_off; then N C H W K
 * R S P Q pad_top pad_left stride_h stride_w dil_h dil_w images_per_split
 * split_stride accumulate; db, db_off.
 */
#ifndef TM
#define TM 2
#endif
#ifndef TJ
#define TJ 9
#endif
#ifndef KBLOCKS
#define KBLOCKS 1
#endif
#define GROUPS ((TAPS + TJ - 1) / TJ)
#ifndef GPI
#define GPI GROUPS
#endif

#if PLANE_PASS == 4
static float lane_sum(VEC v)
{
    float lane[QB];
    VSTORE(v, 0, lane);
    float total = 0.0f;
    for (int l = 0; l < QB; l++)
        total += lane[l];
    return total;
}

/* out[i] = lane_sum(v), or out[i] += it when accumulate != 0 */
static void put_sum(__global float *out, int i, VEC v, int accumulate)
{
    out[i] = accumulate ? out[i] + lane_sum(v) : lane_sum(v);
}
#endif

#if PLANE_PASS == 4
__kernel void conv2d_bwd_filter_flat(__global const float *x, int x_off,
                                     __global const float *dy, int dy_off,
                                     __global float *out, int out_off, int N, int C, int H,
                                     int W, int K, int R, int S, int P, int Q, int pad_top,
                                     int pad_left, int stride_h, int stride_w, int dil_h,
                                     int dil_w, int images_per_split, int split_stride,
                                     int accumulate, __global float *db, int db_off)
{
    const int split = (int)get_global_id(0);
    const int n_begin = split * images_per_split;
    const int grp_begin = (int)get_global_id(1) * GPI;
    if (n_begin >= N || grp_begin >= GROUPS)
        return;
    const int n_end = min(n_begin + images_per_split, N);
    const int grp_end = min(grp_begin + GPI, GROUPS), groups = grp_end - grp_begin;
    x += x_off;
    dy += dy_off;
    const int PQ = FLAT_PQ;
    const int count = N * K * PQ;
    const int c_begin = grp_begin * TJ / (FR * FS);
    const int c_end = (min(grp_end * TJ, TAPS) - 1) / (FR * FS) + 1;
    float rows[FLAT_FLOATS];
    VEC sums[KBLOCKS * GPI * TM * TJ], bias_sums[KBLOCKS * TM];
    for (int i = 0; i < KBLOCKS * GPI * TM * TJ; i++)
        sums[i] = (VEC)(0.0f);
    for (int i = 0; i < KBLOCKS * TM; i++)
        bias_sums[i] = (VEC)(0.0f);

    for (int n = n_begin; n < n_end; n++) {
        if (n == n_begin)
            touch(dy + n * K * PQ, K * PQ);
        build_shifted(rows, x, n, N, H, W, pad_top, pad_left, c_begin, c_end);
        for (int grp = grp_begin; grp < grp_end; grp++) {
            /* where each tap of the group starts in rows; a last group of
             * fewer than TJ taps repeats its last tap, whose sums are not
             * stored */
            int at[TJ];
#pragma unroll
            for (int jj = 0; jj < TJ; jj++) {
                const int t = min(grp * TJ + jj, TAPS - 1);
                const int c = t / (FR * FS), r = t / FS % FR, s = t % FS;
                at[jj] = ((c - c_begin) * FS + s) * SS + r * FLAT_Q;
            }
            /* the first group reads dy first: it sums db and fetches the next
             * image's dy */
            const int first = grp == grp_begin, bias = db && grp == 0;
            for (int kb = 0; kb < KBLOCKS; kb++) {
                /* rows past K repeat row K-1; they are not stored */
                int dyrow[TM];
#pragma unroll
                for (int m = 0; m < TM; m++)
                    dyrow[m] = min(kb * TM + m, K - 1) * PQ;
                VEC *block = sums + (kb * groups + grp - grp_begin) * TM * TJ;
                VEC acc[TM * TJ], bias_acc[TM];
#pragma unroll
                for (int i = 0; i < TM * TJ; i++)
                    acc[i] = block[i];
#pragma unroll
                for (int m = 0; m < TM; m++)
                    bias_acc[m] = bias_sums[kb * TM + m];
                for (int i0 = 0; i0 < PQ; i0 += QB) {
                    const IVEC ok = IOTA + (IVEC)(i0) < (IVEC)(PQ);
                    const int full = i0 + QB <= PQ;
                    VEC d[TM];
#pragma unroll
                    for (int m = 0; m < TM; m++)
                        d[m] = load_block(dy, n * K * PQ + dyrow[m] + i0, count, full, ok);
                    if (first)
#pragma unroll
                        for (int m = 0; m < TM; m++) {
                            if (bias)
                                bias_acc[m] += d[m];
                            if (n + 1 < n_end)
                                PREFETCH(dy + (n + 1) * K * PQ + dyrow[m] + i0);
                        }
#pragma unroll
                    for (int jj = 0; jj < TJ; jj++) {
                        const VEC xv = VLOAD(0, rows + at[jj] + i0);
#pragma unroll
                        for (int m = 0; m < TM; m++)
                            acc[m * TJ + jj] = fma(d[m], xv, acc[m * TJ + jj]);
                    }
                }
#pragma unroll
                for (int i = 0; i < TM * TJ; i++)
                    block[i] = acc[i];
#pragma unroll
                for (int m = 0; m < TM; m++)
                    bias_sums[kb * TM + m] = bias_acc[m];
            }
        }
    }

    /* block (kb, group) holds channels kb * TM + m and taps group * TJ + jj */
    for (int k = 0; k < K; k++)
        for (int j = grp_begin * TJ; j < min(grp_end * TJ, TAPS); j++)
            put_sum(out + out_off + split * split_stride, k * TAPS + j,
                    sums[((k / TM * groups + j / TJ - grp_begin) * TM + k % TM) * TJ + j % TJ],
                    accumulate);
    if (db && grp_begin == 0)
        for (int k = 0; k < K; k++)
            put_sum(db + db_off + split * split_stride, k, bias_sums[k], accumulate);
}
#endif
