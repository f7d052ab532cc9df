/*
 * Optimisers and learning-rate schedules: several device steps of SGD (plain,
 * momentum, Nesterov, weight decay) and Adam against float64 references over
 * element counts that leave float4 tails, Adam's step numbering, tensors at
 * odd buffer offsets, the schedules against their formulas, and tables of
 * invalid arguments.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn_cl.h"
#include "optim.h"
#include "optim_ref.h"
#include "runtime.h"
#include "testutil.h"
#include "tolerance.h"

/* Moments can cancel towards zero over steps, leaving a few float32 ulps of
 * the largest term (about 1) as absolute error. */
#define STATE_ATOL 1e-7

static const struct {
    const char *name;
    clcnn_optim_params p;
} configs[] = {
    {"sgd", {.kind = CLCNN_OPTIM_SGD, .lr = 0.1f}},
    {"sgd weight decay", {.kind = CLCNN_OPTIM_SGD, .lr = 0.1f, .weight_decay = 0.05f}},
    {"sgd momentum", {.kind = CLCNN_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f}},
    {"sgd nesterov", {.kind = CLCNN_OPTIM_SGD, .lr = 0.05f, .momentum = 0.8f, .nesterov = 1}},
    {"sgd nesterov weight decay",
     {.kind = CLCNN_OPTIM_SGD, .lr = 0.02f, .weight_decay = 0.01f, .momentum = 0.9f,
      .nesterov = 1}},
    {"adam defaults", {.kind = CLCNN_OPTIM_ADAM, .lr = 1e-3f}},
    {"adam weight decay", {.kind = CLCNN_OPTIM_ADAM, .lr = 1e-2f, .weight_decay = 0.1f}},
    {"adam betas", {.kind = CLCNN_OPTIM_ADAM, .lr = 3e-3f, .beta1 = 0.5f, .beta2 = 0.9f}},
    /* a large eps tells "after the square root" from "inside it" */
    {"adam large eps", {.kind = CLCNN_OPTIM_ADAM, .lr = 1e-2f, .eps = 0.1f}},
};

/* The documented defaults, applied here independently of the library. */
static clcnn_optim_params with_defaults(clcnn_optim_params p)
{
    if (p.kind == CLCNN_OPTIM_ADAM) {
        p.beta1 = p.beta1 == 0.0f ? 0.9f : p.beta1;
        p.beta2 = p.beta2 == 0.0f ? 0.999f : p.beta2;
        p.eps = p.eps == 0.0f ? 1e-8f : p.eps;
    }
    return p;
}

/* One reference step on (p, v or m|v) with grads g, for config p. */
static void ref_step(const clcnn_optim_params *cfg, long step, double *p, const double *g,
                     double *state, size_t count)
{
    clcnn_optim_params c = with_defaults(*cfg);
    if (c.kind == CLCNN_OPTIM_SGD)
        optim_ref_sgd(p, g, state, count, c.lr, c.weight_decay, c.momentum, c.nesterov);
    else
        optim_ref_adam(p, g, state, state + count, count, step, c.lr, c.weight_decay, c.beta1,
                       c.beta2, c.eps);
}

/*
 * Runs `steps` device steps numbered first_step.. on `count` random
 * parameters with fresh random gradients each step, checking after every
 * step the parameters and state against the reference and that grad is zero.
 * param, grad, state are the device tensors to use (any offsets).
 */
