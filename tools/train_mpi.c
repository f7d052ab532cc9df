/*
 * Data-parallel `clcnn train` on MPI: every rank holds the whole model,
 * trains on its share of each global batch and has its gradients summed by
 * MPI_Allreduce through the library's exchange callback. MPI is initialised
 * only when mpirun started the process, so a plain `clcnn train` never is.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "cli.h"
#include "train_mpi.h"

/* What mpirun (Open MPI's or a PMIx/PMI launcher's) puts in the environment
 * of the processes it starts. */
static int under_mpirun(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

int clcnn__dp_start(clcnn__dp *dp)
{
    memset(dp, 0, sizeof *dp);
    dp->ranks = 1;
    if (!under_mpirun())
        return CLCNN__EXIT_OK;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
        return clcnn__cli_fail("train", "MPI_Init failed");
    dp->active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &dp->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &dp->ranks);
    /* the ranks that share this machine, and so its devices */
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(local, &dp->local_rank);
        MPI_Comm_free(&local);
    }
    /* rank 0 speaks for the job; the others would print the same lines */
    if (dp->rank != 0 && !freopen("/dev/null", "w", stdout))
        return clcnn__cli_fail("train", "rank %d: cannot silence stdout", dp->rank);
    return CLCNN__EXIT_OK;
}

const char *clcnn__dp_device(clcnn__dp *dp, const char *selector)
{
    const char *env = getenv("CLCNN_DEVICE");
    if (!dp->active || (selector && *selector) || (env && *env))
        return selector;
    clcnn_device_info devices[64];
    size_t count = 0, gpus = 0;
    if (clcnn_list_devices(NULL, devices, 64, &count, NULL, NULL, 0) != CLCNN_OK)
        return selector; /* the context's own error will say what is missing */
    for (size_t i = 0; i < count && i < 64; i++)
        gpus += devices[i].is_gpu != 0;
    if (gpus < 2)
        return selector; /* one device for all: the default rule */
    size_t want = (size_t)dp->local_rank % gpus;
    for (size_t i = 0; i < count && i < 64; i++) {
        if (!devices[i].is_gpu)
            continue;
        if (want-- == 0) {
            snprintf(dp->device, sizeof dp->device, "%d:%d", devices[i].platform_index,
                     devices[i].device_index);
            return dp->device;
        }
    }
    return selector;
}

int clcnn__dp_check_batch(const clcnn__dp *dp, int batch, int from_command_line)
{
    if (batch % dp->ranks == 0)
        return CLCNN__EXIT_OK;
    const char *what = "the global batch %d does not divide among %d ranks: give a batch that "
                       "is a multiple of %d";
    return from_command_line ? clcnn__cli_usage_error("train", what, batch, dp->ranks, dp->ranks)
                             : clcnn__cli_fail("train", what, batch, dp->ranks, dp->ranks);
}

/* The library's allreduce callback: a sum in place over MPI_COMM_WORLD, in
 * pieces of at most INT_MAX floats (MPI counts are int). */
static int mpi_allreduce(void *user, float *data, size_t count)
{
    (void)user;
    while (count) {
        int n = count > INT_MAX ? INT_MAX : (int)count;
        if (MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            return 1;
        data += n;
        count -= (size_t)n;
    }
    return 0;
}

int clcnn__dp_attach(const clcnn__dp *dp, clcnn_context *ctx, clcnn_net *net)
{
    if (!dp->active || dp->ranks == 1)
        return CLCNN__EXIT_OK; /* alone: nothing to exchange, the step as without mpirun */
    /* one bucket of up to 16 MiB: an allreduce that large runs at the link's
     * bandwidth, and LeNet-5 or the convnet need a single call per step */
    clcnn_exchange ex = {.rank = dp->rank, .ranks = dp->ranks, .allreduce = mpi_allreduce,
                         .bucket_floats = (size_t)1 << 22};
    if (clcnn_net_set_exchange(net, &ex) != CLCNN_OK)
        return clcnn__cli_library_fail(ctx, "train");
    return CLCNN__EXIT_OK;
}

int clcnn__dp_finish(clcnn__dp *dp, int rc)
{
    if (!dp->active)
        return rc;
    /* a stop by signal (128 + its number) is one that every rank agreed on
     * at the same batch: it ends as a success does */
    if (rc != CLCNN__EXIT_OK && rc < 128 && dp->ranks > 1) {
        fprintf(stderr, "clcnn: train: rank %d of %d failed; stopping every rank\n", dp->rank,
                dp->ranks);
        fflush(NULL);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    MPI_Finalize();
    dp->active = 0;
    return rc;
}
