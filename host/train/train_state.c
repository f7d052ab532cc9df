/*
 * The training state's valid ranges: one check, shared by checkpoint loading
 * and saving, the training loop and the clcnn tool's command line, so that a
 * value no run could have produced is refused wherever it comes from.
 */
#include <math.h>
#include <stdint.h>

#include "runtime.h"

#define STEPS_PER_EPOCH_MAX ((long long)1 << 31)

static int rng_dead(const clcnn_rng *rng)
{
    return !(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]);
}

/* An integer field in [lo, hi]. */
#define CHECK_RANGE_(field, value, lo, hi)                                                     \
    do {                                                                                       \
        if ((long long)(value) < (long long)(lo) || (long long)(value) > (long long)(hi))      \
            return clcnn__message(message, message_size,                                       \
                                  "training state: " field " %lld is outside [%lld, %lld]",    \
                                  (long long)(value), (long long)(lo), (long long)(hi)),       \
                   CLCNN_ERR_INVALID_ARGUMENT;                                                 \
    } while (0)

/* A float field that must satisfy ok (NaN fails every comparison). */
#define CHECK_FLOAT_(field, value, ok, range)                                                  \
    do {                                                                                       \
        if (!(ok))                                                                             \
            return clcnn__message(message, message_size,                                       \
                                  "training state: " field " %g is not " range,                \
                                  (double)(value)),                                            \
                   CLCNN_ERR_INVALID_ARGUMENT;                                                 \
    } while (0)

clcnn_status clcnn_train_state_validate(const clcnn_train_state *state, long steps,
                                        char *message, size_t message_size)
{
    if (!state)
        return clcnn__message(message, message_size, "training state: state is NULL"),
               CLCNN_ERR_INVALID_ARGUMENT;
    const clcnn_train_state *s = state;
    const clcnn_lr_params *lr = &s->schedule;
    CHECK_RANGE_("epoch", s->epoch, 0, CLCNN_MAX_EPOCHS);
    CHECK_RANGE_("batch", s->batch, 1, CLCNN_MAX_BATCH);
    CHECK_RANGE_("schedule kind", lr->kind, CLCNN_LR_CONSTANT, CLCNN_LR_COSINE);
    int step = lr->kind == CLCNN_LR_STEP, cosine = lr->kind == CLCNN_LR_COSINE;
    CHECK_FLOAT_("base learning rate", lr->base_lr, isfinite(lr->base_lr) && lr->base_lr > 0,
                 "finite and > 0");
    CHECK_RANGE_("schedule step size", lr->step_size, step ? 1 : 0, CLCNN_MAX_EPOCHS);
    if (step)
        CHECK_FLOAT_("schedule gamma", lr->gamma, lr->gamma > 0 && lr->gamma <= 1, "in (0, 1]");
    else
        CHECK_FLOAT_("schedule gamma", lr->gamma, lr->gamma >= 0 && lr->gamma <= 1, "in [0, 1]");
    CHECK_RANGE_("schedule total", lr->total, cosine ? 1 : 0, CLCNN_MAX_EPOCHS);
    if (lr->total > 0 && s->epoch > lr->total)
        return clcnn__message(message, message_size,
                              "training state: epoch %d is past the schedule's total of %ld "
                              "epochs",
                              s->epoch, lr->total),
               CLCNN_ERR_INVALID_ARGUMENT;
    CHECK_FLOAT_("schedule minimum learning rate", lr->min_lr,
                 isfinite(lr->min_lr) && lr->min_lr >= 0 && lr->min_lr <= lr->base_lr,
                 "in [0, base learning rate]");
    CHECK_FLOAT_("best accuracy", s->best_accuracy,
                 s->best_accuracy >= 0 && s->best_accuracy <= 1, "in [0, 1]");
    if (rng_dead(&s->rng))
        return clcnn__message(message, message_size,
                              "training state: the random generator's state is all zero, "
                              "which no seed produces"),
               CLCNN_ERR_INVALID_ARGUMENT;
    CHECK_RANGE_("batch in epoch", s->batch_in_epoch, 0, STEPS_PER_EPOCH_MAX - 1);
    if (s->batch_in_epoch > 0 && rng_dead(&s->epoch_rng))
        return clcnn__message(message, message_size,
                              "training state: the epoch's random generator state is all "
                              "zero, which no seed produces"),
               CLCNN_ERR_INVALID_ARGUMENT;
    long long least = (long long)s->epoch + s->batch_in_epoch;
    CHECK_RANGE_("optimiser step count", steps, least,
                 ((long long)s->epoch + 1) * STEPS_PER_EPOCH_MAX);
    return CLCNN_OK;
}
