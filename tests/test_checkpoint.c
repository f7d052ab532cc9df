/*
 * Model files and checkpoints: bit-exact save and load, exact resume across
 * epochs and from inside a stopped epoch, damaged bytes, crafted values that
 * keep a valid checksum (every field of the training record, just inside
 * and just outside its range), the previous format, and failed saves.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "net.h"
#include "testutil.h"

static void temp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "/tmp/clcnn-test-checkpoint-%ld-%s", (long)getpid(), name);
}


static float *read_params(clcnn_net *net)
{
    return tu_read(net->params);
}


static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = tu_alloc(*len);
    ck_assert_uint_eq(fread(data, 1, *len, f), *len);
    fclose(f);
    return data;
}


static void spill(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}


static void expect_rejected(const char *path, const char *why, const char *word)
{
    clcnn_net *net = (clcnn_net *)1;
    clcnn_status st = clcnn_net_load(tu_ctx(), path, 0, &net, NULL, NULL);
    ck_assert_msg(st == CLCNN_ERR_FORMAT, "%s: expected CLCNN_ERR_FORMAT, got %s (%s)", why,
                  clcnn_status_name(st), clcnn_last_error(tu_ctx()));
    ck_assert_ptr_null(net);
    ck_assert_msg(strstr(clcnn_last_error(tu_ctx()), word) != NULL, "%s: message \"%s\" lacks \"%s\"",
                  why, clcnn_last_error(tu_ctx()), word);
}


static void fix_crc(unsigned char *data, size_t len)
{
    unsigned long crc = crc32(0L, data, (uInt)(len - 4));
    data[len - 4] = (unsigned char)crc;
    data[len - 3] = (unsigned char)(crc >> 8);
    data[len - 2] = (unsigned char)(crc >> 16);
    data[len - 1] = (unsigned char)(crc >> 24);
}


/* Save then load gives bit-identical weights and outputs. */
START_TEST(test_save_load_identical)
{
    char path[256];
    temp_path(path, sizeof path, "model.clcnn");
    clcnn_net *net = NULL, *back = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "conv(5,3) relu maxpool(2) flatten dense(7)", 3, 2, 11, 9,
                           &net));
    tu_ok(clcnn_net_init(net, 42));
    tu_ok(clcnn_net_save(net, path, NULL));
    int has_state = 1;
    tu_ok(clcnn_net_load(tu_ctx(), path, 0, &back, NULL, &has_state));
    ck_assert_int_eq(has_state, 0);
    ck_assert_str_eq(clcnn_net_spec(back), clcnn_net_spec(net));
    size_t count = clcnn_net_param_count(net);
    float *a = read_params(net), *b = read_params(back);
    ck_assert_mem_eq(a, b, count * sizeof *a);
    tu_rng rng = tu_rng_make(4);
    float x[3 * 2 * 11 * 9], pa[21], pb[21];
    tu_fill(&rng, x, sizeof x / sizeof x[0], -1, 1);
    tu_ok(clcnn_net_predict(net, x, 3, pa));
    tu_ok(clcnn_net_predict(back, x, 3, pb));
    ck_assert_mem_eq(pa, pb, sizeof pa);
    free(a);
    free(b);
    clcnn_net_destroy(back);
    clcnn_net_destroy(net);
    unlink(path);
}
END_TEST


/* Run 0's weights are kept in *straight; a later run's must equal them to
 * the bit. */
static void same_as_straight(int run, float **straight, clcnn_net *net)
{
    float *w = read_params(net);
    if (run == 0) {
        *straight = w;
        return;
    }
    ck_assert_mem_eq(*straight, w, clcnn_net_param_count(net) * sizeof *w);
    free(w);
}

