/*
 * ONNX and .npy files: networks exported and imported again give
 * bit-identical outputs; crafted models (truncated, lying lengths, wrong wire
 * types, an unsupported operator, attribute or data type, a cycle, absurd
 * dims, short initializers, a 2 GiB file) are refused with a sentence saying
 * why; the .npy reader and writer round-trip and refuse malformed headers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"
#include "onnx.h"
#include "onnx.pb-c.h"
#include "testutil.h"

static void temp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "/tmp/clcnn-test-onnx-%ld-%s", (long)getpid(), name);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = tu_alloc(*len ? *len : 1);
    ck_assert_uint_eq(fread(data, 1, *len, f), *len);
    fclose(f);
    return data;
}

static void spill(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ---- export, then import: the same function ---- */

/* A network to export and import again: its spec and input C x H x W. */
typedef struct model_case {
    const char *spec;
    int c, h, w;
} model_case;

static const model_case round_trips[] = {
    {"lenet5", 1, 28, 28},
    {"convnet", 1, 28, 28},
    /* every layer kind and option: stride, dilation, non-square filters,
     * pad=same with even extents (asymmetric), padded pooling counted and not */
    {"conv(4,3,pad=same,stride=2) leaky_relu(0.2) avgpool(3,2,pad=1,include_pad=1) "
     "conv(5,2,3,pad=same,dilation=2) tanh maxpool(2,1,pad=1) avgpool(2,pad=1) sigmoid "
     "flatten dense(7) softmax",
     3, 21, 19},
    /* a dense layer straight after a conv, and a conv after a dense layer */
    {"conv(3,4,pad=same) relu dense(6) conv(4,1) relu flatten dense(3)", 2, 9, 7},
};

START_TEST(test_round_trip)
{
    const char *spec = round_trips[_i].spec;
    int c = round_trips[_i].c, h = round_trips[_i].h, w = round_trips[_i].w, n = 3;
    clcnn_net *net, *back;
    tu_ok(clcnn_net_create(tu_ctx(), spec, n, c, h, w, &net));
    tu_ok(clcnn_net_init(net, 100 + (unsigned long long)_i));
    char path[256];
    temp_path(path, sizeof path, "round.onnx");
    tu_ok(clcnn_net_save_onnx(net, path));
    tu_ok(clcnn_net_load_onnx(tu_ctx(), path, n, &back));
    /* the layers with parameters come in the same order with the same values
     * (a flatten the export adds before a dense layer may be new) */
    ck_assert_uint_eq(clcnn_net_param_count(back), clcnn_net_param_count(net));
    int j = 0, layers = clcnn_net_layer_count(net), back_layers = clcnn_net_layer_count(back);
    ck_assert_int_ge(back_layers, layers);
    for (int i = 0; i < layers; i++) {
        clcnn_layer_info a, b;
        tu_ok(clcnn_net_layer(net, i, &a));
        if (!a.param_count)
            continue;
        do
            tu_ok(clcnn_net_layer(back, j++, &b));
        while (!b.param_count && j < back_layers);
        ck_assert_mem_eq(a.out_shape, b.out_shape, sizeof a.out_shape);
        ck_assert_uint_eq(a.param_count, b.param_count);
        float *pa = tu_alloc(a.param_count * sizeof *pa), *pb = tu_alloc(a.param_count * 4);
        tu_ok(clcnn_net_layer_params(net, i, pa, a.param_count));
        tu_ok(clcnn_net_layer_params(back, j - 1, pb, b.param_count));
        ck_assert_msg(memcmp(pa, pb, a.param_count * 4) == 0, "%s: layer %d's parameters differ",
                      spec, i);
        free(pa);
        free(pb);
    }
    size_t in_count = (size_t)n * (size_t)c * (size_t)h * (size_t)w;
    int classes = clcnn_net_classes(net);
    float *x = tu_alloc(in_count * sizeof *x);
    float *p1 = tu_alloc((size_t)n * (size_t)classes * 4), *p2 = tu_alloc((size_t)n * (size_t)classes * 4);
    tu_rng rng = tu_rng_make(7 + (uint64_t)_i);
    tu_fill(&rng, x, in_count, -2, 2);
    tu_ok(clcnn_net_predict(net, x, n, p1));
    tu_ok(clcnn_net_predict(back, x, n, p2));
    ck_assert_msg(memcmp(p1, p2, (size_t)n * (size_t)classes * 4) == 0,
                  "%s: outputs of the imported network differ", spec);
    /* the outputs are not trivially equal: they differ between images */
    ck_assert(memcmp(p1, p1 + classes, (size_t)classes * 4) != 0);
    free(x);
    free(p1);
    free(p2);
    clcnn_net_destroy(back);
    clcnn_net_destroy(net);
    unlink(path);
}
END_TEST

