/*
 * Tensors: float32 device buffers with an (N, C, H, W) shape and an element
 * offset into their buffer, so that views and the caller's buffers work the
 * same way as the library's own.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "runtime.h"

size_t clcnn__shape_count(const int shape[4])
{
    size_t count = 1;
    for (int i = 0; i < 4; i++) {
        if (shape[i] < 1)
            return 0;
        if (count > (size_t)INT_MAX / (size_t)shape[i])
            return 0;
        count *= (size_t)shape[i];
    }
    return count;
}

const char *clcnn__shape_str(const int shape[4], char *buf, size_t size)
{
    snprintf(buf, size, "(%d, %d, %d, %d)", shape[0], shape[1], shape[2], shape[3]);
    return buf;
}

clcnn_status clcnn__check_tensor(clcnn_context *ctx, const clcnn_tensor *t, const char *name)
{
    if (!t)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "tensor %s is NULL", name);
    if (t->ctx != ctx)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "tensor %s belongs to another context", name);
    return CLCNN_OK;
}

static clcnn_status check_shape(clcnn_context *ctx, int n, int c, int h, int w)
{
    int shape[4] = {n, c, h, w};
    if (clcnn__shape_count(shape) == 0) {
        char s[64];
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE,
                           "tensor shape %s is invalid: every dimension must be >= 1 and the "
                           "element count at most %d",
                           clcnn__shape_str(shape, s, sizeof s), INT_MAX);
    }
    return CLCNN_OK;
}

static clcnn_status new_tensor(clcnn_context *ctx, cl_mem mem, size_t offset, int n, int c,
                               int h, int w, clcnn_tensor **out)
{
    clcnn_tensor *t = clcnn__calloc(1, sizeof *t);
    if (!t)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    t->ctx = ctx;
    ctx->live_tensors++;
    t->mem = mem;
    t->offset = offset;
    t->shape[0] = n;
    t->shape[1] = c;
    t->shape[2] = h;
    t->shape[3] = w;
    *out = t;
    return CLCNN_OK;
}

#ifdef CLCNN_FAULT_INJECTION
static void CL_CALLBACK buffer_released(cl_mem mem, void *user)
{
    (void)mem;
    (void)user;
    clcnn__fault_track(CLCNN__FAULT_DEVICE, -1);
}
#endif

/* The one place the library creates device memory (see runtime.h for the
 * fault-injection build). */
static cl_mem create_buffer(clcnn_context *ctx, size_t bytes, cl_int *err)
{
#ifdef CLCNN_FAULT_INJECTION
    if (clcnn__fault_fail(CLCNN__FAULT_DEVICE, bytes)) {
        *err = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return NULL;
    }
    cl_mem mem = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, bytes, NULL, err);
    if (mem && clSetMemObjectDestructorCallback(mem, buffer_released, NULL) == CL_SUCCESS)
        clcnn__fault_track(CLCNN__FAULT_DEVICE, +1);
    return mem;
#else
    return clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, bytes, NULL, err);
#endif
}

clcnn_status clcnn_tensor_create(clcnn_context *ctx, int n, int c, int h, int w,
                                 clcnn_tensor **out)
{
    if (!ctx || !out)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL", !ctx ? "ctx" : "out");
    *out = NULL;
    clcnn_status st = check_shape(ctx, n, c, h, w);
    if (st != CLCNN_OK)
        return st;
    size_t bytes = (size_t)n * (size_t)c * (size_t)h * (size_t)w * sizeof(float);
    if (ctx->max_alloc_bytes && bytes > ctx->max_alloc_bytes)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_DEVICE_MEMORY,
                           "a tensor of %zu bytes exceeds the device's largest allocation "
                           "(%llu bytes)",
                           bytes, ctx->max_alloc_bytes);
    cl_int err;
    cl_mem mem = create_buffer(ctx, bytes, &err);
    if (!mem) {
        int shape[4] = {n, c, h, w};
        char s[64];
        st = clcnn__cl_status(err);
        return clcnn__fail(ctx, st, "cannot allocate a tensor %s of %zu bytes (%s): "
                           "clCreateBuffer failed: %s (%d)",
                           clcnn__shape_str(shape, s, sizeof s), bytes,
                           clcnn_status_message(st), clcnn__cl_error_name(err), (int)err);
    }
    st = new_tensor(ctx, mem, 0, n, c, h, w, out);
    if (st != CLCNN_OK) {
        clReleaseMemObject(mem);
        return st;
    }
    (*out)->owned_bytes = bytes;
    ctx->tensor_bytes += bytes;
    return CLCNN_OK;
}

