/*
 * Kernel programs: the embedded sources, lazy building once per (source,
 * options) per context, a binary cache on disk so that a second process does
 * not compile again (written as the context is destroyed), the set-up
 * timings clcnn bench reports, and the checked kernel launch.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "program.h"

/* Bumped whenever the cache file layout or the meaning of a key changes. */
#define CACHE_FORMAT_VERSION 1u
static const char cache_magic[8] = {'C', 'L', 'C', 'N', 'N', 'B', 'I', 'N'};

/* The embedded sources, one per kernels/<name>.cl (see meson.build). */
#define CLCNN__KERNEL(name) extern const char clcnn__kernel_##name[];
#include "kernel_table.h"
#undef CLCNN__KERNEL

static const struct {
    const char *name;
    const char *source;
} embedded[] = {
#define CLCNN__KERNEL(name) {#name, clcnn__kernel_##name},
#include "kernel_table.h"
#undef CLCNN__KERNEL
};

const char *clcnn__embedded_source(const char *name)
{
    for (size_t i = 0; i < sizeof embedded / sizeof embedded[0]; i++)
        if (strcmp(embedded[i].name, name) == 0)
            return embedded[i].source;
    return NULL;
}

/* Reads kernel_dir/<name>.cl into a new string *out. */
static clcnn_status read_kernel_file(clcnn_context *ctx, const char *name, char **out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.cl", ctx->kernel_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return clcnn__fail(ctx, CLCNN_ERR_IO, "cannot open kernel source %s: %s", path,
                           strerror(errno));
    char *text = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = clcnn__malloc((size_t)size + 1)) != NULL &&
        fread(text, 1, (size_t)size, f) == (size_t)size) {
        text[size] = '\0';
        fclose(f);
        *out = text;
        return CLCNN_OK;
    }
    fclose(f);
    clcnn_status st =
        size >= 0 && !text
            ? clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY,
                          "out of host memory reading kernel source %s (%ld bytes)", path, size)
            : clcnn__fail(ctx, CLCNN_ERR_IO, "cannot read kernel source %s", path);
    clcnn__free(text);
    return st;
}

static double clock_ms(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* Wall and process CPU time of a set-up step: the CPU time is what the
 * compiler did, much the same when other programs share the cores. */
typedef struct {
    double wall, cpu;
} step_clock;

static step_clock step_start(void)
{
    return (step_clock){clock_ms(CLOCK_MONOTONIC), clock_ms(CLOCK_PROCESS_CPUTIME_ID)};
}

static void step_stop(step_clock start, double *wall_ms, double *cpu_ms)
{
    *wall_ms = clock_ms(CLOCK_MONOTONIC) - start.wall;
    *cpu_ms = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - start.cpu;
}

/* ---- disk cache ---- */

/* Two FNV-1a 64-bit hashes with different offsets: a 128-bit file name. */
typedef struct {
    uint64_t a, b;
} cache_key;

static void hash_str(cache_key *k, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        k->a = (k->a ^ *p) * 0x100000001b3ull;
        k->b = (k->b ^ *p) * 0x100000001b3ull;
    }
    /* a separator, so that ("ab","c") and ("a","bc") differ */
    k->a = (k->a ^ 0xff) * 0x100000001b3ull;
    k->b = (k->b ^ 0xfe) * 0x100000001b3ull;
}

static cache_key make_key(const clcnn_context *ctx, const char *common, const char *source,
                          const char *options)
{
    cache_key k = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
    char version[32];
    snprintf(version, sizeof version, "clcnn-cache-%u", CACHE_FORMAT_VERSION);
    hash_str(&k, version);
    hash_str(&k, ctx->info.platform_name);
    hash_str(&k, ctx->info.device_name);
    hash_str(&k, ctx->info.device_version);
    hash_str(&k, ctx->info.driver_version);
    hash_str(&k, options);
    hash_str(&k, common);
    hash_str(&k, source);
    return k;
}

static void cache_path(const clcnn_context *ctx, cache_key k, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%016llx%016llx.bin", ctx->cache_dir, (unsigned long long)k.a,
             (unsigned long long)k.b);
}

/* mkdir -p; failures are ignored (the cache is then just not written). */
static void make_dirs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    mkdir(path, 0755);
}

