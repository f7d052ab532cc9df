/*
 * Sequential networks: shapes planned from the spec, every device buffer
 * allocated once (parameters, gradients and optimiser state as flat arenas,
 * so that one launch updates all of them), and the forward, backward and
 * optimiser passes over the layer list.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conv2d.h"
#include "gemm.h"
#include "net.h"
#include "optim.h"
#include "pool.h"

/* ---- planning: shapes and parameter counts, no device memory ---- */

static clcnn_status plan_layer(clcnn_context *ctx, clcnn__layer *l, const int in[4], int index)
{
    char msg[512];
    clcnn_status st = CLCNN_OK;
    clcnn__layer_desc *d = &l->d;
    memcpy(l->out_shape, in, sizeof l->out_shape);
    l->param_count = 0;
    switch (d->kind) {
    case CLCNN__LAYER_CONV: {
        int w_shape[4] = {d->k, in[1], d->r, d->s};
        st = clcnn_conv2d_output_shape(in, w_shape, &d->conv, l->out_shape, msg, sizeof msg);
        l->param_count = (size_t)d->k * (size_t)in[1] * (size_t)d->r * (size_t)d->s + (size_t)d->k;
        break;
    }
    case CLCNN__LAYER_POOL:
        st = clcnn_pool_output_shape(in, &d->pool, l->out_shape, msg, sizeof msg);
        break;
    case CLCNN__LAYER_FLATTEN:
        l->out_shape[1] = in[1] * in[2] * in[3];
        l->out_shape[2] = l->out_shape[3] = 1;
        break;
    case CLCNN__LAYER_DENSE:
        l->out_shape[1] = d->k;
        l->out_shape[2] = l->out_shape[3] = 1;
        l->param_count =
            (size_t)d->k * (size_t)in[1] * (size_t)in[2] * (size_t)in[3] + (size_t)d->k;
        break;
    case CLCNN__LAYER_ACT:
    case CLCNN__LAYER_SOFTMAX:
        break;
    }
    if (st != CLCNN_OK) {
        char text[96], s[64];
        clcnn__layer_text(d, text, sizeof text);
        return clcnn__fail(ctx, st, "layer %d %s does not fit its input %s: %s", index + 1, text,
                           clcnn__shape_str(in, s, sizeof s), msg);
    }
    if (clcnn__shape_count(l->out_shape) == 0 || l->param_count > (size_t)1 << 30) {
        char text[96];
        clcnn__layer_text(d, text, sizeof text);
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE, "layer %d %s is too large", index + 1, text);
    }
    return CLCNN_OK;
}

/* The output of the network proper: the last layer before a trailing
 * softmax, which must give (N, K, 1, 1) class scores. */
static int logits_layer(const clcnn_net *net)
{
    int last = net->layer_count - 1;
    return net->layers[last].d.kind == CLCNN__LAYER_SOFTMAX ? last - 1 : last;
}

int clcnn__net_has_trailing_softmax(const clcnn_net *net)
{
    return net->layers[net->layer_count - 1].d.kind == CLCNN__LAYER_SOFTMAX;
}

static clcnn_status plan(clcnn_net *net)
{
    const int *in = net->in_shape;
    net->param_count = 0;
    for (int i = 0; i < net->layer_count; i++) {
        clcnn_status st = plan_layer(net->ctx, &net->layers[i], in, i);
        if (st != CLCNN_OK)
            return st;
        net->layers[i].param_offset = net->param_count;
        net->param_count += net->layers[i].param_count;
        in = net->layers[i].out_shape;
    }
    int last = logits_layer(net);
    if (last < 0)
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE, "the network has no layer before softmax");
    const int *out = net->layers[last].out_shape;
    if (out[2] != 1 || out[3] != 1)
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE,
                           "the network must end in class scores (N, K, 1, 1), e.g. with "
                           "flatten dense(K); it ends in (%d, %d, %d, %d)",
                           out[0], out[1], out[2], out[3]);
    if (net->param_count == 0)
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE, "the network has no trainable layer");
    return CLCNN_OK;
}

/* ---- allocation ---- */

static clcnn_status make_tensor(clcnn_context *ctx, const int s[4], clcnn_tensor **out)
{
    return clcnn_tensor_create(ctx, s[0], s[1], s[2], s[3], out);
}

static int is_relu(const clcnn__layer *l)
{
    return l->d.kind == CLCNN__LAYER_ACT && l->d.act == CLCNN_ACT_RELU;
}

