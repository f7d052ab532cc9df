/*
 * The tuning file: parsing (comments, duplicates, every kind of malformed
 * line skipped alone), random and mutated files never crashing, the
 * per-device path, the lazy load of a context, and the atomic writer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tuning.h"

static const char good_file[] = "# a comment before the magic line\n"
                                "\n"
                                "clcnn-tuning 2\n"
                                "conv2d.fwd n8c64h56w56 1 0 12.5 direct 8x16\n"
                                "  conv2d.bwd_data n8c64h56w56 1 1\n"
                                "conv2d.bwd_filter\tn8c64h56w56\t2\t1\t3e-1\r\n"
                                "# a comment\n"
                                "conv2d.fwd n1c1h28w28 2 1 0.25\n"
                                "conv2d.fwd n1c1h28w28 1 1 0.5 the last duplicate wins\n";

static void expect_entry(const char *op, const char *key, int algo, int variant)
{
    int a = -1, v = -1;
    ck_assert_msg(clcnn__tuning_lookup(tu_ctx(), op, key, &a, &v), "%s %s not found", op, key);
    ck_assert_int_eq(a, algo);
    ck_assert_int_eq(v, variant);
}

static void expect_none(const char *op, const char *key)
{
    int a = -7, v = -7;
    ck_assert_msg(!clcnn__tuning_lookup(tu_ctx(), op, key, &a, &v), "%s %s found", op, key);
    ck_assert_int_eq(a, -7);
    ck_assert_int_eq(v, -7);
}

static void load(const char *text)
{
    tu_ok(clcnn__tuning_load_text(tu_ctx(), text, strlen(text)));
}

/* A fresh temporary folder (removed by remove_tree). */
static char *make_temp_dir(void)
{
    char *dir = tu_alloc(64);
    snprintf(dir, 64, "/tmp/clcnn-tuning-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static void remove_tree(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(test_parse_good)
{
    load(good_file);
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 4);
    expect_entry("conv2d.fwd", "n8c64h56w56", 1, 0);
    expect_entry("conv2d.bwd_data", "n8c64h56w56", 1, 1);
    expect_entry("conv2d.bwd_filter", "n8c64h56w56", 2, 1);
    expect_entry("conv2d.fwd", "n1c1h28w28", 1, 1);
    expect_none("conv2d.fwd", "n8c64h56w57");
    expect_none("conv2d.bwd_data", "n1c1h28w28");
    expect_none("", "");
    int a, v;
    ck_assert_int_eq(clcnn__tuning_lookup(NULL, "conv2d.fwd", "n8c64h56w56", &a, &v), 0);
    ck_assert_int_eq(clcnn__tuning_lookup(tu_ctx(), NULL, "n8c64h56w56", &a, &v), 0);
    ck_assert_int_eq(clcnn__tuning_lookup(tu_ctx(), "conv2d.fwd", NULL, &a, &v), 0);
    ck_assert_int_eq(clcnn__tuning_lookup(tu_ctx(), "conv2d.fwd", "n8c64h56w56", NULL, &v), 0);
    clcnn__tuning_release(tu_ctx());
}
END_TEST

/* Each malformed line is skipped alone; the good lines around it count. */
START_TEST(test_malformed_lines)
{
    static const char *const bad[] = {
        "conv2d.fwd",
        "conv2d.fwd onlykey",
        "conv2d.fwd k 1",
        "conv2d.fwd k -1 0",
        "conv2d.fwd k 1 -0",
        "conv2d.fwd k 1001 0",
        "conv2d.fwd k 1 99999",
        "conv2d.fwd k 1x 0",
        "conv2d.fwd k 0x1 0",
        "conv2d.fwd k 1 0 nan",
        "conv2d.fwd k 1 0 inf",
        "conv2d.fwd k 1 0 -3",
        "conv2d.fwd k 1 0 1e300",
        "conv2d.fwd k 1 0 12ms",
        "conv2d.fwd k\x01 1 0",
        "conv2d.fwd k 1 0 1.0 note\x7f",
        "conv2d.f\xc3\xa9 k 1 0",
        "clcnn-tuning 2",
    };
    char text[4096];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "clcnn-tuning 2\nop.a k1 3 4\n%s\nop.b k2 5 6\n", bad[i]);
        load(text);
        ck_assert_msg(clcnn__tuning_count(tu_ctx()) == 2, "line \"%s\" was accepted", bad[i]);
        expect_entry("op.a", "k1", 3, 4);
        expect_entry("op.b", "k2", 5, 6);
        expect_none("conv2d.fwd", "k");
    }

    /* a NUL byte inside a line, a line of 2000 characters, an op of 64 */
    static const char nul[] = "clcnn-tuning 2\nop.a k1 3 4\nop.c k\0 1 0\nop.b k2 5 6\n";
    tu_ok(clcnn__tuning_load_text(tu_ctx(), nul, sizeof nul - 1));
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 2);
    char *long_line = tu_alloc(4096);
    snprintf(long_line, 4096, "clcnn-tuning 2\nop.a %02000d 1 0\nop.%064d k 1 0\nop.b k2 5 6\n",
             7, 8);
    load(long_line);
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 1);
    free(long_line);
    clcnn__tuning_release(tu_ctx());
}
END_TEST

