/*
 * conv2d forward, direct: a KB output channels x QB columns register block
 * per work-item (kernels/conv2d.cl), any geometry; with a rows option (c) a
 * work-item also runs down c output rows. For CPUs and GPUs.
 */
#include <stdio.h>
#include <string.h>

#include "conv2d_impl.h"

clcnn_status clcnn__conv2d_forward_direct(clcnn_context *ctx, const conv2d_tile *t, conv2d_buf x,
                                          conv2d_buf w, conv2d_buf b, conv2d_buf y,
                                          const conv2d_geom *g, int epilogue)
{
    /* c: output rows per work-item of the rows kernel (0: one, the block kernel) */
    char options[64];
    snprintf(options, sizeof options, "-D KB=%d -D QB=%d -D PB=%d", t->a, t->b,
             t->c ? t->c : 4);
    cl_kernel k;
    clcnn_status st = clcnn__kernel(ctx, "conv2d", options,
                                    t->c ? "conv2d_fwd_rows" : "conv2d_fwd_direct", &k);
    if (st != CLCNN_OK)
        return st;
    const size_t rows = t->c ? conv2d_ceil_div((size_t)g->P, (size_t)t->c) : (size_t)g->P;
    const size_t global[3] = {conv2d_ceil_div((size_t)g->Q, (size_t)t->b), (size_t)g->N * rows,
                              conv2d_ceil_div((size_t)g->K, (size_t)t->a)};
    return CLCNN__LAUNCH(ctx, k, 3, global, clcnn__conv2d_local_size(ctx), CLCNN__ARG_MEM(x.mem),
                         CLCNN__ARG_INT(x.off), CLCNN__ARG_MEM(w.mem), CLCNN__ARG_INT(w.off),
                         CLCNN__ARG_MEM(b.mem), CLCNN__ARG_INT(b.off), CLCNN__ARG_INT(epilogue),
                         CLCNN__ARG_MEM(y.mem), CLCNN__ARG_INT(y.off), GEOM_ARGS(*g));
}
