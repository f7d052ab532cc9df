/*
 * Model files and checkpoints: a versioned little-endian binary format with a
 * CRC-32 over everything, written atomically (temporary file, fsync, rename)
 * and validated field by field on load before anything is trusted.
 *
 * Layout (version 3; version 2 lacks the statistics, version 1 also the
 * last two training-state fields):
 *   "CLCNNMDL"  u32 version  u32 flags (1: checkpoint)
 *   u32 spec length, spec bytes   i32 batch, c, h, w
 *   u32 tensor count, then i32[4] per tensor (each layer's w, then b)
 *   u64 parameter count, f32 parameters
 *   u64 statistics count, f32 statistics (batch norm running means and
 *     variances, layer by layer)
 *   checkpoint only: optimiser (u32 kind, f32 lr, weight decay, momentum,
 *     u32 nesterov, f32 beta1, beta2, eps, i64 steps, u64 state count,
 *     f32 state) and training state (i32 epoch, batch, u64 seed, u64 rng[4],
 *     u32 schedule, f32 base lr, i32 step size, f32 gamma, i64 total,
 *     f32 min lr, f32 best accuracy, i64 batch in epoch, u64 epoch rng[4])
 *   u32 CRC-32 (zlib) of every byte before it
 * Every value of the training record is checked against
 * clcnn_train_state_validate's ranges on load and before a save.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "net.h"
#include "optim.h"

#define MODEL_MAGIC "CLCNNMDL"
#define MODEL_VERSION 3u
#define MODEL_VERSION_OLDEST 1u
#define FLAG_CHECKPOINT 1u
#define MAX_SPEC 8192u
#define MAX_DIM 65536
#define MAX_FILE_BYTES ((size_t)1 << 31)

/* ---- writing ---- */

typedef struct writer {
    unsigned char *data;
    size_t len, cap;
    int failed;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        unsigned char *grown = clcnn__realloc(w->data, cap);
        if (!grown) {
            w->failed = 1;
            return;
        }
        w->data = grown;
        w->cap = cap;
    }
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

static void put_u32(writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(w, b, 4);
}

