/*
 * The clcnn command-line tool: its command table, option parsing and the
 * error printing every command shares. The tool may print and exit; the
 * library it drives never does.
 */
#ifndef CLCNN_CLI_H
#define CLCNN_CLI_H

#include <stddef.h>

#include "clcnn.h"

/* Exit statuses of every command. */
enum {
    CLCNN__EXIT_OK = 0,
    CLCNN__EXIT_FAILURE = 1, /* the work failed: a file, the device, the library */
    CLCNN__EXIT_USAGE = 2    /* the command line is wrong */
};

/*
 * The commands, one row each: X(name, one-line summary). A row needs a
 * tools/cmd_<name>.c defining
 *   int clcnn__cmd_<name>(int argc, char **argv);   argv[0] is "<name>"
 *   const char clcnn__usage_<name>[];               the full --help text
 * and that file in tool_sources of the root meson.build. main.c builds the
 * table and answers --help for every command from it.
 */
#define CLCNN__COMMANDS(X)                                                                     \
    X(train, "train a network (lenet5, convnet, resnet, mobilenet or a spec) on IDX data such as MNIST")        \
    X(eval, "accuracy and confusion matrix of a saved model on a data set")                   \
    X(predict, "classify PNG/PGM images with a saved model")                                  \
    X(info, "layers, shapes and parameter counts of a saved model")                           \
    X(devices, "list OpenCL platforms and devices, and which one clcnn uses")                 \
    X(filter, "apply an edge, sharpen, Gaussian or box filter to a PNG/PGM/PPM image")       \
    X(bench, "time conv layers (GFLOP/s, % of peak), the FP32 peak, or a whole network")     \
    X(tune, "find the fastest conv algorithm per layer and write the device's tuning file")   \
    X(plot, "draw the training curves of `clcnn train --json` logs as a PNG chart")           \
    X(show, "draw a model's first-layer filters, or the feature maps of an image, as PNG")   \
    X(infer, "run a clcnn or ONNX model on a float32 (N, C, H, W) .npy array")                \
    X(import, "convert an ONNX model into a clcnn model file")                                \
    X(export, "write a clcnn model as an ONNX model")

#define CLCNN__DECLARE_COMMAND_(name, summary)                                                 \
    int clcnn__cmd_##name(int argc, char **argv);                                              \
    extern const char clcnn__usage_##name[];
CLCNN__COMMANDS(CLCNN__DECLARE_COMMAND_)
#undef CLCNN__DECLARE_COMMAND_

/* ---- option parsing ---- */

/* One option of a command: --name VALUE (or --name=VALUE), or a --name flag. */
typedef struct clcnn__option {
    const char *name;   /* without the leading "--" */
    char short_name;    /* e.g. 'k' for -k; 0 for none */
    const char **value; /* receives the value; NULL for a flag */
    int *flag;          /* set to 1 when a flag is given; NULL for a valued option */
} clcnn__option;

/*
 * Parses argv[1..argc) of `command` against options[0..option_count): the
 * option values are stored (the last repetition wins) and the other
 * arguments go, in order, to positional[0..*positional_count). "--" ends the
 * options. The positional count must lie in [min_positional, max_positional].
 * positional and positional_count may be NULL for a command that takes no
 * operands (max_positional 0). Returns CLCNN__EXIT_OK, or CLCNN__EXIT_USAGE
 * after printing what is wrong.
 */
int clcnn__cli_parse(const char *command, int argc, char **argv, const clcnn__option *options,
                     size_t option_count, const char **positional, int min_positional,
                     int max_positional, int *positional_count);

/* Parses text as a decimal integer in [lo, hi] for option `option`.
 * Returns CLCNN__EXIT_OK or CLCNN__EXIT_USAGE after printing the error. */
int clcnn__cli_int(const char *command, const char *option, const char *text, int lo, int hi,
                   int *out);

/* Finds text in the NULL-terminated list choices and stores its index.
 * Returns CLCNN__EXIT_OK or CLCNN__EXIT_USAGE after printing the choices. */
int clcnn__cli_choice(const char *command, const char *option, const char *text,
                      const char *const *choices, int *index);

/* ---- errors ---- */

/* Prints "clcnn: <command>: <message>" and a hint to read --help on stderr;
 * returns CLCNN__EXIT_USAGE. */
int clcnn__cli_usage_error(const char *command, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints "clcnn: <command>: <message>" on stderr; returns CLCNN__EXIT_FAILURE. */
int clcnn__cli_fail(const char *command, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints "clcnn: <what>: <clcnn_last_error(ctx)>" on stderr; returns
 * CLCNN__EXIT_FAILURE. For a failed call of the library on ctx. */
int clcnn__cli_library_fail(const clcnn_context *ctx, const char *what);

/* Creates a context on the device chosen by selector (NULL: $CLCNN_DEVICE,
 * then the default rule); prints the reason on failure. Returns
 * CLCNN__EXIT_OK or CLCNN__EXIT_FAILURE. */
int clcnn__cli_context(const char *command, const char *selector, clcnn_context **out);

/* Loads a model for `batch` images: an ONNX model when path ends in .onnx
 * (clcnn_net_load_onnx), else a clcnn model or checkpoint (clcnn_net_load).
 * Errors are on ctx. */
clcnn_status clcnn__cli_load_model(clcnn_context *ctx, const char *path, int batch,
                                   clcnn_net **out);
int clcnn__cli_is_onnx(const char *path);

/* An image as the network's input (predict and show): grey, area-averaged
 * to in[2] x in[3], inverted when invert is 1 (yes) or 0 (auto) and its
 * border is mostly light, normalised as in training, copied to each of
 * in[1] channels of x. plane holds in[2] * in[3] doubles of scratch.
 * Returns whether it inverted. */
struct clcnn__image;
int clcnn__image_to_input(const struct clcnn__image *img, int invert, const int in[4], float *x,
                          double *plane);

#endif /* CLCNN_CLI_H */
