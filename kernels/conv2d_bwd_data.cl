/*
 * kernels/conv2d_bwd_data.cl: conv2d backward-data, gather form.
 *
 * dx[n,c,h,v] = sum over k, r, s of dy[n,k,p,q] * w[k,c,r,s] where
 * h + pad_top - r*dil_h = p*stride_h and v + pad_left - s*dil_w = q*stride_w, with
 * p, q inside the output. The columns a work-item owns all share one phase
 * v mod stride_w, so a tap s either feeds all of its lanes or none, and the lanes read
 * consecutive q: one vector load of dy per (k, r, s) instead of a gather. Where those q
 * run past either end of a dy row, the load still covers the whole window (inside dy)
 * and a select zeroes the lanes outside.
 *
 * Options (all optional, #ifndef defaults):
 *   REPACK_ONLY  build only conv2d_flip_filter and conv2d_pack_rskc (a CPU
 *       runtime compiles every kernel of a program, used or not)
 *   CB  input channels per work-item, the rows of the register block (default 8)
 *   WB  input columns per work-item; also the vector width, so one of 2, 4, 8, 16
 *       (default 16)
 *
 * Work-item (i0, i1, i2): phase = i0 / nblk, blk = i0 % nblk, n = i1 / H, h = i1 % H,
 * c0 = i2 * CB. It computes dx[n, c0 .. c0+CB, h, v_i] for the WB columns
 * v_i = phase + (blk * WB + i) * stride_w that are < W, with CB floatWB accumulators
 * over s, r, k. Any work-group size works.
 *
 * conv2d_bwd_data reads the filter packed as wp (R,S,K,C) (conv2d_pack_rskc), so that
 * its inner loop over k walks the filter with one constant stride and reads the CB
 * channels of a block as neighbours.
 *
 * Arguments: dy, dy_off (N,K,P,Q); wp, wp_off (R,S,K,C); dx, dx_off (N,C,H,W),
 * overwritten; then N C H W K R S P Q pad_top pad_left stride_h stride_w dil_h dil_w
 * nblk.
 *
 * conv2d_flip_filter: work-item i = kb * ceil(C/16) + cb writes wf[c,k,:,:] (wf is
 * (C,K,R,S)) for a tile of 16 x 16 channels k = 16 kb + .., c = 16 cb + ..,
 * wf[c,k,r,s] = w[k,c,R-1-r,S-1-s], the filter with which the forward kernels compute
 * the backward-data pass of a stride-1 convolution (ceil(K/16) * ceil(C/16)
 * work-items).
 * conv2d_pack_rskc: work-item i = k * ceil(C/16) + b writes wp[:,:,k,16b .. 16b+16)
 * (wp is (R,S,K,C)), wp[r,s,k,c] = w[k,c,r,s] (K * ceil(C/16) work-items). Arguments
 * of both: w, w_off; the output and its offset; K C R S.
 */
#ifndef CB
#define CB 8
#endif
#ifndef WB
#define WB 16
#endif
#if WB != 2 && WB != 4 && WB != 8 && WB != 16
#error "WB must be 2, 4, 8 or 16 (an OpenCL vector width)"
#endif

#define VW WB

/* base[idx + i] for the lanes where ok is set, 0 elsewhere. base[0 .. count) is
 * the whole tensor: a window inside it is one vector load; one that sticks out
 * (the first or last row of the tensor) is read from clamped addresses. */
static INLINE VEC load_masked(const __global float *base, int idx, int count, IVEC ok)
{
    if (idx >= 0 && idx <= count - WB)
        return select((VEC)(0.0f), VLOAD(0, base + idx), ok);
    float lane[WB];
#pragma unroll
    for (int i = 0; i < WB; i++)
        lane[i] = base[clamp(idx + i, 0, count - 1)];
    return select((VEC)(0.0f), VLOAD(0, lane), ok);
}

