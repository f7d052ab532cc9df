/*
 * The seeded generator behind shuffling and initialisation: xoshiro256** (Blackman and
 * Vigna), seeded through splitmix64. The state lives in the caller's clcnn_rng, so a run
 * and a resumed run that saved it draw the same numbers.
 */
#include <stdint.h>

#include "runtime.h"

_Static_assert(sizeof(unsigned long long) == 8, "clcnn_rng assumes 64-bit unsigned long long");

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64 spreads any seed, 0 included, over the 256-bit state; its outputs for
 * consecutive counters are distinct, so the state is never all zeros. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void clcnn_rng_seed(clcnn_rng *rng, unsigned long long seed)
{
    if (!rng)
        return;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

unsigned long long clcnn_rng_next(clcnn_rng *rng)
{
    if (!rng)
        return 0;
    unsigned long long *s = rng->s;
    /* All zeros is the one state xoshiro never leaves (it would return 0
     * forever, and a permutation would never end): a zeroed generator that
     * was never seeded. It starts as if seeded with 0. */
    if (!(s[0] | s[1] | s[2] | s[3]))
        clcnn_rng_seed(rng, 0);
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double clcnn_rng_uniform(clcnn_rng *rng)
{
    /* The top 53 bits fill a double's mantissa exactly, so 1.0 is never reached. */
    return (double)(clcnn_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, range) without modulo bias: draws below 2^64 mod range are rejected, so
 * the accepted ones cover a whole number of copies of [0, range). */
static uint64_t bounded(clcnn_rng *rng, uint64_t range)
{
    uint64_t threshold = (0 - range) % range;
    for (;;) {
        uint64_t x = clcnn_rng_next(rng);
        if (x >= threshold)
            return x % range;
    }
}

void clcnn_rng_permutation(clcnn_rng *rng, size_t *perm, size_t n)
{
    if (!rng || !perm)
        return;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)bounded(rng, i);
        size_t tmp = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = tmp;
    }
}