static void put_u64(writer *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_f32(writer *w, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(w, v);
}

static void put_floats(writer *w, const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_f32(w, p[i]);
}

static int all_finite(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return 0;
    return 1;
}

/* A model with NaN or infinite values is useless and would replace a good
 * file (after a diverged step, say), so it is never written. */
static clcnn_status refuse_nonfinite(clcnn_context *ctx, const char *path, const char *why)
{
    return clcnn__fail(ctx, CLCNN_ERR_NUMERIC,
                       "not saving %s: %s (the previous file, if any, is unchanged)", path, why);
}

/* Appends the network's tensors and parameters. */
static clcnn_status put_net(clcnn_net *net, writer *w, const char *path, uint32_t flags,
                            int batch)
{
    put(w, MODEL_MAGIC, 8);
    put_u32(w, MODEL_VERSION);
    put_u32(w, flags);
    put_u32(w, (uint32_t)strlen(net->spec));
    put(w, net->spec, strlen(net->spec));
    put_u32(w, (uint32_t)batch);
    for (int i = 1; i < 4; i++)
        put_u32(w, (uint32_t)net->in_shape[i]);
    uint32_t tensors = 0;
    for (int i = 0; i < net->layer_count; i++)
        tensors += net->layers[i].w ? 2 : 0;
    put_u32(w, tensors);
    for (int i = 0; i < net->layer_count; i++) {
        const clcnn__layer *l = &net->layers[i];
        if (!l->w)
            continue;
        for (int j = 0; j < 4; j++)
            put_u32(w, (uint32_t)l->w->shape[j]);
        for (int j = 0; j < 4; j++)
            put_u32(w, (uint32_t)l->b->shape[j]);
    }
    float *host = clcnn__malloc(net->param_count * sizeof *host);
    if (!host)
        return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_status st = clcnn_tensor_read(net->params, host, net->param_count);
    char why[256];
    if (st == CLCNN_OK && clcnn__net_nonfinite_params(net, host, why, sizeof why) >= 0)
        st = refuse_nonfinite(net->ctx, path, why);
    put_u64(w, net->param_count);
    put_floats(w, host, net->param_count);
    clcnn__free(host);
    host = NULL;
    if (st == CLCNN_OK && net->stats_count) {
        host = clcnn__malloc(net->stats_count * sizeof *host);
        if (!host)
            return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        st = clcnn_tensor_read(net->stats, host, net->stats_count);
        if (st == CLCNN_OK && !all_finite(host, net->stats_count))
            st = refuse_nonfinite(net->ctx, path, "its batch norm statistics are not finite");
    }
    put_u64(w, net->stats_count);
    if (host)
        put_floats(w, host, net->stats_count);
    clcnn__free(host);
    return st;
}

static clcnn_status put_training(clcnn_net *net, writer *w, const char *path,
                                 const clcnn_train_state *s)
{
    const clcnn_optim_params *o = &net->optim;
    put_u32(w, (uint32_t)o->kind);
    put_f32(w, o->lr);
    put_f32(w, o->weight_decay);
    put_f32(w, o->momentum);
    put_u32(w, (uint32_t)o->nesterov);
    put_f32(w, o->beta1);
    put_f32(w, o->beta2);
    put_f32(w, o->eps);
    put_u64(w, (uint64_t)net->steps);
    size_t count = clcnn_optim_state_count(o->kind, net->param_count);
    float *host = clcnn__malloc(count * sizeof *host);
    if (!host)
        return clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_tensor *used = NULL;
    clcnn_status st = clcnn__tensor_slice(net->state, 0, 1, 1, 1, (int)count, &used);
    if (st == CLCNN_OK)
        st = clcnn_tensor_read(used, host, count);
    clcnn_tensor_destroy(used);
    if (st == CLCNN_OK && !all_finite(host, count))
        st = refuse_nonfinite(net->ctx, path, "the optimiser state holds NaN or infinite values");
    put_u64(w, count);
    put_floats(w, host, count);
    clcnn__free(host);

    put_u32(w, (uint32_t)s->epoch);
    put_u32(w, (uint32_t)s->batch);
    put_u64(w, s->seed);
    for (int i = 0; i < 4; i++)
        put_u64(w, s->rng.s[i]);
    put_u32(w, (uint32_t)s->schedule.kind);
    put_f32(w, s->schedule.base_lr);
    put_u32(w, (uint32_t)s->schedule.step_size);
    put_f32(w, s->schedule.gamma);
    put_u64(w, (uint64_t)s->schedule.total);
    put_f32(w, s->schedule.min_lr);
    put_f32(w, s->best_accuracy);
    put_u64(w, (uint64_t)s->batch_in_epoch);
    for (int i = 0; i < 4; i++)
        put_u64(w, s->epoch_rng.s[i]);
    return st;
}

clcnn_status clcnn_net_save(clcnn_net *net, const char *path, const clcnn_train_state *state)
{
    if (!net || !path)
        return clcnn__fail(net ? net->ctx : NULL, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !net ? "net" : "path");
    char why[512];
    if (state && clcnn_train_state_validate(state, net->steps, why, sizeof why) != CLCNN_OK)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT, "not saving %s: %s", path, why);
    writer w = {0};
    clcnn_status st = put_net(net, &w, path, state ? FLAG_CHECKPOINT : 0u, net->batch);
    if (st == CLCNN_OK && state)
        st = put_training(net, &w, path, state);
    if (st == CLCNN_OK && w.failed)
        st = clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (st == CLCNN_OK) {
        put_u32(&w, (uint32_t)crc32(0L, w.data, (uInt)w.len));
        st = w.failed ? clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory")
                      : clcnn__write_file_atomically(net->ctx, path, w.data, w.len);
    }
    clcnn__free(w.data);
    return st;
}

/* ---- reading ---- */

typedef struct reader {
    const unsigned char *data;
    size_t len, pos;
    int short_read;
} reader;

static const unsigned char *take(reader *r, size_t n)
{
    if (r->short_read || n > r->len - r->pos) {
        r->short_read = 1;
        return NULL;
    }
    const unsigned char *p = r->data + r->pos;
    r->pos += n;
    return p;
}

static uint32_t get_u32(reader *r)
{
    const unsigned char *b = take(r, 4);
    return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                   (uint32_t)b[3] << 24
             : 0;
}

