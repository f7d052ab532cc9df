/*
 * clcnn plot: the training chart of one or more `clcnn train --json` logs,
 * the runs overlaid with a legend, as the chart `train --plot` writes.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "draw.h"

const char clcnn__usage_plot[] =
    "Usage: clcnn plot RUN.jsonl [RUN.jsonl ...] OUT.png\n"
    "       clcnn plot --bench RESULTS.jsonl OUT.png\n"
    "\n"
    "Draws the training loss and test accuracy per epoch of each log written by\n"
    "`clcnn train --json` (one JSON object per epoch), the runs overlaid with a\n"
    "legend named after their files. With --bench, draws the GFLOP/s of every\n"
    "layer and pass of a `clcnn bench --json` run (or of bench/compare_torch.py's\n"
    "--json file, with PyTorch's beside clcnn's), the FP32 peak as a line when\n"
    "the run measured it. OUT.png is written atomically.\n";

/* The number after "key": in line, or 0 when the key is missing or its value
 * is not a finite number. */
static int json_number(const char *line, const char *key, double *out)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(line, pattern);
    if (!at)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(at + strlen(pattern), &end);
    if (errno || end == at + strlen(pattern) || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* The string after "key": in line into out, or 0 when missing. */
static int json_string(const char *line, const char *key, char *out, size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    const char *at = strstr(line, pattern);
    if (!at)
        return 0;
    at += strlen(pattern);
    const char *end = strchr(at, '"');
    if (!end || (size_t)(end - at) >= size)
        return 0;
    memcpy(out, at, (size_t)(end - at));
    out[end - at] = '\0';
    return 1;
}

/* Draws a benchmark run's rows; returns an exit status. */
static int plot_bench(const char *path, const char *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return clcnn__cli_fail("plot", "cannot open %s: %s", path, strerror(errno));
    char line[8192], device[128] = "", layer[48], pass[16], err[1024];
    int number = 0, count = 0, cap = 0, rc = CLCNN__EXIT_OK;
    double peak = 0;
    clcnn__bench_bar *bars = NULL;
    while (rc == CLCNN__EXIT_OK && fgets(line, sizeof line, f)) {
        number++;
        if (strstr(line, "\"type\": \"header\"")) {
            json_string(line, "device", device, sizeof device);
            if (!json_number(line, "peak_gflops", &peak) || peak < 0)
                peak = 0;
            continue;
        }
        if (!strstr(line, "\"type\": \"conv\""))
            continue;
        double gflops, other = NAN;
        if (!json_string(line, "layer", layer, sizeof layer) ||
            !json_string(line, "pass", pass, sizeof pass) ||
            !(json_number(line, "clcnn_gflops", &gflops) || json_number(line, "gflops", &gflops)) ||
            gflops < 0 || (json_number(line, "torch_gflops", &other) && other < 0)) {
            rc = clcnn__cli_fail("plot", "%s:%d: a conv row without its layer, pass and "
                                         "GFLOP/s >= 0",
                                 path, number);
            break;
        }
        if (count == cap) {
            cap = cap ? 2 * cap : 64;
            clcnn__bench_bar *grown = realloc(bars, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = clcnn__cli_fail("plot", "out of host memory");
                break;
            }
            bars = grown;
        }
        snprintf(bars[count].label, sizeof bars[count].label, "%s %s", layer, pass);
        bars[count].gflops = gflops;
        bars[count].other_gflops = other;
        count++;
    }
    fclose(f);
    if (rc == CLCNN__EXIT_OK && count == 0)
        rc = clcnn__cli_fail("plot", "%s holds no conv rows of `clcnn bench --json`", path);
    if (rc == CLCNN__EXIT_OK) {
        char title[256];
        snprintf(title, sizeof title, "GFLOP/s per layer and pass%s%s", *device ? " on " : "",
                 device);
        if (clcnn__bench_chart(out, title, bars, count, peak, "PyTorch", err, sizeof err) !=
            CLCNN_OK)
            rc = clcnn__cli_fail("plot", "%s", err);
    }
    free(bars);
    return rc;
}

/* Reads the per-epoch lines of path into run; returns an exit status. */
static int read_log(const char *path, clcnn__run *run)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return clcnn__cli_fail("plot", "cannot open %s: %s", path, strerror(errno));
    char line[4096];
    int number = 0, rc = CLCNN__EXIT_OK;
    while (rc == CLCNN__EXIT_OK && fgets(line, sizeof line, f)) {
        number++;
        if (strncmp(line, "{\"epoch\":", 9) != 0)
            continue; /* the summary line, or anything else */
        double epoch, loss, accuracy;
        if (!json_number(line, "epoch", &epoch) || !json_number(line, "train_loss", &loss) ||
            !json_number(line, "test_accuracy", &accuracy))
            rc = clcnn__cli_fail("plot", "%s:%d: an epoch line without a finite epoch, "
                                         "train_loss and test_accuracy",
                                 path, number);
        else if (epoch != floor(epoch) || epoch < 1 || epoch > CLCNN_MAX_EPOCHS ||
                 (run->n && epoch <= run->epoch[run->n - 1]))
            rc = clcnn__cli_fail("plot", "%s:%d: epoch %g is not a whole number in 1..%d "
                                         "after the previous line's",
                                 path, number, epoch, CLCNN_MAX_EPOCHS);
        else if (loss < 0 || accuracy < 0 || accuracy > 1)
            rc = clcnn__cli_fail("plot", "%s:%d: train_loss %g must be >= 0 and "
                                         "test_accuracy %g in [0, 1]",
                                 path, number, loss, accuracy);
        else if (!clcnn__run_add(run, epoch, loss, accuracy))
            rc = clcnn__cli_fail("plot", "out of host memory reading %s", path);
    }
    if (rc == CLCNN__EXIT_OK && ferror(f))
        rc = clcnn__cli_fail("plot", "cannot read %s", path);
    fclose(f);
    if (rc == CLCNN__EXIT_OK && run->n == 0)
        rc = clcnn__cli_fail("plot", "%s holds no epoch lines of `clcnn train --json`", path);
    return rc;
}

