/*
 * The training and evaluation loops over a data set: shuffled batches, the
 * learning-rate schedule, sampled loss read-backs and the confusion matrix.
 * They drive the network through its public calls only.
 */
#include <math.h>
#include <string.h>

#include "net.h"

static clcnn_status check_data(clcnn_net *net, const clcnn_dataset *ds)
{
    if (!ds)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT, "the data set is NULL");
    int c, h, w;
    clcnn_dataset_shape(ds, &c, &h, &w);
    if (c != net->in_shape[1] || h != net->in_shape[2] || w != net->in_shape[3])
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE,
                           "the data set's images are %dx%dx%d but the network takes %dx%dx%d",
                           c, h, w, net->in_shape[1], net->in_shape[2], net->in_shape[3]);
    if (clcnn_dataset_classes(ds) > clcnn_net_classes(net))
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE,
                           "the data set has %d classes but the network only %d outputs",
                           clcnn_dataset_classes(ds), clcnn_net_classes(net));
    return CLCNN_OK;
}

/* Shifts each image of x (n planes of h x w per channel) by a random offset
 * in [-max_shift, max_shift] in each direction, filling with background.
 * Row by row: the part of a source row that stays inside is one copy. */
static void shift_images(float *x, size_t n, const int shape[4], int max_shift,
                         float background, clcnn_rng *rng, float *scratch)
{
    int c = shape[1], h = shape[2], w = shape[3];
    size_t plane = (size_t)h * (size_t)w;
    for (size_t i = 0; i < n; i++) {
        int span = 2 * max_shift + 1;
        int dy = (int)(clcnn_rng_next(rng) % (unsigned)span) - max_shift;
        int dx = (int)(clcnn_rng_next(rng) % (unsigned)span) - max_shift;
        /* output columns [lo, hi) come from source columns [lo - dx, hi - dx) */
        int lo = dx > 0 ? dx : 0, hi = dx < 0 ? w + dx : w;
        for (int ch = 0; ch < c; ch++) {
            float *p = x + (i * (size_t)c + (size_t)ch) * plane;
            for (int y = 0; y < h; y++) {
                float *row = scratch + (size_t)y * (size_t)w;
                int sy = y - dy;
                if (sy < 0 || sy >= h) {
                    for (int xx = 0; xx < w; xx++)
                        row[xx] = background;
                    continue;
                }
                for (int xx = 0; xx < lo; xx++)
                    row[xx] = background;
                memcpy(row + lo, p + (size_t)sy * (size_t)w + (lo - dx),
                       (size_t)(hi - lo) * sizeof *row);
                for (int xx = hi; xx < w; xx++)
                    row[xx] = background;
            }
            memcpy(p, scratch, plane * sizeof *p);
        }
    }
}

/* Draws what shifting n images would draw, so that a replica that shifts
 * only its share of a batch leaves the generator where one process would. */
static void skip_shifts(clcnn_rng *rng, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++)
        (void)clcnn_rng_next(rng);
}

/* The step's mean loss over every replica's images, each replica's own mean
 * weighted by its image count (a replica without images adds nothing). */
static clcnn_status exchanged_loss(clcnn_net *net, size_t mine, float *loss)
{
    float sum[2] = {0.0f, (float)mine};
    clcnn_status st = mine ? clcnn_net_loss(net, loss) : CLCNN_OK;
    if (st != CLCNN_OK)
        return st;
    if (mine)
        sum[0] = *loss * (float)mine;
    if (net->exchange.allreduce(net->exchange.user, sum, 2) != 0)
        return clcnn__fail(net->ctx, CLCNN_ERR_EXCHANGE,
                           "the allreduce of the loss failed on replica %d of %d",
                           net->exchange.rank, net->exchange.ranks);
    *loss = sum[1] > 0 ? sum[0] / sum[1] : 0.0f;
    return CLCNN_OK;
}

/* A stop that any replica's progress callback asks for stops them all at
 * this batch: one that went on alone would wait for the others forever. */
static clcnn_status agree_to_stop(clcnn_net *net, int *stopped)
{
    float votes = *stopped ? 1.0f : 0.0f;
    if (net->exchange.allreduce(net->exchange.user, &votes, 1) != 0)
        return clcnn__fail(net->ctx, CLCNN_ERR_EXCHANGE,
                           "the allreduce of the stop request failed on replica %d of %d",
                           net->exchange.rank, net->exchange.ranks);
    *stopped = votes > 0.0f;
    return CLCNN_OK;
}

