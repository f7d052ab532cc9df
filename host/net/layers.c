/*
 * The layer kinds of a network, one table entry each: the spec token and
 * its arguments, the canonical text, the shape check, the parameters and
 * their initial values, and the forward and backward passes, which call
 * the ops of host/ops. The network (net.c) walks the graph and owns the
 * buffers; everything that differs between kinds is here.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conv2d.h"
#include "gemm.h"
#include "net.h"
#include "pool.h"

typedef clcnn__layer layer;

/* ---- shared pieces ---- */

static int no_args(const clcnn__token *t, clcnn__layer_desc *d)
{
    (void)d;
    return t->argc == 0;
}

static void text_name(const clcnn__layer_desc *d, char *buf, size_t size)
{
    snprintf(buf, size, "%s", clcnn__layer_type_of(d->kind)->name);
}

static clcnn_status same_shape(layer *l, const int in[4], const int in2[4], char *msg,
                               size_t size)
{
    (void)in2, (void)msg, (void)size;
    memcpy(l->out_shape, in, sizeof l->out_shape);
    return CLCNN_OK;
}

static clcnn_status no_pass(clcnn_net *net, layer *l, const clcnn_tensor *x,
                            const clcnn_tensor *x2)
{
    (void)net, (void)l, (void)x, (void)x2;
    return CLCNN_OK;
}

static clcnn_status no_backward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                const clcnn_tensor *x2, clcnn_tensor *dx, clcnn_tensor *dx2)
{
    (void)net, (void)l, (void)x, (void)x2, (void)dx, (void)dx2;
    return CLCNN_OK;
}

static void set_shape(int s[4], int a, int b, int c, int d)
{
    s[0] = a, s[1] = b, s[2] = c, s[3] = d;
}

/* He-uniform before a ReLU, Glorot-uniform otherwise; biases stay zero. */
static void init_uniform(const layer *l, int feeds_relu, clcnn_rng *rng, float *w, float *b)
{
    (void)b;
    const int *s = l->w_shape;
    double receptive = (double)s[2] * s[3];
    double fan_in = s[1] * receptive, fan_out = s[0] * receptive;
    double limit = feeds_relu ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out));
    size_t n = clcnn__shape_count(s);
    for (size_t j = 0; j < n; j++)
        w[j] = (float)((2.0 * clcnn_rng_uniform(rng) - 1.0) * limit);
}

/* ---- conv(K,R[,S][,pad=P|same][,stride=T][,dilation=D][,groups=G]) ---- */

/* Positional arguments first, then key=value ones; returns 0 on a bad one. */
static int conv_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    int positional = 0, stride = 1, dilation = 1, pad = 0, groups = 1;
    for (int i = 0; i < t->argc; i++) {
        const char *k = t->keys[i], *v = t->values[i];
        if (!*k) {
            int *slots[3] = {&d->k, &d->r, &d->s};
            int *slot = positional < 3 ? slots[positional] : NULL;
            if (!slot || !clcnn__spec_int(v, slot) || *slot < 1)
                return 0;
            positional++;
        } else if (strcmp(k, "pad") == 0) {
            if (strcmp(v, "same") == 0)
                d->same_padding = 1;
            else if (!clcnn__spec_int(v, &pad))
                return 0;
        } else if (strcmp(k, "stride") == 0) {
            if (!clcnn__spec_int(v, &stride) || stride < 1)
                return 0;
        } else if (strcmp(k, "dilation") == 0) {
            if (!clcnn__spec_int(v, &dilation) || dilation < 1)
                return 0;
        } else if (strcmp(k, "groups") == 0) {
            if (!clcnn__spec_int(v, &groups) || groups < 1)
                return 0;
        } else {
            return 0;
        }
    }
    if (positional < 2)
        return 0;
    if (positional == 2)
        d->s = d->r;
    if (d->same_padding) {
        /* "same" for stride 1: the extra pixel of an even extent goes at the end */
        int eh = (d->r - 1) * dilation, ew = (d->s - 1) * dilation;
        d->conv.pad_top = eh / 2;
        d->conv.pad_bottom = eh - eh / 2;
        d->conv.pad_left = ew / 2;
        d->conv.pad_right = ew - ew / 2;
    } else {
        d->conv.pad_top = d->conv.pad_bottom = d->conv.pad_left = d->conv.pad_right = pad;
    }
    d->conv.stride_h = d->conv.stride_w = stride;
    d->conv.dilation_h = d->conv.dilation_w = dilation;
    d->conv.groups = groups;
    return 1;
}

