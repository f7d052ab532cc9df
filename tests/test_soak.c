/*
 * Soak: LeNet-5 trained epoch after epoch, and contexts, networks and
 * tensors created and destroyed again and again; the process's resident
 * memory and the library's count of what it holds (clcnn_context_live_objects)
 * must stay flat. The default is a short mode for the suite; CLCNN_SOAK=long
 * runs 30 epochs on the 10,000 bundled images and 1,000 of each object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"
#include "testutil.h"

static int long_mode(void)
{
    const char *v = getenv("CLCNN_SOAK");
    return v && strcmp(v, "long") == 0;
}

/* Resident memory of this process, in KiB. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static clcnn_live_objects live(clcnn_context *ctx)
{
    clcnn_live_objects o;
    tu_ok(clcnn_context_live_objects(ctx, &o));
    return o;
}

static void same_objects(const char *when, clcnn_live_objects a, clcnn_live_objects b)
{
    ck_assert_msg(a.tensors == b.tensors && a.nets == b.nets && a.buffers == b.buffers &&
                      a.programs == b.programs && a.kernels == b.kernels &&
                      a.tensor_bytes == b.tensor_bytes,
                  "%s: live objects went from %ld tensors, %ld nets, %ld buffers, %ld programs, "
                  "%ld kernels, %llu bytes to %ld, %ld, %ld, %ld, %ld, %llu",
                  when, a.tensors, a.nets, a.buffers, a.programs, a.kernels, a.tensor_bytes,
                  b.tensors, b.nets, b.buffers, b.programs, b.kernels, b.tensor_bytes);
}

/* Under AddressSanitizer freed memory waits in a quarantine, so resident
 * memory grows by design; LeakSanitizer checks the same there instead. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANINGFUL 0
#else
#define RSS_MEANINGFUL 1
#endif

/* Growth past the first rounds, when caches and pools have filled, must stay
 * within slack: a leak of a batch's buffers or of a context would pass it at
 * once. */
static void flat_rss(const char *what, long first, long last, long slack_kib)
{
    printf("%-34s RSS %ld KiB after the first round, %ld KiB after the last (%+ld)%s\n", what,
           first, last, last - first, RSS_MEANINGFUL ? "" : " (not checked: sanitizer)");
    ck_assert_msg(!RSS_MEANINGFUL || last - first <= slack_kib,
                  "%s: resident memory grew by %ld KiB (allowed %ld)", what, last - first,
                  slack_kib);
}

START_TEST(test_training_is_flat)
{
    const int epochs = long_mode() ? 30 : 4;
    clcnn_dataset *ds = tu_mnist("train", long_mode() ? 0 : 2000);
    clcnn_context *ctx = tu_ctx();
    clcnn_live_objects before = live(ctx);
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(ctx, "lenet5", 32, 1, 28, 28, &net));
    clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 0.002f};
    tu_ok(clcnn_net_set_optimizer(net, &adam));
    clcnn_train_state state = tu_train_state(1, 32, 0.002f, epochs);
    clcnn_train_options options = {.max_shift = 2};
    long rss_first = 0;
    clcnn_live_objects first = {0};
    for (int e = 0; e < epochs; e++) {
        tu_ok(clcnn_train_epoch(net, ds, &options, &state, NULL));
        float accuracy;
        tu_ok(clcnn_evaluate(net, ds, CLCNN_MNIST_MEAN, CLCNN_MNIST_STD, &accuracy, NULL));
        if (e == 0) {
            rss_first = rss_kib();
            first = live(ctx);
        }
        if (e == 0 || e + 1 == epochs)
            printf("epoch %2d: RSS %ld KiB, %ld tensors, %ld buffers, %ld programs, %ld kernels "
                   "live, accuracy %.4f\n",
                   e + 1, rss_kib(), live(ctx).tensors, live(ctx).buffers, live(ctx).programs,
                   live(ctx).kernels, (double)accuracy);
    }
    same_objects("training", first, live(ctx));
    flat_rss("training", rss_first, rss_kib(), 4096);
    clcnn_net_destroy(net);
    clcnn_live_objects after = live(ctx);
    ck_assert_int_eq(after.tensors, before.tensors);
    ck_assert_int_eq(after.nets, before.nets);
    ck_assert_uint_eq(after.tensor_bytes, before.tensor_bytes);
    clcnn_dataset_destroy(ds);
}
END_TEST

