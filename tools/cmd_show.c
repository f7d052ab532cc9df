/*
 * clcnn show: what a trained network looks at, as PNG: its first
 * convolution's filters as a grid, or the feature maps one layer makes of
 * an image, each tile scaled to its own range.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "draw.h"

const char clcnn__usage_show[] =
    "Usage: clcnn show --model FILE --filters OUT.png\n"
    "       clcnn show --model FILE --features IMAGE OUT.png [--layer N]\n"
    "\n"
    "--filters draws the first convolution layer's filters as a grid, each\n"
    "normalised to its own range (dark: most negative, light: most positive) and\n"
    "enlarged so that every weight is a visible square; filters of several input\n"
    "channels show their mean over the channels.\n"
    "--features runs IMAGE (PNG, PGM or PPM, prepared as `clcnn predict` does)\n"
    "through the network and draws the output of layer N (default: the first\n"
    "convolution; `clcnn info` numbers the layers from 0), one labelled tile per\n"
    "channel, each normalised to its own range.\n"
    "\n"
    "Options:\n"
    "  --model FILE       model or checkpoint written by 'clcnn train'\n"
    "  --filters OUT      the filter grid\n"
    "  --features IMAGE   the image whose feature maps to draw into OUT\n"
    "  --layer N          the layer for --features\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n";

static const clcnn__rgb ink = {40, 40, 40};

/* Draws a rows x cols grid of `count` tiles of h x w values (tile t at
 * values + t * h * w), each scaled from its own min..max to black..white and
 * enlarged `zoom` times, labelled "<label> t" under it, below `title`. */
static clcnn_status draw_grid(const char *path, const char *title, const char *label,
                              const float *values, int count, int h, int w, int zoom,
                              char *err, size_t err_size)
{
    const int s = 2, th = CLCNN__TEXT_HEIGHT(s), gap = 14;
    int cols = (int)ceil(sqrt((double)count)), rows = (count + cols - 1) / cols;
    char sample[32];
    snprintf(sample, sizeof sample, "%s %d", label, count - 1);
    int cell_w = w * zoom > clcnn__text_width(sample, s) ? w * zoom : clcnn__text_width(sample, s);
    int cell_h = h * zoom + th + 6;
    int width = cols * (cell_w + gap) + gap, top = 2 * th + 10;
    if (width < clcnn__text_width(title, s) + 2 * gap)
        width = clcnn__text_width(title, s) + 2 * gap;
    clcnn__image img;
    clcnn_status st = clcnn__image_create(&img, width, top + rows * (cell_h + gap) + gap, 3, err,
                                          err_size);
    if (st != CLCNN_OK)
        return st;
    memset(img.data, 255, (size_t)img.width * (size_t)img.height * 3);
    clcnn__draw_text(&img, gap, gap, title, s, ink);
    for (int t = 0; t < count; t++) {
        const float *v = values + (size_t)t * (size_t)h * (size_t)w;
        float lo = FLT_MAX, hi = -FLT_MAX;
        for (int i = 0; i < h * w; i++)
            lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
        int x0 = gap + (t % cols) * (cell_w + gap), y0 = top + (t / cols) * (cell_h + gap);
        x0 += (cell_w - w * zoom) / 2;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) {
                float f = hi > lo ? (v[r * w + c] - lo) / (hi - lo) : 0.5f;
                unsigned char g = (unsigned char)lroundf(255.0f * f);
                clcnn__draw_rect(&img, x0 + c * zoom, y0 + r * zoom, zoom, zoom,
                                 (clcnn__rgb){g, g, g});
            }
        char name[32];
        snprintf(name, sizeof name, "%s %d", label, t);
        clcnn__draw_text(&img, x0 + (w * zoom - clcnn__text_width(name, s)) / 2,
                         y0 + h * zoom + 4, name, s, ink);
    }
    st = clcnn__image_write(path, &img, err, err_size);
    clcnn__image_free(&img);
    return st;
}

/* The first convolution layer, or -1. */
static int first_conv(clcnn_net *net)
{
    for (int i = 0; i < clcnn_net_layer_count(net); i++) {
        clcnn_layer_info info;
        if (clcnn_net_layer(net, i, &info) == CLCNN_OK && strncmp(info.text, "conv(", 5) == 0)
            return i;
    }
    return -1;
}

static int show_filters(clcnn_context *ctx, clcnn_net *net, const char *model, const char *out)
{
    int layer = first_conv(net);
    if (layer < 0)
        return clcnn__cli_fail("show", "%s has no convolution layer, so no filters to show",
                               model);
    clcnn_layer_info info;
    clcnn_net_layer(net, layer, &info);
    int in[4], k = info.out_shape[1], r = 0, s = 0;
    clcnn_net_input_shape(net, in);
    int c = in[1];
    if (layer > 0) {
        clcnn_layer_info before;
        clcnn_net_layer(net, layer - 1, &before);
        c = before.out_shape[1];
    }
    int got = sscanf(info.text, "conv(%*d,%d,%d", &r, &s);
    if (got < 1)
        return clcnn__cli_fail("show", "cannot read the filter size of %s", info.text);
    if (got == 1)
        s = r;
    float *params = malloc(info.param_count * sizeof *params);
    float *tiles = malloc((size_t)k * (size_t)(r * s) * sizeof *tiles);
    int rc = CLCNN__EXIT_OK;
    if (!params || !tiles)
        rc = clcnn__cli_fail("show", "out of host memory");
    else if (clcnn_net_layer_params(net, layer, params, info.param_count) != CLCNN_OK)
        rc = clcnn__cli_library_fail(ctx, "show");
    if (rc == CLCNN__EXIT_OK) {
        /* KCRS: filter f, the mean over its channels */
        for (int f = 0; f < k; f++)
            for (int i = 0; i < r * s; i++) {
                double sum = 0;
                for (int ch = 0; ch < c; ch++)
                    sum += params[((size_t)f * c + ch) * (size_t)(r * s) + i];
                tiles[(size_t)f * (size_t)(r * s) + i] = (float)(sum / c);
            }
        char title[160], err[1024];
        snprintf(title, sizeof title, "layer %d %s: %d filters %dx%d%s", layer, info.text, k, r,
                 s, c > 1 ? " (mean of channels)" : "");
        int zoom = 96 / (r > s ? r : s);
        if (draw_grid(out, title, "filter", tiles, k, r, s, zoom < 4 ? 4 : zoom, err,
                      sizeof err) != CLCNN_OK)
            rc = clcnn__cli_fail("show", "%s", err);
    }
    free(params);
    free(tiles);
    return rc;
}

