/* Internal declarations of the optimisers (host/ops/optim.c), shared with their tests. */
#ifndef CLCNN_OPS_OPTIM_H
#define CLCNN_OPS_OPTIM_H

#include <stddef.h>

#include "clcnn.h"

/* params with Adam's zero defaults applied: beta1 0.9, beta2 0.999, eps 1e-8. */
clcnn_optim_params clcnn__optim_resolve(const clcnn_optim_params *params);

/*
 * Pure check of clcnn_optim_step on resolved parameters: kind, lr finite and
 * >= 0 (a schedule may end at 0), weight_decay finite and >= 0, SGD momentum
 * in [0, 1) and nesterov only with momentum > 0, Adam betas in [0, 1) and eps finite and > 0, step >= 1,
 * grad_count == param_count and state_count == clcnn_optim_state_count(kind,
 * param_count); state_count 0 means no state tensor, which only SGD without
 * momentum accepts. Returns CLCNN_ERR_INVALID_ARGUMENT for a bad value or
 * NULL params, CLCNN_ERR_SHAPE for counts that differ; message (may be NULL)
 * receives the reason.
 */
clcnn_status clcnn__optim_check(const clcnn_optim_params *params, long step, size_t param_count,
                                size_t grad_count, size_t state_count, char *message,
                                size_t message_size);

/* The hyper-parameters alone (Adam's zero defaults applied), as
 * clcnn_net_set_optimizer and checkpoint loading check them. */
clcnn_status clcnn__optim_check_values(const clcnn_optim_params *params, char *message,
                                       size_t message_size);

/* Builds (or loads from the cache) the kernel of clcnn_optim_step for kind
 * without running it. */
clcnn_status clcnn__optim_prepare(clcnn_context *ctx, clcnn_optimizer kind);

#endif /* CLCNN_OPS_OPTIM_H */