/* Two epochs straight equal one epoch, a checkpoint, a reload and one more. */
START_TEST(test_resume_exact)
{
    char path[256];
    temp_path(path, sizeof path, "ckpt.clcnn");
    clcnn_dataset *ds = tu_mnist("train", 200);
    clcnn_optim_params sgd = {.kind = CLCNN_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f,
                              .nesterov = 1, .weight_decay = 5e-4f};
    /* augmentation draws from the same generator, so it must resume too */
    clcnn_train_options augment = {.max_shift = 2, .report_every = 1};
    float *straight = NULL;
    for (int run = 0; run < 2; run++) {
        clcnn_net *net = NULL;
        tu_ok(clcnn_net_create(tu_ctx(), "lenet5", 64, 1, 28, 28, &net));
        tu_ok(clcnn_net_init(net, 11));
        tu_ok(clcnn_net_set_optimizer(net, &sgd));
        clcnn_train_state state = tu_train_state(11, 64, 0.05f, 2);
        tu_ok(clcnn_train_epoch(net, ds, &augment, &state, NULL));
        if (run == 1) {
            tu_ok(clcnn_net_save(net, path, &state));
            clcnn_net_destroy(net);
            net = NULL;
            memset(&state, 0, sizeof state);
            int has_state = 0;
            tu_ok(clcnn_net_load(tu_ctx(), path, 0, &net, &state, &has_state));
            ck_assert_int_eq(has_state, 1);
            ck_assert_int_eq(state.epoch, 1);
            ck_assert_int_eq(state.batch, 64);
            ck_assert_int_eq(clcnn_net_steps(net), 4);
        }
        tu_ok(clcnn_train_epoch(net, ds, &augment, &state, NULL));
        same_as_straight(run, &straight, net);
        clcnn_net_destroy(net);
    }
    free(straight);
    clcnn_dataset_destroy(ds);
    unlink(path);
}
END_TEST


START_TEST(test_damaged_files)
{
    char good[256], bad_path[256];
    temp_path(good, sizeof good, "good.clcnn");
    temp_path(bad_path, sizeof bad_path, "bad.clcnn");
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "conv(2,3) flatten dense(3)", 1, 1, 6, 6, &net));
    clcnn_train_state state = tu_train_state(1, 1, 0.1f, 1);
    tu_ok(clcnn_net_save(net, good, &state));
    clcnn_net_destroy(net);
    size_t len;
    unsigned char *data = slurp(good, &len);
    unsigned char *copy = tu_alloc(len);

    /* every truncation is caught */
    for (size_t cut = 0; cut < len; cut += cut < 64 ? 1 : 37) {
        spill(bad_path, data, cut);
        clcnn_net *n2 = NULL;
        ck_assert_int_eq(clcnn_net_load(tu_ctx(), bad_path, 0, &n2, NULL, NULL), CLCNN_ERR_FORMAT);
        ck_assert_ptr_null(n2);
    }
    memcpy(copy, data, len);
    copy[0] = 'X';
    spill(bad_path, copy, len);
    expect_rejected(bad_path, "wrong magic", "magic");

    memcpy(copy, data, len);
    copy[len / 2] ^= 0x40;
    spill(bad_path, copy, len);
    expect_rejected(bad_path, "flipped bit", "checksum");

    memcpy(copy, data, len);
    copy[8] = 9; /* version 9 */
    spill(bad_path, copy, len);
    expect_rejected(bad_path, "future version", "version");

    /* absurd input dimensions with a valid checksum */
    size_t spec_len = data[16] | (size_t)data[17] << 8;
    size_t dims_at = 20 + spec_len;
    memcpy(copy, data, len);
    copy[dims_at + 4] = 0xff;
    copy[dims_at + 5] = 0xff;
    copy[dims_at + 6] = 0xff;
    copy[dims_at + 7] = 0x7f; /* c = 2^31 - 1 */
    fix_crc(copy, len);
    spill(bad_path, copy, len);
    expect_rejected(bad_path, "absurd channels", "input shape");

    /* a parameter count that disagrees with the spec */
    memcpy(copy, data, len);
    copy[dims_at + 16] = 99; /* tensor count */
    fix_crc(copy, len);
    spill(bad_path, copy, len);
    expect_rejected(bad_path, "tensor count", "tensor count");

    /* trailing bytes after the records */
    unsigned char *longer = tu_alloc(len + 4);
    memcpy(longer, data, len - 4);
    memset(longer + len - 4, 0, 4);
    memcpy(longer + len, data + len - 4, 4);
    fix_crc(longer, len + 4);
    spill(bad_path, longer, len + 4);
    expect_rejected(bad_path, "trailing bytes", "unexpected bytes");
    free(longer);

    clcnn_net *n3 = NULL;
    tu_expect_status(clcnn_net_load(tu_ctx(), "/nonexistent/model.clcnn", 0, &n3, NULL, NULL),
                     CLCNN_ERR_IO);
    free(copy);
    free(data);
    unlink(good);
    unlink(bad_path);
}
END_TEST


