/*
 * The gradient exchange without MPI: two replicas in two threads (a context
 * each), summed by a fake allreduce, must end an epoch with the weights, loss
 * and generator of one network alone on the whole batch, and stop together;
 * bucket sizes at their bounds and a failing allreduce.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "testutil.h"

#define REPLICAS 2

/* A sum over REPLICAS threads: each posts its buffer, the last to arrive
 * adds them in rank order, and all copy the sum back. */
typedef struct fake_world {
    pthread_barrier_t barrier;
    float *data[REPLICAS];
    size_t count[REPLICAS];
    float *sum;
    size_t sum_capacity;
    int mismatch; /* the replicas called with different counts */
} fake_world;

typedef struct replica {
    fake_world *world;
    int rank;
    long grad_calls, small_calls; /* the loss (2 floats) and stop votes (1) */
    size_t largest_call;
} replica;

static int fake_allreduce(void *user, float *data, size_t count)
{
    replica *r = user;
    fake_world *w = r->world;
    if (count <= 2)
        r->small_calls++;
    else
        r->grad_calls++;
    if (count > r->largest_call)
        r->largest_call = count;
    w->data[r->rank] = data;
    w->count[r->rank] = count;
    int last = pthread_barrier_wait(&w->barrier) == PTHREAD_BARRIER_SERIAL_THREAD;
    if (last) {
        for (int k = 1; k < REPLICAS; k++)
            w->mismatch |= w->count[k] != w->count[0];
        if (count > w->sum_capacity) {
            free(w->sum);
            w->sum = malloc(count * sizeof *w->sum);
            w->sum_capacity = w->sum ? count : 0;
        }
        for (size_t i = 0; w->sum && i < count; i++) {
            float s = 0.0f;
            for (int k = 0; k < REPLICAS; k++)
                s += w->data[k][i];
            w->sum[i] = s;
        }
    }
    pthread_barrier_wait(&w->barrier);
    int ok = w->sum != NULL && !w->mismatch;
    if (ok)
        memcpy(data, w->sum, count * sizeof *data);
    pthread_barrier_wait(&w->barrier); /* nobody overwrites the sum before all copied */
    return ok ? 0 : 1;
}

typedef struct job {
    replica rep;
    clcnn_context *ctx;
    clcnn_net *net;
    const clcnn_dataset *ds;
    clcnn_train_options opt;
    clcnn_train_state state;
    float loss;
    clcnn_status st;
    char error[512];
} job;

static void *run_epoch(void *arg)
{
    job *j = arg;
    j->st = clcnn_train_epoch(j->net, j->ds, &j->opt, &j->state, &j->loss);
    if (j->st != CLCNN_OK)
        snprintf(j->error, sizeof j->error, "%s", clcnn_last_error(j->ctx));
    return NULL;
}

static clcnn_dataset *load_mnist(size_t keep)
{
    const char *dir = getenv("CLCNN_SOURCE_DIR");
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/data/mnist", dir ? dir : ".");
    clcnn_dataset *ds = NULL;
    clcnn_status st = clcnn_dataset_load_dir(path, "train", &ds, err, sizeof err);
    ck_assert_msg(st == CLCNN_OK, "loading MNIST: %s", err);
    ck_assert_int_eq(clcnn_dataset_truncate(ds, keep), CLCNN_OK);
    return ds;
}

static clcnn_net *make_net(clcnn_context *ctx, int batch)
{
    clcnn_net *net = NULL;
    ck_assert_int_eq(clcnn_net_create(ctx, "lenet5", batch, 1, 28, 28, &net), CLCNN_OK);
    clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 0.002f};
    ck_assert_int_eq(clcnn_net_init(net, 7), CLCNN_OK);
    ck_assert_int_eq(clcnn_net_set_optimizer(net, &adam), CLCNN_OK);
    return net;
}

/* Largest |a - b| over the arena, relative to the largest |b|. */
static double max_relative(const float *a, const float *b, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return scale > 0 ? diff / scale : INFINITY;
}

