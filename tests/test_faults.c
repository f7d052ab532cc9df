/*
 * Faults: the Nth host or device allocation failing inside each
 * representative operation (for N = 1, 2, ... until the operation runs
 * through), a kernel source that does not build, a batch too large for the
 * device, model files that cannot be written, and NaN or infinite values in
 * weights, inputs and training. Every failure must give its documented
 * status and a message, free everything it allocated, and leave the model
 * file that was on disk intact.
 *
 * This executable links the library built with CLCNN_FAULT_INJECTION and
 * defines the hooks that build calls (see host/runtime/runtime.h), so the
 * counters below are the test's, not the library's. Leaks are counted here
 * for every build; under -Db_sanitize=address LeakSanitizer checks the same
 * at exit, OpenCL's own allocations included.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "net.h"
#include "testutil.h"

/* ---- the hooks and their counters ---- */

static long fail_at[2];  /* the allocation to fail, 1-based; 0: none */
static long calls[2];    /* allocations asked for since the sweep step began */
static long injected[2]; /* failures injected since then */
/* allocations made and not yet freed; OpenCL may free a buffer (and so call
 * the hook) from its own thread once the commands using it complete */
static _Atomic long live[2];

static unsigned long long device_bytes_asked; /* by every device allocation */

int clcnn__fault_fail(int kind, size_t bytes)
{
    if (kind == CLCNN__FAULT_DEVICE)
        device_bytes_asked += bytes;
    calls[kind]++;
    if (fail_at[kind] && calls[kind] == fail_at[kind]) {
        injected[kind]++;
        return 1;
    }
    return 0;
}

void clcnn__fault_track(int kind, int delta)
{
    live[kind] += delta;
}

static const char *const kind_names[2] = {"host", "device"};

/* OpenCL calls (those named cl_fail_name only, when set): the one to fail
 * (1-based; 0: none), those made, and the error a failed one returns (a
 * build returns CL_BUILD_PROGRAM_FAILURE). */
static long cl_fail_at, cl_calls, cl_injected;
static const char *cl_fail_name;
static cl_int cl_error = CL_OUT_OF_RESOURCES;
static const char *cl_failed_call = "";

cl_int clcnn__fault_cl(const char *call)
{
    if (cl_fail_name && strcmp(call, cl_fail_name) != 0)
        return CL_SUCCESS;
    cl_calls++;
    if (!cl_fail_at || cl_calls != cl_fail_at)
        return CL_SUCCESS;
    cl_injected++;
    cl_failed_call = call;
    return strcmp(call, "clBuildProgram") == 0 ? CL_BUILD_PROGRAM_FAILURE : cl_error;
}

/* ---- fixtures: a folder of small files ---- */

static char dir[256];         /* this run's temporary folder */
static char cache_dir[300];   /* kernel binaries of the fresh contexts */
static char kernel_src[4096]; /* the source tree's kernels/ */
static char model_path[320], checkpoint_path[320];
static unsigned char *good_checkpoint; /* the bytes every save must leave */
static size_t good_checkpoint_len;

static const char *source_dir(void)
{
    const char *d = getenv("CLCNN_SOURCE_DIR");
    return d && *d ? d : ".";
}

static void remove_tree(const char *path)
{
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", path);
    if (system(command) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            data = realloc(data, cap);
            ck_assert(data != NULL);
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return data;
}

static void write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert(fwrite(data, 1, len, f) == len);
    ck_assert(fclose(f) == 0);
}

static void put_be32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* A tiny data set "tiny" of 20 28x28 images: images plain, labels gzip. */
static void write_tiny_dataset(void)
{
    enum { COUNT = 20, SIDE = 28 };
    static unsigned char images[16 + COUNT * SIDE * SIDE], labels[8 + COUNT];
    put_be32(images, 0x0803);
    put_be32(images + 4, COUNT);
    put_be32(images + 8, SIDE);
    put_be32(images + 12, SIDE);
    tu_rng rng = tu_rng_make(7);
    for (size_t i = 16; i < sizeof images; i++)
        images[i] = (unsigned char)tu_uniform(&rng, 0, 256);
    put_be32(labels, 0x0801);
    put_be32(labels + 4, COUNT);
    for (int i = 0; i < COUNT; i++)
        labels[8 + i] = (unsigned char)(i % 10);
    char path[400];
    snprintf(path, sizeof path, "%s/tiny-images-idx3-ubyte", dir);
    write_all(path, images, sizeof images);
    snprintf(path, sizeof path, "%s/tiny-labels-idx1-ubyte.gz", dir);
    gzFile gz = gzopen(path, "wb");
    ck_assert(gz != NULL);
    ck_assert(gzwrite(gz, labels, sizeof labels) == (int)sizeof labels);
    ck_assert(gzclose(gz) == Z_OK);
}

/* One batch of LeNet-5 input and labels, the same every time. */
enum { BATCH = 4 };
static float batch_x[BATCH * 28 * 28], batch_labels[BATCH];

static void fixtures_up(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/clcnn-faults-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert(mkdtemp(dir) != NULL);
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", dir);
    snprintf(kernel_src, sizeof kernel_src, "%s/kernels", source_dir());
    snprintf(model_path, sizeof model_path, "%s/model.clcnn", dir);
    snprintf(checkpoint_path, sizeof checkpoint_path, "%s/checkpoint.clcnn", dir);
    write_tiny_dataset();
    tu_rng rng = tu_rng_make(11);
    tu_fill(&rng, batch_x, sizeof batch_x / sizeof batch_x[0], -1, 2);
    for (int i = 0; i < BATCH; i++)
        batch_labels[i] = (float)(i * 3 % 10);
}

static void fixtures_down(void)
{
    free(good_checkpoint);
    good_checkpoint = NULL;
    remove_tree(dir);
}

