/* Reads an image from memory with clcnn__image_read and touches every sample (fuzz_image.h). */
#include <stdlib.h>

#include "fuzz.h"
#include "fuzz_image.h"
#include "image.h"

void fuzz_image_read(const uint8_t *data, size_t size)
{
    fuzz_file f;
    fuzz_file_open(&f, data, size);
    clcnn__image img;
    char err[512];
    err[0] = '\0';
    clcnn_status st = clcnn__image_read(f.path, &img, err, sizeof err);
    fuzz_file_close(&f);
    fuzz_report("image", st, st == CLCNN_OK ? "" : err);
    if (st != CLCNN_OK) {
        if (img.data || img.width || !err[0])
            abort(); /* a failure leaves a zeroed image and always says why */
        return;
    }
    if (img.width < 1 || img.height < 1 || (img.channels != 1 && img.channels != 3) ||
        (long long)img.width * img.height > CLCNN__IMAGE_MAX_PIXELS)
        abort();
    /* every sample must exist (and be initialised, for MSan-like tools) */
    size_t n = (size_t)img.width * (size_t)img.height * (size_t)img.channels;
    volatile unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += img.data[i];
    clcnn__image_free(&img);
}
