/*
 * Status names and messages (generated from CLCNN_STATUS_LIST), error
 * recording on a context, and the mapping of OpenCL error codes.
 */
#include <stdio.h>
#include <string.h>

#include "runtime.h"

const char *clcnn_status_name(clcnn_status status)
{
    switch (status) {
#define CLCNN_STATUS_NAME_(name, value, text)                                                  \
    case name:                                                                                 \
        return #name;
        CLCNN_STATUS_LIST(CLCNN_STATUS_NAME_)
#undef CLCNN_STATUS_NAME_
    }
    return "CLCNN_UNKNOWN_STATUS";
}

const char *clcnn_status_message(clcnn_status status)
{
    switch (status) {
#define CLCNN_STATUS_TEXT_(name, value, text)                                                  \
    case name:                                                                                 \
        return text;
        CLCNN_STATUS_LIST(CLCNN_STATUS_TEXT_)
#undef CLCNN_STATUS_TEXT_
    }
    return "unknown status";
}

const char *clcnn_version(void)
{
    return CLCNN_VERSION_STRING;
}

unsigned clcnn_version_number(void)
{
    return CLCNN_VERSION_NUMBER;
}

const char *clcnn_last_error(const clcnn_context *ctx)
{
    return ctx ? ctx->error : "no context (NULL)";
}

void clcnn__message(char *buf, size_t size, const char *fmt, ...)
{
    if (!buf || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

clcnn_status clcnn__fail(clcnn_context *ctx, clcnn_status status, const char *fmt, ...)
{
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *clcnn__cl_error_name(cl_int err)
{
    switch (err) {
#define CL_ERR_(e)                                                                             \
    case e:                                                                                    \
        return #e;
        CL_ERR_(CL_SUCCESS)
        CL_ERR_(CL_DEVICE_NOT_FOUND)
        CL_ERR_(CL_DEVICE_NOT_AVAILABLE)
        CL_ERR_(CL_COMPILER_NOT_AVAILABLE)
        CL_ERR_(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        CL_ERR_(CL_OUT_OF_RESOURCES)
        CL_ERR_(CL_OUT_OF_HOST_MEMORY)
        CL_ERR_(CL_PROFILING_INFO_NOT_AVAILABLE)
        CL_ERR_(CL_MEM_COPY_OVERLAP)
        CL_ERR_(CL_IMAGE_FORMAT_MISMATCH)
        CL_ERR_(CL_IMAGE_FORMAT_NOT_SUPPORTED)
        CL_ERR_(CL_BUILD_PROGRAM_FAILURE)
        CL_ERR_(CL_MAP_FAILURE)
        CL_ERR_(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        CL_ERR_(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        CL_ERR_(CL_COMPILE_PROGRAM_FAILURE)
        CL_ERR_(CL_LINKER_NOT_AVAILABLE)
        CL_ERR_(CL_LINK_PROGRAM_FAILURE)
        CL_ERR_(CL_DEVICE_PARTITION_FAILED)
        CL_ERR_(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
        CL_ERR_(CL_INVALID_VALUE)
        CL_ERR_(CL_INVALID_DEVICE_TYPE)
        CL_ERR_(CL_INVALID_PLATFORM)
        CL_ERR_(CL_INVALID_DEVICE)
        CL_ERR_(CL_INVALID_CONTEXT)
        CL_ERR_(CL_INVALID_QUEUE_PROPERTIES)
        CL_ERR_(CL_INVALID_COMMAND_QUEUE)
        CL_ERR_(CL_INVALID_HOST_PTR)
        CL_ERR_(CL_INVALID_MEM_OBJECT)
        CL_ERR_(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
        CL_ERR_(CL_INVALID_IMAGE_SIZE)
        CL_ERR_(CL_INVALID_SAMPLER)
        CL_ERR_(CL_INVALID_BINARY)
        CL_ERR_(CL_INVALID_BUILD_OPTIONS)
        CL_ERR_(CL_INVALID_PROGRAM)
        CL_ERR_(CL_INVALID_PROGRAM_EXECUTABLE)
        CL_ERR_(CL_INVALID_KERNEL_NAME)
        CL_ERR_(CL_INVALID_KERNEL_DEFINITION)
        CL_ERR_(CL_INVALID_KERNEL)
        CL_ERR_(CL_INVALID_ARG_INDEX)
        CL_ERR_(CL_INVALID_ARG_VALUE)
        CL_ERR_(CL_INVALID_ARG_SIZE)
        CL_ERR_(CL_INVALID_KERNEL_ARGS)
        CL_ERR_(CL_INVALID_WORK_DIMENSION)
        CL_ERR_(CL_INVALID_WORK_GROUP_SIZE)
        CL_ERR_(CL_INVALID_WORK_ITEM_SIZE)
        CL_ERR_(CL_INVALID_GLOBAL_OFFSET)
        CL_ERR_(CL_INVALID_EVENT_WAIT_LIST)
        CL_ERR_(CL_INVALID_EVENT)
        CL_ERR_(CL_INVALID_OPERATION)
        CL_ERR_(CL_INVALID_GL_OBJECT)
        CL_ERR_(CL_INVALID_BUFFER_SIZE)
        CL_ERR_(CL_INVALID_MIP_LEVEL)
        CL_ERR_(CL_INVALID_GLOBAL_WORK_SIZE)
        CL_ERR_(CL_INVALID_PROPERTY)
        CL_ERR_(CL_INVALID_IMAGE_DESCRIPTOR)
        CL_ERR_(CL_INVALID_COMPILER_OPTIONS)
        CL_ERR_(CL_INVALID_LINKER_OPTIONS)
        CL_ERR_(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef CL_ERR_
    case -1001: /* CL_PLATFORM_NOT_FOUND_KHR, from the ICD loader */
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "unknown OpenCL error";
    }
}

clcnn_status clcnn__cl_status(cl_int err)
{
    switch (err) {
    case CL_SUCCESS:
        return CLCNN_OK;
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    case CL_OUT_OF_RESOURCES:
    case CL_INVALID_BUFFER_SIZE:
        return CLCNN_ERR_OUT_OF_DEVICE_MEMORY;
    case CL_OUT_OF_HOST_MEMORY:
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    case CL_BUILD_PROGRAM_FAILURE:
        return CLCNN_ERR_BUILD;
    default:
        return CLCNN_ERR_OPENCL;
    }
}

clcnn_status clcnn__cl_fail(clcnn_context *ctx, cl_int err, const char *what)
{
    return clcnn__fail(ctx, clcnn__cl_status(err), "%s failed: %s (%d)", what,
                       clcnn__cl_error_name(err), (int)err);
}
