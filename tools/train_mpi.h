/*
 * Data-parallel `clcnn train` under mpirun: which rank this process is, the
 * OpenCL device it takes, the gradient exchange and how the job ends.
 * tools/train_mpi.c implements it on MPI; tools/train_mpi_none.c stands in
 * where clcnn is built without MPI.
 */
#ifndef CLCNN_TRAIN_MPI_H
#define CLCNN_TRAIN_MPI_H

#include "clcnn.h"

typedef struct clcnn__dp {
    int active;      /* started by mpirun: MPI is initialised */
    int rank, ranks; /* rank 0 of 1 when alone */
    int local_rank;  /* among the ranks on this machine */
    char device[32]; /* the "P:D" selector chosen for this rank */
} clcnn__dp;

/* Under mpirun (its environment says so) initialises MPI and fills dp;
 * otherwise leaves the process alone as rank 0 of 1. Ranks other than 0
 * print nothing on stdout. Returns an exit status. */
int clcnn__dp_start(clcnn__dp *dp);

/* The device selector for this rank: the user's (--device, else
 * $CLCNN_DEVICE, which the library reads), else, where several GPUs exist,
 * GPU local_rank modulo their number, else NULL (the default rule). */
const char *clcnn__dp_device(clcnn__dp *dp, const char *selector);

/* CLCNN__EXIT_OK when the global batch divides among the ranks, else an error
 * naming both numbers (a usage error where the batch came from the command line). */
int clcnn__dp_check_batch(const clcnn__dp *dp, int batch, int from_command_line);

/* Makes net one of the job's replicas, its gradients averaged over MPI
 * before every step (nothing when alone). Returns an exit status. */
int clcnn__dp_attach(const clcnn__dp *dp, clcnn_context *ctx, clcnn_net *net);

/* Ends the job with exit status rc: MPI_Finalize after success or a stop by
 * signal (rc >= 128, agreed by every rank), MPI_Abort after a failure, so
 * that the other ranks, waiting in an allreduce, stop too instead of
 * hanging. Returns rc. */
int clcnn__dp_finish(clcnn__dp *dp, int rc);

#endif /* CLCNN_TRAIN_MPI_H */