static int is_max_pool(const clcnn__layer *l)
{
    return l->d.kind == CLCNN__LAYER_POOL && l->d.pool.mode == CLCNN_POOL_MAX;
}

/*
 * Plans which ReLU layers run inside their neighbours' launches. Forward: a
 * convolution or dense layer before the ReLU applies it in its epilogue, or
 * else a max pooling after it pools the pre-activation and clamps the
 * maximum (the same values). Backward: a max pooling or a dense layer after it
 * (through flattens) multiplies its dx by the ReLU's derivative, read from
 * its own input or output. Either way the results are exactly those of
 * the separate passes; the ReLU's launches and memory passes disappear.
 */
static void plan_fusion(clcnn_net *net)
{
    int last = logits_layer(net);
    for (int i = 0; i <= last; i++) {
        clcnn__layer *l = &net->layers[i];
        if (!is_relu(l))
            continue;
        clcnn__layer *prev = i > 0 ? &net->layers[i - 1] : NULL;
        clcnn__layer *next = i < last ? &net->layers[i + 1] : NULL;
        int c = i + 1;
        while (c < last && net->layers[c].d.kind == CLCNN__LAYER_FLATTEN)
            c++;
        clcnn__layer *consumer = c <= last && c > i ? &net->layers[c] : NULL;
        if (prev &&
            (prev->d.kind == CLCNN__LAYER_CONV || prev->d.kind == CLCNN__LAYER_DENSE)) {
            prev->relu_out = 1;
            l->fused_fwd = 1;
        } else if (next && is_max_pool(next)) {
            next->relu_in = 1;
            l->fused_fwd = 1;
        }
        /* the first layer has no gradient to pass on */
        if (prev && next && is_max_pool(next)) {
            next->relu_dx = 1;
            l->fused_bwd = 1;
        } else if (prev && consumer && consumer->d.kind == CLCNN__LAYER_DENSE) {
            consumer->relu_dx = 1;
            l->fused_bwd = 1;
        }
    }
}

void clcnn__net_unfuse(clcnn_net *net)
{
    for (int i = 0; i < net->layer_count; i++) {
        clcnn__layer *l = &net->layers[i];
        l->fused_fwd = l->fused_bwd = l->relu_out = l->relu_in = l->relu_dx = 0;
    }
}