static void conv_text(const clcnn__layer_desc *d, char *buf, size_t size)
{
    int used = d->r == d->s ? snprintf(buf, size, "conv(%d,%d", d->k, d->r)
                            : snprintf(buf, size, "conv(%d,%d,%d", d->k, d->r, d->s);
    char rest[80] = "";
    size_t o = 0;
    if (d->same_padding)
        o += (size_t)snprintf(rest + o, sizeof rest - o, ",pad=same");
    else if (d->conv.pad_top)
        o += (size_t)snprintf(rest + o, sizeof rest - o, ",pad=%d", d->conv.pad_top);
    if (d->conv.stride_h > 1)
        o += (size_t)snprintf(rest + o, sizeof rest - o, ",stride=%d", d->conv.stride_h);
    if (d->conv.dilation_h > 1)
        o += (size_t)snprintf(rest + o, sizeof rest - o, ",dilation=%d", d->conv.dilation_h);
    if (d->conv.groups > 1)
        snprintf(rest + o, sizeof rest - o, ",groups=%d", d->conv.groups);
    if (used > 0 && (size_t)used < size)
        snprintf(buf + used, size - (size_t)used, "%s)", rest);
}

static clcnn_status conv_plan(layer *l, const int in[4], const int in2[4], char *msg,
                              size_t size)
{
    (void)in2;
    const clcnn__layer_desc *d = &l->d;
    int g = d->conv.groups > 1 ? d->conv.groups : 1;
    if (in[1] % g || d->k % g) {
        snprintf(msg, size, "groups=%d must divide its %d input channels and its %d filters",
                 g, in[1], d->k);
        return CLCNN_ERR_SHAPE;
    }
    set_shape(l->w_shape, d->k, in[1] / g, d->r, d->s);
    set_shape(l->b_shape, d->k, 1, 1, 1);
    return clcnn_conv2d_output_shape(in, l->w_shape, &d->conv, l->out_shape, msg, size);
}

static clcnn_status conv_forward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                 const clcnn_tensor *x2)
{
    (void)x2;
    if (net->folded && l->folds_bn) /* writes the batch norm's output, or its ReLU's */
        return clcnn__conv2d_forward_act(
            net->ctx, x, l->fold_w, l->fold_b,
            net->layers[(l->folds_relu ? l->folds_relu : l->folds_bn) - 1].y, &l->d.conv,
            l->folds_relu != 0);
    return clcnn__conv2d_forward_act(net->ctx, x, l->w, l->b, l->y, &l->d.conv, l->relu_out);
}

static clcnn_status conv_backward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                  const clcnn_tensor *x2, clcnn_tensor *dx, clcnn_tensor *dx2)
{
    (void)x2, (void)dx2;
    clcnn_status st = clcnn_conv2d_backward_filter(net->ctx, x, l->dy, l->dw, l->db, &l->d.conv);
    if (net->trace)
        net->trace(net->trace_user, (int)(l - net->layers), "bwd filter");
    if (st == CLCNN_OK && dx)
        st = clcnn_conv2d_backward_data(net->ctx, l->dy, l->w, dx, &l->d.conv);
    return st;
}

/* ---- relu, leaky_relu(A), tanh, sigmoid ---- */

static int act_parse(const clcnn__token *t, clcnn__layer_desc *d, clcnn_activation act)
{
    d->act = act;
    return t->argc == 0;
}

static int relu_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    return act_parse(t, d, CLCNN_ACT_RELU);
}

static int tanh_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    return act_parse(t, d, CLCNN_ACT_TANH);
}

static int sigmoid_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    return act_parse(t, d, CLCNN_ACT_SIGMOID);
}

static int leaky_relu_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    d->act = CLCNN_ACT_LEAKY_RELU;
    d->alpha = 0.01f;
    return t->argc == 0 ||
           (t->argc == 1 && !t->keys[0][0] && clcnn__spec_float(t->values[0], &d->alpha));
}

