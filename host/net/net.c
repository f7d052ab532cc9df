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

/* The output of layer i (-1: the network's input), as the layers after it
 * read it. */
static const clcnn_tensor *output_of(const clcnn_net *net, int i)
{
    return i < 0 ? net->x : net->layers[i].y;
}

static const int *shape_of(const clcnn_net *net, int i)
{
    return i < 0 ? net->in_shape : net->layers[i].out_shape;
}

static clcnn_status plan_layer(clcnn_net *net, int index)
{
    char msg[512] = "";
    clcnn__layer *l = &net->layers[index];
    const clcnn__layer_desc *d = &l->d;
    const int *in = shape_of(net, d->input);
    const int *in2 = d->input2 >= -1 ? shape_of(net, d->input2) : NULL;
    memset(l->w_shape, 0, sizeof l->w_shape);
    memset(l->b_shape, 0, sizeof l->b_shape);
    l->stats_count = 0;
    clcnn_status st = clcnn__layer_type_of(d->kind)->plan(l, in, in2, msg, sizeof msg);
    l->param_count = clcnn__shape_count(l->w_shape) + clcnn__shape_count(l->b_shape);
    if (st != CLCNN_OK) {
        char text[96], s[64], s2[64] = "";
        clcnn__layer_text(d, text, sizeof text);
        if (in2)
            snprintf(s2, sizeof s2, " and %s", clcnn__shape_str(in2, s, sizeof s));
        return clcnn__fail(net->ctx, st, "layer %d %s does not fit its input %s%s: %s",
                           index + 1, text, clcnn__shape_str(in, s, sizeof s), s2, msg);
    }
    if (clcnn__shape_count(l->out_shape) == 0 || l->param_count > (size_t)1 << 30) {
        char text[96];
        clcnn__layer_text(d, text, sizeof text);
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE, "layer %d %s is too large", index + 1,
                           text);
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
    net->param_count = net->stats_count = 0;
    for (int i = 0; i < net->layer_count; i++) {
        clcnn_status st = plan_layer(net, i);
        if (st != CLCNN_OK)
            return st;
        clcnn__layer *l = &net->layers[i];
        l->param_offset = net->param_count;
        net->param_count += l->param_count;
        l->stats_offset = net->stats_count;
        net->stats_count += l->stats_count;
        l->consumers = 0;
        if (l->d.kind == CLCNN__LAYER_BATCHNORM || l->d.kind == CLCNN__LAYER_DROPOUT)
            net->has_modes = 1;
    }
    for (int i = 0; i < net->layer_count; i++) {
        const clcnn__layer_desc *d = &net->layers[i].d;
        if (d->input >= 0)
            net->layers[d->input].consumers++;
        if (d->input2 >= 0)
            net->layers[d->input2].consumers++;
    }
    int last = logits_layer(net);
    if (last < 0)
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE, "the network has no layer before softmax");
    net->layers[last].consumers++; /* the loss */
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

/* Layer i + 1 when it is the only reader of layer i's output, else NULL:
 * the neighbour that may take over a pass of layer i. */
static clcnn__layer *sole_next(clcnn_net *net, int i)
{
    if (i < 0 || i + 1 >= net->layer_count || net->layers[i].consumers != 1 ||
        net->layers[i + 1].d.input != i || net->layers[i + 1].d.input2 == i)
        return NULL;
    return &net->layers[i + 1];
}

/*
 * Plans which ReLU layers run inside their neighbours' launches. Forward: a
 * convolution or dense layer before the ReLU applies it in its epilogue, or
 * else a max pooling after it pools the pre-activation and clamps the
 * maximum (the same values). Backward: a max pooling or a dense layer after it
 * (through flattens) multiplies its dx by the ReLU's derivative, read from
 * its own input or output. Either way the results are exactly those of
 * the separate passes; the ReLU's launches and memory passes disappear.
 * Only along a chain: each output on the way has that one reader, so no
 * other layer sees a value or a gradient the fusion changed.
 */
