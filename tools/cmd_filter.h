/*
 * The classic image filters of `clcnn filter`, declared once for the command
 * and its test, so the weights and the geometry they check cannot drift.
 */
#ifndef CLCNN_CMD_FILTER_H
#define CLCNN_CMD_FILTER_H

#include <stddef.h>

#include "clcnn.h"
#include "image.h"

/* The largest box filter side accepted. */
#define CLCNN__FILTER_MAX_SIZE 31

/* A square filter: weights[r * size + s], row r, column s. */
typedef struct clcnn__filter_kernel {
    int size;
    double weights[CLCNN__FILTER_MAX_SIZE * CLCNN__FILTER_MAX_SIZE];
} clcnn__filter_kernel;

/* "edge", "sharpen", "gaussian", "box", then NULL. */
extern const char *const clcnn__filter_kernel_names[];

/*
 * The weights of a named kernel: edge and sharpen are 3x3, gaussian 5x5,
 * box is size x size with every weight 1/(size*size) (size 0 means 3; size
 * must be 0 for the others). CLCNN_ERR_INVALID_ARGUMENT with a message for an
 * unknown name or a bad size.
 */
clcnn_status clcnn__filter_kernel_get(const char *name, int size, clcnn__filter_kernel *out,
                                      char *error, size_t error_size);

typedef enum clcnn__filter_padding {
    CLCNN__PADDING_SAME = 0,  /* (R-1)/2 zeros before, R/2 after: P = ceil(H / stride) */
    CLCNN__PADDING_VALID = 1  /* no padding: P = (H - R) / stride + 1 */
} clcnn__filter_padding;

typedef struct clcnn__filter_options {
    const char *kernel; /* a name of clcnn__filter_kernel_names */
    int size;           /* box side; 0 for the default */
    clcnn__filter_padding padding;
    int stride;         /* >= 1, both directions */
} clcnn__filter_options;

/*
 * Filters every channel of in independently with the named kernel through
 * clcnn_conv2d_forward on ctx (the channels are uploaded as a batch of
 * single-channel planes), rounds to the nearest integer (halves up) and
 * clamps to 0..255 into *out (allocated here; free with clcnn__image_free).
 * On failure *out is zeroed and error receives the reason; for a failed
 * library call it reads "<step>: <clcnn_last_error(ctx)>".
 */
clcnn_status clcnn__tool_filter(clcnn_context *ctx, const clcnn__image *in,
                                const clcnn__filter_options *options, clcnn__image *out,
                                char *error, size_t error_size);

#endif /* CLCNN_CMD_FILTER_H */
