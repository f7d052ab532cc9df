/*
 * ONNX export: walks a network through the public inspection calls (each
 * layer's spec text, the layers it reads, its output shape and parameters;
 * batch norm's statistics from the network) and writes an ONNX model of
 * standard operators (opset 13) that onnxruntime runs as clcnn infers: each
 * layer one node (a Flatten or Reshape before it where the rank changes),
 * reading the tensors of the layers it reads.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "onnx.h"
#include "onnx.pb-c.h"

#define OPSET 13
#define IR_VERSION 7

/* Everything the model needs, allocated as it is built and freed at once. */
typedef struct builder {
    void **owned;
    size_t owned_count, owned_cap;
    Onnx__NodeProto **nodes;
    size_t node_count, node_cap;
    Onnx__TensorProto **inits;
    size_t init_count, init_cap;
    int failed; /* out of host memory */
} builder;

static void *keep(builder *b, size_t size)
{
    if (b->failed)
        return NULL;
    if (b->owned_count == b->owned_cap) {
        size_t cap = b->owned_cap ? 2 * b->owned_cap : 256;
        void **p = clcnn__realloc(b->owned, cap * sizeof *p);
        if (!p) {
            b->failed = 1;
            return NULL;
        }
        b->owned = p;
        b->owned_cap = cap;
    }
    void *p = clcnn__calloc(1, size ? size : 1);
    if (!p) {
        b->failed = 1;
        return NULL;
    }
    b->owned[b->owned_count++] = p;
    return p;
}

static char *text(builder *b, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static char *text(builder *b, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = keep(b, strlen(buf) + 1);
    if (s)
        memcpy(s, buf, strlen(buf) + 1);
    return s;
}

/* Appends p to a growing pointer list. */
static void push(builder *b, void ***list, size_t *count, size_t *cap, void *p)
{
    if (b->failed || !p) {
        b->failed = 1;
        return;
    }
    if (*count == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        void **l = clcnn__realloc(*list, c * sizeof *l);
        if (!l) {
            b->failed = 1;
            return;
        }
        *list = l;
        *cap = c;
    }
    (*list)[(*count)++] = p;
}

/* A node reading inputs[0..n_inputs) and writing a new tensor named after it. */
static Onnx__NodeProto *node(builder *b, const char *op, const char *const *inputs,
                             size_t n_inputs, const char *out)
{
    Onnx__NodeProto *n = keep(b, sizeof *n);
    char **in = keep(b, n_inputs * sizeof *in);
    char **outs = keep(b, sizeof *outs);
    if (!n || !in || !outs)
        return NULL;
    onnx__node_proto__init(n);
    for (size_t i = 0; i < n_inputs; i++)
        in[i] = (char *)inputs[i];
    outs[0] = (char *)out;
    n->input = in;
    n->n_input = n_inputs;
    n->output = outs;
    n->n_output = 1;
    n->name = (char *)out;
    n->op_type = (char *)op;
    n->attribute = keep(b, 6 * sizeof *n->attribute);
    push(b, (void ***)&b->nodes, &b->node_count, &b->node_cap, n);
    return b->failed ? NULL : n;
}

static Onnx__AttributeProto *add_attr(builder *b, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = n && n->attribute && n->n_attribute < 6 ? keep(b, sizeof *a) : NULL;
    if (!a) {
        b->failed = 1;
        return NULL;
    }
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static void attr_int(builder *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = add_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = 1;
        a->i = v;
    }
}

static void attr_float(builder *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = add_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = 1;
        a->f = v;
    }
}

static void attr_ints(builder *b, Onnx__NodeProto *n, const char *name, const int64_t *v,
                      size_t count)
{
    Onnx__AttributeProto *a = add_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *copy = keep(b, count * sizeof *copy);
    if (a && copy) {
        memcpy(copy, v, count * sizeof *copy);
        a->ints = copy;
        a->n_ints = count;
    }
}

