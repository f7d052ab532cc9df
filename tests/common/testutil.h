/*
 * Helpers shared by the Check suites: the device-or-skip rule, one shared
 * context per test executable, seeded random data and element-wise
 * comparison against a float64 reference.
 */
#ifndef CLCNN_TESTUTIL_H
#define CLCNN_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "clcnn.h"

/* Runs the suite in this process (no fork: one OpenCL context serves every
 * test) and returns the exit status for meson: 0, 1 on failures, or 77 when
 * no OpenCL device exists and CLCNN_REQUIRE_DEVICE is not 1. */
int tu_main(Suite *suite);

/* The executable's shared context (created by tu_main). */
clcnn_context *tu_ctx(void);

/* A small, fast, seeded generator (splitmix64), so failures reproduce. */
typedef struct tu_rng {
    uint64_t state;
} tu_rng;

tu_rng tu_rng_make(uint64_t seed);
double tu_uniform(tu_rng *rng, double lo, double hi);
/* Fills p[0..n) with uniform values in [lo, hi). */
void tu_fill(tu_rng *rng, float *p, size_t n, float lo, float hi);
/* Uniform values in [lo, hi) whose magnitude is at least margin (away from
 * the kinks of ReLU-like functions). */
void tu_fill_away_from_zero(tu_rng *rng, float *p, size_t n, float lo, float hi, float margin);

/* malloc that fails the test on NULL. */
void *tu_alloc(size_t bytes);

/* Creates an (n,c,h,w) tensor in the shared context, filled from data when
 * data is not NULL; fails the test on error. */
clcnn_tensor *tu_tensor(int n, int c, int h, int w, const float *data);
/* Reads t into a new host array (free it). */
float *tu_read(const clcnn_tensor *t);

/*
 * Fails the test unless |got[i] - ref[i]| <= atol + rtol * |ref[i]| for every
 * i, and every got[i] is finite. The message names what, the seed, the first
 * bad index and the largest errors. Also fails if ref is all zeros, because a
 * comparison against zeros proves little.
 */
void tu_compare(const char *what, uint64_t seed, const float *got, const double *ref, size_t n,
                double rtol, double atol);

/* Asserts that status equals expected and, for a failure, that the context
 * recorded a non-empty message. */
#define tu_expect_status(status, expected)                                                     \
    do {                                                                                       \
        clcnn_status got_ = (status);                                                          \
        ck_assert_msg(got_ == (expected), "expected %s, got %s: %s",                           \
                      clcnn_status_name(expected), clcnn_status_name(got_),                    \
                      clcnn_last_error(tu_ctx()));                                             \
        if ((expected) != CLCNN_OK)                                                            \
            ck_assert_msg(clcnn_last_error(tu_ctx())[0] != '\0', "no error message recorded"); \
    } while (0)

/* The bundled MNIST split `which` ("train" or "t10k") from
 * $CLCNN_SOURCE_DIR/data/mnist, its first keep images (0: all). */
clcnn_dataset *tu_mnist(const char *which, size_t keep);

/* A fresh run's training state: seeded generator, cosine schedule from lr
 * over epochs. */
clcnn_train_state tu_train_state(unsigned long long seed, int batch, float lr, long epochs);

/* Fails the test unless the shared context's last error mentions needle. */
void tu_expect_message(const char *needle);

#define tu_ok(status) tu_expect_status((status), CLCNN_OK)

/*
 * Small-shapes mode, CLCNN_TEST_SMALL=1: for slow devices such as the
 * oclgrind simulator (tests/oclgrind.sh). Suites keep every algorithm,
 * variant and geometry but skip their largest shapes: a case whose work
 * (multiply-adds, or elements for element-wise ops) exceeds TU_SMALL_WORK
 * returns early when tu_too_big(work) says so.
 */
#define TU_SMALL_WORK 100000.0
int tu_small(void);
int tu_too_big(double work);

#endif /* CLCNN_TESTUTIL_H */