clcnn_status clcnn__tensor_slice(clcnn_tensor *t, size_t offset, int n, int c, int h, int w,
                                 clcnn_tensor **out)
{
    *out = NULL;
    clcnn_status st = check_shape(t->ctx, n, c, h, w);
    if (st != CLCNN_OK)
        return st;
    int shape[4] = {n, c, h, w};
    size_t have = clcnn__shape_count(t->shape);
    if (offset > have || clcnn__shape_count(shape) > have - offset)
        return clcnn__fail(t->ctx, CLCNN_ERR_SHAPE, "a slice of %zu elements at %zu exceeds %zu",
                           clcnn__shape_count(shape), offset, have);
    st = new_tensor(t->ctx, t->mem, t->offset + offset, n, c, h, w, out);
    if (st == CLCNN_OK)
        clRetainMemObject(t->mem);
    return st;
}

clcnn_status clcnn_tensor_view(clcnn_tensor *t, int n, int c, int h, int w, clcnn_tensor **out)
{
    if (!t || !out)
        return clcnn__fail(t ? t->ctx : NULL, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !t ? "t" : "out");
    *out = NULL;
    clcnn_status st = check_shape(t->ctx, n, c, h, w);
    if (st != CLCNN_OK)
        return st;
    int shape[4] = {n, c, h, w};
    if (clcnn__shape_count(shape) != clcnn__shape_count(t->shape)) {
        char a[64], b[64];
        return clcnn__fail(t->ctx, CLCNN_ERR_SHAPE,
                           "a view %s must have the element count of its tensor %s",
                           clcnn__shape_str(shape, a, sizeof a),
                           clcnn__shape_str(t->shape, b, sizeof b));
    }
    st = new_tensor(t->ctx, t->mem, t->offset, n, c, h, w, out);
    if (st == CLCNN_OK)
        clRetainMemObject(t->mem);
    return st;
}

clcnn_status clcnn_tensor_wrap(clcnn_context *ctx, cl_mem buffer, size_t offset_bytes, int n,
                               int c, int h, int w, clcnn_tensor **out)
{
    if (!ctx || !buffer || !out)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !ctx ? "ctx" : !buffer ? "buffer" : "out");
    *out = NULL;
    clcnn_status st = check_shape(ctx, n, c, h, w);
    if (st != CLCNN_OK)
        return st;
    if (offset_bytes % sizeof(float))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "offset_bytes %zu is not a multiple of 4", offset_bytes);
    size_t size = 0;
    cl_context owner = NULL;
    cl_int err = clGetMemObjectInfo(buffer, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(buffer, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err != CL_SUCCESS)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "buffer is not a valid OpenCL buffer: %s (%d)",
                           clcnn__cl_error_name(err), (int)err);
    if (owner != ctx->cl_ctx)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "buffer belongs to another OpenCL context");
    size_t need = (size_t)n * (size_t)c * (size_t)h * (size_t)w * sizeof(float);
    if (offset_bytes > size || need > size - offset_bytes)
        return clcnn__fail(ctx, CLCNN_ERR_SHAPE,
                           "buffer of %zu bytes cannot hold %zu bytes at offset %zu", size, need,
                           offset_bytes);
    st = new_tensor(ctx, buffer, offset_bytes / sizeof(float), n, c, h, w, out);
    if (st == CLCNN_OK)
        clRetainMemObject(buffer);
    return st;
}

clcnn_status clcnn__scratch(clcnn_context *ctx, size_t count, clcnn_tensor **out)
{
    *out = NULL;
    if (count == 0)
        count = 1;
    if (count > INT_MAX)
        return clcnn__fail(ctx, CLCNN_ERR_UNSUPPORTED,
                           "a scratch buffer of %zu floats is too large", count);
    const size_t bytes = count * sizeof(float);
    struct clcnn__scratch_slot *slot = NULL;
    if (bytes <= CLCNN__SCRATCH_MAX_BYTES) {
        /* a free slot large enough, else the first free one, regrown */
        for (int i = 0; i < CLCNN__SCRATCH_SLOTS; i++) {
            struct clcnn__scratch_slot *s = &ctx->scratch[i];
            if (!s->busy && (!slot || (s->bytes >= bytes && slot->bytes < bytes)))
                slot = s;
        }
    }
    if (!slot)
        return clcnn_tensor_create(ctx, (int)count, 1, 1, 1, out);
    if (slot->bytes < bytes) {
        if (slot->mem)
            clReleaseMemObject(slot->mem);
        slot->mem = NULL;
        slot->bytes = 0;
        cl_int err;
        cl_mem mem = create_buffer(ctx, bytes, &err);
        if (!mem)
            return clcnn__fail(ctx, clcnn__cl_status(err),
                               "cannot allocate %zu bytes of scratch memory: clCreateBuffer "
                               "failed: %s (%d)",
                               bytes, clcnn__cl_error_name(err), (int)err);
        slot->mem = mem;
        slot->bytes = bytes;
    }
    clcnn_status st = new_tensor(ctx, slot->mem, 0, (int)count, 1, 1, 1, out);
    if (st != CLCNN_OK)
        return st;
    clRetainMemObject(slot->mem);
    slot->busy = 1;
    (*out)->slot = slot;
    return CLCNN_OK;
}

