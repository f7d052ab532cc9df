/*
 * Internal side of the pooling ops: max pooling fused with the ReLU before
 * it, which a network uses to save the activation's own launches and the
 * memory passes they cost.
 */
#ifndef CLCNN_OPS_POOL_H
#define CLCNN_OPS_POOL_H

#include "runtime.h"

/*
 * clcnn_pool_forward with relu != 0: y = pool(relu(x)), computed as
 * max(0, pool(x)), which is the same for max pooling (the only mode it
 * accepts with relu; CLCNN_ERR_INVALID_ARGUMENT otherwise). argmax is the
 * window's maximum of x, as without relu. relu == 0 is clcnn_pool_forward.
 */
clcnn_status clcnn__pool_forward_act(clcnn_context *ctx, const clcnn_tensor *x, clcnn_tensor *y,
                                     clcnn_tensor *argmax, const clcnn_pool_params *params,
                                     int relu);

/*
 * clcnn_pool_backward with relu != 0 for max pooling whose input is a ReLU
 * output a = relu(z): dx = dz, the gradient with respect to z, so that the
 * ReLU needs no backward pass of its own. y (N,C,P,Q) is the forward output
 * (of clcnn_pool_forward on a, or of the fused forward on z): a window's
 * maximum passes its gradient only where y > 0, which is where relu'(z) is
 * 1. relu == 0 is clcnn_pool_backward (y may be NULL then).
 */
clcnn_status clcnn__pool_backward_act(clcnn_context *ctx, const clcnn_tensor *dy,
                                      const clcnn_tensor *argmax, const clcnn_tensor *y,
                                      clcnn_tensor *dx, const clcnn_pool_params *params,
                                      int relu);

#endif /* CLCNN_OPS_POOL_H */
