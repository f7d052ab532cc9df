/*
 * kernels/gemm_tiled.cl: the GPU family's one kernel, a matrix product
 * C (M x N) = A (M x KD) B (KD x N) tiled the way GPU GEMMs are: a work-group
 * computes a BM x BN tile of C from BK-deep stages of A and B staged in local
 * memory, double-buffered (the next stage is loaded while the current one
 * is multiplied, one barrier per stage), and each work-item accumulates an
 * RM x RN register block. For GPUs (NVIDIA, AMD, Intel through their OpenCL
 * drivers); PoCL runs it too (local memory and barriers), slowly, which is
 * how the tests check it on a CPU.
 *
 * The same product is four operations, by MODE:
 *   0  a plain batched GEMM: C[b] = alpha op(A[b]) op(B[b]) + beta C[b]
 *      (+ bias per row or column, ReLU, a ReLU-backward mask), b = group z
 *   1  conv2d forward, an implicit GEMM: A = w (K x C*R*S), B = im2col(x)
 *      (C*R*S x N*P*Q) gathered as it is loaded, C = y (+ bias, ReLU)
 *   2  conv2d backward-data: A = w read as (C x K*R*S), B = dy gathered at
 *      the output pixel each (k, r, s) tap of input pixel (n, h, w) came
 *      from (zero where none did: strides, padding), C = dx (N*H*W columns)
 *   3  conv2d backward-filter: A = dy (K x N*P*Q), B = im2col(x)^T
 *      (N*P*Q x C*R*S), C = dw, added to (accumulate) or stored as one
 *      split's partial sums when the reduction is split over group z
 *
 * -D options (#ifndef defaults):
 *   BM, BN   rows and columns of C per work-group (64, 64)
 *   BK       depth of a stage (16)
 *   RM, RN   rows and columns of C per work-item (4, 4); the work-group is
 *            (BN/RN) x (BM/RM) work-items, launched with exactly that local
 *            size (reqd_work_group_size)
 *   MODE     0..3 above (0)
 *   TRANS_A, TRANS_B  mode 0: A is stored (KD x M), B (N x KD) (0, 0)
 * BM*BK and BK*BN must be multiples of the work-group size, which must fit
 * CL_KERNEL_WORK_GROUP_SIZE, and 8*BK*(BM+BN+2) bytes of local memory must
 * fit the device: the host checks both before it launches.
 *
 * Work-item (tx, ty) of group (gx, gy) owns rows gy*BM + ty + i*(BM/RM) and
 * columns gx*BN + tx + j*(BN/RN) of C (i < RM, j < RN): interleaved, so that
 * neighbouring work-items read neighbouring local words and store
 * neighbouring columns. Loads run along the dimension contiguous in memory
 * (coalesced; scalar, since an implicit GEMM's gathers are not vectors);
 * elements past M, N or the reduction are loaded as 0 and never stored, so
 * no edge needs a special case and nothing is read or written out of bounds.
 * Every work-item runs the same number of stages: no barrier is divergent.
 *
 * Arguments, mode 0: M N KD alpha beta (beta 0: C is not read); A a_off lda
 *   a_stride; B b_off ldb b_stride; C c_off ldc c_stride (strides between
 *   batches); bias bias_off bias_mode (0 none, 1 per column, 2 per row);
 *   epilogue (bit 0 ReLU, bit 1 zero where mask <= 0); mask mask_off ldm.
 * Modes 1-3: A a_off; B b_off; C c_off; bias bias_off (mode 1, read when bit
 *   0 of epilogue is set; bit 1 applies ReLU; mode 3: bit 0 accumulates);
 *   epilogue; N C H W K R S P Q pad_top pad_left stride_h stride_w dil_h
 *   dil_w; k_per_split (a multiple of BK) and split_stride (mode 3: group z
 *   sums reduction rows [z*k_per_split, ...) into C + z*split_stride).
 */
#ifndef BM
#define BM 64
#endif
#ifndef BN
#define BN 64
#endif
#ifndef BK
#define BK 16
#endif
#ifndef RM
#define RM 4
#endif
#ifndef RN
#define RN 4
#endif
#ifndef MODE
#define MODE 0
#endif
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif

#define WX (BN / RN)
#define WY (BM / RM)
#define WG (WX * WY)
#if BM % RM || BN % RN || (BM * BK) % WG || (BK * BN) % WG
#error "BM, BN must be multiples of RM, RN and BM*BK, BK*BN of the work-group size"
#endif
/* local rows padded by one word: the loads write along k, the products
 * read along m and n */
#define LDA_L (BM + 1)
#define LDB_L (BN + 1)

/* Whether consecutive reduction indices are consecutive in memory, so the
 * loads run along k (else along m or n). */
