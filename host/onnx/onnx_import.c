/*
 * ONNX import: a serialized ModelProto, parsed by protobuf-c, becomes a clcnn
 * spec and per-layer parameters and statistics. The graph, from its one
 * input to its one output, becomes a graph of layers: each ONNX tensor the
 * network computes maps to the layer whose output it is, and a layer that
 * does not read the one before it says so with from(@x) and add(@x) in the
 * spec. Every count, dimension, attribute and data length is
 * checked before it is used, and anything clcnn cannot run exactly is an
 * error naming the node, its operator and what is missing.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net.h"
#include "onnx.h"
#include "onnx.pb-c.h"

/* Limits that keep a hostile file from costing quadratic time. */
#define MAX_NODES 4096
#define MAX_VALUES 8192
#define MAX_NODE_IO 16
#define MAX_DIM ((int64_t)1 << 20)
#define MAX_ELEMENTS ((size_t)1 << 30)

/* A tensor the network computes: the layer whose output it is (-1: the
 * graph input) and its shape; some nodes (Identity, Dropout, a Reshape that
 * changes nothing) only give a new name to an existing one. */
typedef struct computed {
    const char *name;
    int layer;
    int rank;       /* 4 (N,C,H,W) or 2 (N,F) */
    int shape[4];   /* (N, C, H, W); (N, F, 1, 1) at rank 2 */
    int conv_layer; /* the conv layer that computed it exactly, else -1 */
    int pad_pending; /* a Pad node's zeros wait for the AveragePool after it */
    int64_t pads[4];
} computed;

typedef struct translation {
    const Onnx__GraphProto *g;
    int opset;
    char *msg;
    size_t msg_size;
    /* constants: initializers, then the outputs of Constant nodes */
    size_t const_count;
    const char **const_names;
    const Onnx__TensorProto **consts;
    unsigned char *visited; /* per node: 1 translated, 2 makes a constant */
    /* the computed tensors, the graph input first */
    computed *values;
    size_t value_count;
    /* the network being built: per layer its token, the layers it reads
     * (-1 the input; input2 -2 but for add), parameters and statistics */
    int layers, layer_cap;
    char **tokens;
    int *inputs, *inputs2;
    float **params;
    size_t *counts;
    float **stats;
    size_t *stats_counts;
    int cur_input;  /* the layer the next layer added reads */
    /* the tensor a node reads, as the operators see it */
    int rank;
    int shape[4];
    int conv_layer;
    int model_batch;
    int in_shape[4]; /* the graph input's */
    int pad_pending;
    int64_t pending_pads[4];
} translation;

static const char *str(const char *s)
{
    return s ? s : "";
}

/* data points to a flag set when an allocation fails, since protobuf-c
 * reports that as a malformed message. */
static void *pb_alloc(void *data, size_t size)
{
    void *p = clcnn__malloc(size ? size : 1);
    if (!p)
        *(int *)data = 1;
    return p;
}

static void pb_free(void *data, void *p)
{
    (void)data;
    clcnn__free(p);
}

static clcnn_status fail(translation *t, clcnn_status st, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static clcnn_status fail(translation *t, clcnn_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, t->msg_size, fmt, ap);
    va_end(ap);
    return st;
}

/* A failure at a node: "node 'conv1' (Conv): <what>". */
static clcnn_status node_fail(translation *t, const Onnx__NodeProto *n, clcnn_status st,
                              const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static clcnn_status node_fail(translation *t, const Onnx__NodeProto *n, clcnn_status st,
                              const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    long index = -1;
    for (size_t i = 0; i < t->g->n_node; i++)
        if (t->g->node[i] == n)
            index = (long)i;
    if (str(n->name)[0])
        return fail(t, st, "node '%.100s' (%.60s): %s", n->name, str(n->op_type), what);
    return fail(t, st, "node %ld (%.60s): %s", index, str(n->op_type), what);
}

static clcnn_status oom(translation *t)
{
    return fail(t, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
}

/* ---- constants ---- */

static const Onnx__TensorProto *constant(const translation *t, const char *name)
{
    if (!name || !name[0])
        return NULL;
    for (size_t i = t->const_count; i-- > 0;)
        if (strcmp(t->const_names[i], name) == 0)
            return t->consts[i];
    return NULL;
}

/* The tensor's element count, each dimension checked. */
static clcnn_status tensor_count(translation *t, const Onnx__NodeProto *n,
                                 const Onnx__TensorProto *tp, const char *what, size_t *count)
{
    if (tp->n_dims > 8)
        return node_fail(t, n, CLCNN_ERR_FORMAT, "%s has %zu dimensions; at most 8 are allowed",
                         what, tp->n_dims);
    size_t c = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0 || tp->dims[i] > (int64_t)MAX_ELEMENTS)
            return node_fail(t, n, CLCNN_ERR_FORMAT,
                             "%s: dims[%zu] = %lld is not in 0..%zu", what, i,
                             (long long)tp->dims[i], MAX_ELEMENTS);
        c *= (size_t)tp->dims[i];
        if (c > MAX_ELEMENTS)
            return node_fail(t, n, CLCNN_ERR_FORMAT,
                             "%s holds more than %zu elements", what, MAX_ELEMENTS);
    }
    *count = c;
    return CLCNN_OK;
}

static const char *type_name(int32_t type)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16",
                                        "INT16", "INT32", "INT64", "STRING", "BOOL",
                                        "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
                                        "COMPLEX128", "BFLOAT16"};
    return type >= 0 && type < 17 ? names[type] : "an unknown type";
}

static clcnn_status check_stored(translation *t, const Onnx__NodeProto *n,
                                 const Onnx__TensorProto *tp, const char *what, int32_t type)
{
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "%s is stored in an external file; clcnn reads weights stored in the "
                         "model file only", what);
    if (!tp->has_data_type || tp->data_type != type)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "%s has data_type %d (%s); clcnn reads %s here", what,
                         tp->has_data_type ? tp->data_type : 0,
                         type_name(tp->has_data_type ? tp->data_type : 0), type_name(type));
    return CLCNN_OK;
}

/* A FLOAT constant of exactly `want` elements, as a new array (finite). */
static clcnn_status tensor_floats(translation *t, const Onnx__NodeProto *n,
                                  const Onnx__TensorProto *tp, const char *what, size_t want,
                                  float **out)
{
    *out = NULL;
    size_t count;
    clcnn_status st = check_stored(t, n, tp, what, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    if (st == CLCNN_OK)
        st = tensor_count(t, n, tp, what, &count);
    if (st != CLCNN_OK)
        return st;
    if (count != want)
        return node_fail(t, n, CLCNN_ERR_FORMAT, "%s holds %zu elements where %zu are needed",
                         what, count, want);
    if (tp->has_raw_data && tp->n_float_data)
        return node_fail(t, n, CLCNN_ERR_FORMAT,
                         "%s has both raw_data and float_data; a tensor has one", what);
    size_t have = tp->has_raw_data ? tp->raw_data.len : tp->n_float_data * 4;
    if (have != count * 4)
        return node_fail(t, n, CLCNN_ERR_FORMAT,
                         "%s: its %s holds %zu bytes, but its dims need %zu (%zu floats)", what,
                         tp->has_raw_data ? "raw_data" : "float_data", have, count * 4, count);
    float *v = clcnn__malloc(count ? count * sizeof *v : 1);
    if (!v)
        return oom(t);
    for (size_t i = 0; i < count; i++) {
        if (tp->has_raw_data) {
            /* raw_data is little-endian, whatever the host */
            const uint8_t *p = tp->raw_data.data + 4 * i;
            uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                            (uint32_t)p[3] << 24;
            memcpy(&v[i], &bits, 4);
        } else {
            v[i] = tp->float_data[i];
        }
        if (!isfinite(v[i])) {
            clcnn__free(v);
            return node_fail(t, n, CLCNN_ERR_NUMERIC, "%s holds a NaN or infinite value at "
                             "element %zu", what, i);
        }
    }
    *out = v;
    return CLCNN_OK;
}

/* An INT64 constant of at most max elements (a Reshape's shape). */
static clcnn_status tensor_int64s(translation *t, const Onnx__NodeProto *n,
                                  const Onnx__TensorProto *tp, const char *what, int64_t *out,
                                  size_t max, size_t *count)
{
    clcnn_status st = check_stored(t, n, tp, what, ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    if (st == CLCNN_OK)
        st = tensor_count(t, n, tp, what, count);
    if (st != CLCNN_OK)
        return st;
    if (*count > max)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED, "%s holds %zu values; at most %zu are "
                         "supported", what, *count, max);
    size_t have = tp->has_raw_data ? tp->raw_data.len : tp->n_int64_data * 8;
    if ((tp->has_raw_data && tp->n_int64_data) || have != *count * 8)
        return node_fail(t, n, CLCNN_ERR_FORMAT, "%s holds %zu bytes of data, but its dims "
                         "need %zu", what, have, *count * 8);
    for (size_t i = 0; i < *count; i++) {
        if (tp->has_raw_data) {
            uint64_t bits = 0;
            for (int b = 7; b >= 0; b--)
                bits = bits << 8 | tp->raw_data.data[8 * i + (size_t)b];
            memcpy(&out[i], &bits, 8);
        } else {
            out[i] = tp->int64_data[i];
        }
    }
    return CLCNN_OK;
}

/* ---- attributes ---- */

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (strcmp(str(n->attribute[i]->name), name) == 0)
            return n->attribute[i];
    return NULL;
}

/* Every attribute of n must be one of allowed (NULL-terminated). */
static clcnn_status check_attrs(translation *t, const Onnx__NodeProto *n,
                                const char *const *allowed)
{
    for (size_t i = 0; i < n->n_attribute; i++) {
        const Onnx__AttributeProto *a = n->attribute[i];
        if (a->ref_attr_name && a->ref_attr_name[0])
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "attribute '%.60s' refers to a function attribute", str(a->name));
        int known = 0;
        for (const char *const *p = allowed; *p; p++)
            known |= strcmp(str(a->name), *p) == 0;
        if (!known)
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "attribute '%.60s' is not supported", str(a->name));
    }
    return CLCNN_OK;
}