/* An initializer of dims[0..rank) holding count float32 or int64 values. */
static char *initializer(builder *b, const char *name, const int64_t *dims, size_t rank,
                         const float *f, const int64_t *i64, size_t count)
{
    Onnx__TensorProto *t = keep(b, sizeof *t);
    int64_t *d = keep(b, rank * sizeof *d);
    size_t width = f ? 4 : 8;
    uint8_t *raw = keep(b, count * width);
    if (!t || !d || !raw)
        return NULL;
    onnx__tensor_proto__init(t);
    memcpy(d, dims, rank * sizeof *d);
    t->dims = d;
    t->n_dims = rank;
    t->has_data_type = 1;
    t->data_type = f ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT : ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->name = (char *)name;
    /* raw_data is little-endian, whatever the host */
    for (size_t k = 0; k < count; k++) {
        uint64_t bits = 0;
        if (f) {
            uint32_t u;
            memcpy(&u, &f[k], 4);
            bits = u;
        } else {
            memcpy(&bits, &i64[k], 8);
        }
        for (size_t j = 0; j < width; j++)
            raw[k * width + j] = (uint8_t)(bits >> (8 * j));
    }
    t->has_raw_data = 1;
    t->raw_data.data = raw;
    t->raw_data.len = count * width;
    push(b, (void ***)&b->inits, &b->init_count, &b->init_cap, t);
    return (char *)name;
}

/* (N, d1[, d2, d3]) with a symbolic N. */
static Onnx__ValueInfoProto *value_info(builder *b, const char *name, const int *dims, int rank)
{
    Onnx__ValueInfoProto *v = keep(b, sizeof *v);
    Onnx__TypeProto *type = keep(b, sizeof *type);
    Onnx__TypeProto__Tensor *tt = keep(b, sizeof *tt);
    Onnx__TensorShapeProto *shape = keep(b, sizeof *shape);
    Onnx__TensorShapeProto__Dimension **d = keep(b, (size_t)rank * sizeof *d);
    if (!v || !type || !tt || !shape || !d)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(shape);
    for (int i = 0; i < rank; i++) {
        d[i] = keep(b, sizeof *d[i]);
        if (!d[i])
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d[i]);
        if (i == 0) {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i]->dim_param = (char *)"N";
        } else {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i]->dim_value = dims[i];
        }
    }
    shape->dim = d;
    shape->n_dim = (size_t)rank;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = shape;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tt;
    v->name = (char *)name;
    v->type = type;
    return v;
}

/* ---- reading a layer's spec text ---- */

typedef struct layer_text {
    char name[32];
    int positional[3], positional_count;
    int pad, pad_same, stride, dilation, include_pad, groups;
    float alpha;
    int bad;
} layer_text;

static void parse_text(const char *s, layer_text *l)
{
    memset(l, 0, sizeof *l);
    l->stride = l->dilation = l->groups = 1;
    l->alpha = 0.01f;
    size_t n = strcspn(s, "(");
    if (n >= sizeof l->name) {
        l->bad = 1;
        return;
    }
    memcpy(l->name, s, n);
    if (!s[n])
        return;
    const char *p = s + n + 1;
    while (*p && *p != ')') {
        char arg[48];
        size_t len = strcspn(p, ",)");
        if (len >= sizeof arg) {
            l->bad = 1;
            return;
        }
        memcpy(arg, p, len);
        arg[len] = '\0';
        p += len + (p[len] == ',');
        char *eq = strchr(arg, '=');
        if (strcmp(l->name, "leaky_relu") == 0)
            l->alpha = strtof(arg, NULL);
        else if (!eq && l->positional_count < 3)
            l->positional[l->positional_count++] = atoi(arg);
        else if (eq && strncmp(arg, "pad=", 4) == 0 && strcmp(eq + 1, "same") == 0)
            l->pad_same = 1;
        else if (eq && strncmp(arg, "pad=", 4) == 0)
            l->pad = atoi(eq + 1);
        else if (eq && strncmp(arg, "include_pad=", 12) == 0)
            l->include_pad = atoi(eq + 1);
        else if (eq && strncmp(arg, "stride=", 7) == 0)
            l->stride = atoi(eq + 1);
        else if (eq && strncmp(arg, "dilation=", 9) == 0)
            l->dilation = atoi(eq + 1);
        else if (eq && strncmp(arg, "groups=", 7) == 0)
            l->groups = atoi(eq + 1);
        else
            l->bad = 1;
    }
}

