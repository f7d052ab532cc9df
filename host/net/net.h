/*
 * Internal structure of a sequential network: the layer records the spec
 * parser produces and the network that owns their device buffers.
 */
#ifndef CLCNN_NET_H
#define CLCNN_NET_H

#include <stdint.h>

#include "runtime.h"

typedef enum clcnn__layer_kind {
    CLCNN__LAYER_CONV,
    CLCNN__LAYER_ACT,
    CLCNN__LAYER_POOL,
    CLCNN__LAYER_FLATTEN,
    CLCNN__LAYER_DENSE,
    CLCNN__LAYER_SOFTMAX
} clcnn__layer_kind;

/* What the spec says of one layer; shapes and buffers come later. */
typedef struct clcnn__layer_desc {
    clcnn__layer_kind kind;
    int k, r, s;      /* conv: K filters of R x S; dense: K outputs */
    int same_padding; /* conv: pad=same */
    clcnn_conv2d_params conv;
    clcnn_pool_params pool;
    clcnn_activation act;
    float alpha; /* leaky_relu */
} clcnn__layer_desc;

/* Expands a built-in name, then parses the spec into layers (a new array in
 * *layers, freed with clcnn__free). Errors are recorded on ctx. */
clcnn_status clcnn__spec_parse(clcnn_context *ctx, const char *spec, clcnn__layer_desc **layers,
                               int *count);

/* The layer in canonical spec form ("conv(6,5,pad=2)"). */
void clcnn__layer_text(const clcnn__layer_desc *d, char *buf, size_t size);

typedef struct clcnn__layer {
    clcnn__layer_desc d;
    int out_shape[4];               /* at the network's batch size */
    clcnn_tensor *w, *b, *dw, *db;  /* views into the parameter arenas, or NULL */
    clcnn_tensor *y, *dy;           /* output and its gradient */
    clcnn_tensor *argmax;           /* max pooling */
    size_t param_offset, param_count;
    /* A ReLU runs inside its neighbours' launches where they can take it
     * (planned when the network is built): */
    int fused_fwd, fused_bwd; /* ReLU layer: its forward / backward pass is done by a
                                 neighbour; its y / dy are views of the previous layer's */
    int relu_out;             /* conv, dense: applies the ReLU after it to its output */
    int relu_in;              /* max pooling: applies the ReLU before it to its input */
    int relu_dx;              /* max pooling, dense: backward-data applies the derivative
                                 of the ReLU before it */
} clcnn__layer;

/* Called after each op a pass enqueues (layer index, or -1 for the input
 * write, the loss and the optimiser), so that a benchmark can wait for the
 * device and time each op; NULL in normal use. */
typedef void (*clcnn__net_trace_fn)(void *user, int layer, const char *what);

struct clcnn_net {
    clcnn_context *ctx;
    char *spec;
    int batch, active; /* built batch size; images in the current pass */
    int in_shape[4];
    int layer_count;
    clcnn__layer *layers;
    size_t param_count;
    clcnn_tensor *params, *grads, *state; /* flat arenas */
    clcnn_tensor *x, *labels, *loss, *probs;
    clcnn_optim_params optim;
    long steps;
    clcnn__net_trace_fn trace;
    void *trace_user;
    /* Inputs and labels are copied to host staging memory and written
     * without blocking, so that the host prepares the next batch while the
     * device works; two of each, the one in use by a write until its event
     * completes. */
    float *stage_x[2], *stage_labels[2];
    cl_event stage_x_done[2], stage_labels_done[2];
    int stage_x_next, stage_labels_next;
    /* Data-parallel training (exchange.c): the transport, or a NULL
     * allreduce when the network trains alone; host memory for the
     * gradients, led by one float for the image count; one read event per
     * bucket. */
    clcnn_exchange exchange;
    float *exchange_host;
    cl_event *exchange_reads;
    size_t exchange_buckets;
    int backward_images; /* images of the last backward pass since the last step */
};

/* Sums the gradients over the replicas of net->exchange and leaves their
 * weighted mean in the gradient arena (exchange.c). */
clcnn_status clcnn__net_exchange_gradients(clcnn_net *net);

/* Frees what clcnn_net_set_exchange allocated, after the device is done with it. */
void clcnn__net_exchange_release(clcnn_net *net);

/* Parses spec and plans shapes and parameter counts; allocates no device
 * memory, so a model file can be checked against the plan first. */
clcnn_status clcnn__net_plan(clcnn_context *ctx, const char *spec, int batch, int c, int h,
                             int w, clcnn_net **out);

/* Allocates the planned network's device buffers and initialises it. */
clcnn_status clcnn__net_allocate(clcnn_net *net);

int clcnn__net_has_trailing_softmax(const clcnn_net *net);

/* Makes every layer run its own passes from now on, in place in the buffers
 * laid out for the fused ones, so that tests can compare the two. */
void clcnn__net_unfuse(clcnn_net *net);

/* CLCNN_ERR_OUT_OF_DEVICE_MEMORY, naming the bytes needed and available and
 * the batch that fits, when the planned network's buffers at `batch` images
 * would not fit the device; nothing is allocated. */
clcnn_status clcnn__net_check_memory(clcnn_net *net, int batch);

/* The device bytes the planned network allocates for `batch` images. */
uint64_t clcnn__net_device_bytes(clcnn_net *net, int batch);

/* Looks for NaN and infinity in params (the parameter arena on the host):
 * returns the index of the first layer whose weights or biases hold one,
 * describing it in buf ("layer 3 conv(16,5): its weights hold ..."), or -1
 * when all are finite. */
int clcnn__net_nonfinite_params(const clcnn_net *net, const float *params, char *buf,
                                size_t size);

#endif /* CLCNN_NET_H */