static clcnn_status check_type(translation *t, const Onnx__NodeProto *n,
                               const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType type,
                               const char *type_text)
{
    if (a->has_type && a->type != type)
        return node_fail(t, n, CLCNN_ERR_FORMAT,
                         "attribute '%.60s' has type %d; it must be %s", str(a->name),
                         (int)a->type, type_text);
    return CLCNN_OK;
}

static clcnn_status attr_int(translation *t, const Onnx__NodeProto *n, const char *name,
                             int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
    const Onnx__AttributeProto *a = attr(n, name);
    *out = def;
    if (!a)
        return CLCNN_OK;
    clcnn_status st = check_type(t, n, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "INT");
    if (st != CLCNN_OK)
        return st;
    if (a->i < lo || a->i > hi)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "attribute %s = %lld is not supported (clcnn supports %lld..%lld)", name,
                         (long long)a->i, (long long)lo, (long long)hi);
    *out = a->i;
    return CLCNN_OK;
}

static clcnn_status attr_float(translation *t, const Onnx__NodeProto *n, const char *name,
                               float def, float *out)
{
    const Onnx__AttributeProto *a = attr(n, name);
    *out = def;
    if (!a)
        return CLCNN_OK;
    clcnn_status st = check_type(t, n, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "FLOAT");
    if (st != CLCNN_OK)
        return st;
    if (!isfinite(a->f))
        return node_fail(t, n, CLCNN_ERR_FORMAT, "attribute %s = %g is not finite", name,
                         (double)a->f);
    *out = a->f;
    return CLCNN_OK;
}

/* Exactly count integers in lo..hi; def (count values) when absent. */
static clcnn_status attr_ints(translation *t, const Onnx__NodeProto *n, const char *name,
                              size_t count, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
    const Onnx__AttributeProto *a = attr(n, name);
    for (size_t i = 0; i < count; i++)
        out[i] = def;
    if (!a)
        return CLCNN_OK;
    clcnn_status st = check_type(t, n, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "INTS");
    if (st != CLCNN_OK)
        return st;
    if (a->n_ints != count)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "attribute %s has %zu values; clcnn needs %zu here (2-D images)", name,
                         a->n_ints, count);
    for (size_t i = 0; i < count; i++) {
        if (a->ints[i] < lo || a->ints[i] > hi)
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "attribute %s[%zu] = %lld is not in %lld..%lld", name, i,
                             (long long)a->ints[i], (long long)lo, (long long)hi);
        out[i] = a->ints[i];
    }
    return CLCNN_OK;
}

/* auto_pad: 0 NOTSET, 1 VALID, 2 SAME_UPPER, 3 SAME_LOWER. */
static clcnn_status attr_auto_pad(translation *t, const Onnx__NodeProto *n, int *out)
{
    static const char *const values[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
    const Onnx__AttributeProto *a = attr(n, "auto_pad");
    *out = 0;
    if (!a)
        return CLCNN_OK;
    clcnn_status st =
        check_type(t, n, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "STRING");
    if (st != CLCNN_OK)
        return st;
    for (int i = 0; i < 4; i++)
        if (a->has_s && a->s.len == strlen(values[i]) && memcmp(a->s.data, values[i], a->s.len) == 0) {
            *out = i;
            return CLCNN_OK;
        }
    return node_fail(t, n, CLCNN_ERR_FORMAT,
                     "attribute auto_pad = '%.*s' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER",
                     (int)(a->has_s && a->s.len < 40 ? a->s.len : 0),
                     a->has_s ? (const char *)a->s.data : "");
}

/* ---- the network being built ---- */

static clcnn_status add_layer(translation *t, float *params, size_t count, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Grows every per-layer array to hold one more layer. */
static int grow_layers(translation *t)
{
    if (t->layers < t->layer_cap)
        return 1;
    int cap = t->layer_cap ? 2 * t->layer_cap : 16;
    size_t n = (size_t)cap;
    char **tokens = clcnn__realloc(t->tokens, n * sizeof *tokens);
    if (tokens)
        t->tokens = tokens;
    int *inputs = tokens ? clcnn__realloc(t->inputs, n * sizeof *inputs) : NULL;
    if (inputs)
        t->inputs = inputs;
    int *inputs2 = inputs ? clcnn__realloc(t->inputs2, n * sizeof *inputs2) : NULL;
    if (inputs2)
        t->inputs2 = inputs2;
    float **params = inputs2 ? clcnn__realloc(t->params, n * sizeof *params) : NULL;
    if (params)
        t->params = params;
    size_t *counts = params ? clcnn__realloc(t->counts, n * sizeof *counts) : NULL;
    if (counts)
        t->counts = counts;
    float **stats = counts ? clcnn__realloc(t->stats, n * sizeof *stats) : NULL;
    if (stats)
        t->stats = stats;
    size_t *stats_counts = stats ? clcnn__realloc(t->stats_counts, n * sizeof *stats_counts)
                                 : NULL;
    if (stats_counts)
        t->stats_counts = stats_counts;
    if (!stats_counts)
        return 0;
    t->layer_cap = cap;
    return 1;
}

/* Appends one layer reading t->cur_input and takes ownership of params. */
static clcnn_status add_layer(translation *t, float *params, size_t count, const char *fmt, ...)
{
    char token[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(token, sizeof token, fmt, ap);
    va_end(ap);
    size_t len = strlen(token);
    char *copy = grow_layers(t) ? clcnn__malloc(len + 1) : NULL;
    if (!copy) {
        clcnn__free(params);
        return oom(t);
    }
    memcpy(copy, token, len + 1);
    t->tokens[t->layers] = copy;
    t->inputs[t->layers] = t->cur_input;
    t->inputs2[t->layers] = -2;
    t->params[t->layers] = params;
    t->counts[t->layers] = count;
    t->stats[t->layers] = NULL;
    t->stats_counts[t->layers] = 0;
    t->cur_input = t->layers;
    t->layers++;
    return CLCNN_OK;
}

/* The constant input i of n, or an error saying it must be one. */
static clcnn_status const_input(translation *t, const Onnx__NodeProto *n, size_t i,
                                const char *role, const Onnx__TensorProto **out)
{
    *out = i < n->n_input ? constant(t, n->input[i]) : NULL;
    if (!*out)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "its %s (input %zu, '%.100s') is not an initializer or Constant; clcnn "
                         "needs constant weights", role, i, i < n->n_input ? str(n->input[i]) : "");
    return CLCNN_OK;
}

static clcnn_status need_rank(translation *t, const Onnx__NodeProto *n, int rank)
{
    if (t->rank != rank)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "its input has rank %d; clcnn runs this operator on rank-%d tensors%s",
                         t->rank, rank, rank == 2 ? " (add a Flatten before it)" : "");
    return CLCNN_OK;
}

static clcnn_status need_inputs(translation *t, const Onnx__NodeProto *n, size_t lo, size_t hi)
{
    if (n->n_input < lo || n->n_input > hi)
        return node_fail(t, n, CLCNN_ERR_FORMAT, "it has %zu inputs; this operator takes %zu..%zu",
                         n->n_input, lo, hi);
    return CLCNN_OK;
}

/* The explicit padding of a SAME auto_pad along one axis. */
static void same_pads(int in, int stride, int extent, int upper, int *lo, int *hi)
{
    int out = (in + stride - 1) / stride;
    int total = (out - 1) * stride + extent - in;
    if (total < 0)
        total = 0;
    *lo = upper ? total / 2 : total - total / 2;
    *hi = total - *lo;
}

/* ---- operators ---- */

static clcnn_status op_conv(translation *t, const Onnx__NodeProto *n)
{
    static const char *const allowed[] = {"kernel_shape", "pads", "strides", "dilations",
                                          "group", "auto_pad", NULL};
    const Onnx__TensorProto *wt, *bt = NULL;
    size_t wcount;
    clcnn_status st = check_attrs(t, n, allowed);
    if (st == CLCNN_OK)
        st = need_rank(t, n, 4);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 2, 3);
    if (st == CLCNN_OK)
        st = const_input(t, n, 1, "weight", &wt);
    if (st == CLCNN_OK && n->n_input == 3 && str(n->input[2])[0])
        st = const_input(t, n, 2, "bias", &bt);
    if (st == CLCNN_OK)
        st = tensor_count(t, n, wt, "its weight", &wcount);
    if (st != CLCNN_OK)
        return st;
    if (wt->n_dims != 4)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "its weight has %zu dimensions; clcnn runs 2-D convolutions (K, C, R, S)",
                         wt->n_dims);
    int64_t group, kernel[2], strides[2], dil[2], pads[4];
    int auto_pad;
    st = attr_int(t, n, "group", 1, 1, MAX_DIM, &group);
    if (st == CLCNN_OK)
        st = attr_ints(t, n, "kernel_shape", 2, 0, 1, MAX_DIM, kernel);
    if (st == CLCNN_OK)
        st = attr_ints(t, n, "strides", 2, 1, 1, 65536, strides);
    if (st == CLCNN_OK)
        st = attr_ints(t, n, "dilations", 2, 1, 1, 65536, dil);
    if (st == CLCNN_OK)
        st = attr_ints(t, n, "pads", 4, 0, 0, 65536, pads);
    if (st == CLCNN_OK)
        st = attr_auto_pad(t, n, &auto_pad);
    if (st != CLCNN_OK)
        return st;
    int k = (int)wt->dims[0], c = (int)wt->dims[1], r = (int)wt->dims[2], s = (int)wt->dims[3];
    if (t->shape[1] % group || k % group)
        return node_fail(t, n, CLCNN_ERR_SHAPE,
                         "group = %lld does not divide its %d input channels and its %d "
                         "filters", (long long)group, t->shape[1], k);
    if (k < 1 || r < 1 || s < 1 || (int64_t)c * group != t->shape[1])
        return node_fail(t, n, CLCNN_ERR_SHAPE,
                         "its weight (%lld, %lld, %lld, %lld) with group = %lld does not fit an "
                         "input of %d channels",
                         (long long)wt->dims[0], (long long)wt->dims[1], (long long)wt->dims[2],
                         (long long)wt->dims[3], (long long)group, t->shape[1]);
    if (attr(n, "kernel_shape") && (kernel[0] != r || kernel[1] != s))
        return node_fail(t, n, CLCNN_ERR_FORMAT,
                         "kernel_shape (%lld, %lld) differs from its weight's (%d, %d)",
                         (long long)kernel[0], (long long)kernel[1], r, s);
    if (strides[0] != strides[1] || dil[0] != dil[1])
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "strides (%lld, %lld) and dilations (%lld, %lld) must each be equal "
                         "in height and width in clcnn",
                         (long long)strides[0], (long long)strides[1], (long long)dil[0],
                         (long long)dil[1]);
    if ((int64_t)(r - 1) * dil[0] >= 65536 || (int64_t)(s - 1) * dil[1] >= 65536)
        return node_fail(t, n, CLCNN_ERR_SHAPE,
                         "its %d x %d filter dilated by %lld spans more than 65536 pixels", r, s,
                         (long long)dil[0]);
    /* pads are (top, left, bottom, right) in ONNX */
    int top = (int)pads[0], left = (int)pads[1], bottom = (int)pads[2], right = (int)pads[3];
    int eh = (r - 1) * (int)dil[0], ew = (s - 1) * (int)dil[1];
    if (auto_pad == 1) {
        top = left = bottom = right = 0;
    } else if (auto_pad >= 2) {
        same_pads(t->shape[2], (int)strides[0], eh + 1, auto_pad == 2, &top, &bottom);
        same_pads(t->shape[3], (int)strides[1], ew + 1, auto_pad == 2, &left, &right);
    }
    char pad_text[32] = "";
    if (top == bottom && top == left && top == right) {
        if (top)
            snprintf(pad_text, sizeof pad_text, ",pad=%d", top);
    } else if (top == eh / 2 && bottom == eh - eh / 2 && left == ew / 2 && right == ew - ew / 2) {
        snprintf(pad_text, sizeof pad_text, ",pad=same");
    } else {
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "pads (top %d, left %d, bottom %d, right %d) are not supported: clcnn "
                         "pads all sides equally, or as pad=same (the odd pixel at the end)",
                         top, left, bottom, right);
    }
    clcnn_conv2d_params p = {.pad_top = top, .pad_bottom = bottom, .pad_left = left,
                             .pad_right = right, .stride_h = (int)strides[0],
                             .stride_w = (int)strides[1], .dilation_h = (int)dil[0],
                             .dilation_w = (int)dil[1], .groups = (int)group};
    int w_shape[4] = {k, c, r, s}, out[4];
    char why[256];
    if (clcnn_conv2d_output_shape(t->shape, w_shape, &p, out, why, sizeof why) != CLCNN_OK)
        return node_fail(t, n, CLCNN_ERR_SHAPE, "%s", why);
    float *w = NULL, *b = NULL;
    st = tensor_floats(t, n, wt, "its weight", wcount, &w);
    if (st == CLCNN_OK && bt)
        st = tensor_floats(t, n, bt, "its bias", (size_t)k, &b);
    float *params = st == CLCNN_OK ? clcnn__calloc(wcount + (size_t)k, sizeof *params) : NULL;
    if (st == CLCNN_OK && !params)
        st = oom(t);
    if (st == CLCNN_OK) {
        memcpy(params, w, wcount * sizeof *w);
        if (b)
            memcpy(params + wcount, b, (size_t)k * sizeof *b);
    }
    clcnn__free(w);
    clcnn__free(b);
    if (st != CLCNN_OK)
        return st;
    char sdim[16] = "";
    if (s != r)
        snprintf(sdim, sizeof sdim, ",%d", s);
    char rest[64] = "";
    if (strides[0] > 1)
        snprintf(rest, sizeof rest, ",stride=%d", (int)strides[0]);
    if (dil[0] > 1)
        snprintf(rest + strlen(rest), sizeof rest - strlen(rest), ",dilation=%d", (int)dil[0]);
    if (group > 1)
        snprintf(rest + strlen(rest), sizeof rest - strlen(rest), ",groups=%d", (int)group);
    st = add_layer(t, params, wcount + (size_t)k, "conv(%d,%d%s%s%s)", k, r, sdim, pad_text, rest);
    memcpy(t->shape, out, sizeof out);
    t->conv_layer = t->layers - 1;
    return st;
}

