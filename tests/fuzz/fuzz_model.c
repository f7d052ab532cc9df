/*
 * Model files and checkpoints through clcnn_net_load. Every input is loaded
 * as it is, and, when its trailing CRC-32 does not match, once more with the
 * checksum made right, so that mutations get past the checksum to the field
 * checks behind it (a damaged checksum alone is tested in test_net).
 *
 * One context serves every input. Its device is shrunk to 256 MiB with
 * 64 MiB allocations, so that a tiny file describing a huge network is
 * refused by the memory check (as on a small GPU) instead of allocating
 * gigabytes of host memory on PoCL for every such input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "runtime.h"

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
    if (ctx->info.global_mem_bytes == 0 || ctx->info.global_mem_bytes > (256ull << 20))
        ctx->info.global_mem_bytes = 256ull << 20;
    if (ctx->max_alloc_bytes == 0 || ctx->max_alloc_bytes > (64ull << 20))
        ctx->max_alloc_bytes = 64ull << 20;
}

static void load(const uint8_t *data, size_t size)
{
    fuzz_file f;
    fuzz_file_open(&f, data, size);
    clcnn_net *net = NULL;
    clcnn_train_state state;
    int has_state = -1;
    clcnn_status st = clcnn_net_load(ctx, f.path, 1, &net, &state, &has_state);
    fuzz_file_close(&f);
    fuzz_report("model", st, st == CLCNN_OK ? "" : clcnn_last_error(ctx));
    if (st != CLCNN_OK) {
        /* a failure leaves nothing behind and always says why */
        if (net || has_state != 0 || !clcnn_last_error(ctx)[0])
            abort();
        return;
    }
    /* what `clcnn info` shows of a loaded network */
    const char *spec = clcnn_net_spec(net);
    if (!spec || !spec[0] || clcnn_net_classes(net) < 1 || clcnn_net_param_count(net) < 1)
        abort();
    int count = clcnn_net_layer_count(net);
    for (int i = 0; i < count; i++) {
        clcnn_layer_info info;
        if (clcnn_net_layer(net, i, &info) != CLCNN_OK || !memchr(info.text, 0, sizeof info.text))
            abort();
    }
    clcnn_net_destroy(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx)
        open_context();
    load(data, size);
    if (size >= 8) {
        uint32_t crc = (uint32_t)crc32(0L, data, (uInt)(size - 4));
        if (fuzz_u32le(data + size - 4) != crc) {
            uint8_t *fixed = malloc(size);
            if (!fixed)
                abort();
            memcpy(fixed, data, size - 4);
            for (int i = 0; i < 4; i++)
                fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
            load(fixed, size);
            free(fixed);
        }
    }
    return 0;
}