static void run_steps(const char *name, const clcnn_optim_params *cfg, uint64_t seed,
                      size_t count, long first_step, int steps, clcnn_tensor *param,
                      clcnn_tensor *grad, clcnn_tensor *state)
{
    const int stateful = cfg->kind == CLCNN_OPTIM_ADAM || cfg->momentum > 0.0f;
    const size_t scount = clcnn_optim_state_count(cfg->kind, count);
    tu_rng rng = tu_rng_make(seed);
    float *pf = tu_alloc(count * sizeof *pf), *gf = tu_alloc(count * sizeof *gf);
    float *sf = tu_alloc(scount * sizeof *sf);
    double *p = tu_alloc(count * sizeof *p), *g = tu_alloc(count * sizeof *g);
    double *s = tu_alloc(scount * sizeof *s);
    tu_fill(&rng, pf, count, -1.0f, 1.0f);
    for (size_t i = 0; i < count; i++)
        p[i] = pf[i];
    for (size_t i = 0; i < scount; i++) {
        sf[i] = stateful ? 0.0f : 42.0f; /* plain SGD must leave state alone */
        s[i] = sf[i];
    }
    tu_ok(clcnn_tensor_write(param, pf, count));
    if (state)
        tu_ok(clcnn_tensor_write(state, sf, scount));

    char what[160];
    for (int k = 0; k < steps; k++) {
        long step = first_step + k;
        tu_fill(&rng, gf, count, -1.0f, 1.0f);
        for (size_t i = 0; i < count; i++)
            g[i] = gf[i];
        tu_ok(clcnn_tensor_write(grad, gf, count));
        tu_ok(clcnn_optim_step(tu_ctx(), cfg, step, param, grad, state));
        ref_step(cfg, step, p, g, s, count);

        tu_ok(clcnn_tensor_read(param, pf, count));
        snprintf(what, sizeof what, "%s: param, count %zu, step %ld", name, count, step);
        tu_compare(what, seed, pf, p, count, TOL_OPTIM_RTOL, TOL_OPTIM_ATOL);
        tu_ok(clcnn_tensor_read(grad, gf, count));
        for (size_t i = 0; i < count; i++)
            ck_assert_msg(gf[i] == 0.0f, "%s: grad[%zu] = %g after the step, want 0", what, i,
                          (double)gf[i]);
        if (state) {
            tu_ok(clcnn_tensor_read(state, sf, scount));
            snprintf(what, sizeof what, "%s: state, count %zu, step %ld", name, count, step);
            if (stateful)
                tu_compare(what, seed, sf, s, scount, TOL_OPTIM_RTOL, STATE_ATOL);
            else
                for (size_t i = 0; i < scount; i++)
                    ck_assert_msg(sf[i] == 42.0f, "%s: state[%zu] changed to %g", what, i,
                                  (double)sf[i]);
        }
    }
    free(pf);
    free(gf);
    free(sf);
    free(p);
    free(g);
    free(s);
}

static const size_t counts[] = {1, 3, 4, 5, 1001, 4099};

/* Five steps of each configuration over counts with every tail length. */
START_TEST(test_steps)
{
    const clcnn_optim_params *cfg = &configs[_i].p;
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        const size_t count = counts[c];
        /* shapes other than flat work the same: the op sees element counts */
        clcnn_tensor *param = tu_tensor(1, (int)count, 1, 1, NULL);
        clcnn_tensor *grad = tu_tensor((int)count, 1, 1, 1, NULL);
        clcnn_tensor *state =
            tu_tensor((int)clcnn_optim_state_count(cfg->kind, count), 1, 1, 1, NULL);
        run_steps(configs[_i].name, cfg, 100 * (uint64_t)_i + c, count, 1, 5, param, grad,
                  state);
        clcnn_tensor_destroy(param);
        clcnn_tensor_destroy(grad);
        clcnn_tensor_destroy(state);
    }
}
END_TEST

/* Adam's bias correction follows the step number passed in: runs numbered
 * from 1, 7 and 10^9 all match the reference, and differ from each other. */
START_TEST(test_adam_step_numbering)
{
    const clcnn_optim_params cfg = {.kind = CLCNN_OPTIM_ADAM, .lr = 1e-2f, .beta2 = 0.99f};
    const size_t count = 37;
    const long firsts[] = {1, 7, 1000000000L};
    float after[3][37];
    for (int r = 0; r < 3; r++) {
        clcnn_tensor *param = tu_tensor((int)count, 1, 1, 1, NULL);
        clcnn_tensor *grad = tu_tensor((int)count, 1, 1, 1, NULL);
        clcnn_tensor *state = tu_tensor(2 * (int)count, 1, 1, 1, NULL);
        run_steps("adam numbering", &cfg, 777, count, firsts[r], 3, param, grad, state);
        tu_ok(clcnn_tensor_read(param, after[r], count));
        clcnn_tensor_destroy(param);
        clcnn_tensor_destroy(grad);
        clcnn_tensor_destroy(state);
    }
    /* same seed, same data: only the step numbers differ */
    ck_assert_msg(memcmp(after[0], after[1], sizeof after[0]) != 0, "steps 1.. and 7.. agree");
    ck_assert_msg(memcmp(after[1], after[2], sizeof after[1]) != 0, "steps 7.. and 1e9.. agree");
}
END_TEST