static void plan_fusion(clcnn_net *net)
{
    for (int i = 0; i < net->layer_count; i++) {
        clcnn__layer *l = &net->layers[i];
        if (!is_relu(l))
            continue;
        int p = l->d.input;
        clcnn__layer *prev = p >= 0 && sole_next(net, p) == l ? &net->layers[p] : NULL;
        clcnn__layer *next = sole_next(net, i);
        clcnn__layer *consumer = next;
        for (int c = i + 1; consumer && consumer->d.kind == CLCNN__LAYER_FLATTEN; c++)
            consumer = sole_next(net, c);
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

/* Plans which batch norms fold into the convolution before them for
 * inference: those that are that convolution's only reader; and a ReLU
 * that is such a batch norm's only reader (and not fused elsewhere) goes
 * into the convolution's epilogue with it. */
static size_t plan_folds(clcnn_net *net)
{
    size_t count = 0;
    for (int i = 0; i < net->layer_count; i++) {
        clcnn__layer *l = &net->layers[i];
        clcnn__layer *next = sole_next(net, i);
        if (l->d.kind == CLCNN__LAYER_CONV && !l->relu_out && next &&
            next->d.kind == CLCNN__LAYER_BATCHNORM) {
            l->folds_bn = i + 2;
            next->folded_in = 1;
            count += l->param_count;
            clcnn__layer *relu = sole_next(net, i + 1);
            if (relu && is_relu(relu) && !relu->fused_fwd) {
                l->folds_relu = i + 3;
                relu->folded_in = 1;
            }
        }
    }
    return count;
}

void clcnn__net_unfuse(clcnn_net *net)
{
    for (int i = 0; i < net->layer_count; i++) {
        clcnn__layer *l = &net->layers[i];
        l->fused_fwd = l->fused_bwd = l->relu_out = l->relu_in = l->relu_dx = 0;
        if (l->folds_relu) {
            net->layers[l->folds_relu - 1].folded_in = 0;
            l->folds_relu = 0;
        }
    }
}

/* A layer whose output passes its gradient through to its input's (no
 * pass of its own): flatten, and a ReLU whose backward a neighbour does. */
static int passes_gradient_through(const clcnn__layer *l)
{
    return l->d.kind == CLCNN__LAYER_FLATTEN || l->fused_bwd;
}

/* The layer whose dy buffer layer i's dy is (a view through flattens and
 * fused ReLUs). */
static int gradient_root(const clcnn_net *net, int i)
{
    while (i >= 0 && passes_gradient_through(&net->layers[i]) && net->layers[i].d.input >= 0)
        i = net->layers[i].d.input;
    return i;
}

/*
 * Where gradient paths join (an output read by several layers), the first
 * reader in backward order writes its input's gradient and each later one
 * adds to it: plans which inputs accumulate, and returns the elements per
 * image the largest of those needs in net->scratch (a batch norm reading the
 * network input, which needs somewhere to put a dx nobody wants, too).
 */
static size_t plan_joins(clcnn_net *net)
{
    size_t largest = 0;
    char *written = clcnn__calloc((size_t)net->layer_count, 1);
    for (int i = net->layer_count - 1; i >= 0; i--) {
        clcnn__layer *l = &net->layers[i];
        int inputs[2] = {l->d.input, l->d.input2};
        l->accumulate[0] = l->accumulate[1] = 0;
        for (int j = 0; j < 2; j++) {
            const int *s = inputs[j] >= -1 ? shape_of(net, inputs[j]) : NULL;
            size_t per_image = s ? (size_t)s[1] * s[2] * s[3] : 0;
            if (inputs[j] == -1 && l->d.kind == CLCNN__LAYER_BATCHNORM && per_image > largest)
                largest = per_image;
            if (inputs[j] < 0 || passes_gradient_through(l) || !written)
                continue;
            int root = gradient_root(net, inputs[j]);
            if (root < 0)
                continue;
            l->accumulate[j] = written[root];
            written[root] = 1;
            if (l->accumulate[j] && per_image > largest)
                largest = per_image;
        }
    }
    clcnn__free(written);
    return largest;
}

static clcnn_status allocate(clcnn_net *net)
{
    plan_fusion(net);
    size_t fold_count = plan_folds(net);
    size_t scratch = plan_joins(net);
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
    if (st == CLCNN_OK && net->stats_count)
        st = clcnn_tensor_create(ctx, 1, 1, 1, (int)net->stats_count, &net->stats);
    if (st == CLCNN_OK && fold_count)
        st = clcnn_tensor_create(ctx, 1, 1, 1, (int)fold_count, &net->fold_params);
    if (st == CLCNN_OK && scratch)
        st = clcnn_tensor_create(ctx, net->batch, 1, 1, (int)scratch, &net->scratch);
    if (st == CLCNN_OK)
        st = make_tensor(ctx, in, &net->x);
    if (st == CLCNN_OK)
        st = clcnn_tensor_create(ctx, net->batch, 1, 1, 1, &net->labels);
    if (st == CLCNN_OK)
        st = clcnn_tensor_create(ctx, 1, 1, 1, 1, &net->loss);
    if (st == CLCNN_OK)
        st = make_tensor(ctx, net->layers[logits_layer(net)].out_shape, &net->probs);

    size_t x_count = clcnn__shape_count(in), label_count = (size_t)net->batch;
    for (int k = 0; k < 2 && st == CLCNN_OK; k++) {
        net->stage_x[k] = clcnn__malloc(x_count * sizeof(float));
        net->stage_labels[k] = clcnn__malloc(label_count * sizeof(float));
        if (!net->stage_x[k] || !net->stage_labels[k])
            st = clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    size_t fold_offset = 0;
    for (int i = 0; i < net->layer_count && st == CLCNN_OK; i++) {
        clcnn__layer *l = &net->layers[i];
        const int *o = l->out_shape, *ws = l->w_shape, *bs = l->b_shape;
        if (l->param_count) {
            size_t wn = clcnn__shape_count(ws), off = l->param_offset;
            st = clcnn__tensor_slice(net->params, off, ws[0], ws[1], ws[2], ws[3], &l->w);
            if (st == CLCNN_OK)
                st = clcnn__tensor_slice(net->grads, off, ws[0], ws[1], ws[2], ws[3], &l->dw);
            if (st == CLCNN_OK)
                st = clcnn__tensor_slice(net->params, off + wn, bs[0], bs[1], bs[2], bs[3],
                                         &l->b);
            if (st == CLCNN_OK)
                st = clcnn__tensor_slice(net->grads, off + wn, bs[0], bs[1], bs[2], bs[3],
                                         &l->db);
        }
        if (st == CLCNN_OK && l->folds_bn) {
            size_t wn = clcnn__shape_count(ws);
            st = clcnn__tensor_slice(net->fold_params, fold_offset, ws[0], ws[1], ws[2], ws[3],
                                     &l->fold_w);
            if (st == CLCNN_OK)
                st = clcnn__tensor_slice(net->fold_params, fold_offset + wn, bs[0], 1, 1, 1,
                                         &l->fold_b);
            fold_offset += l->param_count;
        }
        if (st == CLCNN_OK && l->stats_count) { /* batch norm */
            int c = o[1];
            st = clcnn__tensor_slice(net->stats, l->stats_offset, c, 1, 1, 1,
                                     &l->running_mean);
            if (st == CLCNN_OK)
                st = clcnn__tensor_slice(net->stats, l->stats_offset + (size_t)c, c, 1, 1, 1,
                                         &l->running_var);
            if (st == CLCNN_OK)
                st = clcnn_tensor_create(ctx, c, 1, 1, 1, &l->save_mean);
            if (st == CLCNN_OK)
                st = clcnn_tensor_create(ctx, c, 1, 1, 1, &l->save_invstd);
        }
        int inputs[2] = {l->d.input, l->d.input2};
        for (int j = 0; j < 2 && st == CLCNN_OK; j++) {
            int bn_on_input = inputs[j] == -1 && l->d.kind == CLCNN__LAYER_BATCHNORM;
            if (l->accumulate[j] || bn_on_input) {
                const int *s = shape_of(net, inputs[j]);
                st = clcnn__tensor_slice(net->scratch, 0, s[0], s[1], s[2], s[3],
                                         &l->scratch[j]);
            }
        }
        if (st != CLCNN_OK)
            break;
        if (l->d.kind == CLCNN__LAYER_SOFTMAX)
            break; /* trailing softmax: predict writes net->probs */
        clcnn_tensor *in_y = (clcnn_tensor *)output_of(net, l->d.input);
        clcnn_tensor *in_dy = l->d.input >= 0 ? net->layers[l->d.input].dy : NULL;
        if (l->d.kind == CLCNN__LAYER_FLATTEN || l->fused_fwd || l->fused_bwd) {
            /* flatten is a view of its input and of its input's gradient; a
             * fused ReLU works in place in its neighbours' buffers */
            int view_y = l->d.kind == CLCNN__LAYER_FLATTEN || l->fused_fwd;
            int view_dy = in_dy && passes_gradient_through(l);
            st = view_y ? clcnn_tensor_view(in_y, o[0], o[1], o[2], o[3], &l->y)
                        : make_tensor(ctx, o, &l->y);
            if (st == CLCNN_OK)
                st = view_dy ? clcnn_tensor_view(in_dy, o[0], o[1], o[2], o[3], &l->dy)
                             : make_tensor(ctx, o, &l->dy);
        } else {
            st = make_tensor(ctx, o, &l->y);
            if (st == CLCNN_OK)
                st = make_tensor(ctx, o, &l->dy);
            if (st == CLCNN_OK && is_max_pool(l))
                st = make_tensor(ctx, o, &l->argmax);
        }
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
    /* which ReLUs run in place and which gradients join, as allocate()
     * will have them */
    plan_fusion(net);
    uint64_t fold = (uint64_t)plan_folds(net) * 4u;
    uint64_t scratch = (uint64_t)plan_joins(net) * 4u;
    uint64_t p = (uint64_t)net->param_count * 4u, stats = (uint64_t)net->stats_count * 4u;
    /* parameters, gradients, Adam's two moments, the loss, the statistics
     * and the batch norms' saved ones (as many), the folded weights */
    net_bytes b = {.fixed = 4 * p + 4 + 2 * stats + fold, .largest_fixed = 2 * p};
    if (stats > b.largest_fixed)
        b.largest_fixed = stats;
    b.per_image = scratch;
    b.largest_per_image = scratch;
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
                          !(flatten || l->fused_fwd) +
                              !(l->d.input >= 0 && passes_gradient_through(l)));
        else
            add_per_image(&b, l->out_shape, is_max_pool(l) ? 3 : 2);
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
        clcnn_tensor *ts[] = {l->y, l->dy, l->argmax, l->scratch[0], l->scratch[1]};
        for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++)
            if (ts[j])
                ts[j]->shape[0] = n;
    }
}

static void release_layers(clcnn_net *net)
{
    for (int i = 0; i < net->layer_count; i++) {
        clcnn__layer *l = &net->layers[i];
        clcnn_tensor *ts[] = {l->w,          l->b,           l->dw,          l->db,
                              l->y,          l->dy,          l->argmax,      l->running_mean,
                              l->running_var, l->save_mean,  l->save_invstd, l->scratch[0],
                              l->scratch[1], l->fold_w,      l->fold_b};
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
    clcnn_tensor *ts[] = {net->params, net->grads,   net->state, net->stats,
                          net->scratch, net->fold_params, net->x, net->labels,
                          net->loss,   net->probs};
    for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++)
        clcnn_tensor_destroy(ts[j]);
    clcnn__free(net->layers);
    clcnn__free(net->spec);
    if (net->ctx)
        net->ctx->live_nets--;
    clcnn__free(net);
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
    char *canonical = clcnn__spec_text(descs, count);
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
    net->training = 1;
    net->fold_version = -1;
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

/* Whether layer i's output goes through a ReLU next (a batch norm between
 * them too): its weights are then drawn for a ReLU. */
static int feeds_relu(clcnn_net *net, int i)
{
    clcnn__layer *next = sole_next(net, i);
    if (next && next->d.kind == CLCNN__LAYER_BATCHNORM)
        next = sole_next(net, i + 1);
    return next && next->d.kind == CLCNN__LAYER_ACT &&
           (next->d.act == CLCNN_ACT_RELU || next->d.act == CLCNN_ACT_LEAKY_RELU);
}

/* Running means 0 and variances 1, as a new PyTorch BatchNorm2d has. */
static clcnn_status reset_stats(clcnn_net *net)
{
    if (!net->stats_count)
        return CLCNN_OK;
    float *host = clcnn__calloc(net->stats_count, sizeof *host);
    if (!host)
        return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int i = 0; i < net->layer_count; i++) {
        const clcnn__layer *l = &net->layers[i];
        for (size_t j = l->stats_count / 2; j < l->stats_count; j++)
            host[l->stats_offset + j] = 1.0f;
    }
    clcnn_status st = clcnn_tensor_write(net->stats, host, net->stats_count);
    clcnn__free(host);
    return st;
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
        const clcnn__layer_type *type = clcnn__layer_type_of(l->d.kind);
        if (l->param_count && type->init) {
            float *w = host + l->param_offset;
            type->init(l, feeds_relu(net, i), &rng, w, w + clcnn__shape_count(l->w_shape));
        }
    }
    clcnn_status st = clcnn_tensor_write(net->params, host, net->param_count);
    clcnn__free(host);
    if (st == CLCNN_OK)
        st = reset_stats(net);
    if (st == CLCNN_OK)
        st = clcnn_tensor_fill(net->grads, 0.0f);
    if (st == CLCNN_OK)
        st = clcnn_tensor_fill(net->state, 0.0f);
    net->steps = 0;
    net->seed = seed;
    net->params_version++;
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
    info->input = l->d.input;
    info->input2 = l->d.input2;
    snprintf(info->name, sizeof info->name, "%s", l->d.name);
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

/*
 * Folds each batch norm that has a convolution as its only input into that
 * convolution's weights for inference: per output channel k, with
 * scale = gamma / sqrt(running_var + eps), w' = w * scale and
 * b' = (b - running_mean) * scale + beta. The convolution then writes the
 * batch norm's output in one pass. Computed on the host in double from the
 * parameters and statistics, again only after they changed.
 */
static clcnn_status refold(clcnn_net *net)
{
    float *params = clcnn__malloc(net->param_count * sizeof *params);
    float *stats = clcnn__malloc(net->stats_count * sizeof *stats);
    float *folded = clcnn__malloc((size_t)clcnn_tensor_count(net->fold_params) * sizeof *folded);
    clcnn_status st = params && stats && folded
                          ? CLCNN_OK
                          : clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY,
                                        "out of host memory");
    if (st == CLCNN_OK)
        st = clcnn_tensor_read(net->params, params, net->param_count);
    if (st == CLCNN_OK)
        st = clcnn_tensor_read(net->stats, stats, net->stats_count);
    size_t o = 0;
    for (int i = 0; i < net->layer_count && st == CLCNN_OK; i++) {
        const clcnn__layer *l = &net->layers[i];
        if (!l->folds_bn)
            continue;
        const clcnn__layer *bn = &net->layers[l->folds_bn - 1];
        int k_count = l->w_shape[0];
        size_t per_k = clcnn__shape_count(l->w_shape) / (size_t)k_count;
        const float *w = params + l->param_offset, *b = w + per_k * (size_t)k_count;
        const float *gamma = params + bn->param_offset, *beta = gamma + k_count;
        const float *mean = stats + bn->stats_offset, *var = mean + k_count;
        float *fw = folded + o, *fb = fw + per_k * (size_t)k_count;
        for (int k = 0; k < k_count; k++) {
            double scale = gamma[k] / sqrt((double)var[k] + bn->d.bn.eps);
            for (size_t j = 0; j < per_k; j++)
                fw[(size_t)k * per_k + j] = (float)(w[(size_t)k * per_k + j] * scale);
            fb[k] = (float)((b[k] - (double)mean[k]) * scale + beta[k]);
        }
        o += l->param_count;
    }
    if (st == CLCNN_OK)
        st = clcnn_tensor_write(net->fold_params, folded, o);
    if (st == CLCNN_OK)
        net->fold_version = net->params_version;
    clcnn__free(params);
    clcnn__free(stats);
    clcnn__free(folded);
    return st;
}