clcnn_status clcnn_train_epoch(clcnn_net *net, const clcnn_dataset *ds,
                               const clcnn_train_options *options, clcnn_train_state *state,
                               float *mean_loss)
{
    if (mean_loss)
        *mean_loss = NAN;
    if (!net || !state)
        return clcnn__fail(net ? net->ctx : NULL, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !net ? "net" : "state");
    clcnn_status st = check_data(net, ds);
    if (st != CLCNN_OK)
        return st;
    char why[512];
    if (clcnn_train_state_validate(state, net->steps, why, sizeof why) != CLCNN_OK)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s", why);
    clcnn_train_options opt = options ? *options : (clcnn_train_options){0};
    if (opt.std == 0.0f) {
        opt.mean = CLCNN_MNIST_MEAN;
        opt.std = CLCNN_MNIST_STD;
    }
    if (opt.report_every <= 0)
        opt.report_every = 16;
    if (opt.max_shift < 0 || opt.max_shift >= net->in_shape[2] || opt.max_shift >= net->in_shape[3])
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "max_shift %d must be >= 0 and smaller than the image", opt.max_shift);
    /* replicas: the net's batch is this one's share of a global batch */
    int rank = net->exchange.allreduce ? net->exchange.rank : 0;
    int ranks = net->exchange.allreduce ? net->exchange.ranks : 1;
    size_t count = clcnn_dataset_count(ds), batch = (size_t)net->batch;
    size_t global = batch * (size_t)ranks;
    size_t batches = (count + global - 1) / global;
    if ((size_t)state->batch_in_epoch >= batches && state->batch_in_epoch > 0)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "training state: batch in epoch %ld is past the epoch's last batch "
                           "(%zu batches of %zu images)",
                           state->batch_in_epoch, batches, global);
    size_t plane = (size_t)net->in_shape[2] * (size_t)net->in_shape[3];
    size_t image = (size_t)net->in_shape[1] * plane;
    size_t *perm = clcnn__malloc(count * sizeof *perm);
    float *x = clcnn__malloc(batch * image * sizeof *x);
    float *labels = clcnn__malloc(batch * sizeof *labels);
    float *scratch = clcnn__malloc(plane * sizeof *scratch);
    if (!perm || !x || !labels || !scratch) {
        clcnn__free(perm);
        clcnn__free(x);
        clcnn__free(labels);
        clcnn__free(scratch);
        return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    /* A stopped epoch resumes with the order it began with; state->rng then
     * holds the generator as the stop left it, after the done batches' shifts. */
    if (state->batch_in_epoch == 0) {
        state->epoch_rng = state->rng;
        clcnn_rng_permutation(&state->rng, perm, count);
    } else {
        clcnn_rng order = state->epoch_rng;
        clcnn_rng_permutation(&order, perm, count);
    }
    float lr = clcnn_lr_at(&state->schedule, state->epoch);
    float background = -opt.mean / opt.std;
    double loss_sum = 0;
    int loss_reads = 0, stopped = 0;
    size_t b = (size_t)state->batch_in_epoch;
    for (; b < batches && st == CLCNN_OK && !stopped; b++) {
        size_t start = b * global, n = count - start < global ? count - start : global;
        /* this replica's share [lo, hi) of the n images; all of them alone */
        size_t lo = n * (size_t)rank / (size_t)ranks, hi = n * (size_t)(rank + 1) / (size_t)ranks;
        size_t mine = hi - lo;
        if (mine)
            st = clcnn_dataset_batch(ds, perm + start + lo, mine, opt.mean, opt.std, x, labels);
        if (st != CLCNN_OK) {
            clcnn__fail(net->ctx, st, "reading batch %zu of the data set failed", b);
            break;
        }
        if (opt.max_shift) {
            skip_shifts(&state->rng, lo);
            shift_images(x, mine, net->in_shape, opt.max_shift, background, &state->rng,
                         scratch);
            skip_shifts(&state->rng, n - hi);
        }
        /* a replica without images still takes part in the step's exchange */
        st = mine ? clcnn_net_train_batch(net, x, labels, (int)mine, lr)
                  : clcnn_net_step(net, lr);
        if (st == CLCNN_OK && ((b + 1) % (size_t)opt.report_every == 0 || b + 1 == batches)) {
            float loss;
            st = ranks > 1 ? exchanged_loss(net, mine, &loss) : clcnn_net_loss(net, &loss);
            if (st == CLCNN_OK) {
                loss_sum += loss;
                loss_reads++;
                if (opt.progress)
                    stopped = opt.progress(opt.user, start + n, count,
                                           (float)(loss_sum / loss_reads));
                if (ranks > 1) { /* replicas stop together, at a loss reading */
                    stopped = stopped || (opt.stop && *opt.stop);
                    st = agree_to_stop(net, &stopped);
                }
            }
        }
        if (ranks == 1)
            stopped = stopped || (opt.stop && *opt.stop);
    }
    clcnn__free(perm);
    clcnn__free(x);
    clcnn__free(labels);
    clcnn__free(scratch);
    /* b batches of the epoch are done; after a failure the state (like the
     * weights) is part-way through a batch and not worth keeping */
    if (st == CLCNN_OK && b < batches) {
        state->batch_in_epoch = (long)b;
    } else if (st == CLCNN_OK) {
        state->batch_in_epoch = 0;
        state->epoch_rng = state->rng;
        state->epoch++;
    }
    if (mean_loss && loss_reads)
        *mean_loss = (float)(loss_sum / loss_reads);
    return st;
}

