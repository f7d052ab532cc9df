/*
 * Batch normalization per channel over (N, H, W) with PyTorch's BatchNorm2d
 * semantics: the training-mode forward (batch statistics, saved for the
 * backward pass, running statistics updated with momentum), the
 * inference-mode forward (running statistics) and the backward pass for x,
 * gamma and beta, side by side. Kernels in kernels/batchnorm.cl.
 */
#include <math.h>
#include <stdio.h>

#include "gemm.h"

#define BN_DEFAULT_EPS 1e-5f
#define BN_DEFAULT_MOMENTUM 0.1f

/* eps and momentum after the zero defaults; NULL params are the defaults. */
static void resolve(const clcnn_batchnorm_params *params, float *eps, float *momentum)
{
    *eps = params && params->eps != 0.0f ? params->eps : BN_DEFAULT_EPS;
    *momentum = params && params->momentum != 0.0f ? params->momentum : BN_DEFAULT_MOMENTUM;
}

clcnn_status clcnn_batchnorm_output_shape(const int x_shape[4], int training,
                                          const clcnn_batchnorm_params *params, int y_shape[4],
                                          char *message, size_t message_size)
{
    if (!x_shape || !y_shape) {
        clcnn__message(message, message_size, "batchnorm: %s is NULL",
                       !x_shape ? "x_shape" : "y_shape");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    float eps, momentum;
    resolve(params, &eps, &momentum);
    if (!isfinite(eps) || eps <= 0.0f) {
        clcnn__message(message, message_size,
                       "batchnorm: eps %g must be finite and > 0 (0 means 1e-5)", (double)eps);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    if (!(momentum > 0.0f && momentum <= 1.0f)) {
        clcnn__message(message, message_size,
                       "batchnorm: momentum %g must be in (0, 1] (0 means 0.1)",
                       (double)momentum);
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    char xs[64];
    clcnn__shape_str(x_shape, xs, sizeof xs);
    if (clcnn__shape_count(x_shape) == 0) {
        clcnn__message(message, message_size, "batchnorm: x shape %s is invalid", xs);
        return CLCNN_ERR_SHAPE;
    }
    /* fits: the whole count does */
    const int M = x_shape[0] * x_shape[2] * x_shape[3];
    if (training && M < 2) {
        clcnn__message(message, message_size,
                       "batchnorm: x %s has %d value per channel; training needs at least 2 "
                       "(N * H * W)",
                       xs, M);
        return CLCNN_ERR_SHAPE;
    }
    for (int i = 0; i < 4; i++)
        y_shape[i] = x_shape[i];
    clcnn__message(message, message_size, "%s", "");
    return CLCNN_OK;
}

/* One operand of a batch-norm call, for the shape and overlap checks. */
typedef struct operand {
    const char *name;
    const clcnn_tensor *t; /* NULL: absent (optional) */
    int per_channel;       /* (C,1,1,1), else x's shape */
    int written;
} operand;

/*
 * Checks each present operand's context and shape against x's shape
 * (after the pure check), and that no written operand overlaps another one
 * (in_place: except y exactly over x, the first two operands).
 */
static clcnn_status check_operands(clcnn_context *ctx, const char *op, const int x_shape[4],
                                   int training, const clcnn_batchnorm_params *params,
                                   const operand *ops, int count, int in_place)
{
    char msg[512];
    int want[4];
    clcnn_status st = clcnn_batchnorm_output_shape(x_shape, training, params, want, msg,
                                                   sizeof msg);
    if (st != CLCNN_OK)
        return clcnn__fail(ctx, st, "%s: %s", op, msg);
    const int channel[4] = {x_shape[1], 1, 1, 1};
    for (int i = 0; i < count; i++) {
        if (!ops[i].t)
            continue;
        if ((st = clcnn__expect_shape(ctx, op, ops[i].name, ops[i].t,
                                      ops[i].per_channel ? channel : want,
                                      ops[i].per_channel ? "x's channels need" : "x is")) !=
            CLCNN_OK)
            return st;
    }
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++) {
            if (!(ops[i].written || ops[j].written) ||
                !clcnn__tensors_overlap(ops[i].t, ops[j].t))
                continue;
            if (in_place && i == 0 && j == 1 && clcnn__tensors_same(ops[0].t, ops[1].t))
                continue;
            return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "%s: %s overlaps %s in memory%s",
                               op, ops[j].name, ops[i].name,
                               in_place && i == 0 && j == 1
                                   ? " (only exact in-place use is allowed)"
                                   : "");
        }
    return CLCNN_OK;
}

/* Checks that each tensor is not NULL (unless optional) and of ctx. */
static clcnn_status check_present(clcnn_context *ctx, const operand *ops, int count,
                                  const int *optional)
{
    for (int i = 0; i < count; i++) {
        if (!ops[i].t && optional[i])
            continue;
        clcnn_status st = clcnn__check_tensor(ctx, ops[i].t, ops[i].name);
        if (st != CLCNN_OK)
            return st;
    }
    return CLCNN_OK;
}

static size_t pow2_floor(size_t n)
{
    size_t p = 1;
    while (p * 2 <= n)
        p *= 2;
    return p;
}

/* The per-channel kernels run one group of WG work-items per channel: 256
 * for the GPU family (a tree per channel), 1 for the CPU family (one
 * work-item walks its channel in order). */
static clcnn_status channel_kernel(clcnn_context *ctx, const char *name, size_t *wg,
                                   cl_kernel *k)
{
    size_t w = ctx->gpu_kernels ? 256 : 1;
    *wg = pow2_floor(w < ctx->max_work_group_size ? w : ctx->max_work_group_size);
    char options[32];
    snprintf(options, sizeof options, "-DWG=%zu", *wg);
    return clcnn__kernel(ctx, "batchnorm", options, name, k);
}

/* x (N,C,H,W), gamma, beta, running_*, save_* (C,1,1,1) -> y (N,C,H,W) */
clcnn_status clcnn_batchnorm_forward_train(clcnn_context *ctx, const clcnn_tensor *x,
                                           const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                           clcnn_tensor *running_mean,
                                           clcnn_tensor *running_var, clcnn_tensor *save_mean,
                                           clcnn_tensor *save_invstd, clcnn_tensor *y,
                                           const clcnn_batchnorm_params *params)
{
    static const char op[] = "clcnn_batchnorm_forward_train";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    const operand ops[] = {
        {"x", x, 0, 0},
        {"y", y, 0, 1},
        {"gamma", gamma, 1, 0},
        {"beta", beta, 1, 0},
        {"running_mean", running_mean, 1, 1},
        {"running_var", running_var, 1, 1},
        {"save_mean", save_mean, 1, 1},
        {"save_invstd", save_invstd, 1, 1},
    };
    static const int optional[] = {0, 0, 0, 0, 1, 1, 0, 0};
    const int count = (int)(sizeof ops / sizeof ops[0]);
    clcnn_status st;
    if ((st = check_present(ctx, ops, count, optional)) != CLCNN_OK)
        return st;
    if (!running_mean != !running_var)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "%s: running_mean and running_var must both be given or both NULL "
                           "(%s is NULL)",
                           op, running_mean ? "running_var" : "running_mean");
    if ((st = check_operands(ctx, op, x->shape, 1, params, ops, count, 0)) != CLCNN_OK)
        return st;
    float eps, momentum;
    resolve(params, &eps, &momentum);
    size_t wg;
    cl_kernel k;
    if ((st = channel_kernel(ctx, "bn_fwd_train", &wg, &k)) != CLCNN_OK)
        return st;
    const int C = x->shape[1], HW = x->shape[2] * x->shape[3], M = x->shape[0] * HW;
    const int update = running_mean != NULL;
    const clcnn_tensor *rm = update ? running_mean : save_mean; /* any buffer when unused */
    const clcnn_tensor *rv = update ? running_var : save_mean;
    size_t global = wg * (size_t)C;
    return CLCNN__LAUNCH(ctx, k, 1, &global, &wg, CLCNN__ARG_TENSOR(x), CLCNN__ARG_TENSOR(y),
                         CLCNN__ARG_TENSOR(gamma), CLCNN__ARG_TENSOR(beta),
                         CLCNN__ARG_TENSOR(rm), CLCNN__ARG_TENSOR(rv),
                         CLCNN__ARG_TENSOR(save_mean), CLCNN__ARG_TENSOR(save_invstd),
                         CLCNN__ARG_INT(update), CLCNN__ARG_FLOAT(momentum),
                         CLCNN__ARG_FLOAT(eps), CLCNN__ARG_INT(C), CLCNN__ARG_INT(HW),
                         CLCNN__ARG_INT(M));
}