/* param, grad and state as slices of one caller buffer at odd offsets (so
 * float4 accesses are not 16-byte aligned); nothing outside them changes. */
START_TEST(test_offsets)
{
    static const clcnn_optim_params cfgs[] = {
        {.kind = CLCNN_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f, .nesterov = 1},
        {.kind = CLCNN_OPTIM_ADAM, .lr = 1e-2f, .weight_decay = 0.01f},
    };
    for (size_t c = 0; c < 2; c++) {
        const size_t count = 1001, scount = clcnn_optim_state_count(cfgs[c].kind, count);
        const size_t off_p = 1, off_g = off_p + count + 2, off_s = off_g + count + 3,
                     total = off_s + scount + 5;
        clcnn_context *ctx = tu_ctx();
        cl_int err;
        cl_mem buf = clCreateBuffer(clcnn_context_cl_context(ctx), CL_MEM_READ_WRITE,
                                    total * sizeof(float), NULL, &err);
        ck_assert_int_eq(err, CL_SUCCESS);
        float *guard = tu_alloc(total * sizeof *guard);
        tu_rng rng = tu_rng_make(900 + c);
        tu_fill(&rng, guard, total, -5.0f, 5.0f);
        clcnn_tensor *whole = NULL, *param = NULL, *grad = NULL, *state = NULL;
        tu_ok(clcnn_tensor_wrap(ctx, buf, 0, (int)total, 1, 1, 1, &whole));
        tu_ok(clcnn_tensor_write(whole, guard, total));
        tu_ok(clcnn_tensor_wrap(ctx, buf, off_p * 4, (int)count, 1, 1, 1, &param));
        tu_ok(clcnn_tensor_wrap(ctx, buf, off_g * 4, (int)count, 1, 1, 1, &grad));
        tu_ok(clcnn_tensor_wrap(ctx, buf, off_s * 4, (int)scount, 1, 1, 1, &state));
        clReleaseMemObject(buf);
        run_steps("offsets", &cfgs[c], 950 + c, count, 1, 3, param, grad, state);
        float *got = tu_read(whole);
        for (size_t i = 0; i < total; i++) {
            int inside = (i >= off_p && i < off_p + count) || (i >= off_g && i < off_g + count) ||
                         (i >= off_s && i < off_s + scount);
            if (!inside)
                ck_assert_msg(got[i] == guard[i], "element %zu outside the tensors changed", i);
        }
        free(got);
        free(guard);
        clcnn_tensor_destroy(whole);
        clcnn_tensor_destroy(param);
        clcnn_tensor_destroy(grad);
        clcnn_tensor_destroy(state);
    }
}
END_TEST

/* Plain SGD needs no state tensor. */
START_TEST(test_sgd_without_state)
{
    const clcnn_optim_params cfg = {.kind = CLCNN_OPTIM_SGD, .lr = 0.25f, .weight_decay = 0.1f};
    clcnn_tensor *param = tu_tensor(7, 1, 1, 1, NULL), *grad = tu_tensor(7, 1, 1, 1, NULL);
    run_steps("sgd, state NULL", &cfg, 31, 7, 1, 3, param, grad, NULL);
    clcnn_tensor_destroy(param);
    clcnn_tensor_destroy(grad);
}
END_TEST

START_TEST(test_state_count)
{
    ck_assert_uint_eq(clcnn_optim_state_count(CLCNN_OPTIM_SGD, 10), 10);
    ck_assert_uint_eq(clcnn_optim_state_count(CLCNN_OPTIM_ADAM, 10), 20);
    ck_assert_uint_eq(clcnn_optim_state_count(CLCNN_OPTIM_ADAM, 0), 0);
}
END_TEST

