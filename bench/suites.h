/*
 * The benchmark cases: every convolution layer that `clcnn bench`, `clcnn
 * tune`, bench/compare_torch.py (through `clcnn bench --list --json`) and the
 * tests time or check, described once (suite, layer name, shape, FLOP count),
 * so that they cannot drift apart. Plain C: no OpenCL, no clcnn context.
 */
#ifndef CLCNN_BENCH_SUITES_H
#define CLCNN_BENCH_SUITES_H

#include <stddef.h>

/* One convolution layer; the batch N is chosen per device (bench_case_batch). */
typedef struct bench_case {
    const char *suite; /* "lenet", "convnet", "soumith", "vgg", "resnet" */
    const char *layer; /* unique over all suites, e.g. "vgg-64@56" */
    int C, H, W, K, R, S;
    int stride, pad; /* the same on both axes and sides; dilation 1 */
} bench_case;

/* The passes each case is timed in. */
typedef enum bench_pass {
    BENCH_PASS_FWD = 0,
    BENCH_PASS_BWD_DATA = 1,
    BENCH_PASS_BWD_FILTER = 2,
    BENCH_PASS_COUNT
} bench_pass;

/* "fwd", "bwd-data", "bwd-filter". */
const char *bench_pass_name(bench_pass pass);

/* At most this many cases: callers size their selection arrays with it. */
#define BENCH_MAX_CASES 64

/* Every case, suite by suite, and their number. */
const bench_case *bench_cases(size_t *count);

/* The suite names, NULL-terminated: "lenet", "convnet", "soumith", "vgg", "resnet". */
const char *const *bench_suite_names(void);

/* Output height P and width Q of the case. */
int bench_case_p(const bench_case *c);
int bench_case_q(const bench_case *c);

/*
 * Floating-point operations of one pass for one image: 2*K*P*Q*C*R*S, the
 * multiply-adds of the convolution, counted the same for all three passes
 * (the backward passes do the same products in another order; bias terms
 * are not counted).
 */
double bench_case_flop(const bench_case *c);

/*
 * The default batch: the power of two nearest to the count that makes a
 * pass about target_gflop GFLOP (clamped to [1, 1024]), then halved until
 * the largest of the case's tensors (x, y and their gradients) fits in
 * max_tensor_bytes (0: no limit). On a 2-core CPU device 2 GFLOP is a pass
 * of tens of milliseconds; `clcnn bench` asks for 40 on GPUs.
 */
int bench_case_batch(const bench_case *c, double target_gflop,
                     unsigned long long max_tensor_bytes);

/*
 * Selects cases: suites and layers are comma-separated lists of names
 * (NULL or "all": every one). selected[i] (BENCH_MAX_CASES entries) is set
 * to 1 for each chosen case of bench_cases() and 0 for the others. Returns
 * the number selected, or -1 when a name matches no suite or layer; *bad
 * then points at the offending name (inside the given text, up to the next
 * comma).
 */
int bench_select(const char *suites, const char *layers, unsigned char *selected,
                 const char **bad);

#endif /* CLCNN_BENCH_SUITES_H */