/* ---- the sweep ---- */

/* Waits for the device, and up to a second for OpenCL to release what the
 * finished commands held, until the counts are back at `before`. */
static void settle(const long before[2])
{
    clcnn_context_finish(tu_ctx());
    for (int i = 0; i < 1000 && (live[0] != before[0] || live[1] != before[1]); i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
}

/* One operation under test: does its work, frees everything it made
 * whatever happens, and returns its status with the reason in msg. */
typedef clcnn_status (*op_fn)(char *msg, size_t size);

/* Fails allocation N of `kind` inside op for N = 1, 2, ... until op runs
 * through without reaching N. Each failure must be `expected` with a message
 * that says so, and leak nothing; an op may also absorb a failure (a cache
 * that cannot be written is skipped) and succeed. Returns how many
 * allocations op makes. */
static long sweep(const char *name, int kind, op_fn op, clcnn_status expected,
                  void (*after_each)(void))
{
    char msg[8192];
    long failed = 0, absorbed = 0, absorbed_at[4] = {0}, n;
    for (n = 1;; n++) {
        long before[2] = {live[0], live[1]};
        calls[0] = calls[1] = injected[0] = injected[1] = 0;
        msg[0] = '\0';
        fail_at[kind] = n;
        clcnn_status st = op(msg, sizeof msg);
        fail_at[kind] = 0;
        settle(before);
        ck_assert_msg(live[0] == before[0] && live[1] == before[1],
                      "%s: failing %s allocation %ld: %+ld host and %+ld device allocations "
                      "leaked (%s: %s)",
                      name, kind_names[kind], n, live[0] - before[0], live[1] - before[1],
                      clcnn_status_name(st), msg);
        if (after_each)
            after_each();
        if (!injected[kind]) {
            ck_assert_msg(st == CLCNN_OK, "%s: fails without an injected fault: %s: %s", name,
                          clcnn_status_name(st), msg);
            break;
        }
        if (st == CLCNN_OK) {
            if (absorbed < 4)
                absorbed_at[absorbed] = n;
            absorbed++;
            continue;
        }
        ck_assert_msg(st == expected, "%s: failing %s allocation %ld gave %s, not %s: %s", name,
                      kind_names[kind], n, clcnn_status_name(st), clcnn_status_name(expected),
                      msg);
        ck_assert_msg(strstr(msg, "memory") != NULL,
                      "%s: failing %s allocation %ld: the message does not say memory: %s", name,
                      kind_names[kind], n, msg);
        failed++;
        ck_assert_msg(n < 20000, "%s: does not terminate", name);
    }
    char where[64] = "";
    for (long i = 0; i < absorbed && i < 4; i++)
        snprintf(where + strlen(where), sizeof where - strlen(where), "%s%ld", i ? "," : " (N=",
                 absorbed_at[i]);
    if (absorbed)
        strcat(where, ")");
    printf("%-26s %-6s allocations: %3ld; failures: %3ld x %s, %ld absorbed%s, 0 leaked\n",
           name, kind_names[kind], n - 1, failed, clcnn_status_name(expected), absorbed, where);
    return n - 1;
}

static void copy_error(clcnn_context *ctx, clcnn_status st, char *msg, size_t size)
{
    if (st != CLCNN_OK)
        snprintf(msg, size, "%s", clcnn_last_error(ctx));
}

/* ---- the operations ---- */

static clcnn_status op_list_devices(char *msg, size_t size)
{
    clcnn_device_info devices[4];
    size_t count = 0, chosen = 0;
    return clcnn_list_devices(NULL, devices, 4, &count, &chosen, msg, size);
}

/* A fresh context that builds (or loads from the disk cache) a kernel. */
static clcnn_status context_op(const char *kernel_dir, char *msg, size_t size)
{
    clcnn_context_options o = {.cache_dir = cache_dir, .kernel_dir = kernel_dir};
    clcnn_context *ctx = NULL;
    clcnn_status st = clcnn_context_create(&o, &ctx, msg, size);
    if (st != CLCNN_OK)
        return st;
    clcnn_tensor *t = NULL;
    float host[2 * 3 * 4 * 5];
    for (size_t i = 0; i < sizeof host / sizeof host[0]; i++)
        host[i] = (float)i - 50.0f;
    st = clcnn_tensor_create(ctx, 2, 3, 4, 5, &t);
    if (st == CLCNN_OK)
        st = clcnn_tensor_write(t, host, 120);
    if (st == CLCNN_OK)
        st = clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, t, t);
    if (st == CLCNN_OK)
        st = clcnn_softmax_forward(ctx, t, t);
    if (st == CLCNN_OK)
        st = clcnn_tensor_read(t, host, 120);
    copy_error(ctx, st, msg, size);
    clcnn_tensor_destroy(t);
    clcnn_context_destroy(ctx);
    return st;
}

static clcnn_status op_context(char *msg, size_t size)
{
    return context_op(NULL, msg, size);
}

static clcnn_status op_context_kernel_dir(char *msg, size_t size)
{
    return context_op(kernel_src, msg, size);
}

static clcnn_status op_context_from_cl(char *msg, size_t size)
{
    clcnn_context *ctx = NULL;
    clcnn_context_options o = {.cache_dir = cache_dir};
    clcnn_status st = clcnn_context_create_from_cl(clcnn_context_cl_context(tu_ctx()),
                                                   clcnn_context_cl_queue(tu_ctx()), &o, &ctx,
                                                   msg, size);
    clcnn_context_destroy(ctx);
    return st;
}