/* x (N,C,H,W), gamma, beta, running_* (C,1,1,1) -> y (N,C,H,W), may be x */
clcnn_status clcnn_batchnorm_forward_inference(clcnn_context *ctx, const clcnn_tensor *x,
                                               const clcnn_tensor *gamma,
                                               const clcnn_tensor *beta,
                                               const clcnn_tensor *running_mean,
                                               const clcnn_tensor *running_var,
                                               clcnn_tensor *y,
                                               const clcnn_batchnorm_params *params)
{
    static const char op[] = "clcnn_batchnorm_forward_inference";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    const operand ops[] = {
        {"x", x, 0, 0},
        {"y", y, 0, 1},
        {"gamma", gamma, 1, 0},
        {"beta", beta, 1, 0},
        {"running_mean", running_mean, 1, 0},
        {"running_var", running_var, 1, 0},
    };
    static const int optional[] = {0, 0, 0, 0, 0, 0};
    const int count = (int)(sizeof ops / sizeof ops[0]);
    clcnn_status st;
    if ((st = check_present(ctx, ops, count, optional)) != CLCNN_OK ||
        (st = check_operands(ctx, op, x->shape, 0, params, ops, count, 1)) != CLCNN_OK)
        return st;
    float eps, momentum;
    resolve(params, &eps, &momentum);
    size_t wg; /* the program of the other kernels; this one is element-wise */
    cl_kernel k;
    if ((st = channel_kernel(ctx, "bn_fwd_infer", &wg, &k)) != CLCNN_OK)
        return st;
    const int C = x->shape[1], HW = x->shape[2] * x->shape[3];
    const size_t total = clcnn__shape_count(x->shape);
    size_t global, local;
    clcnn__launch_size_1d(ctx, total, &global, &local);
    return CLCNN__LAUNCH(ctx, k, 1, &global, &local, CLCNN__ARG_TENSOR(x), CLCNN__ARG_TENSOR(y),
                         CLCNN__ARG_TENSOR(gamma), CLCNN__ARG_TENSOR(beta),
                         CLCNN__ARG_TENSOR(running_mean), CLCNN__ARG_TENSOR(running_var),
                         CLCNN__ARG_FLOAT(eps), CLCNN__ARG_INT(C), CLCNN__ARG_INT(HW),
                         CLCNN__ARG_INT(total));
}

