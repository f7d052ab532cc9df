/*
 * The pure conv2d shape check (clcnn_conv2d_output_shape) and the kernel
 * geometry of shapes that pass it.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

/* Strides and dilations above this are rejected as out of range, so that the
 * kernels' int index arithmetic cannot overflow on absurd geometry. */
#define CONV2D_MAX_STEP 65536

clcnn_status clcnn_conv2d_output_shape(const int x_shape[4], const int w_shape[4],
                                       const clcnn_conv2d_params *params, int y_shape[4],
                                       char *message, size_t message_size)
{
    if (!x_shape || !w_shape || !params || !y_shape) {
        clcnn__message(message, message_size, "%s is NULL",
                       !x_shape ? "x_shape" : !w_shape ? "w_shape" : !params ? "params"
                                                                             : "y_shape");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    memset(y_shape, 0, 4 * sizeof *y_shape);
    const struct {
        const char *name;
        int value, max;
    } fields[] = {
        {"pad_top", params->pad_top, INT_MAX},       {"pad_bottom", params->pad_bottom, INT_MAX},
        {"pad_left", params->pad_left, INT_MAX},     {"pad_right", params->pad_right, INT_MAX},
        {"stride_h", params->stride_h, CONV2D_MAX_STEP},
        {"stride_w", params->stride_w, CONV2D_MAX_STEP},
        {"dilation_h", params->dilation_h, CONV2D_MAX_STEP},
        {"dilation_w", params->dilation_w, CONV2D_MAX_STEP},
    };
    for (int i = 0; i < CONV2D_COUNT_OF(fields); i++)
        if (fields[i].value < 0 || fields[i].value > fields[i].max) {
            clcnn__message(message, message_size,
                           "params.%s is %d; it must be in [0, %d] (0 means 1 for strides "
                           "and dilations)",
                           fields[i].name, fields[i].value, fields[i].max);
            return CLCNN_ERR_INVALID_ARGUMENT;
        }
    if ((unsigned)params->algo >= (unsigned)CLCNN_CONV_ALGO_COUNT) {
        clcnn__message(message, message_size, "params.algo is %d; it must be a clcnn_conv_algo",
                       (int)params->algo);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }

    char xs[64], ws[64];
    clcnn__shape_str(x_shape, xs, sizeof xs);
    clcnn__shape_str(w_shape, ws, sizeof ws);
    if (clcnn__shape_count(x_shape) == 0 || clcnn__shape_count(w_shape) == 0) {
        clcnn__message(message, message_size,
                       "x %s or w %s is not a valid shape: every dimension must be >= 1", xs,
                       ws);
        return CLCNN_ERR_SHAPE;
    }
    if (x_shape[1] != w_shape[1]) {
        clcnn__message(message, message_size,
                       "x (N,C,H,W) %s has C = %d but w (K,C,R,S) %s has C = %d", xs,
                       x_shape[1], ws, w_shape[1]);
        return CLCNN_ERR_SHAPE;
    }

    const int stride_h = params->stride_h ? params->stride_h : 1;
    const int stride_w = params->stride_w ? params->stride_w : 1;
    const int dil_h = params->dilation_h ? params->dilation_h : 1;
    const int dil_w = params->dilation_w ? params->dilation_w : 1;
    const long long ext_h = (long long)(w_shape[2] - 1) * dil_h + 1;
    const long long ext_w = (long long)(w_shape[3] - 1) * dil_w + 1;
    const struct {
        const char *name;
        int pad;
        long long extent;
    } pads[] = {{"pad_top", params->pad_top, ext_h},
                {"pad_bottom", params->pad_bottom, ext_h},
                {"pad_left", params->pad_left, ext_w},
                {"pad_right", params->pad_right, ext_w}};
    for (int i = 0; i < CONV2D_COUNT_OF(pads); i++)
        if (pads[i].pad >= pads[i].extent) {
            clcnn__message(message, message_size,
                           "params.%s is %d; it must be smaller than the dilated filter "
                           "extent %lld of w %s, so that every output sees an input pixel",
                           pads[i].name, pads[i].pad, pads[i].extent, ws);
            return CLCNN_ERR_INVALID_ARGUMENT;
        }

    const long long span_h = (long long)x_shape[2] + params->pad_top + params->pad_bottom;
    const long long span_w = (long long)x_shape[3] + params->pad_left + params->pad_right;
    if (span_h > INT_MAX / 2 || span_w > INT_MAX / 2) {
        clcnn__message(message, message_size, "the padded input of x %s is too large", xs);
        return CLCNN_ERR_SHAPE;
    }
    if (span_h < ext_h || span_w < ext_w) {
        clcnn__message(message, message_size,
                       "the dilated filter (%lld x %lld) of w %s does not fit the padded "
                       "input (%lld x %lld) of x %s",
                       ext_h, ext_w, ws, span_h, span_w, xs);
        return CLCNN_ERR_SHAPE;
    }
    int out[4] = {x_shape[0], w_shape[0], (int)((span_h - ext_h) / stride_h + 1),
                  (int)((span_w - ext_w) / stride_w + 1)};
    if (clcnn__shape_count(out) == 0) {
        char ys[64];
        clcnn__message(message, message_size, "the output %s of x %s and w %s is too large",
                       clcnn__shape_str(out, ys, sizeof ys), xs, ws);
        return CLCNN_ERR_SHAPE;
    }
    memcpy(y_shape, out, sizeof out);
    return CLCNN_OK;
}

/* The kernel geometry of valid shapes. */
conv2d_geom clcnn__conv2d_geom_of(const int x_shape[4], const int w_shape[4], const int y_shape[4],
                                  const clcnn_conv2d_params *params)
{
    return (conv2d_geom){
        .N = x_shape[0],
        .C = x_shape[1],
        .H = x_shape[2],
        .W = x_shape[3],
        .K = w_shape[0],
        .R = w_shape[2],
        .S = w_shape[3],
        .P = y_shape[2],
        .Q = y_shape[3],
        .pad_top = params->pad_top,
        .pad_left = params->pad_left,
        .stride_h = params->stride_h ? params->stride_h : 1,
        .stride_w = params->stride_w ? params->stride_w : 1,
        .dil_h = params->dilation_h ? params->dilation_h : 1,
        .dil_w = params->dilation_w ? params->dilation_w : 1,
    };
}