/*
 * 203 images in global batches of 14 end with 7, shared 3 and 4; 197 end
 * with 1, so replica 0 has none in the last step. Buckets of 1000 floats
 * split LeNet-5's 61706 gradients (+1 count) into 62 calls per step.
 */
static const size_t sizes[] = {203, 197};

START_TEST(test_two_replicas_match_one)
{
    const size_t count = sizes[_i];
    const int global = 14, bucket = 1000;
    clcnn_dataset *ds = load_mnist(count);
    clcnn_train_options opt = {.max_shift = 2, .report_every = 3};
    clcnn_lr_params sched = {.kind = CLCNN_LR_CONSTANT, .base_lr = 0.002f, .total = 1};

    /* one network alone on the whole batch */
    clcnn_net *alone = make_net(tu_ctx(), global);
    float *init = tu_read(alone->params);
    clcnn_train_state alone_state = {.batch = global, .schedule = sched};
    clcnn_rng_seed(&alone_state.rng, 3);
    float alone_loss = 0;
    tu_ok(clcnn_train_epoch(alone, ds, &opt, &alone_state, &alone_loss));
    float *want = tu_read(alone->params);
    size_t params = clcnn_net_param_count(alone);

    fake_world world = {0};
    ck_assert_int_eq(pthread_barrier_init(&world.barrier, NULL, REPLICAS), 0);
    job jobs[REPLICAS];
    memset(jobs, 0, sizeof jobs);
    for (int r = 0; r < REPLICAS; r++) {
        job *j = &jobs[r];
        char err[512];
        ck_assert_msg(clcnn_context_create(NULL, &j->ctx, err, sizeof err) == CLCNN_OK, "%s",
                      err);
        j->net = make_net(j->ctx, global / REPLICAS);
        j->rep = (replica){.world = &world, .rank = r};
        clcnn_exchange ex = {.rank = r, .ranks = REPLICAS, .allreduce = fake_allreduce,
                             .user = &j->rep, .bucket_floats = (size_t)bucket};
        ck_assert_int_eq(clcnn_net_set_exchange(j->net, &ex), CLCNN_OK);
        j->ds = ds;
        j->opt = opt;
        j->state = (clcnn_train_state){.batch = global, .schedule = sched};
        clcnn_rng_seed(&j->state.rng, 3);
    }
    pthread_t threads[REPLICAS];
    for (int r = 0; r < REPLICAS; r++)
        ck_assert_int_eq(pthread_create(&threads[r], NULL, run_epoch, &jobs[r]), 0);
    for (int r = 0; r < REPLICAS; r++)
        pthread_join(threads[r], NULL);
    pthread_barrier_destroy(&world.barrier);
    free(world.sum);
    ck_assert_msg(!world.mismatch, "the replicas exchanged buffers of different sizes");

    long steps = (long)((count + (size_t)global - 1) / (size_t)global);
    long buckets = (long)((params + 1 + (size_t)bucket - 1) / (size_t)bucket);
    float *got[REPLICAS];
    for (int r = 0; r < REPLICAS; r++) {
        job *j = &jobs[r];
        ck_assert_msg(j->st == CLCNN_OK, "replica %d: %s", r, j->error);
        ck_assert_int_eq(clcnn_net_steps(j->net), steps);
        ck_assert_int_eq(j->rep.grad_calls, steps * buckets);
        ck_assert_uint_le(j->rep.largest_call, (size_t)bucket);
        ck_assert_int_eq(j->state.epoch, 1);
        /* the generator drew what one process draws, whichever share it shifted */
        ck_assert_mem_eq(j->state.rng.s, alone_state.rng.s, sizeof alone_state.rng.s);
        ck_assert_msg(fabs(j->loss - alone_loss) <= 1e-4 * fabs(alone_loss),
                      "replica %d: loss %.7g, alone %.7g", r, (double)j->loss,
                      (double)alone_loss);
        got[r] = tu_read(j->net->params);
    }
    /* the replicas hold one model and one optimiser state, bit for bit */
    ck_assert_mem_eq(got[0], got[1], params * sizeof *got[0]);
    float *state0 = tu_read(jobs[0].net->state), *state1 = tu_read(jobs[1].net->state);
    ck_assert_mem_eq(state0, state1, clcnn_tensor_count(jobs[0].net->state) * sizeof *state0);
    free(state0);
    free(state1);
    double moved = max_relative(want, init, params);
    double err = max_relative(got[0], want, params);
    ck_assert_msg(moved > 1e-2, "training hardly moved the weights (%g)", moved);
    ck_assert_msg(err <= 1e-4, "%zu images: the replicas' weights differ from one network's "
                               "by %g (relative), training moved them by %g",
                  count, err, moved);

    for (int r = 0; r < REPLICAS; r++) {
        free(got[r]);
        clcnn_net_destroy(jobs[r].net);
        clcnn_context_destroy(jobs[r].ctx);
    }
    free(init);
    free(want);
    clcnn_net_destroy(alone);
    clcnn_dataset_destroy(ds);
}
END_TEST