/* x, dy (N,C,H,W), gamma, save_* (C,1,1,1) -> dx (N,C,H,W), dgamma, dbeta
 * (C,1,1,1) += */
clcnn_status clcnn_batchnorm_backward(clcnn_context *ctx, const clcnn_tensor *x,
                                      const clcnn_tensor *dy, const clcnn_tensor *gamma,
                                      const clcnn_tensor *save_mean,
                                      const clcnn_tensor *save_invstd, clcnn_tensor *dx,
                                      clcnn_tensor *dgamma, clcnn_tensor *dbeta)
{
    static const char op[] = "clcnn_batchnorm_backward";
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    const operand ops[] = {
        {"x", x, 0, 0},
        {"dx", dx, 0, 1},
        {"dy", dy, 0, 0},
        {"gamma", gamma, 1, 0},
        {"save_mean", save_mean, 1, 0},
        {"save_invstd", save_invstd, 1, 0},
        {"dgamma", dgamma, 1, 1},
        {"dbeta", dbeta, 1, 1},
    };
    static const int optional[] = {0, 0, 0, 0, 0, 0, 1, 1};
    const int count = (int)(sizeof ops / sizeof ops[0]);
    clcnn_status st;
    if ((st = check_present(ctx, ops, count, optional)) != CLCNN_OK ||
        (st = check_operands(ctx, op, x->shape, 1, NULL, ops, count, 0)) != CLCNN_OK)
        return st;
    size_t wg;
    cl_kernel k;
    if ((st = channel_kernel(ctx, "bn_bwd", &wg, &k)) != CLCNN_OK)
        return st;
    const int C = x->shape[1], HW = x->shape[2] * x->shape[3], M = x->shape[0] * HW;
    const clcnn_tensor *dg = dgamma ? dgamma : dx, *dbt = dbeta ? dbeta : dx; /* unused: any */
    size_t global = wg * (size_t)C;
    return CLCNN__LAUNCH(ctx, k, 1, &global, &wg, CLCNN__ARG_TENSOR(x), CLCNN__ARG_TENSOR(dy),
                         CLCNN__ARG_TENSOR(gamma), CLCNN__ARG_TENSOR(save_mean),
                         CLCNN__ARG_TENSOR(save_invstd), CLCNN__ARG_TENSOR(dx),
                         CLCNN__ARG_TENSOR(dg), CLCNN__ARG_TENSOR(dbt),
                         CLCNN__ARG_INT(dgamma != NULL), CLCNN__ARG_INT(dbeta != NULL),
                         CLCNN__ARG_INT(C), CLCNN__ARG_INT(HW), CLCNN__ARG_INT(M));
}
