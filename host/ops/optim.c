/*
 * Optimisers (SGD with momentum and Nesterov, Adam) as one kernel launch per
 * flat parameter tensor (kernels/optim.cl), and the learning-rate schedules,
 * which are plain host arithmetic.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "optim.h"
#include "runtime.h"

size_t clcnn_optim_state_count(clcnn_optimizer kind, size_t count)
{
    return kind == CLCNN_OPTIM_ADAM ? 2 * count : count;
}

clcnn_optim_params clcnn__optim_resolve(const clcnn_optim_params *params)
{
    clcnn_optim_params p = *params;
    if (p.kind == CLCNN_OPTIM_ADAM) {
        if (p.beta1 == 0.0f)
            p.beta1 = 0.9f;
        if (p.beta2 == 0.0f)
            p.beta2 = 0.999f;
        if (p.eps == 0.0f)
            p.eps = 1e-8f;
    }
    return p;
}

/* A value in [0, 1); NaN fails. */
static int unit_interval(float v)
{
    return v >= 0.0f && v < 1.0f;
}

clcnn_status clcnn__optim_check(const clcnn_optim_params *params, long step, size_t param_count,
                                size_t grad_count, size_t state_count, char *message,
                                size_t message_size)
{
#define FAIL_(status, ...)                                                                     \
    do {                                                                                       \
        clcnn__message(message, message_size, __VA_ARGS__);                                    \
        return (status);                                                                       \
    } while (0)
    if (!params)
        FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "optimiser: params is NULL");
    const clcnn_optim_params *p = params;
    if (p->kind != CLCNN_OPTIM_SGD && p->kind != CLCNN_OPTIM_ADAM)
        FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "optimiser: unknown kind %d", (int)p->kind);
    if (!(isfinite(p->lr) && p->lr >= 0.0f)) /* 0 is a valid end of a schedule */
        FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "optimiser: lr %g must be finite and >= 0",
              (double)p->lr);
    if (!(isfinite(p->weight_decay) && p->weight_decay >= 0.0f))
        FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "optimiser: weight_decay %g must be finite and >= 0",
              (double)p->weight_decay);
    int stateful = 1;
    if (p->kind == CLCNN_OPTIM_SGD) {
        if (!unit_interval(p->momentum))
            FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "SGD: momentum %g must be in [0, 1)",
                  (double)p->momentum);
        if (p->nesterov && !(p->momentum > 0.0f))
            FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "SGD: nesterov needs momentum > 0");
        stateful = p->momentum > 0.0f;
    } else {
        if (!unit_interval(p->beta1) || !unit_interval(p->beta2))
            FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "Adam: beta1 %g and beta2 %g must be in [0, 1)",
                  (double)p->beta1, (double)p->beta2);
        if (!(isfinite(p->eps) && p->eps > 0.0f))
            FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "Adam: eps %g must be finite and > 0",
                  (double)p->eps);
    }
    if (step < 1)
        FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "optimiser: step %ld must be >= 1 (steps count from 1)",
              step);
    if (grad_count != param_count)
        FAIL_(CLCNN_ERR_SHAPE, "optimiser: grad has %zu elements, param %zu", grad_count,
              param_count);
    size_t want = clcnn_optim_state_count(p->kind, param_count);
    if (state_count == 0 && stateful)
        FAIL_(CLCNN_ERR_INVALID_ARGUMENT, "%s: state is NULL; it needs %zu elements",
              p->kind == CLCNN_OPTIM_ADAM ? "Adam" : "SGD with momentum", want);
    if (state_count != 0 && state_count != want)
        FAIL_(CLCNN_ERR_SHAPE, "%s: state has %zu elements, but %zu are needed for %zu parameters",
              p->kind == CLCNN_OPTIM_ADAM ? "Adam" : "SGD", state_count, want, param_count);
    return CLCNN_OK;
#undef FAIL_
}

clcnn_status clcnn__optim_check_values(const clcnn_optim_params *params, char *message,
                                       size_t message_size)
{
    if (!params)
        return clcnn__optim_check(NULL, 1, 0, 0, 0, message, message_size);
    const clcnn_optim_params p = clcnn__optim_resolve(params);
    clcnn_status st = clcnn__optim_check(&p, 1, 1, 1, clcnn_optim_state_count(p.kind, 1),
                                         message, message_size);
    /* the other kind's fields are unused, but a value no run could have set
     * there is a damaged record, not one to keep */
    if (st == CLCNN_OK && !(unit_interval(p.momentum) && (p.nesterov == 0 || p.nesterov == 1) &&
                            unit_interval(p.beta1) && unit_interval(p.beta2) &&
                            isfinite(p.eps) && p.eps >= 0.0f)) {
        clcnn__message(message, message_size,
                       "optimiser: momentum %g, nesterov %d, beta1 %g, beta2 %g and eps %g "
                       "must be in [0, 1), 0 or 1, [0, 1), [0, 1) and finite >= 0 even where "
                       "unused",
                       (double)p.momentum, p.nesterov, (double)p.beta1, (double)p.beta2,
                       (double)p.eps);
        st = CLCNN_ERR_INVALID_ARGUMENT;
    }
    return st;
}