static void act_text(const clcnn__layer_desc *d, char *buf, size_t size)
{
    if (d->act == CLCNN_ACT_LEAKY_RELU) {
        /* the shortest text that reads back as the same float */
        snprintf(buf, size, "leaky_relu(%g)", (double)d->alpha);
        if (strtof(buf + 11, NULL) != d->alpha)
            snprintf(buf, size, "leaky_relu(%.9g)", (double)d->alpha);
    } else {
        snprintf(buf, size, "%s",
                 d->act == CLCNN_ACT_RELU   ? "relu"
                 : d->act == CLCNN_ACT_TANH ? "tanh"
                                            : "sigmoid");
    }
}

static clcnn_status act_forward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                const clcnn_tensor *x2)
{
    (void)x2;
    if (l->fused_fwd || (net->folded && l->folded_in))
        return CLCNN_OK; /* done by a neighbour */
    return clcnn_act_forward(net->ctx, l->d.act, l->d.alpha, x, l->y);
}

static clcnn_status act_backward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                 const clcnn_tensor *x2, clcnn_tensor *dx, clcnn_tensor *dx2)
{
    (void)x2, (void)dx2;
    /* a ReLU whose forward ran in the layer before it reads its derivative
     * from its output there (x is that output) */
    if (!dx || l->fused_bwd)
        return CLCNN_OK;
    return clcnn_act_backward(net->ctx, l->d.act, l->d.alpha, x, l->y, l->dy, dx);
}

/* ---- maxpool(W[,T][,pad=P]), avgpool(W[,T][,pad=P][,include_pad=1]) ---- */

static int pool_parse(const clcnn__token *t, clcnn__layer_desc *d, clcnn_pool_mode mode)
{
    d->pool.mode = mode;
    int window = 0, stride = 0, positional = 0, pad = 0, include_pad = 0;
    for (int i = 0; i < t->argc; i++) {
        const char *k = t->keys[i], *v = t->values[i];
        int *slot = !*k && positional == 0 ? &window
                  : !*k && positional == 1 ? &stride
                  : strcmp(k, "pad") == 0  ? &pad
                  : strcmp(k, "include_pad") == 0 && mode != CLCNN_POOL_MAX ? &include_pad
                                                                             : NULL;
        positional += !*k;
        if (!slot || !clcnn__spec_int(v, slot) ||
            (slot != &pad && slot != &include_pad && *slot < 1) ||
            (slot == &include_pad && *slot > 1))
            return 0;
    }
    if (window < 1)
        return 0;
    d->pool.window_h = d->pool.window_w = window;
    d->pool.stride_h = d->pool.stride_w = stride ? stride : window;
    /* padding, as in ONNX and PyTorch: the average counts it or not */
    d->pool.pad_top = d->pool.pad_bottom = d->pool.pad_left = d->pool.pad_right = pad;
    if (include_pad && pad) /* without padding the two averages are one */
        d->pool.mode = CLCNN_POOL_AVG_INCLUDE_PAD;
    return 1;
}

static int maxpool_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    return pool_parse(t, d, CLCNN_POOL_MAX);
}

static int avgpool_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    return pool_parse(t, d, CLCNN_POOL_AVG_EXCLUDE_PAD);
}

static void pool_text(const clcnn__layer_desc *d, char *buf, size_t size)
{
    const char *name = d->pool.mode == CLCNN_POOL_MAX ? "maxpool" : "avgpool";
    char rest[48] = "";
    if (d->pool.pad_top)
        snprintf(rest, sizeof rest, ",pad=%d%s", d->pool.pad_top,
                 d->pool.mode == CLCNN_POOL_AVG_INCLUDE_PAD ? ",include_pad=1" : "");
    if (d->pool.stride_h == d->pool.window_h)
        snprintf(buf, size, "%s(%d%s)", name, d->pool.window_h, rest);
    else
        snprintf(buf, size, "%s(%d,%d%s)", name, d->pool.window_h, d->pool.stride_h, rest);
}

static clcnn_status pool_plan(layer *l, const int in[4], const int in2[4], char *msg,
                              size_t size)
{
    (void)in2;
    return clcnn_pool_output_shape(in, &l->d.pool, l->out_shape, msg, size);
}

static clcnn_status pool_forward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                 const clcnn_tensor *x2)
{
    (void)x2;
    return clcnn__pool_forward_act(net->ctx, x, l->y, l->argmax, &l->d.pool, l->relu_in);
}