static clcnn_status op_tensors(char *msg, size_t size)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_tensor *a = NULL, *view = NULL, *wrap = NULL, *slice = NULL;
    clcnn_status st = clcnn_tensor_create(ctx, 2, 3, 8, 8, &a);
    if (st == CLCNN_OK)
        st = clcnn_tensor_view(a, 2, 192, 1, 1, &view);
    if (st == CLCNN_OK)
        st = clcnn_tensor_wrap(ctx, clcnn_tensor_cl_mem(a, NULL), 64, 1, 3, 8, 8, &wrap);
    if (st == CLCNN_OK)
        st = clcnn__tensor_slice(a, 10, 1, 1, 1, 100, &slice);
    if (st == CLCNN_OK)
        st = clcnn_tensor_fill(slice, 1.0f);
    copy_error(ctx, st, msg, size);
    clcnn_tensor_destroy(slice);
    clcnn_tensor_destroy(wrap);
    clcnn_tensor_destroy(view);
    clcnn_tensor_destroy(a);
    return st;
}

static const clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 0.001f};

/* Creates LeNet-5, trains one batch with Adam and saves a checkpoint. */
static clcnn_status op_net_train_save(char *msg, size_t size)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_net *net = NULL;
    clcnn_train_state state = {.epoch = 1, .batch = BATCH, .seed = 5,
                               .schedule = {.base_lr = 0.001f}};
    clcnn_rng_seed(&state.rng, 5);
    float loss = 0, probs[BATCH * 10];
    clcnn_status st = clcnn_net_create(ctx, "lenet5", BATCH, 1, 28, 28, &net);
    if (st == CLCNN_OK)
        st = clcnn_net_set_optimizer(net, &adam);
    if (st == CLCNN_OK)
        st = clcnn_net_prepare(net);
    if (st == CLCNN_OK)
        st = clcnn_net_train_batch(net, batch_x, batch_labels, BATCH, 0.001f);
    if (st == CLCNN_OK)
        st = clcnn_net_loss(net, &loss);
    if (st == CLCNN_OK)
        st = clcnn_net_predict(net, batch_x, BATCH, probs);
    if (st == CLCNN_OK)
        st = clcnn_net_save(net, checkpoint_path, &state);
    copy_error(ctx, st, msg, size);
    clcnn_net_destroy(net);
    return st;
}

/* After every step of a sweep over saving: the checkpoint on disk is the
 * good one, whole, and no temporary file is left beside it. */
static void checkpoint_intact(void)
{
    size_t len = 0;
    unsigned char *now = read_all(checkpoint_path, &len);
    ck_assert_msg(now != NULL, "the checkpoint disappeared");
    ck_assert_msg(len == good_checkpoint_len && memcmp(now, good_checkpoint, len) == 0,
                  "the checkpoint on disk changed (%zu bytes, was %zu)", len,
                  good_checkpoint_len);
    free(now);
    char pattern[400];
    snprintf(pattern, sizeof pattern, "%s/checkpoint.clcnn.tmp-", dir);
    char command[600];
    snprintf(command, sizeof command, "ls %s* >/dev/null 2>&1", pattern);
    ck_assert_msg(system(command) != 0, "a temporary file was left beside the checkpoint");
}

static clcnn_status op_net_load(char *msg, size_t size)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_net *net = NULL;
    clcnn_train_state state;
    int has_state = 0;
    float probs[BATCH * 10];
    clcnn_status st = clcnn_net_load(ctx, checkpoint_path, 0, &net, &state, &has_state);
    if (st == CLCNN_OK)
        st = clcnn_net_predict(net, batch_x, BATCH, probs);
    if (st == CLCNN_OK)
        ck_assert(has_state == 1 && state.epoch == 1);
    copy_error(ctx, st, msg, size);
    clcnn_net_destroy(net);
    return st;
}

/* LeNet-5 written as ONNX, read back and run. */
static clcnn_status op_onnx(char *msg, size_t size)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_net *net = NULL, *back = NULL;
    char path[400];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    float probs[BATCH * 10];
    clcnn_status st = clcnn_net_create(ctx, "lenet5", BATCH, 1, 28, 28, &net);
    if (st == CLCNN_OK)
        st = clcnn_net_save_onnx(net, path);
    if (st == CLCNN_OK)
        st = clcnn_net_load_onnx(ctx, path, BATCH, &back);
    if (st == CLCNN_OK)
        st = clcnn_net_predict(back, batch_x, BATCH, probs);
    copy_error(ctx, st, msg, size);
    clcnn_net_destroy(back);
    clcnn_net_destroy(net);
    return st;
}

static clcnn_status op_dataset(char *msg, size_t size)
{
    clcnn_dataset *ds = NULL;
    clcnn_status st = clcnn_dataset_load_dir(dir, "tiny", &ds, msg, size);
    if (st == CLCNN_OK)
        ck_assert(clcnn_dataset_count(ds) == 20 && clcnn_dataset_classes(ds) == 10);
    clcnn_dataset_destroy(ds);
    return st;
}

static clcnn_net *loop_net;
static clcnn_dataset *loop_data;

static clcnn_status op_train_eval(char *msg, size_t size)
{
    clcnn_train_state state = {.batch = BATCH, .schedule = {.base_lr = 0.001f}};
    clcnn_rng_seed(&state.rng, 3);
    clcnn_train_options options = {.max_shift = 2, .report_every = 2};
    float loss, accuracy;
    long confusion[100];
    clcnn_status st = clcnn_train_epoch(loop_net, loop_data, &options, &state, &loss);
    if (st == CLCNN_OK)
        st = clcnn_evaluate(loop_net, loop_data, CLCNN_MNIST_MEAN, CLCNN_MNIST_STD, &accuracy,
                            confusion);
    copy_error(tu_ctx(), st, msg, size);
    return st;
}

/* ---- tests ---- */

static void save_good_checkpoint(void)
{
    char msg[1024];
    tu_ok(op_net_train_save(msg, sizeof msg));
    free(good_checkpoint);
    good_checkpoint = read_all(checkpoint_path, &good_checkpoint_len);
    ck_assert(good_checkpoint != NULL);
}