clcnn_status clcnn_evaluate(clcnn_net *net, const clcnn_dataset *ds, float mean, float std,
                            float *accuracy, long *confusion)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st = check_data(net, ds);
    if (st != CLCNN_OK)
        return st;
    if (!isfinite(mean) || !isfinite(std) || !(std > 0))
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "normalisation mean %g and std %g must be finite, std > 0",
                           (double)mean, (double)std);
    int classes = clcnn_net_classes(net);
    size_t count = clcnn_dataset_count(ds), batch = (size_t)net->batch;
    size_t image = (size_t)net->in_shape[1] * net->in_shape[2] * net->in_shape[3];
    size_t *idx = clcnn__malloc(batch * sizeof *idx);
    float *x = clcnn__malloc(batch * image * sizeof *x);
    float *labels = clcnn__malloc(batch * sizeof *labels);
    float *probs = clcnn__malloc(batch * (size_t)classes * sizeof *probs);
    if (!idx || !x || !labels || !probs) {
        st = clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        goto done;
    }
    if (confusion)
        memset(confusion, 0, (size_t)classes * (size_t)classes * sizeof *confusion);
    size_t correct = 0;
    for (size_t start = 0; start < count && st == CLCNN_OK; start += batch) {
        size_t n = count - start < batch ? count - start : batch;
        for (size_t i = 0; i < n; i++)
            idx[i] = start + i;
        st = clcnn_dataset_batch(ds, idx, n, mean, std, x, labels);
        if (st == CLCNN_OK)
            st = clcnn_net_predict(net, x, (int)n, probs);
        for (size_t i = 0; i < n && st == CLCNN_OK; i++) {
            const float *p = probs + i * (size_t)classes;
            /* NaN would lose every comparison below and count as class 0 */
            for (int k = 0; k < classes && st == CLCNN_OK; k++)
                if (!isfinite(p[k]))
                    st = clcnn__fail(net->ctx, CLCNN_ERR_NUMERIC,
                                     "the network's output for image %zu is not finite (%g); "
                                     "clcnn_net_check_finite says where it starts",
                                     start + i, (double)p[k]);
            if (st != CLCNN_OK)
                break;
            int best = 0;
            for (int k = 1; k < classes; k++)
                if (p[k] > p[best])
                    best = k;
            int truth = (int)labels[i];
            correct += best == truth;
            if (confusion)
                confusion[truth * classes + best]++;
        }
    }
    if (st == CLCNN_OK && accuracy)
        *accuracy = count ? (float)((double)correct / (double)count) : 0.0f;
done:
    clcnn__free(idx);
    clcnn__free(x);
    clcnn__free(labels);
    clcnn__free(probs);
    return st;
}
