/*
 * Contexts: creation on a selected device or on the caller's OpenCL objects,
 * the device limits ops consult, and destruction.
 */
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "program.h"
#include "tuning.h"

static char *default_cache_dir(void)
{
    const char *env = getenv("CLCNN_CACHE_DIR");
    if (env)
        return *env ? clcnn__strdup(env) : NULL;
    const char *base = getenv("XDG_CACHE_HOME");
    const char *suffix = "/clcnn";
    if (!base || !*base) {
        base = getenv("HOME");
        suffix = "/.cache/clcnn";
    }
    if (!base || !*base)
        return NULL;
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *dir = clcnn__malloc(n);
    if (dir) {
        memcpy(dir, base, strlen(base));
        memcpy(dir + strlen(base), suffix, strlen(suffix) + 1);
    }
    return dir;
}

/* Reads the device limits and the option strings; the CL objects are set. */
static clcnn_status finish_setup(clcnn_context *ctx, const clcnn_context_options *options,
                                 char *error, size_t error_size)
{
    clcnn__describe_device(ctx->device, &ctx->info);
    size_t wg = 0;
    cl_ulong local = 0, max_alloc = 0;
    cl_uint align_bits = 0;
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    clGetDeviceInfo(ctx->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc,
                    NULL);
    clGetDeviceInfo(ctx->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits,
                    NULL);
    ctx->max_work_group_size = wg ? wg : 1;
    size_t items[3] = {0, 0, 0};
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof items, items, NULL) !=
        CL_SUCCESS)
        items[0] = items[1] = items[2] = 1;
    memcpy(ctx->max_work_item_sizes, items, sizeof items);
    ctx->local_mem_bytes = local;
    ctx->max_alloc_bytes = max_alloc;
    ctx->mem_base_align_bytes = (int)(align_bits / 8);

    clcnn_kernel_family family = options ? options->kernels : CLCNN_KERNELS_AUTO;
    const char *env = getenv("CLCNN_KERNELS");
    if (family == CLCNN_KERNELS_AUTO && env && *env) {
        if (strcmp(env, "gpu") == 0)
            family = CLCNN_KERNELS_GPU;
        else if (strcmp(env, "cpu") == 0)
            family = CLCNN_KERNELS_CPU;
        else {
            clcnn__message(error, error_size,
                           "CLCNN_KERNELS is \"%s\"; it must be \"gpu\", \"cpu\" or unset", env);
            return CLCNN_ERR_INVALID_ARGUMENT;
        }
    }
    if (family != CLCNN_KERNELS_AUTO && family != CLCNN_KERNELS_CPU &&
        family != CLCNN_KERNELS_GPU) {
        clcnn__message(error, error_size, "options.kernels is %d, not a clcnn_kernel_family",
                       (int)family);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    ctx->gpu_kernels = family == CLCNN_KERNELS_AUTO ? ctx->info.is_gpu : family == CLCNN_KERNELS_GPU;

    const char *cache = options ? options->cache_dir : NULL;
    const char *kdir = options ? options->kernel_dir : NULL;
    if (!kdir)
        kdir = getenv("CLCNN_KERNEL_DIR");
    ctx->cache_dir = cache ? (*cache ? clcnn__strdup(cache) : NULL) : default_cache_dir();
    /* PoCL keeps compiled kernels in a cache of its own ($POCL_CACHE_DIR),
     * and fetching a program's binary makes it compile every kernel of the
     * program once more (about 7 s of CPU at the end of a first LeNet-5
     * run), so there clcnn keeps binaries only in a folder it was given;
     * the default folder still holds the tuning files. */
    ctx->binary_cache = ctx->cache_dir && (cache || getenv("CLCNN_CACHE_DIR") ||
                                           !strstr(ctx->info.platform_name,
                                                   "Portable Computing Language"));
    ctx->kernel_dir = (kdir && *kdir) ? clcnn__strdup(kdir) : NULL;
    const char *profile = getenv("CLCNN_PROFILE_SETUP");
    ctx->profile_setup = profile && *profile && strcmp(profile, "0") != 0;
    if ((cache && *cache && !ctx->cache_dir) || (kdir && *kdir && !ctx->kernel_dir)) {
        clcnn__message(error, error_size, "out of host memory creating a context");
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    }
    ctx->error[0] = '\0';
    return CLCNN_OK;
}

