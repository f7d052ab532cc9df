/*
 * The device's FP32 multiply-add rate, for `clcnn bench --peak` and the
 * "% of peak" column of `clcnn bench`: chains of independent mad() on
 * vectors, no memory traffic in the loop.
 *
 * -D options (optional):
 *   VW      vector width of each chain: 1, 2, 4, 8 or 16 (default 8)
 *   CHAINS  independent chains per work-item: 1, 2, 4, 8, 12 or 16, enough
 *           to cover the latency of the FMA pipes (default 8)
 *
 * peak_mad: each work-item runs `iters` rounds; a round does one mad per
 *   chain, i.e. 2 * VW * CHAINS floating-point operations. a = a * m + c
 *   with m just below 1 keeps every value finite and never denormal. The
 *   lanes' sum goes to out[out_off + global id] so that nothing is dead.
 *   args: out (one float per work-item), out_off, iters, m, c.
 */
#ifndef VW
#define VW 8
#endif
#ifndef CHAINS
#define CHAINS 8
#endif

#if VW == 1
typedef float vec;
#define SUM_LANES(v) (v)
#elif VW == 2
typedef float2 vec;
#define SUM_LANES(v) ((v).s0 + (v).s1)
#elif VW == 4
typedef float4 vec;
#define SUM_LANES(v) ((v).s0 + (v).s1 + (v).s2 + (v).s3)
#elif VW == 8
typedef float8 vec;
#define SUM_LANES(v) (SUM4((v).lo) + SUM4((v).hi))
#elif VW == 16
typedef float16 vec;
#define SUM_LANES(v) (SUM4((v).lo.lo) + SUM4((v).lo.hi) + SUM4((v).hi.lo) + SUM4((v).hi.hi))
#else
#error "VW must be 1, 2, 4, 8 or 16"
#endif
#if CHAINS != 1 && CHAINS != 2 && CHAINS != 4 && CHAINS != 8 && CHAINS != 12 && CHAINS != 16
#error "CHAINS must be 1, 2, 4, 8, 12 or 16"
#endif
#define SUM4(v) ((v).s0 + (v).s1 + (v).s2 + (v).s3)

/* The chains are named variables, not an array, so that they live in
 * registers whatever the compiler does with arrays. */
#define CHAIN_STEP(a) a = mad(a, mv, cv)

__kernel void peak_mad(__global float *out, int out_off, int iters, float m, float c)
{
    const int gid = get_global_id(0);
    const vec mv = (vec)m, cv = (vec)c;
    const float base = (float)gid * 1e-3f;
    vec a0 = (vec)(base), a1 = (vec)(base + 1e-4f), a2 = (vec)(base + 2e-4f);
    vec a3 = (vec)(base + 3e-4f), a4 = (vec)(base + 4e-4f), a5 = (vec)(base + 5e-4f);
    vec a6 = (vec)(base + 6e-4f), a7 = (vec)(base + 7e-4f), a8 = (vec)(base + 8e-4f);
    vec a9 = (vec)(base + 9e-4f), a10 = (vec)(base + 1e-3f), a11 = (vec)(base + 1.1e-3f);
    vec a12 = (vec)(base + 1.2e-3f), a13 = (vec)(base + 1.3e-3f);
    vec a14 = (vec)(base + 1.4e-3f), a15 = (vec)(base + 1.5e-3f);
    for (int i = 0; i < iters; i++) {
        CHAIN_STEP(a0);
#if CHAINS > 1
        CHAIN_STEP(a1);
#endif
#if CHAINS > 2
        CHAIN_STEP(a2);
        CHAIN_STEP(a3);
#endif
#if CHAINS > 4
        CHAIN_STEP(a4);
        CHAIN_STEP(a5);
        CHAIN_STEP(a6);
        CHAIN_STEP(a7);
#endif
#if CHAINS > 8
        CHAIN_STEP(a8);
        CHAIN_STEP(a9);
        CHAIN_STEP(a10);
        CHAIN_STEP(a11);
#endif
#if CHAINS > 12
        CHAIN_STEP(a12);
        CHAIN_STEP(a13);
        CHAIN_STEP(a14);
        CHAIN_STEP(a15);
#endif
    }
    /* chains that did not run keep their start values: summing them is harmless */
    const vec total = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) +
                      ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15));
    out[out_off + gid] = SUM_LANES(total);
}
