/*
 * Internal structure of a network: the layer records the spec parser
 * produces, the table of layer kinds, and the network (a graph whose layers
 * are listed in an order where every input comes first) that owns their
 * device buffers.
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
    CLCNN__LAYER_SOFTMAX,
    CLCNN__LAYER_BATCHNORM,
    CLCNN__LAYER_DROPOUT,
    CLCNN__LAYER_GLOBAL_AVGPOOL,
    CLCNN__LAYER_ADD,
    CLCNN__LAYER_KIND_COUNT
} clcnn__layer_kind;

#define CLCNN__NAME_MAX 16 /* "@name" labels, the '@' and the NUL included */

/* What the spec says of one layer; shapes and buffers come later. */
typedef struct clcnn__layer_desc {
    clcnn__layer_kind kind;
    int k, r, s;      /* conv: K filters of R x S; dense: K outputs */
    int same_padding; /* conv: pad=same */
    clcnn_conv2d_params conv;
    clcnn_pool_params pool;
    clcnn_activation act;
    float alpha; /* leaky_relu */
    clcnn_batchnorm_params bn;
    float p; /* dropout */
    /* The graph: the layers whose outputs this one reads (an index into
     * the layer list, always smaller than its own; -1 is the network input)
     * and the name its own output is given. input2 is add's second operand
     * (else -2), ref the name the spec gave it. */
    int input, input2;
    char name[CLCNN__NAME_MAX], ref[CLCNN__NAME_MAX];
} clcnn__layer_desc;

/* One spec token "name(a,b,key=value)" split into its parts. */
#define CLCNN__TOKEN_ARGS 8
typedef struct clcnn__token {
    char name[32];
    int argc;
    char keys[CLCNN__TOKEN_ARGS][16]; /* "" for positional arguments */
    char values[CLCNN__TOKEN_ARGS][32];
} clcnn__token;

/* A spec's integer (0..2^20) and finite float; 0 when the text is not one. */
int clcnn__spec_int(const char *s, int *out);
int clcnn__spec_float(const char *s, float *out);

/* Expands a built-in name, then parses the spec into layers (a new array in
 * *layers, freed with clcnn__free), their inputs resolved. Errors are
 * recorded on ctx. */
clcnn_status clcnn__spec_parse(clcnn_context *ctx, const char *spec, clcnn__layer_desc **layers,
                               int *count);

/* The layer's own token in canonical form ("conv(6,5,pad=2)", "add(@a)"). */
void clcnn__layer_text(const clcnn__layer_desc *d, char *buf, size_t size);

/* The canonical spec of a parsed layer list: every token, with from(@x)
 * before a layer that does not read the one before it and @x after one
 * whose output is named. A new string (clcnn__free), or NULL. */
char *clcnn__spec_text(const clcnn__layer_desc *layers, int count);

struct clcnn__layer;

/*
 * A layer kind, as one table entry (layers.c): its spec name and argument
 * parser, its shape check, its parameters, and its passes. Adding a kind
 * means an entry here and the op's own files.
 */
typedef struct clcnn__layer_type {
    const char *name; /* the spec token, e.g. "conv" */
    clcnn__layer_kind kind;
    /* Reads the token's arguments into d (kind already set); 0 on a bad one. */
    int (*parse)(const clcnn__token *t, clcnn__layer_desc *d);
    /* Writes the canonical token. */
    void (*text)(const clcnn__layer_desc *d, char *buf, size_t size);
    /* Sets l->out_shape, and for layers with parameters w_shape, b_shape
     * (param_count follows) and stats_count, from the input shapes (in2
     * for add only); the message says why a shape does not fit. */
    clcnn_status (*plan)(struct clcnn__layer *l, const int in[4], const int in2[4], char *msg,
                         size_t size);
    /* Initial weights w and biases b on the host (NULL: none to set). */
    void (*init)(const struct clcnn__layer *l, int feeds_relu, clcnn_rng *rng, float *w,
                 float *b);
    /* y from x (x2: add's second operand). */
    clcnn_status (*forward)(clcnn_net *net, struct clcnn__layer *l, const clcnn_tensor *x,
                            const clcnn_tensor *x2);
    /* dx (and dx2), overwritten, may be NULL (no gradient wanted); dw, db
     * accumulated. */
    clcnn_status (*backward)(clcnn_net *net, struct clcnn__layer *l, const clcnn_tensor *x,
                             const clcnn_tensor *x2, clcnn_tensor *dx, clcnn_tensor *dx2);
} clcnn__layer_type;

