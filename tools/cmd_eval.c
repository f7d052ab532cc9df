/*
 * clcnn eval: accuracy and confusion matrix of a saved model on an IDX data
 * set (the test split by default).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "draw.h"

const char clcnn__usage_eval[] =
    "Usage: clcnn eval --model FILE --data DIR [--split t10k|train] [--batch B]\n"
    "                  [--json] [--device SELECTOR]\n"
    "\n"
    "Classifies every image of the data set in DIR (IDX files as MNIST's:\n"
    "DIR/t10k-images-idx3-ubyte[.gz] and DIR/t10k-labels-idx1-ubyte[.gz]) with\n"
    "the model in FILE, and prints the accuracy and a confusion matrix (rows:\n"
    "true class, columns: predicted class).\n"
    "\n"
    "Options:\n"
    "  --model FILE       model or checkpoint written by 'clcnn train', or .onnx\n"
    "  --data DIR         folder of the IDX files\n"
    "  --split NAME       file prefix of the split to evaluate (default t10k)\n"
    "  --batch B          images per forward pass (default 256)\n"
    "  --json             print one JSON object instead of the table\n"
    "  --confusion OUT    also draw the confusion matrix as a heat map (PNG)\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n";

int clcnn__cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *split = "t10k", *batch_text = "256";
    const char *device = NULL, *picture = NULL;
    int json = 0;
    const clcnn__option options[] = {
        {"model", 'm', &model, NULL}, {"data", 'd', &data, NULL},
        {"split", 0, &split, NULL},   {"batch", 'b', &batch_text, NULL},
        {"json", 0, NULL, &json},     {"device", 0, &device, NULL},
        {"confusion", 0, &picture, NULL},
    };
    int rc = clcnn__cli_parse("eval", argc, argv, options, 7, NULL, 0, 0, NULL);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    if (!model || !data)
        return clcnn__cli_usage_error("eval", "--model FILE and --data DIR are required");
    int batch;
    rc = clcnn__cli_int("eval", "batch", batch_text, 1, 65536, &batch);
    if (rc != CLCNN__EXIT_OK)
        return rc;

    char err[1024];
    clcnn__image_format format;
    if (picture && (clcnn__image_format_for(picture, 3, &format, err, sizeof err) != CLCNN_OK ||
                    format != CLCNN__IMAGE_PNG))
        return clcnn__cli_usage_error("eval", "--confusion %s must be a .png file", picture);
    clcnn_dataset *ds = NULL;
    if (clcnn_dataset_load_dir(data, split, &ds, err, sizeof err) != CLCNN_OK)
        return clcnn__cli_fail("eval", "%s", err);
    clcnn_context *ctx = NULL;
    rc = clcnn__cli_context("eval", device, &ctx);
    clcnn_net *net = NULL;
    long *confusion = NULL;
    if (rc == CLCNN__EXIT_OK && clcnn__cli_load_model(ctx, model, batch, &net) != CLCNN_OK)
        rc = clcnn__cli_library_fail(ctx, "eval");
    int classes = net ? clcnn_net_classes(net) : 0;
    if (rc == CLCNN__EXIT_OK) {
        confusion = calloc((size_t)classes * (size_t)classes, sizeof *confusion);
        if (!confusion)
            rc = clcnn__cli_fail("eval", "out of memory");
    }
    float accuracy = 0;
    if (rc == CLCNN__EXIT_OK &&
        clcnn_evaluate(net, ds, CLCNN_MNIST_MEAN, CLCNN_MNIST_STD, &accuracy, confusion) !=
            CLCNN_OK)
        rc = clcnn__cli_library_fail(ctx, "eval");
    if (rc == CLCNN__EXIT_OK && json) {
        printf("{\"model\": \"%s\", \"images\": %zu, \"accuracy\": %.6f, \"confusion\": [",
               model, clcnn_dataset_count(ds), (double)accuracy);
        for (int t = 0; t < classes; t++) {
            printf("%s[", t ? ", " : "");
            for (int p = 0; p < classes; p++)
                printf("%s%ld", p ? ", " : "", confusion[t * classes + p]);
            printf("]");
        }
        printf("]}\n");
    } else if (rc == CLCNN__EXIT_OK) {
        printf("%s on %s/%s: %zu images, accuracy %.2f%%\n\n", model, data, split,
               clcnn_dataset_count(ds), 100.0 * (double)accuracy);
        printf("true\\pred");
        for (int p = 0; p < classes; p++)
            printf(" %5d", p);
        printf("\n");
        for (int t = 0; t < classes; t++) {
            printf("%9d", t);
            for (int p = 0; p < classes; p++)
                printf(" %5ld", confusion[t * classes + p]);
            printf("\n");
        }
    }
    if (rc == CLCNN__EXIT_OK && picture) {
        char title[256];
        snprintf(title, sizeof title, "confusion matrix: %.2f%% of %zu images", 100.0 * accuracy,
                 clcnn_dataset_count(ds));
        if (clcnn__confusion_chart(picture, title, confusion, classes, err, sizeof err) !=
            CLCNN_OK)
            rc = clcnn__cli_fail("eval", "%s", err);
    }
    free(confusion);
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    clcnn_dataset_destroy(ds);
    return rc;
}
