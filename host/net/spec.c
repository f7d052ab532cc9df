/*
 * The text form of a sequential network: built-in model names, parsing of
 * "conv(6,5,pad=2) relu maxpool(2) ..." into layer records, and the canonical
 * text of each layer (used for model files and `clcnn info`).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
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
};

#define MAX_ARGS 8

/* One token "name(a,b,key=value)" split into its parts. */
typedef struct token {
    char name[32];
    int argc;
    char keys[MAX_ARGS][16]; /* "" for positional arguments */
    char values[MAX_ARGS][32];
} token;

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1 << 20)
        return 0;
    *out = (int)v;
    return 1;
}

static int parse_float(const char *s, float *out)
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

/* Positional arguments first, then key=value ones; returns 0 on a bad one. */
static int conv_args(const token *t, clcnn__layer_desc *d)
{
    int positional = 0, stride = 1, dilation = 1, pad = 0;
    for (int i = 0; i < t->argc; i++) {
        const char *k = t->keys[i], *v = t->values[i];
        if (!*k) {
            int *slots[3] = {&d->k, &d->r, &d->s};
            int *slot = positional < 3 ? slots[positional] : NULL;
            if (!slot || !parse_int(v, slot) || *slot < 1)
                return 0;
            positional++;
        } else if (strcmp(k, "pad") == 0) {
            if (strcmp(v, "same") == 0)
                d->same_padding = 1;
            else if (!parse_int(v, &pad))
                return 0;
        } else if (strcmp(k, "stride") == 0) {
            if (!parse_int(v, &stride) || stride < 1)
                return 0;
        } else if (strcmp(k, "dilation") == 0) {
            if (!parse_int(v, &dilation) || dilation < 1)
                return 0;
        } else {
            return 0;
        }
    }
    if (positional < 2)
        return 0;
    if (positional == 2)
        d->s = d->r;
    if (d->same_padding) {
        /* "same" for stride 1: the extra pixel of an even extent goes at the end */
        int eh = (d->r - 1) * dilation, ew = (d->s - 1) * dilation;
        d->conv.pad_top = eh / 2;
        d->conv.pad_bottom = eh - eh / 2;
        d->conv.pad_left = ew / 2;
        d->conv.pad_right = ew - ew / 2;
    } else {
        d->conv.pad_top = d->conv.pad_bottom = d->conv.pad_left = d->conv.pad_right = pad;
    }
    d->conv.stride_h = d->conv.stride_w = stride;
    d->conv.dilation_h = d->conv.dilation_w = dilation;
    return 1;
}

static int parse_layer(const token *t, clcnn__layer_desc *d)
{
    memset(d, 0, sizeof *d);
    const char *n = t->name;
    if (strcmp(n, "conv") == 0) {
        d->kind = CLCNN__LAYER_CONV;
        return conv_args(t, d);
    }
    if (strcmp(n, "maxpool") == 0 || strcmp(n, "avgpool") == 0) {
        d->kind = CLCNN__LAYER_POOL;
        d->pool.mode = n[0] == 'm' ? CLCNN_POOL_MAX : CLCNN_POOL_AVG_EXCLUDE_PAD;
        int window = 0, stride = 0, positional = 0, pad = 0, include_pad = 0;
        for (int i = 0; i < t->argc; i++) {
            const char *k = t->keys[i], *v = t->values[i];
            int *slot = !*k && positional == 0 ? &window
                      : !*k && positional == 1 ? &stride
                      : strcmp(k, "pad") == 0 ? &pad
                      : strcmp(k, "include_pad") == 0 && d->pool.mode != CLCNN_POOL_MAX
                          ? &include_pad
                          : NULL;
            positional += !*k;
            if (!slot || !parse_int(v, slot) || (slot != &pad && slot != &include_pad && *slot < 1) ||
                (slot == &include_pad && *slot > 1))
                return 0;
        }
        if (window < 1)
            return 0;
        d->pool.window_h = d->pool.window_w = window;
        d->pool.stride_h = d->pool.stride_w = stride ? stride : window;
        /* padding, as in ONNX and PyTorch: the average counts it or not */
        d->pool.pad_top = d->pool.pad_bottom = d->pool.pad_left = d->pool.pad_right = pad;
        if (include_pad && pad) /* without padding the two averages are one */
            d->pool.mode = CLCNN_POOL_AVG_INCLUDE_PAD;
        return 1;
    }
    if (strcmp(n, "dense") == 0) {
        d->kind = CLCNN__LAYER_DENSE;
        return t->argc == 1 && !t->keys[0][0] && parse_int(t->values[0], &d->k) && d->k >= 1;
    }
    if (strcmp(n, "leaky_relu") == 0) {
        d->kind = CLCNN__LAYER_ACT;
        d->act = CLCNN_ACT_LEAKY_RELU;
        d->alpha = 0.01f;
        if (t->argc > 1 ||
            (t->argc == 1 && (t->keys[0][0] || !parse_float(t->values[0], &d->alpha))))
            return 0;
        return 1;
    }
    static const struct {
        const char *name;
        clcnn__layer_kind kind;
        clcnn_activation act;
    } plain[] = {
        {"relu", CLCNN__LAYER_ACT, CLCNN_ACT_RELU},
        {"tanh", CLCNN__LAYER_ACT, CLCNN_ACT_TANH},
        {"sigmoid", CLCNN__LAYER_ACT, CLCNN_ACT_SIGMOID},
        {"flatten", CLCNN__LAYER_FLATTEN, CLCNN_ACT_RELU},
        {"softmax", CLCNN__LAYER_SOFTMAX, CLCNN_ACT_RELU},
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strcmp(n, plain[i].name) == 0) {
            d->kind = plain[i].kind;
            d->act = plain[i].act;
            return t->argc == 0;
        }
    return 0;
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
        token t;
        if (!split_token(ctx, start, (size_t)(p - start), &t)) {
            clcnn__free(out);
            return CLCNN_ERR_FORMAT;
        }
        if ((size_t)n == cap || !parse_layer(&t, &out[n])) {
            clcnn__free(out);
            return clcnn__fail(ctx, CLCNN_ERR_FORMAT,
                               "spec: cannot read layer \"%.*s\" (expected conv(K,R[,S][,pad=P|"
                               "same][,stride=T][,dilation=D]), relu, leaky_relu(A), tanh, "
                               "sigmoid, maxpool(W[,T][,pad=P]), avgpool(W[,T][,pad=P][,include_pad=1]), "
                               "flatten, dense(K) or "
                               "softmax)",
                               (int)(p - start), start);
        }
        if (n > 0 && out[n - 1].kind == CLCNN__LAYER_SOFTMAX) {
            clcnn__free(out);
            return clcnn__fail(ctx, CLCNN_ERR_FORMAT, "spec: softmax must be the last layer");
        }
        n++;
    }
    if (n == 0) {
        clcnn__free(out);
        return clcnn__fail(ctx, CLCNN_ERR_FORMAT, "spec: no layers");
    }
    *layers = out;
    *count = n;
    return CLCNN_OK;
}