static clcnn_status allocate(clcnn_net *net)
{
    plan_fusion(net);
    clcnn_context *ctx = net->ctx;
    const int *in = net->in_shape;
    size_t arena = net->param_count;
    /* the optimiser state is sized for Adam, the largest, so that changing
     * optimiser never allocates */
    size_t state = clcnn_optim_state_count(CLCNN_OPTIM_ADAM, arena);
    clcnn_status st = clcnn_tensor_create(ctx, 1, 1, 1, (int)arena, &net->params);
    if (st == CLCNN_OK)
        st = clcnn_tensor_create(ctx, 1, 1, 1, (int)arena, &net->grads);
    if (st == CLCNN_OK)
        st = clcnn_tensor_create(ctx, 1, 1, 1, (int)state, &net->state);
    if (st == CLCNN_OK)
        st = make_tensor(ctx, in, &net->x);
    if (st == CLCNN_OK)
        st = clcnn_tensor_create(ctx, net->batch, 1, 1, 1, &net->labels);
    if (st == CLCNN_OK)
        st = clcnn_tensor_create(ctx, 1, 1, 1, 1, &net->loss);
    if (st == CLCNN_OK)
        st = make_tensor(ctx, net->layers[logits_layer(net)].out_shape, &net->probs);

    clcnn_tensor *prev_y = net->x, *prev_dy = NULL;
    size_t x_count = clcnn__shape_count(in), label_count = (size_t)net->batch;
    for (int k = 0; k < 2 && st == CLCNN_OK; k++) {
        net->stage_x[k] = clcnn__malloc(x_count * sizeof(float));
        net->stage_labels[k] = clcnn__malloc(label_count * sizeof(float));
        if (!net->stage_x[k] || !net->stage_labels[k])
            st = clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    for (int i = 0; i < net->layer_count && st == CLCNN_OK; i++) {
        clcnn__layer *l = &net->layers[i];
        const int *o = l->out_shape;
        if (l->param_count) {
            size_t wn = l->param_count - (size_t)o[1], off = l->param_offset;
            int c = (int)(wn / (size_t)o[1]);
            int r = l->d.kind == CLCNN__LAYER_CONV ? l->d.r : 1;
            int s = l->d.kind == CLCNN__LAYER_CONV ? l->d.s : 1;
            c /= r * s;
            st = clcnn__tensor_slice(net->params, off, o[1], c, r, s, &l->w);
            if (st == CLCNN_OK)
                st = clcnn__tensor_slice(net->grads, off, o[1], c, r, s, &l->dw);
            if (st == CLCNN_OK)
                st = clcnn__tensor_slice(net->params, off + wn, o[1], 1, 1, 1, &l->b);
            if (st == CLCNN_OK)
                st = clcnn__tensor_slice(net->grads, off + wn, o[1], 1, 1, 1, &l->db);
        }
        if (st != CLCNN_OK)
            break;
        if (l->d.kind == CLCNN__LAYER_SOFTMAX) {
            break; /* trailing softmax: predict writes net->probs */
        } else if (l->d.kind == CLCNN__LAYER_FLATTEN || l->fused_fwd || l->fused_bwd) {
            /* flatten is a view of its input and of its input's gradient; a
             * fused ReLU works in place in its neighbours' buffers */
            int view_y = l->d.kind == CLCNN__LAYER_FLATTEN || l->fused_fwd;
            int view_dy = prev_dy && (l->d.kind == CLCNN__LAYER_FLATTEN || l->fused_bwd);
            st = view_y ? clcnn_tensor_view(prev_y, o[0], o[1], o[2], o[3], &l->y)
                        : make_tensor(ctx, o, &l->y);
            if (st == CLCNN_OK)
                st = view_dy ? clcnn_tensor_view(prev_dy, o[0], o[1], o[2], o[3], &l->dy)
                             : make_tensor(ctx, o, &l->dy);
        } else {
            st = make_tensor(ctx, o, &l->y);
            if (st == CLCNN_OK)
                st = make_tensor(ctx, o, &l->dy);
            if (st == CLCNN_OK && l->d.kind == CLCNN__LAYER_POOL &&
                l->d.pool.mode == CLCNN_POOL_MAX)
                st = make_tensor(ctx, o, &l->argmax);
        }
        prev_y = l->y;
        prev_dy = l->dy;
    }
    return st;
}

/* ---- device memory: checked before anything is allocated ---- */

/* Bytes of the buffers allocate() creates: what does not depend on the batch
 * (parameters, gradients, Adam-sized state, the loss) and what each image
 * adds (input, label, activations, their gradients, argmax, probabilities),
 * with the largest single buffer of each kind. It mirrors allocate() above,
 * views included; test_faults checks that the two agree to the byte. */
typedef struct net_bytes {
    uint64_t fixed, per_image, largest_fixed, largest_per_image;
} net_bytes;

static void add_per_image(net_bytes *b, const int shape[4], int copies)
{
    uint64_t bytes = (uint64_t)shape[1] * (uint64_t)shape[2] * (uint64_t)shape[3] * 4u;
    b->per_image += bytes * (uint64_t)copies;
    if (copies && bytes > b->largest_per_image)
        b->largest_per_image = bytes;
}

static net_bytes device_bytes(clcnn_net *net)
{
    plan_fusion(net); /* which ReLUs run in place, as allocate() will have them */
    uint64_t p = (uint64_t)net->param_count * 4u;
    net_bytes b = {.fixed = 4 * p + 4, .largest_fixed = 2 * p};
    const int one[4] = {1, 1, 1, 1};
    add_per_image(&b, net->in_shape, 1);
    add_per_image(&b, one, 1); /* label */
    add_per_image(&b, net->layers[logits_layer(net)].out_shape, 1);
    for (int i = 0; i < net->layer_count; i++) {
        const clcnn__layer *l = &net->layers[i];
        int flatten = l->d.kind == CLCNN__LAYER_FLATTEN;
        if (l->d.kind == CLCNN__LAYER_SOFTMAX)
            break;
        if (flatten || l->fused_fwd || l->fused_bwd) /* views, as in allocate() */
            add_per_image(&b, l->out_shape,
                          !(flatten || l->fused_fwd) + !(i > 0 && (flatten || l->fused_bwd)));
        else
            add_per_image(&b, l->out_shape,
                          l->d.kind == CLCNN__LAYER_POOL && l->d.pool.mode == CLCNN_POOL_MAX ? 3
                                                                                            : 2);
    }
    return b;
}

uint64_t clcnn__net_device_bytes(clcnn_net *net, int batch)
{
    net_bytes b = device_bytes(net);
    return b.fixed + (uint64_t)batch * b.per_image;
}

static uint64_t times_saturated(uint64_t a, uint64_t n)
{
    return n && a > UINT64_MAX / n ? UINT64_MAX : a * n;
}

/* Compares what `batch` images need with the device's global memory and
 * largest allocation, so that a batch too large fails at once with the
 * numbers and the batch that fits, instead of in the middle of allocating
 * (or, on drivers that allocate lazily, at the first launch). */
clcnn_status clcnn__net_check_memory(clcnn_net *net, int batch)
{
    clcnn_context *ctx = net->ctx;
    uint64_t have = ctx->info.global_mem_bytes, max_alloc = ctx->max_alloc_bytes;
    net_bytes b = device_bytes(net);
    uint64_t total = times_saturated(b.per_image, (uint64_t)batch);
    total = total > UINT64_MAX - b.fixed ? UINT64_MAX : total + b.fixed;
    uint64_t largest = times_saturated(b.largest_per_image, (uint64_t)batch);
    if (b.largest_fixed > largest)
        largest = b.largest_fixed;
    if ((!have || total <= have) && (!max_alloc || largest <= max_alloc))
        return CLCNN_OK;
    uint64_t fit = have ? (have > b.fixed ? (have - b.fixed) / b.per_image : 0) : UINT64_MAX;
    if (max_alloc && max_alloc / b.largest_per_image < fit)
        fit = max_alloc / b.largest_per_image;
    if (max_alloc && b.largest_fixed > max_alloc)
        fit = 0;
    char hint[128];
    if (fit)
        snprintf(hint, sizeof hint, "use a batch of at most %llu", (unsigned long long)fit);
    else
        snprintf(hint, sizeof hint, "the parameters alone do not fit, whatever the batch");
    return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_DEVICE_MEMORY,
                       "a batch of %d needs %llu MiB of device memory (%llu bytes; largest "
                       "buffer %llu bytes), but \"%s\" has %llu MiB (%llu bytes; largest "
                       "allocation %llu bytes): %s",
                       batch, (unsigned long long)(total >> 20), (unsigned long long)total,
                       (unsigned long long)largest, ctx->info.device_name,
                       (unsigned long long)(have >> 20), (unsigned long long)have,
                       (unsigned long long)max_alloc, hint);
}

