/*
 * Device discovery and selection: lists every device of every platform and
 * applies the selection rule (a "P:D" index, a name substring, or the default
 * of first GPU, then first CPU, then anything).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES_PER_PLATFORM 64

static void get_string(cl_device_id dev, cl_device_info what, char *buf, size_t size)
{
    buf[0] = '\0';
    if (clGetDeviceInfo(dev, what, size, buf, NULL) != CL_SUCCESS)
        buf[0] = '\0';
    buf[size - 1] = '\0';
}

static void describe(cl_platform_id platform, cl_device_id dev, int p, int d,
                     clcnn_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->platform_index = p;
    info->device_index = d;
    if (clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof info->platform_name,
                          info->platform_name, NULL) != CL_SUCCESS)
        info->platform_name[0] = '\0';
    info->platform_name[sizeof info->platform_name - 1] = '\0';
    get_string(dev, CL_DEVICE_NAME, info->device_name, sizeof info->device_name);
    get_string(dev, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version);
    get_string(dev, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    cl_device_type type = 0;
    cl_uint units = 0, clock = 0;
    cl_ulong mem = 0;
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    info->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    info->compute_units = units;
    info->max_clock_mhz = clock;
    info->global_mem_bytes = mem;
}

clcnn_status clcnn__enumerate(clcnn__device_list *list, char *error, size_t error_size)
{
    memset(list, 0, sizeof *list);
    cl_platform_id platforms[MAX_PLATFORMS];
    cl_uint platform_count = 0;
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, platforms, &platform_count);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && !platform_count)) {
        clcnn__message(error, error_size,
                       "no OpenCL platform is installed (install an ICD such as "
                       "pocl-opencl-icd, or check OCL_ICD_VENDORS)");
        return CLCNN_ERR_NO_DEVICE;
    }
    if (err != CL_SUCCESS) {
        clcnn__message(error, error_size, "clGetPlatformIDs failed: %s (%d)",
                       clcnn__cl_error_name(err), (int)err);
        return CLCNN_ERR_NO_DEVICE;
    }
    if (platform_count > MAX_PLATFORMS)
        platform_count = MAX_PLATFORMS;
    for (cl_uint p = 0; p < platform_count; p++) {
        cl_device_id devices[MAX_DEVICES_PER_PLATFORM];
        cl_uint n = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES_PER_PLATFORM, devices,
                           &n) != CL_SUCCESS)
            continue; /* a platform without devices is not an error */
        if (n > MAX_DEVICES_PER_PLATFORM)
            n = MAX_DEVICES_PER_PLATFORM;
        for (cl_uint d = 0; d < n && list->count < CLCNN__MAX_DEVICES; d++) {
            size_t i = list->count++;
            list->platforms[i] = platforms[p];
            list->devices[i] = devices[d];
            describe(platforms[p], devices[d], (int)p, (int)d, &list->info[i]);
        }
    }
    if (list->count == 0) {
        clcnn__message(error, error_size,
                       "%u OpenCL platform(s) found, but none has a device",
                       (unsigned)platform_count);
        return CLCNN_ERR_NO_DEVICE;
    }
    return CLCNN_OK;
}

static int contains_nocase(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = haystack; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] &&
               tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

/* Parses "P:D" with non-negative decimal indices. */
static int parse_index_pair(const char *s, int *p, int *d)
{
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return 0;
    long lp = strtol(s, &end, 10);
    if (*end != ':' || !isdigit((unsigned char)end[1]))
        return 0;
    long ld = strtol(end + 1, &end, 10);
    if (*end != '\0' || lp > 1000 || ld > 1000)
        return 0;
    *p = (int)lp;
    *d = (int)ld;
    return 1;
}

static size_t found_summary(const clcnn__device_list *list, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < list->count && used + 1 < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%d:%d \"%s\"", i ? ", " : "",
                         list->info[i].platform_index, list->info[i].device_index,
                         list->info[i].device_name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return used;
}

clcnn_status clcnn__select(const clcnn__device_list *list, const char *selector, size_t *chosen,
                           char *error, size_t error_size)
{
    if (!selector)
        selector = getenv("CLCNN_DEVICE");
    if (!selector || !*selector) {
        for (size_t i = 0; i < list->count; i++)
            if (list->info[i].is_gpu) {
                *chosen = i;
                return CLCNN_OK;
            }
        for (size_t i = 0; i < list->count; i++) {
            cl_device_type type = 0;
            clGetDeviceInfo(list->devices[i], CL_DEVICE_TYPE, sizeof type, &type, NULL);
            if (type & CL_DEVICE_TYPE_CPU) {
                *chosen = i;
                return CLCNN_OK;
            }
        }
        *chosen = 0;
        return CLCNN_OK;
    }
    int p, d;
    int by_index = parse_index_pair(selector, &p, &d);
    for (size_t i = 0; i < list->count; i++) {
        const clcnn_device_info *info = &list->info[i];
        if (by_index ? (info->platform_index == p && info->device_index == d)
                     : contains_nocase(info->device_name, selector)) {
            *chosen = i;
            return CLCNN_OK;
        }
    }
    char found[1024];
    found_summary(list, found, sizeof found);
    clcnn__message(error, error_size,
                   "no OpenCL device matches \"%s\" (by %s); found: %s", selector,
                   by_index ? "platform:device index" : "name substring", found);
    return CLCNN_ERR_NO_DEVICE;
}

clcnn_status clcnn_list_devices(const char *selector, clcnn_device_info *devices,
                                size_t capacity, size_t *count, size_t *chosen, char *error,
                                size_t error_size)
{
    if (count)
        *count = 0;
    if (!devices && capacity) {
        clcnn__message(error, error_size, "devices is NULL but capacity is %zu", capacity);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    clcnn__device_list *list = clcnn__malloc(sizeof *list);
    if (!list) {
        clcnn__message(error, error_size, "out of host memory listing devices");
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    }
    clcnn_status st = clcnn__enumerate(list, error, error_size);
    if (st == CLCNN_OK) {
        for (size_t i = 0; i < list->count && i < capacity; i++)
            devices[i] = list->info[i];
        if (count)
            *count = list->count;
        size_t pick = 0;
        st = clcnn__select(list, selector, &pick, error, error_size);
        if (st == CLCNN_OK && chosen)
            *chosen = pick;
    }
    clcnn__free(list);
    return st;
}

void clcnn__describe_device(cl_device_id dev, clcnn_device_info *info)
{
    cl_platform_id platform = NULL;
    clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL);
    describe(platform, dev, -1, -1, info);
}
