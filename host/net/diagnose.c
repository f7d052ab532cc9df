/*
 * Numerical diagnosis of a network: where NaN and infinite values first
 * appear. The values are read back only when asked, after a loss became
 * non-finite or before a model is saved or trusted, so a training step pays
 * nothing for it.
 */
#include <math.h>
#include <stdio.h>

#include "net.h"

typedef struct nonfinite {
    size_t nan, inf;
} nonfinite;

static nonfinite count_nonfinite(const float *p, size_t n)
{
    nonfinite c = {0, 0};
    for (size_t i = 0; i < n; i++)
        if (isnan(p[i]))
            c.nan++;
        else if (isinf(p[i]))
            c.inf++;
    return c;
}

static void describe(const clcnn_net *net, int i, const char *what, nonfinite c, size_t n,
                     char *buf, size_t size)
{
    char text[96];
    clcnn__layer_text(&net->layers[i].d, text, sizeof text);
    snprintf(buf, size, "layer %d %s: its %s hold %zu NaN and %zu infinite values (of %zu)",
             i + 1, text, what, c.nan, c.inf, n);
}

int clcnn__net_nonfinite_params(const clcnn_net *net, const float *params, char *buf,
                                size_t size)
{
    for (int i = 0; i < net->layer_count; i++) {
        const clcnn__layer *l = &net->layers[i];
        if (!l->param_count)
            continue;
        size_t k = (size_t)l->out_shape[1], wn = l->param_count - k;
        const float *w = params + l->param_offset;
        nonfinite c = count_nonfinite(w, wn);
        if (c.nan || c.inf) {
            describe(net, i, "weights", c, wn, buf, size);
            return i;
        }
        c = count_nonfinite(w + wn, k);
        if (c.nan || c.inf) {
            describe(net, i, "biases", c, k, buf, size);
            return i;
        }
    }
    return -1;
}

/* Reads t (count elements) into host and counts its non-finite values. */
static clcnn_status read_count(const clcnn_tensor *t, float *host, nonfinite *c, size_t *n)
{
    *n = clcnn_tensor_count(t);
    clcnn_status st = clcnn_tensor_read(t, host, *n);
    if (st == CLCNN_OK)
        *c = count_nonfinite(host, *n);
    return st;
}

clcnn_status clcnn_net_check_finite(clcnn_net *net, int *layer)
{
    if (layer)
        *layer = -1;
    if (!net)
        return CLCNN_ERR_INVALID_ARGUMENT;
    clcnn_context *ctx = net->ctx;
    size_t biggest = clcnn_tensor_count(net->x);
    for (int i = 0; i < net->layer_count; i++)
        if (net->layers[i].y && clcnn_tensor_count(net->layers[i].y) > biggest)
            biggest = clcnn_tensor_count(net->layers[i].y);
    float *params = clcnn__malloc(net->param_count * sizeof *params);
    float *host = clcnn__malloc(biggest * sizeof *host);
    clcnn_status st = params && host ? CLCNN_OK
                                     : clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY,
                                                   "out of host memory checking the network");
    char where[256];
    int found = -2; /* -2: nothing yet; -1: the input; else a layer */
    nonfinite c = {0, 0};
    size_t n = 0;
    if (st == CLCNN_OK)
        st = clcnn_tensor_read(net->params, params, net->param_count);
    if (st == CLCNN_OK)
        st = read_count(net->x, host, &c, &n);
    if (st == CLCNN_OK && (c.nan || c.inf)) {
        found = -1;
        snprintf(where, sizeof where,
                 "the input of the last forward pass holds %zu NaN and %zu infinite values (of "
                 "%zu)",
                 c.nan, c.inf, n);
    }
    /* forward order: a layer's parameters, then its output, which they and
     * its input (already found finite) make */
    for (int i = 0; i < net->layer_count && st == CLCNN_OK && found == -2; i++) {
        const clcnn__layer *l = &net->layers[i];
        char one[256];
        if (l->param_count && clcnn__net_nonfinite_params(net, params, one, sizeof one) == i) {
            found = i;
            snprintf(where, sizeof where, "%s", one);
            break;
        }
        /* a flatten's output is a view of its input; a trailing softmax has none */
        if (!l->y || l->d.kind == CLCNN__LAYER_FLATTEN)
            continue;
        st = read_count(l->y, host, &c, &n);
        if (st == CLCNN_OK && (c.nan || c.inf)) {
            found = i;
            describe(net, i, "outputs", c, n, where, sizeof where);
        }
    }
    clcnn__free(params);
    clcnn__free(host);
    if (st != CLCNN_OK)
        return st;
    if (found == -2)
        return CLCNN_OK;
    if (layer)
        *layer = found;
    return clcnn__fail(ctx, CLCNN_ERR_NUMERIC, "%s, after %ld optimiser steps", where,
                       net->steps);
}
