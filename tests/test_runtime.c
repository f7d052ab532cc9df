/*
 * Runtime: statuses, versions, device selection, tensors (create, view, wrap
 * a caller's buffer, transfers, fill), contexts on the caller's queue, kernel
 * building with its error reporting and the on-disk binary cache.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clcnn_cl.h"
#include "program.h"
#include "runtime.h"
#include "testutil.h"

START_TEST(test_status_names)
{
    ck_assert_str_eq(clcnn_status_name(CLCNN_OK), "CLCNN_OK");
    ck_assert_str_eq(clcnn_status_name(CLCNN_ERR_SHAPE), "CLCNN_ERR_SHAPE");
    ck_assert_str_eq(clcnn_status_name((clcnn_status)999), "CLCNN_UNKNOWN_STATUS");
    ck_assert_str_eq(clcnn_status_message(CLCNN_OK), "success");
    ck_assert_ptr_nonnull(strstr(clcnn_status_message(CLCNN_ERR_NO_DEVICE), "device"));
    ck_assert_str_eq(clcnn__cl_error_name(CL_INVALID_VALUE), "CL_INVALID_VALUE");
    ck_assert_int_eq(clcnn__cl_status(CL_MEM_OBJECT_ALLOCATION_FAILURE),
                     CLCNN_ERR_OUT_OF_DEVICE_MEMORY);
}
END_TEST

START_TEST(test_version)
{
    ck_assert_str_eq(clcnn_version(), CLCNN_VERSION_STRING);
    ck_assert_uint_eq(clcnn_version_number(), CLCNN_VERSION_NUMBER);
}
END_TEST

START_TEST(test_list_devices)
{
    clcnn_device_info devs[16];
    size_t count = 0, chosen = 99;
    char err[512] = "";
    tu_ok(clcnn_list_devices("", devs, 16, &count, &chosen, err, sizeof err));
    ck_assert_uint_ge(count, 1);
    ck_assert_uint_lt(chosen, count);
    ck_assert_str_ne(devs[chosen].device_name, "");

    /* by index and by substring both find the default device again */
    char sel[32];
    snprintf(sel, sizeof sel, "%d:%d", devs[chosen].platform_index, devs[chosen].device_index);
    size_t again = 99;
    tu_ok(clcnn_list_devices(sel, devs, 16, &count, &again, NULL, 0));
    ck_assert_uint_eq(again, chosen);
    char part[8] = "";
    snprintf(part, sizeof part, "%.5s", devs[chosen].device_name);
    tu_ok(clcnn_list_devices(part, devs, 16, &count, &again, NULL, 0));

    /* a selector matching nothing names what was found */
    clcnn_status st = clcnn_list_devices("no-such-device-xyz", devs, 16, &count, &again, err,
                                         sizeof err);
    ck_assert_int_eq(st, CLCNN_ERR_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(err, "no-such-device-xyz"));
    ck_assert_ptr_nonnull(strstr(err, devs[chosen].device_name));
    ck_assert_int_eq(clcnn_list_devices("99:0", devs, 16, &count, &again, err, sizeof err),
                     CLCNN_ERR_NO_DEVICE);

    clcnn_context *ctx = (clcnn_context *)1;
    clcnn_context_options opts = {.device = "no-such-device-xyz"};
    ck_assert_int_eq(clcnn_context_create(&opts, &ctx, err, sizeof err), CLCNN_ERR_NO_DEVICE);
    ck_assert_ptr_null(ctx);
    ck_assert_ptr_nonnull(strstr(err, "no OpenCL device matches"));
}
END_TEST