/* Sets how many images the next pass processes (n <= batch); the tensors are
 * the net's own, so only their recorded batch dimension changes. */
static void set_active(clcnn_net *net, int n)
{
    net->active = n;
    net->x->shape[0] = n;
    net->labels->shape[0] = n;
    net->probs->shape[0] = n;
    for (int i = 0; i < net->layer_count; i++) {
        clcnn__layer *l = &net->layers[i];
        clcnn_tensor *ts[] = {l->y, l->dy, l->argmax};
        for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++)
            if (ts[j])
                ts[j]->shape[0] = n;
    }
}

static void release_layers(clcnn_net *net)
{
    for (int i = 0; i < net->layer_count; i++) {
        clcnn__layer *l = &net->layers[i];
        clcnn_tensor *ts[] = {l->w, l->b, l->dw, l->db, l->y, l->dy, l->argmax};
        for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++)
            clcnn_tensor_destroy(ts[j]);
    }
}

/* Waits for a staged write and forgets its event (no-op when none is pending). */
static cl_int wait_stage(cl_event *done)
{
    cl_int err = CL_SUCCESS;
    if (*done) {
        CLCNN__CL(err, clWaitForEvents, (1, done));
        if (err != CL_SUCCESS)
            return err; /* the event stays, for destroy to wait on */
        clReleaseEvent(*done);
        *done = NULL;
    }
    return err;
}

void clcnn_net_destroy(clcnn_net *net)
{
    if (!net)
        return;
    /* pending writes still read the staging memory: wait for them even when
     * an earlier wait failed */
    for (int k = 0; k < 2; k++) {
        cl_event *pending[2] = {&net->stage_x_done[k], &net->stage_labels_done[k]};
        for (int j = 0; j < 2; j++)
            if (*pending[j]) {
                clWaitForEvents(1, pending[j]);
                clReleaseEvent(*pending[j]);
            }
        clcnn__free(net->stage_x[k]);
        clcnn__free(net->stage_labels[k]);
    }
    clcnn__net_exchange_release(net);
    if (net->layers)
        release_layers(net);
    clcnn_tensor *ts[] = {net->params, net->grads, net->state, net->x,
                          net->labels, net->loss, net->probs};
    for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++)
        clcnn_tensor_destroy(ts[j]);
    clcnn__free(net->layers);
    clcnn__free(net->spec);
    if (net->ctx)
        net->ctx->live_nets--;
    clcnn__free(net);
}

