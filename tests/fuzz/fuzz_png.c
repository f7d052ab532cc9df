/*
 * PNG images through clcnn__image_read (libpng underneath, driven by the
 * tool's reader). Every input is read as it is, and, when some chunk's
 * CRC-32 is wrong, once more with every chunk CRC made right: libpng stops
 * at a bad CRC, so without this almost no mutation would reach the
 * decoder and the reader's conversions.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "fuzz_image.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Rewrites the CRC of every complete chunk after the 8-byte signature;
 * returns whether any changed. */
static int fix_crcs(uint8_t *p, size_t size)
{
    int changed = 0;
    size_t pos = 8;
    while (pos + 12 <= size) {
        uint32_t len = be32(p + pos);
        if (len > size - pos - 12)
            break;
        uint32_t crc = (uint32_t)crc32(0L, p + pos + 4, (uInt)len + 4);
        uint8_t *at = p + pos + 8 + len;
        if (be32(at) != crc) {
            at[0] = (uint8_t)(crc >> 24);
            at[1] = (uint8_t)(crc >> 16);
            at[2] = (uint8_t)(crc >> 8);
            at[3] = (uint8_t)crc;
            changed = 1;
        }
        pos += 12 + (size_t)len;
    }
    return changed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_read(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    if (!fixed)
        abort();
    memcpy(fixed, data, size);
    if (fix_crcs(fixed, size))
        fuzz_image_read(fixed, size);
    free(fixed);
    return 0;
}
