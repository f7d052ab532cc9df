/*
 * bench_net: whole-network throughput of a built-in or spec-given network:
 * training steps (forward, backward, optimiser) and inference (forward and
 * read-back of the probabilities) in images/s, on seeded random images.
 *
 *   bench_net [-m MODEL] [-b BATCH] [-r REPS] [-s STEPS] [-d DIR] [-t]
 *
 * Each of REPS runs times STEPS batches (after a warm-up) and ends with a
 * read of the loss, as a training loop does when it reports; the median run
 * is printed with its CPU time. -d DIR also times clcnn_train_epoch over the
 * IDX training set in DIR (host batch preparation and augmentation included).
 * -t prints the device time of each op of a training step (from profiled
 * markers between the ops, so nothing waits), to see where a step spends
 * its time, and the cost of one launch.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "clcnn.h"
#include "clcnn_cl.h"
#include "net.h"

static void die(clcnn_context *ctx, clcnn_status st, const char *what)
{
    fprintf(stderr, "bench_net: %s failed: %s: %s\n", what, clcnn_status_name(st),
            ctx ? clcnn_last_error(ctx) : "");
    exit(2);
}

#define TRY(ctx, call, what)                                                                   \
    do {                                                                                       \
        clcnn_status st_ = (call);                                                             \
        if (st_ != CLCNN_OK)                                                                   \
            die((ctx), st_, (what));                                                           \
    } while (0)

/* Per-op device times from markers: the trace hook enqueues a marker after
 * every op, and the difference between the ends of consecutive markers is
 * the device time of the op between them (an in-order queue completes a
 * marker when everything before it is done), with no host wait in between. */
typedef struct profile {
    cl_command_queue queue;
    int pending; /* markers of the current step */
    cl_event marks[64];
    int mark_slot[64];
    int count; /* distinct ops */
    int layer[64];
    const char *what[64];
    double ms[64];
} profile;

static cl_event marker(cl_command_queue queue)
{
    cl_event ev = NULL;
    if (clEnqueueMarkerWithWaitList(queue, 0, NULL, &ev) != CL_SUCCESS) {
        fprintf(stderr, "bench_net: clEnqueueMarkerWithWaitList failed\n");
        exit(2);
    }
    return ev;
}

static double end_ms(cl_event ev)
{
    cl_ulong t = 0;
    clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t, &t, NULL);
    return (double)t * 1e-6;
}

static void on_trace(void *user, int layer, const char *what)
{
    profile *p = user;
    int i = 0;
    while (i < p->count && !(p->layer[i] == layer && !strcmp(p->what[i], what)))
        i++;
    if (i == p->count) {
        if (p->count == 64 || p->pending == 64)
            return;
        p->layer[i] = layer;
        p->what[i] = what;
        p->ms[i] = 0;
        p->count++;
    }
    p->mark_slot[p->pending] = i;
    p->marks[p->pending++] = marker(p->queue);
}

/* Waits for the step whose first marker is start and adds its op times. */
static void collect(profile *p, cl_event start)
{
    clWaitForEvents(1, &p->marks[p->pending - 1]);
    double prev = end_ms(start);
    for (int k = 0; k < p->pending; k++) {
        double t = end_ms(p->marks[k]);
        p->ms[p->mark_slot[k]] += t - prev;
        prev = t;
        clReleaseEvent(p->marks[k]);
    }
    clReleaseEvent(start);
    p->pending = 0;
}

typedef struct run {
    double ms, cpu_ms;
} run;

