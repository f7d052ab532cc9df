/*
 * The per-device tuning file (see tuning.h): a lenient reader, since the file
 * lives in a cache folder anyone may edit or truncate, a sorted table for
 * lookups on every op call, and an atomic writer for `clcnn tune`.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuning.h"

/* Files beyond this are not tuning files anyone wrote: ignored whole. */
#define MAX_FILE_BYTES (4u << 20)
/* Longer lines are skipped (the writer never writes them). */
#define MAX_LINE 1024
#define MAX_OP 63
#define MAX_KEY 255
#define MAX_CHOICE 1000
#define MAX_MS 1e9

typedef struct entry {
    char *op;         /* one allocation: op, key and note, each NUL-terminated */
    const char *key;  /* inside op's allocation */
    const char *note; /* inside op's allocation; "" when none */
    int algo, variant;
    double ms;
    size_t order; /* position in the file, so that the last duplicate wins */
} entry;

struct clcnn__tuning {
    entry *entries; /* sorted by (op, key), no duplicates */
    size_t count, capacity;
};

/* ---- the table ---- */

static int compare_keys(const char *op_a, const char *key_a, const char *op_b,
                        const char *key_b)
{
    int c = strcmp(op_a, op_b);
    return c ? c : strcmp(key_a, key_b);
}

static int compare_entries(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = compare_keys(x->op, x->key, y->op, y->key);
    if (c)
        return c;
    return (x->order > y->order) - (x->order < y->order);
}

static void table_free(struct clcnn__tuning *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++)
        clcnn__free(t->entries[i].op);
    clcnn__free(t->entries);
    clcnn__free(t);
}

/* Appends an entry built from the three texts (lengths given; not
 * NUL-terminated). Returns 0 when out of memory. */
static int table_append(struct clcnn__tuning *t, const char *op, size_t op_len,
                        const char *key, size_t key_len, const char *note, size_t note_len,
                        int algo, int variant, double ms)
{
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? 2 * t->capacity : 16;
        entry *grown = clcnn__realloc(t->entries, cap * sizeof *grown);
        if (!grown)
            return 0;
        t->entries = grown;
        t->capacity = cap;
    }
    char *text = clcnn__malloc(op_len + key_len + note_len + 3);
    if (!text)
        return 0;
    memcpy(text, op, op_len);
    text[op_len] = '\0';
    memcpy(text + op_len + 1, key, key_len);
    text[op_len + 1 + key_len] = '\0';
    memcpy(text + op_len + key_len + 2, note, note_len);
    text[op_len + key_len + 2 + note_len] = '\0';
    t->entries[t->count] = (entry){text, text + op_len + 1, text + op_len + key_len + 2,
                                   algo, variant, ms, t->count};
    t->count++;
    return 1;
}

/* Sorts by (op, key) and keeps the last of each run of duplicates. */
static void table_finish(struct clcnn__tuning *t)
{
    if (t->count == 0)
        return;
    qsort(t->entries, t->count, sizeof *t->entries, compare_entries);
    size_t out = 0;
    for (size_t i = 0; i < t->count; i++) {
        if (i + 1 < t->count && compare_keys(t->entries[i].op, t->entries[i].key,
                                             t->entries[i + 1].op, t->entries[i + 1].key) == 0) {
            clcnn__free(t->entries[i].op);
            continue;
        }
        t->entries[out++] = t->entries[i];
    }
    t->count = out;
    for (size_t i = 0; i < t->count; i++)
        t->entries[i].order = i;
}

/* Index of (op, key), or of where it would go (*found 0). */
static size_t table_find(const struct clcnn__tuning *t, const char *op, const char *key,
                         int *found)
{
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_keys(t->entries[mid].op, t->entries[mid].key, op, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* ---- parsing ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* A token: printable ASCII without white space. */
static int is_token_char(char c)
{
    return c > ' ' && c < 0x7f;
}

/* The next token of line[*pos..end) into (*tok, *len); 0 at the end. */
static int next_token(const char *line, size_t end, size_t *pos, const char **tok, size_t *len)
{
    size_t i = *pos;
    while (i < end && is_space(line[i]))
        i++;
    size_t start = i;
    while (i < end && !is_space(line[i]))
        i++;
    *pos = i;
    *tok = line + start;
    *len = i - start;
    return *len > 0;
}

static int valid_token(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_token_char(s[i]))
            return 0;
    return 1;
}

/* A decimal integer in [0, MAX_CHOICE], digits only. */
static int parse_choice(const char *s, size_t len, int *out)
{
    if (len == 0 || len > 4)
        return 0;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v > MAX_CHOICE)
        return 0;
    *out = v;
    return 1;
}