/* The entry of kind (never NULL), and the one whose spec name is name (NULL
 * if none). */
const clcnn__layer_type *clcnn__layer_type_of(clcnn__layer_kind kind);
const clcnn__layer_type *clcnn__layer_type_named(const char *name);
/* The spec names, for messages: "conv(K,R...), relu, ...". */
const char *clcnn__layer_names(void);

typedef struct clcnn__layer {
    clcnn__layer_desc d;
    int out_shape[4];               /* at the network's batch size */
    int w_shape[4], b_shape[4];     /* parameters: weights and biases (BN: gamma, beta) */
    clcnn_tensor *w, *b, *dw, *db;  /* views into the parameter arenas, or NULL */
    clcnn_tensor *y, *dy;           /* output and its gradient */
    clcnn_tensor *argmax;           /* max pooling */
    clcnn_tensor *running_mean, *running_var; /* batch norm: views into net->stats */
    clcnn_tensor *save_mean, *save_invstd;    /* batch norm: the last training pass's */
    size_t param_offset, param_count;
    size_t stats_offset, stats_count; /* non-trainable state saved with the model */
    int consumers; /* layers reading y (and the loss, for the output layer) */
    /* Gradient paths that join: an input whose gradient already holds
     * another consumer's contribution gets this layer's in scratch[j] (a
     * view of net->scratch), then added to it. */
    clcnn_tensor *scratch[2];
    int accumulate[2];
    /* A ReLU runs inside its neighbours' launches where they can take it
     * (planned when the network is built): */
    int fused_fwd, fused_bwd; /* ReLU layer: its forward / backward pass is done by a
                                 neighbour; its y / dy are views of the previous layer's */
    int relu_out;             /* conv, dense: applies the ReLU after it to its output */
    int relu_in;              /* max pooling: applies the ReLU before it to its input */
    int relu_dx;              /* max pooling, dense: backward-data applies the derivative
                                 of the ReLU before it */
    /* Inference with batch norm folded into the convolution before it
     * (net->folded): the convolution writes the batch norm's output with the
     * folded weights (or, with a ReLU after the batch norm, the ReLU's), and
     * the batch norm (and that ReLU) do nothing. */
    int folds_bn;   /* conv: the batch norm after it folds into it */
    int folds_relu; /* conv that folds a batch norm: the ReLU after that batch
                       norm too, in its epilogue (the ReLU's index + 1) */
    int folded_in;  /* batch norm, ReLU: folded into the convolution before it */
    clcnn_tensor *fold_w, *fold_b; /* conv: views into net->fold_params */
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
    size_t stats_count;
    clcnn_tensor *params, *grads, *state; /* flat arenas */
    clcnn_tensor *stats;       /* batch norm running statistics (not trained) */
    clcnn_tensor *scratch;     /* a joining gradient path's contribution */
    clcnn_tensor *fold_params; /* inference weights with batch norm folded in */
    int training;              /* the mode clcnn_net_forward runs in */
    int pass_training;         /* the last forward pass's: batch statistics, dropout on */
    int has_modes;             /* a batch norm or dropout: the two modes differ */
    int preparing;             /* clcnn_net_prepare: statistics are left alone */
    int folded;                /* this pass runs with batch norm folded */
    int fold_off;              /* never fold (tests compare the two) */
    long fold_version;         /* params_version fold_params were made from, or -1 */
    long params_version;       /* changes whenever the parameters or statistics do */
    unsigned long long seed;   /* of clcnn_net_init: dropout's masks derive from it */
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