/* The shortest text that reads back as the same float. */
static void float_text(float v, char *buf, size_t size)
{
    snprintf(buf, size, "%g", (double)v);
    if (strtof(buf, NULL) != v)
        snprintf(buf, size, "%.9g", (double)v);
}

/* Inference batch normalisation. Folded into the conv layer that computed
 * its input (conv_layer, -1 when none or when another node reads that
 * output too): w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps)
 * + beta. Otherwise a bn layer with gamma, beta and the running mean and
 * variance. */
static clcnn_status op_batch_norm(translation *t, const Onnx__NodeProto *n, int conv_layer)
{
    static const char *const allowed[] = {"epsilon", "momentum", "spatial", "training_mode",
                                          NULL};
    float eps, momentum;
    int64_t spatial, training;
    clcnn_status st = check_attrs(t, n, allowed);
    if (st == CLCNN_OK)
        st = attr_float(t, n, "epsilon", 1e-5f, &eps);
    if (st == CLCNN_OK)
        st = attr_float(t, n, "momentum", 0.9f, &momentum);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "spatial", 1, 1, 1, &spatial);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "training_mode", 0, 0, 0, &training);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 5, 5);
    if (st != CLCNN_OK)
        return st;
    if (eps < 0)
        return node_fail(t, n, CLCNN_ERR_FORMAT, "epsilon = %g is negative", (double)eps);
    if (conv_layer < 0 && !(eps > 0))
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "epsilon = 0: clcnn's batch-norm layer needs a positive epsilon");
    static const char *const roles[4] = {"scale", "bias (B)", "mean", "variance"};
    size_t k = (size_t)t->shape[1];
    float *v[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4 && st == CLCNN_OK; i++) {
        const Onnx__TensorProto *tp;
        char what[48];
        snprintf(what, sizeof what, "its %s", roles[i]);
        st = const_input(t, n, (size_t)i + 1, roles[i], &tp);
        if (st == CLCNN_OK)
            st = tensor_floats(t, n, tp, what, k, &v[i]);
    }
    for (size_t j = 0; j < k && st == CLCNN_OK; j++)
        if (v[3][j] < 0 || !(v[3][j] + (double)eps > 0))
            st = node_fail(t, n, CLCNN_ERR_FORMAT,
                           "variance[%zu] = %g (with epsilon %g): a variance is not negative "
                           "and variance + epsilon is positive", j, (double)v[3][j],
                           (double)eps);
    if (st == CLCNN_OK && conv_layer >= 0) {
        float *p = t->params[conv_layer];
        size_t per = (t->counts[conv_layer] - k) / k;
        for (size_t j = 0; j < k; j++) {
            double scale = (double)v[0][j] / sqrt((double)v[3][j] + (double)eps);
            for (size_t i = 0; i < per; i++)
                p[j * per + i] = (float)((double)p[j * per + i] * scale);
            double b = (double)p[k * per + j];
            p[k * per + j] = (float)((b - (double)v[2][j]) * scale + (double)v[1][j]);
        }
        for (size_t i = 0; i < t->counts[conv_layer]; i++)
            if (!isfinite(p[i]))
                st = node_fail(t, n, CLCNN_ERR_NUMERIC,
                               "folding it into the convolution gives a non-finite weight");
    } else if (st == CLCNN_OK) {
        /* ONNX keeps momentum of the old statistics, clcnn (as PyTorch)
         * takes momentum of the new; it matters only for further training */
        char eps_text[24], m_text[24];
        /* to 6 digits, so that ONNX's 0.9 is clcnn's 0.1, not 0.100000024 */
        snprintf(m_text, sizeof m_text, "%.6g", 1.0 - (double)momentum);
        float m = strtof(m_text, NULL);
        if (!(m > 0 && m <= 1)) {
            m = 0.1f;
            snprintf(m_text, sizeof m_text, "0.1");
        }
        float_text(eps, eps_text, sizeof eps_text);
        float *params = clcnn__malloc(2 * k * sizeof *params);
        float *stats = params ? clcnn__malloc(2 * k * sizeof *stats) : NULL;
        if (!stats) {
            clcnn__free(params);
            st = oom(t);
        } else {
            memcpy(params, v[0], k * sizeof *params);
            memcpy(params + k, v[1], k * sizeof *params);
            memcpy(stats, v[2], k * sizeof *stats);
            memcpy(stats + k, v[3], k * sizeof *stats);
            st = eps == 1e-5f && m == 0.1f
                     ? add_layer(t, params, 2 * k, "bn")
                     : add_layer(t, params, 2 * k, "bn(eps=%s,momentum=%s)", eps_text, m_text);
            if (st == CLCNN_OK) {
                t->stats[t->layers - 1] = stats;
                t->stats_counts[t->layers - 1] = 2 * k;
            } else {
                clcnn__free(stats);
            }
        }
    }
    for (int i = 0; i < 4; i++)
        clcnn__free(v[i]);
    return st;
}

/* A dense layer of k outputs on f features from w (scaled by alpha,
 * read transposed when trans) and an optional bias of k or 1 values. */
static clcnn_status add_dense(translation *t, const Onnx__NodeProto *n, const float *w, int trans,
                              size_t k, size_t f, float alpha, const float *b, size_t bcount,
                              float beta)
{
    float *params = clcnn__calloc(k * f + k, sizeof *params);
    if (!params)
        return oom(t);
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; j < f; j++)
            params[i * f + j] = alpha * (trans ? w[i * f + j] : w[j * k + i]);
        if (b)
            params[k * f + i] = beta * b[bcount == 1 ? 0 : i];
    }
    for (size_t i = 0; i < k * f + k; i++)
        if (!isfinite(params[i])) {
            clcnn__free(params);
            return node_fail(t, n, CLCNN_ERR_NUMERIC, "alpha or beta makes a weight infinite");
        }
    clcnn_status st = add_layer(t, params, k * f + k, "dense(%zu)", k);
    t->shape[1] = (int)k;
    return st;
}

static clcnn_status read_bias(translation *t, const Onnx__NodeProto *n, const Onnx__TensorProto *bt,
                              size_t k, float **b, size_t *bcount)
{
    clcnn_status st = tensor_count(t, n, bt, "its bias", bcount);
    if (st != CLCNN_OK)
        return st;
    if (*bcount != k && *bcount != 1)
        return node_fail(t, n, CLCNN_ERR_SHAPE, "its bias holds %zu values, not %zu or 1",
                         *bcount, k);
    for (size_t i = 0; i + 1 < bt->n_dims; i++)
        if (bt->dims[i] != 1)
            return node_fail(t, n, CLCNN_ERR_SHAPE,
                             "its bias has dims[%zu] = %lld; only its last dimension may "
                             "exceed 1", i, (long long)bt->dims[i]);
    return tensor_floats(t, n, bt, "its bias", *bcount, b);
}