/* A finite number of milliseconds in [0, MAX_MS]. */
static int parse_ms(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno || !isfinite(v) || v < 0 || v > MAX_MS)
        return 0;
    *out = v;
    return 1;
}

/* Parses one entry line (no newline). Returns 1 and appends it, 0 when the
 * line is malformed (skipped), -1 when out of memory. */
static int parse_entry(struct clcnn__tuning *t, const char *line, size_t len)
{
    if (len > MAX_LINE)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
            return 0; /* control bytes, NUL included */
    size_t pos = 0, op_len, key_len, a_len, v_len, ms_len;
    const char *op, *key, *a, *v, *ms_text;
    int algo, variant;
    double ms = 0;
    if (!next_token(line, len, &pos, &op, &op_len) || !valid_token(op, op_len, MAX_OP) ||
        !next_token(line, len, &pos, &key, &key_len) || !valid_token(key, key_len, MAX_KEY) ||
        !next_token(line, len, &pos, &a, &a_len) || !parse_choice(a, a_len, &algo) ||
        !next_token(line, len, &pos, &v, &v_len) || !parse_choice(v, v_len, &variant))
        return 0;
    if (next_token(line, len, &pos, &ms_text, &ms_len) && !parse_ms(ms_text, ms_len, &ms))
        return 0;
    while (pos < len && is_space(line[pos]))
        pos++;
    size_t note_end = len;
    while (note_end > pos && is_space(line[note_end - 1]))
        note_end--;
    for (size_t i = pos; i < note_end; i++)
        if ((unsigned char)line[i] == 0x7f)
            return 0;
    return table_append(t, op, op_len, key, key_len, line + pos, note_end - pos, algo, variant,
                        ms)
               ? 1
               : -1;
}

/* A table from text[0..size); NULL only when out of memory. */
static struct clcnn__tuning *parse_text(const char *text, size_t size)
{
    struct clcnn__tuning *t = clcnn__calloc(1, sizeof *t);
    if (!t || !text || size > MAX_FILE_BYTES)
        return t;
    int seen_magic = 0;
    size_t pos = 0;
    while (pos < size) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - text) : size;
        const char *line = text + pos;
        size_t len = end - pos;
        pos = end + 1;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        size_t lead = 0;
        while (lead < len && is_space(line[lead]))
            lead++;
        if (lead == len || line[lead] == '#')
            continue;
        if (!seen_magic) {
            size_t n = len;
            while (n > lead && is_space(line[n - 1]))
                n--;
            size_t magic_len = strlen(CLCNN__TUNING_MAGIC);
            if (n - lead != magic_len || memcmp(line + lead, CLCNN__TUNING_MAGIC, magic_len) != 0)
                break; /* not a tuning file of this format: ignored whole */
            seen_magic = 1;
            continue;
        }
        if (parse_entry(t, line, len) < 0) {
            table_free(t);
            return NULL;
        }
    }
    table_finish(t);
    return t;
}

/* ---- files ---- */

/* Two FNV-1a 64-bit hashes with different offsets (as the kernel cache). */
static void hash_str(uint64_t h[2], const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h[0] = (h[0] ^ *p) * 0x100000001b3ull;
        h[1] = (h[1] ^ *p) * 0x100000001b3ull;
    }
    h[0] = (h[0] ^ 0xff) * 0x100000001b3ull; /* separators: ("ab","c") != ("a","bc") */
    h[1] = (h[1] ^ 0xfe) * 0x100000001b3ull;
}

