/*
 * clcnn filter: applies a classic image filter (edge, sharpen, Gaussian,
 * box) with the library's convolution on the OpenCL device; a visible check
 * of clcnn_conv2d_forward on real pictures.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_filter.h"

const char clcnn__usage_filter[] =
    "Usage: clcnn filter --kernel NAME [OPTIONS] IN OUT\n"
    "\n"
    "Filters image IN with a classic kernel through clcnn's 2-D convolution on the\n"
    "OpenCL device and writes OUT.\n"
    "\n"
    "Kernels (--kernel NAME):\n"
    "  edge      3x3  -1 -1 -1 / -1 8 -1 / -1 -1 -1\n"
    "  sharpen   3x3  -1 -1 -1 / -1 9 -1 / -1 -1 -1\n"
    "  gaussian  5x5  1 2 3 2 1 / 2 4 5 4 2 / 3 5 6 5 3 / 2 4 5 4 2 / 1 2 3 2 1,\n"
    "                 divided by their sum (74), so that brightness is kept\n"
    "  box       NxN  every weight 1/(N*N), N from --size\n"
    "\n"
    "Options:\n"
    "  -k, --kernel NAME       the kernel (required)\n"
    "  --padding same|valid    same (default): zeros around the image so that the\n"
    "                          output has ceil(H/stride) x ceil(W/stride) pixels;\n"
    "                          (R-1)/2 rows/columns before and R/2 after, so an\n"
    "                          even-sized box puts the extra one at the bottom and\n"
    "                          right. valid: no padding, (H-R)/stride+1 rows.\n"
    "  --stride S              step between outputs in both directions, 1..64\n"
    "                          (default 1)\n"
    "  --size N                box side, 1..31 (default 3; box only)\n"
    "  --device SELECTOR       device as for CLCNN_DEVICE (see 'clcnn devices')\n"
    "  -h, --help              show this help\n"
    "\n"
    "Images: IN is PNG (grey, grey+alpha, RGB, RGBA, palette; 1 to 16 bits), or\n"
    "PGM/PPM with maxval <= 255. Alpha is dropped. Grey stays grey; each RGB\n"
    "channel is filtered on its own. OUT's name chooses its format: .png, .pgm\n"
    "(grey only) or .ppm. OUT is replaced atomically: on failure it is untouched.\n"
    "Pixels are filtered as floats 0..255; results are rounded to the nearest\n"
    "integer (halves up) and clamped to 0..255.\n";

/* snprintf into an optional caller buffer */
static void set_error(char *error, size_t error_size, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void set_error(char *error, size_t error_size, const char *fmt, ...)
{
    if (!error || !error_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, error_size, fmt, ap);
    va_end(ap);
}

const char *const clcnn__filter_kernel_names[] = {"edge", "sharpen", "gaussian", "box", NULL};

clcnn_status clcnn__filter_kernel_get(const char *name, int size, clcnn__filter_kernel *out,
                                      char *error, size_t error_size)
{
    static const int edge[9] = {-1, -1, -1, -1, 8, -1, -1, -1, -1};
    static const int sharpen[9] = {-1, -1, -1, -1, 9, -1, -1, -1, -1};
    static const int gaussian[25] = {1, 2, 3, 2, 1, 2, 4, 5, 4, 2, 3, 5, 6,
                                     5, 3, 2, 4, 5, 4, 2, 1, 2, 3, 2, 1};
    if (!name || !out) {
        set_error(error, error_size, "kernel name or output is NULL");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    int is_box = strcmp(name, "box") == 0;
    if (!is_box && size != 0) {
        set_error(error, error_size, "--size applies to the box kernel only, not to %s", name);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    const int *integers = NULL;
    double divisor = 1.0;
    if (strcmp(name, "edge") == 0) {
        out->size = 3;
        integers = edge;
    } else if (strcmp(name, "sharpen") == 0) {
        out->size = 3;
        integers = sharpen;
    } else if (strcmp(name, "gaussian") == 0) {
        out->size = 5;
        integers = gaussian;
        /* normalised by the sum of its weights, counted here rather than typed
         * (a typed divisor once disagreed with them) */
        divisor = 0;
        for (int i = 0; i < 25; i++)
            divisor += gaussian[i];
    } else if (is_box) {
        if (size == 0)
            size = 3;
        if (size < 1 || size > CLCNN__FILTER_MAX_SIZE) {
            set_error(error, error_size, "box size %d is outside 1..%d", size,
                     CLCNN__FILTER_MAX_SIZE);
            return CLCNN_ERR_INVALID_ARGUMENT;
        }
        out->size = size;
        for (int i = 0; i < size * size; i++)
            out->weights[i] = 1.0 / (size * size);
        return CLCNN_OK;
    } else {
        set_error(error, error_size,
                 "unknown kernel '%s' (expected edge, sharpen, gaussian or box)", name);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    for (int i = 0; i < out->size * out->size; i++)
        out->weights[i] = integers[i] / divisor;
    return CLCNN_OK;
}

/* "<step>: <last error>" for a failed library call. */
static clcnn_status library_error(clcnn_context *ctx, clcnn_status st, const char *step,
                                  char *error, size_t error_size)
{
    set_error(error, error_size, "%s: %s", step, clcnn_last_error(ctx));
    return st;
}

static uint8_t to_pixel(float v)
{
    double r = floor((double)v + 0.5);
    return (uint8_t)(r < 0.0 ? 0.0 : r > 255.0 ? 255.0 : r);
}

/* x (C,1,H,W) planes of the image, w (1,1,R,R) -> y (C,1,P,Q) */
clcnn_status clcnn__tool_filter(clcnn_context *ctx, const clcnn__image *in,
                                const clcnn__filter_options *options, clcnn__image *out,
                                char *error, size_t error_size)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!ctx || !in || !in->data || !options || !out) {
        set_error(error, error_size, "context, image, options or output is NULL");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (in->channels != 1 && in->channels != 3) {
        set_error(error, error_size, "the image has %d channels; 1 or 3 are filtered",
                 in->channels);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (options->stride < 1) {
        set_error(error, error_size, "stride %d is not positive", options->stride);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    clcnn__filter_kernel kernel;
    clcnn_status st =
        clcnn__filter_kernel_get(options->kernel, options->size, &kernel, error, error_size);
    if (st != CLCNN_OK)
        return st;

    const int C = in->channels, H = in->height, W = in->width, R = kernel.size;
    int x_shape[4] = {C, 1, H, W}, w_shape[4] = {1, 1, R, R}, y_shape[4];
    clcnn_conv2d_params p = {.stride_h = options->stride, .stride_w = options->stride};
    if (options->padding == CLCNN__PADDING_SAME) {
        p.pad_top = p.pad_left = (R - 1) / 2;
        p.pad_bottom = p.pad_right = R / 2;
    }
    char why[512];
    st = clcnn_conv2d_output_shape(x_shape, w_shape, &p, y_shape, why, sizeof why);
    if (st != CLCNN_OK) {
        if (options->padding == CLCNN__PADDING_VALID && (H < R || W < R))
            set_error(error, error_size,
                     "the %dx%d image is smaller than the %dx%d kernel; use --padding same",
                     W, H, R, R);
        else
            set_error(error, error_size, "%s", why);
        return st;
    }
    const int P = y_shape[2], Q = y_shape[3];

    size_t x_count = (size_t)C * H * W, y_count = (size_t)C * P * Q;
    float *x = malloc(x_count * sizeof *x);
    float *y = malloc(y_count * sizeof *y);
    float w[CLCNN__FILTER_MAX_SIZE * CLCNN__FILTER_MAX_SIZE];
    clcnn_tensor *tx = NULL, *tw = NULL, *ty = NULL;
    if (!x || !y) {
        set_error(error, error_size, "out of host memory for a %dx%d image", W, H);
        st = CLCNN_ERR_OUT_OF_HOST_MEMORY;
        goto done;
    }
    /* interleaved 8-bit samples -> planar floats, one plane per channel */
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < (size_t)H * W; i++)
            x[(size_t)c * H * W + i] = in->data[i * C + (size_t)c];
    for (int i = 0; i < R * R; i++)
        w[i] = (float)kernel.weights[i];

    if ((st = clcnn_tensor_create(ctx, C, 1, H, W, &tx)) != CLCNN_OK ||
        (st = clcnn_tensor_create(ctx, 1, 1, R, R, &tw)) != CLCNN_OK ||
        (st = clcnn_tensor_create(ctx, C, 1, P, Q, &ty)) != CLCNN_OK ||
        (st = clcnn_tensor_write(tx, x, x_count)) != CLCNN_OK ||
        (st = clcnn_tensor_write(tw, w, (size_t)R * R)) != CLCNN_OK) {
        library_error(ctx, st, "uploading the image", error, error_size);
        goto done;
    }
    if ((st = clcnn_conv2d_forward(ctx, tx, tw, NULL, ty, &p)) != CLCNN_OK) {
        library_error(ctx, st, "conv2d", error, error_size);
        goto done;
    }
    if ((st = clcnn_tensor_read(ty, y, y_count)) != CLCNN_OK) {
        library_error(ctx, st, "reading the result", error, error_size);
        goto done;
    }
    st = clcnn__image_create(out, Q, P, C, error, error_size);
    if (st != CLCNN_OK)
        goto done;
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < (size_t)P * Q; i++)
            out->data[i * C + (size_t)c] = to_pixel(y[(size_t)c * P * Q + i]);
done:
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(ty);
    free(x);
    free(y);
    return st;
}

int clcnn__cmd_filter(int argc, char **argv)
{
    const char *kernel = NULL, *padding_text = "same", *stride_text = "1", *size_text = NULL;
    const char *device = NULL;
    const clcnn__option options[] = {
        {"kernel", 'k', &kernel, NULL},  {"padding", 0, &padding_text, NULL},
        {"stride", 0, &stride_text, NULL}, {"size", 0, &size_text, NULL},
        {"device", 0, &device, NULL},
    };
    const char *paths[2];
    int npaths = 0;
    int rc = clcnn__cli_parse("filter", argc, argv, options, sizeof options / sizeof *options,
                              paths, 2, 2, &npaths);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    if (!kernel)
        return clcnn__cli_usage_error("filter", "--kernel is required (edge, sharpen, "
                                      "gaussian or box)");
    clcnn__filter_options fo = {.kernel = kernel};
    int kernel_index, padding_index;
    static const char *const paddings[] = {"same", "valid", NULL};
    if ((rc = clcnn__cli_choice("filter", "kernel", kernel, clcnn__filter_kernel_names,
                                &kernel_index)) != CLCNN__EXIT_OK ||
        (rc = clcnn__cli_choice("filter", "padding", padding_text, paddings,
                                &padding_index)) != CLCNN__EXIT_OK ||
        (rc = clcnn__cli_int("filter", "stride", stride_text, 1, 64, &fo.stride)) !=
            CLCNN__EXIT_OK)
        return rc;
    fo.padding = padding_index ? CLCNN__PADDING_VALID : CLCNN__PADDING_SAME;
    if (size_text) {
        if (strcmp(kernel, "box") != 0)
            return clcnn__cli_usage_error("filter", "--size applies to --kernel box only");
        if ((rc = clcnn__cli_int("filter", "size", size_text, 1, CLCNN__FILTER_MAX_SIZE,
                                 &fo.size)) != CLCNN__EXIT_OK)
            return rc;
    }

    char error[1024];
    clcnn__image in, out;
    clcnn_status st = clcnn__image_read(paths[0], &in, error, sizeof error);
    if (st != CLCNN_OK)
        return clcnn__cli_fail("filter", "%s", error);
    /* refuse an unwritable output name before the device work */
    clcnn__image_format format;
    if (clcnn__image_format_for(paths[1], in.channels, &format, error, sizeof error) !=
        CLCNN_OK) {
        clcnn__image_free(&in);
        return clcnn__cli_usage_error("filter", "%s", error);
    }
    clcnn_context *ctx = NULL;
    rc = clcnn__cli_context("filter", device, &ctx);
    if (rc == CLCNN__EXIT_OK) {
        st = clcnn__tool_filter(ctx, &in, &fo, &out, error, sizeof error);
        if (st == CLCNN_OK)
            st = clcnn__image_write(paths[1], &out, error, sizeof error);
        if (st != CLCNN_OK)
            rc = clcnn__cli_fail("filter", "%s", error);
        clcnn__image_free(&out);
        clcnn_context_destroy(ctx);
    }
    clcnn__image_free(&in);
    return rc;
}