START_TEST(test_host_allocation_failures)
{
    char msg[1024];
    /* each op once without faults: kernels built, caches filled, the
     * checkpoint written, so that a sweep counts the op's own work only */
    tu_ok(op_context(msg, sizeof msg));
    save_good_checkpoint();
    tu_ok(op_train_eval(msg, sizeof msg));
    const clcnn_status oom = CLCNN_ERR_OUT_OF_HOST_MEMORY;
    ck_assert(sweep("list devices", CLCNN__FAULT_HOST, op_list_devices, oom, NULL) > 0);
    ck_assert(sweep("context + kernel build", CLCNN__FAULT_HOST, op_context, oom, NULL) > 0);
    ck_assert(sweep("context, CLCNN_KERNEL_DIR", CLCNN__FAULT_HOST, op_context_kernel_dir, oom,
                    NULL) > 0);
    ck_assert(sweep("context from cl", CLCNN__FAULT_HOST, op_context_from_cl, oom, NULL) > 0);
    ck_assert(sweep("tensors", CLCNN__FAULT_HOST, op_tensors, oom, NULL) > 0);
    ck_assert(sweep("net create+train+save", CLCNN__FAULT_HOST, op_net_train_save, oom,
                    checkpoint_intact) > 0);
    ck_assert(sweep("net load", CLCNN__FAULT_HOST, op_net_load, oom, NULL) > 0);
    ck_assert(sweep("data set load", CLCNN__FAULT_HOST, op_dataset, oom, NULL) > 0);
    ck_assert(sweep("train epoch + evaluate", CLCNN__FAULT_HOST, op_train_eval, oom, NULL) > 0);
    ck_assert(sweep("ONNX save + load", CLCNN__FAULT_HOST, op_onnx, oom, NULL) > 0);
}
END_TEST

START_TEST(test_device_allocation_failures)
{
    char msg[1024];
    tu_ok(op_context(msg, sizeof msg));
    save_good_checkpoint();
    const clcnn_status oom = CLCNN_ERR_OUT_OF_DEVICE_MEMORY;
    ck_assert(sweep("context + kernel build", CLCNN__FAULT_DEVICE, op_context, oom, NULL) > 0);
    ck_assert(sweep("tensors", CLCNN__FAULT_DEVICE, op_tensors, oom, NULL) > 0);
    ck_assert(sweep("net create+train+save", CLCNN__FAULT_DEVICE, op_net_train_save, oom,
                    checkpoint_intact) > 0);
    ck_assert(sweep("net load", CLCNN__FAULT_DEVICE, op_net_load, oom, NULL) > 0);
    ck_assert(sweep("ONNX save + load", CLCNN__FAULT_DEVICE, op_onnx, oom, NULL) > 0);
}
END_TEST

/* ---- a kernel source that does not build ---- */

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    unsigned char *data = read_all(from, &len);
    ck_assert_msg(data != NULL, "cannot read %s", from);
    write_all(to, data, len);
    free(data);
}

START_TEST(test_kernel_build_failure)
{
    /* a kernel folder with every source, act.cl broken */
    char kdir[400], path[500], from[4200];
    snprintf(kdir, sizeof kdir, "%s/kernels-broken", dir);
    ck_assert(mkdir(kdir, 0755) == 0);
    const char *names[] = {"common", "act", "softmax"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(from, sizeof from, "%s/%s.cl", kernel_src, names[i]);
        snprintf(path, sizeof path, "%s/%s.cl", kdir, names[i]);
        copy_file(from, path);
    }
    snprintf(path, sizeof path, "%s/act.cl", kdir);
    const char broken[] = "__kernel void act_relu_fwd(__global float *x) { this is not C; }\n";
    write_all(path, broken, sizeof broken - 1);

    long before[2] = {live[0], live[1]};
    clcnn_context_options o = {.cache_dir = cache_dir, .kernel_dir = kdir};
    clcnn_context *ctx = NULL;
    char err[512];
    tu_ok(clcnn_context_create(&o, &ctx, err, sizeof err));
    clcnn_tensor *t = NULL;
    tu_ok(clcnn_tensor_create(ctx, 1, 4, 1, 1, &t));
    tu_ok(clcnn_tensor_fill(t, -1.0f));
    clcnn_status st = clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, t, t);
    const char *msg = clcnn_last_error(ctx);
    ck_assert_msg(st == CLCNN_ERR_BUILD, "broken act.cl: %s: %s", clcnn_status_name(st), msg);
    ck_assert_msg(strstr(msg, "act.cl") && strstr(msg, "build log"), "message: %s", msg);
    printf("broken kernel: %s: %.160s...\n", clcnn_status_name(st), msg);
    /* the context stays usable: another program builds, and a failed build is
     * not kept, so the repaired source builds in the same context */
    tu_ok(clcnn_softmax_forward(ctx, t, t));
    ck_assert(remove(path) == 0);
    st = clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, t, t);
    msg = clcnn_last_error(ctx);
    ck_assert_msg(st == CLCNN_ERR_IO && strstr(msg, "act.cl"), "missing act.cl: %s: %s",
                  clcnn_status_name(st), msg);
    printf("missing kernel: %s: %s\n", clcnn_status_name(st), msg);
    snprintf(from, sizeof from, "%s/act.cl", kernel_src);
    copy_file(from, path);
    tu_ok(clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, t, t));
    float out[4];
    tu_ok(clcnn_tensor_read(t, out, 4));
    ck_assert(out[0] >= 0.0f);
    clcnn_tensor_destroy(t);
    clcnn_context_destroy(ctx);
    settle(before);
    ck_assert_msg(live[0] == before[0] && live[1] == before[1], "%+ld host, %+ld device leaked",
                  live[0] - before[0], live[1] - before[1]);

    /* the same through $CLCNN_KERNEL_DIR */
    write_all(path, broken, sizeof broken - 1);
    ck_assert(setenv("CLCNN_KERNEL_DIR", kdir, 1) == 0);
    o.kernel_dir = NULL;
    st = clcnn_context_create(&o, &ctx, err, sizeof err);
    unsetenv("CLCNN_KERNEL_DIR");
    tu_ok(st);
    tu_ok(clcnn_tensor_create(ctx, 1, 4, 1, 1, &t));
    st = clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, t, t);
    ck_assert_msg(st == CLCNN_ERR_BUILD, "$CLCNN_KERNEL_DIR: %s", clcnn_status_name(st));
    clcnn_tensor_destroy(t);
    clcnn_context_destroy(ctx);
}
END_TEST