int clcnn__cmd_plot(int argc, char **argv)
{
    enum { MAX_RUNS = 8 };
    const char *files[MAX_RUNS + 1];
    int count = 0, bench = 0;
    const clcnn__option options[] = {{"bench", 0, NULL, &bench}};
    int rc = clcnn__cli_parse("plot", argc, argv, options, 1, files, 2, MAX_RUNS + 1, &count);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    if (bench && count != 2)
        return clcnn__cli_usage_error("plot", "--bench takes one RESULTS.jsonl and OUT.png");
    const char *out = files[count - 1];
    clcnn__image_format format;
    char err[1024];
    if (clcnn__image_format_for(out, 3, &format, err, sizeof err) != CLCNN_OK ||
        format != CLCNN__IMAGE_PNG)
        return clcnn__cli_usage_error("plot", "the output %s must be a .png file", out);
    if (bench)
        return plot_bench(files[0], out);
    clcnn__run runs[MAX_RUNS];
    memset(runs, 0, sizeof runs);
    for (int i = 0; i < count - 1 && rc == CLCNN__EXIT_OK; i++) {
        const char *slash = strrchr(files[i], '/');
        runs[i].name = slash ? slash + 1 : files[i];
        rc = read_log(files[i], &runs[i]);
    }
    if (rc == CLCNN__EXIT_OK &&
        clcnn__training_chart(out, runs, count - 1, err, sizeof err) != CLCNN_OK)
        rc = clcnn__cli_fail("plot", "%s", err);
    for (int i = 0; i < count - 1; i++)
        clcnn__run_free(&runs[i]);
    return rc;
}
