/*
 * kernels/common.cl: put in front of every kernel source when a program is
 * built, so that the vector helpers are written once. A file sets VW, its
 * vector width (2, 4, 8 or 16), after this text; the macros below expand
 * where they are used, so they follow it.
 *
 *   VEC, IVEC, UVEC      floatVW, intVW, uintVW
 *   VLOAD, VSTORE        vloadVW, vstoreVW
 *   IOTA                 (intVW)(0, 1, ..., VW - 1)
 *
 * and, whatever VW, PREFETCH, PREFETCH_W and INLINE (below).
 */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC CAT(float, VW)
#define IVEC CAT(int, VW)
#define UVEC CAT(uint, VW)
#define VLOAD CAT(vload, VW)
#define VSTORE CAT(vstore, VW)
#define IOTA CAT(IOTA_, VW)
#define IOTA_2 ((int2)(0, 1))
#define IOTA_4 ((int4)(0, 1, 2, 3))
#define IOTA_8 ((int8)(0, 1, 2, 3, 4, 5, 6, 7))
#define IOTA_16 ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))

/* PREFETCH(p), PREFETCH_W(p): fetch the cache line at p ahead of a read, or
 * of a write. OpenCL's prefetch() does nothing in PoCL, so on x86 CPU
 * runtimes these are the compiler's prefetch instructions; elsewhere nothing. */
#if defined(__x86_64__) || defined(__i386__)
#define PREFETCH(p) __builtin_prefetch(p)
#define PREFETCH_W(p) __builtin_prefetch(p, 1)
#else
#define PREFETCH(p) ((void)(p))
#define PREFETCH_W(p) ((void)(p))
#endif

/* INLINE: for the small helpers inside hot loops, which PoCL's compiler
 * otherwise may leave as calls (the implicit GEMM's masked load was one:
 * VGG 64@56 forward 295 -> 334 GFLOP/s once inlined). */
#define INLINE inline __attribute__((always_inline))