/* A save that cannot complete leaves the previous file untouched. */
START_TEST(test_failed_save_keeps_previous)
{
    char dir[256], path[300];
    temp_path(dir, sizeof dir, "dir");
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/model.clcnn", dir);
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "dense(3)", 1, 1, 2, 2, &net));
    tu_ok(clcnn_net_save(net, path, NULL));
    size_t len0;
    unsigned char *before = slurp(path, &len0);

    tu_ok(clcnn_net_init(net, 99));
    /* the directory becomes read-only: creating the temporary file fails */
    chmod(dir, 0555);
    clcnn_status st = clcnn_net_save(net, path, NULL);
    chmod(dir, 0755);
    if (geteuid() != 0) /* root ignores permissions */
        ck_assert_int_eq(st, CLCNN_ERR_IO);
    size_t len1;
    unsigned char *after = slurp(path, &len1);
    if (st != CLCNN_OK) {
        ck_assert_uint_eq(len0, len1);
        ck_assert_mem_eq(before, after, len0);
    }
    /* a full device: writing fails with ENOSPC */
    tu_expect_status(clcnn_net_save(net, "/dev/full", NULL), CLCNN_ERR_IO);
    free(before);
    free(after);
    clcnn_net_destroy(net);
    unlink(path);
    rmdir(dir);
}
END_TEST


/* ---- stopping inside an epoch ---- */

typedef struct stopper {
    volatile sig_atomic_t flag;
    size_t at_image; /* raise the flag once an epoch has done this many images */
} stopper;

static int stop_when_due(void *user, size_t done, size_t total, float loss)
{
    (void)total, (void)loss;
    stopper *s = user;
    if (s->at_image && done >= s->at_image)
        s->flag = 1;
    return 0;
}

/* Two epochs of 200 images in batches of 64 (4 batches each), straight and
 * with stops inside an epoch (after the given batches of that epoch), each
 * stop saved, reloaded into a new network and continued: the weights match
 * to the bit. _i picks the epoch and the batches. */
