/*
 * The text form of a network: built-in model names, and parsing of
 * "conv(16,3,pad=1) bn relu @a conv(16,3,pad=1) bn add(@a) relu ..." into
 * layer records with their inputs resolved, and back into canonical text
 * (what model files store and `clcnn info` shows). Each token's own
 * arguments are read by its layer kind (layers.c).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

static const struct {
    const char *name;
    const char *spec;
} builtin[] = {
    {"lenet5", "conv(6,5,pad=2) relu maxpool(2) conv(16,5) relu maxpool(2) flatten dense(120) "
               "relu dense(84) relu dense(10)"},
    {"convnet", "conv(32,3) relu maxpool(2) conv(64,3) relu maxpool(2) conv(128,3) relu "
                "flatten dense(10) softmax"},
    /* three stages of residual blocks, the later two halving the image with
     * a strided convolution and a 1x1 projection on the shortcut */
    {"resnet", "conv(32,3,pad=1) bn relu @s1 "
               "conv(32,3,pad=1) bn relu conv(32,3,pad=1) bn add(@s1) relu @s2 "
               "conv(64,3,pad=1,stride=2) bn relu conv(64,3,pad=1) bn @m2 "
               "from(@s2) conv(64,1,stride=2) bn add(@m2) relu @s3 "
               "conv(128,3,pad=1,stride=2) bn relu conv(128,3,pad=1) bn @m3 "
               "from(@s3) conv(128,1,stride=2) bn add(@m3) relu "
               "global_avgpool dense(10)"},
    /* depthwise-separable blocks: a 3x3 per channel, then a 1x1 across them;
     * one at 28x28, then two at 14x14 and two at 7x7 (the first of each
     * pair halving the image) */
    {"mobilenet", "conv(32,3,pad=1) bn relu "
                  "conv(32,3,pad=1,groups=32) bn relu conv(64,1) bn relu "
                  "conv(64,3,pad=1,stride=2,groups=64) bn relu conv(128,1) bn relu "
                  "conv(128,3,pad=1,groups=128) bn relu conv(128,1) bn relu "
                  "conv(128,3,pad=1,stride=2,groups=128) bn relu conv(256,1) bn relu "
                  "conv(256,3,pad=1,groups=256) bn relu conv(256,1) bn relu "
                  "global_avgpool dense(10)"},
};

#define MAX_ARGS CLCNN__TOKEN_ARGS
typedef clcnn__token token;

int clcnn__spec_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1 << 20)
        return 0;
    *out = (int)v;
    return 1;
}

int clcnn__spec_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* finite as a float too: 1e39 would become infinity, which no spec can
     * say and so no model file could read back */
    if (errno || end == s || *end || !isfinite(v) || !isfinite((float)v))
        return 0;
    *out = (float)v;
    return 1;
}

/* Splits one token; returns 0 with a message on malformed text. */
static int split_token(clcnn_context *ctx, const char *text, size_t len, token *t)
{
    memset(t, 0, sizeof *t);
    const char *open = memchr(text, '(', len);
    size_t name_len = open ? (size_t)(open - text) : len;
    if (name_len == 0 || name_len >= sizeof t->name) {
        clcnn__fail(ctx, CLCNN_ERR_FORMAT, "spec: bad layer \"%.*s\"", (int)len, text);
        return 0;
    }
    memcpy(t->name, text, name_len);
    if (!open)
        return 1;
    if (text[len - 1] != ')') {
        clcnn__fail(ctx, CLCNN_ERR_FORMAT, "spec: \"%.*s\" lacks its closing ')'", (int)len,
                    text);
        return 0;
    }
    const char *p = open + 1, *end = text + len - 1;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *arg_end = comma ? comma : end;
        if (t->argc == MAX_ARGS || arg_end == p) {
            clcnn__fail(ctx, CLCNN_ERR_FORMAT, "spec: bad arguments in \"%.*s\"", (int)len, text);
            return 0;
        }
        const char *eq = memchr(p, '=', (size_t)(arg_end - p));
        const char *value = eq ? eq + 1 : p;
        size_t key_len = eq ? (size_t)(eq - p) : 0;
        size_t value_len = (size_t)(arg_end - value);
        if (key_len >= sizeof t->keys[0] || value_len == 0 || value_len >= sizeof t->values[0]) {
            clcnn__fail(ctx, CLCNN_ERR_FORMAT, "spec: bad argument in \"%.*s\"", (int)len, text);
            return 0;
        }
        memcpy(t->keys[t->argc], p, key_len);
        memcpy(t->values[t->argc], value, value_len);
        t->argc++;
        p = comma ? comma + 1 : end;
        if (comma && p == end) {
            clcnn__fail(ctx, CLCNN_ERR_FORMAT, "spec: trailing ',' in \"%.*s\"", (int)len, text);
            return 0;
        }
    }
    return 1;
}

