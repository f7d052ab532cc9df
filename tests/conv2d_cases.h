/*
 * The conv2d test cases, shared by tests/test_conv2d.c (every algorithm and
 * variant against the reference) and tests/test_conv2d_api.c (choices,
 * tuning, invalid arguments).
 */
#ifndef CLCNN_CONV2D_CASES_H
#define CLCNN_CONV2D_CASES_H

#include "clcnn.h"

typedef struct conv_case {
    const char *name;
    int N, C, H, W, K, R, S;
    int pad_top, pad_bottom, pad_left, pad_right;
    int stride_h, stride_w, dil_h, dil_w; /* 0 means 1, as in clcnn_conv2d_params */
} conv_case;

/* Odd sizes throughout: no dimension is a multiple of any tile unless noted. */
static const conv_case cases[] = {
    {"1x1 image, 1x1 filter", 2, 3, 1, 1, 7, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
    {"1x1 image, 3x3 filter, pad 1", 1, 5, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {"C3 K7 13x13, 3x3 pad 1, zero stride", 2, 3, 13, 13, 7, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
    {"9x17, 3x5 filter, pad 2/0/3/1", 1, 4, 9, 17, 5, 3, 5, 2, 0, 3, 1, 1, 1, 1, 1},
    {"15x15 stride 2 pad 1", 2, 6, 15, 15, 9, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1},
    {"16x11, 5x3 filter, stride 3", 1, 2, 16, 11, 3, 5, 3, 2, 0, 1, 1, 3, 3, 1, 1},
    {"14x19 stride 2x3, pad 0/1/1/0", 2, 3, 14, 19, 5, 3, 3, 0, 1, 1, 0, 2, 3, 1, 1},
    {"19x17, 7x7 filter, stride 3, pad 3/3/3/2", 1, 2, 19, 17, 4, 7, 7, 3, 3, 3, 2, 3, 3, 1, 1},
    {"13x13 dilation 2, pad 2", 1, 3, 13, 13, 7, 3, 3, 2, 2, 2, 2, 1, 1, 2, 2},
    {"12x20 dilation 2x1, stride 1x2", 2, 4, 12, 20, 6, 3, 3, 1, 2, 0, 1, 1, 2, 2, 1},
    {"10x10, 5x5 filter, pad 3", 1, 3, 10, 10, 5, 5, 5, 3, 3, 3, 3, 1, 1, 1, 1},
    {"2x2 image, 3x3 filter, pad 1", 3, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {"1x30 row, 1x3 filter", 2, 3, 1, 30, 4, 1, 3, 0, 0, 1, 1, 1, 1, 1, 1},
    {"3x64 wide rows, 1x7 filter, K33", 1, 5, 3, 64, 33, 1, 7, 0, 0, 3, 3, 1, 1, 1, 1},
    {"23x29 C17 K19, pad 1", 3, 17, 23, 29, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {"17x17 C40 K20 stride 2 dil 2 (C*R*S 360)", 2, 40, 17, 17, 20, 3, 3, 2, 1, 2, 1, 2, 2, 2, 2},
    {"LeNet-5 conv1 28x28x1 -> 6@5x5 pad 2", 2, 1, 28, 28, 6, 5, 5, 2, 2, 2, 2, 1, 1, 1, 1},
    {"LeNet-5 conv2 14x14x6 -> 16@5x5", 2, 6, 14, 14, 16, 5, 5, 0, 0, 0, 0, 1, 1, 1, 1},
    {"Keras conv1 28x28x1 -> 32@3x3", 2, 1, 28, 28, 32, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1},
    {"Keras conv2 13x13x32 -> 64@3x3", 2, 32, 13, 13, 64, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1},
    {"Keras conv3 5x5x64 -> 128@3x3", 2, 64, 5, 5, 128, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1},
    {"7x9 C9 K10, 1x1 filter", 2, 9, 7, 9, 10, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
    {"13x11 C6 K5, 1x1 filter, stride 2", 2, 6, 13, 11, 5, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1},
    {"9x10 C4 K3, 1x1 filter, stride 3x2, dilation 2", 1, 4, 9, 10, 3, 1, 1, 0, 0, 0, 0, 3, 2, 2,
     2},
    {"17x17 C1 K3, 3x3 pad 1 (one input channel)", 3, 1, 17, 17, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1,
     1},
    {"19x6 C5 K6, 3x3 pad 2/1/0/2", 2, 5, 19, 6, 6, 3, 3, 2, 1, 0, 2, 1, 1, 1, 1},
    {"11x23 C2 K9, 3x5 filter, pad 1/2/2/0 (30 taps)", 3, 2, 11, 23, 9, 3, 5, 1, 2, 2, 0, 1, 1, 1,
     1},
    {"40 images 9x13 C1 K20, 3x3 pad 1/0/0/1 (several images per work-item)", 40, 1, 9, 13, 20,
     3, 3, 1, 0, 0, 1, 1, 1, 1, 1},
};
#define CASE_COUNT ((int)(sizeof cases / sizeof cases[0]))

static inline int one_if_zero(int v)
{
    return v ? v : 1;
}

static inline clcnn_conv2d_params case_params(const conv_case *c, clcnn_conv_algo algo)
{
    return (clcnn_conv2d_params){
        .pad_top = c->pad_top, .pad_bottom = c->pad_bottom,
        .pad_left = c->pad_left, .pad_right = c->pad_right,
        .stride_h = c->stride_h, .stride_w = c->stride_w,
        .dilation_h = c->dil_h, .dilation_w = c->dil_w, .algo = algo,
    };
}

#endif /* CLCNN_CONV2D_CASES_H */