/* ---- the walk ---- */

typedef struct walk_state {
    builder *b;
    clcnn_net *net;
    const char *cur; /* the tensor the layer reads */
    int rank;        /* 4, or 2 after a flatten or dense */
    int shape[4];    /* its shape */
    int index;       /* the layer, for names */
    /* every layer's output: its tensor, rank and shape */
    const char **outs;
    int *ranks;
    int (*shapes)[4];
    const float *stats; /* the network's running statistics */
} walk_state;

/* The tensor w->cur becomes the output of layer (-1: the input). */
static void read_layer(walk_state *w, int layer)
{
    static const char *const input = "input";
    if (layer < 0) {
        w->cur = input;
        w->rank = 4;
        clcnn_net_input_shape(w->net, w->shape);
        return;
    }
    w->cur = w->outs[layer];
    w->rank = w->ranks[layer];
    memcpy(w->shape, w->shapes[layer], sizeof w->shape);
}

static void to_rank2(walk_state *w)
{
    if (w->rank == 2)
        return;
    const char *out = text(w->b, "layer%d.flatten", w->index);
    Onnx__NodeProto *n = node(w->b, "Flatten", &w->cur, 1, out);
    attr_int(w->b, n, "axis", 1);
    w->cur = out;
    w->rank = 2;
}

/* Back to (N, C, H, W) after a dense layer, for a conv or pooling after it. */
static void to_rank4(walk_state *w)
{
    if (w->rank == 4)
        return;
    int64_t dims[1] = {4}, shape[4] = {-1, w->shape[1], w->shape[2], w->shape[3]};
    const char *inputs[2] = {w->cur, initializer(w->b, text(w->b, "layer%d.shape", w->index),
                                                 dims, 1, NULL, shape, 4)};
    const char *out = text(w->b, "layer%d.reshape", w->index);
    node(w->b, "Reshape", inputs, 2, out);
    w->cur = out;
    w->rank = 4;
}

/* The layers with no spec arguments to read back, from their description:
 * batch norm, dropout, global average pooling and the join. 1 when done, 0
 * for another kind, -1 when the counts do not fit. */
static int export_described(walk_state *w, const clcnn_layer_info *info, const float *p,
                            const char *out)
{
    builder *b = w->b;
    const clcnn__layer *layer = &w->net->layers[w->index - 1];
    const clcnn__layer_desc *d = &layer->d;
    Onnx__NodeProto *n;
    if (d->kind == CLCNN__LAYER_BATCHNORM) {
        /* inference: the running statistics (BatchNormalization's "momentum"
         * is the old statistics' share, clcnn's the new batch's) */
        int64_t dims[1] = {w->shape[1]};
        size_t c = (size_t)w->shape[1];
        if (2 * c != info->param_count || 2 * c != layer->stats_count)
            return -1;
        const float *mean = w->stats + layer->stats_offset, *var = mean + c;
        const char *inputs[5] = {
            w->cur, initializer(b, text(b, "layer%d.scale", w->index), dims, 1, p, NULL, c),
            initializer(b, text(b, "layer%d.bias", w->index), dims, 1, p + c, NULL, c),
            initializer(b, text(b, "layer%d.mean", w->index), dims, 1, mean, NULL, c),
            initializer(b, text(b, "layer%d.var", w->index), dims, 1, var, NULL, c)};
        n = node(b, "BatchNormalization", inputs, 5, out);
        attr_float(b, n, "epsilon", d->bn.eps);
        attr_float(b, n, "momentum", 1.0f - d->bn.momentum);
    } else if (d->kind == CLCNN__LAYER_DROPOUT) {
        /* the identity at inference, which is what ONNX runtimes run */
        int64_t none[1] = {0};
        const char *inputs[2] = {w->cur, initializer(b, text(b, "layer%d.ratio", w->index),
                                                     none, 0, &d->p, NULL, 1)};
        node(b, "Dropout", inputs, 2, out);
    } else if (d->kind == CLCNN__LAYER_GLOBAL_AVGPOOL) {
        to_rank4(w);
        node(b, "GlobalAveragePool", &w->cur, 1, out);
    } else if (d->kind == CLCNN__LAYER_ADD) {
        /* the second operand in the first's rank: (N, F) and (N, F, 1, 1)
         * are one shape to clcnn */
        const char *first = w->cur;
        int rank = w->rank;
        read_layer(w, d->input2);
        if (rank == 4)
            to_rank4(w);
        else
            to_rank2(w);
        const char *inputs[2] = {first, w->cur};
        node(b, "Add", inputs, 2, out);
        w->rank = rank;
    } else {
        return 0;
    }
    w->cur = out;
    memcpy(w->shape, info->out_shape, sizeof w->shape);
    return 1;
}