/* Graph networks: batch norm with statistics moved by training-mode
 * passes, joins, branches, grouped convolution, dropout. The importer folds
 * a batch norm into the convolution before it, so the layers may differ;
 * the predictions must not. */
static const model_case graph_trips[] = {
    {"resnet", 1, 12, 12},
    {"mobilenet", 3, 9, 9},
    {"conv(4,3,pad=1) relu @a conv(4,3,pad=1,groups=2) add(@a) bn(eps=0.001,momentum=0.5) "
     "maxpool(2) bn @p from(@input) avgpool(2) conv(4,1) add(@p) dropout(0.5) @d "
     "global_avgpool @g from(@d) flatten dense(4) add(@g) dense(5) bn relu dense(3)",
     2, 7, 7},
};

START_TEST(test_round_trip_graph)
{
    const char *spec = graph_trips[_i].spec;
    int c = graph_trips[_i].c, h = graph_trips[_i].h, w = graph_trips[_i].w, n = 3;
    clcnn_net *net, *back;
    tu_ok(clcnn_net_create(tu_ctx(), spec, n, c, h, w, &net));
    tu_ok(clcnn_net_init(net, 200 + (unsigned long long)_i));
    size_t in_count = (size_t)n * (size_t)c * (size_t)h * (size_t)w;
    float *x = tu_alloc(in_count * sizeof *x);
    tu_rng rng = tu_rng_make(11 + (uint64_t)_i);
    /* training-mode passes move the running statistics off (0, 1) */
    for (int pass = 0; pass < 3; pass++) {
        tu_fill(&rng, x, in_count, -1, 3);
        tu_ok(clcnn_net_forward(net, x, n));
    }
    char path[256];
    temp_path(path, sizeof path, "graph.onnx");
    tu_ok(clcnn_net_save_onnx(net, path));
    tu_ok(clcnn_net_load_onnx(tu_ctx(), path, n, &back));
    unlink(path);
    ck_assert_int_eq(clcnn_net_training(back), 0); /* an ONNX model runs inference */
    int classes = clcnn_net_classes(net);
    ck_assert_int_eq(clcnn_net_classes(back), classes);
    size_t out_count = (size_t)n * (size_t)classes;
    float *p1 = tu_alloc(out_count * 4), *p2 = tu_alloc(out_count * 4);
    tu_fill(&rng, x, in_count, -2, 2);
    tu_ok(clcnn_net_predict(net, x, n, p1));
    tu_ok(clcnn_net_predict(back, x, n, p2));
    double worst = 0;
    for (size_t i = 0; i < out_count; i++)
        worst = fmax(worst, fabs((double)p1[i] - p2[i]));
    ck_assert_msg(worst <= 1e-5, "%s: predictions of the imported network differ by %g (%s)",
                  spec, worst, clcnn_net_spec(back));
    ck_assert(memcmp(p1, p1 + classes, (size_t)classes * 4) != 0);
    free(x);
    free(p1);
    free(p2);
    clcnn_net_destroy(back);
    clcnn_net_destroy(net);
}
END_TEST