static char *canonical_spec(const clcnn__layer_desc *layers, int count)
{
    size_t cap = (size_t)count * 96 + 1, used = 0;
    char *spec = clcnn__malloc(cap);
    if (!spec)
        return NULL;
    spec[0] = '\0';
    for (int i = 0; i < count; i++) {
        char text[96];
        clcnn__layer_text(&layers[i], text, sizeof text);
        used += (size_t)snprintf(spec + used, cap - used, "%s%s", i ? " " : "", text);
    }
    return spec;
}

clcnn_status clcnn__net_plan(clcnn_context *ctx, const char *spec, int batch, int c, int h,
                             int w, clcnn_net **out)
{
    *out = NULL;
    int in[4] = {batch, c, h, w};
    if (clcnn__shape_count(in) == 0) {
        char s[64];
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE, "input shape %s is invalid",
                           clcnn__shape_str(in, s, sizeof s));
    }
    clcnn__layer_desc *descs = NULL;
    int count = 0;
    clcnn_status st = clcnn__spec_parse(ctx, spec, &descs, &count);
    if (st != CLCNN_OK)
        return st;
    clcnn_net *net = clcnn__calloc(1, sizeof *net);
    clcnn__layer *layers = clcnn__calloc((size_t)count, sizeof *layers);
    char *canonical = canonical_spec(descs, count);
    if (!net || !layers || !canonical) {
        clcnn__free(net);
        clcnn__free(layers);
        clcnn__free(canonical);
        clcnn__free(descs);
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    for (int i = 0; i < count; i++)
        layers[i].d = descs[i];
    clcnn__free(descs);
    net->ctx = ctx;
    if (ctx) /* NULL: a plan only, for the spec fuzzer */
        ctx->live_nets++;
    net->spec = canonical;
    net->layers = layers;
    net->layer_count = count;
    net->batch = net->active = batch;
    memcpy(net->in_shape, in, sizeof in);
    net->optim = (clcnn_optim_params){.kind = CLCNN_OPTIM_SGD, .lr = 0.01f};
    st = plan(net);
    if (st != CLCNN_OK) {
        clcnn_net_destroy(net);
        return st;
    }
    *out = net;
    return CLCNN_OK;
}

clcnn_status clcnn__net_allocate(clcnn_net *net)
{
    clcnn_status st = clcnn__net_check_memory(net, net->batch);
    if (st == CLCNN_OK)
        st = allocate(net);
    if (st == CLCNN_OK)
        st = clcnn_net_init(net, 1);
    return st;
}

clcnn_status clcnn_net_create(clcnn_context *ctx, const char *spec, int batch, int c, int h,
                              int w, clcnn_net **out)
{
    if (!ctx || !spec || !out)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !ctx ? "ctx" : !spec ? "spec" : "out");
    clcnn_net *net = NULL;
    /* Planned for one image first: a batch too large for the device is then
     * reported as such, with the batch that fits, even when its shapes would
     * not fit an int. */
    clcnn_status st = clcnn__net_plan(ctx, spec, 1, c, h, w, &net);
    if (st == CLCNN_OK && batch >= 1)
        st = clcnn__net_check_memory(net, batch);
    if (st == CLCNN_OK && batch != 1) {
        clcnn_net_destroy(net);
        st = clcnn__net_plan(ctx, spec, batch, c, h, w, &net);
    }
    if (st == CLCNN_OK)
        st = clcnn__net_allocate(net);
    if (st != CLCNN_OK) {
        clcnn_net_destroy(net);
        *out = NULL;
        return st;
    }
    *out = net;
    return CLCNN_OK;
}

/* ---- initialisation ---- */

static int followed_by_relu(const clcnn_net *net, int i)
{
    return i + 1 < net->layer_count && net->layers[i + 1].d.kind == CLCNN__LAYER_ACT &&
           (net->layers[i + 1].d.act == CLCNN_ACT_RELU ||
            net->layers[i + 1].d.act == CLCNN_ACT_LEAKY_RELU);
}