/* Files without the magic line, of another format version or too large are
 * ignored whole. */
START_TEST(test_ignored_files)
{
    load("conv2d.fwd k 1 0\nclcnn-tuning 2\nconv2d.fwd k2 1 0\n");
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 0);
    load("clcnn-tuning 1\nconv2d.fwd k 1 0\n"); /* the numbering before version 2 */
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 0);
    load("");
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 0);
    load("clcnn-tuning 2");
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 0);
    load("  clcnn-tuning 2  \r\nconv2d.fwd k 1 0");
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 1);
    tu_ok(clcnn__tuning_load_text(tu_ctx(), NULL, 0));
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 0);

    size_t big = (5u << 20);
    char *text = tu_alloc(big);
    memset(text, '\n', big);
    memcpy(text, "clcnn-tuning 2\nconv2d.fwd k 1 0\n", 32);
    tu_ok(clcnn__tuning_load_text(tu_ctx(), text, big));
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 0);
    free(text);
    clcnn__tuning_release(tu_ctx());
}
END_TEST

/* Random bytes, and a good file with random bytes changed, inserted and cut:
 * no crash, and whatever is found is in range. */
START_TEST(test_fuzz)
{
    const uint64_t seed = 1234;
    tu_rng rng = tu_rng_make(seed);
    const size_t good_len = strlen(good_file);
    char *text = tu_alloc(4096);
    for (int round = 0; round < 3000; round++) {
        size_t n;
        if (round % 3 == 0) {
            n = (size_t)tu_uniform(&rng, 0, 4096);
            for (size_t i = 0; i < n; i++)
                text[i] = (char)(int)tu_uniform(&rng, 0, 256);
            if (n > 15 && round % 2)
                memcpy(text, "clcnn-tuning 2\n", 15);
        } else {
            memcpy(text, good_file, good_len);
            n = good_len;
            int edits = 1 + (int)tu_uniform(&rng, 0, 8);
            for (int e = 0; e < edits; e++) {
                size_t at = (size_t)tu_uniform(&rng, 0, (double)n);
                int kind = (int)tu_uniform(&rng, 0, 3);
                if (kind == 0) {
                    text[at] = (char)(int)tu_uniform(&rng, 0, 256);
                } else if (kind == 1 && n < 4000) {
                    memmove(text + at + 1, text + at, n - at);
                    text[at] = "0123456789 \t\n#-.e\r"[(int)tu_uniform(&rng, 0, 19)];
                    n++;
                } else if (n > 1) {
                    memmove(text + at, text + at + 1, n - at - 1);
                    n--;
                }
            }
        }
        ck_assert_int_eq(clcnn__tuning_load_text(tu_ctx(), text, n), CLCNN_OK);
        ck_assert_uint_le(clcnn__tuning_count(tu_ctx()), 8);
        static const char *const keys[] = {"n8c64h56w56", "n1c1h28w28"};
        static const char *const ops[] = {"conv2d.fwd", "conv2d.bwd_data", "conv2d.bwd_filter"};
        for (int k = 0; k < 2; k++)
            for (int o = 0; o < 3; o++) {
                int a = -1, v = -1;
                if (clcnn__tuning_lookup(tu_ctx(), ops[o], keys[k], &a, &v))
                    ck_assert_msg(a >= 0 && a <= 1000 && v >= 0 && v <= 1000,
                                  "seed %llu round %d: out of range %d %d",
                                  (unsigned long long)seed, round, a, v);
            }
    }
    free(text);
    clcnn__tuning_release(tu_ctx());
}
END_TEST