START_TEST(test_resume_mid_epoch)
{
    static const struct {
        int epoch;
        int stops[2]; /* batches done at each stop (0: none) */
    } plans[] = {{0, {2, 0}}, {1, {1, 3}}, {1, {3, 0}}};
    const int plan = _i;
    char path[256];
    temp_path(path, sizeof path, "mid.clcnn");
    clcnn_dataset *ds = tu_mnist("train", 200);
    clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 0.002f};
    stopper stop = {0};
    clcnn_train_options options = {.max_shift = 2, .report_every = 1, .progress = stop_when_due,
                                   .user = &stop, .stop = &stop.flag};
    float *straight = NULL;
    for (int run = 0; run < 2; run++) {
        clcnn_net *net = NULL;
        tu_ok(clcnn_net_create(tu_ctx(), "lenet5", 64, 1, 28, 28, &net));
        tu_ok(clcnn_net_init(net, 5));
        tu_ok(clcnn_net_set_optimizer(net, &adam));
        clcnn_train_state state = tu_train_state(5, 64, 0.002f, 2);
        int next_stop = 0;
        while (state.epoch < 2) {
            int stopping = run == 1 && state.epoch == plans[plan].epoch && next_stop < 2 &&
                           plans[plan].stops[next_stop];
            stop.flag = 0;
            stop.at_image = stopping ? (size_t)plans[plan].stops[next_stop] * 64 : 0;
            int epoch = state.epoch;
            tu_ok(clcnn_train_epoch(net, ds, &options, &state, NULL));
            if (!stopping) {
                ck_assert_int_eq(state.epoch, epoch + 1);
                ck_assert_int_eq(state.batch_in_epoch, 0);
                continue;
            }
            ck_assert_int_eq(state.epoch, epoch);
            ck_assert_int_eq(state.batch_in_epoch, plans[plan].stops[next_stop]);
            next_stop++;
            tu_ok(clcnn_net_save(net, path, &state));
            clcnn_net_destroy(net);
            net = NULL;
            clcnn_train_state loaded;
            memset(&loaded, 0xA5, sizeof loaded);
            tu_ok(clcnn_net_load(tu_ctx(), path, 0, &net, &loaded, NULL));
            ck_assert_mem_eq(&loaded.rng, &state.rng, sizeof state.rng);
            ck_assert_mem_eq(&loaded.epoch_rng, &state.epoch_rng, sizeof state.rng);
            ck_assert_int_eq(loaded.batch_in_epoch, state.batch_in_epoch);
            ck_assert_int_eq(clcnn_net_steps(net), epoch * 4 + state.batch_in_epoch);
            state = loaded;
        }
        ck_assert_int_eq(clcnn_net_steps(net), 8);
        same_as_straight(run, &straight, net);
        clcnn_net_destroy(net);
    }
    free(straight);
    clcnn_dataset_destroy(ds);
    unlink(path);
}
END_TEST

