/*
 * kernels/common.cl: put in front of every kernel source when a program is
 * built, so that the vector helpers are written once. A file sets VW, its
 * vector width (2, 4, 8 or 16), after this text; the macros below expand
 * where they are used, so they follow it.
 *
 *   VEC, IVEC, UVEC      floatVW, intVW, uintVW
 *   VLOAD, VSTORE        vloadVW, vstoreVW
 *   IOTA                 (intVW)(0, 1, ..., VW - 1)
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
