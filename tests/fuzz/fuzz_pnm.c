/* PGM and PPM images (P2, P3, P5, P6) through clcnn__image_read. */
#include "fuzz.h"
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_read(data, size);
    return 0;
}