static clcnn_status export_layer(walk_state *w, const clcnn_layer_info *info, const float *p,
                                 layer_text *l)
{
    builder *b = w->b;
    const char *out = text(b, "layer%d.out", w->index);
    const int *o = info->out_shape;
    Onnx__NodeProto *n = NULL;
    int described = export_described(w, info, p, out);
    if (described)
        return described > 0 ? CLCNN_OK : CLCNN_ERR_FORMAT;
    if (l->bad)
        return CLCNN_ERR_UNSUPPORTED;
    if (strcmp(l->name, "conv") == 0 && l->positional_count >= 2) {
        to_rank4(w);
        int k = l->positional[0], r = l->positional[1], g = l->groups;
        int s = l->positional_count == 3 ? l->positional[2] : r, c = w->shape[1] / g;
        int64_t wdims[4] = {k, c, r, s}, bdims[1] = {k};
        size_t wn = (size_t)k * (size_t)c * (size_t)r * (size_t)s;
        if (wn + (size_t)k != info->param_count)
            return CLCNN_ERR_FORMAT;
        const char *inputs[3] = {w->cur,
                                 initializer(b, text(b, "layer%d.weight", w->index), wdims, 4,
                                             p, NULL, wn),
                                 initializer(b, text(b, "layer%d.bias", w->index), bdims, 1,
                                             p + wn, NULL, (size_t)k)};
        n = node(b, "Conv", inputs, 3, out);
        int eh = (r - 1) * l->dilation, ew = (s - 1) * l->dilation;
        /* ONNX orders pads (top, left, bottom, right) */
        int64_t pads[4] = {l->pad, l->pad, l->pad, l->pad};
        if (l->pad_same) {
            pads[0] = eh / 2;
            pads[1] = ew / 2;
            pads[2] = eh - eh / 2;
            pads[3] = ew - ew / 2;
        }
        int64_t kernel[2] = {r, s}, strides[2] = {l->stride, l->stride};
        int64_t dil[2] = {l->dilation, l->dilation};
        attr_ints(b, n, "kernel_shape", kernel, 2);
        attr_ints(b, n, "pads", pads, 4);
        attr_ints(b, n, "strides", strides, 2);
        attr_ints(b, n, "dilations", dil, 2);
        attr_int(b, n, "group", g);
    } else if (strcmp(l->name, "dense") == 0) {
        to_rank2(w);
        int k = o[1];
        size_t f = (size_t)w->shape[1] * (size_t)w->shape[2] * (size_t)w->shape[3];
        if (f * (size_t)k + (size_t)k != info->param_count)
            return CLCNN_ERR_FORMAT;
        int64_t wdims[2] = {k, (int64_t)f}, bdims[1] = {k};
        const char *inputs[3] = {w->cur,
                                 initializer(b, text(b, "layer%d.weight", w->index), wdims, 2,
                                             p, NULL, f * (size_t)k),
                                 initializer(b, text(b, "layer%d.bias", w->index), bdims, 1,
                                             p + f * (size_t)k, NULL, (size_t)k)};
        n = node(b, "Gemm", inputs, 3, out);
        attr_int(b, n, "transB", 1);
    } else if (strcmp(l->name, "maxpool") == 0 || strcmp(l->name, "avgpool") == 0) {
        if (l->positional_count < 1)
            return CLCNN_ERR_FORMAT;
        to_rank4(w);
        int win = l->positional[0], stride = l->positional_count > 1 ? l->positional[1] : win;
        n = node(b, l->name[0] == 'm' ? "MaxPool" : "AveragePool", &w->cur, 1, out);
        int64_t kernel[2] = {win, win}, strides[2] = {stride, stride};
        int64_t pads[4] = {l->pad, l->pad, l->pad, l->pad};
        attr_ints(b, n, "kernel_shape", kernel, 2);
        attr_ints(b, n, "strides", strides, 2);
        attr_ints(b, n, "pads", pads, 4);
        if (l->name[0] == 'a')
            attr_int(b, n, "count_include_pad", l->include_pad);
    } else if (strcmp(l->name, "flatten") == 0) {
        n = node(b, "Flatten", &w->cur, 1, out);
        attr_int(b, n, "axis", 1);
        w->rank = 2;
    } else if (strcmp(l->name, "relu") == 0) {
        n = node(b, "Relu", &w->cur, 1, out);
    } else if (strcmp(l->name, "tanh") == 0) {
        n = node(b, "Tanh", &w->cur, 1, out);
    } else if (strcmp(l->name, "sigmoid") == 0) {
        n = node(b, "Sigmoid", &w->cur, 1, out);
    } else if (strcmp(l->name, "leaky_relu") == 0) {
        n = node(b, "LeakyRelu", &w->cur, 1, out);
        attr_float(b, n, "alpha", l->alpha);
    } else if (strcmp(l->name, "softmax") == 0) {
        to_rank2(w);
        n = node(b, "Softmax", &w->cur, 1, out);
        attr_int(b, n, "axis", 1);
    } else {
        return CLCNN_ERR_UNSUPPORTED;
    }
    if (strcmp(l->name, "dense") == 0)
        w->rank = 2;
    w->cur = out;
    memcpy(w->shape, o, sizeof w->shape);
    return CLCNN_OK;
}

