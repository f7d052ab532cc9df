/*
 * Preloaded by tests/oclgrind.sh; CLCNN_OCLGRIND_SHIM picks what it does.
 *
 * "poison" (the optimised pass): every buffer created without host data
 * starts filled with NaN, so that a kernel reading memory nobody wrote
 * passes NaN into results, which the suites' comparisons reject. This is
 * the uninitialised-read check for code oclgrind's own check cannot follow.
 *
 * "uninit" (the pass with oclgrind's --uninitialized): works around two
 * faults of that check in oclgrind 21.10:
 * 1. Every host write replaces the buffer's whole shadow (the record of
 *    which bytes are initialised) with a new one the size of that write,
 *    and a fill does so once per pattern copy: after a write at an offset,
 *    or any fill, the rest of the buffer reads as uninitialised or as
 *    garbage. So each partial write and each fill becomes read, patch, and
 *    one write of the whole buffer, which the check records correctly. The
 *    price: bytes of such a buffer that nobody wrote count as initialised.
 * 2. A released buffer's shadow is never dropped, and oclgrind gives its
 *    number to the next buffer created, which then inherits the old state
 *    (and size). So buffers are never freed here: each keeps its own number
 *    for the life of the process (the tests are small).
 *
 * Out-of-bounds and data-race checks are unaffected by either mode.
 */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int mode_is(const char *mode)
{
    const char *m = getenv("CLCNN_OCLGRIND_SHIM");
    return m && strcmp(m, mode) == 0;
}

typedef cl_int (*write_fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *,
                           cl_uint, const cl_event *, cl_event *);

static write_fn real_write(void)
{
    return (write_fn)dlsym(RTLD_NEXT, "clEnqueueWriteBuffer");
}

/* Reads the whole buffer (after the wait list) into a new host copy. */
static cl_int whole_copy(cl_command_queue q, cl_mem buf, cl_uint n, const cl_event *wait,
                         unsigned char **out, size_t *total)
{
    cl_int err = clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof *total, total, NULL);
    if (err != CL_SUCCESS)
        return err;
    *out = malloc(*total ? *total : 1);
    if (!*out)
        return CL_OUT_OF_HOST_MEMORY;
    err = clEnqueueReadBuffer(q, buf, CL_TRUE, 0, *total, *out, n, wait, NULL);
    if (err != CL_SUCCESS)
        free(*out);
    return err;
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t offset,
                            size_t size, const void *ptr, cl_uint n, const cl_event *wait,
                            cl_event *event)
{
    size_t total = 0;
    if (!mode_is("uninit") ||
        clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof total, &total, NULL) != CL_SUCCESS ||
        (offset == 0 && size == total) || !ptr || offset > total || size > total - offset)
        return real_write()(q, buf, blocking, offset, size, ptr, n, wait, event);
    unsigned char *copy;
    cl_int err = whole_copy(q, buf, n, wait, &copy, &total);
    if (err != CL_SUCCESS)
        return err;
    memcpy(copy + offset, ptr, size);
    err = real_write()(q, buf, CL_TRUE, 0, total, copy, 0, NULL, event);
    free(copy);
    return err;
}

cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem buf, const void *pattern,
                           size_t pattern_size, size_t offset, size_t size, cl_uint n,
                           const cl_event *wait, cl_event *event)
{
    typedef cl_int (*fill_fn)(cl_command_queue, cl_mem, const void *, size_t, size_t, size_t,
                              cl_uint, const cl_event *, cl_event *);
    size_t total = 0;
    if (!mode_is("uninit") || !pattern || pattern_size == 0 || size % pattern_size ||
        offset % pattern_size ||
        clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof total, &total, NULL) != CL_SUCCESS ||
        offset > total || size > total - offset)
        return ((fill_fn)dlsym(RTLD_NEXT, "clEnqueueFillBuffer"))(q, buf, pattern, pattern_size,
                                                                  offset, size, n, wait, event);
    unsigned char *copy;
    cl_int err = whole_copy(q, buf, n, wait, &copy, &total);
    if (err != CL_SUCCESS)
        return err;
    for (size_t i = 0; i < size; i += pattern_size)
        memcpy(copy + offset + i, pattern, pattern_size);
    err = real_write()(q, buf, CL_TRUE, 0, total, copy, 0, NULL, event);
    free(copy);
    return err;
}

/* "uninit": every buffer gets one reference nobody releases (fault 2): a
 * buffer's last release may come from oclgrind itself, when a command that
 * used it completes, so skipping the application's release would not do.
 * "poison": a buffer without host data starts as NaN. */
cl_mem clCreateBuffer(cl_context context, cl_mem_flags flags, size_t size, void *host_ptr,
                      cl_int *errcode_ret)
{
    typedef cl_mem (*create_fn)(cl_context, cl_mem_flags, size_t, void *, cl_int *);
    create_fn create = (create_fn)dlsym(RTLD_NEXT, "clCreateBuffer");
    void *nan_fill = NULL;
    if (mode_is("poison") && !host_ptr && size > 0 &&
        !(flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR | CL_MEM_ALLOC_HOST_PTR))) {
        nan_fill = malloc(size);
        if (nan_fill) {
            memset(nan_fill, 0xff, size); /* NaN too, and no tail left unset */
            const uint32_t nan_bits = 0x7fc0dead; /* a quiet NaN, recognisable in a dump */
            for (size_t i = 0; i + 4 <= size; i += 4)
                memcpy((unsigned char *)nan_fill + i, &nan_bits, 4);
            flags |= CL_MEM_COPY_HOST_PTR;
            host_ptr = nan_fill;
        }
    }
    cl_mem m = create(context, flags, size, host_ptr, errcode_ret);
    free(nan_fill);
    if (m && mode_is("uninit"))
        clRetainMemObject(m);
    return m;
}