static clcnn_status op_gemm(translation *t, const Onnx__NodeProto *n)
{
    static const char *const allowed[] = {"alpha", "beta", "transA", "transB", NULL};
    const Onnx__TensorProto *wt, *bt = NULL;
    float alpha, beta;
    int64_t trans_a, trans_b;
    clcnn_status st = check_attrs(t, n, allowed);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 2, 3);
    if (st == CLCNN_OK)
        st = need_rank(t, n, 2);
    if (st == CLCNN_OK)
        st = attr_float(t, n, "alpha", 1, &alpha);
    if (st == CLCNN_OK)
        st = attr_float(t, n, "beta", 1, &beta);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "transA", 0, 0, 0, &trans_a);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "transB", 0, 0, 1, &trans_b);
    if (st == CLCNN_OK)
        st = const_input(t, n, 1, "weight (B)", &wt);
    if (st == CLCNN_OK && n->n_input == 3 && str(n->input[2])[0])
        st = const_input(t, n, 2, "bias (C)", &bt);
    if (st != CLCNN_OK)
        return st;
    size_t wcount;
    st = tensor_count(t, n, wt, "its weight (B)", &wcount);
    if (st != CLCNN_OK)
        return st;
    if (wt->n_dims != 2)
        return node_fail(t, n, CLCNN_ERR_SHAPE, "its weight (B) has %zu dimensions, not 2",
                         wt->n_dims);
    size_t k = (size_t)wt->dims[trans_b ? 0 : 1], f = (size_t)wt->dims[trans_b ? 1 : 0];
    if (f != (size_t)t->shape[1] || k < 1)
        return node_fail(t, n, CLCNN_ERR_SHAPE,
                         "its weight (B) (%lld, %lld) with transB = %lld does not fit %d input "
                         "features", (long long)wt->dims[0], (long long)wt->dims[1],
                         (long long)trans_b, t->shape[1]);
    float *w = NULL, *b = NULL;
    size_t bcount = 0;
    st = tensor_floats(t, n, wt, "its weight (B)", wcount, &w);
    if (st == CLCNN_OK && bt)
        st = read_bias(t, n, bt, k, &b, &bcount);
    if (st == CLCNN_OK)
        st = add_dense(t, n, w, (int)trans_b, k, f, alpha, b, bcount, beta);
    clcnn__free(w);
    clcnn__free(b);
    return st;
}

/* MatMul with a constant (F, K) matrix, and the Add of a bias after it. */
static clcnn_status op_matmul(translation *t, const Onnx__NodeProto *n,
                              const Onnx__NodeProto *add, const char **cur)
{
    static const char *const none[] = {NULL};
    const Onnx__TensorProto *wt, *bt = NULL;
    clcnn_status st = check_attrs(t, n, none);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 2, 2);
    if (st == CLCNN_OK)
        st = need_rank(t, n, 2);
    if (st == CLCNN_OK)
        st = const_input(t, n, 1, "weight", &wt);
    size_t wcount;
    if (st == CLCNN_OK)
        st = tensor_count(t, n, wt, "its weight", &wcount);
    if (st != CLCNN_OK)
        return st;
    if (wt->n_dims != 2 || (size_t)wt->dims[0] != (size_t)t->shape[1] || wt->dims[1] < 1)
        return node_fail(t, n, CLCNN_ERR_SHAPE,
                         "its weight must be (%d, K) for %d input features; it has %zu "
                         "dimensions", t->shape[1], t->shape[1], wt->n_dims);
    size_t k = (size_t)wt->dims[1], f = (size_t)wt->dims[0];
    if (add) {
        if (add->n_attribute)
            return node_fail(t, add, CLCNN_ERR_UNSUPPORTED, "attribute '%.60s' is not supported",
                             str(add->attribute[0]->name));
        int which = strcmp(str(add->input[0]), str(n->output[0])) == 0 ? 1 : 0;
        bt = constant(t, add->input[which]);
    }
    float *w = NULL, *b = NULL;
    size_t bcount = 0;
    st = tensor_floats(t, n, wt, "its weight", wcount, &w);
    if (st == CLCNN_OK && bt)
        st = read_bias(t, add, bt, k, &b, &bcount);
    if (st == CLCNN_OK)
        st = add_dense(t, n, w, 0, k, f, 1, b, bcount, 1);
    clcnn__free(w);
    clcnn__free(b);
    if (add)
        *cur = add->output[0];
    return st;
}

static clcnn_status op_pool(translation *t, const Onnx__NodeProto *n, int max, int global)
{
    static const char *const allowed_max[] = {"kernel_shape", "strides", "pads", "dilations",
                                              "ceil_mode", "storage_order", "auto_pad", NULL};
    static const char *const allowed_avg[] = {"kernel_shape", "strides", "pads", "ceil_mode",
                                              "count_include_pad", "auto_pad", NULL};
    static const char *const none[] = {NULL};
    int64_t kernel[2], strides[2], pads[4], dil[2], ceil_mode, order, include_pad;
    int auto_pad;
    clcnn_status st = check_attrs(t, n, global ? none : max ? allowed_max : allowed_avg);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 1, 1);
    if (st == CLCNN_OK)
        st = need_rank(t, n, 4);
    if (st != CLCNN_OK)
        return st;
    const char *name = max ? "maxpool" : "avgpool";
    if (global && !max) {
        t->shape[2] = t->shape[3] = 1;
        return add_layer(t, NULL, 0, "global_avgpool");
    }
    if (global) {
        if (t->shape[2] != t->shape[3])
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "global pooling of a %d x %d map: clcnn pools square windows",
                             t->shape[2], t->shape[3]);
        int window = t->shape[2];
        t->shape[2] = t->shape[3] = 1;
        return add_layer(t, NULL, 0, "%s(%d)", name, window);
    }
    if (!attr(n, "kernel_shape"))
        return node_fail(t, n, CLCNN_ERR_FORMAT, "the attribute kernel_shape is missing");
    st = attr_ints(t, n, "kernel_shape", 2, 1, 1, MAX_DIM, kernel);
    if (st == CLCNN_OK)
        st = attr_ints(t, n, "strides", 2, 1, 1, 65536, strides);
    if (st == CLCNN_OK)
        st = attr_ints(t, n, "pads", 4, 0, 0, 65536, pads);
    if (st == CLCNN_OK)
        st = attr_ints(t, n, "dilations", 2, 1, 1, 1, dil);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "ceil_mode", 0, 0, 0, &ceil_mode);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "storage_order", 0, 0, 0, &order);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "count_include_pad", 0, 0, 1, &include_pad);
    if (st == CLCNN_OK)
        st = attr_auto_pad(t, n, &auto_pad);
    if (st != CLCNN_OK)
        return st;
    if (auto_pad >= 2)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "auto_pad SAME_UPPER / SAME_LOWER on pooling is not supported; give "
                         "explicit pads");
    if (auto_pad == 1)
        pads[0] = pads[1] = pads[2] = pads[3] = 0;
    if (kernel[0] != kernel[1] || strides[0] != strides[1])
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "kernel_shape (%lld, %lld) and strides (%lld, %lld) must be square",
                         (long long)kernel[0], (long long)kernel[1], (long long)strides[0],
                         (long long)strides[1]);
    if (t->pad_pending) {
        /* zeros of a Pad before it count in the average */
        if (pads[0] || pads[1] || pads[2] || pads[3])
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "it has pads of its own after a Pad node; clcnn supports one or "
                             "the other");
        memcpy(pads, t->pending_pads, sizeof pads);
        include_pad = 1;
        t->pad_pending = 0;
    }
    if (pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3])
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "pads (top %lld, left %lld, bottom %lld, right %lld) are not supported: "
                         "clcnn pads every side of a pooling window equally",
                         (long long)pads[0], (long long)pads[1], (long long)pads[2],
                         (long long)pads[3]);
    int pad = (int)pads[0];
    clcnn_pool_params p = {.mode = max           ? CLCNN_POOL_MAX
                                   : include_pad ? CLCNN_POOL_AVG_INCLUDE_PAD
                                                 : CLCNN_POOL_AVG_EXCLUDE_PAD,
                           .window_h = (int)kernel[0], .window_w = (int)kernel[1],
                           .stride_h = (int)strides[0], .stride_w = (int)strides[1],
                           .pad_top = pad, .pad_bottom = pad, .pad_left = pad, .pad_right = pad};
    int out[4];
    char why[256];
    if (clcnn_pool_output_shape(t->shape, &p, out, why, sizeof why) != CLCNN_OK)
        return node_fail(t, n, CLCNN_ERR_SHAPE, "%s", why);
    memcpy(t->shape, out, sizeof out);
    char stride_text[24] = "", pad_text[40] = "";
    if (strides[0] != kernel[0])
        snprintf(stride_text, sizeof stride_text, ",%d", (int)strides[0]);
    /* without padding, count_include_pad makes no difference */
    if (pad)
        snprintf(pad_text, sizeof pad_text, ",pad=%d%s", pad,
                 p.mode == CLCNN_POOL_AVG_INCLUDE_PAD ? ",include_pad=1" : "");
    return add_layer(t, NULL, 0, "%s(%d%s%s)", name, (int)kernel[0], stride_text, pad_text);
}

/* Pad with zeros: the identity when it adds nothing, else the padding of
 * the AveragePool that must follow (PyTorch writes count_include_pad so). */