/* ---- a batch too large for the device ---- */

START_TEST(test_batch_too_large)
{
    clcnn_context *ctx = tu_ctx();
    const int batches[] = {10000000, INT_MAX};
    for (size_t i = 0; i < 2; i++) {
        clcnn_net *net = (clcnn_net *)ctx;
        long before[2] = {live[0], live[1]};
        calls[CLCNN__FAULT_DEVICE] = 0;
        clcnn_status st = clcnn_net_create(ctx, "lenet5", batches[i], 1, 28, 28, &net);
        const char *msg = clcnn_last_error(ctx);
        ck_assert_msg(st == CLCNN_ERR_OUT_OF_DEVICE_MEMORY, "batch %d: %s: %s", batches[i],
                      clcnn_status_name(st), msg);
        ck_assert(net == NULL);
        ck_assert_msg(strstr(msg, "bytes") && strstr(msg, "at most"), "message: %s", msg);
        /* refused before any device buffer was asked for */
        ck_assert_int_eq(calls[CLCNN__FAULT_DEVICE], 0);
        ck_assert(live[0] == before[0] && live[1] == before[1]);
        printf("lenet5, batch %d: %s: %s\n", batches[i], clcnn_status_name(st), msg);
    }
    /* the check's arithmetic is what networks really allocate, to the byte */
    const struct {
        const char *spec;
        int batch, c, h, w;
    } nets[] = {
        {"lenet5", 4, 1, 28, 28},
        {"convnet", 3, 1, 28, 28},
        {"flatten dense(7) relu dense(5) softmax", 2, 3, 5, 5},
        {"conv(4,3,pad=1) relu avgpool(2) tanh conv(3,2) sigmoid maxpool(2) relu flatten "
         "dense(6)",
         5, 2, 12, 9},
        {"relu conv(3,3) leaky_relu(0.1) flatten dense(4)", 1, 1, 7, 7},
        {"resnet", 3, 1, 28, 28},
        {"mobilenet", 2, 1, 28, 28},
        /* joins that accumulate, a batch norm on the input, a flatten of a
         * shared output */
        {"bn conv(4,3,pad=1) relu @a conv(4,3,pad=1) add(@a) @b from(@a) conv(4,1) add(@b) "
         "flatten dense(3)",
         2, 2, 6, 5},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        clcnn_net *net = NULL;
        device_bytes_asked = 0;
        tu_ok(clcnn_net_create(ctx, nets[i].spec, nets[i].batch, nets[i].c, nets[i].h,
                               nets[i].w, &net));
        unsigned long long planned = clcnn__net_device_bytes(net, nets[i].batch);
        ck_assert_msg(planned == device_bytes_asked,
                      "\"%s\" batch %d: the memory check counts %llu bytes, the network "
                      "allocates %llu",
                      nets[i].spec, nets[i].batch, planned, device_bytes_asked);
        clcnn_net_destroy(net);
    }

    /* loading a model for such a batch: the batch's fault, not the file's */
    save_good_checkpoint();
    clcnn_net *net = NULL;
    calls[CLCNN__FAULT_DEVICE] = 0;
    clcnn_status st = clcnn_net_load(ctx, checkpoint_path, 10000000, &net, NULL, NULL);
    ck_assert_msg(st == CLCNN_ERR_OUT_OF_DEVICE_MEMORY, "load, batch 10^7: %s: %s",
                  clcnn_status_name(st), clcnn_last_error(ctx));
    ck_assert_int_eq(calls[CLCNN__FAULT_DEVICE], 0);
}
END_TEST

/* ---- model files that cannot be written ---- */

START_TEST(test_unwritable_model_paths)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(ctx, "lenet5", BATCH, 1, 28, 28, &net));
    tu_ok(clcnn_net_save(net, model_path, NULL));
    size_t good_len = 0;
    unsigned char *good = read_all(model_path, &good_len);
    const struct {
        const char *path, *reason;
    } cases[] = {
        {"/etc/passwd/model.clcnn", "Not a directory"},   /* a folder that is a file */
        {"/proc/clcnn-model.clcnn", NULL},                  /* a folder nothing can be made in */
        {"/nonexistent-folder/model.clcnn", "No such file"},
        {"/dev/full", "No space left"},                     /* a full device */
        {dir, "directory"},                                 /* a folder, not a file */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long before[2] = {live[0], live[1]};
        clcnn_status st = clcnn_net_save(net, cases[i].path, NULL);
        const char *msg = clcnn_last_error(ctx);
        ck_assert_msg(st == CLCNN_ERR_IO, "%s: %s: %s", cases[i].path, clcnn_status_name(st), msg);
        ck_assert_msg(strstr(msg, cases[i].path) != NULL, "message lacks the path: %s", msg);
        ck_assert_msg(!cases[i].reason || strstr(msg, cases[i].reason), "message: %s", msg);
        ck_assert(live[0] == before[0] && live[1] == before[1]);
        printf("save to %s: %s: %s\n", cases[i].path, clcnn_status_name(st), msg);
    }
    /* the good file was never touched */
    size_t len = 0;
    unsigned char *now = read_all(model_path, &len);
    ck_assert(now && len == good_len && memcmp(now, good, len) == 0);
    free(now);
    free(good);
    clcnn_net_destroy(net);
}
END_TEST