#if MODE == 0
#define A_K_FAST (!TRANS_A)
#define B_K_FAST (TRANS_B)
#else
#define A_K_FAST 1
#define B_K_FAST (MODE == 3)
#endif

#if MODE == 0
#define MODE_ARGS                                                                              \
    int M, int NC, int KD, float alpha, float beta, __global const float *A, int a_off,        \
        int lda, int a_stride, __global const float *B, int b_off, int ldb, int b_stride,     \
        __global float *Cm, int c_off, int ldc, int c_stride, __global const float *bias,     \
        int bias_off, int bias_mode, int epilogue, __global const float *mask, int mask_off,  \
        int ldm
#else
#define MODE_ARGS                                                                              \
    __global const float *A, int a_off, __global const float *B, int b_off, __global float *Cm, \
        int c_off, __global const float *bias, int bias_off, int epilogue, int N, int C,      \
        int H, int W, int K, int R, int S, int P, int Q, int pad_top, int pad_left,           \
        int stride_h, int stride_w, int dil_h, int dil_w, int k_per_split, int split_stride
#endif

/* x[n, c, h, w] of tap (c, r, s) = t of output pixel (n, p, q) = o, or 0 in
 * the padding: one element of im2col(x). */
#if MODE == 1 || MODE == 3
static INLINE float im2col_at(__global const float *x, int t, int o, int C, int H, int W,
                              int R, int S, int P, int Q, int pad_top, int pad_left,
                              int stride_h, int stride_w, int dil_h, int dil_w)
{
    const int c = t / (R * S), rs = t % (R * S);
    const int n = o / (P * Q), pq = o % (P * Q);
    const int h = (pq / Q) * stride_h - pad_top + (rs / S) * dil_h;
    const int w = (pq % Q) * stride_w - pad_left + (rs % S) * dil_w;
    return h >= 0 && h < H && w >= 0 && w < W ? x[((n * C + c) * H + h) * W + w] : 0.0f;
}
#endif

/* dy[n, k, p, q] for tap (k, r, s) = t of input pixel (n, h, w) = o, where
 * h = p*stride_h - pad_top + r*dil_h (likewise w), or 0 where no output
 * pixel reaches (h, w) through this tap. */
#if MODE == 2
static INLINE float col2im_at(__global const float *dy, int t, int o, int K, int H, int W,
                              int R, int S, int P, int Q, int pad_top, int pad_left,
                              int stride_h, int stride_w, int dil_h, int dil_w)
{
    const int k = t / (R * S), rs = t % (R * S);
    const int n = o / (H * W), hw = o % (H * W);
    const int ph = hw / W + pad_top - (rs / S) * dil_h;
    const int qw = hw % W + pad_left - (rs % S) * dil_w;
    if (ph < 0 || qw < 0)
        return 0.0f;
    const int p = ph / stride_h, q = qw / stride_w;
    return p * stride_h == ph && q * stride_w == qw && p < P && q < Q
               ? dy[((n * K + k) * P + p) * Q + q]
               : 0.0f;
}
#endif