static clcnn_status pool_backward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                  const clcnn_tensor *x2, clcnn_tensor *dx, clcnn_tensor *dx2)
{
    (void)x, (void)x2, (void)dx2;
    if (!dx)
        return CLCNN_OK;
    return clcnn__pool_backward_act(net->ctx, l->dy, l->argmax, l->y, dx, &l->d.pool,
                                    l->relu_dx);
}

/* ---- flatten: a view of its input (and its gradient of its input's) ---- */

static clcnn_status flatten_plan(layer *l, const int in[4], const int in2[4], char *msg,
                                 size_t size)
{
    (void)in2, (void)msg, (void)size;
    set_shape(l->out_shape, in[0], in[1] * in[2] * in[3], 1, 1);
    return CLCNN_OK;
}

/* ---- dense(K) ---- */

static int dense_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    return t->argc == 1 && !t->keys[0][0] && clcnn__spec_int(t->values[0], &d->k) && d->k >= 1;
}

static void dense_text(const clcnn__layer_desc *d, char *buf, size_t size)
{
    snprintf(buf, size, "dense(%d)", d->k);
}

static clcnn_status dense_plan(layer *l, const int in[4], const int in2[4], char *msg,
                               size_t size)
{
    (void)in2, (void)msg, (void)size;
    set_shape(l->out_shape, in[0], l->d.k, 1, 1);
    set_shape(l->w_shape, l->d.k, in[1] * in[2] * in[3], 1, 1);
    set_shape(l->b_shape, l->d.k, 1, 1, 1);
    return CLCNN_OK;
}

static clcnn_status dense_forward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                  const clcnn_tensor *x2)
{
    (void)x2;
    return clcnn__dense_forward_act(net->ctx, x, l->w, l->b, l->y, l->relu_out);
}

static clcnn_status dense_backward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                   const clcnn_tensor *x2, clcnn_tensor *dx, clcnn_tensor *dx2)
{
    (void)x2, (void)dx2;
    clcnn_status st = clcnn_dense_backward_filter(net->ctx, x, l->dy, l->dw, l->db);
    if (net->trace)
        net->trace(net->trace_user, (int)(l - net->layers), "bwd filter");
    if (st == CLCNN_OK && dx)
        st = clcnn__dense_backward_data_act(net->ctx, l->dy, l->w, x, dx, l->relu_dx);
    return st;
}

/* ---- softmax: the network's, fused with the loss (net.c) ---- */

/* ---- bn[(eps=E,momentum=M)]: batch norm per channel ---- */

static int bn_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    d->bn.eps = 1e-5f;
    d->bn.momentum = 0.1f;
    for (int i = 0; i < t->argc; i++) {
        float *slot = strcmp(t->keys[i], "eps") == 0        ? &d->bn.eps
                    : strcmp(t->keys[i], "momentum") == 0 ? &d->bn.momentum
                                                            : NULL;
        if (!slot || !clcnn__spec_float(t->values[i], slot))
            return 0;
    }
    return d->bn.eps > 0 && d->bn.momentum > 0 && d->bn.momentum <= 1;
}

/* the shortest text that reads back as the same float */
static void float_text(float v, char *buf, size_t size)
{
    snprintf(buf, size, "%g", (double)v);
    if (strtof(buf, NULL) != v)
        snprintf(buf, size, "%.9g", (double)v);
}

static void bn_text(const clcnn__layer_desc *d, char *buf, size_t size)
{
    char eps[24], momentum[24];
    float_text(d->bn.eps, eps, sizeof eps);
    float_text(d->bn.momentum, momentum, sizeof momentum);
    if (d->bn.eps == 1e-5f && d->bn.momentum == 0.1f)
        snprintf(buf, size, "bn");
    else
        snprintf(buf, size, "bn(eps=%s,momentum=%s)", eps, momentum);
}

static clcnn_status bn_plan(layer *l, const int in[4], const int in2[4], char *msg,
                            size_t size)
{
    (void)in2;
    set_shape(l->w_shape, in[1], 1, 1, 1); /* gamma */
    set_shape(l->b_shape, in[1], 1, 1, 1); /* beta */
    l->stats_count = 2 * (size_t)in[1];    /* running mean, running variance */
    /* the training check (two values per channel) waits for the pass, so
     * that a network can be built for one image of 1 x 1 */
    return clcnn_batchnorm_output_shape(in, 0, &l->d.bn, l->out_shape, msg, size);
}

