/*
 * clcnn export: a clcnn model file (or checkpoint) written as an ONNX model
 * for onnxruntime, PyTorch and the other ONNX tools.
 */
#include <stdio.h>

#include "cli.h"

const char clcnn__usage_export[] =
    "Usage: clcnn export [--device SELECTOR] MODEL OUT.onnx\n"
    "\n"
    "Writes the network of MODEL (written by 'clcnn train' or 'clcnn import')\n"
    "as the ONNX model OUT.onnx (IR version 7, opset 13): input \"input\"\n"
    "(N, C, H, W) float32, output \"output\" (N, K), the class scores, or the\n"
    "probabilities when the network ends in softmax. Every network clcnn\n"
    "builds has an ONNX form: joins become Add, bn BatchNormalization with\n"
    "the running statistics, dropout Dropout (the identity at inference).\n"
    "Written atomically.\n"
    "\n"
    "Options:\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n";

int clcnn__cmd_export(int argc, char **argv)
{
    const char *device = NULL;
    const clcnn__option options[] = {{"device", 0, &device, NULL}};
    const char *paths[2];
    int count = 0;
    int rc = clcnn__cli_parse("export", argc, argv, options, 1, paths, 2, 2, &count);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    clcnn_context *ctx = NULL;
    if ((rc = clcnn__cli_context("export", device, &ctx)) != CLCNN__EXIT_OK)
        return rc;
    clcnn_net *net = NULL;
    if (clcnn__cli_load_model(ctx, paths[0], 1, &net) != CLCNN_OK ||
        clcnn_net_save_onnx(net, paths[1]) != CLCNN_OK)
        rc = clcnn__cli_library_fail(ctx, "export");
    if (rc == CLCNN__EXIT_OK)
        printf("%s -> %s: %d layers, %zu parameters\n", paths[0], paths[1],
               clcnn_net_layer_count(net), clcnn_net_param_count(net));
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    return rc;
}
