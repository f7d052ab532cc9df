/*
 * clcnn bench --model: how long a network takes to set up (context, build,
 * every kernel compiled or loaded from the caches) and how many images per
 * second it trains and classifies (see bench_cli.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench_cli.h"
#include "cli.h"
#include "program.h"

/* A timed round: long enough to average a few dozen steps of a small net,
 * short enough that `--repeat 5` of each kind takes a couple of seconds. */
#define ROUND_MS 200.0
#define LR 0.002f

typedef struct rate {
    double images_per_s, best_images_per_s; /* median and best round */
    double ms_per_step, cpu_ms_per_step;     /* median round, per step */
    int steps_per_round;
} rate;

typedef struct model_data {
    clcnn_net *net;
    float *x, *labels, *probs;
    int batch;
} model_data;

static clcnn_status step(model_data *m, int train)
{
    return train ? clcnn_net_train_batch(m->net, m->x, m->labels, m->batch, LR)
                 : clcnn_net_predict(m->net, m->x, m->batch, m->probs);
}

/* warmup untimed steps (at least two: the first may build kernels; the
 * fastest sizes the rounds), then `repeat` rounds, each waited for. */
static clcnn_status time_rounds(clcnn_context *ctx, model_data *m, int train, int warmup,
                                int repeat, rate *out)
{
    clcnn_status st = CLCNN_OK;
    double step_ms = 1e30;
    for (int i = 0; i < (warmup > 2 ? warmup : 2) && st == CLCNN_OK; i++) {
        double t0 = bench_now_ms();
        if ((st = step(m, train)) == CLCNN_OK)
            st = clcnn_context_finish(ctx);
        double ms = bench_now_ms() - t0;
        step_ms = ms < step_ms ? ms : step_ms;
    }
    if (st != CLCNN_OK)
        return st;
    const int steps = step_ms >= ROUND_MS ? 1 : (int)(ROUND_MS / (step_ms > 0.01 ? step_ms : 0.01));
    double *ms = malloc((size_t)repeat * sizeof *ms), *cpu = malloc((size_t)repeat * sizeof *cpu);
    if (!ms || !cpu) {
        free(ms);
        free(cpu);
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int r = 0; r < repeat && st == CLCNN_OK; r++) {
        double c0 = bench_cpu_ms(), t0 = bench_now_ms();
        for (int i = 0; i < steps && st == CLCNN_OK; i++)
            st = step(m, train);
        if (st == CLCNN_OK)
            st = clcnn_context_finish(ctx);
        ms[r] = (bench_now_ms() - t0) / steps;
        cpu[r] = (bench_cpu_ms() - c0) / steps;
    }
    if (st == CLCNN_OK) {
        double best = bench_min(ms, (size_t)repeat);
        *out = (rate){0};
        out->ms_per_step = bench_median(ms, (size_t)repeat);
        out->cpu_ms_per_step = bench_median(cpu, (size_t)repeat);
        out->images_per_s = m->batch / out->ms_per_step * 1e3;
        out->best_images_per_s = m->batch / best * 1e3;
        out->steps_per_round = steps;
    }
    free(ms);
    free(cpu);
    return st;
}

/* With CLCNN_PROFILE_SETUP set: each program's build and each kernel's first
 * launch (waited for), wall and process CPU milliseconds, to stderr. */
static void print_setup_profile(const clcnn_context *ctx)
{
    const char *env = getenv("CLCNN_PROFILE_SETUP");
    if (!env || !*env || strcmp(env, "0") == 0)
        return;
    double wall = 0, cpu = 0;
    clcnn__build_timing b;
    fprintf(stderr, "%9s %9s  %s\n", "wall ms", "cpu ms", "program build | kernel first launch");
    for (size_t i = 0; clcnn__program_timing(ctx, i, &b); i++) {
        fprintf(stderr, "%9.1f %9.1f  %s%s\n", b.ms, b.cpu_ms, b.key,
                b.from_cache ? " (cached)" : "");
        wall += b.ms;
        cpu += b.cpu_ms;
        for (size_t j = 0; j < b.kernels; j++) {
            const char *name;
            struct clcnn__launch_timing first;
            clcnn__kernel_timing(ctx, i, j, &name, &first);
            if (first.ms >= 0) {
                fprintf(stderr, "%9.1f %9.1f    | %s\n", first.ms, first.cpu_ms, name);
                wall += first.ms;
                cpu += first.cpu_ms;
            } else
                fprintf(stderr, "%9s %9s    | %s (not launched)\n", "", "", name);
        }
    }
    fprintf(stderr, "%9.1f %9.1f  total\n", wall, cpu);
}

