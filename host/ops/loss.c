/*
 * Loss: softmax cross-entropy fused with its gradient, in one launch of one
 * work-group that also reduces the mean loss on the device (kernels/loss.cl).
 */
#include <stdio.h>

#include "loss.h"
#include "runtime.h"

clcnn_status clcnn__softmax_xent_check(const int logits[4], const int labels[4],
                                       const int dlogits[4], const int loss[4], char *message,
                                       size_t message_size)
{
    char a[64], b[64];
    if (!logits || !labels) {
        clcnn__message(message, message_size, "softmax cross-entropy: %s is NULL",
                       !logits ? "logits" : "labels");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (clcnn__shape_count(logits) == 0 || logits[2] != 1 || logits[3] != 1) {
        clcnn__message(message, message_size,
                       "softmax cross-entropy: logits %s must be (N, K, 1, 1); flatten with "
                       "a view first",
                       clcnn__shape_str(logits, a, sizeof a));
        return CLCNN_ERR_SHAPE;
    }
    size_t label_count = clcnn__shape_count(labels);
    if (label_count != (size_t)logits[0]) {
        clcnn__message(message, message_size,
                       "softmax cross-entropy: labels %s hold %zu elements, but logits %s "
                       "have N = %d samples",
                       clcnn__shape_str(labels, a, sizeof a), label_count,
                       clcnn__shape_str(logits, b, sizeof b), logits[0]);
        return CLCNN_ERR_SHAPE;
    }
    if (dlogits) {
        for (int i = 0; i < 4; i++)
            if (dlogits[i] != logits[i]) {
                clcnn__message(message, message_size,
                               "softmax cross-entropy: dlogits %s must have the shape of "
                               "logits %s",
                               clcnn__shape_str(dlogits, a, sizeof a),
                               clcnn__shape_str(logits, b, sizeof b));
                return CLCNN_ERR_SHAPE;
            }
    }
    if (loss && clcnn__shape_count(loss) != 1) {
        clcnn__message(message, message_size,
                       "softmax cross-entropy: loss %s must hold exactly one element",
                       clcnn__shape_str(loss, a, sizeof a));
        return CLCNN_ERR_SHAPE;
    }
    return CLCNN_OK;
}

/* Largest power of two <= n (n >= 1). */
static size_t pow2_floor(size_t n)
{
    size_t p = 1;
    while (p * 2 <= n)
        p *= 2;
    return p;
}

/* logits (N,K,1,1), labels (N) -> dlogits (N,K,1,1), loss (1,1,1,1) */
clcnn_status clcnn_softmax_cross_entropy(clcnn_context *ctx, const clcnn_tensor *logits,
                                         const clcnn_tensor *labels, clcnn_tensor *dlogits,
                                         clcnn_tensor *loss)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st = clcnn__check_tensor(ctx, logits, "logits");
    if (st == CLCNN_OK)
        st = clcnn__check_tensor(ctx, labels, "labels");
    if (st == CLCNN_OK && dlogits)
        st = clcnn__check_tensor(ctx, dlogits, "dlogits");
    if (st == CLCNN_OK && loss)
        st = clcnn__check_tensor(ctx, loss, "loss");
    if (st != CLCNN_OK)
        return st;
    char msg[512];
    st = clcnn__softmax_xent_check(logits->shape, labels->shape, dlogits ? dlogits->shape : NULL,
                                   loss ? loss->shape : NULL, msg, sizeof msg);
    if (st != CLCNN_OK)
        return clcnn__fail(ctx, st, "%s", msg);
    if (!dlogits && !loss)
        return CLCNN_OK; /* nothing asked for */

    /* One group does the whole batch (a deterministic reduction without a
     * second launch). A CPU runs one work-item per sample; a GPU gives each
     * row a team of lanes so that its reads coalesce, about one lane per 8
     * classes, up to a warp. */
    const int k = logits->shape[1];
    size_t wg = ctx->info.is_gpu ? 256 : 64;
    wg = pow2_floor(wg < ctx->max_work_group_size ? wg : ctx->max_work_group_size);
    size_t team = 1;
    if (ctx->info.is_gpu)
        while (team < 32 && team * 8 < (size_t)k && team < wg)
            team *= 2;
    return clcnn__softmax_xent_launch(ctx, logits, labels, dlogits, loss, wg, team);
}

clcnn_status clcnn__softmax_xent_launch(clcnn_context *ctx, const clcnn_tensor *logits,
                                        const clcnn_tensor *labels, clcnn_tensor *dlogits,
                                        clcnn_tensor *loss, size_t wg, size_t team)
{
    if (wg == 0 || team == 0 || (wg & (wg - 1)) || (team & (team - 1)) || team > wg ||
        wg > ctx->max_work_group_size)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "softmax cross-entropy: work-group %zu and team %zu must be powers "
                           "of two with team <= work-group <= %zu",
                           wg, team, ctx->max_work_group_size);
    char options[64];
    snprintf(options, sizeof options, "-DWG=%zu -DTEAM=%zu", wg, team);
    cl_kernel kernel;
    clcnn_status st = clcnn__kernel(ctx, "loss", options, "softmax_xent_fwd_bwd", &kernel);
    if (st != CLCNN_OK)
        return st;

    /* an absent output is replaced by a buffer the kernel never writes */
    const clcnn_tensor *d = dlogits ? dlogits : logits;
    const clcnn_tensor *l = loss ? loss : logits;
    return CLCNN__LAUNCH(ctx, kernel, 1, &wg, &wg, CLCNN__ARG_TENSOR(logits),
                         CLCNN__ARG_TENSOR(labels), CLCNN__ARG_TENSOR(d), CLCNN__ARG_TENSOR(l),
                         CLCNN__ARG_INT(logits->shape[0]), CLCNN__ARG_INT(logits->shape[1]),
                         CLCNN__ARG_INT(dlogits != NULL), CLCNN__ARG_INT(loss != NULL));
}
