/*
 * Reading and writing 8-bit images (PNG, PGM, PPM) for the clcnn tool. An
 * internal module of the tool, not part of the library: it returns a status
 * and a message and never prints or exits.
 */
#ifndef CLCNN_IMAGE_H
#define CLCNN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "clcnn.h"

/* Images above this many pixels are refused before anything is allocated. */
#define CLCNN__IMAGE_MAX_PIXELS (1ll << 28)

/*
 * An 8-bit image, grey (1 channel) or RGB (3 channels), interleaved and
 * row-major as in the files: the sample of channel c at column x, row y is
 * data[((size_t)y * width + x) * channels + c].
 */
typedef struct clcnn__image {
    int width, height;
    int channels;
    uint8_t *data;
} clcnn__image;

typedef enum clcnn__image_format {
    CLCNN__IMAGE_PNG,
    CLCNN__IMAGE_PGM, /* grey only: binary P5 is written */
    CLCNN__IMAGE_PPM  /* RGB: binary P6 is written; grey is stored as equal R, G, B */
} clcnn__image_format;

/* Allocates img->data for width x height x channels (contents undefined).
 * CLCNN_ERR_INVALID_ARGUMENT for bad sizes, CLCNN_ERR_OUT_OF_HOST_MEMORY. */
clcnn_status clcnn__image_create(clcnn__image *img, int width, int height, int channels,
                                 char *error, size_t error_size);

/* Frees img->data and zeroes img. Accepts a zeroed image. */
void clcnn__image_free(clcnn__image *img);

/*
 * Reads path into *out, choosing the decoder by the file's first bytes (not
 * its name): PNG, or PNM P2/P5 (grey) and P3/P6 (RGB) with maxval <= 255
 * (samples are rescaled to 0..255 when maxval < 255).
 *
 * PNG: grey and grey+alpha give 1 channel; RGB, RGBA and palette give 3;
 * alpha and transparency are dropped (not composited); 16-bit samples are
 * scaled to 8 bits and 1/2/4-bit ones expanded. Gamma is ignored.
 *
 * On failure *out is zeroed and error (may be NULL) names the file and the
 * problem: CLCNN_ERR_IO (cannot open or read), CLCNN_ERR_FORMAT (unknown,
 * malformed or truncated data, maxval > 255), CLCNN_ERR_UNSUPPORTED (more than
 * CLCNN__IMAGE_MAX_PIXELS pixels), CLCNN_ERR_OUT_OF_HOST_MEMORY.
 */
clcnn_status clcnn__image_read(const char *path, clcnn__image *out, char *error,
                               size_t error_size);

/* The format written for path, from its extension (.png, .pgm, .ppm, any
 * case), checked against the image's channels: RGB cannot be written as
 * .pgm. CLCNN_ERR_INVALID_ARGUMENT with a message otherwise. Lets a command
 * refuse an output name before doing its work. */
clcnn_status clcnn__image_format_for(const char *path, int channels,
                                     clcnn__image_format *format, char *error,
                                     size_t error_size);

/*
 * Writes img to path in the format its extension names (see
 * clcnn__image_format_for). The data goes to a temporary file in the same
 * folder, is flushed to disk, then renamed over path, so a failure never
 * leaves a half-written file and never damages an existing one.
 * CLCNN_ERR_INVALID_ARGUMENT, CLCNN_ERR_IO, CLCNN_ERR_OUT_OF_HOST_MEMORY.
 */
clcnn_status clcnn__image_write(const char *path, const clcnn__image *img, char *error,
                                size_t error_size);

#endif /* CLCNN_IMAGE_H */