/* The schedules against their formulas (float64 references) at several t. */
START_TEST(test_schedules)
{
    const long ts[] = {0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 29, 30, 31, 99, 100, 1000};
    const clcnn_lr_params constant = {.kind = CLCNN_LR_CONSTANT, .base_lr = 0.03f};
    const clcnn_lr_params step = {
        .kind = CLCNN_LR_STEP, .base_lr = 0.1f, .step_size = 3, .gamma = 0.5f};
    const clcnn_lr_params cosine = {
        .kind = CLCNN_LR_COSINE, .base_lr = 0.1f, .total = 30, .min_lr = 0.001f};
    /* compared with the reference rounded to float (0.1 * 0.5^333 is 0 there) */
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        long t = ts[i];
        ck_assert_float_eq(clcnn_lr_at(&constant, t), 0.03f);
        double want = optim_ref_lr_step(0.1f, 3, 0.5f, t);
        ck_assert_msg(fabs(clcnn_lr_at(&step, t) - (float)want) <= 1e-7 * want,
                      "step schedule at t=%ld: got %.9g, want %.9g", t,
                      (double)clcnn_lr_at(&step, t), want);
        want = optim_ref_lr_cosine(0.1f, 0.001f, 30, t);
        ck_assert_msg(fabs(clcnn_lr_at(&cosine, t) - (float)want) <= 1e-7 * want,
                      "cosine schedule at t=%ld: got %.9g, want %.9g", t,
                      (double)clcnn_lr_at(&cosine, t), want);
    }
    /* landmarks, exactly */
    ck_assert_float_eq(clcnn_lr_at(&step, 2), 0.1f);
    ck_assert_float_eq(clcnn_lr_at(&step, 3), 0.05f);
    ck_assert_float_eq(clcnn_lr_at(&cosine, 0), 0.1f);
    ck_assert_float_eq(clcnn_lr_at(&cosine, 30), 0.001f);
    ck_assert_float_eq(clcnn_lr_at(&cosine, 31), 0.001f);
    ck_assert_double_eq_tol(clcnn_lr_at(&cosine, 15), (0.1 + 0.001) / 2, 1e-8);
    /* a negative time is time 0 */
    ck_assert_float_eq(clcnn_lr_at(&step, -5), 0.1f);
    ck_assert_float_eq(clcnn_lr_at(&cosine, -5), 0.1f);
    /* cosine can also rise, when min_lr > base_lr (warm-up shapes) */
    const clcnn_lr_params rise = {
        .kind = CLCNN_LR_COSINE, .base_lr = 0.0f, .total = 4, .min_lr = 1.0f};
    ck_assert_double_eq_tol(clcnn_lr_at(&rise, 1), optim_ref_lr_cosine(0.0, 1.0, 4, 1), 1e-7);

    /* invalid fields give base_lr; NULL gives 0 */
    const clcnn_lr_params bad[] = {
        {.kind = CLCNN_LR_STEP, .base_lr = 0.2f, .step_size = 0, .gamma = 0.5f},
        {.kind = CLCNN_LR_STEP, .base_lr = 0.2f, .step_size = -4, .gamma = 0.5f},
        {.kind = CLCNN_LR_STEP, .base_lr = 0.2f, .step_size = 2, .gamma = 0.0f},
        {.kind = CLCNN_LR_STEP, .base_lr = 0.2f, .step_size = 2, .gamma = -0.5f},
        {.kind = CLCNN_LR_STEP, .base_lr = 0.2f, .step_size = 2, .gamma = NAN},
        {.kind = CLCNN_LR_COSINE, .base_lr = 0.2f, .total = 0, .min_lr = 0.01f},
        {.kind = CLCNN_LR_COSINE, .base_lr = 0.2f, .total = 10, .min_lr = INFINITY},
        {.kind = (clcnn_lr_schedule)9, .base_lr = 0.2f},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(clcnn_lr_at(&bad[i], 50) == 0.2f, "invalid schedule %zu: got %g", i,
                      (double)clcnn_lr_at(&bad[i], 50));
    ck_assert_float_eq(clcnn_lr_at(NULL, 3), 0.0f);
}
END_TEST