START_TEST(test_tensor_roundtrip)
{
    tu_rng rng = tu_rng_make(11);
    float src[3 * 5 * 7 * 2], dst[3 * 5 * 7 * 2];
    tu_fill(&rng, src, 210, -3, 3);
    clcnn_tensor *t = tu_tensor(3, 5, 7, 2, src);
    int shape[4];
    clcnn_tensor_shape(t, shape);
    ck_assert_int_eq(shape[0], 3);
    ck_assert_int_eq(shape[3], 2);
    ck_assert_uint_eq(clcnn_tensor_count(t), 210);
    tu_ok(clcnn_tensor_read(t, dst, 210));
    ck_assert_mem_eq(src, dst, sizeof src);

    /* a flattening view shares memory and outlives its tensor */
    clcnn_tensor *flat = NULL;
    tu_ok(clcnn_tensor_view(t, 3, 70, 1, 1, &flat));
    clcnn_tensor_destroy(t);
    memset(dst, 0, sizeof dst);
    tu_ok(clcnn_tensor_read(flat, dst, 210));
    ck_assert_mem_eq(src, dst, sizeof src);
    tu_expect_status(clcnn_tensor_view(flat, 3, 71, 1, 1, &t), CLCNN_ERR_SHAPE);

    tu_ok(clcnn_tensor_fill(flat, 2.5f));
    tu_ok(clcnn_tensor_read(flat, dst, 210));
    for (int i = 0; i < 210; i++)
        ck_assert_float_eq(dst[i], 2.5f);
    tu_expect_status(clcnn_tensor_read(flat, dst, 209), CLCNN_ERR_SHAPE);
    tu_expect_status(clcnn_tensor_write(flat, NULL, 210), CLCNN_ERR_INVALID_ARGUMENT);
    clcnn_tensor_destroy(flat);
    clcnn_tensor_destroy(NULL);
}
END_TEST