/* The path into buf, or NULL with *why saying why there is none. */
static const char *find_path(const clcnn_context *ctx, char *buf, size_t size, const char **why)
{
    const char *env = getenv("CLCNN_TUNING_FILE");
    int n;
    if (env) {
        if (!*env) {
            *why = "CLCNN_TUNING_FILE is empty: tuning files are turned off";
            return NULL;
        }
        n = snprintf(buf, size, "%s", env);
    } else {
        if (!ctx->cache_dir) {
            *why = "no tuning file: the context has no cache folder and CLCNN_TUNING_FILE "
                   "is not set";
            return NULL;
        }
        uint64_t h[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
        hash_str(h, "clcnn-tuning-1");
        hash_str(h, ctx->info.platform_name);
        hash_str(h, ctx->info.device_name);
        hash_str(h, ctx->info.device_version);
        hash_str(h, ctx->info.driver_version);
        n = snprintf(buf, size, "%s/tuning-%016llx%016llx.txt", ctx->cache_dir,
                     (unsigned long long)h[0], (unsigned long long)h[1]);
    }
    if (n < 0 || (size_t)n >= size) {
        *why = "the tuning file's path is too long";
        return NULL;
    }
    return buf;
}

clcnn_status clcnn__tuning_path(clcnn_context *ctx, char *buf, size_t size)
{
    if (!ctx || !buf || size == 0)
        return CLCNN_ERR_INVALID_ARGUMENT;
    const char *why = "";
    if (find_path(ctx, buf, size, &why))
        return CLCNN_OK;
    buf[0] = '\0';
    return clcnn__fail(ctx, strstr(why, "too long") ? CLCNN_ERR_INVALID_ARGUMENT
                                                    : CLCNN_ERR_UNSUPPORTED,
                       "%s", why);
}

/* Reads path whole (at most MAX_FILE_BYTES + 1 bytes, so larger files are
 * recognised); 0 with errno set on failure. */
static int read_file(const char *path, char **text, size_t *size)
{
    *text = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char *buf = clcnn__malloc(MAX_FILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return 0;
    }
    size_t n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        clcnn__free(buf);
        errno = EIO;
        return 0;
    }
    *text = buf;
    *size = n;
    return 1;
}

static void replace_table(clcnn_context *ctx, struct clcnn__tuning *t)
{
    table_free(ctx->tuning);
    ctx->tuning = t;
}

/* The lazy load behind lookups: never records an error on ctx. */
static struct clcnn__tuning *ensure_loaded(clcnn_context *ctx)
{
    if (ctx->tuning)
        return ctx->tuning;
    char path[4096];
    const char *why;
    char *text = NULL;
    size_t size = 0;
    if (find_path(ctx, path, sizeof path, &why))
        read_file(path, &text, &size);
    ctx->tuning = parse_text(text, size);
    clcnn__free(text);
    return ctx->tuning;
}

int clcnn__tuning_lookup(clcnn_context *ctx, const char *op, const char *key, int *algo,
                         int *variant)
{
    if (!ctx || !op || !key || !algo || !variant)
        return 0;
    const struct clcnn__tuning *t = ensure_loaded(ctx);
    int found = 0;
    size_t i = t ? table_find(t, op, key, &found) : 0;
    if (!found)
        return 0;
    *algo = t->entries[i].algo;
    *variant = t->entries[i].variant;
    return 1;
}

clcnn_status clcnn__tuning_load_text(clcnn_context *ctx, const char *text, size_t size)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    struct clcnn__tuning *t = parse_text(text, size);
    if (!t)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory reading "
                                                               "a tuning file");
    replace_table(ctx, t);
    return CLCNN_OK;
}

clcnn_status clcnn__tuning_load(clcnn_context *ctx, const char *path)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    char own[4096];
    clcnn_status st;
    if (!path) {
        if ((st = clcnn__tuning_path(ctx, own, sizeof own)) != CLCNN_OK)
            return st;
        path = own;
    }
    char *text = NULL;
    size_t size = 0;
    if (!read_file(path, &text, &size)) {
        int err = errno;
        replace_table(ctx, clcnn__calloc(1, sizeof(struct clcnn__tuning)));
        return clcnn__fail(ctx, err == ENOMEM ? CLCNN_ERR_OUT_OF_HOST_MEMORY : CLCNN_ERR_IO,
                           "cannot read the tuning file %s: %s", path, strerror(err));
    }
    st = clcnn__tuning_load_text(ctx, text, size);
    clcnn__free(text);
    return st;
}

size_t clcnn__tuning_count(clcnn_context *ctx)
{
    const struct clcnn__tuning *t = ctx ? ensure_loaded(ctx) : NULL;
    return t ? t->count : 0;
}

static int valid_text(const char *s, size_t max, int allow_space)
{
    size_t n = strlen(s);
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(is_token_char(s[i]) || (allow_space && s[i] == ' ')))
            return 0;
    return 1;
}

