/*
 * IDX data sets through clcnn_dataset_load_idx, both files gzip-compressed
 * by the harness, so that the mutations reach the IDX reader through
 * zlib's streaming path (data arriving in pieces, growing buffers) instead
 * of failing at a damaged gzip stream. Input as fuzz_idx: u32
 * little-endian length L, L bytes of the image file, then the label file.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "fuzz_idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t images_size = size;
    if (size >= 4) {
        uint32_t len = fuzz_u32le(data);
        data += 4;
        size -= 4;
        images_size = len < size ? len : size;
    }
    unsigned char *gi, *gl;
    size_t gi_size, gl_size;
    fuzz_gzip(data, images_size, &gi, &gi_size);
    fuzz_gzip(data + images_size, size - images_size, &gl, &gl_size);
    fuzz_idx_load(gi, gi_size, gl, gl_size);
    free(gi);
    free(gl);
    return 0;
}
