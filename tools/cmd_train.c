/*
 * clcnn train: trains a built-in or spec-given network on an IDX data set,
 * evaluating on the test split after every epoch and saving a checkpoint
 * atomically after each, so that --resume continues exactly.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "draw.h"
#include "train_mpi.h"

const char clcnn__usage_train[] =
    "Usage: clcnn train --model lenet5|convnet|resnet|mobilenet|SPEC --data DIR [options]\n"
    "\n"
    "Trains the network on DIR/train-images-idx3-ubyte[.gz] and\n"
    "DIR/train-labels-idx1-ubyte[.gz] (IDX files as MNIST's) and reports the\n"
    "accuracy on DIR/t10k-* after every epoch. On a terminal a progress bar shows\n"
    "images/s, the running loss and the time left.\n"
    "\n"
    "The default recipe: Adam, learning rate 0.002 with a cosine schedule over\n"
    "the epochs, batch 32, random shifts of up to 2 pixels, seed 1.\n"
    "\n"
    "Options:\n"
    "  --model M          lenet5, convnet, resnet (residual blocks with batch norm),\n"
    "                     mobilenet (depthwise-separable blocks), or a spec such as\n"
    "                     \"conv(6,5,pad=2) relu maxpool(2) flatten dense(10)\"\n"
    "                     Layers: conv(K,R[,S][,pad=P|same][,stride=T][,dilation=D]\n"
    "                     [,groups=G]) relu leaky_relu(A) tanh sigmoid maxpool(W[,T])\n"
    "                     avgpool(W[,T]) flatten dense(K) bn dropout(P) global_avgpool\n"
    "                     softmax. A graph: '@a' names the output before it,\n"
    "                     'add(@a)' adds @a to it, 'from(@a)' makes the next layer\n"
    "                     read @a (@input is the network input), e.g. a residual\n"
    "                     block: \"conv(16,3,pad=1) bn relu @a conv(16,3,pad=1) bn\n"
    "                     add(@a) relu\"\n"
    "  --data DIR         folder of the IDX files\n"
    "  --epochs N         epochs to train in total (default 10)\n"
    "  --batch B          images per step (default 32)\n"
    "  --lr X             initial learning rate (default 0.002 for adam, 0.05 for sgd)\n"
    "  --optimizer NAME   adam (default) or sgd (momentum 0.9, Nesterov)\n"
    "  --momentum X       SGD momentum (default 0.9; 0 for plain SGD)\n"
    "  --weight-decay X   L2 weight decay (default 0)\n"
    "  --schedule NAME    cosine (default), step (x0.1 every --step-size epochs)\n"
    "                     or constant\n"
    "  --step-size N      epochs between decays of the step schedule (default 3)\n"
    "  --shift N          augmentation: random shifts of up to N pixels (default 2,\n"
    "                     0 for none)\n"
    "  --seed S           seed of initialisation, shuffling and augmentation (default 1)\n"
    "  --train-limit N    use only the first N training images\n"
    "  --stop-after N     stop after N epochs of this run (the schedule still spans\n"
    "                     --epochs); continue later with --resume\n"
    "  --out FILE         save a checkpoint (model + training state) to FILE after\n"
    "                     every epoch; it loads in eval, predict and info too\n"
    "  --resume FILE      continue the run saved in FILE (its recipe is kept;\n"
    "                     --epochs sets a new total, default the saved one);\n"
    "                     --out defaults to FILE\n"
    "  --json             one JSON object per epoch and a final summary object\n"
    "  --plot FILE.png    after every epoch, redraw the chart of training loss and\n"
    "                     test accuracy per epoch of this run (written atomically)\n"
    "  --device SELECTOR  OpenCL device (see 'clcnn devices')\n"
    "  -h, --help         show this help\n"
    "\n"
    "Ctrl-C (SIGINT) or SIGTERM stops at the next batch, saves the checkpoint to\n"
    "--out (mid-epoch: --resume continues that epoch exactly) and exits 130 or 143;\n"
    "a second one stops at once, leaving the last saved checkpoint as it was.\n"
    "\n"
    "Under mpirun -np K (where clcnn is built with MPI) it trains data-parallel:\n"
    "each rank takes B/K images of every batch of B and the gradients are averaged\n"
    "before each step; rank 0 prints and writes --out.\n";

typedef struct progress {
    int tty;
    int epoch, epochs;
    double start;
    int last_quarter;
} progress;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int on_progress(void *user, size_t done, size_t total, float loss)
{
    progress *p = user;
    double elapsed = now() - p->start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    if (p->tty) {
        int width = 30, filled = (int)((double)width * (double)done / (double)total);
        fprintf(stderr, "\repoch %d/%d [%.*s%*s] %zu/%zu  loss %.4f  %.0f img/s  ETA %.0f s ",
                p->epoch, p->epochs, filled, "==============================", width - filled,
                "", done, total, (double)loss, rate, eta);
        fflush(stderr);
    } else {
        int quarter = (int)(4 * done / total);
        if (quarter > p->last_quarter && quarter < 4) {
            fprintf(stderr, "epoch %d/%d: %zu/%zu images, loss %.4f, %.0f images/s\n", p->epoch,
                    p->epochs, done, total, (double)loss, rate);
            p->last_quarter = quarter;
        }
    }
    return 0;
}

static void json_escaped(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

typedef struct recipe {
    const char *model, *data, *out, *resume, *device, *plot;
    int epochs, epochs_given, batch, shift, json, train_limit, stop_after;
    unsigned long long seed;
    clcnn_optim_params optim;
    clcnn_lr_params schedule;
} recipe;

/* The signal that asked the run to stop (0: none). The one global of the
 * command: a signal handler can reach nothing else. */
