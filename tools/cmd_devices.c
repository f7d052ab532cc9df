/*
 * clcnn devices: lists every OpenCL platform and device and marks the one a
 * context would use, so a user can see why clcnn picked it and how to pick
 * another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Matches the library's own limit on listed devices. */
#define MAX_LISTED 64

const char clcnn__usage_devices[] =
    "Usage: clcnn devices [--device SELECTOR] [--json]\n"
    "\n"
    "Lists every OpenCL device of every platform: its index P:D, name, platform,\n"
    "type, compute units, memory, OpenCL version and driver. '*' marks the device\n"
    "clcnn uses.\n"
    "\n"
    "Which device clcnn uses:\n"
    "  - CLCNN_DEVICE=P:D picks device D of platform P (indices as listed here);\n"
    "  - CLCNN_DEVICE=TEXT picks the first device whose name contains TEXT\n"
    "    (ignoring case);\n"
    "  - otherwise the first GPU of any platform, else the first CPU device\n"
    "    (e.g. PoCL), else the first device.\n"
    "A CLCNN_DEVICE that matches nothing is an error, not a silent fallback.\n"
    "\n"
    "Options:\n"
    "  --device SELECTOR  use SELECTOR instead of $CLCNN_DEVICE (\"\" for the\n"
    "                     default rule)\n"
    "  --json             print the list as a JSON array\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 when the selected device exists, 1 when no device exists or\n"
    "the selector matches none (the list is still printed), 2 for a wrong\n"
    "command line.\n";

static void print_memory(unsigned long long bytes, char *buf, size_t size)
{
    const double gib = 1024.0 * 1024.0 * 1024.0;
    if ((double)bytes >= gib)
        snprintf(buf, size, "%.1f GiB", (double)bytes / gib);
    else
        snprintf(buf, size, "%.0f MiB", (double)bytes / (1024.0 * 1024.0));
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* The kernel family a context on d takes by default (see
 * clcnn_context_options.kernels). */
static const char *family_of(const clcnn_device_info *d)
{
    const char *env = getenv("CLCNN_KERNELS");
    if (env && (strcmp(env, "gpu") == 0 || strcmp(env, "cpu") == 0))
        return env;
    return d->is_gpu ? "gpu" : "cpu";
}

static void print_json(const clcnn_device_info *devs, size_t count, int have_choice,
                       size_t chosen)
{
    printf("[");
    for (size_t i = 0; i < count; i++) {
        const clcnn_device_info *d = &devs[i];
        printf("%s\n  {\"index\": \"%d:%d\", \"platform_index\": %d, \"device_index\": %d, "
               "\"name\": ", i ? "," : "", d->platform_index, d->device_index,
               d->platform_index, d->device_index);
        json_string(d->device_name);
        printf(", \"platform\": ");
        json_string(d->platform_name);
        printf(", \"type\": \"%s\", \"compute_units\": %u, \"max_clock_mhz\": %u, "
               "\"global_mem_bytes\": %llu, \"opencl_version\": ", d->is_gpu ? "GPU" : "CPU",
               d->compute_units, d->max_clock_mhz, d->global_mem_bytes);
        json_string(d->device_version);
        printf(", \"driver_version\": ");
        json_string(d->driver_version);
        printf(", \"kernels\": \"%s\", \"selected\": %s}", family_of(d),
               have_choice && i == chosen ? "true" : "false");
    }
    printf("%s]\n", count ? "\n" : "");
}

static void print_table(const clcnn_device_info *devs, size_t count, int have_choice,
                        size_t chosen)
{
    for (size_t i = 0; i < count; i++) {
        const clcnn_device_info *d = &devs[i];
        char mem[32];
        print_memory(d->global_mem_bytes, mem, sizeof mem);
        printf("%c %d:%d  %s\n", have_choice && i == chosen ? '*' : ' ', d->platform_index,
               d->device_index, d->device_name);
        printf("       platform %s, %s, %u compute unit%s, %u MHz, %s\n", d->platform_name,
               d->is_gpu ? "GPU" : "CPU", d->compute_units, d->compute_units == 1 ? "" : "s",
               d->max_clock_mhz, mem);
        printf("       %s, driver %s, %s kernels\n", d->device_version, d->driver_version,
               family_of(d));
    }
}

int clcnn__cmd_devices(int argc, char **argv)
{
    const char *selector = NULL;
    int json = 0;
    const clcnn__option options[] = {
        {"device", 0, &selector, NULL},
        {"json", 0, NULL, &json},
    };
    const char *positional[1];
    int npos = 0;
    int st = clcnn__cli_parse("devices", argc, argv, options, sizeof options / sizeof *options,
                              positional, 0, 0, &npos);
    if (st != CLCNN__EXIT_OK)
        return st;
    const char *source = "--device ";
    if (!selector) {
        selector = getenv("CLCNN_DEVICE");
        source = "CLCNN_DEVICE=";
    }
    if (!selector)
        selector = "";

    static clcnn_device_info devs[MAX_LISTED];
    size_t count = 0, chosen = 0;
    char err[1024] = "";
    clcnn_status status =
        clcnn_list_devices(selector, devs, MAX_LISTED, &count, &chosen, err, sizeof err);
    size_t shown = count < MAX_LISTED ? count : MAX_LISTED;
    int have_choice = status == CLCNN_OK;

    if (json)
        print_json(devs, shown, have_choice, chosen);
    else {
        print_table(devs, shown, have_choice, chosen);
        if (count > shown)
            printf("  (%zu more not shown)\n", count - shown);
        if (have_choice) {
            if (*selector)
                printf("\n* selected by %s\"%s\"\n", source, selector);
            else
                printf("\n* selected by the default rule (first GPU, else first CPU);\n"
                       "  set CLCNN_DEVICE=P:D or a part of a device name to choose another\n");
        }
    }
    if (status != CLCNN_OK) {
        fflush(stdout);
        if (count)
            return clcnn__cli_fail("devices", "%s\nChoose a device listed above with "
                                   "CLCNN_DEVICE=P:D, or unset CLCNN_DEVICE for the default.",
                                   err);
        return clcnn__cli_fail("devices", "%s", err);
    }
    return CLCNN__EXIT_OK;
}