/* 1 when a and b share memory (the same buffer and overlapping ranges). */
static int overlap(const clcnn_tensor *a, const clcnn_tensor *b)
{
    if (!a || !b || a->mem != b->mem)
        return 0;
    size_t a_end = a->offset + clcnn__shape_count(a->shape);
    size_t b_end = b->offset + clcnn__shape_count(b->shape);
    return a->offset < b_end && b->offset < a_end;
}

clcnn_status clcnn__optim_prepare(clcnn_context *ctx, clcnn_optimizer kind)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    cl_kernel kernel;
    return clcnn__kernel(ctx, "optim", "", kind == CLCNN_OPTIM_ADAM ? "optim_adam" : "optim_sgd",
                         &kernel);
}

/* param, grad (any shape, count elements), state (optim_state_count elements) */
clcnn_status clcnn_optim_step(clcnn_context *ctx, const clcnn_optim_params *params, long step,
                              clcnn_tensor *param, clcnn_tensor *grad, clcnn_tensor *state)
{
    if (!ctx)
        return CLCNN_ERR_INVALID_ARGUMENT;
    if (!params)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "optimiser: params is NULL");
    clcnn_status st = clcnn__check_tensor(ctx, param, "param");
    if (st == CLCNN_OK)
        st = clcnn__check_tensor(ctx, grad, "grad");
    if (st == CLCNN_OK && state)
        st = clcnn__check_tensor(ctx, state, "state");
    if (st != CLCNN_OK)
        return st;
    const clcnn_optim_params p = clcnn__optim_resolve(params);
    const size_t count = clcnn__shape_count(param->shape);
    char msg[512];
    st = clcnn__optim_check(&p, step, count, clcnn__shape_count(grad->shape),
                            state ? clcnn__shape_count(state->shape) : 0, msg, sizeof msg);
    if (st != CLCNN_OK)
        return clcnn__fail(ctx, st, "%s", msg);
    if (overlap(param, grad) || overlap(param, state) || overlap(grad, state))
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "optimiser: param, grad and state must not share memory (%s)",
                           overlap(param, grad)    ? "param and grad overlap"
                           : overlap(param, state) ? "param and state overlap"
                                                   : "grad and state overlap");

    const int adam = p.kind == CLCNN_OPTIM_ADAM;
    cl_kernel kernel;
    st = clcnn__kernel(ctx, "optim", "", adam ? "optim_adam" : "optim_sgd", &kernel);
    if (st != CLCNN_OK)
        return st;
    size_t local = ctx->info.is_gpu ? 256 : 64;
    if (local > ctx->max_work_group_size)
        local = ctx->max_work_group_size;
    size_t global = clcnn__round_up((count + 3) / 4, local);
    /* plain SGD never touches state, so any buffer stands in for a NULL one */
    const clcnn_tensor *s = state ? state : param;
    if (!adam)
        return CLCNN__LAUNCH(ctx, kernel, 1, &global, &local, CLCNN__ARG_TENSOR(param),
                             CLCNN__ARG_TENSOR(grad), CLCNN__ARG_TENSOR(s),
                             CLCNN__ARG_INT(count), CLCNN__ARG_FLOAT(p.lr),
                             CLCNN__ARG_FLOAT(p.weight_decay), CLCNN__ARG_FLOAT(p.momentum),
                             CLCNN__ARG_INT(p.nesterov != 0));
    /* Bias corrections in double: beta^step underflows gracefully for long
     * runs and keeps step 1 (where 1 - beta2 is small) accurate. */
    double bc1 = 1.0 - pow((double)p.beta1, (double)step);
    double bc2 = 1.0 - pow((double)p.beta2, (double)step);
    double step_size = (double)p.lr / bc1;
    double inv_sqrt_bc2 = 1.0 / sqrt(bc2);
    return CLCNN__LAUNCH(ctx, kernel, 1, &global, &local, CLCNN__ARG_TENSOR(param),
                         CLCNN__ARG_TENSOR(grad), CLCNN__ARG_TENSOR(s), CLCNN__ARG_INT(count),
                         CLCNN__ARG_FLOAT(step_size), CLCNN__ARG_FLOAT(inv_sqrt_bc2),
                         CLCNN__ARG_FLOAT(p.beta1), CLCNN__ARG_FLOAT(p.beta2),
                         CLCNN__ARG_FLOAT(p.eps), CLCNN__ARG_FLOAT(p.weight_decay));
}

float clcnn_lr_at(const clcnn_lr_params *schedule, long t)
{
    if (!schedule)
        return 0.0f;
    const clcnn_lr_params *s = schedule;
    if (t < 0)
        t = 0;
    switch (s->kind) {
    case CLCNN_LR_CONSTANT:
        return s->base_lr;
    case CLCNN_LR_STEP:
        if (s->step_size < 1 || !(isfinite(s->gamma) && s->gamma > 0.0f))
            return s->base_lr;
        return (float)((double)s->base_lr * pow((double)s->gamma, (double)(t / s->step_size)));
    case CLCNN_LR_COSINE:
        if (s->total < 1 || !isfinite(s->min_lr))
            return s->base_lr;
        if (t >= s->total)
            return s->min_lr;
        {
            const double pi = 3.14159265358979323846;
            double c = (1.0 + cos(pi * (double)t / (double)s->total)) / 2.0;
            return (float)((double)s->min_lr + ((double)s->base_lr - s->min_lr) * c);
        }
    }
    return s->base_lr;
}
