/*
 * Internal runtime of clcnn: the context and tensor structs, error recording,
 * kernel lookup and launching. Ops (host/ops/) build on this header only; the
 * runtime knows nothing about ops.
 */
#ifndef CLCNN_RUNTIME_H
#define CLCNN_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>

#include "clcnn_cl.h"

#define CLCNN__ERROR_SIZE 8192

/* A kernel's first launch, waited for, with profile_setup; ms < 0: not yet. */
struct clcnn__launch_timing {
    double ms, cpu_ms;
};

/* One built program: a kernel source built with one option string. */
struct clcnn__program {
    char *key; /* "<source>|<options>" */
    cl_program program;
    size_t kernel_count;
    char **kernel_names;
    cl_kernel *kernels;
    struct clcnn__launch_timing *first_launch; /* per kernel */
    double build_ms, build_cpu_ms; /* clBuildProgram, from source or cached binary */
    int from_cache;                /* the binary came from clcnn's disk cache */
    /* built from source with a disk cache: its binary is written there when
     * the context is destroyed (clcnn__programs_release), under this key */
    int store_pending;
    unsigned long long cache_key[2];
};

/* Scratch buffers kept between op calls (see clcnn__scratch). */
#define CLCNN__SCRATCH_SLOTS 4
#define CLCNN__SCRATCH_MAX_BYTES ((size_t)64 << 20)
struct clcnn__scratch_slot {
    cl_mem mem; /* NULL: none yet */
    size_t bytes;
    int busy; /* a scratch tensor over it is alive */
};

struct clcnn_context {
    cl_context cl_ctx;
    cl_device_id device;
    cl_command_queue queue;
    clcnn_device_info info;
    size_t max_work_group_size;
    size_t max_work_item_sizes[3];
    unsigned long long local_mem_bytes;
    int gpu_kernels; /* the GPU kernel family (clcnn_context_options.kernels) */
    unsigned long long launches; /* kernels enqueued */
    unsigned long long max_alloc_bytes;
    int mem_base_align_bytes;
    char *cache_dir;  /* NULL: no disk cache */
    int binary_cache; /* kernel binaries kept in cache_dir (see context.c) */
    char *kernel_dir; /* NULL: built-in sources */
    /* CLCNN_PROFILE_SETUP set: each kernel's first launch is waited for and
     * timed (the driver may compile its work-group function then) */
    int profile_setup;
    struct clcnn__program *programs;
    size_t program_count;
    struct clcnn__tuning *tuning; /* the tuning file's table; NULL until first read (tuning.h) */
    struct clcnn__scratch_slot scratch[CLCNN__SCRATCH_SLOTS];
    long live_tensors, live_nets;     /* handles made and not destroyed */
    unsigned long long tensor_bytes;  /* of the tensors that own their buffer */
    char error[CLCNN__ERROR_SIZE];
};

struct clcnn_tensor {
    clcnn_context *ctx;
    cl_mem mem;    /* retained by every tensor that uses it */
    size_t offset; /* in elements */
    int shape[4];  /* N, C, H, W */
    struct clcnn__scratch_slot *slot; /* a scratch tensor's slot, freed on destroy */
    size_t owned_bytes; /* of its buffer, when the tensor created it; else 0 */
};

/* ---- errors ---- */