__kernel __attribute__((reqd_work_group_size(WX, WY, 1))) void gemm_tiled(MODE_ARGS)
{
    __local float As[2 * BK * LDA_L];
    __local float Bs[2 * BK * LDB_L];
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
    const int tid = ty * WX + tx;
    const int m0 = (int)get_group_id(1) * BM, n0 = (int)get_group_id(0) * BN;
    const int z = (int)get_group_id(2);

#if MODE == 0
    A += a_off + z * a_stride;
    B += b_off + z * b_stride;
    const int kbeg = 0, kend = KD;
#else
    A += a_off;
    B += b_off;
#if MODE == 1
    const int M = K, NC = N * P * Q, KD = C * R * S;
#elif MODE == 2
    const int M = C, NC = N * H * W, KD = K * R * S;
#else
    const int M = K, NC = C * R * S, KD = N * P * Q;
#endif
    const int kbeg = z * k_per_split, kend = min(KD, kbeg + k_per_split);
#endif

    /* A's element (m, k) and B's element (k, n), both in range */
#if MODE == 0
#define A_AT(m, k) (TRANS_A ? A[(k) * lda + (m)] : A[(m) * lda + (k)])
#define B_AT(k, n) (TRANS_B ? B[(n) * ldb + (k)] : B[(k) * ldb + (n)])
#elif MODE == 1
#define A_AT(m, k) A[(m) * KD + (k)]
#define B_AT(k, n)                                                                             \
    im2col_at(B, k, n, C, H, W, R, S, P, Q, pad_top, pad_left, stride_h, stride_w, dil_h, dil_w)
#elif MODE == 2
#define A_AT(m, k) A[(((k) / (R * S)) * C + (m)) * R * S + (k) % (R * S)]
#define B_AT(k, n)                                                                             \
    col2im_at(B, k, n, K, H, W, R, S, P, Q, pad_top, pad_left, stride_h, stride_w, dil_h, dil_w)
#else
#define A_AT(m, k) A[(((k) / (P * Q)) * K + (m)) * P * Q + (k) % (P * Q)]
#define B_AT(k, n)                                                                             \
    im2col_at(B, n, k, C, H, W, R, S, P, Q, pad_top, pad_left, stride_h, stride_w, dil_h, dil_w)
#endif

    /* Stage k0 of A and B into buffer `buf` of the local tiles. */
#define LOAD_STAGE(buf, k0)                                                                    \
    do {                                                                                       \
        __local float *as_ = As + (buf) * BK * LDA_L;                                          \
        __local float *bs_ = Bs + (buf) * BK * LDB_L;                                          \
        for (int e_ = 0; e_ < BM * BK / WG; e_++)                           \
        {                                                                                      \
            const int i_ = tid + e_ * WG;                                                      \
            const int kl_ = A_K_FAST ? i_ % BK : i_ / BM, ml_ = A_K_FAST ? i_ / BK : i_ % BM;  \
            const int m_ = m0 + ml_, k_ = (k0) + kl_;                                          \
            as_[kl_ * LDA_L + ml_] = m_ < M && k_ < kend ? A_AT(m_, k_) : 0.0f;                \
        }                                                                                      \
        for (int e_ = 0; e_ < BK * BN / WG; e_++)                           \
        {                                                                                      \
            const int i_ = tid + e_ * WG;                                                      \
            const int kl_ = B_K_FAST ? i_ % BK : i_ / BN, nl_ = B_K_FAST ? i_ / BK : i_ % BN;  \
            const int n_ = n0 + nl_, k_ = (k0) + kl_;                                          \
            bs_[kl_ * LDB_L + nl_] = n_ < NC && k_ < kend ? B_AT(k_, n_) : 0.0f;               \
        }                                                                                      \
    } while (0)

    float acc[RM][RN];
#pragma unroll
    for (int i = 0; i < RM; i++)
#pragma unroll
        for (int j = 0; j < RN; j++)
            acc[i][j] = 0.0f;

    const int stages = kend > kbeg ? (kend - kbeg + BK - 1) / BK : 0;
    LOAD_STAGE(0, kbeg);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int st = 0; st < stages; st++) {
        const int cur = st & 1;
        if (st + 1 < stages) /* the same for the whole group */
            LOAD_STAGE(cur ^ 1, kbeg + (st + 1) * BK);
        const __local float *as = As + cur * BK * LDA_L + ty;
        const __local float *bs = Bs + cur * BK * LDB_L + tx;
#pragma unroll
        for (int k = 0; k < BK; k++) {
            float a[RM], b[RN];
#pragma unroll
            for (int i = 0; i < RM; i++)
                a[i] = as[k * LDA_L + i * WY];
#pragma unroll
            for (int j = 0; j < RN; j++)
                b[j] = bs[k * LDB_L + j * WX];
#pragma unroll
            for (int i = 0; i < RM; i++)
#pragma unroll
                for (int j = 0; j < RN; j++)
                    acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        /* the stage just read is loaded again two stages on */
        barrier(CLK_LOCAL_MEM_FENCE);
    }

#pragma unroll
    for (int i = 0; i < RM; i++) {
        const int m = m0 + ty + i * WY;
        if (m >= M)
            continue;
#pragma unroll
        for (int j = 0; j < RN; j++) {
            const int n = n0 + tx + j * WX;
            if (n >= NC)
                continue;
            float v = acc[i][j];
#if MODE == 0
            __global float *c = Cm + c_off + z * c_stride + m * ldc + n;
            v *= alpha;
            if (beta != 0.0f)
                v = fma(beta, *c, v);
            if (bias_mode == 1)
                v += bias[bias_off + n];
            else if (bias_mode == 2)
                v += bias[bias_off + m];
            if (epilogue & 1)
                v = v > 0.0f ? v : 0.0f;
            if ((epilogue & 2) && !(mask[mask_off + m * ldm + n] > 0.0f))
                v = 0.0f;
            *c = v;
#elif MODE == 1
            if (epilogue & 1)
                v += bias[bias_off + m];
            if (epilogue & 2)
                v = v > 0.0f ? v : 0.0f;
            Cm[c_off + ((n / (P * Q)) * K + m) * P * Q + n % (P * Q)] = v;
#elif MODE == 2
            Cm[c_off + ((n / (H * W)) * C + m) * H * W + n % (H * W)] = v;
#else
            __global float *c = Cm + c_off + z * split_stride + m * NC + n;
            *c = (epilogue & 1) ? *c + v : v;
#endif
        }
    }
}
