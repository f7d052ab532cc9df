/*
 * clcnn predict: classifies PNG/PGM images with a saved model, after turning
 * each into the network's input (grey, scaled, MNIST-style light-on-dark).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "image.h"

const char clcnn__usage_predict[] =
    "Usage: clcnn predict --model FILE [--invert auto|yes|no] [--top N] [--json]\n"
    "                     [--device SELECTOR] IMAGE...\n"
    "\n"
    "Classifies each IMAGE (PNG, PGM or PPM) with the model in FILE and prints\n"
    "its most likely class with its probability. Images are converted to grey,\n"
    "scaled to the network's input size (area averaging, aspect not kept) and\n"
    "normalised as in training. MNIST digits are light on a dark background;\n"
    "with --invert auto (the default) an image whose border is mostly light is\n"
    "inverted first.\n"
    "\n"
    "Options:\n"
    "  --model FILE       model or checkpoint written by 'clcnn train', or .onnx\n"
    "  --invert MODE      auto (default), yes or no\n"
    "  --top N            also list the N most likely classes (default 1)\n"
    "  --json             one JSON object per image\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 when every image was classified, 1 otherwise.\n";

#define MAX_IMAGES 1024

/* Grey value of pixel (x, y). */
static double grey(const clcnn__image *img, int x, int y)
{
    size_t pixel = (size_t)y * (size_t)img->width + (size_t)x;
    const uint8_t *p = img->data + pixel * (size_t)img->channels;
    return img->channels == 1 ? p[0] : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

/* Mean grey value of the one-pixel border. */
static double border_mean(const clcnn__image *img)
{
    double sum = 0;
    long n = 0;
    for (int x = 0; x < img->width; x++, n += 2)
        sum += grey(img, x, 0) + grey(img, x, img->height - 1);
    for (int y = 0; y < img->height; y++, n += 2)
        sum += grey(img, 0, y) + grey(img, img->width - 1, y);
    return sum / (double)n;
}

/* Area-averages img onto an h x w grid of values 0..255. */
static void resample(const clcnn__image *img, int h, int w, double *out)
{
    double sy = (double)img->height / h, sx = (double)img->width / w;
    for (int oy = 0; oy < h; oy++)
        for (int ox = 0; ox < w; ox++) {
            double y0 = oy * sy, y1 = y0 + sy, x0 = ox * sx, x1 = x0 + sx;
            double sum = 0, area = 0;
            for (int y = (int)y0; y < img->height && y < y1; y++) {
                double wy = fmin(y + 1, y1) - fmax(y, y0);
                for (int x = (int)x0; x < img->width && x < x1; x++) {
                    double wx = fmin(x + 1, x1) - fmax(x, x0);
                    sum += wy * wx * grey(img, x, y);
                    area += wy * wx;
                }
            }
            out[oy * w + ox] = area > 0 ? sum / area : 0;
        }
}

int clcnn__image_to_input(const clcnn__image *img, int invert, const int in[4], float *x,
                          double *plane)
{
    size_t pixels = (size_t)in[2] * (size_t)in[3];
    int flip = invert == 1 || (invert == 0 && border_mean(img) > 127.5);
    resample(img, in[2], in[3], plane);
    for (size_t p = 0; p < pixels; p++) {
        double v = (flip ? 255.0 - plane[p] : plane[p]) / 255.0;
        for (int c = 0; c < in[1]; c++)
            x[(size_t)c * pixels + p] = (float)((v - CLCNN_MNIST_MEAN) / CLCNN_MNIST_STD);
    }
    return flip;
}

int clcnn__cmd_predict(int argc, char **argv)
{
    const char *model = NULL, *invert_text = "auto", *top_text = "1", *device = NULL;
    int json = 0;
    const clcnn__option options[] = {
        {"model", 'm', &model, NULL}, {"invert", 0, &invert_text, NULL},
        {"top", 0, &top_text, NULL},  {"json", 0, NULL, &json},
        {"device", 0, &device, NULL},
    };
    const char *images[MAX_IMAGES];
    int image_count = 0;
    int rc = clcnn__cli_parse("predict", argc, argv, options, 5, images, 1, MAX_IMAGES,
                              &image_count);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    if (!model)
        return clcnn__cli_usage_error("predict", "--model FILE is required");
    static const char *const invert_modes[] = {"auto", "yes", "no", NULL};
    int invert, top;
    if ((rc = clcnn__cli_choice("predict", "invert", invert_text, invert_modes, &invert)) ||
        (rc = clcnn__cli_int("predict", "top", top_text, 1, 1000, &top)))
        return rc;

    clcnn_context *ctx = NULL;
    if ((rc = clcnn__cli_context("predict", device, &ctx)) != CLCNN__EXIT_OK)
        return rc;
    clcnn_net *net = NULL;
    if (clcnn__cli_load_model(ctx, model, 1, &net) != CLCNN_OK) {
        rc = clcnn__cli_library_fail(ctx, "predict");
        clcnn_context_destroy(ctx);
        return rc;
    }
    int in[4];
    clcnn_net_input_shape(net, in);
    int classes = clcnn_net_classes(net);
    if (top > classes)
        top = classes;
    size_t pixels = (size_t)in[2] * (size_t)in[3];
    double *plane = malloc(pixels * sizeof *plane);
    float *x = malloc(pixels * (size_t)in[1] * sizeof *x);
    float *probs = malloc((size_t)classes * sizeof *probs);
    if (!plane || !x || !probs)
        rc = clcnn__cli_fail("predict", "out of memory");
    for (int i = 0; i < image_count && plane && x && probs; i++) {
        clcnn__image img = {0};
        char err[1024];
        if (clcnn__image_read(images[i], &img, err, sizeof err) != CLCNN_OK) {
            rc = clcnn__cli_fail("predict", "%s", err);
            continue;
        }
        int flip = clcnn__image_to_input(&img, invert, in, x, plane);
        clcnn__image_free(&img);
        if (clcnn_net_predict(net, x, 1, probs) != CLCNN_OK) {
            rc = clcnn__cli_library_fail(ctx, "predict");
            break;
        }
        /* the top classes by a partial selection sort over a copy of the order */
        int order[1024];
        int n = classes < 1024 ? classes : 1024;
        for (int k = 0; k < n; k++)
            order[k] = k;
        for (int a = 0; a < top && a < n; a++)
            for (int b = a + 1; b < n; b++)
                if (probs[order[b]] > probs[order[a]]) {
                    int t = order[a];
                    order[a] = order[b];
                    order[b] = t;
                }
        if (json) {
            printf("{\"image\": \"%s\", \"class\": %d, \"probability\": %.6f, \"top\": [",
                   images[i], order[0], (double)probs[order[0]]);
            for (int a = 0; a < top; a++)
                printf("%s{\"class\": %d, \"probability\": %.6f}", a ? ", " : "", order[a],
                       (double)probs[order[a]]);
            printf("]}\n");
        } else {
            printf("%s: %d (p=%.4f)", images[i], order[0], (double)probs[order[0]]);
            for (int a = 1; a < top; a++)
                printf("  %d (p=%.4f)", order[a], (double)probs[order[a]]);
            printf("%s\n", flip ? "  [inverted]" : "");
        }
    }
    free(plane);
    free(x);
    free(probs);
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    return rc;
}