clcnn_status clcnn__tuning_set(clcnn_context *ctx, const char *op, const char *key, int algo,
                               int variant, double ms, const char *note)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    if (!op || !key || !*op || !*key || !valid_text(op, MAX_OP, 0) ||
        !valid_text(key, MAX_KEY, 0))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "tuning entry: op \"%s\" and key \"%s\" must be non-empty printable "
                           "text without spaces (at most %d and %d characters)",
                           op ? op : "(null)", key ? key : "(null)", MAX_OP, MAX_KEY);
    if (algo < 0 || algo > MAX_CHOICE || variant < 0 || variant > MAX_CHOICE ||
        !(ms >= 0 && ms <= MAX_MS))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "tuning entry %s %s: algo %d, variant %d must be in [0, %d] and ms "
                           "%g in [0, %g]",
                           op, key, algo, variant, MAX_CHOICE, ms, MAX_MS);
    if (!note)
        note = "";
    if (!valid_text(note, MAX_LINE / 2, 1))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "tuning entry %s %s: the note must be one line of printable text",
                           op, key);
    struct clcnn__tuning *t = ensure_loaded(ctx);
    if (!t)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    /* Append, then move the new entry into place (replacing an old one). */
    if (!table_append(t, op, strlen(op), key, strlen(key), note, strlen(note), algo, variant,
                      ms))
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    entry added = t->entries[--t->count];
    int found;
    size_t i = table_find(t, op, key, &found);
    if (found) {
        clcnn__free(t->entries[i].op);
    } else {
        memmove(t->entries + i + 1, t->entries + i, (t->count - i) * sizeof *t->entries);
        t->count++;
    }
    t->entries[i] = added;
    return CLCNN_OK;
}

/* mkdir -p of the folder holding path; failures show up when writing. */
static void make_parent_dirs(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    }
    mkdir(dir, 0755);
}

/* The file's text, built in memory and then saved in one atomic write. */
typedef struct text {
    char *data;
    size_t len, cap;
    int failed;
} text;

static void append(text *t, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void append(text *t, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0,
                          fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
        } else if (t->data && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        } else {
            size_t cap = t->cap ? t->cap : 4096;
            while (cap < t->len + (size_t)n + 1)
                cap *= 2;
            char *grown = clcnn__realloc(t->data, cap);
            if (!grown)
                t->failed = 1;
            else
                t->data = grown, t->cap = cap;
        }
    }
}

/* Device strings go into comment lines: keep them printable and on one line. */
static void append_clean(text *t, const char *s)
{
    for (; *s; s++)
        append(t, "%c", is_token_char(*s) || *s == ' ' ? *s : '?');
}

clcnn_status clcnn__tuning_save(clcnn_context *ctx, const char *path)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    char own[4096];
    clcnn_status st;
    if (!path) {
        if ((st = clcnn__tuning_path(ctx, own, sizeof own)) != CLCNN_OK)
            return st;
        path = own;
    }
    const struct clcnn__tuning *t = ensure_loaded(ctx);
    if (!t)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    make_parent_dirs(path);
    text out = {0};
    append(&out, "%s\n# clcnn %s, device \"", CLCNN__TUNING_MAGIC, clcnn_version());
    append_clean(&out, ctx->info.device_name);
    append(&out, "\", platform \"");
    append_clean(&out, ctx->info.platform_name);
    append(&out, "\", device version \"");
    append_clean(&out, ctx->info.device_version);
    append(&out, "\", driver \"");
    append_clean(&out, ctx->info.driver_version);
    append(&out, "\"\n# written by `clcnn tune`; OP KEY ALGO VARIANT MS NOTE\n");
    for (size_t i = 0; i < t->count; i++) {
        const entry *e = &t->entries[i];
        append(&out, "%s %s %d %d %.6g%s%s\n", e->op, e->key, e->algo, e->variant, e->ms,
               *e->note ? " " : "", e->note);
    }
    st = out.failed ? clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory")
                    : clcnn__write_file_atomically(ctx, path, (const unsigned char *)out.data,
                                                   out.len);
    clcnn__free(out.data);
    return st;
}

void clcnn__tuning_release(clcnn_context *ctx)
{
    if (!ctx)
        return;
    table_free(ctx->tuning);
    ctx->tuning = NULL;
}