/* ---- crafted models ---- */

/* A small exported model, unpacked for editing. */
static Onnx__ModelProto *small_model(void)
{
    clcnn_net *net;
    tu_ok(clcnn_net_create(tu_ctx(), "conv(3,3,pad=1) relu maxpool(2) flatten dense(4)", 1, 2,
                           6, 6, &net));
    char path[256];
    temp_path(path, sizeof path, "small.onnx");
    tu_ok(clcnn_net_save_onnx(net, path));
    clcnn_net_destroy(net);
    size_t len;
    unsigned char *data = slurp(path, &len);
    unlink(path);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, data);
    free(data);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->graph->n_node, 5); /* Conv Relu MaxPool Flatten Gemm */
    return m;
}

/* Loads bytes and expects status with every word in the message. */
static void expect_bytes(const void *data, size_t len, clcnn_status want, const char *why,
                         const char *word)
{
    char path[256];
    temp_path(path, sizeof path, "crafted.onnx");
    spill(path, data, len);
    clcnn_net *net = (clcnn_net *)1;
    clcnn_status st = clcnn_net_load_onnx(tu_ctx(), path, 1, &net);
    unlink(path);
    ck_assert_msg(net == NULL, "%s: *out is not NULL after a failure", why);
    if (want == CLCNN_OK) {
        ck_assert_msg(st != CLCNN_OK, "%s: accepted", why);
    } else {
        ck_assert_msg(st == want, "%s: expected %s, got %s (%s)", why, clcnn_status_name(want),
                      clcnn_status_name(st), clcnn_last_error(tu_ctx()));
    }
    ck_assert_msg(clcnn_last_error(tu_ctx())[0], "%s: no message", why);
    if (word)
        ck_assert_msg(strstr(clcnn_last_error(tu_ctx()), word), "%s: '%s' not in \"%s\"", why,
                      word, clcnn_last_error(tu_ctx()));
}

static void expect_model(Onnx__ModelProto *m, clcnn_status want, const char *why,
                         const char *word)
{
    size_t len = onnx__model_proto__get_packed_size(m);
    unsigned char *data = tu_alloc(len);
    ck_assert_uint_eq(onnx__model_proto__pack(m, data), len);
    expect_bytes(data, len, want, why, word);
    free(data);
}

static Onnx__AttributeProto *find_attr(Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    ck_abort_msg("no attribute %s", name);
    return NULL;
}

/* Reverses the order of the graph's nodes (in place; twice restores it). */
static void reverse_nodes(Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_node / 2; i++) {
        Onnx__NodeProto *swap = g->node[i];
        g->node[i] = g->node[g->n_node - 1 - i];
        g->node[g->n_node - 1 - i] = swap;
    }
}