/* The cached binary for k, or NULL. */
static unsigned char *cache_load(const clcnn_context *ctx, cache_key k, size_t *size)
{
    char path[4096];
    cache_path(ctx, k, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char magic[8];
    uint32_t version;
    uint64_t a, b, n;
    unsigned char *data = NULL;
    if (fread(magic, 1, 8, f) == 8 && memcmp(magic, cache_magic, 8) == 0 &&
        fread(&version, sizeof version, 1, f) == 1 && version == CACHE_FORMAT_VERSION &&
        fread(&a, sizeof a, 1, f) == 1 && a == k.a && fread(&b, sizeof b, 1, f) == 1 &&
        b == k.b && fread(&n, sizeof n, 1, f) == 1 && n > 0 && n < (1ull << 31) &&
        (data = clcnn__malloc((size_t)n)) != NULL && fread(data, 1, (size_t)n, f) == n &&
        fgetc(f) == EOF) {
        fclose(f);
        *size = (size_t)n;
        return data;
    }
    fclose(f);
    clcnn__free(data);
    return NULL;
}

/* Writes the program's binary atomically (temporary file, then rename). */
static void cache_store(const clcnn_context *ctx, cache_key k, cl_program program)
{
    size_t n = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL) != CL_SUCCESS ||
        n == 0)
        return;
    unsigned char *data = clcnn__malloc(n);
    if (!data)
        return;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof data, &data, NULL) != CL_SUCCESS) {
        clcnn__free(data);
        return;
    }
    make_dirs(ctx->cache_dir);
    char path[4096], tmp[4200];
    cache_path(ctx, k, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (f) {
        uint32_t version = CACHE_FORMAT_VERSION;
        uint64_t size64 = n;
        int ok = fwrite(cache_magic, 1, 8, f) == 8 &&
                 fwrite(&version, sizeof version, 1, f) == 1 &&
                 fwrite(&k.a, sizeof k.a, 1, f) == 1 && fwrite(&k.b, sizeof k.b, 1, f) == 1 &&
                 fwrite(&size64, sizeof size64, 1, f) == 1 && fwrite(data, 1, n, f) == n;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, path) != 0)
            remove(tmp);
    }
    clcnn__free(data);
}

/* ---- building ---- */

/* Records a build failure with as much of the build log as fits. */
static clcnn_status build_failed(clcnn_context *ctx, cl_program program, const char *source,
                                 const char *options, cl_int err)
{
    char log[CLCNN__ERROR_SIZE - 512];
    size_t n = 0;
    log[0] = '\0';
    if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log,
                              &n) != CL_SUCCESS) {
        /* the log is larger than our buffer: fetch it whole, keep the start */
        size_t need = 0;
        clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &need);
        char *full = need ? clcnn__malloc(need + 1) : NULL;
        if (full && clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, need,
                                          full, NULL) == CL_SUCCESS) {
            full[need] = '\0';
            snprintf(log, sizeof log, "%s", full);
        }
        clcnn__free(full);
    }
    log[sizeof log - 1] = '\0';
    return clcnn__fail(ctx, CLCNN_ERR_BUILD,
                       "building kernels/%s.cl with \"%s\" failed: %s (%d); build log:\n%s",
                       source, options, clcnn__cl_error_name(err), (int)err, log);
}