START_TEST(test_set_save_load)
{
    char *dir = make_temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/deeper/still/tuning.txt", dir);
    load(good_file);
    tu_ok(clcnn__tuning_set(tu_ctx(), "conv2d.fwd", "n1c1h28w28", 2, 0, 1.25, "gemm 8x16"));
    tu_ok(clcnn__tuning_set(tu_ctx(), "conv2d.fwd", "new", 1, 1, 0, NULL));
    tu_ok(clcnn__tuning_set(tu_ctx(), "a.first", "key", 0, 0, 0, ""));
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 6);
    tu_ok(clcnn__tuning_save(tu_ctx(), path));
    char folder[256];
    snprintf(folder, sizeof folder, "%s/deeper/still", dir);
    ck_assert_int_eq(count_files(folder), 1); /* no temporary file left */

    clcnn__tuning_release(tu_ctx());
    tu_ok(clcnn__tuning_load(tu_ctx(), path));
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 6);
    expect_entry("conv2d.fwd", "n1c1h28w28", 2, 0);
    expect_entry("conv2d.fwd", "new", 1, 1);
    expect_entry("a.first", "key", 0, 0);
    expect_entry("conv2d.bwd_filter", "n8c64h56w56", 2, 1);

    /* saved again unchanged: the same bytes */
    char path2[256];
    snprintf(path2, sizeof path2, "%s/again.txt", dir);
    tu_ok(clcnn__tuning_save(tu_ctx(), path2));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", path, path2);
    ck_assert_int_eq(system(cmd), 0);

    /* a file that cannot be read: CLCNN_ERR_IO, and an empty table */
    snprintf(path2, sizeof path2, "%s/missing.txt", dir);
    tu_expect_status(clcnn__tuning_load(tu_ctx(), path2), CLCNN_ERR_IO);
    ck_assert_uint_eq(clcnn__tuning_count(tu_ctx()), 0);
    /* nor written into a folder that cannot exist */
    snprintf(path2, sizeof path2, "%s/again.txt/x/t.txt", dir);
    tu_expect_status(clcnn__tuning_save(tu_ctx(), path2), CLCNN_ERR_IO);
    clcnn__tuning_release(tu_ctx());
    remove_tree(dir);
    free(dir);
}
END_TEST