/* ---- NaN and infinity ---- */

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

/* Offset of the first parameter float in a model file (see model_file.c). */
static size_t params_offset(const unsigned char *d)
{
    size_t at = 8 + 4 + 4;
    at += 4 + get_le32(d + at); /* spec */
    at += 16;                   /* input shape */
    at += 4 + (size_t)get_le32(d + at) * 16;
    return at + 8; /* the parameter count */
}

/* Writes a copy of src with the float at byte offset `at` set to v and a
 * valid checksum: the file is intact, its values are not. */
static void write_with_value(const char *src, const char *dst, size_t at, float v)
{
    size_t len = 0;
    unsigned char *d = read_all(src, &len);
    ck_assert(d != NULL && at + 4 <= len - 4);
    uint32_t bits;
    memcpy(&bits, &v, 4);
    set_le32(d + at, bits);
    set_le32(d + len - 4, (uint32_t)crc32(0L, d, (uInt)(len - 4)));
    write_all(dst, d, len);
    free(d);
}

static void nonfinite_load(const char *what, size_t at_from_params, int in_state, float v,
                           const char *expect)
{
    save_good_checkpoint();
    size_t at = params_offset(good_checkpoint) + at_from_params * 4;
    if (in_state) /* past the parameters and the optimiser record, to the state */
        at = params_offset(good_checkpoint) + 61706 * 4 + 4 * 8 + 8 + 8 + at_from_params * 4;
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad.clcnn", dir);
    write_with_value(checkpoint_path, bad, at, v);
    long before[2] = {live[0], live[1]};
    clcnn_net *net = (clcnn_net *)tu_ctx();
    clcnn_status st = clcnn_net_load(tu_ctx(), bad, 0, &net, NULL, NULL);
    const char *msg = clcnn_last_error(tu_ctx());
    ck_assert_msg(st == CLCNN_ERR_NUMERIC && net == NULL, "%s: %s: %s", what,
                  clcnn_status_name(st), msg);
    ck_assert_msg(strstr(msg, expect) != NULL, "%s: message: %s", what, msg);
    settle(before);
    ck_assert(live[0] == before[0] && live[1] == before[1]);
    printf("load, %s: %s: %s\n", what, clcnn_status_name(st), msg);
}

START_TEST(test_nonfinite_model_files)
{
    /* LeNet-5's arena: conv1 w 150, b 6, conv2 w 2400 (starts at 156), ... */
    nonfinite_load("NaN in conv1's first weight", 0, 0, NAN, "layer 1 conv(6,5,pad=2): its weights");
    nonfinite_load("infinity in conv2's weights", 156 + 7, 0, INFINITY, "layer 4 conv(16,5)");
    nonfinite_load("NaN in the last bias", 61705, 0, NAN, "biases");
    nonfinite_load("NaN in Adam's state", 5, 1, NAN, "optimiser state");

    /* a network whose weights became NaN is not saved over the good file */
    save_good_checkpoint();
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_load(tu_ctx(), checkpoint_path, 0, &net, NULL, NULL));
    float *params = tu_alloc(61706 * sizeof *params);
    tu_ok(clcnn_tensor_read(net->params, params, 61706));
    params[500] = NAN; /* conv2's weights (156..2555) */
    tu_ok(clcnn_tensor_write(net->params, params, 61706));
    clcnn_train_state state = {.epoch = 1, .batch = BATCH, .schedule = {.base_lr = 0.001f}};
    clcnn_rng_seed(&state.rng, 2);
    clcnn_status st = clcnn_net_save(net, checkpoint_path, &state);
    ck_assert_msg(st == CLCNN_ERR_NUMERIC && strstr(clcnn_last_error(tu_ctx()), "layer 4"),
                  "save with NaN: %s: %s", clcnn_status_name(st), clcnn_last_error(tu_ctx()));
    printf("save, NaN weights: %s: %s\n", clcnn_status_name(st), clcnn_last_error(tu_ctx()));
    checkpoint_intact();

    /* and it says where the NaN is, and predictions and evaluation report it */
    int layer = 99;
    tu_ok(clcnn_net_forward(net, batch_x, BATCH));
    st = clcnn_net_check_finite(net, &layer);
    ck_assert_msg(st == CLCNN_ERR_NUMERIC && layer == 3, "check_finite: %s, layer %d: %s",
                  clcnn_status_name(st), layer, clcnn_last_error(tu_ctx()));
    /* ReLU (max(x, 0)) turns NaN into 0, so conv2's NaN does not reach the
     * output; a NaN bias in the last layer does */
    params[61705] = NAN;
    tu_ok(clcnn_tensor_write(net->params, params, 61706));
    float probs[BATCH * 10];
    tu_ok(clcnn_net_predict(net, batch_x, BATCH, probs));
    ck_assert(isnan(probs[9]));
    st = clcnn_evaluate(net, loop_data, CLCNN_MNIST_MEAN, CLCNN_MNIST_STD, NULL, NULL);
    ck_assert_msg(st == CLCNN_ERR_NUMERIC, "evaluate with NaN weights: %s",
                  clcnn_status_name(st));
    printf("evaluate, NaN weights: %s: %s\n", clcnn_status_name(st), clcnn_last_error(tu_ctx()));
    free(params);
    clcnn_net_destroy(net);
}
END_TEST

