/* Program building and caching (in memory per context, on disk per device). */
#ifndef CLCNN_PROGRAM_H
#define CLCNN_PROGRAM_H

#include "runtime.h"

/* Releases every program and kernel the context built. */
void clcnn__programs_release(clcnn_context *ctx);

/*
 * Set-up timings for clcnn bench: the i-th program the context built (its
 * "<source>|<options>" key, clBuildProgram's milliseconds, whether the binary
 * came from the disk cache, its kernel count), and its j-th kernel with the
 * milliseconds of its first launch (< 0 unless CLCNN_PROFILE_SETUP was set
 * when the context was made). 0 past the end.
 */
int clcnn__program_timing(const clcnn_context *ctx, size_t i, const char **key,
                          double *build_ms, int *from_cache, size_t *kernels);
int clcnn__kernel_timing(const clcnn_context *ctx, size_t i, size_t j, const char **name,
                         double *first_launch_ms);

#endif /* CLCNN_PROGRAM_H */