static clcnn_status op_pad(translation *t, const Onnx__NodeProto *n)
{
    static const char *const allowed[] = {"mode", "pads", "value", NULL};
    clcnn_status st = check_attrs(t, n, allowed);
    if (st == CLCNN_OK)
        st = need_rank(t, n, 4);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 1, t->opset >= 11 ? 3 : 1);
    if (st != CLCNN_OK)
        return st;
    const Onnx__AttributeProto *mode = attr(n, "mode");
    if (mode && !(mode->has_s && mode->s.len == 8 && memcmp(mode->s.data, "constant", 8) == 0))
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "only mode 'constant' (zeros) is supported");
    int64_t pads[8];
    if (t->opset >= 11) {
        const Onnx__TensorProto *tp;
        size_t count;
        st = const_input(t, n, 1, "pads", &tp);
        if (st == CLCNN_OK)
            st = tensor_int64s(t, n, tp, "its pads", pads, 8, &count);
        if (st == CLCNN_OK && count != 8)
            st = node_fail(t, n, CLCNN_ERR_FORMAT, "its pads hold %zu values, not 8", count);
        if (st == CLCNN_OK && n->n_input == 3 && str(n->input[2])[0]) {
            float *v = NULL;
            st = const_input(t, n, 2, "constant_value", &tp);
            if (st == CLCNN_OK)
                st = tensor_floats(t, n, tp, "its constant_value", 1, &v);
            if (st == CLCNN_OK && v[0] != 0)
                st = node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                               "constant_value = %g; clcnn pads with zeros only", (double)v[0]);
            clcnn__free(v);
        }
    } else {
        float value;
        st = attr_ints(t, n, "pads", 8, 0, -65536, 65536, pads);
        if (st == CLCNN_OK)
            st = attr_float(t, n, "value", 0, &value);
        if (st == CLCNN_OK && value != 0)
            st = node_fail(t, n, CLCNN_ERR_UNSUPPORTED, "value = %g; clcnn pads with zeros only",
                           (double)value);
    }
    if (st != CLCNN_OK)
        return st;
    /* (N, C, H, W) begins, then ends */
    for (int i = 0; i < 8; i++)
        if (pads[i] < 0 || pads[i] > 65536 || ((i % 4) < 2 && pads[i]))
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "pads[%d] = %lld is not supported (clcnn pads H and W by 0..65536 "
                             "pixels, before an AveragePool)", i, (long long)pads[i]);
    if (!pads[2] && !pads[3] && !pads[6] && !pads[7])
        return CLCNN_OK;
    t->pad_pending = 1;
    t->pending_pads[0] = pads[2];
    t->pending_pads[1] = pads[3];
    t->pending_pads[2] = pads[6];
    t->pending_pads[3] = pads[7];
    return CLCNN_OK;
}

static clcnn_status flatten(translation *t)
{
    if (t->rank == 2)
        return CLCNN_OK;
    t->rank = 2;
    t->shape[1] *= t->shape[2] * t->shape[3];
    t->shape[2] = t->shape[3] = 1;
    return add_layer(t, NULL, 0, "flatten");
}

static clcnn_status op_flatten(translation *t, const Onnx__NodeProto *n)
{
    static const char *const allowed[] = {"axis", NULL};
    int64_t axis;
    clcnn_status st = check_attrs(t, n, allowed);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 1, 1);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "axis", 1, -t->rank, t->rank, &axis);
    if (st != CLCNN_OK)
        return st;
    if (axis != 1 && axis != 1 - t->rank)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "axis = %lld: clcnn flattens everything after the batch axis (axis 1)",
                         (long long)axis);
    return flatten(t);
}

static clcnn_status op_reshape(translation *t, const Onnx__NodeProto *n)
{
    static const char *const allowed[] = {"allowzero", NULL};
    const Onnx__TensorProto *tp;
    int64_t allowzero, v[4];
    size_t count;
    clcnn_status st = check_attrs(t, n, allowed);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 2, 2);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "allowzero", 0, 0, 1, &allowzero);
    if (st == CLCNN_OK)
        st = const_input(t, n, 1, "shape", &tp);
    if (st == CLCNN_OK)
        st = tensor_int64s(t, n, tp, "its shape", v, 4, &count);
    if (st != CLCNN_OK)
        return st;
    int64_t features = (int64_t)t->shape[1] * t->shape[2] * t->shape[3];
    int keeps_batch = (v[0] == 0 && !allowzero) || v[0] == -1 ||
                      (t->model_batch > 0 && v[0] == t->model_batch);
    if (count == 2 && keeps_batch && (v[1] == -1 || v[1] == features) && !(v[0] == -1 && v[1] == -1))
        return flatten(t);
    if (count == 4 && keeps_batch && v[1] == t->shape[1] && v[2] == t->shape[2] &&
        v[3] == t->shape[3]) {
        /* (N, F) and (N, F, 1, 1) are the same memory in clcnn */
        t->rank = 4;
        return CLCNN_OK;
    }
    return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                     "reshaping to a shape of %zu values (%lld, %lld, ...) is not supported: "
                     "clcnn reshapes (N, C, H, W) to (N, C*H*W) = (N, %lld), and (N, F) to "
                     "(N, F, 1, 1), only",
                     count, count ? (long long)v[0] : 0LL, count > 1 ? (long long)v[1] : 0LL,
                     (long long)features);
}

static clcnn_status op_activation(translation *t, const Onnx__NodeProto *n, const char *name)
{
    static const char *const none[] = {NULL}, *const alpha_only[] = {"alpha", NULL};
    int leaky = strcmp(name, "leaky_relu") == 0;
    float alpha;
    clcnn_status st = check_attrs(t, n, leaky ? alpha_only : none);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 1, 1);
    if (st == CLCNN_OK)
        st = attr_float(t, n, "alpha", 0.01f, &alpha);
    if (st != CLCNN_OK)
        return st;
    if (leaky)
        return add_layer(t, NULL, 0, "leaky_relu(%.9g)", (double)alpha);
    return add_layer(t, NULL, 0, "%s", name);
}

static clcnn_status op_softmax(translation *t, const Onnx__NodeProto *n)
{
    static const char *const allowed[] = {"axis", NULL};
    int64_t axis;
    clcnn_status st = check_attrs(t, n, allowed);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 1, 1);
    if (st == CLCNN_OK)
        st = attr_int(t, n, "axis", t->opset >= 13 ? -1 : 1, -t->rank, t->rank - 1, &axis);
    if (st != CLCNN_OK)
        return st;
    int class_axis = t->rank == 2 ? (axis == 1 || axis == -1)
                                  : (axis == 1 || axis == -3) && t->shape[2] * t->shape[3] == 1;
    if (!class_axis)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "axis = %lld on a rank-%d tensor: clcnn's softmax runs over the class "
                         "scores (N, K) of the network's end", (long long)axis, t->rank);
    return add_layer(t, NULL, 0, "softmax");
}

/* Dropout at inference: the identity, unless training_mode is set. */
static clcnn_status op_dropout(translation *t, const Onnx__NodeProto *n)
{
    static const char *const allowed[] = {"ratio", "seed", "is_test", NULL};
    clcnn_status st = check_attrs(t, n, allowed);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 1, 3);
    if (st != CLCNN_OK || n->n_input < 3 || !str(n->input[2])[0])
        return st;
    const Onnx__TensorProto *tp = constant(t, n->input[2]);
    int off = tp && tp->has_data_type && tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL &&
              ((tp->has_raw_data && tp->raw_data.len == 1 && tp->raw_data.data[0] == 0) ||
               (tp->n_int32_data == 1 && tp->int32_data[0] == 0));
    if (!off)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "training_mode is not a constant false; clcnn runs dropout at "
                         "inference only");
    return CLCNN_OK;
}

/* ---- the graph ---- */

/* The nodes (other than Constant) that read tensor name: their count, the
 * first in *first. */
static size_t consumers(const translation *t, const char *name, size_t *first)
{
    size_t count = 0;
    for (size_t i = 0; i < t->g->n_node; i++) {
        const Onnx__NodeProto *n = t->g->node[i];
        if (t->visited[i] == 2)
            continue;
        for (size_t j = 0; j < n->n_input; j++)
            if (strcmp(str(n->input[j]), name) == 0) {
                if (count++ == 0)
                    *first = i;
                break;
            }
    }
    return count;
}

static int is_graph_output(const translation *t, const char *name)
{
    for (size_t i = 0; i < t->g->n_output; i++)
        if (strcmp(str(t->g->output[i]->name), name) == 0)
            return 1;
    return 0;
}

static clcnn_status register_constants(translation *t)
{
    const Onnx__GraphProto *g = t->g;
    size_t cap = g->n_initializer + g->n_node;
    t->const_names = clcnn__calloc(cap ? cap : 1, sizeof *t->const_names);
    t->consts = clcnn__calloc(cap ? cap : 1, sizeof *t->consts);
    if (!t->const_names || !t->consts)
        return oom(t);
    for (size_t i = 0; i < g->n_initializer; i++) {
        if (!str(g->initializer[i]->name)[0])
            return fail(t, CLCNN_ERR_FORMAT, "initializer %zu has no name", i);
        t->const_names[t->const_count] = g->initializer[i]->name;
        t->consts[t->const_count++] = g->initializer[i];
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (n->n_input > MAX_NODE_IO || n->n_output > MAX_NODE_IO || n->n_output < 1 ||
            !str(n->output[0])[0])
            return node_fail(t, n, CLCNN_ERR_FORMAT,
                             "it has %zu inputs and %zu outputs; clcnn reads 0..%d inputs and "
                             "1..%d named outputs", n->n_input, n->n_output, MAX_NODE_IO,
                             MAX_NODE_IO);
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "its operator domain '%.60s' is not supported (only the default "
                             "ONNX domain)", n->domain);
        if (strcmp(str(n->op_type), "Identity") == 0 && n->n_input == 1 && n->n_output == 1 &&
            constant(t, n->input[0])) {
            /* an Identity of a constant (PyTorch writes them) is that constant */
            t->const_names[t->const_count] = n->output[0];
            t->consts[t->const_count++] = constant(t, n->input[0]);
            t->visited[i] = 2;
            continue;
        }
        if (strcmp(str(n->op_type), "Constant") != 0)
            continue;
        const Onnx__AttributeProto *a = attr(n, "value");
        if (n->n_attribute != 1 || !a || !a->t)
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "clcnn reads Constant nodes with one tensor attribute 'value'");
        t->const_names[t->const_count] = n->output[0];
        t->consts[t->const_count++] = a->t;
        t->visited[i] = 2;
    }
    return CLCNN_OK;
}

