/*
 * ONNX models: clcnn__onnx_translate on any bytes (what clcnn_net_load_onnx
 * does before it touches the device). A failure must say why and leave
 * nothing allocated; a success must describe a network whose spec, planned
 * for the model's input shape, has exactly the parameter and statistics
 * counts the translation produced, layer by layer. No device is involved.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "net.h"
#include "onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clcnn__onnx_net onnx;
    char msg[1024];
    clcnn_status st = clcnn__onnx_translate(data, size, &onnx, msg, sizeof msg);
    fuzz_report("onnx", st, st == CLCNN_OK ? "" : msg);
    if (st != CLCNN_OK) {
        if (onnx.spec || onnx.params || onnx.layer_count || !msg[0])
            abort();
        return 0;
    }
    if (!onnx.spec || !onnx.spec[0] || onnx.layer_count < 1 || onnx.c < 1 || onnx.h < 1 ||
        onnx.w < 1)
        abort();
    clcnn_net *net = NULL;
    if (clcnn__net_plan(NULL, onnx.spec, 1, onnx.c, onnx.h, onnx.w, &net) == CLCNN_OK) {
        if (net->layer_count != onnx.layer_count)
            abort();
        for (int i = 0; i < net->layer_count; i++)
            if (net->layers[i].param_count != onnx.counts[i] ||
                (onnx.counts[i] && !onnx.params[i]) ||
                net->layers[i].stats_count != onnx.stats_counts[i] ||
                (onnx.stats_counts[i] && !onnx.stats[i]))
                abort();
        clcnn_net_destroy(net);
    } else if (net) {
        abort();
    }
    clcnn__onnx_net_free(&onnx);
    return 0;
}
