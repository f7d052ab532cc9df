/*
 * General matrix multiply for clcnn: C = alpha * op(A) op(B) + beta * C
 * (+ bias), row-major, register-blocked in explicit vector types.
 *
 * -D options (all optional):
 *   TM       rows of C per work-item, 1..8                  (default 4)
 *   TN       columns of C per work-item: 2, 4, 8 or 16      (default 8)
 *   TRANS_A  1: A is stored (K,M) with row stride lda, else (M,K)  (0)
 *   TRANS_B  1: B is stored (N,K) with row stride ldb, else (K,N)  (0)
 *   DOT      with TRANS_B and not TRANS_A, the dot-product form below
 *            with K walked DOT elements at a time: 8 or 16, or 0 (off) (0)
 *
 * gemm: work-item (gx, gy) computes the TM x TN block of C at rows
 *   gy*TM.., columns gx*TN.., holding TM accumulators of type floatTN and
 *   adding one fma of a broadcast A element and a row of B per row and k.
 *   No local memory and no barriers, so any work-group shape works: 1x1
 *   suits a CPU (PoCL), larger groups a GPU.
 *   With B transposed (C = A B^T, as a dense layer's forward pass), rows of
 *   A and of B both run along K, so the broadcast form would gather B one
 *   scalar at a time; the DOT form instead keeps TM x TN vectors of partial
 *   dot products, loads DOT contiguous elements of each row of A and B per
 *   step, and adds each vector's lanes at the end (a different order of
 *   the same sum). Blocks that stick out past M
 *   or N clamp their loads to the last row/column and skip those stores.
 *   args: M, N, K, alpha, beta (beta == 0: C is not read), A, a_off, lda,
 *   B, b_off, ldb, C, c_off, ldc, bias, bias_off, bias_mode (0 none,
 *   1 bias[j] per column, 2 bias[i] per row), epilogue (bit 0: ReLU of the
 *   result; bit 1: zero the result where mask <= 0), mask, mask_off, ldm
 *   (an (M,N) matrix; any buffer without bit 1).
 *
 * gemm_colsum: work-item j computes out[j] = beta * out[j] + sum_i A[i][j]
 *   over an (M,N) matrix (the bias gradient of a dense layer).
 *   args: M, N, beta, A, a_off, lda, out, out_off.
 */

#ifndef TM
#define TM 4
#endif
#ifndef TN
#define TN 8
#endif
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif

#ifndef DOT
#define DOT 0
#endif

#if TM < 1 || TM > 8
#error "TM must be in 1..8"
#endif
#if DOT != 0 && DOT != 8 && DOT != 16
#error "DOT must be 0, 8 or 16"
#endif
#define DOT_FORM (DOT != 0 && TRANS_B && !TRANS_A)

#if DOT == 16
#define DVEC float16
#define DLOAD vload16
/* the sum of a float16's lanes */
#define HSUM(v) hsum8((v).lo + (v).hi)
#else
#define DVEC float8
#define DLOAD vload8
#define HSUM(v) hsum8(v)
#endif

static float hsum8(float8 v)
{
    float4 h = v.lo + v.hi;
    float2 q = h.lo + h.hi;
    return q.x + q.y;
}

#if TN != 2 && TN != 4 && TN != 8 && TN != 16
#error "TN must be 2, 4, 8 or 16"
#endif
#define VW TN

/* The first n columns of a row's block at the right edge, with the
 * epilogue (bias NULL: none). Out of line: TM inlined copies of its loop
 * made the kernel slower to compile, and only edge blocks call it. */
static __attribute__((noinline)) void store_partial(VEC v, int n, float beta,
                                                    __global const float *bias, int epilogue,
                                                    __global const float *m_row,
                                                    __global float *c_row)
{
    float out[TN];
    VSTORE(v, 0, out);
    for (int t = 0; t < n; t++) {
        float o = out[t];
        if (bias)
            o += bias[t];
        if (beta != 0.0f)
            o = fma(beta, c_row[t], o);
        if ((epilogue & 1) && !(o > 0.0f))
            o = 0.0f;
        if ((epilogue & 2) && !(m_row[t] > 0.0f))
            o = 0.0f;
        c_row[t] = o;
    }
}

