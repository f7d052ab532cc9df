/* Program building and caching (in memory per context, on disk per device). */
#ifndef CLCNN_PROGRAM_H
#define CLCNN_PROGRAM_H

#include "runtime.h"

/* Releases every program and kernel the context built. */
void clcnn__programs_release(clcnn_context *ctx);

/* A program's build, for clcnn bench's set-up profile. */
typedef struct clcnn__build_timing {
    const char *key;   /* "<source>|<options>", owned by the context */
    double ms, cpu_ms; /* clBuildProgram's wall and process CPU time */
    int from_cache;    /* built from the binary in clcnn's disk cache */
    size_t kernels;    /* kernels made from it so far */
} clcnn__build_timing;

/*
 * The i-th program the context built, and its j-th kernel with its first
 * launch (ms < 0 unless CLCNN_PROFILE_SETUP was set when the context was
 * made: then each kernel's first launch is waited for and timed, as the
 * driver may compile it then). 0 past the end.
 */
int clcnn__program_timing(const clcnn_context *ctx, size_t i, clcnn__build_timing *out);
int clcnn__kernel_timing(const clcnn_context *ctx, size_t i, size_t j, const char **name,
                         struct clcnn__launch_timing *first);

#endif /* CLCNN_PROGRAM_H */