static void free_data(model_data *m)
{
    clcnn_net_destroy(m->net);
    free(m->x);
    free(m->labels);
    free(m->probs);
}

int clcnn__bench_model(const char *model, const char *device, int batch, int repeat,
                       int warmup, int json)
{
    const int c = 1, h = 28, w = 28;
    model_data m = {.batch = batch};
    clcnn_context *ctx = NULL;
    int rc = CLCNN__EXIT_OK;

    /* set-up: what `clcnn train` does before its first step, reading data aside */
    double t0 = bench_now_ms(), cpu0 = bench_cpu_ms();
    if ((rc = clcnn__cli_context("bench", device, &ctx)))
        return rc;
    double t_context = bench_now_ms();
    if (clcnn_net_create(ctx, model, batch, c, h, w, &m.net) != CLCNN_OK ||
        clcnn_net_init(m.net, 1) != CLCNN_OK ||
        clcnn_net_set_optimizer(m.net, &(clcnn_optim_params){.kind = CLCNN_OPTIM_ADAM,
                                                              .lr = LR}) != CLCNN_OK) {
        rc = clcnn__cli_library_fail(ctx, "bench --model");
        goto done;
    }
    double t_build = bench_now_ms();
    const size_t nx = (size_t)batch * c * h * w;
    const int classes = clcnn_net_classes(m.net);
    m.x = malloc(nx * sizeof *m.x);
    m.labels = malloc((size_t)batch * sizeof *m.labels);
    m.probs = malloc((size_t)batch * (size_t)classes * sizeof *m.probs);
    if (!m.x || !m.labels || !m.probs) {
        rc = clcnn__cli_fail("bench", "out of memory");
        goto done;
    }
    /* roughly the range of MNIST pixels after normalisation */
    bench_rng rng = bench_rng_make(5);
    bench_fill(&rng, m.x, nx, -0.5f, 2.5f);
    for (int i = 0; i < batch; i++)
        m.labels[i] = (float)(i % classes);
    /* every kernel of training and prediction built or loaded: ready */
    if (clcnn_net_prepare(m.net) != CLCNN_OK) {
        rc = clcnn__cli_library_fail(ctx, "bench --model");
        goto done;
    }
    double t_ready = bench_now_ms(), cpu_ready = bench_cpu_ms();
    print_setup_profile(ctx);
    float loss = 0;
    if (step(&m, 1) != CLCNN_OK || clcnn_net_loss(m.net, &loss) != CLCNN_OK) {
        rc = clcnn__cli_library_fail(ctx, "bench --model");
        goto done;
    }
    double t_first = bench_now_ms();

    /* kernel launches of one training step and one inference batch: what
     * bounds a small network's step on a GPU */
    unsigned long long launches[3] = {0, 0, 0};
    clcnn_live_objects live;
    clcnn_status lst = clcnn_context_live_objects(ctx, &live);
    launches[0] = live.launches;
    if (lst == CLCNN_OK && (lst = step(&m, 1)) == CLCNN_OK &&
        (lst = clcnn_context_live_objects(ctx, &live)) == CLCNN_OK) {
        launches[1] = live.launches;
        if ((lst = step(&m, 0)) == CLCNN_OK &&
            (lst = clcnn_context_live_objects(ctx, &live)) == CLCNN_OK)
            launches[2] = live.launches;
    }
    if (lst != CLCNN_OK) {
        rc = clcnn__cli_library_fail(ctx, "bench --model");
        goto done;
    }
    const unsigned long long train_launches = launches[1] - launches[0];
    const unsigned long long infer_launches = launches[2] - launches[1];

    rate train, infer;
    if (time_rounds(ctx, &m, 1, warmup, repeat, &train) != CLCNN_OK ||
        clcnn_net_loss(m.net, &loss) != CLCNN_OK ||
        time_rounds(ctx, &m, 0, warmup, repeat, &infer) != CLCNN_OK) {
        rc = clcnn__cli_library_fail(ctx, "bench --model");
        goto done;
    }
    clcnn_device_info info;
    clcnn_context_device(ctx, &info);
    if (json) {
        printf("{\"type\": \"model\", ");
        clcnn__bench_json_device(stdout, &info);
        printf(", \"model\": ");
        bench_json_string(stdout, model);
        printf(", \"spec\": ");
        bench_json_string(stdout, clcnn_net_spec(m.net));
        printf(", \"batch\": %d, \"params\": %zu, \"context_ms\": %.1f, \"build_ms\": %.1f, "
               "\"prepare_ms\": %.1f, \"setup_ms\": %.1f, \"setup_cpu_ms\": %.1f, "
               "\"first_step_ms\": %.1f, ",
               batch, clcnn_net_param_count(m.net), t_context - t0, t_build - t_context,
               t_ready - t_build, t_ready - t0, cpu_ready - cpu0, t_first - t_ready);
        printf("\"train_images_per_s\": %.1f, \"train_best_images_per_s\": %.1f, "
               "\"train_ms_per_step\": %.4f, \"train_cpu_ms_per_step\": %.4f, "
               "\"train_launches_per_step\": %llu, \"infer_launches_per_batch\": %llu, ",
               train.images_per_s, train.best_images_per_s, train.ms_per_step,
               train.cpu_ms_per_step, train_launches, infer_launches);
        printf("\"infer_images_per_s\": %.1f, \"infer_best_images_per_s\": %.1f, "
               "\"infer_ms_per_batch\": %.4f, \"infer_cpu_ms_per_batch\": %.4f, "
               "\"repeat\": %d, \"train_steps_per_round\": %d, \"infer_steps_per_round\": %d}\n",
               infer.images_per_s, infer.best_images_per_s, infer.ms_per_step,
               infer.cpu_ms_per_step, repeat, train.steps_per_round, infer.steps_per_round);
    } else {
        clcnn__bench_text_device(stdout, &info);
        printf("model %s (%zu parameters), batch %d, random 1x28x28 images\n",
               clcnn_net_spec(m.net), clcnn_net_param_count(m.net), batch);
        printf("set-up %.1f ms (CPU %.1f ms): context %.1f ms, network %.1f ms, kernels %.1f "
               "ms; then the first training step %.1f ms\n",
               t_ready - t0, cpu_ready - cpu0, t_context - t0, t_build - t_context,
               t_ready - t_build, t_first - t_ready);
        printf("training  %10.0f images/s (best round %.0f), %.3f ms per step, CPU %.3f ms\n",
               train.images_per_s, train.best_images_per_s, train.ms_per_step,
               train.cpu_ms_per_step);
        printf("inference %10.0f images/s (best round %.0f), %.3f ms per batch, CPU %.3f ms\n",
               infer.images_per_s, infer.best_images_per_s, infer.ms_per_step,
               infer.cpu_ms_per_step);
        printf("(median of %d rounds of %d training / %d inference steps)\n", repeat,
               train.steps_per_round, infer.steps_per_round);
        printf("kernel launches: %llu per training step, %llu per inference batch\n",
               train_launches, infer_launches);
    }
done:
    free_data(&m);
    double t_destroy = bench_now_ms(), cpu_destroy = bench_cpu_ms();
    clcnn_context_destroy(ctx);
    if (getenv("CLCNN_PROFILE_SETUP"))
        fprintf(stderr, "context destroyed in %.1f ms (CPU %.1f ms)\n", bench_now_ms() - t_destroy,
                bench_cpu_ms() - cpu_destroy);
    return rc;
}