static uint64_t get_u64(reader *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

static float get_f32(reader *r)
{
    uint32_t v = get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

/* Reads floats into a new array after checking that they are there. */
static float *get_floats(reader *r, uint64_t n)
{
    if (n > (r->len - r->pos) / 4) {
        r->short_read = 1;
        return NULL;
    }
    float *p = clcnn__malloc((size_t)n * sizeof *p);
    for (size_t i = 0; p && i < n; i++)
        p[i] = get_f32(r);
    return p;
}

/* Reads the whole file (bounded) into memory. */
static clcnn_status read_file(clcnn_context *ctx, const char *path, unsigned char **out,
                              size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return clcnn__fail(ctx, CLCNN_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return clcnn__fail(ctx, CLCNN_ERR_IO, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > MAX_FILE_BYTES) {
        fclose(f);
        return clcnn__fail(ctx, CLCNN_ERR_FORMAT, "%s: %lld bytes is larger than any model",
                           path, (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *data = clcnn__malloc(n);
    if (!data) {
        fclose(f);
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory reading %s",
                           path);
    }
    size_t got = fread(data, 1, n, f);
    int err = ferror(f);
    fclose(f);
    if (got != n || err) {
        clcnn__free(data);
        return clcnn__fail(ctx, CLCNN_ERR_IO, "cannot read %s", path);
    }
    *out = data;
    *len = n;
    return CLCNN_OK;
}

static clcnn_status bad(clcnn_context *ctx, const char *path, const char *what)
{
    return clcnn__fail(ctx, CLCNN_ERR_FORMAT, "%s is not a valid clcnn model: %s", path, what);
}

/* Checks the stored tensor shapes against the planned network. */
static clcnn_status check_tensors(clcnn_net *net, reader *r, const char *path)
{
    uint32_t count = get_u32(r), expected = 0;
    for (int i = 0; i < net->layer_count; i++)
        expected += net->layers[i].param_count ? 2 : 0;
    if (count != expected)
        return bad(net->ctx, path, "its tensor count does not match its spec");
    for (int i = 0; i < net->layer_count; i++) {
        const clcnn__layer *l = &net->layers[i];
        if (!l->param_count)
            continue;
        for (int j = 0; j < 8; j++)
            if (get_u32(r) != (uint32_t)(j < 4 ? l->w_shape[j] : l->b_shape[j - 4]))
                return r->short_read ? bad(net->ctx, path, "it is truncated")
                                     : bad(net->ctx, path,
                                           "a tensor shape does not match its spec");
    }
    return r->short_read ? bad(net->ctx, path, "it is truncated") : CLCNN_OK;
}

/* A training record whose checksum holds but whose values no run could have
 * produced: the sentence names the field. */
static clcnn_status bad_value(clcnn_context *ctx, const char *path, const char *why)
{
    return clcnn__fail(ctx, CLCNN_ERR_FORMAT, "%s is not a valid clcnn checkpoint: %s", path,
                       why);
}

static clcnn_status load_training(clcnn_net *net, reader *r, const char *path,
                                  uint32_t version, clcnn_train_state *state)
{
    clcnn_optim_params o = {0};
    uint32_t kind = get_u32(r);
    o.lr = get_f32(r);
    o.weight_decay = get_f32(r);
    o.momentum = get_f32(r);
    o.nesterov = (int)get_u32(r);
    o.beta1 = get_f32(r);
    o.beta2 = get_f32(r);
    o.eps = get_f32(r);
    int64_t steps = (int64_t)get_u64(r);
    uint64_t count = get_u64(r);
    if (r->short_read)
        return bad(net->ctx, path, "it is truncated");
    char why[512];
    if (kind > CLCNN_OPTIM_ADAM) {
        snprintf(why, sizeof why, "optimiser kind %u is not 0 (SGD) or 1 (Adam)", kind);
        return bad_value(net->ctx, path, why);
    }
    o.kind = (clcnn_optimizer)kind;
    if (clcnn__optim_check_values(&o, why, sizeof why) != CLCNN_OK)
        return bad_value(net->ctx, path, why);
    if (count != clcnn_optim_state_count(o.kind, net->param_count))
        return bad(net->ctx, path, "its optimiser state has the wrong size");
    float *host = get_floats(r, count);
    if (!host)
        return r->short_read ? bad(net->ctx, path, "it is truncated")
                             : clcnn__fail(net->ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY,
                                           "out of host memory");
    if (!all_finite(host, count)) {
        clcnn__free(host);
        return clcnn__fail(net->ctx, CLCNN_ERR_NUMERIC,
                           "%s: its optimiser state holds NaN or infinite values (the file is "
                           "intact; its values are not)",
                           path);
    }

    clcnn_train_state s;
    memset(&s, 0, sizeof s);
    s.epoch = (int)get_u32(r);
    s.batch = (int)get_u32(r);
    s.seed = get_u64(r);
    for (int i = 0; i < 4; i++)
        s.rng.s[i] = get_u64(r);
    s.schedule.kind = (clcnn_lr_schedule)get_u32(r);
    s.schedule.base_lr = get_f32(r);
    s.schedule.step_size = (int)get_u32(r);
    s.schedule.gamma = get_f32(r);
    s.schedule.total = (long)(int64_t)get_u64(r);
    s.schedule.min_lr = get_f32(r);
    s.best_accuracy = get_f32(r);
    if (version >= 2) {
        s.batch_in_epoch = (long)(int64_t)get_u64(r);
        for (int i = 0; i < 4; i++)
            s.epoch_rng.s[i] = get_u64(r);
    } else {
        s.epoch_rng = s.rng;
    }
    clcnn_status st = CLCNN_OK;
    if (r->short_read)
        st = bad(net->ctx, path, "it is truncated");
    else if (steps < 0)
        st = bad_value(net->ctx, path, "the optimiser step count is negative");
    else if (clcnn_train_state_validate(&s, (long)steps, why, sizeof why) != CLCNN_OK)
        st = bad_value(net->ctx, path, why);
    /* the optimiser is set only from a record that is valid throughout */
    clcnn_tensor *used = NULL;
    if (st == CLCNN_OK)
        st = clcnn_net_set_optimizer(net, &o);
    if (st == CLCNN_OK)
        st = clcnn__tensor_slice(net->state, 0, 1, 1, 1, (int)count, &used);
    if (st == CLCNN_OK)
        st = clcnn_tensor_write(used, host, (size_t)count);
    clcnn_tensor_destroy(used);
    clcnn__free(host);
    if (st == CLCNN_OK) {
        net->steps = (long)steps;
        if (state)
            *state = s;
    }
    return st;
}

clcnn_status clcnn_net_load(clcnn_context *ctx, const char *path, int batch, clcnn_net **out,
                            clcnn_train_state *state, int *has_state)
{
    if (!ctx || !path || !out)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !ctx ? "ctx" : !path ? "path" : "out");
    *out = NULL;
    if (has_state)
        *has_state = 0;
    if (batch < 0)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "batch %d is negative", batch);
    unsigned char *data = NULL;
    size_t len = 0;
    clcnn_status st = read_file(ctx, path, &data, &len);
    if (st != CLCNN_OK)
        return st;

    reader r = {data, len, 0, 0};
    clcnn_net *net = NULL;
    char *spec = NULL;
    float *params = NULL, *stats = NULL;
    if (len < 8 + 4 + 4 || memcmp(data, MODEL_MAGIC, 8) != 0) {
        st = bad(ctx, path, "wrong magic (not a clcnn model file)");
        goto done;
    }
    r.pos = 8;
    uint32_t version = get_u32(&r);
    if (version < MODEL_VERSION_OLDEST || version > MODEL_VERSION) {
        st = clcnn__fail(ctx, CLCNN_ERR_FORMAT, "%s: model format version %u is not supported "
                         "(this clcnn reads versions %u to %u)", path, version,
                         MODEL_VERSION_OLDEST, MODEL_VERSION);
        goto done;
    }
    reader tail = {data, len, len - 4, 0};
    if (len < 8 + 4 + 4 + 4 || crc32(0L, data, (uInt)(len - 4)) != get_u32(&tail)) {
        st = bad(ctx, path, "its checksum does not match (the file is truncated or corrupted)");
        goto done;
    }
    r.len = len - 4; /* the checksum is not part of the records */
    uint32_t flags = get_u32(&r);
    uint32_t spec_len = get_u32(&r);
    if (flags & ~FLAG_CHECKPOINT || spec_len == 0 || spec_len > MAX_SPEC) {
        st = bad(ctx, path, "its header is invalid");
        goto done;
    }
    const unsigned char *spec_bytes = take(&r, spec_len);
    spec = spec_bytes ? clcnn__malloc(spec_len + 1) : NULL;
    if (!spec) {
        st = spec_bytes ? clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory")
                        : bad(ctx, path, "it is truncated");
        goto done;
    }
    memcpy(spec, spec_bytes, spec_len);
    spec[spec_len] = '\0';
    int dims[4];
    for (int i = 0; i < 4; i++)
        dims[i] = (int)get_u32(&r);
    if (r.short_read || strlen(spec) != spec_len || dims[0] < 1 || dims[0] > MAX_DIM ||
        dims[1] < 1 || dims[1] > MAX_DIM || dims[2] < 1 || dims[2] > MAX_DIM || dims[3] < 1 ||
        dims[3] > MAX_DIM) {
        st = bad(ctx, path, "its spec or input shape is invalid");
        goto done;
    }
    /* Planned for one image first, so that a failure here is the file's and
     * one at the requested batch (below) the caller's. */
    st = clcnn__net_plan(ctx, spec, 1, dims[1], dims[2], dims[3], &net);
    if (st != CLCNN_OK) {
        if (st != CLCNN_ERR_OUT_OF_HOST_MEMORY) {
            char why[1024];
            snprintf(why, sizeof why, "%s", clcnn_last_error(ctx));
            st = clcnn__fail(ctx, CLCNN_ERR_FORMAT, "%s: its network does not build: %s", path,
                             why);
        }
        goto done;
    }
    st = check_tensors(net, &r, path);
    if (st != CLCNN_OK)
        goto done;
    uint64_t count = get_u64(&r);
    if (r.short_read || count != net->param_count) {
        st = bad(ctx, path, r.short_read ? "it is truncated"
                                         : "its parameter count does not match its spec");
        goto done;
    }
    params = get_floats(&r, count);
    if (!params) {
        st = r.short_read ? bad(ctx, path, "it is truncated")
                          : clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        goto done;
    }
    char why[256];
    if (clcnn__net_nonfinite_params(net, params, why, sizeof why) >= 0) {
        st = clcnn__fail(ctx, CLCNN_ERR_NUMERIC, "%s: %s (the file is intact; its values are not)",
                         path, why);
        goto done;
    }
    /* the statistics: version 3 stores them (none before batch norm) */
    uint64_t stats_count = version >= 3 ? get_u64(&r) : 0;
    if (r.short_read || stats_count != net->stats_count) {
        st = bad(ctx, path, r.short_read ? "it is truncated"
                                         : "its statistics count does not match its spec");
        goto done;
    }
    if (stats_count) {
        stats = get_floats(&r, stats_count);
        if (!stats) {
            st = r.short_read ? bad(ctx, path, "it is truncated")
                              : clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY,
                                            "out of host memory");
            goto done;
        }
        for (int i = 0; i < net->layer_count; i++) {
            const clcnn__layer *l = &net->layers[i];
            for (size_t j = 0; j < l->stats_count; j++) {
                float v = stats[l->stats_offset + j];
                int variance = j >= l->stats_count / 2;
                if (!isfinite(v) || (variance && v < 0)) {
                    char text[96];
                    clcnn__layer_text(&l->d, text, sizeof text);
                    st = clcnn__fail(ctx, CLCNN_ERR_NUMERIC,
                                     "%s: layer %d %s: its running %s holds %g (the file is "
                                     "intact; its values are not)",
                                     path, i + 1, text, variance ? "variance" : "mean",
                                     (double)v);
                    goto done;
                }
            }
        }
    }
    int want = batch ? batch : dims[0];
    st = clcnn__net_check_memory(net, want);
    if (st == CLCNN_OK && want != 1) {
        clcnn_net_destroy(net);
        st = clcnn__net_plan(ctx, spec, want, dims[1], dims[2], dims[3], &net);
    }
    if (st == CLCNN_OK)
        st = clcnn__net_allocate(net);
    if (st == CLCNN_OK)
        st = clcnn_tensor_write(net->params, params, (size_t)count);
    if (st == CLCNN_OK && stats_count)
        st = clcnn_tensor_write(net->stats, stats, (size_t)stats_count);
    if (st == CLCNN_OK)
        net->params_version++;
    if (st == CLCNN_OK && (flags & FLAG_CHECKPOINT)) {
        st = load_training(net, &r, path, version, state);
        if (has_state)
            *has_state = 1;
    }
    if (st == CLCNN_OK && r.pos != r.len)
        st = bad(ctx, path, "it has unexpected bytes after its records");
done:
    clcnn__free(params);
    clcnn__free(stats);
    clcnn__free(spec);
    clcnn__free(data);
    if (st != CLCNN_OK) {
        clcnn_net_destroy(net);
        if (has_state)
            *has_state = 0;
        return st;
    }
    *out = net;
    return CLCNN_OK;
}