static int stop_now(void *user, size_t done, size_t total, float loss)
{
    (void)user;
    (void)done;
    (void)total;
    (void)loss;
    return 1;
}

/* Replica 1 alone asks to stop at its first loss reading (after 3 batches);
 * replica 0, with no progress callback, must stop there too. */
START_TEST(test_stop_reaches_every_replica)
{
    clcnn_dataset *ds = load_mnist(101);
    fake_world world = {0};
    ck_assert_int_eq(pthread_barrier_init(&world.barrier, NULL, REPLICAS), 0);
    job jobs[REPLICAS];
    memset(jobs, 0, sizeof jobs);
    for (int r = 0; r < REPLICAS; r++) {
        job *j = &jobs[r];
        char err[512];
        ck_assert_msg(clcnn_context_create(NULL, &j->ctx, err, sizeof err) == CLCNN_OK, "%s",
                      err);
        j->net = make_net(j->ctx, 5);
        j->rep = (replica){.world = &world, .rank = r};
        clcnn_exchange ex = {.rank = r, .ranks = REPLICAS, .allreduce = fake_allreduce,
                             .user = &j->rep};
        ck_assert_int_eq(clcnn_net_set_exchange(j->net, &ex), CLCNN_OK);
        j->ds = ds;
        j->opt = (clcnn_train_options){.report_every = 3, .progress = r == 1 ? stop_now : NULL};
        j->state = (clcnn_train_state){.batch = 10};
        j->state.schedule = (clcnn_lr_params){.kind = CLCNN_LR_CONSTANT, .base_lr = 0.001f};
        clcnn_rng_seed(&j->state.rng, 5);
    }
    pthread_t threads[REPLICAS];
    for (int r = 0; r < REPLICAS; r++)
        ck_assert_int_eq(pthread_create(&threads[r], NULL, run_epoch, &jobs[r]), 0);
    for (int r = 0; r < REPLICAS; r++)
        pthread_join(threads[r], NULL);
    pthread_barrier_destroy(&world.barrier);
    free(world.sum);
    for (int r = 0; r < REPLICAS; r++) {
        ck_assert_msg(jobs[r].st == CLCNN_OK, "replica %d: %s", r, jobs[r].error);
        ck_assert_int_eq(clcnn_net_steps(jobs[r].net), 3);
        ck_assert_int_eq(jobs[r].state.epoch, 0);
        clcnn_net_destroy(jobs[r].net);
        clcnn_context_destroy(jobs[r].ctx);
    }
    clcnn_dataset_destroy(ds);
}
END_TEST

/* Counts the calls and the floats of an exchange with one replica (the
 * sum is the data itself). */
typedef struct tally {
    long calls;
    size_t floats, largest;
} tally;

static int counting_allreduce(void *user, float *data, size_t count)
{
    tally *t = user;
    (void)data;
    t->calls++;
    t->floats += count;
    t->largest = count > t->largest ? count : t->largest;
    return 0;
}