static void bn_init(const layer *l, int feeds_relu, clcnn_rng *rng, float *w, float *b)
{
    (void)feeds_relu, (void)rng, (void)b;
    for (int c = 0; c < l->w_shape[0]; c++)
        w[c] = 1.0f; /* gamma; beta stays zero */
}

static clcnn_status bn_forward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                               const clcnn_tensor *x2)
{
    (void)x2;
    if (!net->pass_training) {
        if (net->folded && l->folded_in)
            return CLCNN_OK; /* the convolution before wrote y */
        return clcnn_batchnorm_forward_inference(net->ctx, x, l->w, l->b, l->running_mean,
                                                 l->running_var, l->y, &l->d.bn);
    }
    /* a pass that only builds kernels leaves the statistics alone */
    int update = !net->preparing;
    return clcnn_batchnorm_forward_train(net->ctx, x, l->w, l->b,
                                         update ? l->running_mean : NULL,
                                         update ? l->running_var : NULL, l->save_mean,
                                         l->save_invstd, l->y, &l->d.bn);
}

static clcnn_status bn_backward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                const clcnn_tensor *x2, clcnn_tensor *dx, clcnn_tensor *dx2)
{
    (void)x2, (void)dx2;
    /* dx is never NULL: net.c gives a scratch buffer when nothing wants it,
     * since the same launch computes dgamma and dbeta */
    return clcnn_batchnorm_backward(net->ctx, x, l->dy, l->w, l->save_mean, l->save_invstd, dx,
                                    l->dw, l->db);
}

/* ---- dropout(P) ---- */

static int dropout_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    return t->argc == 1 && !t->keys[0][0] && clcnn__spec_float(t->values[0], &d->p) &&
           d->p >= 0 && d->p < 1;
}

static void dropout_text(const clcnn__layer_desc *d, char *buf, size_t size)
{
    char p[24];
    float_text(d->p, p, sizeof p);
    snprintf(buf, size, "dropout(%s)", p);
}

/* A new mask every step and for every layer, all from the network's seed. */
static clcnn_dropout_params dropout_params(const clcnn_net *net, const layer *l)
{
    unsigned long long h = net->seed * 0x9E3779B97F4A7C15ull;
    h ^= (unsigned long long)net->steps * 0xBF58476D1CE4E5B9ull;
    h ^= (unsigned long long)(l - net->layers + 1) * 0x94D049BB133111EBull;
    return (clcnn_dropout_params){.p = l->d.p, .seed = h, .training = net->pass_training};
}

static clcnn_status dropout_forward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                    const clcnn_tensor *x2)
{
    (void)x2;
    clcnn_dropout_params p = dropout_params(net, l);
    return clcnn_dropout_forward(net->ctx, x, l->y, &p);
}

static clcnn_status dropout_backward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                     const clcnn_tensor *x2, clcnn_tensor *dx,
                                     clcnn_tensor *dx2)
{
    (void)x, (void)x2, (void)dx2;
    clcnn_dropout_params p = dropout_params(net, l);
    return dx ? clcnn_dropout_backward(net->ctx, l->dy, dx, &p) : CLCNN_OK;
}

/* ---- global_avgpool ---- */

static clcnn_status gap_plan(layer *l, const int in[4], const int in2[4], char *msg,
                             size_t size)
{
    (void)in2;
    return clcnn_global_avgpool_output_shape(in, l->out_shape, msg, size);
}

static clcnn_status gap_forward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                const clcnn_tensor *x2)
{
    (void)x2;
    return clcnn_global_avgpool_forward(net->ctx, x, l->y);
}

static clcnn_status gap_backward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                 const clcnn_tensor *x2, clcnn_tensor *dx, clcnn_tensor *dx2)
{
    (void)x, (void)x2, (void)dx2;
    return dx ? clcnn_global_avgpool_backward(net->ctx, l->dy, dx) : CLCNN_OK;
}

/* ---- add(@name): the input plus the output called name ---- */

