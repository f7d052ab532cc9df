/*
 * clcnn info: what a model file or checkpoint holds (layers, output shapes,
 * parameter counts, and the training state of a checkpoint).
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

const char clcnn__usage_info[] =
    "Usage: clcnn info --model FILE|NAME|SPEC [--device SELECTOR]\n"
    "\n"
    "Prints the network stored in FILE (a model or a checkpoint written by\n"
    "'clcnn train'): its spec, each layer with its output shape, the layers it\n"
    "reads where that is not simply the one before, and its parameter count,\n"
    "the total, and for a checkpoint the epoch, step and optimiser. The file is\n"
    "fully validated (checksum included) on the way. A built-in model name\n"
    "(lenet5, convnet, resnet, mobilenet) or a spec that is not a file is shown\n"
    "as built for 1 x 28 x 28 inputs.\n"
    "\n"
    "Options:\n"
    "  --model M          the model or checkpoint file, an ONNX model (.onnx),\n"
    "                     a built-in model name or a spec\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n";

int clcnn__cmd_info(int argc, char **argv)
{
    const char *model = NULL, *device = NULL;
    const clcnn__option options[] = {
        {"model", 'm', &model, NULL},
        {"device", 0, &device, NULL},
    };
    int rc = clcnn__cli_parse("info", argc, argv, options, 2, NULL, 0, 0, NULL);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    if (!model)
        return clcnn__cli_usage_error("info", "--model FILE is required");
    clcnn_context *ctx = NULL;
    rc = clcnn__cli_context("info", device, &ctx);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    clcnn_net *net = NULL;
    clcnn_train_state state;
    int has_state = 0;
    /* a name or a spec when no such file exists */
    int spec = access(model, F_OK) != 0 && !clcnn__cli_is_onnx(model);
    clcnn_status st = spec ? clcnn_net_create(ctx, model, 1, 1, 28, 28, &net)
                    : clcnn__cli_is_onnx(model)
                        ? clcnn_net_load_onnx(ctx, model, 1, &net)
                        : clcnn_net_load(ctx, model, 1, &net, &state, &has_state);
    if (st != CLCNN_OK) {
        rc = clcnn__cli_library_fail(ctx, "info");
        clcnn_context_destroy(ctx);
        return rc;
    }
    int in[4];
    clcnn_net_input_shape(net, in);
    printf("model:   %s (%s)\n", model,
           spec                        ? "spec"
           : clcnn__cli_is_onnx(model) ? "ONNX"
           : has_state                 ? "checkpoint"
                                       : "weights");
    printf("spec:    %s\n", clcnn_net_spec(net));
    printf("input:   %d x %d x %d (C x H x W)\n\n", in[1], in[2], in[3]);
    printf("  #  %-34s %-18s %-8s %10s\n", "layer", "output (C,H,W)", "reads", "parameters");
    for (int i = 0; i < clcnn_net_layer_count(net); i++) {
        clcnn_layer_info li;
        clcnn_net_layer(net, i, &li);
        char shape[32], reads[32] = "", text[128];
        snprintf(shape, sizeof shape, "%d x %d x %d", li.out_shape[1], li.out_shape[2],
                 li.out_shape[3]);
        /* 1-based like the first column; 0 is the network input */
        if (li.input != i - 1 || li.input2 >= -1)
            snprintf(reads, sizeof reads, li.input2 >= -1 ? "%d, %d" : "%d", li.input + 1,
                     li.input2 + 1);
        snprintf(text, sizeof text, "%s%s%s", li.text, li.name[0] ? " " : "", li.name);
        printf("%3d  %-34s %-18s %-8s %10zu\n", i + 1, text, shape, reads, li.param_count);
    }
    printf("\ntotal parameters: %zu (%.1f KiB of float32)\n", clcnn_net_param_count(net),
           (double)clcnn_net_param_count(net) * 4.0 / 1024.0);
    if (has_state)
        printf("checkpoint: %d epoch(s) done%s, %ld optimiser steps, batch %d, seed %llu\n",
               state.epoch, state.batch_in_epoch ? " and part of the next" : "",
               clcnn_net_steps(net), state.batch, state.seed);
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    return CLCNN__EXIT_OK;
}