enum field { F_NONE, F_KIND, F_LR, F_WD, F_MOMENTUM, F_NESTEROV, F_BETA1, F_BETA2, F_EPS };

/* base with one field set to v. */
static clcnn_optim_params tweak(clcnn_optim_params base, enum field f, float v)
{
    switch (f) {
    case F_NONE: break;
    case F_KIND: base.kind = (clcnn_optimizer)(int)v; break;
    case F_LR: base.lr = v; break;
    case F_WD: base.weight_decay = v; break;
    case F_MOMENTUM: base.momentum = v; break;
    case F_NESTEROV: base.nesterov = (int)v; break;
    case F_BETA1: base.beta1 = v; break;
    case F_BETA2: base.beta2 = v; break;
    case F_EPS: base.eps = v; break;
    }
    return base;
}

/* The pure check: hyper-parameters, step and counts in, status and message out. */
START_TEST(test_check_table)
{
    const clcnn_optim_params sgd = {.kind = CLCNN_OPTIM_SGD, .lr = 0.1f};
    const clcnn_optim_params mom = {.kind = CLCNN_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f};
    const clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 1e-3f, .beta1 = 0.9f,
                                     .beta2 = 0.999f, .eps = 1e-8f};
    const struct {
        const clcnn_optim_params *base;
        enum field f;
        float v;
        long step;
        size_t param, grad, state;
        clcnn_status want;
        const char *text;
    } rows[] = {
        {&sgd, F_NONE, 0, 1, 10, 10, 10, CLCNN_OK, ""},
        {&sgd, F_NONE, 0, 1, 10, 10, 0, CLCNN_OK, ""}, /* plain SGD needs no state */
        {&mom, F_NONE, 0, 3, 10, 10, 10, CLCNN_OK, ""},
        {&adam, F_NONE, 0, 1, 10, 10, 20, CLCNN_OK, ""},
        {&sgd, F_KIND, 5, 1, 10, 10, 10, CLCNN_ERR_INVALID_ARGUMENT, "unknown kind 5"},
        {&sgd, F_LR, -0.1f, 1, 10, 10, 10, CLCNN_ERR_INVALID_ARGUMENT, "lr -0.1"},
        {&adam, F_LR, NAN, 1, 10, 10, 20, CLCNN_ERR_INVALID_ARGUMENT, "lr nan"},
        {&adam, F_LR, INFINITY, 1, 10, 10, 20, CLCNN_ERR_INVALID_ARGUMENT, "lr inf"},
        {&sgd, F_WD, -1.0f, 1, 10, 10, 10, CLCNN_ERR_INVALID_ARGUMENT, "weight_decay -1"},
        {&adam, F_WD, NAN, 1, 10, 10, 20, CLCNN_ERR_INVALID_ARGUMENT, "weight_decay nan"},
        {&sgd, F_MOMENTUM, 1.0f, 1, 10, 10, 10, CLCNN_ERR_INVALID_ARGUMENT, "momentum 1"},
        {&sgd, F_MOMENTUM, -0.5f, 1, 10, 10, 10, CLCNN_ERR_INVALID_ARGUMENT, "momentum -0.5"},
        {&sgd, F_MOMENTUM, NAN, 1, 10, 10, 10, CLCNN_ERR_INVALID_ARGUMENT, "momentum nan"},
        {&sgd, F_NESTEROV, 1, 1, 10, 10, 10, CLCNN_ERR_INVALID_ARGUMENT,
         "nesterov needs momentum"},
        {&adam, F_BETA1, 1.0f, 1, 10, 10, 20, CLCNN_ERR_INVALID_ARGUMENT, "beta1 1"},
        {&adam, F_BETA2, -0.1f, 1, 10, 10, 20, CLCNN_ERR_INVALID_ARGUMENT, "beta2 -0.1"},
        {&adam, F_BETA2, 1.5f, 1, 10, 10, 20, CLCNN_ERR_INVALID_ARGUMENT, "beta2 1.5"},
        {&adam, F_EPS, -1e-8f, 1, 10, 10, 20, CLCNN_ERR_INVALID_ARGUMENT, "eps -1e-08"},
        {&adam, F_EPS, INFINITY, 1, 10, 10, 20, CLCNN_ERR_INVALID_ARGUMENT, "eps inf"},
        {&sgd, F_NONE, 0, 0, 10, 10, 10, CLCNN_ERR_INVALID_ARGUMENT, "step 0"},
        {&adam, F_NONE, 0, -2, 10, 10, 20, CLCNN_ERR_INVALID_ARGUMENT, "step -2"},
        {&sgd, F_NONE, 0, 1, 10, 9, 10, CLCNN_ERR_SHAPE, "grad has 9 elements, param 10"},
        {&mom, F_NONE, 0, 1, 10, 10, 11, CLCNN_ERR_SHAPE, "state has 11 elements, but 10"},
        {&sgd, F_NONE, 0, 1, 10, 10, 20, CLCNN_ERR_SHAPE, "state has 20"},
        {&adam, F_NONE, 0, 1, 10, 10, 10, CLCNN_ERR_SHAPE, "but 20 are needed"},
        {&mom, F_NONE, 0, 1, 10, 10, 0, CLCNN_ERR_INVALID_ARGUMENT, "state is NULL"},
        {&adam, F_NONE, 0, 1, 10, 10, 0, CLCNN_ERR_INVALID_ARGUMENT,
         "state is NULL; it needs 20"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char msg[512] = "";
        clcnn_optim_params p = tweak(*rows[i].base, rows[i].f, rows[i].v);
        clcnn_status st = clcnn__optim_check(&p, rows[i].step, rows[i].param,
                                             rows[i].grad, rows[i].state, msg, sizeof msg);
        ck_assert_msg(st == rows[i].want, "row %zu: expected %s, got %s (%s)", i,
                      clcnn_status_name(rows[i].want), clcnn_status_name(st), msg);
        if (st != CLCNN_OK)
            ck_assert_msg(strstr(msg, rows[i].text) != NULL, "row %zu: message '%s' lacks '%s'",
                          i, msg, rows[i].text);
    }
    ck_assert_int_eq(clcnn__optim_check(NULL, 1, 1, 1, 1, NULL, 0), CLCNN_ERR_INVALID_ARGUMENT);

    /* zeros stand for Adam's defaults; SGD fields are left alone */
    clcnn_optim_params r = clcnn__optim_resolve(&(clcnn_optim_params){.kind = CLCNN_OPTIM_ADAM});
    ck_assert_float_eq(r.beta1, 0.9f);
    ck_assert_float_eq(r.beta2, 0.999f);
    ck_assert_float_eq(r.eps, 1e-8f);
    r = clcnn__optim_resolve(&sgd);
    ck_assert_float_eq(r.beta1, 0.0f);
}
END_TEST

