#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "net.h"
#include "net_gradient.h"
#include "testutil.h"

/* The mean loss of the network's current weights on (x, labels). */
static double net_loss(clcnn_net *net, const float *x, const float *labels, int n)
{
    float loss;
    tu_ok(clcnn_net_forward(net, x, n));
    tu_ok(clcnn_net_backward(net, labels));
    tu_ok(clcnn_net_loss(net, &loss));
    return loss;
}

void tu_check_net_gradient(clcnn_net *net, const float *x, const float *labels, int n,
                           size_t stride, double tolerance, int min_nonzero_percent)
{
    const float h = 1e-2f;
    size_t count = clcnn_net_param_count(net);
    tu_ok(clcnn_tensor_fill(net->grads, 0.0f));
    net_loss(net, x, labels, n);
    float *grad = tu_read(net->grads);
    float *params = tu_read(net->params);
    size_t checked = 0, nonzero = 0;
    for (size_t i = 0; i < count; i += stride) {
        float saved = params[i];
        params[i] = saved + h;
        tu_ok(clcnn_tensor_write(net->params, params, count));
        double up = net_loss(net, x, labels, n);
        params[i] = saved - h;
        tu_ok(clcnn_tensor_write(net->params, params, count));
        double down = net_loss(net, x, labels, n);
        params[i] = saved;
        double numeric = (up - down) / (2.0 * h);
        double err = fabs(numeric - grad[i]) / (fabs(numeric) + fabs(grad[i]) + 1e-3);
        ck_assert_msg(err < tolerance, "parameter %zu: numeric %g, backward %g", i, numeric,
                      (double)grad[i]);
        nonzero += grad[i] != 0.0f;
        checked++;
    }
    tu_ok(clcnn_tensor_write(net->params, params, count));
    ck_assert_msg(nonzero * 100 > checked * (size_t)min_nonzero_percent,
                  "only %zu of %zu checked gradients are non-zero", nonzero, checked);
    free(grad);
    free(params);
}