void clcnn__layer_text(const clcnn__layer_desc *d, char *buf, size_t size)
{
    switch (d->kind) {
    case CLCNN__LAYER_CONV: {
        int used = d->r == d->s ? snprintf(buf, size, "conv(%d,%d", d->k, d->r)
                                : snprintf(buf, size, "conv(%d,%d,%d", d->k, d->r, d->s);
        char rest[64] = "";
        size_t o = 0;
        if (d->same_padding)
            o += (size_t)snprintf(rest + o, sizeof rest - o, ",pad=same");
        else if (d->conv.pad_top)
            o += (size_t)snprintf(rest + o, sizeof rest - o, ",pad=%d", d->conv.pad_top);
        if (d->conv.stride_h > 1)
            o += (size_t)snprintf(rest + o, sizeof rest - o, ",stride=%d", d->conv.stride_h);
        if (d->conv.dilation_h > 1)
            snprintf(rest + o, sizeof rest - o, ",dilation=%d", d->conv.dilation_h);
        if (used > 0 && (size_t)used < size)
            snprintf(buf + used, size - (size_t)used, "%s)", rest);
        break;
    }
    case CLCNN__LAYER_POOL: {
        const char *name = d->pool.mode == CLCNN_POOL_MAX ? "maxpool" : "avgpool";
        char rest[48] = "";
        if (d->pool.pad_top)
            snprintf(rest, sizeof rest, ",pad=%d%s", d->pool.pad_top,
                     d->pool.mode == CLCNN_POOL_AVG_INCLUDE_PAD ? ",include_pad=1" : "");
        if (d->pool.stride_h == d->pool.window_h)
            snprintf(buf, size, "%s(%d%s)", name, d->pool.window_h, rest);
        else
            snprintf(buf, size, "%s(%d,%d%s)", name, d->pool.window_h, d->pool.stride_h, rest);
        break;
    }
    case CLCNN__LAYER_DENSE:
        snprintf(buf, size, "dense(%d)", d->k);
        break;
    case CLCNN__LAYER_ACT:
        if (d->act == CLCNN_ACT_LEAKY_RELU) {
            /* the shortest text that reads back as the same float */
            snprintf(buf, size, "leaky_relu(%g)", (double)d->alpha);
            if (strtof(buf + 11, NULL) != d->alpha)
                snprintf(buf, size, "leaky_relu(%.9g)", (double)d->alpha);
        } else
            snprintf(buf, size, "%s",
                     d->act == CLCNN_ACT_RELU ? "relu" : d->act == CLCNN_ACT_TANH ? "tanh"
                                                                                 : "sigmoid");
        break;
    case CLCNN__LAYER_FLATTEN:
        snprintf(buf, size, "flatten");
        break;
    case CLCNN__LAYER_SOFTMAX:
        snprintf(buf, size, "softmax");
        break;
    }
}