/* The op's own validation: NULL handles, counts, parameters, shared memory,
 * foreign tensors; nothing is changed by a refused step. */
START_TEST(test_invalid_arguments)
{
    clcnn_context *ctx = tu_ctx();
    const clcnn_optim_params mom = {.kind = CLCNN_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f};
    const clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 0.1f};
    const clcnn_optim_params bad_lr = {.kind = CLCNN_OPTIM_ADAM, .lr = -1.0f};
    float ones[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    clcnn_tensor *p = tu_tensor(6, 1, 1, 1, ones), *g = tu_tensor(2, 3, 1, 1, ones);
    clcnn_tensor *s6 = tu_tensor(6, 1, 1, 1, NULL), *s12 = tu_tensor(12, 1, 1, 1, NULL);
    clcnn_tensor *g5 = tu_tensor(5, 1, 1, 1, NULL);
    const struct {
        const clcnn_optim_params *params;
        long step;
        clcnn_tensor *p, *g, *s;
        clcnn_status want;
        const char *text;
    } rows[] = {
        {NULL, 1, p, g, s6, CLCNN_ERR_INVALID_ARGUMENT, "params is NULL"},
        {&mom, 1, NULL, g, s6, CLCNN_ERR_INVALID_ARGUMENT, "param is NULL"},
        {&mom, 1, p, NULL, s6, CLCNN_ERR_INVALID_ARGUMENT, "grad is NULL"},
        {&mom, 1, p, g, NULL, CLCNN_ERR_INVALID_ARGUMENT, "state is NULL"},
        {&adam, 1, p, g, NULL, CLCNN_ERR_INVALID_ARGUMENT, "state is NULL"},
        {&mom, 1, p, g5, s6, CLCNN_ERR_SHAPE, "grad has 5 elements, param 6"},
        {&mom, 1, p, g, s12, CLCNN_ERR_SHAPE, "state has 12 elements"},
        {&adam, 1, p, g, s6, CLCNN_ERR_SHAPE, "but 12 are needed"},
        {&bad_lr, 1, p, g, s12, CLCNN_ERR_INVALID_ARGUMENT, "lr -1"},
        {&adam, 0, p, g, s12, CLCNN_ERR_INVALID_ARGUMENT, "step 0"},
        {&mom, 1, p, p, s6, CLCNN_ERR_INVALID_ARGUMENT, "param and grad overlap"},
        {&mom, 1, p, g, g, CLCNN_ERR_INVALID_ARGUMENT, "grad and state overlap"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ctx->error[0] = '\0';
        tu_expect_status(
            clcnn_optim_step(ctx, rows[i].params, rows[i].step, rows[i].p, rows[i].g, rows[i].s),
            rows[i].want);
        ck_assert_msg(strstr(clcnn_last_error(ctx), rows[i].text) != NULL,
                      "row %zu: message '%s' lacks '%s'", i, clcnn_last_error(ctx),
                      rows[i].text);
    }
    ck_assert_int_eq(clcnn_optim_step(NULL, &mom, 1, p, g, s6), CLCNN_ERR_INVALID_ARGUMENT);
    float back[6];
    tu_ok(clcnn_tensor_read(p, back, 6));
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(back[i], 1.0f);

    /* slices of one tensor that overlap, and ones that only touch */
    clcnn_tensor *arena = tu_tensor(30, 1, 1, 1, NULL), *a = NULL, *b = NULL, *c = NULL;
    tu_ok(clcnn__tensor_slice(arena, 0, 6, 1, 1, 1, &a));
    tu_ok(clcnn__tensor_slice(arena, 5, 6, 1, 1, 1, &b));
    tu_ok(clcnn__tensor_slice(arena, 12, 6, 1, 1, 1, &c));
    ctx->error[0] = '\0';
    tu_expect_status(clcnn_optim_step(ctx, &mom, 1, a, b, c), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clcnn_last_error(ctx), "param and grad overlap"));
    clcnn_tensor_destroy(b);
    tu_ok(clcnn__tensor_slice(arena, 6, 6, 1, 1, 1, &b));
    tu_ok(clcnn_tensor_fill(arena, 0.0f));
    tu_ok(clcnn_optim_step(ctx, &mom, 1, a, b, c));

    /* a tensor of another context */
    clcnn_context *other = NULL;
    tu_ok(clcnn_context_create(NULL, &other, NULL, 0));
    clcnn_tensor *foreign = NULL;
    ck_assert_int_eq(clcnn_tensor_create(other, 6, 1, 1, 1, &foreign), CLCNN_OK);
    ctx->error[0] = '\0';
    tu_expect_status(clcnn_optim_step(ctx, &mom, 1, p, foreign, s6), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clcnn_last_error(ctx), "grad belongs to another context"));
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);

    clcnn_tensor *all[] = {p, g, s6, s12, g5, arena, a, b, c};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("optim_step");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_steps, 0, (int)(sizeof configs / sizeof configs[0]));
    tcase_add_test(tc, test_adam_step_numbering);
    tcase_add_test(tc, test_offsets);
    tcase_add_test(tc, test_sgd_without_state);
    tcase_add_test(tc, test_state_count);
    suite_add_tcase(s, tc);
    TCase *lr = tcase_create("schedules");
    tcase_add_test(lr, test_schedules);
    suite_add_tcase(s, lr);
    TCase *inv = tcase_create("invalid");
    tcase_set_timeout(inv, 300);
    tcase_add_test(inv, test_check_table);
    tcase_add_test(inv, test_invalid_arguments);
    suite_add_tcase(s, inv);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