static int add_parse(const clcnn__token *t, clcnn__layer_desc *d)
{
    size_t len = t->argc == 1 ? strlen(t->values[0]) : 0;
    if (t->argc != 1 || t->keys[0][0] || t->values[0][0] != '@' || len >= sizeof d->ref)
        return 0;
    memcpy(d->ref, t->values[0], len + 1); /* spec.c resolves it */
    return 1;
}

static void add_text(const clcnn__layer_desc *d, char *buf, size_t size)
{
    snprintf(buf, size, "add(%s)", d->ref);
}

static clcnn_status add_plan(layer *l, const int in[4], const int in2[4], char *msg,
                             size_t size)
{
    return clcnn_add_output_shape(in, in2, l->out_shape, msg, size);
}

static clcnn_status add_forward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                const clcnn_tensor *x2)
{
    return clcnn_add_forward(net->ctx, x, x2, l->y);
}

static clcnn_status add_backward(clcnn_net *net, layer *l, const clcnn_tensor *x,
                                 const clcnn_tensor *x2, clcnn_tensor *dx, clcnn_tensor *dx2)
{
    (void)x, (void)x2;
    return clcnn_add_backward(net->ctx, l->dy, dx, dx2);
}

/* ---- the table ---- */

#define ENTRY(NAME, KIND, PARSE, TEXT, PLAN, INIT, FWD, BWD)                                  \
    {NAME, CLCNN__LAYER_##KIND, PARSE, TEXT, PLAN, INIT, FWD, BWD}

static const clcnn__layer_type types[] = {
    ENTRY("conv", CONV, conv_parse, conv_text, conv_plan, init_uniform, conv_forward,
          conv_backward),
    ENTRY("relu", ACT, relu_parse, act_text, same_shape, NULL, act_forward, act_backward),
    ENTRY("leaky_relu", ACT, leaky_relu_parse, act_text, same_shape, NULL, act_forward,
          act_backward),
    ENTRY("tanh", ACT, tanh_parse, act_text, same_shape, NULL, act_forward, act_backward),
    ENTRY("sigmoid", ACT, sigmoid_parse, act_text, same_shape, NULL, act_forward,
          act_backward),
    ENTRY("maxpool", POOL, maxpool_parse, pool_text, pool_plan, NULL, pool_forward,
          pool_backward),
    ENTRY("avgpool", POOL, avgpool_parse, pool_text, pool_plan, NULL, pool_forward,
          pool_backward),
    ENTRY("flatten", FLATTEN, no_args, text_name, flatten_plan, NULL, no_pass, no_backward),
    ENTRY("dense", DENSE, dense_parse, dense_text, dense_plan, init_uniform, dense_forward,
          dense_backward),
    ENTRY("softmax", SOFTMAX, no_args, text_name, same_shape, NULL, no_pass, no_backward),
    ENTRY("bn", BATCHNORM, bn_parse, bn_text, bn_plan, bn_init, bn_forward, bn_backward),
    ENTRY("dropout", DROPOUT, dropout_parse, dropout_text, same_shape, NULL, dropout_forward,
          dropout_backward),
    ENTRY("global_avgpool", GLOBAL_AVGPOOL, no_args, text_name, gap_plan, NULL, gap_forward,
          gap_backward),
    ENTRY("add", ADD, add_parse, add_text, add_plan, NULL, add_forward, add_backward),
};

const clcnn__layer_type *clcnn__layer_type_of(clcnn__layer_kind kind)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].kind == kind)
            return &types[i];
    return &types[0]; /* not reached: every kind has an entry */
}

const clcnn__layer_type *clcnn__layer_type_named(const char *name)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

const char *clcnn__layer_names(void)
{
    return "conv(K,R[,S][,pad=P|same][,stride=T][,dilation=D][,groups=G]), relu, "
           "leaky_relu(A), tanh, sigmoid, maxpool(W[,T][,pad=P]), "
           "avgpool(W[,T][,pad=P][,include_pad=1]), flatten, dense(K), "
           "bn[(eps=E,momentum=M)], dropout(P), global_avgpool, add(@name), softmax, "
           "@name or from(@name)";
}

void clcnn__layer_text(const clcnn__layer_desc *d, char *buf, size_t size)
{
    clcnn__layer_type_of(d->kind)->text(d, buf, size);
}