START_TEST(test_churn_is_flat)
{
    const int contexts = long_mode() ? 1000 : 20, nets = long_mode() ? 1000 : 50;
    const int tensors = long_mode() ? 1000 : 200;
    float x[2 * 3 * 5 * 7];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)i / 7.0f - 10.0f;

    /* contexts: each built, used for one op (its program comes from the disk
     * cache) and destroyed */
    long rss_first = 0;
    for (int i = 0; i < contexts; i++) {
        clcnn_context *ctx = NULL;
        char err[512];
        tu_ok(clcnn_context_create(NULL, &ctx, err, sizeof err));
        clcnn_tensor *t = NULL;
        ck_assert_int_eq(clcnn_tensor_create(ctx, 2, 3, 5, 7, &t), CLCNN_OK);
        ck_assert_int_eq(clcnn_tensor_write(t, x, sizeof x / sizeof x[0]), CLCNN_OK);
        ck_assert_int_eq(clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, t, t), CLCNN_OK);
        clcnn_live_objects o;
        ck_assert_int_eq(clcnn_context_live_objects(ctx, &o), CLCNN_OK);
        ck_assert(o.tensors == 1 && o.buffers >= 1 && o.programs >= 1);
        clcnn_tensor_destroy(t);
        ck_assert_int_eq(clcnn_context_live_objects(ctx, &o), CLCNN_OK);
        ck_assert(o.tensors == 0 && o.tensor_bytes == 0);
        clcnn_context_destroy(ctx);
        if (i == contexts / 10)
            rss_first = rss_kib();
    }
    flat_rss("contexts created and destroyed", rss_first, rss_kib(), 8192);

    /* networks and tensors in one context */
    clcnn_context *ctx = tu_ctx();
    clcnn_live_objects before = live(ctx);
    float probs[4 * 10];
    float images[4 * 28 * 28];
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        images[i] = (float)(i % 29) / 29.0f;
    for (int i = 0; i < nets; i++) {
        clcnn_net *net = NULL;
        tu_ok(clcnn_net_create(ctx, "lenet5", 4, 1, 28, 28, &net));
        tu_ok(clcnn_net_predict(net, images, 4, probs));
        clcnn_net_destroy(net);
        if (i == nets / 10) {
            rss_first = rss_kib();
            before = live(ctx);
        }
    }
    same_objects("networks", before, live(ctx));
    flat_rss("networks created and destroyed", rss_first, rss_kib(), 4096);
    for (int i = 0; i < tensors; i++) {
        clcnn_tensor *t = NULL, *slice = NULL;
        tu_ok(clcnn_tensor_create(ctx, 1 + i % 2, 3, 5, 7, &t));
        tu_ok(clcnn_tensor_write(t, x, (size_t)(1 + i % 2) * 3 * 5 * 7));
        tu_ok(clcnn__tensor_slice(t, 0, 1, 1, 1, 5, &slice));
        clcnn_tensor_destroy(slice);
        clcnn_tensor_destroy(t);
        if (i == tensors / 10)
            rss_first = rss_kib();
    }
    same_objects("tensors", before, live(ctx));
    flat_rss("tensors created and destroyed", rss_first, rss_kib(), 2048);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("soak");
    TCase *tc = tcase_create("soak");
    tcase_set_timeout(tc, 3600);
    tcase_add_test(tc, test_training_is_flat);
    tcase_add_test(tc, test_churn_is_flat);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
