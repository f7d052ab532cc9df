/* Helpers shared by the benchmarks (see bench_util.h). */
#include "bench_util.h"

#include <math.h>
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

void bench_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* ---- convolution checks ---- */

static size_t xi(const bench_conv_geom *g, int n, int c, int h, int w)
{
    return (((size_t)n * g->C + c) * g->H + h) * g->W + w;
}

static size_t wi(const bench_conv_geom *g, int k, int c, int r, int s)
{
    return (((size_t)k * g->C + c) * g->R + r) * g->S + s;
}

static size_t yi(const bench_conv_geom *g, int n, int k, int p, int q)
{
    return (((size_t)n * g->K + k) * g->P + p) * g->Q + q;
}

static double rel_error(double got, double sum, double scale)
{
    if (!isfinite(got))
        return INFINITY;
    return fabs(got - sum) / (scale + 1e-30);
}

double bench_check_conv2d_forward(const bench_conv_geom *g, const float *x, const float *w,
                                  const float *b, const float *y, int samples, uint64_t seed)
{
    bench_rng rng = bench_rng_make(seed);
    double worst = 0;
    for (int i = 0; i < samples; i++) {
        int n = bench_below(&rng, g->N), k = bench_below(&rng, g->K);
        int p = bench_below(&rng, g->P), q = bench_below(&rng, g->Q);
        double sum = b ? b[k] : 0, scale = fabs(sum);
        for (int c = 0; c < g->C; c++)
            for (int r = 0; r < g->R; r++) {
                int h = p * g->stride_h - g->pad_top + r * g->dil_h;
                if (h < 0 || h >= g->H)
                    continue;
                for (int s = 0; s < g->S; s++) {
                    int v = q * g->stride_w - g->pad_left + s * g->dil_w;
                    if (v < 0 || v >= g->W)
                        continue;
                    double t = (double)x[xi(g, n, c, h, v)] * w[wi(g, k, c, r, s)];
                    sum += t;
                    scale += fabs(t);
                }
            }
        worst = fmax(worst, rel_error(y[yi(g, n, k, p, q)], sum, scale));
    }
    return worst;
}

double bench_check_conv2d_backward_data(const bench_conv_geom *g, const float *dy,
                                        const float *w, const float *dx, int samples,
                                        uint64_t seed)
{
    bench_rng rng = bench_rng_make(seed);
    double worst = 0;
    for (int i = 0; i < samples; i++) {
        int n = bench_below(&rng, g->N), c = bench_below(&rng, g->C);
        int h = bench_below(&rng, g->H), v = bench_below(&rng, g->W);
        double sum = 0, scale = 0;
        for (int r = 0; r < g->R; r++) {
            int u = h + g->pad_top - r * g->dil_h; /* = p * stride_h */
            if (u < 0 || u % g->stride_h || u / g->stride_h >= g->P)
                continue;
            for (int s = 0; s < g->S; s++) {
                int t = v + g->pad_left - s * g->dil_w;
                if (t < 0 || t % g->stride_w || t / g->stride_w >= g->Q)
                    continue;
                for (int k = 0; k < g->K; k++) {
                    double term = (double)dy[yi(g, n, k, u / g->stride_h, t / g->stride_w)] *
                                  w[wi(g, k, c, r, s)];
                    sum += term;
                    scale += fabs(term);
                }
            }
        }
        worst = fmax(worst, rel_error(dx[xi(g, n, c, h, v)], sum, scale));
    }
    return worst;
}

double bench_check_conv2d_backward_filter(const bench_conv_geom *g, const float *x,
                                          const float *dy, const float *dw, const float *db,
                                          int samples, uint64_t seed)
{
    bench_rng rng = bench_rng_make(seed);
    double worst = 0;
    for (int i = 0; i < samples; i++) {
        int k = bench_below(&rng, g->K), c = bench_below(&rng, g->C);
        int r = bench_below(&rng, g->R), s = bench_below(&rng, g->S);
        double sum = 0, scale = 0;
        for (int n = 0; n < g->N; n++)
            for (int p = 0; p < g->P; p++) {
                int h = p * g->stride_h - g->pad_top + r * g->dil_h;
                if (h < 0 || h >= g->H)
                    continue;
                for (int q = 0; q < g->Q; q++) {
                    int v = q * g->stride_w - g->pad_left + s * g->dil_w;
                    if (v < 0 || v >= g->W)
                        continue;
                    double t = (double)dy[yi(g, n, k, p, q)] * x[xi(g, n, c, h, v)];
                    sum += t;
                    scale += fabs(t);
                }
            }
        worst = fmax(worst, rel_error(dw[wi(g, k, c, r, s)], sum, scale));
    }
    for (int i = 0; db && i < samples && i < g->K; i++) {
        int k = g->K <= samples ? i : bench_below(&rng, g->K);
        double sum = 0, scale = 0;
        for (int n = 0; n < g->N; n++)
            for (size_t j = 0; j < (size_t)g->P * g->Q; j++) {
                double t = dy[yi(g, n, k, 0, 0) + j];
                sum += t;
                scale += fabs(t);
            }
        worst = fmax(worst, rel_error(db[k], sum, scale));
    }
    return worst;
}

/*
 * Rounding in a float32 sum of n terms grows like sqrt(n) for random signs
 * (and the kernels sum in blocks, which keeps it there); 1e-5 covers the
 * few-thousand-term sums of most layers, and the bound widens beyond. A
 * wrong index or a missing term gives errors of order 1e-2 to 1, far above.
 */
double bench_conv2d_tolerance(double terms)
{
    return fmax(1e-5, 4 * 5.96e-8 * sqrt(terms > 0 ? terms : 1));
}
