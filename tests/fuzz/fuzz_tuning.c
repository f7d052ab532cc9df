/*
 * The per-device tuning file through clcnn__tuning_load_text, the parser
 * behind clcnn__tuning_load. Then the table is used as the ops use it: the
 * first two words of each of the first lines are looked up, and a found
 * entry must carry a choice in the documented range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tuning.h"

static clcnn_context *ctx;

static void open_context(void)
{
    char err[512];
    if (clcnn_context_create(NULL, &ctx, err, sizeof err) != CLCNN_OK) {
        const char *require = getenv("CLCNN_REQUIRE_DEVICE");
        int required = require && strcmp(require, "1") == 0;
        fprintf(stderr, "%s: no OpenCL context: %s\n", required ? "FAIL" : "SKIP", err);
        exit(required ? 1 : 77);
    }
}

/* Copies the next white-space separated word of line[*pos..end) into buf. */
static void word(const char *line, size_t end, size_t *pos, char *buf, size_t size)
{
    while (*pos < end && (line[*pos] == ' ' || line[*pos] == '\t'))
        (*pos)++;
    size_t n = 0;
    while (*pos < end && line[*pos] != ' ' && line[*pos] != '\t') {
        if (n + 1 < size)
            buf[n++] = line[*pos];
        (*pos)++;
    }
    buf[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx)
        open_context();
    const char *text = (const char *)data;
    if (clcnn__tuning_load_text(ctx, text, size) != CLCNN_OK)
        abort(); /* text never fails to load: at worst the table is empty */
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    if (clcnn__tuning_count(ctx) > lines)
        abort();
    size_t start = 0;
    for (int l = 0; l < 16 && start < size; l++) {
        const char *nl = memchr(text + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - text) : size, pos = start;
        char op[300], key[300];
        word(text, end, &pos, op, sizeof op);
        word(text, end, &pos, key, sizeof key);
        int algo = -1, variant = -1;
        if (clcnn__tuning_lookup(ctx, op, key, &algo, &variant) &&
            (algo < 0 || algo > 1000 || variant < 0 || variant > 1000))
            abort();
        start = end + 1;
    }
    clcnn__tuning_release(ctx);
    return 0;
}
