/* Helpers shared by the fuzz harnesses (see fuzz.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "clcnn.h"

#include "fuzz.h"

void fuzz_file_open(fuzz_file *f, const void *data, size_t size)
{
    f->fd = memfd_create("clcnn-fuzz", MFD_CLOEXEC);
    if (f->fd < 0) {
        perror("memfd_create");
        abort();
    }
    const unsigned char *p = data;
    for (size_t done = 0; done < size;) {
        ssize_t k = write(f->fd, p + done, size - done);
        if (k <= 0) {
            perror("write to memfd");
            abort();
        }
        done += (size_t)k;
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

void fuzz_file_close(fuzz_file *f)
{
    close(f->fd);
    f->fd = -1;
}

void fuzz_gzip(const void *data, size_t size, unsigned char **out, size_t *out_size)
{
    z_stream z = {0};
    /* 15 + 16: a gzip header and trailer rather than zlib's */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&z, (uLong)size) + 32;
    unsigned char *buf = malloc(cap);
    if (!buf)
        abort();
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    *out_size = cap - z.avail_out;
    deflateEnd(&z);
    *out = buf;
}

void fuzz_report(const char *what, int status, const char *message)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("CLCNN_FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "%s: %s%s%s\n", what, clcnn_status_name((clcnn_status)status),
                message && message[0] ? ": " : "", message ? message : "");
}

uint32_t fuzz_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