/* The one graph input that is not an initializer: its name and shape. */
static clcnn_status read_input(translation *t, const char **name)
{
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < t->g->n_input; i++) {
        if (constant(t, t->g->input[i]->name))
            continue;
        if (in)
            return fail(t, CLCNN_ERR_UNSUPPORTED,
                        "the graph has more than one input ('%.100s', '%.100s'); clcnn networks "
                        "take one", str(in->name), str(t->g->input[i]->name));
        in = t->g->input[i];
    }
    if (!in || !str(in->name)[0])
        return fail(t, CLCNN_ERR_FORMAT, "the graph has no named input besides its initializers");
    const Onnx__TypeProto *type = in->type;
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !type->tensor_type)
        return fail(t, CLCNN_ERR_UNSUPPORTED, "graph input '%.100s' is not a tensor",
                    str(in->name));
    const Onnx__TypeProto__Tensor *tt = type->tensor_type;
    if (!tt->has_elem_type || tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return fail(t, CLCNN_ERR_UNSUPPORTED,
                    "graph input '%.100s' has elem_type %d (%s); clcnn reads FLOAT (1) inputs",
                    str(in->name), tt->has_elem_type ? tt->elem_type : 0,
                    type_name(tt->has_elem_type ? tt->elem_type : 0));
    if (!tt->shape || tt->shape->n_dim != 4)
        return fail(t, CLCNN_ERR_UNSUPPORTED,
                    "graph input '%.100s' has %zu dimensions; clcnn reads (N, C, H, W) inputs",
                    str(in->name), tt->shape ? tt->shape->n_dim : 0);
    static const char *const letters = "NCHW";
    for (int i = 0; i < 4; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        int fixed = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        int64_t hi = i == 0 ? CLCNN_MAX_BATCH : 65536;
        if (fixed && (d->dim_value < 1 || d->dim_value > hi))
            return fail(t, CLCNN_ERR_FORMAT,
                        "graph input '%.100s': dimension %c = %lld is not in 1..%lld",
                        str(in->name), letters[i], (long long)d->dim_value, (long long)hi);
        if (!fixed && i > 0)
            return fail(t, CLCNN_ERR_UNSUPPORTED,
                        "graph input '%.100s': dimension %c is not a fixed number; clcnn needs "
                        "C, H and W known", str(in->name), letters[i]);
        t->shape[i] = fixed ? (int)d->dim_value : 1;
        if (i == 0)
            t->model_batch = fixed ? (int)d->dim_value : 0;
    }
    t->rank = 4;
    memcpy(t->in_shape, t->shape, sizeof t->shape);
    *name = in->name;
    return CLCNN_OK;
}

/* The computed tensor called name, or NULL (a constant, or unknown). */
static computed *find_value(translation *t, const char *name)
{
    for (size_t i = t->value_count; i-- > 0;)
        if (strcmp(t->values[i].name, name) == 0)
            return &t->values[i];
    return NULL;
}

/* The sum of two computed tensors of one shape: an add layer reading the
 * later of the two (so that the spec needs no from(...)) and the other. */
static clcnn_status op_add(translation *t, const Onnx__NodeProto *n)
{
    static const char *const none[] = {NULL};
    clcnn_status st = check_attrs(t, n, none);
    if (st == CLCNN_OK)
        st = need_inputs(t, n, 2, 2);
    if (st != CLCNN_OK)
        return st;
    computed *a = find_value(t, str(n->input[0])), *b = find_value(t, str(n->input[1]));
    if (!a || !b)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "it adds the constant '%.100s' to a computed tensor; clcnn adds a "
                         "constant only as the bias right after a MatMul",
                         str(n->input[a ? 1 : 0]));
    if (a->pad_pending || b->pad_pending)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "it reads the output of a Pad that adds pixels; clcnn supports such a "
                         "Pad only right before an AveragePool");
    if (a->rank != b->rank || memcmp(a->shape + 1, b->shape + 1, 3 * sizeof a->shape[0]) != 0)
        return node_fail(t, n, CLCNN_ERR_SHAPE,
                         "its inputs '%.100s' (rank %d, %d x %d x %d) and '%.100s' (rank %d, "
                         "%d x %d x %d) differ in shape; clcnn adds two tensors of one shape "
                         "(no broadcasting)",
                         a->name, a->rank, a->shape[1], a->shape[2], a->shape[3], b->name,
                         b->rank, b->shape[1], b->shape[2], b->shape[3]);
    if (b->layer > a->layer) {
        computed *swap = a;
        a = b;
        b = swap;
    }
    t->cur_input = a->layer;
    t->rank = a->rank;
    memcpy(t->shape, a->shape, sizeof t->shape);
    int other = b->layer;
    st = add_layer(t, NULL, 0, "add");
    if (st == CLCNN_OK)
        t->inputs2[t->layers - 1] = other;
    return st;
}

/* Extra outputs (a Dropout mask, MaxPool indices) must be unused. */
static clcnn_status check_extra_outputs(translation *t, const Onnx__NodeProto *n)
{
    for (size_t j = 1; j < n->n_output; j++) {
        size_t first;
        const char *o = str(n->output[j]);
        if (o[0] && (consumers(t, o, &first) || is_graph_output(t, o)))
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "its output %zu ('%.100s') is used; clcnn computes output 0 only",
                             j, o);
    }
    return CLCNN_OK;
}

static clcnn_status run_node(translation *t, const Onnx__NodeProto *n, const char **cur)
{
    const char *op = str(n->op_type);
    if (t->pad_pending && strcmp(op, "AveragePool") != 0)
        return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                         "it follows a Pad that adds pixels; clcnn supports such a Pad only "
                         "right before an AveragePool");
    int conv_layer = t->conv_layer;
    t->conv_layer = -1;
    *cur = n->output[0];
    if (strcmp(op, "Add") == 0)
        return op_add(t, n);
    if (strcmp(op, "Conv") == 0)
        return op_conv(t, n);
    if (strcmp(op, "BatchNormalization") == 0) {
        /* folded only where no other node reads the convolution's output */
        size_t first;
        int fold = conv_layer >= 0 && consumers(t, str(n->input[0]), &first) == 1 &&
                   !is_graph_output(t, n->input[0]);
        clcnn_status st = op_batch_norm(t, n, fold ? conv_layer : -1);
        if (fold)
            t->conv_layer = conv_layer;
        return st;
    }
    if (strcmp(op, "Gemm") == 0)
        return op_gemm(t, n);
    if (strcmp(op, "Relu") == 0)
        return op_activation(t, n, "relu");
    if (strcmp(op, "LeakyRelu") == 0)
        return op_activation(t, n, "leaky_relu");
    if (strcmp(op, "Tanh") == 0)
        return op_activation(t, n, "tanh");
    if (strcmp(op, "Sigmoid") == 0)
        return op_activation(t, n, "sigmoid");
    if (strcmp(op, "MaxPool") == 0 || strcmp(op, "AveragePool") == 0)
        return op_pool(t, n, op[0] == 'M', 0);
    if (strcmp(op, "GlobalAveragePool") == 0 || strcmp(op, "GlobalMaxPool") == 0)
        return op_pool(t, n, op[6] == 'M', 1);
    if (strcmp(op, "Flatten") == 0)
        return op_flatten(t, n);
    if (strcmp(op, "Pad") == 0)
        return op_pad(t, n);
    if (strcmp(op, "Reshape") == 0)
        return op_reshape(t, n);
    if (strcmp(op, "Softmax") == 0)
        return op_softmax(t, n);
    if (strcmp(op, "Dropout") == 0)
        return op_dropout(t, n);
    if (strcmp(op, "Identity") == 0) {
        static const char *const none[] = {NULL};
        /* a batch norm after it may fold into the conv only if nothing else
         * reads the conv's output */
        size_t first;
        if (consumers(t, str(n->input[0]), &first) == 1 && !is_graph_output(t, n->input[0]))
            t->conv_layer = conv_layer;
        clcnn_status st = check_attrs(t, n, none);
        return st == CLCNN_OK ? need_inputs(t, n, 1, 1) : st;
    }
    if (strcmp(op, "MatMul") == 0) {
        /* a bias Add right after it belongs to the same dense layer */
        size_t first = 0;
        const Onnx__NodeProto *add = NULL;
        if (consumers(t, str(n->output[0]), &first) == 1 && !is_graph_output(t, n->output[0])) {
            const Onnx__NodeProto *next = t->g->node[first];
            if (strcmp(str(next->op_type), "Add") == 0 && next->n_input == 2 &&
                next->n_output >= 1 &&
                constant(t, next->input[strcmp(str(next->input[0]), n->output[0]) == 0]) &&
                !t->visited[first]) {
                add = next;
                t->visited[first] = 1;
            }
        }
        return op_matmul(t, n, add, cur);
    }
    return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                     "operator '%.60s' is not supported (clcnn reads Conv, BatchNormalization, "
                     "Gemm, MatMul+Add, Add of two computed tensors, Relu, LeakyRelu, Tanh, "
                     "Sigmoid, MaxPool, AveragePool, Pad before AveragePool, "
                     "GlobalAveragePool, GlobalMaxPool on square maps, Flatten, Reshape to "
                     "(N, -1), Dropout, Softmax, Identity and Constant)", op);
}

/* ---- the order of the nodes ---- */

typedef struct producer {
    const char *name;
    size_t node;
} producer;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const producer *)a)->name, ((const producer *)b)->name);
}

static const producer *producer_of(const producer *p, size_t count, const char *name)
{
    producer key = {name, 0};
    return bsearch(&key, p, count, sizeof *p, by_name);
}

static int is_graph_input(const translation *t, const char *name)
{
    for (size_t i = 0; i < t->g->n_input; i++)
        if (strcmp(str(t->g->input[i]->name), name) == 0)
            return 1;
    return 0;
}

/* The nodes (Constant ones left out) in an order where each comes after
 * the nodes whose outputs it reads (Kahn's algorithm; ONNX files are
 * sorted already, but need not be). Each tensor has one producer; an input
 * nothing produces, and a cycle, are errors naming a node. order holds
 * n_node entries; *count is set to those used. */
