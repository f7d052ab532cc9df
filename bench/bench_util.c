/* Helpers shared by the benchmarks (see bench_util.h). */
#include "bench_util.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

double bench_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double bench_min(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

bench_rng bench_rng_make(uint64_t seed)
{
    bench_rng r = {seed * 0x9e3779b97f4a7c15ull + 1};
    return r;
}

static uint64_t next_u64(bench_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double bench_uniform(bench_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(next_u64(rng) >> 11) / 9007199254740992.0);
}

int bench_below(bench_rng *rng, int n)
{
    return (int)(next_u64(rng) % (uint64_t)n);
}

void bench_fill(bench_rng *rng, float *p, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)bench_uniform(rng, lo, hi);
}