START_TEST(test_set_invalid)
{
    clcnn_context *ctx = tu_ctx();
    load("clcnn-tuning 2\n");
    tu_expect_status(clcnn__tuning_set(ctx, "conv2d.fwd", "a key", 1, 0, 0, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__tuning_set(ctx, "", "k", 1, 0, 0, NULL), CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__tuning_set(ctx, NULL, "k", 1, 0, 0, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__tuning_set(ctx, "op", NULL, 1, 0, 0, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__tuning_set(ctx, "op", "k", -1, 0, 0, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__tuning_set(ctx, "op", "k", 1, 1001, 0, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__tuning_set(ctx, "op", "k", 1, 0, -1, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__tuning_set(ctx, "op", "k", 1, 0, 0.0 / 0.0, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    tu_expect_status(clcnn__tuning_set(ctx, "op", "k", 1, 0, 0, "two\nlines"),
                     CLCNN_ERR_INVALID_ARGUMENT);
    char key[300];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    tu_expect_status(clcnn__tuning_set(ctx, "op", key, 1, 0, 0, NULL),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(clcnn__tuning_count(ctx), 0);
    clcnn__tuning_release(ctx);
}
END_TEST

/* The path: $CLCNN_TUNING_FILE, empty turns tuning off, else per device in
 * the cache folder; a new context reads its file lazily. */
START_TEST(test_path_and_lazy_load)
{
    char *dir = make_temp_dir();
    char file[256], path[4096];
    snprintf(file, sizeof file, "%s/t.txt", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs(good_file, f);
    fclose(f);

    const char *old = getenv("CLCNN_TUNING_FILE");
    char *saved = old ? strdup(old) : NULL;
    setenv("CLCNN_TUNING_FILE", file, 1);
    tu_ok(clcnn__tuning_path(tu_ctx(), path, sizeof path));
    ck_assert_str_eq(path, file);
    clcnn_context *ctx = NULL;
    clcnn_context_options opt = {.cache_dir = dir};
    char err[256];
    ck_assert_int_eq(clcnn_context_create(&opt, &ctx, err, sizeof err), CLCNN_OK);
    int a = -1, v = -1;
    ck_assert_int_eq(clcnn__tuning_lookup(ctx, "conv2d.bwd_filter", "n8c64h56w56", &a, &v), 1);
    ck_assert_int_eq(a, 2);
    ck_assert_int_eq(v, 1);
    /* read once: a later change of the file needs a reload */
    remove(file);
    ck_assert_int_eq(clcnn__tuning_lookup(ctx, "conv2d.fwd", "n8c64h56w56", &a, &v), 1);
    clcnn__tuning_release(ctx);
    ck_assert_int_eq(clcnn__tuning_lookup(ctx, "conv2d.fwd", "n8c64h56w56", &a, &v), 0);
    ck_assert_str_eq(clcnn_last_error(ctx), ""); /* a missing file is no error */

    setenv("CLCNN_TUNING_FILE", "", 1);
    tu_expect_status(clcnn__tuning_path(tu_ctx(), path, sizeof path), CLCNN_ERR_UNSUPPORTED);
    clcnn__tuning_release(ctx);
    ck_assert_int_eq(clcnn__tuning_lookup(ctx, "conv2d.fwd", "n8c64h56w56", &a, &v), 0);

    unsetenv("CLCNN_TUNING_FILE");
    ck_assert_int_eq(clcnn__tuning_path(ctx, path, sizeof path), CLCNN_OK);
    ck_assert_msg(strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "/tuning-") &&
                      strstr(path, ".txt"),
                  "unexpected default path %s", path);
    char again[4096];
    ck_assert_int_eq(clcnn__tuning_path(ctx, again, sizeof again), CLCNN_OK);
    ck_assert_str_eq(path, again);
    ck_assert_int_eq(clcnn__tuning_path(ctx, again, 8), CLCNN_ERR_INVALID_ARGUMENT);
    /* the default file is used once it exists */
    clcnn__tuning_release(ctx);
    ck_assert_int_eq(clcnn__tuning_set(ctx, "conv2d.fwd", "x", 1, 1, 0, NULL), CLCNN_OK);
    ck_assert_int_eq(clcnn__tuning_save(ctx, NULL), CLCNN_OK);
    clcnn_context_destroy(ctx);
    ck_assert_int_eq(clcnn_context_create(&opt, &ctx, err, sizeof err), CLCNN_OK);
    ck_assert_int_eq(clcnn__tuning_lookup(ctx, "conv2d.fwd", "x", &a, &v), 1);
    clcnn_context_destroy(ctx);

    /* no cache folder and no variable: no tuning file */
    clcnn_context_options none = {.cache_dir = ""};
    ck_assert_int_eq(clcnn_context_create(&none, &ctx, err, sizeof err), CLCNN_OK);
    ck_assert_int_eq(clcnn__tuning_path(ctx, path, sizeof path), CLCNN_ERR_UNSUPPORTED);
    ck_assert_int_eq(clcnn__tuning_lookup(ctx, "conv2d.fwd", "x", &a, &v), 0);
    clcnn_context_destroy(ctx);

    if (saved)
        setenv("CLCNN_TUNING_FILE", saved, 1);
    free(saved);
    remove_tree(dir);
    free(dir);
}
END_TEST

static Suite *tuning_suite(void)
{
    Suite *s = suite_create("tuning");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_parse_good);
    tcase_add_test(tc, test_malformed_lines);
    tcase_add_test(tc, test_ignored_files);
    tcase_add_test(tc, test_fuzz);
    tcase_add_test(tc, test_set_save_load);
    tcase_add_test(tc, test_set_invalid);
    tcase_add_test(tc, test_path_and_lazy_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(tuning_suite());
}