__kernel void gemm(int M, int N, int K, float alpha, float beta, __global const float *A,
                   int a_off, int lda, __global const float *B, int b_off, int ldb,
                   __global float *C, int c_off, int ldc, __global const float *bias,
                   int bias_off, int bias_mode, int epilogue, __global const float *mask,
                   int mask_off, int ldm)
{
    const int j0 = get_global_id(0) * TN;
    const int i0 = get_global_id(1) * TM;
    if (i0 >= M || j0 >= N)
        return;
    A += a_off;
    B += b_off;
    C += c_off;

    /* A(i, k) = a_row[r][k * a_step]; clamped rows keep the k loop
     * branch-free, their results are dropped at the store. */
    __global const float *a_row[TM];
#pragma unroll
    for (int r = 0; r < TM; r++) {
        int i = min(i0 + r, M - 1);
        a_row[r] = A + (TRANS_A ? i : i * lda);
    }
    const int a_step = TRANS_A ? lda : 1;

    VEC acc[TM];
#pragma unroll
    for (int r = 0; r < TM; r++)
        acc[r] = (VEC)(0.0f);

#if DOT_FORM
    {
        __global const float *b_row[TN];
#pragma unroll
        for (int t = 0; t < TN; t++)
            b_row[t] = B + min(j0 + t, N - 1) * ldb;
        DVEC part[TM][TN];
#pragma unroll
        for (int r = 0; r < TM; r++)
#pragma unroll
            for (int t = 0; t < TN; t++)
                part[r][t] = (DVEC)(0.0f);
        int k = 0;
        for (; k + DOT <= K; k += DOT) {
            DVEC a[TM], b[TN];
#pragma unroll
            for (int r = 0; r < TM; r++)
                a[r] = DLOAD(0, a_row[r] + k);
#pragma unroll
            for (int t = 0; t < TN; t++)
                b[t] = DLOAD(0, b_row[t] + k);
#pragma unroll
            for (int r = 0; r < TM; r++)
#pragma unroll
                for (int t = 0; t < TN; t++)
                    part[r][t] = fma(a[r], b[t], part[r][t]);
        }
        /* the rest of K: one float8 step when walking by 16, then scalars */
        float tail[TM][TN];
#pragma unroll
        for (int r = 0; r < TM; r++)
#pragma unroll
            for (int t = 0; t < TN; t++)
                tail[r][t] = 0.0f;
#if DOT == 16
        if (k + 8 <= K) {
            float8 a[TM], b[TN];
#pragma unroll
            for (int r = 0; r < TM; r++)
                a[r] = vload8(0, a_row[r] + k);
#pragma unroll
            for (int t = 0; t < TN; t++)
                b[t] = vload8(0, b_row[t] + k);
#pragma unroll
            for (int r = 0; r < TM; r++)
#pragma unroll
                for (int t = 0; t < TN; t++)
                    tail[r][t] = hsum8(a[r] * b[t]);
            k += 8;
        }
#endif
        for (; k < K; k++) {
            float a[TM], b[TN];
#pragma unroll
            for (int r = 0; r < TM; r++)
                a[r] = a_row[r][k];
#pragma unroll
            for (int t = 0; t < TN; t++)
                b[t] = b_row[t][k];
#pragma unroll
            for (int r = 0; r < TM; r++)
#pragma unroll
                for (int t = 0; t < TN; t++)
                    tail[r][t] = fma(a[r], b[t], tail[r][t]);
        }
#pragma unroll
        for (int r = 0; r < TM; r++) {
            float sums[TN];
#pragma unroll
            for (int t = 0; t < TN; t++)
                sums[t] = HSUM(part[r][t]) + tail[r][t];
            acc[r] = VLOAD(0, sums);
        }
    }
#else
    if (!TRANS_B && j0 + TN <= N) {
        /* A whole row of the block of B is contiguous: one vector load. */
        __global const float *b_ptr = B + j0;
        for (int k = 0; k < K; k++) {
            VEC b = VLOAD(0, b_ptr + k * ldb);
#pragma unroll
            for (int r = 0; r < TM; r++)
                acc[r] = fma((VEC)(a_row[r][k * a_step]), b, acc[r]);
        }
    } else {
        /* B transposed or the right edge: gather TN scalars per k. */
        __global const float *b_col[TN];
#pragma unroll
        for (int t = 0; t < TN; t++) {
            int j = min(j0 + t, N - 1);
            b_col[t] = B + (TRANS_B ? j * ldb : j);
        }
        const int b_step = TRANS_B ? 1 : ldb;
        for (int k = 0; k < K; k++) {
            float bt[TN];
#pragma unroll
            for (int t = 0; t < TN; t++)
                bt[t] = b_col[t][k * b_step];
            VEC b = VLOAD(0, bt);
#pragma unroll
            for (int r = 0; r < TM; r++)
                acc[r] = fma((VEC)(a_row[r][k * a_step]), b, acc[r]);
        }
    }
#endif

    const int full = j0 + TN <= N;
#pragma unroll
    for (int r = 0; r < TM; r++) {
        const int i = i0 + r;
        if (i >= M)
            break;
        VEC v = alpha * acc[r];
        if (bias_mode == 2)
            v += bias[bias_off + i];
        __global float *c_row = C + i * ldc + j0;
        __global const float *m_row = mask + mask_off + i * ldm + j0;
        if (full) {
            if (bias_mode == 1)
                v += VLOAD(0, bias + bias_off + j0);
            if (beta != 0.0f)
                v = fma((VEC)(beta), VLOAD(0, c_row), v);
            if (epilogue & 1)
                v = select((VEC)(0.0f), v, v > (VEC)(0.0f));
            if (epilogue & 2)
                v = select((VEC)(0.0f), v, VLOAD(0, m_row) > (VEC)(0.0f));
            VSTORE(v, 0, c_row);
        } else
            store_partial(v, N - j0, beta, bias_mode == 1 ? bias + bias_off + j0 : NULL,
                          epilogue, m_row, c_row);
    }
}

__kernel void gemm_colsum(int M, int N, float beta, __global const float *A, int a_off,
                          int lda, __global float *out, int out_off)
{
    const int j = get_global_id(0);
    if (j >= N)
        return;
    __global const float *a = A + a_off + j;
    float s = 0.0f;
    for (int i = 0; i < M; i++)
        s += a[i * lda];
    if (beta != 0.0f)
        s = fma(beta, out[out_off + j], s);
    out[out_off + j] = s;
}
