/* The benchmark cases (see suites.h). */
#include "suites.h"

#include <math.h>
#include <string.h>

/*
 * lenet:   LeNet-5's two convolutions (28x28x1 -> 6@5x5 pad 2, pool, 16@5x5).
 * convnet: the Keras MNIST convnet (32@3x3, pool, 64@3x3, pool, 128@3x3).
 * soumith: convnet-benchmarks' layer-wise L1-L5 (stride 1; L5 with pad 1).
 * vgg:     VGG's 3x3 pad-1 layers at four depths.
 * resnet:  ResNet-50's 7x7 stride-2 stem, its 1x1 expansion and reduction,
 *          and its stride-2 downsampling (3x3 and the 1x1 shortcut).
 */
static const bench_case cases[] = {
    {"lenet", "lenet-conv1", 1, 28, 28, 6, 5, 5, 1, 2},
    {"lenet", "lenet-conv2", 6, 14, 14, 16, 5, 5, 1, 0},
    {"convnet", "convnet-conv1", 1, 28, 28, 32, 3, 3, 1, 0},
    {"convnet", "convnet-conv2", 32, 13, 13, 64, 3, 3, 1, 0},
    {"convnet", "convnet-conv3", 64, 5, 5, 128, 3, 3, 1, 0},
    {"soumith", "soumith-L1", 3, 128, 128, 96, 11, 11, 1, 0},
    {"soumith", "soumith-L2", 64, 64, 64, 128, 9, 9, 1, 0},
    {"soumith", "soumith-L3", 128, 32, 32, 128, 9, 9, 1, 0},
    {"soumith", "soumith-L4", 128, 16, 16, 128, 7, 7, 1, 0},
    {"soumith", "soumith-L5", 384, 13, 13, 384, 3, 3, 1, 1},
    {"vgg", "vgg-64@56", 64, 56, 56, 64, 3, 3, 1, 1},
    {"vgg", "vgg-128@28", 128, 28, 28, 128, 3, 3, 1, 1},
    {"vgg", "vgg-256@28", 256, 28, 28, 256, 3, 3, 1, 1},
    {"vgg", "vgg-512@14", 512, 14, 14, 512, 3, 3, 1, 1},
    {"resnet", "resnet-stem", 3, 224, 224, 64, 7, 7, 2, 3},
    {"resnet", "resnet-1x1-64-256", 64, 56, 56, 256, 1, 1, 1, 0},
    {"resnet", "resnet-1x1-256-64", 256, 56, 56, 64, 1, 1, 1, 0},
    {"resnet", "resnet-3x3s2", 128, 56, 56, 128, 3, 3, 2, 1},
    {"resnet", "resnet-1x1s2", 256, 56, 56, 512, 1, 1, 2, 0},
};

_Static_assert(sizeof cases / sizeof cases[0] <= BENCH_MAX_CASES, "raise BENCH_MAX_CASES");

static const char *const suite_names[] = {"lenet", "convnet", "soumith", "vgg", "resnet", NULL};

const char *bench_pass_name(bench_pass pass)
{
    static const char *const names[] = {"fwd", "bwd-data", "bwd-filter"};
    return (unsigned)pass < BENCH_PASS_COUNT ? names[pass] : "?";
}

const bench_case *bench_cases(size_t *count)
{
    *count = sizeof cases / sizeof cases[0];
    return cases;
}

const char *const *bench_suite_names(void)
{
    return suite_names;
}

int bench_case_p(const bench_case *c)
{
    return (c->H + 2 * c->pad - c->R) / c->stride + 1;
}

int bench_case_q(const bench_case *c)
{
    return (c->W + 2 * c->pad - c->S) / c->stride + 1;
}

double bench_case_flop(const bench_case *c)
{
    return 2.0 * c->K * bench_case_p(c) * bench_case_q(c) * c->C * c->R * c->S;
}

int bench_case_batch(const bench_case *c, double target_gflop,
                     unsigned long long max_tensor_bytes)
{
    double want = target_gflop * 1e9 / bench_case_flop(c);
    int batch = want <= 1 ? 1 : (int)fmin(1024, exp2(round(log2(want))));
    double per_image = 4.0 * fmax((double)c->C * c->H * c->W,
                                  (double)c->K * bench_case_p(c) * bench_case_q(c));
    while (batch > 1 && max_tensor_bytes && per_image * batch > (double)max_tensor_bytes)
        batch /= 2;
    return batch;
}

/* Whether name (length len) is in the comma-separated list (NULL, "" or
 * "all": everything). */
static int listed(const char *list, const char *name)
{
    if (!list || !*list || strcmp(list, "all") == 0)
        return 1;
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        p += n + (comma != NULL);
    }
    return 0;
}

/* The first name in list that matches no suite (kind 0) or layer (kind 1). */
static const char *unknown_name(const char *list, int kind)
{
    if (!list || !*list || strcmp(list, "all") == 0)
        return NULL;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        int found = 0;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !found; i++) {
            const char *name = kind ? cases[i].layer : cases[i].suite;
            found = strlen(name) == n && strncmp(p, name, n) == 0;
        }
        if (!found)
            return p;
        p += n + (comma != NULL);
    }
    return NULL;
}

int bench_select(const char *suites, const char *layers, unsigned char *selected,
                 const char **bad)
{
    *bad = unknown_name(suites, 0);
    if (!*bad)
        *bad = unknown_name(layers, 1);
    if (*bad)
        return -1;
    int n = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        selected[i] = listed(suites, cases[i].suite) && listed(layers, cases[i].layer);
        n += selected[i];
    }
    return n;
}
