/*
 * clcnn interop with the caller's own OpenCL objects. This is the only clcnn
 * header that includes the OpenCL headers (targeting OpenCL 1.2).
 */
#ifndef CLCNN_CL_H
#define CLCNN_CL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "clcnn.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Creates a clcnn context on the caller's OpenCL context and in-order command
 * queue (the queue's device is used). Both are retained, and released when
 * the clcnn context is destroyed, so the caller may release its own
 * references at any time. options may be NULL; its device field is ignored.
 * On failure *out is NULL and error (may be NULL) receives the reason.
 */
CLCNN_API clcnn_status clcnn_context_create_from_cl(cl_context cl_ctx, cl_command_queue queue,
                                                    const clcnn_context_options *options,
                                                    clcnn_context **out, char *error,
                                                    size_t error_size);

/* The context's OpenCL objects, owned by the context (retain them to keep
 * them beyond its life). */
CLCNN_API cl_context clcnn_context_cl_context(const clcnn_context *ctx);
CLCNN_API cl_command_queue clcnn_context_cl_queue(const clcnn_context *ctx);
CLCNN_API cl_device_id clcnn_context_cl_device(const clcnn_context *ctx);

/*
 * Wraps the caller's buffer as an (n, c, h, w) tensor starting offset_bytes
 * into it, without copying. offset_bytes must be a multiple of 4 and the
 * buffer must hold offset_bytes + 4 * n*c*h*w bytes. The buffer is retained
 * and released by clcnn_tensor_destroy. It must belong to ctx's OpenCL
 * context.
 */
CLCNN_API clcnn_status clcnn_tensor_wrap(clcnn_context *ctx, cl_mem buffer, size_t offset_bytes,
                                         int n, int c, int h, int w, clcnn_tensor **out);

/* The tensor's buffer (owned by the tensor) and, if offset_bytes is not
 * NULL, where the tensor starts in it. */
CLCNN_API cl_mem clcnn_tensor_cl_mem(const clcnn_tensor *t, size_t *offset_bytes);

#ifdef __cplusplus
}
#endif

#endif /* CLCNN_CL_H */
