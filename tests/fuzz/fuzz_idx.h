/* The IDX harnesses' common part: load an image and a label file, use the set. */
#ifndef CLCNN_FUZZ_IDX_H
#define CLCNN_FUZZ_IDX_H

#include <stddef.h>
#include <stdint.h>

void fuzz_idx_load(const uint8_t *images, size_t images_size, const uint8_t *labels,
                   size_t labels_size);

#endif