START_TEST(test_crafted_models)
{
    Onnx__ModelProto *m = small_model();
    Onnx__GraphProto *g = m->graph;
    Onnx__TensorProto *w = g->initializer[0];

    char *op = g->node[1]->op_type;
    g->node[1]->op_type = (char *)"Elu";
    expect_model(m, CLCNN_ERR_UNSUPPORTED, "unsupported operator", "operator 'Elu'");
    g->node[1]->op_type = (char *)"Add";
    expect_model(m, CLCNN_ERR_FORMAT, "Add of one input", "(Add): it has 1 inputs");
    g->node[1]->op_type = op;

    w->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    expect_model(m, CLCNN_ERR_UNSUPPORTED, "double weights", "DOUBLE");
    w->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;

    w->raw_data.len -= 4;
    expect_model(m, CLCNN_ERR_FORMAT, "short initializer", "raw_data holds");
    w->raw_data.len += 4;

    int64_t k = w->dims[0];
    w->dims[0] = (int64_t)1 << 40;
    expect_model(m, CLCNN_ERR_FORMAT, "absurd dims", "dims[0]");
    w->dims[0] = -3;
    expect_model(m, CLCNN_ERR_FORMAT, "negative dims", "dims[0] = -3");
    w->dims[0] = k;

    float saved;
    memcpy(&saved, w->raw_data.data, 4);
    float nan = NAN;
    memcpy(w->raw_data.data, &nan, 4);
    expect_model(m, CLCNN_ERR_NUMERIC, "NaN weight", "NaN");
    memcpy(w->raw_data.data, &saved, 4);

    Onnx__AttributeProto *group = find_attr(g->node[0], "group");
    /* 2 input channels, 3 filters */
    group->i = 2;
    expect_model(m, CLCNN_ERR_SHAPE, "group not dividing the filters",
                 "node 'layer1.out' (Conv): group = 2 does not divide its 2 input channels "
                 "and its 3 filters");
    group->i = 1;

    Onnx__AttributeProto *pads = find_attr(g->node[0], "pads");
    pads->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    expect_model(m, CLCNN_ERR_FORMAT, "attribute of the wrong type", "'pads'");
    pads->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    pads->ints[0] = 0;
    expect_model(m, CLCNN_ERR_UNSUPPORTED, "asymmetric pads", "pads (top 0, left 1");
    pads->ints[0] = 1;

    char *name = group->name;
    group->name = (char *)"foo";
    expect_model(m, CLCNN_ERR_UNSUPPORTED, "unknown attribute", "attribute 'foo'");
    group->name = name;

    /* the MaxPool writes the Conv's output again */
    char *out = g->node[2]->output[0];
    g->node[2]->output[0] = g->node[0]->output[0];
    expect_model(m, CLCNN_ERR_FORMAT, "two producers", "one producer");
    g->node[2]->output[0] = out;

    /* the Conv reads the MaxPool's output: Conv -> Relu -> MaxPool -> Conv */
    char *in = g->node[0]->input[0];
    g->node[0]->input[0] = g->node[2]->output[0];
    expect_model(m, CLCNN_ERR_FORMAT, "cycle",
                 "node 'layer2.out' (Relu): the graph has a cycle: it reads 'layer1.out', "
                 "which is computed from its own output");
    g->node[0]->input[0] = in;

    /* the Relu reads a tensor nothing writes */
    in = g->node[1]->input[0];
    g->node[1]->input[0] = (char *)"nowhere";
    expect_model(m, CLCNN_ERR_FORMAT, "unknown tensor",
                 "node 'layer2.out' (Relu): its input 0 'nowhere' is no graph input");
    g->node[1]->input[0] = in;

    /* the Relu becomes the Add of the Conv's output (3 channels) and the
     * graph input (2) */
    char *inputs2[2] = {g->node[0]->output[0], g->input[0]->name};
    char **inputs1 = g->node[1]->input;
    g->node[1]->op_type = (char *)"Add";
    g->node[1]->input = inputs2;
    g->node[1]->n_input = 2;
    expect_model(m, CLCNN_ERR_SHAPE, "Add of two shapes",
                 "node 'layer2.out' (Add): its inputs 'layer1.out' (rank 4, 3 x 6 x 6) and "
                 "'input' (rank 4, 2 x 6 x 6) differ in shape");
    g->node[1]->op_type = op;
    g->node[1]->input = inputs1;
    g->node[1]->n_input = 1;

    m->opset_import[0]->version = 19;
    expect_model(m, CLCNN_ERR_UNSUPPORTED, "opset 19", "version 19");
    m->opset_import[0]->version = 8;
    expect_model(m, CLCNN_ERR_UNSUPPORTED, "opset 8", "not in 9..18");
    m->opset_import[0]->version = 13;

    m->has_ir_version = 0;
    expect_model(m, CLCNN_ERR_UNSUPPORTED, "no ir_version", "ir_version");
    m->has_ir_version = 1;

    g->input[0]->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    expect_model(m, CLCNN_ERR_UNSUPPORTED, "integer input", "elem_type 7 (INT64)");
    g->input[0]->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;

    g->input[0]->type->tensor_type->shape->dim[1]->dim_value = 0;
    expect_model(m, CLCNN_ERR_FORMAT, "zero channels", "dimension C = 0");
    g->input[0]->type->tensor_type->shape->dim[1]->dim_value = 2;

    /* an initializer stored in an external file */
    w->has_data_location = 1;
    w->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    expect_model(m, CLCNN_ERR_UNSUPPORTED, "external data", "external file");
    w->has_data_location = 0;

    /* the graph output is a tensor no node writes */
    char *gout = g->output[0]->name;
    g->output[0]->name = (char *)"elsewhere";
    expect_model(m, CLCNN_ERR_FORMAT, "wrong output", "'elsewhere'");
    g->output[0]->name = gout;

    /* nodes stored in reverse order still load: they are sorted by what
     * they read */
    reverse_nodes(g);
    {
        size_t rlen = onnx__model_proto__get_packed_size(m);
        unsigned char *rdata = tu_alloc(rlen);
        onnx__model_proto__pack(m, rdata);
        char rpath[256];
        temp_path(rpath, sizeof rpath, "reversed.onnx");
        spill(rpath, rdata, rlen);
        clcnn_net *rnet;
        tu_ok(clcnn_net_load_onnx(tu_ctx(), rpath, 1, &rnet));
        ck_assert_str_eq(clcnn_net_spec(rnet), "conv(3,3,pad=1) relu maxpool(2) flatten dense(4)");
        clcnn_net_destroy(rnet);
        unlink(rpath);
        free(rdata);
    }
    reverse_nodes(g);

    /* after all the edits, the model is whole again */
    size_t len = onnx__model_proto__get_packed_size(m);
    unsigned char *data = tu_alloc(len);
    onnx__model_proto__pack(m, data);
    char path[256];
    temp_path(path, sizeof path, "restored.onnx");
    spill(path, data, len);
    clcnn_net *net;
    tu_ok(clcnn_net_load_onnx(tu_ctx(), path, 2, &net));
    clcnn_net_destroy(net);
    unlink(path);

    /* every truncation is refused */
    for (size_t cut = 0; cut < len; cut += cut < 64 ? 1 : 97)
        expect_bytes(data, cut, CLCNN_OK, "truncated", NULL);
    free(data);
    onnx__model_proto__free_unpacked(m, NULL);
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* graph (field 7) claiming 65535 bytes of the 2 that follow */
    static const unsigned char lying[] = {0x08, 0x07, 0x3a, 0xff, 0xff, 0x03, 0x0a, 0x00};
    expect_bytes(lying, sizeof lying, CLCNN_ERR_FORMAT, "lying length", "not an ONNX model");
    /* graph as a fixed32 instead of a length-delimited message */
    static const unsigned char wire[] = {0x08, 0x07, 0x3d, 1, 2, 3, 4};
    expect_bytes(wire, sizeof wire, CLCNN_ERR_FORMAT, "wrong wire type", "wire type");
    static const char text[] = "this is not a model at all, just some text\n";
    expect_bytes(text, sizeof text - 1, CLCNN_OK, "text", NULL);
    expect_bytes("", 0, CLCNN_ERR_UNSUPPORTED, "empty file", "ir_version");

    /* a 2 GiB file (sparse) is refused before it is read */
    char path[256];
    temp_path(path, sizeof path, "huge.onnx");
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(truncate(path, (off_t)2 << 30), 0);
    clcnn_net *net = (clcnn_net *)1;
    tu_expect_status(clcnn_net_load_onnx(tu_ctx(), path, 1, &net), CLCNN_ERR_FORMAT);
    tu_expect_message("under 2 GiB");
    ck_assert_ptr_null(net);
    unlink(path);
    temp_path(path, sizeof path, "missing.onnx");
    tu_expect_status(clcnn_net_load_onnx(tu_ctx(), path, 1, &net), CLCNN_ERR_IO);
    tu_expect_status(clcnn_net_load_onnx(tu_ctx(), path, -1, &net),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn_net_load_onnx(tu_ctx(), NULL, 1, &net), CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_set_layer_params)
{
    clcnn_net *net;
    tu_ok(clcnn_net_create(tu_ctx(), "conv(2,3) relu flatten dense(3)", 1, 1, 5, 5, &net));
    clcnn_layer_info info;
    tu_ok(clcnn_net_layer(net, 0, &info));
    float *p = tu_alloc(info.param_count * sizeof *p), *q = tu_alloc(info.param_count * 4);
    tu_rng rng = tu_rng_make(3);
    tu_fill(&rng, p, info.param_count, -1, 1);
    tu_ok(clcnn_net_set_layer_params(net, 0, p, info.param_count));
    tu_ok(clcnn_net_layer_params(net, 0, q, info.param_count));
    ck_assert_mem_eq(p, q, info.param_count * 4);
    tu_expect_status(clcnn_net_set_layer_params(net, 0, p, info.param_count - 1), CLCNN_ERR_SHAPE);
    tu_expect_status(clcnn_net_set_layer_params(net, 9, p, 1), CLCNN_ERR_INVALID_ARGUMENT);
    p[1] = INFINITY;
    tu_expect_status(clcnn_net_set_layer_params(net, 0, p, info.param_count), CLCNN_ERR_NUMERIC);
    tu_ok(clcnn_net_layer_params(net, 0, q, info.param_count));
    ck_assert(isfinite(q[1]));
    free(p);
    free(q);
    clcnn_net_destroy(net);
}
END_TEST

/* ---- .npy ---- */

/* A .npy file of version major.0 with the given header and body bytes. */
static unsigned char *make_npy(int major, const char *header, size_t body, size_t *len)
{
    size_t fixed = major == 1 ? 10 : 12, hlen = strlen(header);
    *len = fixed + hlen + body;
    unsigned char *d = tu_alloc(*len);
    memcpy(d, "\x93NUMPY", 6);
    d[6] = (unsigned char)major;
    d[7] = 0;
    for (size_t i = 0; i < fixed - 8; i++)
        d[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(d + fixed, header, hlen);
    for (size_t i = 0; i < body; i++)
        d[fixed + hlen + i] = (unsigned char)(i * 37 % 256 & 0x3f); /* finite floats */
    return d;
}

static void expect_npy(const unsigned char *d, size_t len, const char *why, const char *word)
{
    clcnn__npy a;
    char msg[512] = "";
    clcnn_status st = clcnn__npy_parse(d, len, &a, msg, sizeof msg);
    ck_assert_msg(st == CLCNN_ERR_FORMAT, "%s: accepted (%s)", why, clcnn_status_name(st));
    ck_assert_msg(strstr(msg, word), "%s: '%s' not in \"%s\"", why, word, msg);
    ck_assert_ptr_null(a.data);
}

START_TEST(test_npy)
{
    /* the writer's files read back, every rank */
    char path[256];
    temp_path(path, sizeof path, "a.npy");
    tu_rng rng = tu_rng_make(11);
    for (int rank = 1; rank <= 4; rank++) {
        long long dims[4] = {3, 2, 5, 4};
        size_t count = 1;
        for (int i = 0; i < rank; i++)
            count *= (size_t)dims[i];
        float *x = tu_alloc(count * sizeof *x);
        tu_fill(&rng, x, count, -5, 5);
        tu_ok(clcnn__npy_write(tu_ctx(), path, x, rank, dims));
        clcnn__npy a;
        char msg[512];
        ck_assert_int_eq(clcnn__npy_read(path, &a, msg, sizeof msg), CLCNN_OK);
        ck_assert_int_eq(a.rank, rank);
        ck_assert_mem_eq(a.dims, dims, (size_t)rank * sizeof dims[0]);
        ck_assert_uint_eq(a.count, count);
        ck_assert_mem_eq(a.data, x, count * 4);
        /* the data starts at a multiple of 64 bytes, as numpy writes */
        size_t len;
        unsigned char *raw = slurp(path, &len);
        ck_assert_uint_eq((len - count * 4) % 64, 0);
        free(raw);
        clcnn__npy_free(&a);
        free(x);
    }
    unlink(path);

    /* what numpy writes, versions 1.0 and 2.0 */
    size_t len;
    unsigned char *d = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }  \n",
                                24, &len);
    clcnn__npy a;
    char msg[512];
    ck_assert_int_eq(clcnn__npy_parse(d, len, &a, msg, sizeof msg), CLCNN_OK);
    ck_assert_int_eq(a.rank, 2);
    ck_assert_int_eq(a.dims[1], 3);
    clcnn__npy_free(&a);
    free(d);
    d = make_npy(2, "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(5,)}\n", 20, &len);
    ck_assert_int_eq(clcnn__npy_parse(d, len, &a, msg, sizeof msg), CLCNN_OK);
    ck_assert_int_eq(a.rank, 1);
    ck_assert_int_eq(a.dims[0], 5);
    clcnn__npy_free(&a);
    free(d);

    static const struct {
        int major;
        const char *header;
        size_t body;
        const char *word;
    } bad[] = {
        {1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16, "float64"},
        {1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8, "big-endian"},
        {1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }\n", 2, "uint8"},
        {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16, "fortran_order"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 20, "holds 20 bytes"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n", 4,
         "more than 8"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }\n", 4,
         "shape[0]"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }\n", 4, "integers"},
        {1, "{'descr': '<f4', 'fortran_order': False}\n", 4, "lacks 'shape'"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", 4,
         "unknown key 'x'"},
        {1, "['descr', '<f4']\n", 4, "not a Python dict"},
        {4, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", 4, "version 4.0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = make_npy(bad[i].major, bad[i].header, bad[i].body, &len);
        expect_npy(d, len, bad[i].header, bad[i].word);
        free(d);
    }
    d = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", 4, &len);
    d[8] = 0xff; /* the header length points past the end */
    expect_npy(d, len, "lying header length", "header length 255");
    d[0] = 'N';
    expect_npy(d, len, "bad magic", "magic");
    expect_npy(d, 5, "five bytes", "magic");
    free(d);
}
END_TEST

/* ---- the translation alone, without a device ---- */

START_TEST(test_translate_direct)
{
    /* clcnn__onnx_translate needs no context: the fuzz harness calls it so */
    clcnn__onnx_net onnx;
    char msg[256];
    static const unsigned char junk[] = {0xff, 0xff, 0xff};
    ck_assert_int_eq(clcnn__onnx_translate(junk, sizeof junk, &onnx, msg, sizeof msg),
                     CLCNN_ERR_FORMAT);
    ck_assert_ptr_null(onnx.spec);
    clcnn__onnx_net_free(&onnx);
    ck_assert_int_eq(clcnn__onnx_translate(junk, sizeof junk, NULL, msg, sizeof msg),
                     CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("onnx");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_round_trip, 0, (int)(sizeof round_trips / sizeof round_trips[0]));
    tcase_add_loop_test(tc, test_round_trip_graph, 0,
                        (int)(sizeof graph_trips / sizeof graph_trips[0]));
    tcase_add_test(tc, test_crafted_models);
    tcase_add_test(tc, test_hostile_bytes);
    tcase_add_test(tc, test_set_layer_params);
    tcase_add_test(tc, test_npy);
    tcase_add_test(tc, test_translate_direct);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
