/* The image harnesses' common part: read an image from memory and use it. */
#ifndef CLCNN_FUZZ_IMAGE_H
#define CLCNN_FUZZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>

void fuzz_image_read(const uint8_t *data, size_t size);

#endif