/* A position past the epoch's last batch is refused, not wrapped around. */
START_TEST(test_position_past_epoch)
{
    clcnn_dataset *ds = tu_mnist("train", 100);
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "lenet5", 32, 1, 28, 28, &net));
    tu_ok(clcnn_net_init(net, 1));
    clcnn_train_state state = tu_train_state(1, 32, 0.01f, 2);
    state.epoch_rng = state.rng;
    state.batch_in_epoch = 4; /* 100 images make batches 0..3 */
    for (int i = 0; i < 4; i++) /* steps that a run would have taken */
        tu_ok(clcnn_net_step(net, 0.0f));
    tu_expect_status(clcnn_train_epoch(net, ds, NULL, &state, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("past the epoch's last batch");
    clcnn_net_destroy(net);
    clcnn_dataset_destroy(ds);
}
END_TEST

/* ---- the training state's ranges, field by field ---- */

/* A valid state 3 epochs into a 10-epoch cosine run of 313 batches an epoch. */
static clcnn_train_state valid_state(long *steps)
{
    clcnn_train_state s = tu_train_state(7, 32, 0.01f, 10);
    s.epoch = 3;
    s.best_accuracy = 0.5f;
    clcnn_rng_seed(&s.epoch_rng, 8);
    *steps = 3 * 313;
    return s;
}

typedef struct field_case {
    const char *field; /* a word the message must hold for an invalid value */
    size_t offset;     /* in clcnn_train_state; STEPS: the step count */
    char type;         /* 'i' int, 'l' long, 'f' float */
    double value;
    int valid;
} field_case;

#define STEPS ((size_t)-1)
#define F_(member, type, value, valid, word)                                                   \
    {word, offsetof(clcnn_train_state, member), type, value, valid}

static const field_case field_cases[] = {
    F_(epoch, 'i', 0, 1, "epoch"),
    F_(epoch, 'i', -1, 0, "epoch"),
    F_(epoch, 'i', 10, 1, "epoch"), /* the schedule's last */
    F_(epoch, 'i', 11, 0, "total"),
    F_(epoch, 'i', 2147483647, 0, "epoch"),
    F_(batch, 'i', 1, 1, "batch"),
    F_(batch, 'i', 0, 0, "batch"),
    F_(batch, 'i', CLCNN_MAX_BATCH, 1, "batch"),
    F_(batch, 'i', CLCNN_MAX_BATCH + 1, 0, "batch"),
    F_(batch, 'i', 2147483647, 0, "batch"),
    F_(schedule.kind, 'i', CLCNN_LR_COSINE, 1, "kind"),
    F_(schedule.kind, 'i', CLCNN_LR_COSINE + 1, 0, "kind"),
    F_(schedule.kind, 'i', -1, 0, "kind"),
    F_(schedule.base_lr, 'f', 1e-30, 1, "base learning rate"),
    F_(schedule.base_lr, 'f', 0, 0, "base learning rate"),
    F_(schedule.base_lr, 'f', -1e-30, 0, "base learning rate"),
    F_(schedule.base_lr, 'f', NAN, 0, "base learning rate"),
    F_(schedule.base_lr, 'f', INFINITY, 0, "base learning rate"),
    F_(schedule.step_size, 'i', 0, 1, "step size"),
    F_(schedule.step_size, 'i', -1, 0, "step size"),
    F_(schedule.step_size, 'i', CLCNN_MAX_EPOCHS, 1, "step size"),
    F_(schedule.step_size, 'i', CLCNN_MAX_EPOCHS + 1, 0, "step size"),
    F_(schedule.gamma, 'f', 1, 1, "gamma"),
    F_(schedule.gamma, 'f', 1.0000001, 0, "gamma"),
    F_(schedule.gamma, 'f', 0, 1, "gamma"),
    F_(schedule.gamma, 'f', -1e-7, 0, "gamma"),
    F_(schedule.gamma, 'f', NAN, 0, "gamma"),
    F_(schedule.total, 'l', 3, 1, "total"), /* = epoch */
    F_(schedule.total, 'l', 0, 0, "total"), /* cosine needs one */
    F_(schedule.total, 'l', CLCNN_MAX_EPOCHS, 1, "total"),
    F_(schedule.total, 'l', CLCNN_MAX_EPOCHS + 1, 0, "total"),
    F_(schedule.min_lr, 'f', 0, 1, "minimum learning rate"),
    F_(schedule.min_lr, 'f', 0.01, 1, "minimum learning rate"), /* = base */
    F_(schedule.min_lr, 'f', 0.0100001, 0, "minimum learning rate"),
    F_(schedule.min_lr, 'f', -1e-30, 0, "minimum learning rate"),
    F_(schedule.min_lr, 'f', NAN, 0, "minimum learning rate"),
    F_(best_accuracy, 'f', 0, 1, "best accuracy"),
    F_(best_accuracy, 'f', 1, 1, "best accuracy"),
    F_(best_accuracy, 'f', 1.0000001, 0, "best accuracy"),
    F_(best_accuracy, 'f', -1e-7, 0, "best accuracy"),
    F_(best_accuracy, 'f', NAN, 0, "best accuracy"),
    F_(batch_in_epoch, 'l', 0, 1, "batch in epoch"),
    F_(batch_in_epoch, 'l', -1, 0, "batch in epoch"),
    F_(batch_in_epoch, 'l', 312, 1, "batch in epoch"),
    {"step count", STEPS, 'l', 3, 1},  /* one step an epoch at least */
    {"step count", STEPS, 'l', 2, 0},
    {"step count", STEPS, 'l', 4.0 * 2147483648.0, 1}, /* 2^31 steps an epoch at most */
    {"step count", STEPS, 'l', 4.0 * 2147483648.0 + 1, 0},
    {"step count", STEPS, 'l', -1, 0},
};

START_TEST(test_state_ranges)
{
    for (size_t i = 0; i < sizeof field_cases / sizeof field_cases[0]; i++) {
        const field_case *c = &field_cases[i];
        long steps;
        clcnn_train_state s = valid_state(&steps);
        char *at = (char *)&s + (c->offset == STEPS ? 0 : c->offset);
        if (c->offset == STEPS)
            steps = (long)c->value;
        else if (c->type == 'i')
            *(int *)(void *)at = (int)c->value;
        else if (c->type == 'l')
            *(long *)(void *)at = (long)c->value;
        else
            *(float *)(void *)at = (float)c->value;
        char why[512] = "";
        clcnn_status st = clcnn_train_state_validate(&s, steps, why, sizeof why);
        ck_assert_msg((st == CLCNN_OK) == c->valid, "%s = %g: %s, want %s (%s)", c->field,
                      c->value, clcnn_status_name(st), c->valid ? "valid" : "refused", why);
        if (!c->valid) {
            ck_assert_int_eq(st, CLCNN_ERR_INVALID_ARGUMENT);
            ck_assert_msg(strstr(why, c->field) != NULL, "message \"%s\" does not name %s", why,
                          c->field);
        }
    }
    /* the generators: all zero is the one state no seed gives */
    long steps;
    char why[512];
    clcnn_train_state s = valid_state(&steps);
    memset(&s.rng, 0, sizeof s.rng);
    ck_assert_int_eq(clcnn_train_state_validate(&s, steps, why, sizeof why),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert(strstr(why, "generator") != NULL);
    s = valid_state(&steps);
    memset(&s.epoch_rng, 0, sizeof s.epoch_rng);
    tu_ok(clcnn_train_state_validate(&s, steps, why, sizeof why)); /* unused between epochs */
    s.batch_in_epoch = 1;
    ck_assert_int_eq(clcnn_train_state_validate(&s, steps, why, sizeof why),
                     CLCNN_ERR_INVALID_ARGUMENT);
    /* the step schedule needs a step size and a decay */
    s = valid_state(&steps);
    s.schedule.kind = CLCNN_LR_STEP;
    s.schedule.step_size = 1;
    s.schedule.gamma = 1;
    tu_ok(clcnn_train_state_validate(&s, steps, why, sizeof why));
    s.schedule.step_size = 0;
    ck_assert_int_eq(clcnn_train_state_validate(&s, steps, NULL, 0), CLCNN_ERR_INVALID_ARGUMENT);
    s.schedule.step_size = 1;
    s.schedule.gamma = 0;
    ck_assert_int_eq(clcnn_train_state_validate(&s, steps, NULL, 0), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn_train_state_validate(NULL, 0, NULL, 0), CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- crafted checkpoints: intact bytes, impossible values ---- */

/* Offsets of the training record's fields, counted back from the CRC
 * (format version 2; see host/net/model_file.c). */
enum {
    BACK_EPOCH_RNG = 32, BACK_BATCH_IN_EPOCH = 40, BACK_BEST = 44, BACK_MIN_LR = 48,
    BACK_TOTAL = 56, BACK_GAMMA = 60, BACK_STEP_SIZE = 64, BACK_BASE_LR = 68,
    BACK_SCHEDULE = 72, BACK_RNG = 104, BACK_SEED = 112, BACK_BATCH = 116, BACK_EPOCH = 120,
};
/* The optimiser record ahead of the state floats: offsets from its start. */
enum { O_KIND = 0, O_LR = 4, O_DECAY = 8, O_MOMENTUM = 12, O_NESTEROV = 16, O_BETA1 = 20,
       O_BETA2 = 24, O_EPS = 28, O_STEPS = 32 };

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_float(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_le(p, v, 4);
}

START_TEST(test_crafted_values)
{
    char good[256], bad_path[256];
    temp_path(good, sizeof good, "craft-good.clcnn");
    temp_path(bad_path, sizeof bad_path, "craft-bad.clcnn");
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "conv(2,3) flatten dense(3)", 1, 1, 6, 6, &net));
    clcnn_optim_params adam = {.kind = CLCNN_OPTIM_ADAM, .lr = 0.001f};
    tu_ok(clcnn_net_set_optimizer(net, &adam));
    tu_ok(clcnn_net_step(net, 0.001f));
    clcnn_train_state state = tu_train_state(3, 1, 0.001f, 5);
    state.epoch = 1;
    tu_ok(clcnn_net_save(net, good, &state));
    size_t states = clcnn_optim_state_count(CLCNN_OPTIM_ADAM, clcnn_net_param_count(net));
    clcnn_net_destroy(net);
    size_t len;
    unsigned char *data = slurp(good, &len), *copy = tu_alloc(len);
    const size_t end = len - 4, optim = end - BACK_EPOCH - 4 * states - 8 - O_STEPS - 8;

    static const struct {
        const char *what, *word;
        size_t back; /* from the CRC; 0: optim_at is used */
        size_t optim_at;
        int bytes;   /* 4 or 8; 'f' for a float */
        char type;
        double value;
        int valid;
    } cases[] = {
        {"lr NaN", "lr", 0, O_LR, 4, 'f', NAN, 0},
        {"lr infinite", "lr", 0, O_LR, 4, 'f', INFINITY, 0},
        {"lr 0.5", "lr", 0, O_LR, 4, 'f', 0.5, 1},
        {"momentum NaN", "momentum", 0, O_MOMENTUM, 4, 'f', NAN, 0},
        {"nesterov 7", "nesterov", 0, O_NESTEROV, 4, 'i', 7, 0},
        {"beta1 2", "beta1", 0, O_BETA1, 4, 'f', 2, 0},
        {"beta2 1", "beta2", 0, O_BETA2, 4, 'f', 1, 0},
        {"eps -1", "eps", 0, O_EPS, 4, 'f', -1, 0},
        {"weight decay infinite", "weight_decay", 0, O_DECAY, 4, 'f', INFINITY, 0},
        {"optimiser kind 2", "optimiser", 0, O_KIND, 4, 'i', 2, 0},
        {"steps -1", "step count", 0, O_STEPS, 8, 'i', -1, 0},
        {"steps 0 after an epoch", "step count", 0, O_STEPS, 8, 'i', 0, 0},
        {"epoch 2^31-1", "epoch", BACK_EPOCH, 0, 4, 'i', 2147483647, 0},
        {"batch 2^31-1", "batch", BACK_BATCH, 0, 4, 'i', 2147483647, 0},
        {"batch 0", "batch", BACK_BATCH, 0, 4, 'i', 0, 0},
        {"schedule kind 9", "kind", BACK_SCHEDULE, 0, 4, 'i', 9, 0},
        {"base lr infinite", "base learning rate", BACK_BASE_LR, 0, 4, 'f', INFINITY, 0},
        {"gamma NaN", "gamma", BACK_GAMMA, 0, 4, 'f', NAN, 0},
        {"gamma 1", "gamma", BACK_GAMMA, 0, 4, 'f', 1, 1},
        {"total 0", "total", BACK_TOTAL, 0, 8, 'i', 0, 0},
        {"min lr NaN", "minimum learning rate", BACK_MIN_LR, 0, 4, 'f', NAN, 0},
        {"best accuracy 2", "best accuracy", BACK_BEST, 0, 4, 'f', 2, 0},
        {"batch in epoch -1", "batch in epoch", BACK_BATCH_IN_EPOCH, 0, 8, 'i', -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(copy, data, len);
        unsigned char *at = cases[i].back ? copy + end - cases[i].back
                                          : copy + optim + cases[i].optim_at;
        if (cases[i].type == 'f')
            put_float(at, (float)cases[i].value);
        else
            put_le(at, (uint64_t)(int64_t)cases[i].value, cases[i].bytes);
        fix_crc(copy, len);
        spill(bad_path, copy, len);
        clcnn_net *back = NULL;
        clcnn_train_state loaded;
        clcnn_status st = clcnn_net_load(tu_ctx(), bad_path, 0, &back, &loaded, NULL);
        if (cases[i].valid) {
            ck_assert_msg(st == CLCNN_OK, "%s: %s", cases[i].what, clcnn_last_error(tu_ctx()));
            clcnn_net_destroy(back);
            continue;
        }
        const char *msg = clcnn_last_error(tu_ctx());
        ck_assert_msg(st == CLCNN_ERR_FORMAT && !back, "%s: %s (%s)", cases[i].what,
                      clcnn_status_name(st), msg);
        ck_assert_msg(strstr(msg, cases[i].word) && strstr(msg, "not a valid clcnn checkpoint"),
                      "%s: message \"%s\" does not name %s", cases[i].what, msg, cases[i].word);
    }
    /* all-zero generator state */
    memcpy(copy, data, len);
    memset(copy + end - BACK_RNG, 0, 32);
    fix_crc(copy, len);
    spill(bad_path, copy, len);
    expect_rejected(bad_path, "a dead generator", "generator");
    free(copy);
    free(data);
    unlink(good);
    unlink(bad_path);
}
END_TEST

/* A file of the previous format (version 1: no position inside an epoch)
 * still loads, as a state between epochs. */
START_TEST(test_version_1_loads)
{
    char v2[256], v1[256];
    temp_path(v2, sizeof v2, "v2.clcnn");
    temp_path(v1, sizeof v1, "v1.clcnn");
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "conv(3,3) relu flatten dense(4)", 2, 1, 7, 7, &net));
    tu_ok(clcnn_net_init(net, 9));
    tu_ok(clcnn_net_step(net, 0.01f));
    clcnn_train_state state = tu_train_state(9, 2, 0.01f, 3);
    state.epoch = 1;
    tu_ok(clcnn_net_save(net, v2, &state));
    size_t len;
    unsigned char *data = slurp(v2, &len);
    /* version 2 is version 3 without the statistics count (u64, after the
     * parameters: this network has no batch norm), and version 1 is
     * version 2 without the 40 bytes before the CRC */
    size_t spec_len = strlen(clcnn_net_spec(net)), tensors = 4;
    size_t stats_at = 8 + 4 + 4 + 4 + spec_len + 16 + 4 + 16 * tensors + 8 +
                      4 * clcnn_net_param_count(net);
    memmove(data + stats_at, data + stats_at + 8, len - stats_at - 8);
    len -= 8;
    unsigned char *old = tu_alloc(len - 40);
    memcpy(old, data, len - 44);
    put_le(old + 8, 1, 4);
    fix_crc(old, len - 40);
    spill(v1, old, len - 40);
    clcnn_net *back = NULL;
    clcnn_train_state loaded;
    int has_state = 0;
    tu_ok(clcnn_net_load(tu_ctx(), v1, 0, &back, &loaded, &has_state));
    ck_assert_int_eq(has_state, 1);
    ck_assert_int_eq(loaded.epoch, 1);
    ck_assert_int_eq(loaded.batch_in_epoch, 0);
    ck_assert_mem_eq(&loaded.rng, &state.rng, sizeof state.rng);
    float *a = read_params(net), *b = read_params(back);
    ck_assert_mem_eq(a, b, clcnn_net_param_count(net) * sizeof *a);
    free(a);
    free(b);
    free(old);
    free(data);
    clcnn_net_destroy(back);
    clcnn_net_destroy(net);
    unlink(v1);
    unlink(v2);
}
END_TEST

/* A state that no run could have produced is not written over a good file. */
START_TEST(test_invalid_state_not_saved)
{
    char path[256];
    temp_path(path, sizeof path, "nosave.clcnn");
    unlink(path);
    clcnn_net *net = NULL;
    tu_ok(clcnn_net_create(tu_ctx(), "dense(3)", 1, 1, 2, 2, &net));
    clcnn_train_state state = tu_train_state(1, 1, 0.01f, 2);
    state.schedule.gamma = NAN;
    tu_expect_status(clcnn_net_save(net, path, &state), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("gamma");
    ck_assert_int_ne(access(path, F_OK), 0);
    clcnn_optim_params bad = {.kind = CLCNN_OPTIM_SGD, .lr = NAN};
    tu_expect_status(clcnn_net_set_optimizer(net, &bad), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_message("lr");
    clcnn_net_destroy(net);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_save_load_identical);
    tcase_add_test(tc, test_damaged_files);
    tcase_add_test(tc, test_failed_save_keeps_previous);
    tcase_add_test(tc, test_resume_exact);
    tcase_add_loop_test(tc, test_resume_mid_epoch, 0, 3);
    tcase_add_test(tc, test_position_past_epoch);
    tcase_add_test(tc, test_state_ranges);
    tcase_add_test(tc, test_crafted_values);
    tcase_add_test(tc, test_version_1_loads);
    tcase_add_test(tc, test_invalid_state_not_saved);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
