/* Program building and caching (in memory per context, on disk per device). */
#ifndef CLCNN_PROGRAM_H
#define CLCNN_PROGRAM_H

#include "runtime.h"

/* Releases every program and kernel the context built. */
void clcnn__programs_release(clcnn_context *ctx);

#endif /* CLCNN_PROGRAM_H */
