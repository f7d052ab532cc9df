/*
 * model_diff A B TOL: loads two model files of the same network and prints,
 * per layer, the largest weight difference relative to the largest weight of
 * B's layer; exits 0 when every layer's is <= TOL, 1 otherwise, 2 on bad use.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

static float *read_params(clcnn_net *net)
{
    float *p = malloc(net->param_count * sizeof *p);
    if (p && clcnn_tensor_read(net->params, p, net->param_count) != CLCNN_OK) {
        free(p);
        p = NULL;
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: model_diff A.clcnn B.clcnn TOL\n");
        return 2;
    }
    double tol = atof(argv[3]);
    char err[512];
    clcnn_context *ctx = NULL;
    if (clcnn_context_create(NULL, &ctx, err, sizeof err) != CLCNN_OK) {
        fprintf(stderr, "model_diff: %s\n", err);
        return 1;
    }
    clcnn_net *a = NULL, *b = NULL;
    int rc = 1;
    float *pa = NULL, *pb = NULL;
    if (clcnn_net_load(ctx, argv[1], 1, &a, NULL, NULL) != CLCNN_OK ||
        clcnn_net_load(ctx, argv[2], 1, &b, NULL, NULL) != CLCNN_OK) {
        fprintf(stderr, "model_diff: %s\n", clcnn_last_error(ctx));
        goto done;
    }
    if (strcmp(a->spec, b->spec) != 0 || a->param_count != b->param_count) {
        fprintf(stderr, "model_diff: the files hold different networks\n");
        goto done;
    }
    pa = read_params(a);
    pb = read_params(b);
    if (!pa || !pb) {
        fprintf(stderr, "model_diff: reading the parameters failed\n");
        goto done;
    }
    double worst = 0;
    for (int i = 0; i < a->layer_count; i++) {
        const clcnn__layer *l = &a->layers[i];
        if (!l->param_count)
            continue;
        double diff = 0, scale = 0;
        for (size_t j = l->param_offset; j < l->param_offset + l->param_count; j++) {
            diff = fmax(diff, fabs((double)pa[j] - (double)pb[j]));
            scale = fmax(scale, fabs((double)pb[j]));
        }
        double rel = scale > 0 ? diff / scale : (diff > 0 ? INFINITY : 0);
        char text[96];
        clcnn__layer_text(&l->d, text, sizeof text);
        printf("layer %2d %-16s max |a-b| %.3g, max |b| %.3g, relative %.3g\n", i + 1, text,
               diff, scale, rel);
        worst = fmax(worst, rel);
    }
    printf("max relative difference %.3g (tolerance %.3g)\n", worst, tol);
    rc = worst <= tol ? 0 : 1;
done:
    free(pa);
    free(pb);
    clcnn_net_destroy(a);
    clcnn_net_destroy(b);
    clcnn_context_destroy(ctx);
    return rc;
}
