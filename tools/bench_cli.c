/* Command-line pieces shared by `clcnn bench` and `clcnn tune` (see bench_cli.h). */
#include "bench_cli.h"

#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "cli.h"

int clcnn__bench_passes(const char *command, const char *text, unsigned *mask)
{
    *mask = 0;
    for (const char *p = text; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        int found = 0;
        if (n == 3 && strncmp(p, "all", 3) == 0) {
            *mask |= (1u << BENCH_PASS_COUNT) - 1;
            found = 1;
        }
        for (int i = 0; i < BENCH_PASS_COUNT && !found; i++) {
            const char *name = bench_pass_name((bench_pass)i);
            if (strlen(name) == n && strncmp(p, name, n) == 0) {
                *mask |= 1u << i;
                found = 1;
            }
        }
        if (!found)
            return clcnn__cli_usage_error(command, "invalid --pass '%.*s' (expected a list of "
                                                   "fwd, bwd-data, bwd-filter or all)",
                                          (int)n, p);
        p += n + (comma != NULL);
    }
    if (!*mask)
        return clcnn__cli_usage_error(command, "--pass names no pass");
    return CLCNN__EXIT_OK;
}

int clcnn__bench_select(const char *command, const char *suites, const char *layers,
                        unsigned char *selected)
{
    const char *bad = NULL;
    int n = bench_select(suites, layers, selected, &bad);
    if (n < 0) {
        size_t len = strcspn(bad, ",");
        char names[256] = "";
        for (const char *const *s = bench_suite_names(); *s; s++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     s == bench_suite_names() ? "" : ", ", *s);
        return clcnn__cli_usage_error(command, "no suite or layer named '%.*s' (suites: %s; "
                                               "'clcnn bench --list' shows the layers)",
                                      (int)len, bad, names);
    }
    if (n == 0)
        return clcnn__cli_usage_error(command, "--suite and --layer select no case together");
    return CLCNN__EXIT_OK;
}

int clcnn__bench_batch(const clcnn_device_info *info, const bench_case *c, int forced)
{
    if (forced > 0)
        return forced;
    /* A GPU is one to two orders of magnitude faster than 2 CPU cores;
     * an eighth of its memory per tensor leaves room for the other three. */
    return bench_case_batch(c, info->is_gpu ? 40.0 : 2.0, info->global_mem_bytes / 8);
}

void clcnn__bench_json_device(FILE *out, const clcnn_device_info *info)
{
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fputs("\"clcnn\": ", out);
    bench_json_string(out, clcnn_version());
    fputs(", \"device\": ", out);
    bench_json_string(out, info->device_name);
    fputs(", \"platform\": ", out);
    bench_json_string(out, info->platform_name);
    fputs(", \"driver\": ", out);
    bench_json_string(out, info->driver_version);
    fputs(", \"device_version\": ", out);
    bench_json_string(out, info->device_version);
    fprintf(out, ", \"compute_units\": %u, \"is_gpu\": %s, \"date\": \"%s\"",
            info->compute_units, info->is_gpu ? "true" : "false", date);
}

void clcnn__bench_text_device(FILE *out, const clcnn_device_info *info)
{
    fprintf(out, "clcnn %s on %s (%s, driver %s), %u compute units\n", clcnn_version(),
            info->device_name, info->platform_name, info->driver_version,
            info->compute_units);
}