START_TEST(test_check_finite)
{
    clcnn_context *ctx = tu_ctx();
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(ctx, "lenet5", BATCH, 1, 28, 28, &net));
    int layer = 99;
    tu_ok(clcnn_net_forward(net, batch_x, BATCH));
    tu_ok(clcnn_net_check_finite(net, &layer));
    ck_assert_int_eq(layer, -1);
    tu_ok(clcnn_net_check_finite(net, NULL));

    /* NaN and infinity in the input: found there, before any layer */
    float x[BATCH * 28 * 28];
    memcpy(x, batch_x, sizeof x);
    x[100] = NAN;
    x[2000] = -INFINITY;
    tu_ok(clcnn_net_forward(net, x, BATCH));
    clcnn_status st = clcnn_net_check_finite(net, &layer);
    ck_assert_msg(st == CLCNN_ERR_NUMERIC && layer == -1 &&
                      strstr(clcnn_last_error(ctx), "input") &&
                      strstr(clcnn_last_error(ctx), "1 NaN and 1 infinite"),
                  "NaN input: %s, layer %d: %s", clcnn_status_name(st), layer,
                  clcnn_last_error(ctx));
    printf("check_finite, NaN input: %s: %s\n", clcnn_status_name(st), clcnn_last_error(ctx));

    /* an infinite bias in the first dense layer (layer 8) */
    float *params = tu_alloc(61706 * sizeof *params);
    tu_ok(clcnn_tensor_read(net->params, params, 61706));
    size_t dense1_bias = 156 + 2416 + 48000;
    params[dense1_bias + 3] = INFINITY;
    tu_ok(clcnn_tensor_write(net->params, params, 61706));
    tu_ok(clcnn_net_forward(net, batch_x, BATCH));
    st = clcnn_net_check_finite(net, &layer);
    ck_assert_msg(st == CLCNN_ERR_NUMERIC && layer == 7 && strstr(clcnn_last_error(ctx), "biases"),
                  "inf bias: %s, layer %d: %s", clcnn_status_name(st), layer,
                  clcnn_last_error(ctx));
    free(params);

    /* a learning rate that diverges: the loss stops being finite and the
     * check names where */
    tu_ok(clcnn_net_init(net, 3));
    clcnn_optim_params sgd = {.kind = CLCNN_OPTIM_SGD, .lr = 1e6f};
    tu_ok(clcnn_net_set_optimizer(net, &sgd));
    float loss = 0;
    int step;
    for (step = 0; step < 100; step++) {
        tu_ok(clcnn_net_train_batch(net, batch_x, batch_labels, BATCH, 1e6f));
        st = clcnn_net_loss(net, &loss);
        if (st != CLCNN_OK)
            break;
    }
    ck_assert_msg(st == CLCNN_ERR_NUMERIC, "lr 1e6 did not diverge in 100 steps (loss %g)",
                  (double)loss);
    ck_assert(strstr(clcnn_last_error(ctx), "step") != NULL);
    printf("loss, lr 1e6: %s: %s\n", clcnn_status_name(st), clcnn_last_error(ctx));
    st = clcnn_net_check_finite(net, &layer);
    ck_assert_msg(st == CLCNN_ERR_NUMERIC && layer >= 0 && strstr(clcnn_last_error(ctx), "layer"),
                  "after divergence: %s, layer %d: %s", clcnn_status_name(st), layer,
                  clcnn_last_error(ctx));
    printf("check_finite, lr 1e6: %s: %s\n", clcnn_status_name(st), clcnn_last_error(ctx));

    /* a whole epoch stops at the non-finite loss */
    clcnn_train_state state = {.batch = BATCH, .schedule = {.base_lr = 1e6f}};
    clcnn_rng_seed(&state.rng, 1);
    tu_ok(clcnn_net_init(net, 3));
    st = clcnn_train_epoch(net, loop_data, NULL, &state, NULL);
    ck_assert_msg(st == CLCNN_ERR_NUMERIC && state.epoch == 0, "epoch at lr 1e6: %s",
                  clcnn_status_name(st));
    clcnn_net_destroy(net);
}
END_TEST

/* ---- OpenCL failing in the middle of training ---- */

/* The CLI's resume in miniature: loads the good checkpoint, trains an epoch
 * on the tiny data set, evaluates and saves over the checkpoint. */
static clcnn_status op_resume_epoch(char *msg, size_t size)
{
    clcnn_net *net = NULL;
    clcnn_train_state state;
    clcnn_status st = clcnn_net_load(tu_ctx(), checkpoint_path, 0, &net, &state, NULL);
    clcnn_train_options options = {.max_shift = 1, .report_every = 2};
    float loss, accuracy;
    if (st == CLCNN_OK)
        st = clcnn_train_epoch(net, loop_data, &options, &state, &loss);
    if (st == CLCNN_OK)
        st = clcnn_evaluate(net, loop_data, CLCNN_MNIST_MEAN, CLCNN_MNIST_STD, &accuracy, NULL);
    if (st == CLCNN_OK)
        st = clcnn_net_save(net, checkpoint_path, &state);
    copy_error(tu_ctx(), st, msg, size);
    clcnn_net_destroy(net);
    return st;
}

/* Fails OpenCL call N of op with `error` for N = 1, 2, ... until op runs
 * through: each failure gives `expected` with a message naming the call,
 * leaks nothing once the net is destroyed, and leaves the checkpoint on disk
 * as it was. Returns how many OpenCL calls op makes. */