static clcnn_status forward(clcnn_net *net, const float *x, int n, int training)
{
    clcnn_status st = check_batch(net, x, "x", n);
    if (st != CLCNN_OK)
        return st;
    set_active(net, n);
    net->pass_training = training;
    net->folded = !training && net->fold_params && !net->fold_off;
    if (net->folded && net->fold_version != net->params_version)
        st = refold(net);
    if (st == CLCNN_OK)
        st = write_staged(net, net->x, x, clcnn_tensor_count(net->x), net->stage_x,
                          net->stage_x_done, &net->stage_x_next);
    traced(net, -1, "input write");
    int last = logits_layer(net);
    for (int i = 0; i <= last && st == CLCNN_OK; i++) {
        clcnn__layer *l = &net->layers[i];
        const clcnn_tensor *x2 = l->d.input2 >= -1 ? output_of(net, l->d.input2) : NULL;
        st = clcnn__layer_type_of(l->d.kind)->forward(net, l, output_of(net, l->d.input), x2);
        traced(net, i, "fwd");
    }
    if (training && net->stats_count && !net->preparing)
        net->params_version++; /* the running statistics moved */
    return st;
}

clcnn_status clcnn_net_forward(clcnn_net *net, const float *x, int n)
{
    return net ? forward(net, x, n, net->training) : CLCNN_ERR_INVALID_ARGUMENT;
}

