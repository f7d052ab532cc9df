/*
 * Reading what is inside a network, for pictures and debugging: a layer's
 * parameters and its output of the last forward pass.
 */
#include <math.h>

#include "net.h"

static clcnn_status check_layer(const clcnn_net *net, int index, const float *dst)
{
    if (!net || !dst)
        return clcnn__fail(net ? net->ctx : NULL, CLCNN_ERR_INVALID_ARGUMENT, "%s is NULL",
                           !net ? "net" : "dst");
    if (index < 0 || index >= net->layer_count)
        return clcnn__fail(net->ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "layer index %d is not in 0..%d", index, net->layer_count - 1);
    return CLCNN_OK;
}

clcnn_status clcnn_net_layer_params(clcnn_net *net, int index, float *dst, size_t count)
{
    clcnn_status st = check_layer(net, index, dst);
    if (st != CLCNN_OK)
        return st;
    const clcnn__layer *l = &net->layers[index];
    if (count != l->param_count)
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE,
                           "layer %d has %zu parameters, not %zu", index, l->param_count,
                           count);
    if (count == 0)
        return CLCNN_OK;
    clcnn_tensor *view = NULL;
    st = clcnn__tensor_slice(net->params, l->param_offset, 1, 1, 1, (int)count, &view);
    if (st == CLCNN_OK)
        st = clcnn_tensor_read(view, dst, count);
    clcnn_tensor_destroy(view);
    return st;
}

clcnn_status clcnn_net_layer_output(clcnn_net *net, int index, float *dst, size_t count)
{
    clcnn_status st = check_layer(net, index, dst);
    if (st != CLCNN_OK)
        return st;
    const clcnn__layer *l = &net->layers[index];
    size_t per_image = (size_t)l->out_shape[1] * (size_t)l->out_shape[2] * (size_t)l->out_shape[3];
    size_t want = per_image * (size_t)net->active;
    if (count != want)
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE,
                           "layer %d's output of the last pass holds %zu values (%d images), "
                           "not %zu",
                           index, want, net->active, count);
    clcnn_tensor *view = NULL;
    st = clcnn__tensor_slice(l->y, 0, 1, 1, 1, (int)count, &view);
    if (st == CLCNN_OK)
        st = clcnn_tensor_read(view, dst, count);
    clcnn_tensor_destroy(view);
    return st;
}

clcnn_status clcnn_net_set_layer_params(clcnn_net *net, int index, const float *src,
                                        size_t count)
{
    clcnn_status st = check_layer(net, index, src);
    if (st != CLCNN_OK)
        return st;
    const clcnn__layer *l = &net->layers[index];
    if (count != l->param_count)
        return clcnn__fail(net->ctx, CLCNN_ERR_SHAPE,
                           "layer %d has %zu parameters, not %zu", index, l->param_count,
                           count);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(src[i]))
            return clcnn__fail(net->ctx, CLCNN_ERR_NUMERIC,
                               "layer %d: parameter %zu is NaN or infinite", index, i);
    if (count == 0)
        return CLCNN_OK;
    clcnn_tensor *view = NULL;
    st = clcnn__tensor_slice(net->params, l->param_offset, 1, 1, 1, (int)count, &view);
    if (st == CLCNN_OK)
        st = clcnn_tensor_write(view, src, count);
    clcnn_tensor_destroy(view);
    net->params_version++;
    return st;
}