/* Buckets of 1 float (the count alone first), 7 (not dividing), the whole
 * arena exactly, and SIZE_MAX (one call, the bucket count must not wrap). */
START_TEST(test_bucket_bounds)
{
    clcnn_net *net = make_net(tu_ctx(), 3);
    size_t total = clcnn_net_param_count(net) + 1;
    const size_t buckets[] = {1, 7, total, SIZE_MAX};
    float *x = tu_alloc(3 * 784 * sizeof *x), labels[3] = {3, 1, 8};
    tu_rng rng = tu_rng_make(2);
    tu_fill(&rng, x, 3 * 784, -1.0f, 1.0f);
    for (size_t i = 0; i < sizeof buckets / sizeof buckets[0]; i++) {
        tally t = {0};
        clcnn_exchange ex = {.rank = 0, .ranks = 1, .allreduce = counting_allreduce,
                             .user = &t, .bucket_floats = buckets[i]};
        tu_ok(clcnn_net_set_exchange(net, &ex));
        tu_ok(clcnn_net_train_batch(net, x, labels, 3, 0.001f));
        tu_ok(clcnn_context_finish(tu_ctx()));
        size_t size = buckets[i] < total ? buckets[i] : total;
        ck_assert_int_eq(t.calls, (long)((total - 1) / size + 1));
        ck_assert_uint_eq(t.floats, total);
        ck_assert_uint_eq(t.largest, size);
    }
    free(x);
    clcnn_net_destroy(net);
}
END_TEST

static int failing_allreduce(void *user, float *data, size_t count)
{
    (void)data;
    (void)count;
    ++*(int *)user;
    return 1;
}

START_TEST(test_failed_exchange_keeps_weights)
{
    clcnn_net *net = make_net(tu_ctx(), 5);
    int calls = 0;
    clcnn_exchange ex = {.rank = 0, .ranks = 1, .allreduce = failing_allreduce, .user = &calls};
    tu_ok(clcnn_net_set_exchange(net, &ex));
    size_t n = 5 * 28 * 28;
    float *x = tu_alloc(n * sizeof *x), labels[5] = {1, 0, 4, 9, 2};
    tu_rng rng = tu_rng_make(11);
    tu_fill(&rng, x, n, -1.0f, 1.0f);
    float *before = tu_read(net->params);
    tu_expect_status(clcnn_net_train_batch(net, x, labels, 5, 0.01f), CLCNN_ERR_EXCHANGE);
    tu_expect_message("bucket 1 of 1");
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(clcnn_net_steps(net), 0);
    float *after = tu_read(net->params);
    ck_assert_mem_eq(before, after, clcnn_net_param_count(net) * sizeof *before);
    /* alone again, the same batch trains */
    tu_ok(clcnn_net_set_exchange(net, NULL));
    tu_ok(clcnn_net_train_batch(net, x, labels, 5, 0.01f));
    ck_assert_int_eq(clcnn_net_steps(net), 1);
    free(x);
    free(before);
    free(after);
    clcnn_net_destroy(net);
}
END_TEST

START_TEST(test_bad_exchange)
{
    clcnn_net *net = make_net(tu_ctx(), 2);
    int calls = 0;
    const clcnn_exchange bad[] = {
        {.rank = 0, .ranks = 0, .allreduce = failing_allreduce},
        {.rank = 2, .ranks = 2, .allreduce = failing_allreduce},
        {.rank = -1, .ranks = 2, .allreduce = failing_allreduce},
        {.rank = 0, .ranks = 2, .allreduce = NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        tu_expect_status(clcnn_net_set_exchange(net, &bad[i]), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn_net_set_exchange(NULL, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(calls, 0);
    clcnn_net_destroy(net);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange");
    TCase *tc = tcase_create("exchange");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_two_replicas_match_one, 0, 2);
    tcase_add_test(tc, test_stop_reaches_every_replica);
    tcase_add_test(tc, test_bucket_bounds);
    tcase_add_test(tc, test_failed_exchange_keeps_weights);
    tcase_add_test(tc, test_bad_exchange);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
