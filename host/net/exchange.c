/*
 * Data-parallel training: the gradient arena is read to the host in a few
 * large buckets, summed over the replicas by the caller's allreduce (MPI,
 * NCCL or its own) and written back as the mean over every image of the step.
 */
#include <string.h>

#include "net.h"

/* Large enough that a call's latency is small beside its transfer, small
 * enough that reading the next bucket overlaps the exchange of this one. */
#define DEFAULT_BUCKET_FLOATS ((size_t)1 << 22)

void clcnn__net_exchange_release(clcnn_net *net)
{
    if (net->exchange_host)
        clFinish(net->ctx->queue); /* writes from the host copy may be pending */
    for (size_t i = 0; i < net->exchange_buckets; i++)
        if (net->exchange_reads && net->exchange_reads[i])
            clReleaseEvent(net->exchange_reads[i]);
    clcnn__free(net->exchange_host);
    clcnn__free(net->exchange_reads);
    net->exchange_host = NULL;
    net->exchange_reads = NULL;
    net->exchange_buckets = 0;
    memset(&net->exchange, 0, sizeof net->exchange);
}

clcnn_status clcnn_net_set_exchange(clcnn_net *net, const clcnn_exchange *exchange)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    if (exchange && (exchange->ranks < 1 || exchange->rank < 0 ||
                     exchange->rank >= exchange->ranks || !exchange->allreduce))
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "the exchange needs ranks >= 1, a rank in 0..ranks-1 and an "
                           "allreduce; it has rank %d of %d and %s allreduce",
                           exchange->rank, exchange->ranks, exchange->allreduce ? "an" : "no");
    clcnn__net_exchange_release(net);
    if (!exchange)
        return CLCNN_OK;
    clcnn_exchange ex = *exchange;
    if (ex.bucket_floats == 0)
        ex.bucket_floats = DEFAULT_BUCKET_FLOATS;
    size_t total = net->param_count + 1; /* the image count leads */
    /* not (total + size - 1) / size, which wraps for a size near SIZE_MAX */
    size_t buckets = total / ex.bucket_floats + (total % ex.bucket_floats != 0);
    net->exchange_host = clcnn__malloc(total * sizeof *net->exchange_host);
    net->exchange_reads = clcnn__calloc(buckets, sizeof *net->exchange_reads);
    if (!net->exchange_host || !net->exchange_reads) {
        clcnn__free(net->exchange_host);
        clcnn__free(net->exchange_reads);
        net->exchange_host = NULL;
        net->exchange_reads = NULL;
        return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    net->exchange_buckets = buckets;
    net->exchange = ex;
    return CLCNN_OK;
}

/* Host element i (i >= 1) is gradient i - 1; element 0 is the image count. */
static void bucket_range(const clcnn_net *net, size_t b, size_t *lo, size_t *hi)
{
    size_t total = net->param_count + 1, size = net->exchange.bucket_floats;
    *lo = b * size;
    *hi = *lo + size < total ? *lo + size : total;
}

static void scale(float *p, size_t n, float factor)
{
    for (size_t i = 0; i < n; i++)
        p[i] *= factor;
}

/*
 * Each replica's gradients are the mean over its own images; multiplied by
 * that count before the sum and divided by the summed count after it, they
 * become the mean over all images of the step, however unevenly the step's
 * images were shared out.
 */
clcnn_status clcnn__net_exchange_gradients(clcnn_net *net)
{
    clcnn_context *ctx = net->ctx;
    float *host = net->exchange_host;
    cl_mem mem = net->grads->mem;
    size_t base = net->grads->offset * sizeof(float);
    clcnn_status st = CLCNN_OK;
    size_t enqueued = 0;
    /* every read at once: the device copies later buckets while earlier ones are exchanged */
    for (size_t b = 0; b < net->exchange_buckets; b++) {
        size_t lo, hi;
        bucket_range(net, b, &lo, &hi);
        size_t first = lo ? lo : 1; /* gradient index first - 1 */
        if (hi <= first) {
            enqueued++;
            continue; /* a bucket holding only the count */
        }
        cl_int err = clEnqueueReadBuffer(ctx->queue, mem, CL_FALSE,
                                         base + (first - 1) * sizeof(float),
                                         (hi - first) * sizeof(float), host + first, 0, NULL,
                                         &net->exchange_reads[b]);
        if (err != CL_SUCCESS) {
            net->exchange_reads[b] = NULL;
            st = clcnn__cl_fail(ctx, err, "clEnqueueReadBuffer (the gradients to exchange)");
            break;
        }
        enqueued++;
    }
    float images = (float)net->backward_images, inv_total = 0.0f;
    host[0] = images;
    for (size_t b = 0; b < enqueued; b++) {
        size_t lo, hi;
        bucket_range(net, b, &lo, &hi);
        if (net->exchange_reads[b]) {
            cl_int err = clWaitForEvents(1, &net->exchange_reads[b]);
            clReleaseEvent(net->exchange_reads[b]);
            net->exchange_reads[b] = NULL;
            if (err != CL_SUCCESS && st == CLCNN_OK)
                st = clcnn__cl_fail(ctx, err, "clWaitForEvents (a gradient read)");
        }
        if (st != CLCNN_OK)
            continue; /* the remaining events are still released */
        size_t first = lo ? lo : 1;
        scale(host + first, hi - first, images);
        if (net->exchange.allreduce(net->exchange.user, host + lo, hi - lo) != 0) {
            st = clcnn__fail(ctx, CLCNN_ERR_EXCHANGE,
                             "the allreduce of gradient bucket %zu of %zu (%zu floats) failed "
                             "on replica %d of %d",
                             b + 1, net->exchange_buckets, hi - lo, net->exchange.rank,
                             net->exchange.ranks);
            continue;
        }
        if (b == 0) /* a step where no replica had images changes nothing but the step count */
            inv_total = host[0] > 0 ? 1.0f / host[0] : 0.0f;
        scale(host + first, hi - first, inv_total);
        if (hi <= first)
            continue;
        /* the in-order queue runs the optimiser after these writes, and the
         * next step's reads into the same memory after them too */
        cl_int err = clEnqueueWriteBuffer(ctx->queue, mem, CL_FALSE,
                                          base + (first - 1) * sizeof(float),
                                          (hi - first) * sizeof(float), host + first, 0, NULL,
                                          NULL);
        if (err != CL_SUCCESS)
            st = clcnn__cl_fail(ctx, err, "clEnqueueWriteBuffer (the exchanged gradients)");
    }
    if (st != CLCNN_OK)
        clFinish(ctx->queue); /* nothing may still write into host memory */
    return st;
}