void clcnn__scratch_release(clcnn_context *ctx)
{
    for (int i = 0; i < CLCNN__SCRATCH_SLOTS; i++) {
        if (ctx->scratch[i].mem)
            clReleaseMemObject(ctx->scratch[i].mem);
        ctx->scratch[i] = (struct clcnn__scratch_slot){NULL, 0, 0};
    }
}

void clcnn_tensor_destroy(clcnn_tensor *t)
{
    if (!t)
        return;
    if (t->slot)
        t->slot->busy = 0;
    clReleaseMemObject(t->mem);
    t->ctx->live_tensors--;
    t->ctx->tensor_bytes -= t->owned_bytes;
    clcnn__free(t);
}

void clcnn_tensor_shape(const clcnn_tensor *t, int shape[4])
{
    if (!shape)
        return;
    for (int i = 0; i < 4; i++)
        shape[i] = t ? t->shape[i] : 0;
}

size_t clcnn_tensor_count(const clcnn_tensor *t)
{
    return t ? clcnn__shape_count(t->shape) : 0;
}

cl_mem clcnn_tensor_cl_mem(const clcnn_tensor *t, size_t *offset_bytes)
{
    if (offset_bytes)
        *offset_bytes = t ? t->offset * sizeof(float) : 0;
    return t ? t->mem : NULL;
}

static clcnn_status check_transfer(const clcnn_tensor *t, const void *host, size_t count,
                                   const char *what)
{
    if (!t)
        return CLCNN_ERR_INVALID_ARGUMENT;
    if (!host)
        return clcnn__fail(t->ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: host pointer is NULL", what);
    size_t have = clcnn__shape_count(t->shape);
    if (count != have)
        return clcnn__fail(t->ctx, CLCNN_ERR_SHAPE, "%s: count %zu differs from the tensor's %zu",
                           what, count, have);
    return CLCNN_OK;
}

clcnn_status clcnn_tensor_write(clcnn_tensor *t, const float *src, size_t count)
{
    clcnn_status st = check_transfer(t, src, count, "clcnn_tensor_write");
    if (st != CLCNN_OK)
        return st;
    cl_int err;
    CLCNN__CL(err, clEnqueueWriteBuffer, (t->ctx->queue, t->mem, CL_TRUE, t->offset * sizeof(float),
                                          count * sizeof(float), src, 0, NULL, NULL));
    return err == CL_SUCCESS ? CLCNN_OK : clcnn__cl_fail(t->ctx, err, "clEnqueueWriteBuffer");
}

clcnn_status clcnn_tensor_read(const clcnn_tensor *t, float *dst, size_t count)
{
    clcnn_status st = check_transfer(t, dst, count, "clcnn_tensor_read");
    if (st != CLCNN_OK)
        return st;
    cl_int err;
    CLCNN__CL(err, clEnqueueReadBuffer, (t->ctx->queue, t->mem, CL_TRUE, t->offset * sizeof(float),
                                         count * sizeof(float), dst, 0, NULL, NULL));
    return err == CL_SUCCESS ? CLCNN_OK : clcnn__cl_fail(t->ctx, err, "clEnqueueReadBuffer");
}

clcnn_status clcnn_tensor_fill(clcnn_tensor *t, float value)
{
    if (!t)
        return CLCNN_ERR_INVALID_ARGUMENT;
    size_t count = clcnn__shape_count(t->shape);
    cl_int err;
    CLCNN__CL(err, clEnqueueFillBuffer, (t->ctx->queue, t->mem, &value, sizeof value,
                                         t->offset * sizeof(float), count * sizeof(float), 0,
                                         NULL, NULL));
    return err == CL_SUCCESS ? CLCNN_OK : clcnn__cl_fail(t->ctx, err, "clEnqueueFillBuffer");
}