clcnn_status clcnn_net_init(clcnn_net *net, unsigned long long seed)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    float *host = clcnn__calloc(net->param_count, sizeof *host);
    if (!host)
        return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_rng rng;
    clcnn_rng_seed(&rng, seed);
    for (int i = 0; i < net->layer_count; i++) {
        const clcnn__layer *l = &net->layers[i];
        if (!l->param_count)
            continue;
        int k = l->out_shape[1];
        size_t wn = l->param_count - (size_t)k;
        double fan_in = (double)wn / k;
        double fan_out = l->d.kind == CLCNN__LAYER_CONV ? (double)k * l->d.r * l->d.s : k;
        double limit = followed_by_relu(net, i) ? sqrt(6.0 / fan_in)
                                                : sqrt(6.0 / (fan_in + fan_out));
        for (size_t j = 0; j < wn; j++)
            host[l->param_offset + j] = (float)((2.0 * clcnn_rng_uniform(&rng) - 1.0) * limit);
        /* biases stay zero */
    }
    clcnn_status st = clcnn_tensor_write(net->params, host, net->param_count);
    clcnn__free(host);
    if (st == CLCNN_OK)
        st = clcnn_tensor_fill(net->grads, 0.0f);
    if (st == CLCNN_OK)
        st = clcnn_tensor_fill(net->state, 0.0f);
    net->steps = 0;
    return st;
}

/* ---- queries ---- */

const char *clcnn_net_spec(const clcnn_net *net)
{
    return net ? net->spec : "";
}

void clcnn_net_input_shape(const clcnn_net *net, int shape[4])
{
    if (!shape)
        return;
    for (int i = 0; i < 4; i++)
        shape[i] = net ? net->in_shape[i] : 0;
}

int clcnn_net_classes(const clcnn_net *net)
{
    return net ? net->layers[logits_layer(net)].out_shape[1] : 0;
}

size_t clcnn_net_param_count(const clcnn_net *net)
{
    return net ? net->param_count : 0;
}

int clcnn_net_layer_count(const clcnn_net *net)
{
    return net ? net->layer_count : 0;
}

clcnn_status clcnn_net_layer(const clcnn_net *net, int index, clcnn_layer_info *info)
{
    if (!net || !info)
        return clcnn__fail(net ? net->ctx : NULL, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !net ? "net" : "info");
    if (index < 0 || index >= net->layer_count)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "layer index %d is not in 0..%d", index, net->layer_count - 1);
    const clcnn__layer *l = &net->layers[index];
    clcnn__layer_text(&l->d, info->text, sizeof info->text);
    memcpy(info->out_shape, l->out_shape, sizeof info->out_shape);
    info->out_shape[0] = net->batch;
    info->param_count = l->param_count;
    return CLCNN_OK;
}

long clcnn_net_steps(const clcnn_net *net)
{
    return net ? net->steps : 0;
}

clcnn_status clcnn_net_set_optimizer(clcnn_net *net, const clcnn_optim_params *params)
{
    if (!net || !params)
        return clcnn__fail(net ? net->ctx : NULL, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !net ? "net" : "params");
    char why[512];
    if (clcnn__optim_check_values(params, why, sizeof why) != CLCNN_OK)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s", why);
    if (params->kind != net->optim.kind) {
        clcnn_status st = clcnn_tensor_fill(net->state, 0.0f);
        if (st != CLCNN_OK)
            return st;
        net->steps = 0;
    }
    net->optim = *params;
    return CLCNN_OK;
}

/* ---- passes ---- */

/*
 * Writes count floats of src into t without blocking: src is copied to the
 * next of two staging areas, first waiting for the write that last used it
 * (two writes ago, so normally long done), and the write is enqueued with
 * an event. A blocking write would wait for every kernel before it in the
 * queue, i.e. for the whole previous step, and leave the device idle while
 * the host prepares the next batch.
 */
static clcnn_status write_staged(clcnn_net *net, clcnn_tensor *t, const float *src,
                                 size_t count, float *const stage[2], cl_event done[2],
                                 int *next)
{
    int k = *next;
    cl_int err = wait_stage(&done[k]);
    if (err != CL_SUCCESS)
        return clcnn__cl_fail(net->ctx, err, "clWaitForEvents (an input write)");
    memcpy(stage[k], src, count * sizeof *src);
    CLCNN__CL(err, clEnqueueWriteBuffer,
              (net->ctx->queue, t->mem, CL_FALSE, t->offset * sizeof(float),
               count * sizeof(float), stage[k], 0, NULL, &done[k]));
    if (err != CL_SUCCESS) {
        done[k] = NULL;
        return clcnn__cl_fail(net->ctx, err, "clEnqueueWriteBuffer");
    }
    *next = k ^ 1;
    return CLCNN_OK;
}