static clcnn_status sort_nodes(translation *t, size_t *order, size_t *count)
{
    const Onnx__GraphProto *g = t->g;
    size_t n = g->n_node, outputs = 0;
    for (size_t i = 0; i < n; i++)
        outputs += t->visited[i] == 2 ? 0 : g->node[i]->n_output;
    producer *p = clcnn__calloc(outputs ? outputs : 1, sizeof *p);
    size_t *indegree = clcnn__calloc(n + 1, sizeof *indegree);
    size_t *first_edge = clcnn__calloc(n + 1, sizeof *first_edge);
    size_t *targets = clcnn__calloc(n * MAX_NODE_IO + 1, sizeof *targets);
    clcnn_status st = p && indegree && first_edge && targets ? CLCNN_OK : oom(t);
    size_t used = 0;
    for (size_t i = 0; i < n && st == CLCNN_OK; i++)
        for (size_t j = 0; j < g->node[i]->n_output && t->visited[i] != 2; j++) {
            const char *o = str(g->node[i]->output[j]);
            if (!o[0])
                continue;
            if (constant(t, o) || is_graph_input(t, o))
                st = node_fail(t, g->node[i], CLCNN_ERR_FORMAT,
                               "its output '%.100s' has the name of a graph input or "
                               "initializer", o);
            p[used++] = (producer){o, i};
        }
    if (st == CLCNN_OK)
        qsort(p, used, sizeof *p, by_name);
    for (size_t i = 1; i < used && st == CLCNN_OK; i++)
        if (strcmp(p[i - 1].name, p[i].name) == 0)
            st = node_fail(t, g->node[p[i].node > p[i - 1].node ? p[i].node : p[i - 1].node],
                           CLCNN_ERR_FORMAT,
                           "its output '%.100s' is also written by another node; each tensor "
                           "has one producer", p[i].name);
    /* the edges producer -> reader, grouped by producer (counting sort) */
    for (int pass = 0; pass < 2 && st == CLCNN_OK; pass++) {
        for (size_t i = 0; i < n && st == CLCNN_OK; i++) {
            const Onnx__NodeProto *node = g->node[i];
            for (size_t j = 0; j < node->n_input && t->visited[i] != 2; j++) {
                const char *in = str(node->input[j]);
                if (!in[0] || constant(t, in))
                    continue;
                const producer *from = producer_of(p, used, in);
                if (!from && !is_graph_input(t, in)) {
                    st = node_fail(t, node, CLCNN_ERR_FORMAT,
                                   "its input %zu '%.100s' is no graph input, initializer or "
                                   "output of a node", j, in);
                    break;
                }
                if (!from)
                    continue;
                if (pass == 0) {
                    first_edge[from->node + 1]++;
                    indegree[i]++;
                } else {
                    targets[first_edge[from->node]++] = i;
                }
            }
        }
        if (pass == 0)
            for (size_t i = 0; i < n; i++)
                first_edge[i + 1] += first_edge[i];
        else /* the placement moved each start to the next one's */
            for (size_t i = n; i > 0; i--)
                first_edge[i] = first_edge[i - 1];
        if (pass == 1)
            first_edge[0] = 0;
    }
    /* the first node in file order whose inputs are ready: the file's own
     * order where it is sorted, which keeps the spec's from(...) few */
    size_t tail = 0, *done = indegree; /* SIZE_MAX once taken */
    for (int progress = 1; progress && st == CLCNN_OK;) {
        progress = 0;
        for (size_t i = 0; i < n; i++) {
            if (t->visited[i] == 2 || done[i] != 0)
                continue;
            order[tail++] = i;
            done[i] = SIZE_MAX;
            for (size_t e = first_edge[i]; e < first_edge[i + 1]; e++)
                indegree[targets[e]]--;
            progress = 1;
            break;
        }
    }
    size_t nodes = 0;
    for (size_t i = 0; i < n; i++)
        nodes += t->visited[i] != 2;
    if (st == CLCNN_OK && tail < nodes) {
        /* a node left waits on a cycle; walking back through inputs that
         * still wait, n steps end on the cycle itself; one more names the
         * tensor by which a node on it reads its own output */
        size_t cur = 0, reader = 0;
        while (indegree[cur] == 0 || indegree[cur] == SIZE_MAX || t->visited[cur] == 2)
            cur++;
        const char *via = "";
        for (size_t step = 0; step <= n; step++) {
            const Onnx__NodeProto *node = g->node[cur];
            reader = cur;
            for (size_t j = 0; j < node->n_input; j++) {
                const char *in = str(node->input[j]);
                const producer *from = in[0] && !constant(t, in) ? producer_of(p, used, in)
                                                                  : NULL;
                if (from && indegree[from->node] > 0 && indegree[from->node] != SIZE_MAX) {
                    cur = from->node;
                    via = in;
                    break;
                }
            }
        }
        st = node_fail(t, g->node[reader], CLCNN_ERR_FORMAT,
                       "the graph has a cycle: it reads '%.100s', which is computed from its "
                       "own output", via);
    }
    *count = tail;
    clcnn__free(p);
    clcnn__free(indegree);
    clcnn__free(first_edge);
    clcnn__free(targets);
    return st;
}

/* ---- the walk ---- */

/* One node on the tensors it reads: the operators see its input as the
 * current tensor, and its output becomes a named value. */
static clcnn_status translate_node(translation *t, const Onnx__NodeProto *n)
{
    const char *op = str(n->op_type);
    computed *v = NULL;
    if (strcmp(op, "Add") != 0) {
        if (n->n_input < 1 || !str(n->input[0])[0])
            return node_fail(t, n, CLCNN_ERR_FORMAT, "it has no input 0");
        v = find_value(t, n->input[0]);
        if (!v)
            return node_fail(t, n, CLCNN_ERR_UNSUPPORTED,
                             "its input 0 '%.100s' is a constant; clcnn runs this operator on "
                             "a tensor the network computes", str(n->input[0]));
        /* the other inputs: each operator takes constants there (const_input) */
        t->rank = v->rank;
        memcpy(t->shape, v->shape, sizeof t->shape);
        t->conv_layer = v->conv_layer;
        t->pad_pending = v->pad_pending;
        memcpy(t->pending_pads, v->pads, sizeof t->pending_pads);
        t->cur_input = v->layer;
    } else {
        t->pad_pending = 0; /* op_add checks its two inputs itself */
    }
    int before = t->layers;
    const char *out = n->output[0];
    clcnn_status st = check_extra_outputs(t, n);
    if (st == CLCNN_OK)
        st = run_node(t, n, &out);
    if (st != CLCNN_OK)
        return st;
    if (t->layers > 4096)
        return fail(t, CLCNN_ERR_UNSUPPORTED, "the network has more than 4096 layers");
    computed *o = &t->values[t->value_count++];
    *o = (computed){.name = out, .layer = t->layers > before ? t->layers - 1 : v->layer,
                 .rank = t->rank, .conv_layer = t->conv_layer, .pad_pending = t->pad_pending};
    memcpy(o->shape, t->shape, sizeof o->shape);
    memcpy(o->pads, t->pending_pads, sizeof o->pads);
    return CLCNN_OK;
}

/* The spec of the layers: each reads the one before it unless from(@x)
 * says otherwise; the outputs read elsewhere are named @v<layer>. */
static clcnn_status write_spec(translation *t, char **spec)
{
    int n = t->layers;
    unsigned char *named = clcnn__calloc((size_t)n, 1);
    size_t cap = (size_t)n * 180 + 1, used = 0;
    char *s = named ? clcnn__malloc(cap) : NULL;
    if (!s) {
        clcnn__free(named);
        return oom(t);
    }
    for (int i = 0; i < n; i++) {
        if (t->inputs[i] >= 0 && t->inputs[i] != i - 1)
            named[t->inputs[i]] = 1;
        if (t->inputs2[i] >= 0)
            named[t->inputs2[i]] = 1;
    }
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        char from[32] = "", add[32] = "", name[24] = "";
        if (t->inputs[i] != i - 1) {
            if (t->inputs[i] < 0)
                snprintf(from, sizeof from, "from(@input) ");
            else
                snprintf(from, sizeof from, "from(@v%d) ", t->inputs[i] + 1);
        }
        if (t->inputs2[i] == -1)
            snprintf(add, sizeof add, "(@input)");
        else if (t->inputs2[i] >= 0)
            snprintf(add, sizeof add, "(@v%d)", t->inputs2[i] + 1);
        if (named[i])
            snprintf(name, sizeof name, " @v%d", i + 1);
        used += (size_t)snprintf(s + used, cap - used, "%s%s%s%s%s", i ? " " : "", from,
                                 t->tokens[i], add, name);
    }
    clcnn__free(named);
    *spec = s;
    return CLCNN_OK;
}

static clcnn_status walk(translation *t, char **spec)
{
    const Onnx__GraphProto *g = t->g;
    if (g->n_node > MAX_NODES || g->n_initializer + g->n_node > MAX_VALUES)
        return fail(t, CLCNN_ERR_UNSUPPORTED,
                    "the graph has %zu nodes and %zu initializers; clcnn reads at most %d nodes "
                    "and %d values", g->n_node, g->n_initializer, MAX_NODES, MAX_VALUES);
    if (g->n_output != 1 || !str(g->output[0]->name)[0])
        return fail(t, CLCNN_ERR_UNSUPPORTED,
                    "the graph has %zu outputs; clcnn networks have one, named", g->n_output);
    t->visited = clcnn__calloc(g->n_node ? g->n_node : 1, 1);
    size_t *order = clcnn__calloc(g->n_node ? g->n_node : 1, sizeof *order);
    t->values = clcnn__calloc(g->n_node + 1, sizeof *t->values);
    if (!t->visited || !order || !t->values) {
        clcnn__free(order);
        return oom(t);
    }
    const char *in = "";
    size_t count = 0;
    clcnn_status st = register_constants(t);
    if (st == CLCNN_OK)
        st = read_input(t, &in);
    if (st == CLCNN_OK) {
        computed *v = &t->values[t->value_count++];
        *v = (computed){.name = in, .layer = -1, .rank = 4, .conv_layer = -1};
        memcpy(v->shape, t->in_shape, sizeof v->shape);
        st = sort_nodes(t, order, &count);
    }
    for (size_t i = 0; i < count && st == CLCNN_OK; i++) {
        if (t->visited[order[i]]) /* an Add taken in by the MatMul before it */
            continue;
        t->visited[order[i]] = 1;
        st = translate_node(t, g->node[order[i]]);
    }
    clcnn__free(order);
    const computed *out = st == CLCNN_OK ? find_value(t, str(g->output[0]->name)) : NULL;
    if (st == CLCNN_OK && !out)
        return fail(t, CLCNN_ERR_FORMAT, "the graph output '%.100s' is computed by no node",
                    str(g->output[0]->name));
    for (size_t i = 0; i < g->n_node && st == CLCNN_OK; i++) {
        size_t first;
        const char *o = str(g->node[i]->output[0]);
        if (t->visited[i] != 2 && !consumers(t, o, &first) && !is_graph_output(t, o))
            st = node_fail(t, g->node[i], CLCNN_ERR_UNSUPPORTED,
                           "its output '%.100s' is read by no node and is not the graph "
                           "output", o);
    }
    if (st != CLCNN_OK)
        return st;
    if (t->layers == 0)
        return fail(t, CLCNN_ERR_UNSUPPORTED, "the graph has no layer clcnn can run");
    if (out->pad_pending)
        return fail(t, CLCNN_ERR_UNSUPPORTED, "the graph ends in a Pad that adds pixels");
    if (out->layer != t->layers - 1)
        return fail(t, CLCNN_ERR_UNSUPPORTED,
                    "the graph output '%.100s' is not the last layer's output",
                    str(g->output[0]->name));
    return write_spec(t, spec);
}

