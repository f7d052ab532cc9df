/*
 * clcnn import: an ONNX model becomes a clcnn model file, after the same
 * checks as every .onnx model read by the other commands.
 */
#include <stdio.h>

#include "cli.h"

const char clcnn__usage_import[] =
    "Usage: clcnn import [--device SELECTOR] MODEL.onnx OUT\n"
    "\n"
    "Reads the ONNX model MODEL.onnx (opsets 9 to 18; a graph of Conv, also\n"
    "grouped and depthwise, BatchNormalization, Gemm, MatMul+Add, Add of two\n"
    "tensors (residual joins), Relu, LeakyRelu, Tanh, Sigmoid, MaxPool,\n"
    "AveragePool, GlobalAveragePool, Flatten, Reshape, Dropout, Softmax and\n"
    "Identity on float32 NCHW tensors, such as torchvision's resnet18) and\n"
    "writes it as the clcnn model file OUT, which 'clcnn eval', 'predict',\n"
    "'infer' and 'train --resume' read. What clcnn cannot run exactly is an\n"
    "error naming the node, its operator and what is missing. Prints the\n"
    "network's spec.\n"
    "\n"
    "Options:\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n";

int clcnn__cmd_import(int argc, char **argv)
{
    const char *device = NULL;
    const clcnn__option options[] = {{"device", 0, &device, NULL}};
    const char *paths[2];
    int count = 0;
    int rc = clcnn__cli_parse("import", argc, argv, options, 1, paths, 2, 2, &count);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    clcnn_context *ctx = NULL;
    if ((rc = clcnn__cli_context("import", device, &ctx)) != CLCNN__EXIT_OK)
        return rc;
    clcnn_net *net = NULL;
    if (clcnn_net_load_onnx(ctx, paths[0], 0, &net) != CLCNN_OK ||
        clcnn_net_save(net, paths[1], NULL) != CLCNN_OK)
        rc = clcnn__cli_library_fail(ctx, "import");
    if (rc == CLCNN__EXIT_OK) {
        int in[4];
        clcnn_net_input_shape(net, in);
        printf("%s -> %s: input %d x %d x %d, %zu parameters\nspec: %s\n", paths[0], paths[1],
               in[1], in[2], in[3], clcnn_net_param_count(net), clcnn_net_spec(net));
    }
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    return rc;
}