/* Records a formatted message on ctx and returns status. */
clcnn_status clcnn__fail(clcnn_context *ctx, clcnn_status status, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Records "<what> failed: <CL_ERROR_NAME> (<code>)" and returns the status
 * that fits the OpenCL error (out of memory, or CLCNN_ERR_OPENCL). */
clcnn_status clcnn__cl_fail(clcnn_context *ctx, cl_int err, const char *what);

/* "CL_INVALID_VALUE" for -30 and so on. */
const char *clcnn__cl_error_name(cl_int err);

/* Maps an OpenCL error code to a clcnn status. */
clcnn_status clcnn__cl_status(cl_int err);

/* snprintf into a caller buffer that may be NULL. */
void clcnn__message(char *buf, size_t size, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- tensors ---- */

/* Checks that t is not NULL and belongs to ctx; name is used in messages. */
clcnn_status clcnn__check_tensor(clcnn_context *ctx, const clcnn_tensor *t, const char *name);

/* A tensor over count(n,c,h,w) elements of t's memory starting `offset`
 * elements after t's start (arenas carve their tensors this way). */
clcnn_status clcnn__tensor_slice(clcnn_tensor *t, size_t offset, int n, int c, int h, int w,
                                 clcnn_tensor **out);

/* A tensor (count, 1, 1, 1) for an op's temporary data, over one of the
 * context's scratch buffers when one is free: allocating a fresh buffer on
 * every call costs page faults on CPU devices (a 9 MiB flipped filter: a
 * fifth of the pass). Reuse is safe because the queue is in-order: an op
 * enqueued later runs after the kernels that used the buffer before. A
 * buffer is free again once its tensor is destroyed; larger requests than
 * CLCNN__SCRATCH_MAX_BYTES, or with every slot taken, get a buffer of their
 * own. The slots are released with the context. */
clcnn_status clcnn__scratch(clcnn_context *ctx, size_t count, clcnn_tensor **out);

/* Releases the context's scratch buffers (none may be in use). */
void clcnn__scratch_release(clcnn_context *ctx);

/* Element count of a shape, or 0 when it overflows int or a dimension < 1. */
size_t clcnn__shape_count(const int shape[4]);

/* "(2, 3, 28, 28)" into buf. Returns buf. */
const char *clcnn__shape_str(const int shape[4], char *buf, size_t size);

/* ---- kernels ---- */

/* The embedded source of kernels/<name>.cl, or NULL. */
const char *clcnn__embedded_source(const char *name);

/*
 * The kernel `kernel` of kernels/<source>.cl built with `options` for ctx's
 * device. The program is built once per (source, options) and kept in ctx;
 * its binary is written to the disk cache when ctx is destroyed (fetching it
 * makes PoCL compile every kernel of the program again, so not during
 * set-up). The kernel is owned by ctx.
 */
clcnn_status clcnn__kernel(clcnn_context *ctx, const char *source, const char *options,
                           const char *kernel, cl_kernel *out);

/* One kernel argument: size bytes at value (value NULL: local memory). */
typedef struct clcnn__arg {
    size_t size;
    const void *value;
} clcnn__arg;

#define CLCNN__ARG_MEM(m) ((clcnn__arg){sizeof(cl_mem), &(m)})
#define CLCNN__ARG_INT(v) ((clcnn__arg){sizeof(cl_int), &(cl_int){(cl_int)(v)}})
#define CLCNN__ARG_FLOAT(v) ((clcnn__arg){sizeof(cl_float), &(cl_float){(cl_float)(v)}})
#define CLCNN__ARG_LOCAL(bytes) ((clcnn__arg){(bytes), NULL})
/* A tensor is passed as two kernel arguments: its buffer and its offset in
 * elements (`__global float *x, int x_off`). */
#define CLCNN__ARG_TENSOR(t) CLCNN__ARG_MEM((t)->mem), CLCNN__ARG_INT((t)->offset)

/*
 * Sets the arguments (their count must match the kernel's) and enqueues the
 * kernel over global[0..dims) with local (NULL: the driver chooses). Each
 * global size must be a multiple of its local size.
 */
clcnn_status clcnn__launch(clcnn_context *ctx, cl_kernel kernel, cl_uint dims,
                           const size_t *global, const size_t *local, size_t arg_count,
                           const clcnn__arg *args);

#define CLCNN__LAUNCH(ctx, kernel, dims, global, local, ...)                                   \
    clcnn__launch((ctx), (kernel), (dims), (global), (local),                                  \
                  sizeof((clcnn__arg[]){__VA_ARGS__}) / sizeof(clcnn__arg),                    \
                  (clcnn__arg[]){__VA_ARGS__})

/* n rounded up to a multiple of m. */
static inline size_t clcnn__round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

/* ---- files ---- */

/*
 * Writes data to path atomically: a temporary "<path>.tmp-XXXXXX" beside it
 * (stale ones older than a minute are removed first), fsync, rename, and an
 * fsync of the folder. An existing path that is not a regular file (a pipe,
 * /dev/full) is written directly. CLCNN_ERR_IO with a message naming the
 * step that failed; the previous file is then unchanged.
 */
clcnn_status clcnn__write_file_atomically(clcnn_context *ctx, const char *path,
                                          const unsigned char *data, size_t len);

/* ---- host memory ---- */

/* Allocation goes through these so that tests can inject failures. */
void *clcnn__malloc(size_t size);
void *clcnn__calloc(size_t count, size_t size);
void *clcnn__realloc(void *p, size_t size);
void clcnn__free(void *p);
char *clcnn__strdup(const char *s);

#ifdef CLCNN_FAULT_INJECTION
/*
 * Fault injection, compiled only into the test library variant that
 * tests/test_faults.c links (meson: clcnn_faults); the shipped library is
 * built without CLCNN_FAULT_INJECTION and has none of this. The test
 * executable defines these functions, so the counters live in the test, not
 * in the library, which keeps no mutable global state. A per-context
 * allocator would not do: devices are listed, data sets read and specs
 * parsed before or without a context.
 *
 * clcnn__fault_fail is asked before every host allocation (CLCNN__FAULT_HOST,
 * including reallocations) and every device buffer (CLCNN__FAULT_DEVICE);
 * non-zero makes that allocation fail as if the memory were exhausted.
 * clcnn__fault_track hears of every allocation made (+1) and freed (-1), so
 * the test can prove that a failed call freed everything it allocated.
 */
enum { CLCNN__FAULT_HOST = 0, CLCNN__FAULT_DEVICE = 1 };
int clcnn__fault_fail(int kind, size_t bytes);
void clcnn__fault_track(int kind, int delta);
/*
 * clcnn__fault_cl is asked before each OpenCL call that runs work (kernel
 * launches, buffer reads, writes and fills, waits, clFinish, program builds)
 * with the call's name; a non-zero cl_int is returned as that call's error
 * instead of making it, as a driver out of resources would.
 */
cl_int clcnn__fault_cl(const char *call);
#define CLCNN__CL(err, fn, args)                                                               \
    do {                                                                                       \
        (err) = clcnn__fault_cl(#fn);                                                          \
        if ((err) == CL_SUCCESS)                                                               \
            (err) = fn args;                                                                   \
    } while (0)
#else
/* (err) = fn args; the fault-injection build can fail it (see above). */
#define CLCNN__CL(err, fn, args) ((err) = fn args)
#endif

#endif /* CLCNN_RUNTIME_H */