static void traced(clcnn_net *net, int layer, const char *what)
{
    if (net->trace)
        net->trace(net->trace_user, layer, what);
}

static clcnn_status check_batch(clcnn_net *net, const void *p, const char *name, int n)
{
    if (!p)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL", name);
    if (n < 1 || n > net->batch)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "n = %d images, but the network was built for 1..%d", n, net->batch);
    return CLCNN_OK;
}

clcnn_status clcnn_net_forward(clcnn_net *net, const float *x, int n)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st = check_batch(net, x, "x", n);
    if (st != CLCNN_OK)
        return st;
    set_active(net, n);
    st = write_staged(net, net->x, x, clcnn_tensor_count(net->x), net->stage_x,
                      net->stage_x_done, &net->stage_x_next);
    traced(net, -1, "input write");
    clcnn_context *ctx = net->ctx;
    const clcnn_tensor *in = net->x;
    int last = logits_layer(net);
    for (int i = 0; i <= last && st == CLCNN_OK; i++) {
        clcnn__layer *l = &net->layers[i];
        switch (l->d.kind) {
        case CLCNN__LAYER_CONV:
            st = clcnn__conv2d_forward_act(ctx, in, l->w, l->b, l->y, &l->d.conv,
                                           l->relu_out);
            break;
        case CLCNN__LAYER_ACT:
            if (!l->fused_fwd)
                st = clcnn_act_forward(ctx, l->d.act, l->d.alpha, in, l->y);
            break;
        case CLCNN__LAYER_POOL:
            st = clcnn__pool_forward_act(ctx, in, l->y, l->argmax, &l->d.pool, l->relu_in);
            break;
        case CLCNN__LAYER_DENSE:
            st = clcnn__dense_forward_act(ctx, in, l->w, l->b, l->y, l->relu_out);
            break;
        case CLCNN__LAYER_FLATTEN:
        case CLCNN__LAYER_SOFTMAX:
            break;
        }
        traced(net, i, "fwd");
        in = l->y;
    }
    return st;
}

clcnn_status clcnn_net_backward(clcnn_net *net, const float *labels)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st = check_batch(net, labels, "labels", net->active);
    if (st != CLCNN_OK)
        return st;
    int classes = clcnn_net_classes(net);
    for (int i = 0; i < net->active; i++)
        if (!(labels[i] >= 0 && labels[i] < (float)classes && labels[i] == floorf(labels[i])))
            return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT,
                               "label %d is %g, not a class index 0..%d", i, (double)labels[i],
                               classes - 1);
    st = write_staged(net, net->labels, labels, (size_t)net->active, net->stage_labels,
                      net->stage_labels_done, &net->stage_labels_next);
    net->backward_images = net->active;
    clcnn_context *ctx = net->ctx;
    int last = logits_layer(net);
    if (st == CLCNN_OK)
        st = clcnn_softmax_cross_entropy(ctx, net->layers[last].y, net->labels,
                                         net->layers[last].dy, net->loss);
    traced(net, -1, "labels + loss");
    for (int i = last; i >= 0 && st == CLCNN_OK; i--) {
        clcnn__layer *l = &net->layers[i];
        const clcnn_tensor *in = i ? net->layers[i - 1].y : net->x;
        clcnn_tensor *dx = i ? net->layers[i - 1].dy : NULL; /* no gradient for the input */
        switch (l->d.kind) {
        case CLCNN__LAYER_CONV:
            st = clcnn_conv2d_backward_filter(ctx, in, l->dy, l->dw, l->db, &l->d.conv);
            traced(net, i, "bwd filter");
            if (st == CLCNN_OK && dx)
                st = clcnn_conv2d_backward_data(ctx, l->dy, l->w, dx, &l->d.conv);
            break;
        case CLCNN__LAYER_DENSE:
            st = clcnn_dense_backward_filter(ctx, in, l->dy, l->dw, l->db);
            traced(net, i, "bwd filter");
            if (st == CLCNN_OK && dx)
                st = clcnn__dense_backward_data_act(ctx, l->dy, l->w, in, dx, l->relu_dx);
            break;
        case CLCNN__LAYER_ACT:
            /* a ReLU whose forward ran in the layer before it reads its
             * derivative from its output there (in is that output) */
            if (dx && !l->fused_bwd)
                st = clcnn_act_backward(ctx, l->d.act, l->d.alpha, in, l->y, l->dy, dx);
            break;
        case CLCNN__LAYER_POOL:
            if (dx)
                st = clcnn__pool_backward_act(ctx, l->dy, l->argmax, l->y, dx, &l->d.pool,
                                              l->relu_dx);
            break;
        case CLCNN__LAYER_FLATTEN: /* its dy is a view of dx */
        case CLCNN__LAYER_SOFTMAX:
            break;
        }
        traced(net, i, "bwd data");
    }
    return st;
}

