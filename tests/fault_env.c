/*
 * Fault hooks for the clcnn_faults command (the clcnn tool on the
 * fault-injection library, tests/meson.build): OpenCL call number
 * $CLCNN_FAULT_CL_AT (counting only calls named $CLCNN_FAULT_CL_CALL, when
 * set) returns $CLCNN_FAULT_CL_ERROR (default -5, CL_OUT_OF_RESOURCES)
 * instead of running; with $CLCNN_FAULT_CL_COUNT set, the number of calls
 * made is printed at exit. Allocations never fail here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

static long calls, fail_at = -1;
static cl_int error = CL_OUT_OF_RESOURCES;
static const char *only;

static void print_count(void)
{
    fprintf(stderr, "clcnn_faults: %ld OpenCL calls\n", calls);
}

cl_int clcnn__fault_cl(const char *call)
{
    if (fail_at < 0) { /* first call: read the environment */
        const char *at = getenv("CLCNN_FAULT_CL_AT"), *err = getenv("CLCNN_FAULT_CL_ERROR");
        fail_at = at ? atol(at) : 0;
        if (err)
            error = (cl_int)atoi(err);
        only = getenv("CLCNN_FAULT_CL_CALL");
        if (getenv("CLCNN_FAULT_CL_COUNT"))
            atexit(print_count);
    }
    if (only && strcmp(call, only) != 0)
        return CL_SUCCESS;
    return ++calls == fail_at ? error : CL_SUCCESS;
}

int clcnn__fault_fail(int kind, size_t bytes)
{
    (void)kind, (void)bytes;
    return 0;
}

void clcnn__fault_track(int kind, int delta)
{
    (void)kind, (void)delta;
}
