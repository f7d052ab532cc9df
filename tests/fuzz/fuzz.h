/*
 * Shared by the fuzz harnesses: the parsers under test take a path, so each
 * input is handed to them as an anonymous in-memory file (memfd) opened
 * through /proc/self/fd, a regular file as far as they can tell.
 */
#ifndef CLCNN_FUZZ_H
#define CLCNN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point, also called by driver.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_file {
    int fd;
    char path[64];
} fuzz_file;

/* Writes data to a new memfd and fills f->path; aborts when the system
 * refuses (that is a harness failure, not a finding). */
void fuzz_file_open(fuzz_file *f, const void *data, size_t size);
void fuzz_file_close(fuzz_file *f);

/* gzip-compresses data into a new malloc'd buffer (*out, *out_size). */
void fuzz_gzip(const void *data, size_t size, unsigned char **out, size_t *out_size);

/* With CLCNN_FUZZ_VERBOSE set, prints what a parser said of an input
 * (status name and message), to see why a seed or a crash input fails. */
void fuzz_report(const char *what, int status, const char *message);

/* Reads a little-endian u32 at p. */
uint32_t fuzz_u32le(const uint8_t *p);

#endif /* CLCNN_FUZZ_H */