clcnn_status clcnn_context_create(const clcnn_context_options *options, clcnn_context **out,
                                  char *error, size_t error_size)
{
    if (!out) {
        clcnn__message(error, error_size, "out is NULL");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    clcnn__device_list *list = clcnn__malloc(sizeof *list);
    clcnn_context *ctx = clcnn__calloc(1, sizeof *ctx);
    if (!list || !ctx) {
        clcnn__free(list);
        clcnn__free(ctx);
        clcnn__message(error, error_size, "out of host memory creating a context");
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    }
    size_t pick = 0;
    clcnn_status st = clcnn__enumerate(list, error, error_size);
    if (st == CLCNN_OK)
        st = clcnn__select(list, options ? options->device : NULL, &pick, error, error_size);
    if (st != CLCNN_OK) {
        clcnn__free(list);
        clcnn__free(ctx);
        return st;
    }
    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                     (cl_context_properties)list->platforms[pick], 0};
    ctx->device = list->devices[pick];
    ctx->cl_ctx = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
    if (!ctx->cl_ctx) {
        clcnn__message(error, error_size, "clCreateContext on \"%s\" failed: %s (%d)",
                       list->info[pick].device_name, clcnn__cl_error_name(err), (int)err);
        clcnn__free(list);
        clcnn__free(ctx);
        return clcnn__cl_status(err) == CLCNN_ERR_OUT_OF_HOST_MEMORY
                   ? CLCNN_ERR_OUT_OF_HOST_MEMORY
                   : CLCNN_ERR_OPENCL;
    }
    ctx->queue = clCreateCommandQueue(ctx->cl_ctx, ctx->device, 0, &err);
    if (!ctx->queue) {
        clcnn__message(error, error_size, "clCreateCommandQueue on \"%s\" failed: %s (%d)",
                       list->info[pick].device_name, clcnn__cl_error_name(err), (int)err);
        clcnn__free(list);
        clcnn_context_destroy(ctx);
        return CLCNN_ERR_OPENCL;
    }
    clcnn_device_info chosen = list->info[pick];
    clcnn__free(list);
    st = finish_setup(ctx, options, error, error_size);
    if (st != CLCNN_OK) {
        clcnn_context_destroy(ctx);
        return st;
    }
    ctx->info.platform_index = chosen.platform_index;
    ctx->info.device_index = chosen.device_index;
    *out = ctx;
    return CLCNN_OK;
}

clcnn_status clcnn_context_create_from_cl(cl_context cl_ctx, cl_command_queue queue,
                                          const clcnn_context_options *options,
                                          clcnn_context **out, char *error, size_t error_size)
{
    if (!out || !cl_ctx || !queue) {
        clcnn__message(error, error_size, "%s is NULL",
                       !out ? "out" : !cl_ctx ? "cl_ctx" : "queue");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    cl_context queue_ctx = NULL;
    cl_device_id device = NULL;
    cl_command_queue_properties qprops = 0;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof queue_ctx, &queue_ctx,
                                       NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof device, &device, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof qprops, &qprops, NULL);
    if (err != CL_SUCCESS) {
        clcnn__message(error, error_size, "the queue is not a valid OpenCL queue: %s (%d)",
                       clcnn__cl_error_name(err), (int)err);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (queue_ctx != cl_ctx) {
        clcnn__message(error, error_size, "the queue does not belong to cl_ctx");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (qprops & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) {
        clcnn__message(error, error_size, "the queue must be in-order");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    clcnn_context *ctx = clcnn__calloc(1, sizeof *ctx);
    if (!ctx) {
        clcnn__message(error, error_size, "out of host memory creating a context");
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    }
    clRetainContext(cl_ctx);
    clRetainCommandQueue(queue);
    ctx->cl_ctx = cl_ctx;
    ctx->queue = queue;
    ctx->device = device;
    clcnn_status st = finish_setup(ctx, options, error, error_size);
    if (st != CLCNN_OK) {
        clcnn_context_destroy(ctx);
        return st;
    }
    *out = ctx;
    return CLCNN_OK;
}

void clcnn_context_destroy(clcnn_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->queue) {
        clFinish(ctx->queue);
        clReleaseCommandQueue(ctx->queue);
    }
    clcnn__programs_release(ctx);
    clcnn__tuning_release(ctx);
    clcnn__scratch_release(ctx);
    if (ctx->cl_ctx)
        clReleaseContext(ctx->cl_ctx);
    clcnn__free(ctx->cache_dir);
    clcnn__free(ctx->kernel_dir);
    clcnn__free(ctx);
}

clcnn_status clcnn_context_device(clcnn_context *ctx, clcnn_device_info *info)
{
    if (!ctx || !info)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !ctx ? "ctx" : "info");
    *info = ctx->info;
    return CLCNN_OK;
}

clcnn_status clcnn_context_live_objects(const clcnn_context *ctx, clcnn_live_objects *out)
{
    if (!ctx || !out)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_live_objects o = {.tensors = ctx->live_tensors, .nets = ctx->live_nets,
                            .buffers = ctx->live_tensors, .tensor_bytes = ctx->tensor_bytes,
                            .launches = ctx->launches};
    for (int i = 0; i < CLCNN__SCRATCH_SLOTS; i++)
        o.buffers += ctx->scratch[i].mem != NULL;
    for (size_t i = 0; i < ctx->program_count; i++) {
        o.programs += ctx->programs[i].program != NULL;
        for (size_t j = 0; j < ctx->programs[i].kernel_count; j++)
            o.kernels += ctx->programs[i].kernels[j] != NULL;
    }
    *out = o;
    return CLCNN_OK;
}

clcnn_kernel_family clcnn_context_kernels(const clcnn_context *ctx)
{
    return ctx && ctx->gpu_kernels ? CLCNN_KERNELS_GPU : CLCNN_KERNELS_CPU;
}

clcnn_status clcnn_context_finish(clcnn_context *ctx)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    cl_int err;
    CLCNN__CL(err, clFinish, (ctx->queue));
    return err == CL_SUCCESS ? CLCNN_OK : clcnn__cl_fail(ctx, err, "clFinish");
}

cl_context clcnn_context_cl_context(const clcnn_context *ctx)
{
    return ctx ? ctx->cl_ctx : NULL;
}

cl_command_queue clcnn_context_cl_queue(const clcnn_context *ctx)
{
    return ctx ? ctx->queue : NULL;
}

cl_device_id clcnn_context_cl_device(const clcnn_context *ctx)
{
    return ctx ? ctx->device : NULL;
}