static int show_features(clcnn_context *ctx, clcnn_net *net, const char *image, int layer,
                         const char *out)
{
    if (layer < 0)
        layer = first_conv(net);
    if (layer < 0)
        layer = 0;
    clcnn_layer_info info;
    if (layer >= clcnn_net_layer_count(net) || clcnn_net_layer(net, layer, &info) != CLCNN_OK)
        return clcnn__cli_usage_error("show", "--layer %d is not a layer of the model (0..%d)",
                                      layer, clcnn_net_layer_count(net) - 1);
    clcnn__image img = {0};
    char err[1024];
    if (clcnn__image_read(image, &img, err, sizeof err) != CLCNN_OK)
        return clcnn__cli_fail("show", "%s", err);
    int in[4];
    clcnn_net_input_shape(net, in);
    size_t pixels = (size_t)in[2] * (size_t)in[3];
    size_t count = (size_t)info.out_shape[1] * (size_t)info.out_shape[2] * info.out_shape[3];
    double *plane = malloc(pixels * sizeof *plane);
    float *x = malloc(pixels * (size_t)in[1] * sizeof *x);
    float *y = malloc(count * sizeof *y);
    int rc = CLCNN__EXIT_OK;
    if (!plane || !x || !y)
        rc = clcnn__cli_fail("show", "out of host memory");
    if (rc == CLCNN__EXIT_OK) {
        clcnn__image_to_input(&img, 0, in, x, plane);
        if (clcnn_net_forward(net, x, 1) != CLCNN_OK ||
            clcnn_net_layer_output(net, layer, y, count) != CLCNN_OK)
            rc = clcnn__cli_library_fail(ctx, "show");
    }
    if (rc == CLCNN__EXIT_OK) {
        char title[200];
        int h = info.out_shape[2], w = info.out_shape[3];
        snprintf(title, sizeof title, "layer %d %s: %d maps %dx%d", layer, info.text,
                 info.out_shape[1], h, w);
        int zoom = 112 / (h > w ? h : w);
        if (draw_grid(out, title, "channel", y, info.out_shape[1], h, w, zoom < 2 ? 2 : zoom,
                      err, sizeof err) != CLCNN_OK)
            rc = clcnn__cli_fail("show", "%s", err);
    }
    free(plane);
    free(x);
    free(y);
    clcnn__image_free(&img);
    return rc;
}

int clcnn__cmd_show(int argc, char **argv)
{
    const char *model = NULL, *filters = NULL, *features = NULL, *layer_text = NULL;
    const char *device = NULL, *positional[1];
    const clcnn__option options[] = {
        {"model", 'm', &model, NULL},       {"filters", 0, &filters, NULL},
        {"features", 0, &features, NULL},   {"layer", 0, &layer_text, NULL},
        {"device", 0, &device, NULL},
    };
    int count = 0;
    int rc = clcnn__cli_parse("show", argc, argv, options, 5, positional, 0, 1, &count);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    if (!model || (!filters == !features))
        return clcnn__cli_usage_error("show", "--model FILE and one of --filters OUT.png or "
                                              "--features IMAGE OUT.png are required");
    if (features && count != 1)
        return clcnn__cli_usage_error("show", "--features IMAGE needs the output OUT.png");
    if (filters && count != 0)
        return clcnn__cli_usage_error("show", "--filters OUT.png takes no other argument");
    if (layer_text && !features)
        return clcnn__cli_usage_error("show", "--layer goes with --features");
    const char *out = filters ? filters : positional[0];
    clcnn__image_format format;
    char err[1024];
    if (clcnn__image_format_for(out, 3, &format, err, sizeof err) != CLCNN_OK ||
        format != CLCNN__IMAGE_PNG)
        return clcnn__cli_usage_error("show", "the output %s must be a .png file", out);
    int layer = -1;
    if (layer_text && (rc = clcnn__cli_int("show", "layer", layer_text, 0, 1 << 20, &layer)))
        return rc;
    clcnn_context *ctx = NULL;
    if ((rc = clcnn__cli_context("show", device, &ctx)) != CLCNN__EXIT_OK)
        return rc;
    clcnn_net *net = NULL;
    if (clcnn_net_load(ctx, model, 1, &net, NULL, NULL) != CLCNN_OK)
        rc = clcnn__cli_library_fail(ctx, "show");
    else if (filters)
        rc = show_filters(ctx, net, model, out);
    else
        rc = show_features(ctx, net, features, layer, out);
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    return rc;
}