/* A name after '@': letters, digits and '_', starting with a letter. */
static int valid_name(const char *s, size_t len)
{
    if (len < 2 || len >= CLCNN__NAME_MAX || s[0] != '@' || !isalpha((unsigned char)s[1]))
        return 0;
    for (size_t i = 2; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* The layer whose output is called name ("@a"): its index, -1 for
 * "@input" (the network input), or -2 when no layer before count has it. */
static int find_name(const clcnn__layer_desc *layers, int count, const char *name)
{
    if (strcmp(name, "@input") == 0)
        return -1;
    for (int i = 0; i < count; i++)
        if (strcmp(layers[i].name, name) == 0)
            return i;
    return -2;
}

static clcnn_status spec_error(clcnn_context *ctx, clcnn__layer_desc *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static clcnn_status spec_error(clcnn_context *ctx, clcnn__layer_desc *out, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    clcnn__free(out);
    return clcnn__fail(ctx, CLCNN_ERR_FORMAT, "spec: %s", msg);
}

/* Every layer's output must be read by a later layer (the last one's by
 * the loss): a dead branch is a mistake in the spec, not a network. */
static clcnn_status check_reads(clcnn_context *ctx, clcnn__layer_desc *out, int n)
{
    for (int i = 0; i + 1 < n; i++) {
        int read = 0;
        for (int j = i + 1; j < n && !read; j++)
            read = out[j].input == i || out[j].input2 == i;
        if (!read) {
            char text[96];
            clcnn__layer_text(&out[i], text, sizeof text);
            return spec_error(ctx, out,
                              "the output of layer %d %s is read by no later layer (only the "
                              "last layer's goes to the loss)",
                              i + 1, text);
        }
    }
    return CLCNN_OK;
}

clcnn_status clcnn__spec_parse(clcnn_context *ctx, const char *spec, clcnn__layer_desc **layers,
                               int *count)
{
    *layers = NULL;
    *count = 0;
    if (!spec)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "spec is NULL");
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(spec, builtin[i].name) == 0)
            spec = builtin[i].spec;

    /* at most one layer per two characters, so this bounds the array */
    size_t cap = strlen(spec) / 2 + 1;
    if (cap > 4096)
        return clcnn__fail(ctx, CLCNN_ERR_FORMAT, "spec: longer than 8192 characters");
    clcnn__layer_desc *out = clcnn__calloc(cap, sizeof *out);
    if (!out)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    int n = 0;
    int from = -3; /* the input a from(@x) gave the next layer, or -3 */
    const char *p = spec;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        int depth = 0;
        while (*p && (depth > 0 || !isspace((unsigned char)*p))) {
            depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
            p++;
        }
        int len = (int)(p - start);
        if (*start == '@') { /* names the output of the layer before it */
            if (!valid_name(start, (size_t)len))
                return spec_error(ctx, out, "bad name \"%.*s\" (a name is @ and up to %d "
                                  "letters, digits or _, starting with a letter)",
                                  len, start, CLCNN__NAME_MAX - 3);
            if (n == 0 || from != -3)
                return spec_error(ctx, out, "\"%.*s\" must follow a layer, whose output it "
                                  "names (the network input is @input)", len, start);
            char name[CLCNN__NAME_MAX] = "";
            snprintf(name, sizeof name, "%.*s", len, start);
            if (find_name(out, n, name) != -2)
                return spec_error(ctx, out, "%s names two outputs", name);
            if (out[n - 1].name[0])
                return spec_error(ctx, out, "layer %d is named twice (%s and %s)", n,
                                  out[n - 1].name, name);
            memcpy(out[n - 1].name, name, sizeof name);
            continue;
        }
        token t;
        if (!split_token(ctx, start, (size_t)len, &t)) {
            clcnn__free(out);
            return CLCNN_ERR_FORMAT;
        }
        if (strcmp(t.name, "from") == 0) { /* the next layer reads @x */
            if (t.argc != 1 || t.keys[0][0] || !valid_name(t.values[0], strlen(t.values[0])))
                return spec_error(ctx, out, "bad \"%.*s\" (expected from(@name))", len, start);
            if (from != -3)
                return spec_error(ctx, out, "\"%.*s\" follows another from(...)", len, start);
            from = find_name(out, n, t.values[0]);
            if (from == -2)
                return spec_error(ctx, out, "\"%.*s\" (before layer %d) names no earlier "
                                  "output (a layer reads only outputs before it, so a network "
                                  "has no cycles)", len, start, n + 1);
            continue;
        }
        const clcnn__layer_type *type = clcnn__layer_type_named(t.name);
        clcnn__layer_desc *d = &out[n];
        memset(d, 0, sizeof *d);
        if (type)
            d->kind = type->kind;
        if ((size_t)n == cap || !type || !type->parse(&t, d))
            return spec_error(ctx, out, "cannot read layer %d \"%.*s\" (expected %s)", n + 1,
                              len, start, clcnn__layer_names());
        d->input = from != -3 ? from : n - 1;
        d->input2 = -2;
        from = -3;
        if (d->ref[0]) {
            d->input2 = find_name(out, n, d->ref);
            if (d->input2 == -2)
                return spec_error(ctx, out, "layer %d \"%.*s\" reads %s, which no earlier "
                                  "layer names (a layer reads only outputs before it, so a "
                                  "network has no cycles)", n + 1, len, start, d->ref);
        }
        if (n > 0 && out[n - 1].kind == CLCNN__LAYER_SOFTMAX)
            return spec_error(ctx, out, "softmax must be the last layer");
        n++;
    }
    if (from != -3)
        return spec_error(ctx, out, "from(...) at the end of the spec is read by no layer");
    if (n == 0)
        return spec_error(ctx, out, "no layers");
    clcnn_status st = check_reads(ctx, out, n);
    if (st != CLCNN_OK)
        return st;
    *layers = out;
    *count = n;
    return CLCNN_OK;
}

char *clcnn__spec_text(const clcnn__layer_desc *layers, int count)
{
    /* a token is at most 96 characters, a name and a from(...) 40 more */
    size_t cap = (size_t)count * 160 + 1, used = 0;
    char *spec = clcnn__malloc(cap);
    if (!spec)
        return NULL;
    spec[0] = '\0';
    for (int i = 0; i < count; i++) {
        const clcnn__layer_desc *d = &layers[i];
        char text[96];
        clcnn__layer_text(d, text, sizeof text);
        if (d->input != i - 1)
            used += (size_t)snprintf(spec + used, cap - used, "%sfrom(%s)", i ? " " : "",
                                     d->input < 0 ? "@input" : layers[d->input].name);
        used += (size_t)snprintf(spec + used, cap - used, "%s%s", used ? " " : "", text);
        if (d->name[0])
            used += (size_t)snprintf(spec + used, cap - used, " %s", d->name);
    }
    return spec;
}