static clcnn_status build_program(clcnn_context *ctx, const char *source_name,
                                  const char *options, struct clcnn__program *prog)
{
    const step_clock t0 = step_start();
    /* kernels/common.cl goes in front of every source */
    char *owned[2] = {NULL, NULL};
    const char *text[2];
    const char *const names[2] = {"common", source_name};
    for (int i = 0; i < 2; i++) {
        if (ctx->kernel_dir) {
            clcnn_status st = read_kernel_file(ctx, names[i], &owned[i]);
            if (st != CLCNN_OK) {
                clcnn__free(owned[0]);
                return st;
            }
            text[i] = owned[i];
        } else {
            text[i] = clcnn__embedded_source(names[i]);
            if (!text[i])
                return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                                   "no kernel source named \"%s\" is built in", names[i]);
        }
    }

    cl_int err;
    cl_program program = NULL;
    cache_key key = make_key(ctx, text[0], text[1], options);
    if (ctx->binary_cache) {
        size_t size = 0;
        unsigned char *binary = cache_load(ctx, key, &size);
        if (binary) {
            cl_int binary_status;
            const unsigned char *bin = binary;
            program = clCreateProgramWithBinary(ctx->cl_ctx, 1, &ctx->device, &size, &bin,
                                                &binary_status, &err);
            if (program && clBuildProgram(program, 1, &ctx->device, options, NULL, NULL) !=
                               CL_SUCCESS) {
                clReleaseProgram(program); /* a stale binary: build from source */
                program = NULL;
            }
            clcnn__free(binary);
            prog->from_cache = program != NULL;
        }
    }
    if (!program) {
        program = clCreateProgramWithSource(ctx->cl_ctx, 2, text, NULL, &err);
        if (!program) {
            clcnn__free(owned[0]);
            clcnn__free(owned[1]);
            return clcnn__cl_fail(ctx, err, "clCreateProgramWithSource");
        }
        CLCNN__CL(err, clBuildProgram, (program, 1, &ctx->device, options, NULL, NULL));
        if (err != CL_SUCCESS) {
            clcnn_status st = build_failed(ctx, program, source_name, options, err);
            clReleaseProgram(program);
            clcnn__free(owned[0]);
            clcnn__free(owned[1]);
            return st;
        }
        if (ctx->binary_cache) {
            prog->store_pending = 1;
            prog->cache_key[0] = key.a;
            prog->cache_key[1] = key.b;
        }
    }
    clcnn__free(owned[0]);
    clcnn__free(owned[1]);
    prog->program = program;
    step_stop(t0, &prog->build_ms, &prog->build_cpu_ms);
    return CLCNN_OK;
}

static struct clcnn__program *find_program(clcnn_context *ctx, const char *key)
{
    for (size_t i = 0; i < ctx->program_count; i++)
        if (strcmp(ctx->programs[i].key, key) == 0)
            return &ctx->programs[i];
    return NULL;
}

clcnn_status clcnn__kernel(clcnn_context *ctx, const char *source, const char *options,
                           const char *kernel, cl_kernel *out)
{
    char full_options[2048];
    /* Kernels are OpenCL C 1.2 and exact: no fast-math, denormals kept. */
    int n = snprintf(full_options, sizeof full_options, "-cl-std=CL1.2 %s", options);
    if (n < 0 || (size_t)n >= sizeof full_options)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "kernel options too long");
    char key[2304];
    snprintf(key, sizeof key, "%s|%s", source, full_options);

    struct clcnn__program *prog = find_program(ctx, key);
    if (!prog) {
        struct clcnn__program *grown =
            clcnn__realloc(ctx->programs, (ctx->program_count + 1) * sizeof *ctx->programs);
        if (!grown)
            return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        ctx->programs = grown;
        prog = &ctx->programs[ctx->program_count];
        memset(prog, 0, sizeof *prog);
        prog->key = clcnn__strdup(key);
        if (!prog->key)
            return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        clcnn_status st = build_program(ctx, source, full_options, prog);
        if (st != CLCNN_OK) {
            clcnn__free(prog->key);
            return st;
        }
        ctx->program_count++;
    }
    for (size_t i = 0; i < prog->kernel_count; i++)
        if (strcmp(prog->kernel_names[i], kernel) == 0) {
            *out = prog->kernels[i];
            return CLCNN_OK;
        }

    cl_int err;
    cl_kernel k = clCreateKernel(prog->program, kernel, &err);
    if (!k)
        return clcnn__fail(ctx, clcnn__cl_status(err),
                           "clCreateKernel(%s) in kernels/%s.cl failed: %s (%d)", kernel,
                           source, clcnn__cl_error_name(err), (int)err);
    char **names = clcnn__realloc(prog->kernel_names, (prog->kernel_count + 1) * sizeof *names);
    if (names)
        prog->kernel_names = names;
    cl_kernel *kernels = clcnn__realloc(prog->kernels, (prog->kernel_count + 1) * sizeof *kernels);
    if (kernels)
        prog->kernels = kernels;
    struct clcnn__launch_timing *first =
        clcnn__realloc(prog->first_launch, (prog->kernel_count + 1) * sizeof *first);
    if (first)
        prog->first_launch = first;
    char *name = clcnn__strdup(kernel);
    if (!names || !kernels || !first || !name) {
        clcnn__free(name);
        clReleaseKernel(k);
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    prog->kernel_names[prog->kernel_count] = name;
    prog->kernels[prog->kernel_count] = k;
    prog->first_launch[prog->kernel_count] = (struct clcnn__launch_timing){-1.0, -1.0};
    prog->kernel_count++;
    *out = k;
    return CLCNN_OK;
}

