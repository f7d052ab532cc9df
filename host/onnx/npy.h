/*
 * NumPy .npy files of float32 arrays, for `clcnn infer`: the reader checks
 * the magic, version, header dictionary, dtype, order, shape and the data
 * length before anything is trusted; the writer writes format 1.0.
 */
#ifndef CLCNN_NPY_H
#define CLCNN_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

#define CLCNN__NPY_MAX_RANK 8
/* Files at or above this size are refused before they are read. */
#define CLCNN__NPY_MAX_BYTES ((uint64_t)2 << 30)

typedef struct clcnn__npy {
    int rank;
    long long dims[CLCNN__NPY_MAX_RANK];
    size_t count; /* product of dims */
    float *data;  /* count floats, C order; freed by clcnn__npy_free */
} clcnn__npy;

/* Parses a whole .npy file held in data[0..size). Returns CLCNN_OK,
 * CLCNN_ERR_FORMAT (message names the field, its value and what is allowed)
 * or CLCNN_ERR_OUT_OF_HOST_MEMORY. */
clcnn_status clcnn__npy_parse(const uint8_t *data, size_t size, clcnn__npy *out, char *message,
                              size_t message_size);

/* Reads path (CLCNN_ERR_IO when it cannot be read), then as clcnn__npy_parse;
 * message starts with the path. */
clcnn_status clcnn__npy_read(const char *path, clcnn__npy *out, char *message,
                             size_t message_size);

void clcnn__npy_free(clcnn__npy *a);

/* Writes a float32 C-order array of the given rank (1..8) and dims to path
 * atomically (as model files are); errors are recorded on ctx (may be NULL). */
clcnn_status clcnn__npy_write(clcnn_context *ctx, const char *path, const float *data, int rank,
                              const long long *dims);

#endif /* CLCNN_NPY_H */