static long cl_sweep(const char *name, op_fn op, cl_int error, clcnn_status expected)
{
    char msg[8192];
    long n, failed = 0;
    cl_error = error;
    for (n = 1;; n++) {
        long before[2] = {live[0], live[1]};
        cl_calls = cl_injected = 0;
        msg[0] = '\0';
        cl_fail_at = n;
        clcnn_status st = op(msg, sizeof msg);
        cl_fail_at = 0;
        settle(before);
        ck_assert_msg(live[0] == before[0] && live[1] == before[1],
                      "%s: failing OpenCL call %ld (%s): %+ld host and %+ld device allocations "
                      "leaked (%s: %s)",
                      name, n, cl_failed_call, live[0] - before[0], live[1] - before[1],
                      clcnn_status_name(st), msg);
        if (!cl_injected) {
            ck_assert_msg(st == CLCNN_OK, "%s: fails without an injected fault: %s: %s", name,
                          clcnn_status_name(st), msg);
            break;
        }
        ck_assert_msg(st != CLCNN_OK, "%s: failing OpenCL call %ld (%s) went unnoticed", name, n,
                      cl_failed_call);
        clcnn_status want = strcmp(cl_failed_call, "clBuildProgram") == 0 ? CLCNN_ERR_BUILD
                                                                          : expected;
        ck_assert_msg(st == want && strstr(msg, cl_failed_call) != NULL,
                      "%s: failing OpenCL call %ld (%s) gave %s, not %s, or a message not "
                      "naming it: %s",
                      name, n, cl_failed_call, clcnn_status_name(st), clcnn_status_name(want),
                      msg);
        checkpoint_intact();
        failed++;
        ck_assert_msg(n < 100000, "%s: does not terminate", name);
    }
    printf("%-26s OpenCL calls: %4ld; failures: %4ld x %s, checkpoint intact, 0 leaked\n", name,
           n - 1, failed, clcnn_status_name(expected));
    return n - 1;
}

START_TEST(test_opencl_failures_in_training)
{
    char msg[1024];
    save_good_checkpoint();
    /* once without faults, to build every kernel, then the good file back */
    tu_ok(op_resume_epoch(msg, sizeof msg));
    write_all(checkpoint_path, good_checkpoint, good_checkpoint_len);
    long calls_made = cl_sweep("resume + epoch + save", op_resume_epoch, CL_OUT_OF_RESOURCES,
                               CLCNN_ERR_OUT_OF_DEVICE_MEMORY);
    ck_assert(calls_made > 20);
    write_all(checkpoint_path, good_checkpoint, good_checkpoint_len);
    cl_sweep("resume + epoch + save", op_resume_epoch, CL_MEM_OBJECT_ALLOCATION_FAILURE,
             CLCNN_ERR_OUT_OF_DEVICE_MEMORY);
    write_all(checkpoint_path, good_checkpoint, good_checkpoint_len);
    cl_sweep("resume + epoch + save", op_resume_epoch, CL_INVALID_COMMAND_QUEUE,
             CLCNN_ERR_OPENCL);
}
END_TEST

/* A network set up in a new context without a kernel cache, so that every
 * program is built from source. */
static clcnn_status op_fresh_context_net(char *msg, size_t size)
{
    clcnn_context_options o = {.cache_dir = ""};
    clcnn_context *ctx = NULL;
    clcnn_net *net = NULL;
    clcnn_status st = clcnn_context_create(&o, &ctx, msg, size);
    if (st == CLCNN_OK)
        st = clcnn_net_create(ctx, "conv(4,3) relu maxpool(2) flatten dense(10)", BATCH, 1, 28,
                              28, &net);
    if (st == CLCNN_OK)
        st = clcnn_net_prepare(net);
    if (st != CLCNN_OK && ctx)
        copy_error(ctx, st, msg, size);
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    return st;
}

/* A program build failing (as a driver's compiler can) at the first, second
 * and third build of a network's set-up: CLCNN_ERR_BUILD naming the source,
 * and nothing leaked. (Each build takes about a second on PoCL, so not
 * every one of them is failed in turn.) */
START_TEST(test_build_failures_in_setup)
{
    char msg[8192];
    cl_fail_name = "clBuildProgram";
    for (long n = 1; n <= 3; n++) {
        long before[2] = {live[0], live[1]};
        cl_calls = cl_injected = 0;
        msg[0] = '\0';
        cl_fail_at = n;
        clcnn_status st = op_fresh_context_net(msg, sizeof msg);
        cl_fail_at = 0;
        settle(before);
        ck_assert_msg(cl_injected == 1, "build %ld was never reached", n);
        ck_assert_msg(st == CLCNN_ERR_BUILD && strstr(msg, "kernels/"),
                      "failing build %ld: %s: %s", n, clcnn_status_name(st), msg);
        ck_assert_msg(live[0] == before[0] && live[1] == before[1],
                      "failing build %ld: %+ld host and %+ld device allocations leaked", n,
                      live[0] - before[0], live[1] - before[1]);
        printf("failing build %ld of a set-up: %s: %.100s...\n", n, clcnn_status_name(st), msg);
    }
    cl_fail_name = NULL;
}
END_TEST

static void train_fixture_up(void)
{
    char msg[1024];
    tu_ok(clcnn_dataset_load_dir(dir, "tiny", &loop_data, msg, sizeof msg));
    tu_ok(clcnn_net_create(tu_ctx(), "lenet5", BATCH, 1, 28, 28, &loop_net));
}

static void train_fixture_down(void)
{
    clcnn_net_destroy(loop_net);
    clcnn_dataset_destroy(loop_data);
    loop_net = NULL;
    loop_data = NULL;
}

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("allocation");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, fixtures_up, fixtures_down);
    tcase_add_checked_fixture(tc, train_fixture_up, train_fixture_down);
    tcase_add_test(tc, test_host_allocation_failures);
    tcase_add_test(tc, test_device_allocation_failures);
    tcase_add_test(tc, test_kernel_build_failure);
    tcase_add_test(tc, test_batch_too_large);
    tcase_add_test(tc, test_unwritable_model_paths);
    tcase_add_test(tc, test_nonfinite_model_files);
    tcase_add_test(tc, test_check_finite);
    tcase_add_test(tc, test_opencl_failures_in_training);
    tcase_add_test(tc, test_build_failures_in_setup);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(faults_suite());
}