static int by_ms(const void *a, const void *b)
{
    double x = ((const run *)a)->ms, y = ((const run *)b)->ms;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *model = "lenet5", *dir = NULL;
    int batch = 64, reps = 5, steps = 100, phases = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "-b") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-d") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "-t"))
            phases = 1;
        else {
            fprintf(stderr, "usage: bench_net [-m MODEL] [-b BATCH] [-r REPS] [-s STEPS] "
                            "[-d DIR] [-t]\n");
            return 2;
        }
    }
    if (batch < 1 || reps < 1 || steps < 1 || reps > 100) {
        fprintf(stderr, "bench_net: batch, reps and steps must be >= 1 (reps <= 100)\n");
        return 2;
    }
    char err[512];
    clcnn_context *ctx = NULL;
    double t0 = bench_now_ms();
    TRY(NULL, clcnn_context_create(NULL, &ctx, err, sizeof err), err);
    if (phases) {
        /* the same device through a queue with profiling, for the markers */
        cl_int cl_err;
        cl_command_queue queue =
            clCreateCommandQueue(clcnn_context_cl_context(ctx), clcnn_context_cl_device(ctx),
                                 CL_QUEUE_PROFILING_ENABLE, &cl_err);
        clcnn_context *profiled = NULL;
        if (!queue)
            die(ctx, CLCNN_ERR_OPENCL, "clCreateCommandQueue with profiling");
        TRY(NULL,
            clcnn_context_create_from_cl(clcnn_context_cl_context(ctx), queue, NULL, &profiled,
                                         err, sizeof err),
            err);
        clReleaseCommandQueue(queue);
        clcnn_context_destroy(ctx);
        ctx = profiled;
    }
    clcnn_net *net = NULL;
    TRY(ctx, clcnn_net_create(ctx, model, batch, 1, 28, 28, &net), "creating the network");
    clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 0.002f};
    TRY(ctx, clcnn_net_set_optimizer(net, &adam), "setting the optimiser");
    int classes = clcnn_net_classes(net);
    size_t image = 28 * 28;
    float *x = malloc((size_t)batch * image * sizeof *x);
    float *labels = malloc((size_t)batch * sizeof *labels);
    float *probs = malloc((size_t)batch * (size_t)classes * sizeof *probs);
    if (!x || !labels || !probs)
        return 2;
    bench_rng rng = bench_rng_make(1);
    bench_fill(&rng, x, (size_t)batch * image, -0.5f, 2.5f);
    for (int i = 0; i < batch; i++)
        labels[i] = (float)bench_below(&rng, classes);
    float loss = 0;
    /* warm-up: builds every kernel (or loads it from the cache) */
    TRY(ctx, clcnn_net_train_batch(net, x, labels, batch, 0.002f), "training");
    TRY(ctx, clcnn_net_loss(net, &loss), "reading the loss");
    TRY(ctx, clcnn_net_predict(net, x, batch, probs), "predicting");
    printf("%s, batch %d: first step after %.0f ms (context, network, kernels)\n", model, batch,
           bench_now_ms() - t0);
    for (int i = 0; i < 10; i++)
        TRY(ctx, clcnn_net_train_batch(net, x, labels, batch, 0.002f), "training");
    TRY(ctx, clcnn_net_loss(net, &loss), "reading the loss");

    run train[100], infer[100];
    for (int r = 0; r < reps; r++) {
        double w = bench_now_ms(), c = bench_cpu_ms();
        for (int s = 0; s < steps; s++)
            TRY(ctx, clcnn_net_train_batch(net, x, labels, batch, 0.002f), "training");
        TRY(ctx, clcnn_net_loss(net, &loss), "reading the loss");
        train[r] = (run){bench_now_ms() - w, bench_cpu_ms() - c};
        w = bench_now_ms(), c = bench_cpu_ms();
        for (int s = 0; s < steps; s++)
            TRY(ctx, clcnn_net_predict(net, x, batch, probs), "predicting");
        infer[r] = (run){bench_now_ms() - w, bench_cpu_ms() - c};
    }
    qsort(train, (size_t)reps, sizeof *train, by_ms);
    qsort(infer, (size_t)reps, sizeof *infer, by_ms);
    run tm = train[reps / 2], im = infer[reps / 2];
    double images = (double)batch * steps;
    printf("train: %8.0f images/s  %.3f ms/step  cpu %.3f ms/step  (loss %.4f)\n",
           images / tm.ms * 1e3, tm.ms / steps, tm.cpu_ms / steps, (double)loss);
    printf("infer: %8.0f images/s  %.3f ms/batch cpu %.3f ms/batch\n", images / im.ms * 1e3,
           im.ms / steps, im.cpu_ms / steps);

    if (phases) {
        profile prof = {.queue = clcnn_context_cl_queue(ctx)};
        net->trace = on_trace;
        net->trace_user = &prof;
        for (int s = 0; s < steps; s++) {
            cl_event start = marker(prof.queue);
            TRY(ctx, clcnn_net_train_batch(net, x, labels, batch, 0.002f), "training");
            collect(&prof, start);
        }
        net->trace = NULL;
        double total = 0;
        for (int i = 0; i < prof.count; i++)
            total += prof.ms[i];
        printf("device time per op of a training step (%.3f ms/step in all):\n",
               total / steps);
        for (int i = 0; i < prof.count; i++) {
            clcnn_layer_info info = {.text = "-"};
            if (prof.layer[i] >= 0)
                clcnn_net_layer(net, prof.layer[i], &info);
            if (prof.ms[i] / steps >= 0.002) /* skip the ReLUs done inside others */
                printf("  %2d %-18s %-13s %7.3f ms\n", prof.layer[i] + 1, info.text,
                       prof.what[i], prof.ms[i] / steps);
        }
        /* the cost of one launch: a tiny activation, enqueued back to back */
        clcnn_tensor *t = NULL;
        TRY(ctx, clcnn_tensor_create(ctx, 1, 1, 1, 64, &t), "creating a tensor");
        TRY(ctx, clcnn_tensor_fill(t, 1.0f), "filling a tensor");
        TRY(ctx, clcnn_context_finish(ctx), "finish");
        double a = bench_now_ms();
        for (int i = 0; i < 1000; i++)
            TRY(ctx, clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, t, t), "relu");
        TRY(ctx, clcnn_context_finish(ctx), "finish");
        double b = bench_now_ms();
        for (int i = 0; i < 200; i++) {
            TRY(ctx, clcnn_act_forward(ctx, CLCNN_ACT_RELU, 0, t, t), "relu");
            TRY(ctx, clcnn_context_finish(ctx), "finish");
        }
        printf("one tiny launch: %.1f us queued back to back, %.1f us with a wait after each\n",
               (b - a), (bench_now_ms() - b) / 200 * 1e3);
        clcnn_tensor_destroy(t);
    }

    if (dir) {
        clcnn_dataset *ds = NULL;
        TRY(NULL, clcnn_dataset_load_dir(dir, "train", &ds, err, sizeof err), err);
        clcnn_train_state state = {.batch = batch, .seed = 1};
        clcnn_rng_seed(&state.rng, 1);
        state.schedule = (clcnn_lr_params){.kind = CLCNN_LR_CONSTANT, .base_lr = 0.002f};
        clcnn_train_options opt = {.max_shift = 2};
        double w = bench_now_ms(), c = bench_cpu_ms();
        TRY(ctx, clcnn_train_epoch(net, ds, &opt, &state, &loss), "training an epoch");
        double ms = bench_now_ms() - w, cms = bench_cpu_ms() - c;
        size_t count = clcnn_dataset_count(ds);
        printf("epoch: %8.0f images/s  %.0f ms for %zu images, cpu %.0f ms (loss %.4f)\n",
               (double)count / ms * 1e3, ms, count, cms, (double)loss);
        clcnn_dataset_destroy(ds);
    }
    free(x);
    free(labels);
    free(probs);
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    return 0;
}