/* The network's running statistics on the host (NULL when it has none). */
static clcnn_status read_stats(builder *b, clcnn_net *net, float **stats)
{
    *stats = NULL;
    if (!net->stats_count)
        return CLCNN_OK;
    *stats = keep(b, net->stats_count * sizeof **stats);
    if (!*stats)
        return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_status st = clcnn_tensor_read(net->stats, *stats, net->stats_count);
    for (size_t i = 0; st == CLCNN_OK && i < net->stats_count; i++)
        if (!isfinite((*stats)[i]))
            st = clcnn__fail(net->ctx, CLCNN_ERR_NUMERIC,
                             "running statistic %zu is NaN or infinite; the model is not "
                             "written", i);
    return st;
}

static clcnn_status build(builder *b, clcnn_net *net, Onnx__ModelProto *model)
{
    clcnn_context *ctx = net->ctx;
    int count = clcnn_net_layer_count(net);
    walk_state w = {.b = b, .net = net, .cur = "input", .rank = 4};
    w.outs = keep(b, (size_t)count * sizeof *w.outs);
    w.ranks = keep(b, (size_t)count * sizeof *w.ranks);
    w.shapes = keep(b, (size_t)count * sizeof *w.shapes);
    float *stats = NULL;
    clcnn_status st = read_stats(b, net, &stats);
    w.stats = stats;
    if (st != CLCNN_OK)
        return st;
    int in_shape[4];
    clcnn_net_input_shape(net, in_shape);
    for (int i = 0; i < count && st == CLCNN_OK && !b->failed; i++) {
        clcnn_layer_info info;
        st = clcnn_net_layer(net, i, &info);
        if (st != CLCNN_OK)
            return st;
        float *p = info.param_count ? keep(b, info.param_count * sizeof *p) : NULL;
        if (info.param_count && !p)
            break;
        if (p && (st = clcnn_net_layer_params(net, i, p, info.param_count)) != CLCNN_OK)
            return st;
        for (size_t j = 0; j < info.param_count; j++)
            if (!isfinite(p[j]))
                return clcnn__fail(ctx, CLCNN_ERR_NUMERIC,
                                   "layer %d %s: parameter %zu is NaN or infinite; the model "
                                   "is not written", i + 1, info.text, j);
        layer_text l;
        parse_text(info.text, &l);
        w.index = i + 1;
        read_layer(&w, info.input);
        st = export_layer(&w, &info, p, &l);
        if (st != CLCNN_OK)
            return clcnn__fail(ctx, st, "layer %d %s has no ONNX form in clcnn's exporter", i + 1,
                               info.text);
        if (b->failed)
            break;
        w.outs[i] = w.cur;
        w.ranks[i] = w.rank;
        memcpy(w.shapes[i], w.shape, sizeof w.shapes[i]);
    }
    to_rank2(&w);
    if (b->failed)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    /* the last tensor is the graph output "output": rename it */
    Onnx__NodeProto *last = b->nodes[b->node_count - 1];
    last->output[0] = (char *)"output";
    last->name = (char *)"output";
    int out_dims[2] = {0, w.shape[1]};

    Onnx__GraphProto *g = keep(b, sizeof *g);
    Onnx__ValueInfoProto **ins = keep(b, sizeof *ins), **outs = keep(b, sizeof *outs);
    Onnx__OperatorSetIdProto *opset = keep(b, sizeof *opset);
    Onnx__OperatorSetIdProto **opsets = keep(b, sizeof *opsets);
    if (!g || !ins || !outs || !opset || !opsets)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    onnx__graph_proto__init(g);
    ins[0] = value_info(b, "input", in_shape, 4);
    outs[0] = value_info(b, "output", out_dims, 2);
    if (b->failed)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    g->name = (char *)"clcnn";
    g->node = b->nodes;
    g->n_node = b->node_count;
    g->initializer = b->inits;
    g->n_initializer = b->init_count;
    g->input = ins;
    g->n_input = 1;
    g->output = outs;
    g->n_output = 1;
    onnx__operator_set_id_proto__init(opset);
    opset->domain = (char *)"";
    opset->has_version = 1;
    opset->version = OPSET;
    opsets[0] = opset;
    model->has_ir_version = 1;
    model->ir_version = IR_VERSION;
    model->opset_import = opsets;
    model->n_opset_import = 1;
    model->producer_name = (char *)"clcnn";
    model->producer_version = (char *)CLCNN_VERSION_STRING;
    model->doc_string = (char *)clcnn_net_spec(net);
    model->graph = g;
    return CLCNN_OK;
}