void clcnn__programs_release(clcnn_context *ctx)
{
    for (size_t i = 0; i < ctx->program_count; i++) {
        struct clcnn__program *p = &ctx->programs[i];
        if (p->store_pending)
            cache_store(ctx, (cache_key){p->cache_key[0], p->cache_key[1]}, p->program);
        for (size_t j = 0; j < p->kernel_count; j++) {
            clReleaseKernel(p->kernels[j]);
            clcnn__free(p->kernel_names[j]);
        }
        clcnn__free(p->kernels);
        clcnn__free(p->kernel_names);
        clcnn__free(p->first_launch);
        clReleaseProgram(p->program);
        clcnn__free(p->key);
    }
    clcnn__free(ctx->programs);
    ctx->programs = NULL;
    ctx->program_count = 0;
}

/* The first-launch time of kernel when it has not been launched yet, else NULL. */
static struct clcnn__launch_timing *first_launch_slot(clcnn_context *ctx, cl_kernel kernel)
{
    for (size_t i = 0; i < ctx->program_count; i++)
        for (size_t j = 0; j < ctx->programs[i].kernel_count; j++)
            if (ctx->programs[i].kernels[j] == kernel)
                return ctx->programs[i].first_launch[j].ms < 0
                           ? &ctx->programs[i].first_launch[j]
                           : NULL;
    return NULL;
}

clcnn_status clcnn__launch(clcnn_context *ctx, cl_kernel kernel, cl_uint dims,
                           const size_t *global, const size_t *local, size_t arg_count,
                           const clcnn__arg *args)
{
    char name[128] = "?";
    clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
    name[sizeof name - 1] = '\0';
    cl_uint expected = 0;
    cl_int err = clGetKernelInfo(kernel, CL_KERNEL_NUM_ARGS, sizeof expected, &expected, NULL);
    if (err != CL_SUCCESS)
        return clcnn__cl_fail(ctx, err, "clGetKernelInfo");
    if (expected != arg_count)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT,
                           "kernel %s takes %u arguments but %zu were given", name, expected,
                           arg_count);
    for (size_t i = 0; i < dims; i++)
        if (global[i] == 0)
            return CLCNN_OK; /* nothing to do */
    for (cl_uint i = 0; i < arg_count; i++) {
        err = clSetKernelArg(kernel, i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            char what[192];
            snprintf(what, sizeof what, "clSetKernelArg(%s, %u)", name, i);
            return clcnn__cl_fail(ctx, err, what);
        }
    }
    struct clcnn__launch_timing *first =
        ctx->profile_setup ? first_launch_slot(ctx, kernel) : NULL;
    step_clock t0 = {0, 0};
    if (first && clFinish(ctx->queue) == CL_SUCCESS)
        t0 = step_start();
    else
        first = NULL;
    CLCNN__CL(err, clEnqueueNDRangeKernel,
              (ctx->queue, kernel, dims, NULL, global, local, 0, NULL, NULL));
    if (err != CL_SUCCESS) {
        char what[192];
        snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s)", name);
        return clcnn__cl_fail(ctx, err, what);
    }
    if (first && clFinish(ctx->queue) == CL_SUCCESS)
        step_stop(t0, &first->ms, &first->cpu_ms);
    ctx->launches++;
    return CLCNN_OK;
}

int clcnn__program_timing(const clcnn_context *ctx, size_t i, clcnn__build_timing *out)
{
    if (!ctx || i >= ctx->program_count)
        return 0;
    const struct clcnn__program *p = &ctx->programs[i];
    *out = (clcnn__build_timing){.key = p->key, .ms = p->build_ms, .cpu_ms = p->build_cpu_ms,
                                 .from_cache = p->from_cache, .kernels = p->kernel_count};
    return 1;
}

int clcnn__kernel_timing(const clcnn_context *ctx, size_t i, size_t j, const char **name,
                         struct clcnn__launch_timing *first)
{
    if (!ctx || i >= ctx->program_count || j >= ctx->programs[i].kernel_count)
        return 0;
    *name = ctx->programs[i].kernel_names[j];
    *first = ctx->programs[i].first_launch[j];
    return 1;
}