START_TEST(test_tensor_invalid)
{
    clcnn_tensor *t = (clcnn_tensor *)1;
    tu_expect_status(clcnn_tensor_create(tu_ctx(), 0, 1, 1, 1, &t), CLCNN_ERR_SHAPE);
    ck_assert_ptr_null(t);
    tu_expect_status(clcnn_tensor_create(tu_ctx(), 1, -3, 1, 1, &t), CLCNN_ERR_SHAPE);
    /* 65536^2 elements overflow int */
    tu_expect_status(clcnn_tensor_create(tu_ctx(), 65536, 65536, 1, 1, &t), CLCNN_ERR_SHAPE);
    tu_expect_status(clcnn_tensor_create(tu_ctx(), 1, 1, 1, 1, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn_tensor_create(NULL, 1, 1, 1, 1, &t), CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_wrap_caller_buffer)
{
    clcnn_context *ctx = tu_ctx();
    cl_int err;
    float host[40];
    for (int i = 0; i < 40; i++)
        host[i] = (float)i * 0.5f - 3.0f;
    cl_mem buf = clCreateBuffer(clcnn_context_cl_context(ctx), CL_MEM_READ_WRITE,
                                sizeof host, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(clEnqueueWriteBuffer(clcnn_context_cl_queue(ctx), buf, CL_TRUE, 0,
                                          sizeof host, host, 0, NULL, NULL),
                     CL_SUCCESS);
    clcnn_tensor *t = NULL;
    tu_ok(clcnn_tensor_wrap(ctx, buf, 8 * sizeof(float), 2, 4, 2, 2, &t));
    clReleaseMemObject(buf); /* the tensor keeps it alive */
    float got[32];
    tu_ok(clcnn_tensor_read(t, got, 32));
    ck_assert_mem_eq(got, host + 8, sizeof got);
    size_t off = 0;
    ck_assert_ptr_eq(clcnn_tensor_cl_mem(t, &off), buf);
    ck_assert_uint_eq(off, 32);
    /* its own variable: a failed wrap sets its output to NULL, which would lose t */
    clcnn_tensor *misaligned = NULL;
    tu_expect_status(clcnn_tensor_wrap(ctx, buf, 3, 1, 1, 1, 1, &misaligned),
                     CLCNN_ERR_INVALID_ARGUMENT);
    clcnn_tensor *too_big = NULL;
    tu_expect_status(clcnn_tensor_wrap(ctx, buf, 16, 1, 1, 1, 40, &too_big), CLCNN_ERR_SHAPE);
    clcnn_tensor_destroy(t);
}
END_TEST

START_TEST(test_context_from_cl)
{
    clcnn_context *ctx = tu_ctx();
    cl_int err;
    cl_device_id dev = clcnn_context_cl_device(ctx);
    cl_context cl_ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_command_queue q = clCreateCommandQueue(cl_ctx, dev, 0, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    clcnn_context *mine = NULL;
    char msg[512];
    ck_assert_int_eq(clcnn_context_create_from_cl(cl_ctx, q, NULL, &mine, msg, sizeof msg),
                     CLCNN_OK);
    clReleaseCommandQueue(q); /* retained by the clcnn context */
    clReleaseContext(cl_ctx);
    clcnn_tensor *t = NULL;
    ck_assert_int_eq(clcnn_tensor_create(mine, 1, 2, 3, 4, &t), CLCNN_OK);
    float v[24], back[24];
    for (int i = 0; i < 24; i++)
        v[i] = (float)(i * i) - 7.0f;
    ck_assert_int_eq(clcnn_tensor_write(t, v, 24), CLCNN_OK);
    ck_assert_int_eq(clcnn_tensor_read(t, back, 24), CLCNN_OK);
    ck_assert_mem_eq(v, back, sizeof v);

    /* a tensor of one context is refused by another */
    ck_assert_int_eq(clcnn__check_tensor(tu_ctx(), t, "x"), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clcnn_last_error(tu_ctx()), "another context"));
    clcnn_tensor_destroy(t);
    clcnn_context_destroy(mine);

    ck_assert_int_eq(clcnn_context_create_from_cl(NULL, NULL, NULL, &mine, msg, sizeof msg),
                     CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            remove(path);
        }
    closedir(d);
    rmdir(dir);
}

/* Kernel development folder: a good kernel builds, is cached on disk and
 * found there by a second context; a broken one reports its build log. */
START_TEST(test_kernel_dir_build_and_cache)
{
    char root[] = "/tmp/clcnn-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    char kdir[128], cdir[128], path[512];
    snprintf(kdir, sizeof kdir, "%s/kernels", root);
    snprintf(cdir, sizeof cdir, "%s/cache/nested", root);
    mkdir(kdir, 0755);
    /* every program starts with the folder's common.cl */
    snprintf(path, sizeof path, "%s/common.cl", kdir);
    write_file(path, "/* nothing shared */\n");
    snprintf(path, sizeof path, "%s/probe.cl", kdir);
    write_file(path, "__kernel void scale(__global float *x, int x_off, float a)\n"
                     "{ x[x_off + get_global_id(0)] *= a * SCALE; }\n");
    snprintf(path, sizeof path, "%s/broken.cl", kdir);
    write_file(path, "__kernel void broken(__global float *x) { x[0] = undefined_name; }\n");

    clcnn_context_options opts = {.kernel_dir = kdir, .cache_dir = cdir};
    for (int round = 0; round < 2; round++) {
        clcnn_context *ctx = NULL;
        char msg[512];
        ck_assert_int_eq(clcnn_context_create(&opts, &ctx, msg, sizeof msg), CLCNN_OK);
        cl_kernel k;
        ck_assert_int_eq(clcnn__kernel(ctx, "probe", "-DSCALE=2", "scale", &k), CLCNN_OK);
        clcnn_tensor *t = NULL;
        float v[5] = {1, -2, 3, -4, 5}, got[5];
        ck_assert_int_eq(clcnn_tensor_create(ctx, 1, 1, 1, 5, &t), CLCNN_OK);
        ck_assert_int_eq(clcnn_tensor_write(t, v, 5), CLCNN_OK);
        size_t global = 5;
        ck_assert_int_eq(CLCNN__LAUNCH(ctx, k, 1, &global, NULL, CLCNN__ARG_TENSOR(t),
                                       CLCNN__ARG_FLOAT(1.5f)),
                         CLCNN_OK);
        /* a wrong argument count is caught before anything runs */
        ck_assert_int_eq(CLCNN__LAUNCH(ctx, k, 1, &global, NULL, CLCNN__ARG_TENSOR(t)),
                         CLCNN_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(clcnn_last_error(ctx), "takes 3 arguments"));
        ck_assert_int_eq(clcnn_tensor_read(t, got, 5), CLCNN_OK);
        for (int i = 0; i < 5; i++)
            ck_assert_float_eq(got[i], v[i] * 3.0f);
        /* the first round built from source and writes the binary only when
         * its context is destroyed (fetching a binary makes PoCL compile
         * every kernel again); the second round loads it */
        clcnn__build_timing b;
        ck_assert_int_eq(clcnn__program_timing(ctx, 0, &b), 1);
        ck_assert_int_eq(clcnn__program_timing(ctx, 1, &b), 0);
        clcnn__program_timing(ctx, 0, &b);
        ck_assert_int_eq(b.from_cache, round == 1);
        ck_assert_str_eq(b.key, "probe|-cl-std=CL1.2 -DSCALE=2");
        ck_assert_uint_eq(b.kernels, 1);
        ck_assert(b.ms >= 0 && b.cpu_ms >= 0);
        ck_assert_int_eq(count_files(cdir), round);

        ck_assert_int_eq(clcnn__kernel(ctx, "broken", "", "broken", &k), CLCNN_ERR_BUILD);
        ck_assert_ptr_nonnull(strstr(clcnn_last_error(ctx), "undefined_name"));
        ck_assert_int_eq(clcnn__kernel(ctx, "missing", "", "x", &k), CLCNN_ERR_IO);
        ck_assert_int_eq(clcnn__kernel(ctx, "probe", "", "no_such_kernel", &k),
                         CLCNN_ERR_BUILD); /* SCALE undefined */
        clcnn_tensor_destroy(t);
        clcnn_context_destroy(ctx);
        ck_assert_int_eq(count_files(cdir), 1);
    }
    /* a corrupt cache entry is rebuilt, not trusted */
    DIR *d = opendir(cdir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", cdir, e->d_name);
            write_file(path, "CLCNNBIN garbage");
        }
    closedir(d);
    clcnn_context *ctx = NULL;
    ck_assert_int_eq(clcnn_context_create(&opts, &ctx, NULL, 0), CLCNN_OK);
    cl_kernel k;
    ck_assert_int_eq(clcnn__kernel(ctx, "probe", "-DSCALE=2", "scale", &k), CLCNN_OK);
    clcnn_context_destroy(ctx);

    remove_tree(cdir);
    snprintf(path, sizeof path, "%s/cache", root);
    rmdir(path);
    remove_tree(kdir);
    rmdir(root);
}
END_TEST

/* The default cache folder ($XDG_CACHE_HOME/clcnn here) keeps kernel
 * binaries except on PoCL, whose own cache serves; a folder named by
 * $CLCNN_CACHE_DIR keeps them everywhere. */
START_TEST(test_default_cache_folder)
{
    char root[] = "/tmp/clcnn-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    char dir[128];
    snprintf(dir, sizeof dir, "%s/clcnn", root);
    const char *saved_env = getenv("CLCNN_CACHE_DIR"), *saved_xdg = getenv("XDG_CACHE_HOME");
    char *env_copy = saved_env ? strdup(saved_env) : NULL;
    char *xdg_copy = saved_xdg ? strdup(saved_xdg) : NULL;
    for (int named = 0; named < 2; named++) {
        if (named)
            setenv("CLCNN_CACHE_DIR", dir, 1);
        else
            unsetenv("CLCNN_CACHE_DIR");
        setenv("XDG_CACHE_HOME", root, 1);
        clcnn_context *ctx = NULL;
        ck_assert_int_eq(clcnn_context_create(NULL, &ctx, NULL, 0), CLCNN_OK);
        const int pocl = strstr(ctx->info.platform_name, "Portable Computing Language") != NULL;
        cl_kernel k;
        ck_assert_int_eq(clcnn__kernel(ctx, "softmax", "", "softmax_fwd", &k), CLCNN_OK);
        clcnn_context_destroy(ctx);
        ck_assert_int_eq(count_files(dir) > 0, named || !pocl);
        remove_tree(dir);
    }
    if (env_copy)
        setenv("CLCNN_CACHE_DIR", env_copy, 1);
    else
        unsetenv("CLCNN_CACHE_DIR");
    if (xdg_copy)
        setenv("XDG_CACHE_HOME", xdg_copy, 1);
    else
        unsetenv("XDG_CACHE_HOME");
    free(env_copy);
    free(xdg_copy);
    rmdir(root);
}
END_TEST

/* CLCNN_PROFILE_SETUP: each kernel's first launch is timed, once; without
 * it no launch is. */
START_TEST(test_setup_profile)
{
    for (int profile = 0; profile < 2; profile++) {
        if (profile)
            setenv("CLCNN_PROFILE_SETUP", "1", 1);
        else
            unsetenv("CLCNN_PROFILE_SETUP");
        clcnn_context_options opts = {.cache_dir = ""};
        clcnn_context *ctx = NULL;
        ck_assert_int_eq(clcnn_context_create(&opts, &ctx, NULL, 0), CLCNN_OK);
        clcnn_tensor *t = NULL;
        float v[7] = {1, -2, 3, -4, 5, -6, 7}, got[7];
        ck_assert_int_eq(clcnn_tensor_create(ctx, 1, 7, 1, 1, &t), CLCNN_OK);
        ck_assert_int_eq(clcnn_tensor_write(t, v, 7), CLCNN_OK);
        const char *name = NULL;
        struct clcnn__launch_timing first;
        for (int run = 0; run < 2; run++) {
            ck_assert_int_eq(clcnn_softmax_forward(ctx, t, t), CLCNN_OK);
            ck_assert_int_eq(clcnn__kernel_timing(ctx, 0, 0, &name, &first), 1);
            ck_assert_str_eq(name, "softmax_fwd");
            if (run == 0)
                ck_assert(profile ? first.ms >= 0 && first.cpu_ms >= 0 : first.ms < 0);
        }
        ck_assert_int_eq(clcnn__kernel_timing(ctx, 0, 1, &name, &first), 0);
        ck_assert_int_eq(clcnn__kernel_timing(ctx, 1, 0, &name, &first), 0);
        /* twice softmax of the input: a probability row either way */
        ck_assert_int_eq(clcnn_tensor_read(t, got, 7), CLCNN_OK);
        double sum = 0;
        for (int i = 0; i < 7; i++)
            sum += got[i];
        ck_assert_double_eq_tol(sum, 1.0, 1e-5);
        clcnn_tensor_destroy(t);
        clcnn_context_destroy(ctx);
    }
    unsetenv("CLCNN_PROFILE_SETUP");
}
END_TEST

START_TEST(test_embedded_sources)
{
    ck_assert_ptr_nonnull(clcnn__embedded_source("conv2d"));
    ck_assert_ptr_nonnull(clcnn__embedded_source("gemm"));
    ck_assert_ptr_null(clcnn__embedded_source("nonexistent"));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("runtime");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_status_names);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_list_devices);
    tcase_add_test(tc, test_tensor_roundtrip);
    tcase_add_test(tc, test_tensor_invalid);
    tcase_add_test(tc, test_wrap_caller_buffer);
    tcase_add_test(tc, test_context_from_cl);
    tcase_add_test(tc, test_kernel_dir_build_and_cache);
    tcase_add_test(tc, test_default_cache_folder);
    tcase_add_test(tc, test_setup_profile);
    tcase_add_test(tc, test_embedded_sources);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