clcnn_status clcnn_net_step(clcnn_net *net, float lr)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_optim_params p = net->optim;
    p.lr = lr;
    clcnn_tensor *state = net->state;
    clcnn_tensor *used = NULL;
    clcnn_status st = CLCNN_OK;
    if (net->exchange.allreduce) {
        st = clcnn__net_exchange_gradients(net);
        traced(net, -1, "gradient exchange");
        if (st != CLCNN_OK)
            return st;
    }
    /* the arena is sized for Adam; SGD uses its first part */
    st = clcnn__tensor_slice(state, 0, 1, 1, 1,
                             (int)clcnn_optim_state_count(p.kind, net->param_count), &used);
    if (st == CLCNN_OK)
        st = clcnn_optim_step(net->ctx, &p, net->steps + 1, net->params, net->grads, used);
    clcnn_tensor_destroy(used);
    traced(net, -1, "optimiser");
    if (st == CLCNN_OK) {
        net->steps++;
        net->backward_images = 0;
    }
    return st;
}

clcnn_status clcnn_net_train_batch(clcnn_net *net, const float *x, const float *labels, int n,
                                   float lr)
{
    clcnn_status st = clcnn_net_forward(net, x, n);
    if (st == CLCNN_OK)
        st = clcnn_net_backward(net, labels);
    if (st == CLCNN_OK)
        st = clcnn_net_step(net, lr);
    return st;
}

clcnn_status clcnn_net_prepare(clcnn_net *net)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    size_t count = clcnn__shape_count(net->in_shape);
    float *zeros = clcnn__calloc(count + (size_t)net->batch, sizeof *zeros);
    if (!zeros)
        return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    /* a full batch, so that every kernel is chosen as for training */
    clcnn_status st = clcnn_net_forward(net, zeros, net->batch);
    if (st == CLCNN_OK)
        st = clcnn_net_backward(net, zeros + count);
    if (st == CLCNN_OK)
        st = clcnn_softmax_forward(net->ctx, net->layers[logits_layer(net)].y, net->probs);
    if (st == CLCNN_OK)
        st = clcnn__optim_prepare(net->ctx, net->optim.kind);
    /* backward accumulated into the gradients: clear them again */
    if (st == CLCNN_OK)
        st = clcnn_tensor_fill(net->grads, 0.0f);
    net->backward_images = 0;
    if (st == CLCNN_OK)
        st = clcnn_context_finish(net->ctx);
    clcnn__free(zeros);
    return st;
}

clcnn_status clcnn_net_loss(clcnn_net *net, float *loss)
{
    if (!net || !loss)
        return clcnn__fail(net ? net->ctx : NULL, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !net ? "net" : "loss");
    clcnn_status st = clcnn_tensor_read(net->loss, loss, 1);
    if (st == CLCNN_OK && !isfinite(*loss))
        return clcnn__fail(net->ctx, CLCNN_ERR_NUMERIC,
                           "the loss became %s at step %ld (the learning rate may be too high)",
                           isnan(*loss) ? "NaN" : "infinite", net->steps);
    return st;
}

clcnn_status clcnn_net_predict(clcnn_net *net, const float *x, int n, float *probs)
{
    if (!net || !probs)
        return clcnn__fail(net ? net->ctx : NULL, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !net ? "net" : "probs");
    clcnn_status st = clcnn_net_forward(net, x, n);
    if (st == CLCNN_OK)
        st = clcnn_softmax_forward(net->ctx, net->layers[logits_layer(net)].y, net->probs);
    if (st == CLCNN_OK)
        st = clcnn_tensor_read(net->probs, probs, clcnn_tensor_count(net->probs));
    return st;
}
