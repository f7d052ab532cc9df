/*
 * The text form of networks: clcnn__spec_parse on any text, then its
 * canonical text (clcnn__spec_text, what model files and `clcnn info` store
 * and show) must parse back to the same layers, graph included; then
 * clcnn__net_plan on two input shapes, whose canonical spec must plan again
 * to the same network. No device is involved.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "net.h"

/* Parses text that must give exactly the count layers of want. */
static void expect_same_layers(const clcnn__layer_desc *want, int count, const char *text)
{
    clcnn__layer_desc *again = NULL;
    int n = 0;
    if (clcnn__spec_parse(NULL, text, &again, &n) != CLCNN_OK || n != count ||
        memcmp(again, want, (size_t)count * sizeof *want) != 0)
        abort();
    clcnn__free(again);
}

static void plan(const char *spec, int n, int c, int h, int w)
{
    clcnn_net *net = NULL;
    if (clcnn__net_plan(NULL, spec, n, c, h, w, &net) != CLCNN_OK) {
        if (net)
            abort();
        return;
    }
    clcnn_net *again = NULL;
    if (clcnn__net_plan(NULL, net->spec, n, c, h, w, &again) != CLCNN_OK ||
        strcmp(again->spec, net->spec) != 0 || again->param_count != net->param_count ||
        again->layer_count != net->layer_count)
        abort();
    for (int i = 0; i < net->layer_count; i++)
        if (memcmp(again->layers[i].out_shape, net->layers[i].out_shape,
                   sizeof net->layers[i].out_shape) != 0)
            abort();
    clcnn_net_destroy(again);
    clcnn_net_destroy(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 20000)
        return 0; /* the parser refuses more than 8192 characters at once */
    char *spec = malloc(size + 1);
    if (!spec)
        abort();
    memcpy(spec, data, size);
    spec[size] = '\0';
    clcnn__layer_desc *layers = NULL;
    int count = -1;
    if (clcnn__spec_parse(NULL, spec, &layers, &count) == CLCNN_OK) {
        if (count < 1 || !layers)
            abort();
        char *text = clcnn__spec_text(layers, count);
        if (!text)
            abort();
        expect_same_layers(layers, count, text);
        clcnn__free(text);
        clcnn__free(layers);
        plan(spec, 2, 1, 28, 28);
        plan(spec, 1, 3, 13, 11);
    } else if (layers || count != 0) {
        abort();
    }
    free(spec);
    return 0;
}