#ifndef REPACK_ONLY
__kernel void conv2d_bwd_data(__global const float *dy, int dy_off, __global const float *w,
                              int w_off, __global float *dx, int dx_off, int N, int C, int H,
                              int W, int K, int R, int S, int P, int Q, int pad_top,
                              int pad_left, int stride_h, int stride_w, int dil_h, int dil_w,
                              int nblk)
{
    const int phase = (int)get_global_id(0) / nblk;
    const int blk = (int)get_global_id(0) % nblk;
    const int nh = (int)get_global_id(1);
    const int c0 = (int)get_global_id(2) * CB;
    const int v0 = phase + blk * WB * stride_w;
    if (phase >= stride_w || v0 >= W || nh >= N * H || c0 >= C)
        return;
    const int n = nh / H, h = nh % H;
    const int PQ = P * Q, KC = K * C, KPQ = K * PQ;
    dy += dy_off;
    w += w_off;

    /* Channels past C repeat channel C-1 (in bounds, never stored). */
    int wrow[CB];
#pragma unroll
    for (int cb = 0; cb < CB; cb++)
        wrow[cb] = min(c0 + cb, C - 1);

    VEC acc[CB];
#pragma unroll
    for (int cb = 0; cb < CB; cb++)
        acc[cb] = (VEC)(0.0f);

    for (int s = 0; s < S; s++) {
        const int t = v0 + pad_left - s * dil_w;
        if (t % stride_w != 0)
            continue; /* this tap skips the whole phase */
        const int qb = t / stride_w;
        if (qb + WB <= 0 || qb >= Q)
            continue;
        const int interior = qb >= 0 && qb + WB <= Q;
        const IVEC qv = IOTA + (IVEC)(qb);
        const IVEC ok = (qv >= (IVEC)(0)) & (qv < (IVEC)(Q));
        for (int r = 0; r < R; r++) {
            const int u = h + pad_top - r * dil_h;
            if (u % stride_h != 0)
                continue;
            const int p = u / stride_h;
            if ((uint)p >= (uint)P)
                continue;
            const __global float *wrs = w + (r * S + s) * KC;
            const int row = n * KPQ + p * Q + qb;
            if (interior) {
                for (int k = 0; k < K; k++) {
                    const VEC g = VLOAD(0, dy + row + k * PQ);
#pragma unroll
                    for (int cb = 0; cb < CB; cb++)
                        acc[cb] = fma((VEC)(wrs[k * C + wrow[cb]]), g, acc[cb]);
                }
            } else {
                for (int k = 0; k < K; k++) {
                    const VEC g = load_masked(dy, row + k * PQ, N * KPQ, ok);
#pragma unroll
                    for (int cb = 0; cb < CB; cb++)
                        acc[cb] = fma((VEC)(wrs[k * C + wrow[cb]]), g, acc[cb]);
                }
            }
        }
    }

    const int full = stride_w == 1 && v0 + WB <= W;
#pragma unroll
    for (int cb = 0; cb < CB; cb++) {
        const int c = c0 + cb;
        if (c < C) {
            __global float *dxr = dx + dx_off + ((n * C + c) * H + h) * W;
            if (full) {
                VSTORE(acc[cb], 0, dxr + v0);
            } else {
                float lane[WB];
                VSTORE(acc[cb], 0, lane);
                for (int i = 0; i < WB && v0 + i * stride_w < W; i++)
                    dxr[v0 + i * stride_w] = lane[i];
            }
        }
    }
}

#endif

__kernel void conv2d_flip_filter(__global const float *w, int w_off, __global float *wf,
                                 int wf_off, int K, int C, int R, int S)
{
    /* work-item kb * ceil(C / 16) + cb copies the tile of output channels
     * 16 kb .. 16 kb + 15 by input channels 16 cb .. 16 cb + 15: its reads
     * are 16 runs of 16 consecutive slices (one per k) and its writes 16 runs
     * (one per c), where one slice per work-item would read far apart */
    const int cblocks = (C + 15) / 16;
    const int i = (int)get_global_id(0);
    if (i >= (K + 15) / 16 * cblocks)
        return;
    const int RS = R * S, k0 = i / cblocks * 16, c0 = i % cblocks * 16;
    const int kn = min(16, K - k0), cn = min(16, C - c0);
    for (int c = c0; c < c0 + cn; c++)
        for (int k = k0; k < k0 + kn; k++) {
            const __global float *src = w + w_off + (k * C + c) * RS;
            __global float *dst = wf + wf_off + (c * K + k) * RS;
            for (int j = 0; j < RS; j++)
                dst[j] = src[RS - 1 - j];
        }
}

__kernel void conv2d_pack_rskc(__global const float *w, int w_off, __global float *wp,
                               int wp_off, int K, int C, int R, int S)
{
    /* work-item k * ceil(C / 16) + b copies channels 16b .. 16b+15 of output
     * channel k: whole vectors stored, so that no store scatters */
    const int cblocks = (C + 15) / 16;
    const int i = (int)get_global_id(0);
    if (i >= K * cblocks)
        return;
    const int RS = R * S, k = i / cblocks, c0 = i % cblocks * 16, n = min(16, C - c0);
    const __global float *src = w + w_off + (k * C + c0) * RS;
    for (int j = 0; j < RS; j++) {
        __global float *dst = wp + wp_off + (j * K + k) * C + c0;
        if (n == 16) {
            float16 v;
            v.s0 = src[j], v.s1 = src[RS + j], v.s2 = src[2 * RS + j];
            v.s3 = src[3 * RS + j], v.s4 = src[4 * RS + j], v.s5 = src[5 * RS + j];
            v.s6 = src[6 * RS + j], v.s7 = src[7 * RS + j], v.s8 = src[8 * RS + j];
            v.s9 = src[9 * RS + j], v.sa = src[10 * RS + j], v.sb = src[11 * RS + j];
            v.sc = src[12 * RS + j], v.sd = src[13 * RS + j], v.se = src[14 * RS + j];
            v.sf = src[15 * RS + j];
            vstore16(v, 0, dst);
        } else {
            for (int c = 0; c < n; c++)
                dst[c] = src[c * RS + j];
        }
    }
}