clcnn_status clcnn_net_save_onnx(clcnn_net *net, const char *path)
{
    if (!net || !path)
        return clcnn__fail(net ? net->ctx : NULL, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !net ? "net" : "path");
    builder b = {0};
    Onnx__ModelProto model;
    onnx__model_proto__init(&model);
    clcnn_status st = build(&b, net, &model);
    uint8_t *buf = NULL;
    size_t size = 0;
    if (st == CLCNN_OK) {
        size = onnx__model_proto__get_packed_size(&model);
        if ((uint64_t)size >= CLCNN__ONNX_MAX_BYTES)
            st = clcnn__fail(net->ctx, CLCNN_ERR_UNSUPPORTED,
                             "the model would be %zu bytes; ONNX files are limited to 2 GiB",
                             size);
        else if (!(buf = clcnn__malloc(size ? size : 1)))
            st = clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    if (st == CLCNN_OK && onnx__model_proto__pack(&model, buf) != size)
        st = clcnn__fail(net->ctx, CLCNN_ERR_FORMAT, "protobuf-c packed a model of another size");
    if (st == CLCNN_OK)
        st = clcnn__write_file_atomically(net->ctx, path, buf, size);
    clcnn__free(buf);
    for (size_t i = 0; i < b.owned_count; i++)
        clcnn__free(b.owned[i]);
    clcnn__free(b.owned);
    clcnn__free(b.nodes);
    clcnn__free(b.inits);
    return st;
}
