/*
 * IDX data sets through clcnn_dataset_load_idx, plain or gzip (the loader
 * detects gzip itself). Input: u32 little-endian length L, then L bytes of
 * the image file, then the label file. A loaded set is then used: its
 * first and last images go through clcnn_dataset_batch, so sizes that do
 * not match the data show up as out-of-bounds reads.
 */
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
    fuzz_idx_load(data, images_size, data + images_size, size - images_size);
    return 0;
}