static volatile sig_atomic_t stop_signal;

/* The first SIGINT or SIGTERM asks the loop to stop at the next batch; a
 * second one ends the process at once. Files are replaced by rename, so
 * ending mid-save leaves the last checkpoint whole. */
static void on_stop_signal(int sig)
{
    if (stop_signal)
        _exit(128 + sig);
    stop_signal = sig;
}

static void catch_stop_signals(int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on ? on_stop_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* After a stop by signal: what was kept and how to go on; the exit status
 * is the shell's for that signal. */
static int report_stop(const recipe *r, const clcnn_train_state *state, int saved)
{
    const char *name = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
    if (state->batch_in_epoch)
        fprintf(stderr, "clcnn: train: stopped by %s in epoch %d after %ld batches", name,
                state->epoch + 1, state->batch_in_epoch);
    else
        fprintf(stderr, "clcnn: train: stopped by %s after epoch %d", name, state->epoch);
    if (saved) {
        fprintf(stderr, "; checkpoint saved to %s\nresume with: clcnn train --resume %s "
                        "--data %s --epochs %d",
                r->out, r->out, r->data, r->epochs);
        if (r->train_limit)
            fprintf(stderr, " --train-limit %d", r->train_limit);
        fprintf(stderr, "\n");
    } else
        fprintf(stderr, "; nothing saved (no --out)\n");
    return 128 + stop_signal;
}

/* Parses the command line into r; returns an exit status. */
static int parse(int argc, char **argv, recipe *r)
{
    const char *epochs = NULL, *batch = "32", *lr = NULL, *optimizer = "adam";
    const char *momentum = "0.9", *decay = "0", *schedule = "cosine", *step_size = "3";
    const char *shift = "2", *seed = "1", *limit = NULL, *stop = NULL;
    const clcnn__option options[] = {
        {"model", 'm', &r->model, NULL},
        {"data", 'd', &r->data, NULL},
        {"epochs", 'e', &epochs, NULL},
        {"batch", 'b', &batch, NULL},
        {"lr", 0, &lr, NULL},
        {"optimizer", 0, &optimizer, NULL},
        {"momentum", 0, &momentum, NULL},
        {"weight-decay", 0, &decay, NULL},
        {"schedule", 0, &schedule, NULL},
        {"step-size", 0, &step_size, NULL},
        {"shift", 0, &shift, NULL},
        {"seed", 's', &seed, NULL},
        {"train-limit", 0, &limit, NULL},
        {"stop-after", 0, &stop, NULL},
        {"out", 'o', &r->out, NULL},
        {"plot", 0, &r->plot, NULL},
        {"resume", 0, &r->resume, NULL},
        {"json", 0, NULL, &r->json},
        {"device", 0, &r->device, NULL},
    };
    int rc = clcnn__cli_parse("train", argc, argv, options, sizeof options / sizeof options[0],
                              NULL, 0, 0, NULL);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    if (!r->data || (!r->model && !r->resume))
        return clcnn__cli_usage_error("train", "--model M (or --resume FILE) and --data DIR "
                                               "are required");
    static const char *const optimizers[] = {"sgd", "adam", NULL};
    static const char *const schedules[] = {"constant", "step", "cosine", NULL};
    int kind, sched, step, seed_int;
    r->epochs_given = epochs != NULL;
    if ((rc = clcnn__cli_int("train", "epochs", epochs ? epochs : "10", 1, CLCNN_MAX_EPOCHS,
                             &r->epochs)) ||
        (rc = clcnn__cli_int("train", "batch", batch, 1, CLCNN_MAX_BATCH, &r->batch)) ||
        (rc = clcnn__cli_choice("train", "optimizer", optimizer, optimizers, &kind)) ||
        (rc = clcnn__cli_choice("train", "schedule", schedule, schedules, &sched)) ||
        (rc = clcnn__cli_int("train", "step-size", step_size, 1, CLCNN_MAX_EPOCHS, &step)) ||
        (rc = clcnn__cli_int("train", "shift", shift, 0, 16, &r->shift)) ||
        (rc = clcnn__cli_int("train", "seed", seed, 0, 2147483647, &seed_int)))
        return rc;
    if (limit && (rc = clcnn__cli_int("train", "train-limit", limit, 1, 2147483647,
                                      &r->train_limit)))
        return rc;
    if (stop && (rc = clcnn__cli_int("train", "stop-after", stop, 1, CLCNN_MAX_EPOCHS,
                                     &r->stop_after)))
        return rc;
    char *end;
    double lr_v = lr ? strtod(lr, &end) : (kind == CLCNN_OPTIM_ADAM ? 0.002 : 0.05);
    if (lr && (*end || !(lr_v > 0) || !isfinite(lr_v)))
        return clcnn__cli_usage_error("train", "--lr %s is not a positive number", lr);
    double mom = strtod(momentum, &end);
    if (*end || !(mom >= 0 && mom < 1))
        return clcnn__cli_usage_error("train", "--momentum %s is not in [0, 1)", momentum);
    double wd = strtod(decay, &end);
    if (*end || !(wd >= 0) || !isfinite(wd))
        return clcnn__cli_usage_error("train", "--weight-decay %s is not >= 0", decay);
    r->seed = (unsigned long long)seed_int;
    r->optim = (clcnn_optim_params){.kind = (clcnn_optimizer)kind, .lr = (float)lr_v,
                                    .weight_decay = (float)wd};
    if (kind == CLCNN_OPTIM_SGD) {
        r->optim.momentum = (float)mom;
        r->optim.nesterov = mom > 0;
    }
    r->schedule = (clcnn_lr_params){.kind = (clcnn_lr_schedule)sched, .base_lr = (float)lr_v,
                                    .step_size = step, .gamma = 0.1f, .total = r->epochs};
    if (r->resume && !r->out)
        r->out = r->resume;
    return CLCNN__EXIT_OK;
}

/* Loads both splits; returns an exit status. */
static int load_data(const recipe *r, clcnn_dataset **train, clcnn_dataset **test)
{
    char err[1024];
    if (clcnn_dataset_load_dir(r->data, "train", train, err, sizeof err) != CLCNN_OK ||
        clcnn_dataset_load_dir(r->data, "t10k", test, err, sizeof err) != CLCNN_OK)
        return clcnn__cli_fail("train", "%s", err);
    if (r->train_limit && (size_t)r->train_limit < clcnn_dataset_count(*train))
        clcnn_dataset_truncate(*train, (size_t)r->train_limit);
    return CLCNN__EXIT_OK;
}

/* A checkpoint's values are valid (clcnn_net_load checked them); here they
 * must also fit this run: the total of epochs, and a step count that these
 * training images at this batch size give. */
static int check_resume(recipe *r, const clcnn_dataset *train, const clcnn_net *net,
                        clcnn_train_state *state)
{
    if (!r->epochs_given && state->schedule.total > 0)
        r->epochs = (int)state->schedule.total;
    if (state->epoch > r->epochs)
        return clcnn__cli_fail("train", "%s has %d epochs done; --epochs %d must be at least that",
                               r->resume, state->epoch, r->epochs);
    if (state->schedule.total > 0)
        state->schedule.total = r->epochs;
    size_t images = clcnn_dataset_count(train), batches = (images + (size_t)r->batch - 1) /
                                                          (size_t)r->batch;
    long want = (long)state->epoch * (long)batches + state->batch_in_epoch;
    if (clcnn_net_steps(net) != want || (size_t)state->batch_in_epoch >= batches)
        return clcnn__cli_fail("train",
                               "%s took %ld optimiser steps, but %d epochs and %ld batches of "
                               "%zu images in batches of %d make %ld: was it trained on other "
                               "data, or with another --train-limit?",
                               r->resume, clcnn_net_steps(net), state->epoch,
                               state->batch_in_epoch, images, r->batch, want);
    return CLCNN__EXIT_OK;
}

/* Creates the network or restores it from --resume; returns an exit status. */
static int setup_net(clcnn_context *ctx, recipe *r, const clcnn_dataset *train, clcnn_net **net,
                     clcnn_train_state *state, const clcnn__dp *dp)
{
    memset(state, 0, sizeof *state);
    if (r->resume) {
        int has_state = 0;
        if (clcnn_net_load(ctx, r->resume, 0, net, state, &has_state) != CLCNN_OK)
            return clcnn__cli_library_fail(ctx, "train");
        if (!has_state)
            return clcnn__cli_fail("train", "%s holds weights only, not a checkpoint to resume",
                                   r->resume);
        r->batch = state->batch;
        r->seed = state->seed;
        /* data parallel: loaded again at this rank's share of the batch */
        if (dp->ranks > 1) {
            int rc = clcnn__dp_check_batch(dp, r->batch, 0);
            if (rc != CLCNN__EXIT_OK)
                return rc;
            clcnn_net_destroy(*net);
            *net = NULL;
            if (clcnn_net_load(ctx, r->resume, r->batch / dp->ranks, net, state, NULL) !=
                CLCNN_OK)
                return clcnn__cli_library_fail(ctx, "train");
        }
        return check_resume(r, train, *net, state);
    }
    int c, h, w;
    clcnn_dataset_shape(train, &c, &h, &w);
    if (clcnn_net_create(ctx, r->model, r->batch / dp->ranks, c, h, w, net) != CLCNN_OK ||
        clcnn_net_init(*net, r->seed) != CLCNN_OK ||
        clcnn_net_set_optimizer(*net, &r->optim) != CLCNN_OK)
        return clcnn__cli_library_fail(ctx, "train");
    state->batch = r->batch;
    state->seed = r->seed;
    clcnn_rng_seed(&state->rng, r->seed);
    state->schedule = r->schedule;
    char why[512];
    if (clcnn_train_state_validate(state, 0, why, sizeof why) != CLCNN_OK)
        return clcnn__cli_usage_error("train", "%s", why);
    return CLCNN__EXIT_OK;
}

/* Fails early, before data are loaded and a network is trained, when --out
 * (or --plot) cannot be written: a new file cannot be made beside it. A path that exists
 * and is not a regular file (/dev/stdout, a pipe) is written directly and
 * not probed. */
static int check_writable(const char *option, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return clcnn__cli_fail("train", "--%s %s is a folder, not a file", option, path);
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return CLCNN__EXIT_OK;
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    char probe[4096];
    if (snprintf(probe, sizeof probe, "%.*s.clcnn-probe-XXXXXX", (int)dir_len, path) >=
        (int)sizeof probe)
        return clcnn__cli_fail("train", "--%s %s: the path is too long", option, path);
    int fd = mkstemp(probe);
    if (fd < 0)
        return clcnn__cli_fail("train", "cannot write --%s %s: %s", option, path,
                               strerror(errno));
    close(fd);
    unlink(probe);
    return CLCNN__EXIT_OK;
}

/* After a failure: where the last good checkpoint is. The file is replaced
 * atomically, so a failed save or a stopped run never damages it. */
static void report_checkpoint(const char *out, int saved_epoch)
{
    if (!out)
        return;
    if (saved_epoch >= 0)
        fprintf(stderr, "clcnn: train: the last good checkpoint (epoch %d) stays in %s\n",
                saved_epoch, out);
    else if (access(out, F_OK) == 0)
        fprintf(stderr, "clcnn: train: no checkpoint was saved in this run; %s is unchanged\n",
                out);
    else
        fprintf(stderr, "clcnn: train: no checkpoint was saved in this run\n");
}

/* After CLCNN_ERR_NUMERIC: says where the values first stopped being finite. */
static void report_nonfinite(clcnn_context *ctx, clcnn_net *net)
{
    int layer = -1;
    clcnn_status st = clcnn_net_check_finite(net, &layer);
    if (st == CLCNN_ERR_NUMERIC)
        fprintf(stderr, "clcnn: train: first non-finite values: %s\n", clcnn_last_error(ctx));
    else if (st == CLCNN_OK)
        fprintf(stderr, "clcnn: train: every parameter and output is finite: the loss itself "
                        "overflowed\n");
}

int clcnn__cmd_train(int argc, char **argv)
{
    double command_start = now();
    recipe r = {0};
    int rc = parse(argc, argv, &r);
    if (rc != CLCNN__EXIT_OK)
        return rc;
    /* data parallel (train_mpi.c): under mpirun, this rank's place in the job;
     * rank 0 alone writes --out */
    clcnn__dp dp;
    if ((rc = clcnn__dp_start(&dp)) != CLCNN__EXIT_OK ||
        (!r.resume && (rc = clcnn__dp_check_batch(&dp, r.batch, 1)) != CLCNN__EXIT_OK))
        return clcnn__dp_finish(&dp, rc);
    if (dp.rank != 0)
        r.out = NULL;
    if (r.out && (rc = check_writable("out", r.out)) != CLCNN__EXIT_OK)
        return clcnn__dp_finish(&dp, rc);
    if (dp.rank != 0)
        r.plot = NULL;
    if (r.plot && (rc = check_writable("plot", r.plot)) != CLCNN__EXIT_OK)
        return clcnn__dp_finish(&dp, rc);
    clcnn_dataset *train = NULL, *test = NULL;
    clcnn_context *ctx = NULL;
    clcnn_net *net = NULL;
    clcnn_train_state state;
    clcnn__run history = {0}; /* for --plot */
    if ((rc = load_data(&r, &train, &test)) ||
        (rc = clcnn__cli_context("train", clcnn__dp_device(&dp, r.device), &ctx)) ||
        (rc = setup_net(ctx, &r, train, &net, &state, &dp)) ||
        (rc = clcnn__dp_attach(&dp, ctx, net)))
        goto done;
    /* every kernel built or loaded now, so that the setup time is what a
     * user waits for the first step and the first epoch's rate is honest */
    /* the epoch of the checkpoint in --out that this run vouches for */
    int saved_epoch = r.resume && r.out && strcmp(r.resume, r.out) == 0 ? state.epoch : -1;
    if (clcnn_net_prepare(net) != CLCNN_OK) {
        rc = clcnn__cli_library_fail(ctx, "train");
        report_checkpoint(r.out, saved_epoch);
        goto done;
    }
    double setup_seconds = now() - command_start;

    clcnn_device_info dev;
    clcnn_context_device(ctx, &dev);
    if (!r.json)
        printf("training %s (%zu parameters) on %s: %zu training, %zu test images, batch %d "
               "(ready in %.2f s)\n",
               clcnn_net_spec(net), clcnn_net_param_count(net), dev.device_name,
               clcnn_dataset_count(train), clcnn_dataset_count(test), r.batch, setup_seconds);
    if (dp.active && !r.json)
        printf("data-parallel on %d ranks: %d images of each batch per rank\n", dp.ranks,
               r.batch / dp.ranks);
    fflush(stdout);
    progress prog = {.tty = isatty(STDERR_FILENO), .epochs = r.epochs};
    clcnn_train_options options = {.max_shift = r.shift, .progress = on_progress, .user = &prog,
                                   .stop = &stop_signal};
    if (dp.rank != 0)
        options.progress = NULL; /* rank 0 reports for the job */
    catch_stop_signals(1);
    double train_seconds = 0, total_start = now();
    size_t trained = 0;
    float accuracy = state.best_accuracy;
    int first_epoch = state.epoch;
    int last_epoch = r.stop_after && first_epoch + r.stop_after < r.epochs
                         ? first_epoch + r.stop_after
                         : r.epochs;
    while (state.epoch < last_epoch) {
        prog.epoch = state.epoch + 1;
        prog.start = now();
        prog.last_quarter = 0;
        float lr = clcnn_lr_at(&state.schedule, state.epoch), loss = 0;
        clcnn_status st = clcnn_train_epoch(net, train, &options, &state, &loss);
        double seconds = now() - prog.start;
        if (prog.tty)
            fprintf(stderr, "\r%*s\r", 100, "");
        if (st != CLCNN_OK) {
            rc = clcnn__cli_library_fail(ctx, "train");
            if (st == CLCNN_ERR_NUMERIC)
                report_nonfinite(ctx, net);
            report_checkpoint(r.out, saved_epoch);
            goto done;
        }
        if (state.batch_in_epoch) { /* stopped mid-epoch by a signal */
            st = r.out ? clcnn_net_save(net, r.out, &state) : CLCNN_OK;
            rc = st != CLCNN_OK ? clcnn__cli_library_fail(ctx, "train")
                 : dp.rank == 0 ? report_stop(&r, &state, r.out != NULL)
                                : 128 + stop_signal;
            if (st != CLCNN_OK)
                report_checkpoint(r.out, saved_epoch);
            goto done;
        }
        train_seconds += seconds;
        trained += clcnn_dataset_count(train);
        st = clcnn_evaluate(net, test, CLCNN_MNIST_MEAN, CLCNN_MNIST_STD, &accuracy, NULL);
        if (st == CLCNN_OK) {
            state.best_accuracy = accuracy > state.best_accuracy ? accuracy : state.best_accuracy;
            if (r.out)
                st = clcnn_net_save(net, r.out, &state);
        }
        if (st != CLCNN_OK) {
            rc = clcnn__cli_library_fail(ctx, "train");
            if (st == CLCNN_ERR_NUMERIC)
                report_nonfinite(ctx, net);
            report_checkpoint(r.out, saved_epoch);
            goto done;
        }
        if (r.out)
            saved_epoch = state.epoch;
        /* a loss far above guessing's ln(classes) is a learning rate that
         * diverges without (yet) overflowing: say so rather than go on silently */
        double guess = log((double)clcnn_net_classes(net));
        if (loss > 2.0 * guess && dp.rank == 0)
            fprintf(stderr, "clcnn: train: warning: epoch %d's loss %.4g is more than twice that "
                            "of guessing (ln %d = %.2f): the learning rate %g may be too high\n",
                    state.epoch, (double)loss, clcnn_net_classes(net), guess, (double)lr);
        double rate = (double)clcnn_dataset_count(train) / seconds;
        if (r.json) {
            printf("{\"epoch\": %d, \"epochs\": %d, \"train_loss\": %.6f, \"test_accuracy\": "
                   "%.6f, \"lr\": %.6g, \"seconds\": %.3f, \"images_per_s\": %.1f",
                   state.epoch, r.epochs, (double)loss, (double)accuracy, (double)lr, seconds,
                   rate);
            if (dp.active) /* data parallel: the rate is the whole job's */
                printf(", \"ranks\": %d", dp.ranks);
            printf("}\n");
        } else {
            printf("epoch %2d/%d  loss %.4f  test accuracy %.2f%%  lr %.5f  %.1f s  %.0f "
                   "images/s\n",
                   state.epoch, r.epochs, (double)loss, 100.0 * (double)accuracy, (double)lr,
                   seconds, rate);
        }
        fflush(stdout);
        if (r.plot) { /* the chart of this run so far, replaced atomically */
            char err[1024] = "out of host memory";
            if (!clcnn__run_add(&history, state.epoch, loss, accuracy) ||
                clcnn__training_chart(r.plot, &history, 1, err, sizeof err) != CLCNN_OK) {
                rc = clcnn__cli_fail("train", "--plot %s: %s", r.plot, err);
                goto done;
            }
        }
        /* data parallel: the ranks stop together inside the next epoch instead,
         * where the library has them agree */
        if (stop_signal && !dp.active) {
            rc = report_stop(&r, &state, r.out != NULL);
            goto done;
        }
    }
    double rate = train_seconds > 0 ? (double)trained / train_seconds : 0;
    if (r.json) {
        printf("{\"model\": ");
        json_escaped(stdout, clcnn_net_spec(net));
        printf(", \"device\": ");
        json_escaped(stdout, dev.device_name);
        printf(", \"epochs\": %d, \"batch\": %d, \"test_accuracy\": %.6f, "
               "\"train_images_per_s\": %.1f, \"setup_seconds\": %.3f, \"seconds\": %.3f, "
               "\"out\": ",
               state.epoch, r.batch, (double)accuracy, rate, setup_seconds,
               now() - total_start);
        if (r.out)
            json_escaped(stdout, r.out);
        else
            printf("null");
        if (dp.active) /* data parallel: batch is the global one, the rate the job's */
            printf(", \"ranks\": %d", dp.ranks);
        printf("}\n");
    } else {
        printf("test accuracy %.2f%% after %d epochs (%d this run), %.0f training images/s, "
               "%.1f s in all\n",
               100.0 * (double)accuracy, state.epoch, state.epoch - first_epoch, rate,
               now() - total_start);
        if (r.out)
            printf("checkpoint saved to %s\n", r.out);
    }
done:
    catch_stop_signals(0);
    clcnn__run_free(&history);
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    clcnn_dataset_destroy(train);
    clcnn_dataset_destroy(test);
    return clcnn__dp_finish(&dp, rc);
}