static clcnn_status read_opset(translation *t, const Onnx__ModelProto *m)
{
    t->opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        const char *d = str(o->domain);
        if (d[0] && strcmp(d, "ai.onnx") != 0)
            continue;
        if (!o->has_version || o->version < 9 || o->version > 18)
            return fail(t, CLCNN_ERR_UNSUPPORTED,
                        "opset_import version %lld of the default domain is not in 9..18",
                        o->has_version ? (long long)o->version : 0LL);
        t->opset = (int)o->version;
    }
    if (!t->opset)
        return fail(t, CLCNN_ERR_FORMAT, "opset_import names no version of the default domain");
    return CLCNN_OK;
}

void clcnn__onnx_net_free(clcnn__onnx_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->layer_count; i++) {
        clcnn__free(net->params[i]);
        clcnn__free(net->stats[i]);
    }
    clcnn__free(net->params);
    clcnn__free(net->counts);
    clcnn__free(net->stats);
    clcnn__free(net->stats_counts);
    clcnn__free(net->spec);
    memset(net, 0, sizeof *net);
}

clcnn_status clcnn__onnx_translate(const uint8_t *data, size_t size, clcnn__onnx_net *out,
                                   char *message, size_t message_size)
{
    char scratch[8];
    translation t = {.msg = message ? message : scratch,
                     .msg_size = message ? message_size : sizeof scratch, .conv_layer = -1};
    if (t.msg_size)
        t.msg[0] = '\0';
    if (!out)
        return fail(&t, CLCNN_ERR_INVALID_ARGUMENT, "out is NULL");
    memset(out, 0, sizeof *out);
    if (!data && size)
        return fail(&t, CLCNN_ERR_INVALID_ARGUMENT, "data is NULL");
    if ((uint64_t)size >= CLCNN__ONNX_MAX_BYTES)
        return fail(&t, CLCNN_ERR_FORMAT, "the model is %zu bytes; clcnn reads models under "
                    "2 GiB", size);
    int out_of_memory = 0;
    ProtobufCAllocator allocator = {pb_alloc, pb_free, &out_of_memory};
    Onnx__ModelProto *m = onnx__model_proto__unpack(&allocator, size, data);
    if (!m && out_of_memory)
        return oom(&t);
    if (!m)
        return fail(&t, CLCNN_ERR_FORMAT,
                    "the file is not an ONNX model: its %zu bytes are not a well-formed "
                    "ModelProto (truncated, a wrong wire type or a length past the end)", size);
    clcnn_status st = CLCNN_OK;
    if (!m->has_ir_version || m->ir_version < 3 || m->ir_version > 10)
        st = fail(&t, CLCNN_ERR_UNSUPPORTED, "ir_version %lld is not in 3..10",
                  m->has_ir_version ? (long long)m->ir_version : 0LL);
    if (st == CLCNN_OK)
        st = read_opset(&t, m);
    if (st == CLCNN_OK && !m->graph)
        st = fail(&t, CLCNN_ERR_FORMAT, "the model has no graph");
    char *spec = NULL;
    if (st == CLCNN_OK) {
        t.g = m->graph;
        st = walk(&t, &spec);
    }
    if (st == CLCNN_OK) {
        out->spec = spec;
        out->c = t.in_shape[1];
        out->h = t.in_shape[2];
        out->w = t.in_shape[3];
        out->batch = t.model_batch;
        out->layer_count = t.layers;
        out->params = t.params;
        out->counts = t.counts;
        out->stats = t.stats;
        out->stats_counts = t.stats_counts;
        spec = NULL;
        t.params = NULL;
        t.counts = NULL;
        t.stats = NULL;
        t.stats_counts = NULL;
    }
    for (int i = 0; i < t.layers; i++) {
        clcnn__free(t.tokens[i]);
        if (t.params)
            clcnn__free(t.params[i]);
        if (t.stats)
            clcnn__free(t.stats[i]);
    }
    clcnn__free(t.tokens);
    clcnn__free(t.inputs);
    clcnn__free(t.inputs2);
    clcnn__free(t.params);
    clcnn__free(t.counts);
    clcnn__free(t.stats);
    clcnn__free(t.stats_counts);
    clcnn__free(spec);
    clcnn__free(t.values);
    clcnn__free(t.visited);
    clcnn__free(t.const_names);
    clcnn__free(t.consts);
    onnx__model_proto__free_unpacked(m, &allocator);
    return st;
}

/* ---- the public loader ---- */

/* Reads the whole file, refusing one of 2 GiB or more before reading it. */
static clcnn_status read_model(clcnn_context *ctx, const char *path, uint8_t **data,
                               size_t *size)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return clcnn__fail(ctx, CLCNN_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    clcnn_status st = CLCNN_OK;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
        st = clcnn__fail(ctx, CLCNN_ERR_IO, "%s is not a regular file", path);
    else if ((uint64_t)sb.st_size >= CLCNN__ONNX_MAX_BYTES)
        st = clcnn__fail(ctx, CLCNN_ERR_FORMAT,
                         "%s is %lld bytes; clcnn reads ONNX models under 2 GiB (2147483648 "
                         "bytes), with their weights inside the file", path,
                         (long long)sb.st_size);
    size_t n = st == CLCNN_OK ? (size_t)sb.st_size : 0;
    uint8_t *buf = st == CLCNN_OK ? clcnn__malloc(n ? n : 1) : NULL;
    if (st == CLCNN_OK && !buf)
        st = clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %s", path);
    if (st == CLCNN_OK && fread(buf, 1, n, f) != n)
        st = clcnn__fail(ctx, CLCNN_ERR_IO, "cannot read %s", path);
    fclose(f);
    if (st != CLCNN_OK) {
        clcnn__free(buf);
        return st;
    }
    *data = buf;
    *size = n;
    return CLCNN_OK;
}

/* The batch norms' running mean and variance, from the file. */
static clcnn_status set_stats(clcnn_net *net, const clcnn__onnx_net *onnx, const char *path)
{
    if (!net->stats_count)
        return CLCNN_OK;
    float *host = clcnn__malloc(net->stats_count * sizeof *host);
    if (!host)
        return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_status st = clcnn_tensor_read(net->stats, host, net->stats_count);
    for (int i = 0; st == CLCNN_OK && i < net->layer_count; i++) {
        const clcnn__layer *l = &net->layers[i];
        if (onnx->stats_counts[i] != l->stats_count)
            st = clcnn__fail(net->ctx, CLCNN_ERR_FORMAT,
                             "%s: layer %d has %zu running statistics, not %zu", path, i + 1,
                             l->stats_count, onnx->stats_counts[i]);
        else if (l->stats_count)
            memcpy(host + l->stats_offset, onnx->stats[i], l->stats_count * sizeof *host);
    }
    if (st == CLCNN_OK)
        st = clcnn_tensor_write(net->stats, host, net->stats_count);
    if (st == CLCNN_OK)
        net->params_version++; /* the folded weights are made again */
    clcnn__free(host);
    return st;
}

clcnn_status clcnn_net_load_onnx(clcnn_context *ctx, const char *path, int batch,
                                 clcnn_net **out)
{
    if (out)
        *out = NULL;
    if (!ctx || !path || !out)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !ctx ? "ctx" : !path ? "path" : "out");
    if (batch < 0 || batch > CLCNN_MAX_BATCH)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "batch = %d is not in 0..%d", batch,
                           CLCNN_MAX_BATCH);
    uint8_t *data;
    size_t size = 0;
    clcnn_status st = read_model(ctx, path, &data, &size);
    if (st != CLCNN_OK)
        return st;
    clcnn__onnx_net onnx;
    char msg[1024];
    st = clcnn__onnx_translate(data, size, &onnx, msg, sizeof msg);
    clcnn__free(data);
    if (st != CLCNN_OK) {
        clcnn__onnx_net_free(&onnx);
        return clcnn__fail(ctx, st, "%s: %s", path, msg);
    }
    clcnn_net *net = NULL;
    int b = batch ? batch : onnx.batch ? onnx.batch : 1;
    st = clcnn_net_create(ctx, onnx.spec, b, onnx.c, onnx.h, onnx.w, &net);
    if (st != CLCNN_OK) {
        /* the spec came from the file, so its faults are the file's */
        char why[768];
        snprintf(why, sizeof why, "%s", clcnn_last_error(ctx));
        clcnn__fail(ctx, st, "%s: the network it describes (%.300s) cannot be built: %s", path,
                    onnx.spec, why);
    }
    if (st == CLCNN_OK && clcnn_net_layer_count(net) != onnx.layer_count)
        st = clcnn__fail(ctx, CLCNN_ERR_FORMAT, "%s: the network has %d layers, not %d", path,
                         clcnn_net_layer_count(net), onnx.layer_count);
    for (int i = 0; st == CLCNN_OK && i < onnx.layer_count; i++)
        if (onnx.counts[i])
            st = clcnn_net_set_layer_params(net, i, onnx.params[i], onnx.counts[i]);
    if (st == CLCNN_OK)
        st = set_stats(net, &onnx, path);
    /* an ONNX model is an inference graph: forward passes run it so */
    if (st == CLCNN_OK)
        st = clcnn_net_set_training(net, 0);
    clcnn__onnx_net_free(&onnx);
    if (st != CLCNN_OK) {
        clcnn_net_destroy(net);
        return st;
    }
    *out = net;
    return CLCNN_OK;
}
