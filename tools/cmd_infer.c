/*
 * clcnn infer: runs a clcnn or ONNX model on a float32 (N, C, H, W) .npy
 * array and writes its class probabilities or logits as .npy; and the model
 * loading that every command reading a model shares (.onnx or clcnn's own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"

const char clcnn__usage_infer[] =
    "Usage: clcnn infer --model FILE --input X.npy --output Y.npy [--batch B] [--logits]\n"
    "                   [--device SELECTOR]\n"
    "\n"
    "Runs the model in FILE (a clcnn model or checkpoint, or an ONNX model, by\n"
    "its .onnx extension) on the images of X.npy, a float32 array of shape\n"
    "(N, C, H, W) in C order whose C, H and W are the model's input, and writes\n"
    "its outputs to Y.npy as a float32 array (N, K): the class probabilities,\n"
    "or the class scores before the softmax with --logits. The values are taken\n"
    "as they are (normalise them as the model was trained). Y.npy is written\n"
    "atomically.\n"
    "\n"
    "Options:\n"
    "  --model FILE       model: .onnx, or written by 'clcnn train' / 'clcnn import'\n"
    "  --input X.npy      the images, float32 (N, C, H, W)\n"
    "  --output Y.npy     where the outputs go\n"
    "  --batch B          images per forward pass (default 64)\n"
    "  --logits           write the scores before the softmax\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n";

int clcnn__cli_is_onnx(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcmp(path + n - 5, ".onnx") == 0;
}

clcnn_status clcnn__cli_load_model(clcnn_context *ctx, const char *path, int batch,
                                   clcnn_net **out)
{
    if (clcnn__cli_is_onnx(path))
        return clcnn_net_load_onnx(ctx, path, batch, out);
    return clcnn_net_load(ctx, path, batch, out, NULL, NULL);
}

/* The layer whose output is the class scores: the last before a softmax. */
static int logits_layer(const clcnn_net *net)
{
    int last = clcnn_net_layer_count(net) - 1;
    clcnn_layer_info info;
    if (last > 0 && clcnn_net_layer(net, last, &info) == CLCNN_OK &&
        strcmp(info.text, "softmax") == 0)
        return last - 1;
    return last;
}

static void shape_text(const clcnn__npy *a, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < a->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", a->dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "%s)", a->rank == 1 ? "," : "");
}

int clcnn__cmd_infer(int argc, char **argv)
{
    const char *model = NULL, *input = NULL, *output = NULL, *batch_text = "64";
    const char *device = NULL;
    int logits = 0;
    const clcnn__option options[] = {
        {"model", 'm', &model, NULL},      {"input", 'i', &input, NULL},
        {"output", 'o', &output, NULL},    {"batch", 'b', &batch_text, NULL},
        {"logits", 0, NULL, &logits},      {"device", 0, &device, NULL},
    };
    int rc = clcnn__cli_parse("infer", argc, argv, options, 6, NULL, 0, 0, NULL);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    if (!model || !input || !output)
        return clcnn__cli_usage_error("infer", "--model, --input and --output are required");
    int batch;
    if ((rc = clcnn__cli_int("infer", "batch", batch_text, 1, CLCNN_MAX_BATCH, &batch)))
        return rc;

    clcnn__npy x;
    char err[1024], shape[160];
    if (clcnn__npy_read(input, &x, err, sizeof err) != CLCNN_OK)
        return clcnn__cli_fail("infer", "%s", err);
    shape_text(&x, shape, sizeof shape);
    if (x.rank != 4 || x.dims[0] < 1) {
        rc = clcnn__cli_fail("infer", "%s has shape %s (rank %d); clcnn infer reads images as "
                             "a rank-4 array (N, C, H, W) with N >= 1", input, shape, x.rank);
        clcnn__npy_free(&x);
        return rc;
    }
    long long n = x.dims[0];
    clcnn_context *ctx = NULL;
    clcnn_net *net = NULL;
    rc = clcnn__cli_context("infer", device, &ctx);
    if (rc == CLCNN__EXIT_OK &&
        clcnn__cli_load_model(ctx, model, n < batch ? (int)n : batch, &net) != CLCNN_OK)
        rc = clcnn__cli_library_fail(ctx, "infer");
    int in[4] = {0};
    if (net) {
        /* --logits runs clcnn_net_forward: in inference mode, as predict does
         * (running batch-norm statistics, no dropout) */
        clcnn_net_set_training(net, 0);
        clcnn_net_input_shape(net, in);
    }
    if (rc == CLCNN__EXIT_OK && (x.dims[1] != in[1] || x.dims[2] != in[2] || x.dims[3] != in[3]))
        rc = clcnn__cli_fail("infer", "%s has shape %s: %lld channel%s of %lld x %lld, but the "
                             "model takes (N, %d, %d, %d): %d channel%s of %d x %d", input, shape,
                             x.dims[1], x.dims[1] == 1 ? "" : "s", x.dims[2], x.dims[3], in[1],
                             in[2], in[3], in[1], in[1] == 1 ? "" : "s", in[2], in[3]);
    int classes = net ? clcnn_net_classes(net) : 0;
    float *y = NULL;
    if (rc == CLCNN__EXIT_OK && !(y = malloc((size_t)n * (size_t)classes * sizeof *y)))
        rc = clcnn__cli_fail("infer", "out of memory");
    size_t per_image = (size_t)in[1] * (size_t)in[2] * (size_t)in[3];
    int last = net ? logits_layer(net) : 0;
    for (long long done = 0; rc == CLCNN__EXIT_OK && done < n; done += in[0]) {
        int count = n - done < in[0] ? (int)(n - done) : in[0];
        const float *xs = x.data + (size_t)done * per_image;
        float *ys = y + (size_t)done * (size_t)classes;
        clcnn_status st = logits ? clcnn_net_forward(net, xs, count)
                                 : clcnn_net_predict(net, xs, count, ys);
        if (st == CLCNN_OK && logits)
            st = clcnn_net_layer_output(net, last, ys, (size_t)count * (size_t)classes);
        if (st != CLCNN_OK)
            rc = clcnn__cli_library_fail(ctx, "infer");
    }
    long long dims[2] = {n, classes};
    if (rc == CLCNN__EXIT_OK && clcnn__npy_write(ctx, output, y, 2, dims) != CLCNN_OK)
        rc = clcnn__cli_library_fail(ctx, "infer");
    free(y);
    clcnn__npy_free(&x);
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    return rc;
}
