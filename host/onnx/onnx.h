/*
 * ONNX interchange: an ONNX graph translated to a clcnn spec and per-layer
 * parameters (onnx_import.c), and a network written back as ONNX
 * (onnx_export.c). The translation touches no device, so the fuzz harness
 * and the tests drive it on bytes alone.
 */
#ifndef CLCNN_ONNX_H
#define CLCNN_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

/* Files at or above this size are refused before they are read. */
#define CLCNN__ONNX_MAX_BYTES ((uint64_t)2 << 30)

/* What an ONNX model becomes: a spec for clcnn_net_create, the input shape
 * (C, H, W), the batch size fixed by the file (0 when symbolic) and, for
 * every layer of the spec, its parameters in clcnn_net_layer_params order
 * (NULL with count 0 for a layer without any) and its running statistics
 * (batch norm: the means, then the variances; else NULL with count 0). */
typedef struct clcnn__onnx_net {
    char *spec;
    int c, h, w;
    int batch;
    int layer_count;
    float **params;
    size_t *counts;
    float **stats;
    size_t *stats_counts;
} clcnn__onnx_net;

/* Translates the serialized ModelProto data[0..size) into *out (freed with
 * clcnn__onnx_net_free, also after a failure). Returns CLCNN_OK, or
 * CLCNN_ERR_FORMAT (malformed file, a value out of range),
 * CLCNN_ERR_UNSUPPORTED (an operator, attribute or type clcnn cannot run),
 * CLCNN_ERR_NUMERIC (NaN or infinite weights) or
 * CLCNN_ERR_OUT_OF_HOST_MEMORY, with a sentence in message. */
clcnn_status clcnn__onnx_translate(const uint8_t *data, size_t size, clcnn__onnx_net *out,
                                   char *message, size_t message_size);

void clcnn__onnx_net_free(clcnn__onnx_net *net);

#endif /* CLCNN_ONNX_H */
