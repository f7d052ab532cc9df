/* Shared helpers of the Check suites (see testutil.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static clcnn_context *shared_ctx;

clcnn_context *tu_ctx(void)
{
    return shared_ctx;
}

int tu_main(Suite *suite)
{
    char err[1024];
    clcnn_status st = clcnn_context_create(NULL, &shared_ctx, err, sizeof err);
    if (st != CLCNN_OK) {
        const char *require = getenv("CLCNN_REQUIRE_DEVICE");
        int required = require && strcmp(require, "1") == 0;
        fprintf(stderr, "%s: no OpenCL context (%s): %s\n", required ? "FAIL" : "SKIP",
                clcnn_status_name(st), err);
        srunner_free(srunner_create(suite));
        return required ? 1 : 77;
    }
    clcnn_device_info info;
    clcnn_context_device(shared_ctx, &info);
    printf("device: %s (%s), %s kernels\n", info.device_name, info.platform_name,
           clcnn_context_kernels(shared_ctx) == CLCNN_KERNELS_GPU ? "gpu" : "cpu");
    SRunner *sr = srunner_create(suite);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    clcnn_context_destroy(shared_ctx);
    shared_ctx = NULL;
    return failed ? 1 : 0;
}

tu_rng tu_rng_make(uint64_t seed)
{
    tu_rng r = {seed * 0x9e3779b97f4a7c15ull + 1};
    return r;
}

static uint64_t next_u64(tu_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double tu_uniform(tu_rng *rng, double lo, double hi)
{
    double u = (double)(next_u64(rng) >> 11) / 9007199254740992.0;
    return lo + (hi - lo) * u;
}

void tu_fill(tu_rng *rng, float *p, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)tu_uniform(rng, lo, hi);
}

void tu_fill_away_from_zero(tu_rng *rng, float *p, size_t n, float lo, float hi, float margin)
{
    for (size_t i = 0; i < n; i++) {
        float v;
        do
            v = (float)tu_uniform(rng, lo, hi);
        while (fabsf(v) < margin);
        p[i] = v;
    }
}

void *tu_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    ck_assert_msg(p != NULL, "out of host memory (%zu bytes)", bytes);
    return p;
}

clcnn_tensor *tu_tensor(int n, int c, int h, int w, const float *data)
{
    clcnn_tensor *t = NULL;
    tu_ok(clcnn_tensor_create(tu_ctx(), n, c, h, w, &t));
    if (data)
        tu_ok(clcnn_tensor_write(t, data, clcnn_tensor_count(t)));
    return t;
}

float *tu_read(const clcnn_tensor *t)
{
    size_t n = clcnn_tensor_count(t);
    float *p = tu_alloc(n * sizeof *p);
    tu_ok(clcnn_tensor_read(t, p, n));
    return p;
}

void tu_compare(const char *what, uint64_t seed, const float *got, const double *ref, size_t n,
                double rtol, double atol)
{
    size_t bad = 0, first_bad = n, nonzero = 0;
    double max_abs = 0, max_rel = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - ref[i]);
        if (ref[i] != 0.0)
            nonzero++;
        if (!isfinite(got[i]) || !(diff <= atol + rtol * fabs(ref[i]))) {
            if (!bad)
                first_bad = i;
            bad++;
        }
        if (diff > max_abs)
            max_abs = diff;
        if (ref[i] != 0.0 && diff / fabs(ref[i]) > max_rel)
            max_rel = diff / fabs(ref[i]);
    }
    ck_assert_msg(n == 0 || nonzero > 0, "%s (seed %llu): the reference is all zeros", what,
                  (unsigned long long)seed);
    ck_assert_msg(bad == 0,
                  "%s (seed %llu): %zu of %zu elements out of tolerance (rtol %g, atol %g); "
                  "first at %zu: got %.9g, want %.9g; max abs err %.3g, max rel err %.3g",
                  what, (unsigned long long)seed, bad, n, rtol, atol, first_bad,
                  first_bad < n ? (double)got[first_bad] : 0.0,
                  first_bad < n ? ref[first_bad] : 0.0, max_abs, max_rel);
}

int tu_small(void)
{
    const char *v = getenv("CLCNN_TEST_SMALL");
    return v && strcmp(v, "1") == 0;
}

int tu_too_big(double work)
{
    return tu_small() && work > TU_SMALL_WORK;
}

void tu_expect_message(const char *needle)
{
    const char *msg = clcnn_last_error(tu_ctx());
    ck_assert_msg(strstr(msg, needle) != NULL, "message \"%s\" does not mention \"%s\"", msg,
                  needle);
}

clcnn_dataset *tu_mnist(const char *which, size_t keep)
{
    const char *source = getenv("CLCNN_SOURCE_DIR");
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/data/mnist", source && *source ? source : ".");
    clcnn_dataset *ds = NULL;
    clcnn_status st = clcnn_dataset_load_dir(path, which, &ds, err, sizeof err);
    ck_assert_msg(st == CLCNN_OK, "loading MNIST %s: %s", which, err);
    if (keep)
        ck_assert_int_eq(clcnn_dataset_truncate(ds, keep), CLCNN_OK);
    return ds;
}

clcnn_train_state tu_train_state(unsigned long long seed, int batch, float lr, long epochs)
{
    clcnn_train_state s;
    memset(&s, 0, sizeof s);
    s.batch = batch;
    s.seed = seed;
    clcnn_rng_seed(&s.rng, seed);
    s.schedule = (clcnn_lr_params){.kind = CLCNN_LR_COSINE, .base_lr = lr, .total = epochs,
                                   .min_lr = 0};
    return s;
}
