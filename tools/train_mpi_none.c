/*
 * `clcnn train` built without MPI: every process trains alone, and one that
 * mpirun started among several says that it cannot take part, rather than
 * train a copy of the model that nobody shares.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "train_mpi.h"

int clcnn__dp_start(clcnn__dp *dp)
{
    memset(dp, 0, sizeof *dp);
    dp->ranks = 1;
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (size && atoi(size) > 1)
        return clcnn__cli_fail("train", "mpirun started %s processes, but this clcnn was built "
                                        "without MPI (meson setup -Dmpi=enabled needs "
                                        "libopenmpi-dev)", size);
    return CLCNN__EXIT_OK;
}

const char *clcnn__dp_device(clcnn__dp *dp, const char *selector)
{
    (void)dp;
    return selector;
}

int clcnn__dp_check_batch(const clcnn__dp *dp, int batch, int from_command_line)
{
    (void)dp;
    (void)batch;
    (void)from_command_line;
    return CLCNN__EXIT_OK;
}

int clcnn__dp_attach(const clcnn__dp *dp, clcnn_context *ctx, clcnn_net *net)
{
    (void)dp;
    (void)ctx;
    (void)net;
    return CLCNN__EXIT_OK;
}

int clcnn__dp_finish(clcnn__dp *dp, int rc)
{
    (void)dp;
    return rc;
}