clcnn_status clcnn_net_set_training(clcnn_net *net, int training)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    net->training = training != 0;
    return CLCNN_OK;
}

int clcnn_net_training(const clcnn_net *net)
{
    return net ? net->training : 0;
}

clcnn_status clcnn_net_backward(clcnn_net *net, const float *labels)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st = check_batch(net, labels, "labels", net->active);
    if (st != CLCNN_OK)
        return st;
    if (!net->pass_training && net->has_modes)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "the last forward pass ran in inference mode, which has no backward "
                           "pass for batch norm and dropout: train with "
                           "clcnn_net_set_training(net, 1)");
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
        int inputs[2] = {l->d.input, l->d.input2};
        clcnn_tensor *dx[2] = {NULL, NULL};
        /* a joining path's gradient goes to scratch and is added below; the
         * network input needs none (but a batch norm a place for it) */
        for (int j = 0; j < 2; j++)
            dx[j] = l->scratch[j] ? l->scratch[j]
                  : inputs[j] >= 0 ? net->layers[inputs[j]].dy
                                   : NULL;
        const clcnn_tensor *x2 = inputs[1] >= -1 ? output_of(net, inputs[1]) : NULL;
        st = clcnn__layer_type_of(l->d.kind)
                 ->backward(net, l, output_of(net, inputs[0]), x2, dx[0], dx[1]);
        for (int j = 0; j < 2 && st == CLCNN_OK; j++)
            if (l->accumulate[j])
                st = clcnn_axpy(ctx, 1.0f, l->scratch[j], net->layers[inputs[j]].dy);
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
        net->params_version++;
        net->backward_images = 0;
    }
    return st;
}

clcnn_status clcnn_net_train_batch(clcnn_net *net, const float *x, const float *labels, int n,
                                   float lr)
{
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_status st = forward(net, x, n, 1);
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
    /* a full batch, so that every kernel is chosen as for training, then
     * the inference pass; the statistics stay as they were */
    net->preparing = 1;
    clcnn_status st = forward(net, zeros, net->batch, 1);
    if (st == CLCNN_OK)
        st = clcnn_net_backward(net, zeros + count);
    if (st == CLCNN_OK && net->has_modes)
        st = forward(net, zeros, net->batch, 0);
    net->preparing = 0;
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
    clcnn_status st = forward(net, x, n, 0);
    if (st == CLCNN_OK)
        st = clcnn_softmax_forward(net->ctx, net->layers[logits_layer(net)].y, net->probs);
    if (st == CLCNN_OK)
        st = clcnn_tensor_read(net->probs, probs, clcnn_tensor_count(net->probs));
    return st;
}
