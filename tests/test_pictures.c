/*
 * The tool's pictures as a user makes them: train --plot, plot, show
 * --filters and --features, eval --confusion. Each PNG is read back (libpng,
 * through the tool's reader) for its size, and its pixels must follow the
 * data: curves go where the numbers put them, two models give two filter
 * pictures, a digit's feature maps differ from a blank image's. A write
 * killed midway leaves the previous picture whole; bad inputs give a clear
 * error and exit 1 or 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "draw.h"
#include "testutil.h"

static char dir[256], data[320], clcnn[1024];
/* (paths stay far below the buffers they are formatted into) */
static char model_a[400], model_b[400], digit[400];

/* Runs `clcnn ARGS` (stdout and stderr to DIR/out) and returns its exit status. */
static int run(const char *args)
{
    char command[8192];
    snprintf(command, sizeof command, "'%s' %s >'%s/out' 2>&1", clcnn, args, dir);
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static const char *output(void)
{
    static char text[65536];
    char path[400];
    snprintf(path, sizeof path, "%s/out", dir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    return text;
}

#define RUN_OK(...)                                                                            \
    do {                                                                                       \
        char args_[3000];                                                                      \
        snprintf(args_, sizeof args_, __VA_ARGS__);                                            \
        ck_assert_msg(run(args_) == 0, "clcnn %s failed: %s", args_, output());               \
    } while (0)

#define RUN_FAILS(status, word, ...)                                                           \
    do {                                                                                       \
        char args_[3000];                                                                      \
        snprintf(args_, sizeof args_, __VA_ARGS__);                                            \
        int rc_ = run(args_);                                                                  \
        ck_assert_msg(rc_ == (status) && strstr(output(), (word)),                             \
                      "clcnn %s: exit %d (want %d), output lacks \"%s\": %s", args_, rc_,      \
                      (status), (word), output());                                             \
        printf("clcnn %.60s...: exit %d: %.120s\n", args_, rc_, output());                       \
    } while (0)

static clcnn__image read_png(const char *path)
{
    clcnn__image img;
    char err[512] = "";
    ck_assert_msg(clcnn__image_read(path, &img, err, sizeof err) == CLCNN_OK, "%s", err);
    return img;
}

static int is_color(const clcnn__image *img, int x, int y, clcnn__rgb c)
{
    const unsigned char *p = img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
    return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

/* Mean row of the pixels of colour c in columns [x0, x1), or -1 if none. */
static double mean_row(const clcnn__image *img, int x0, int x1, clcnn__rgb c)
{
    double sum = 0;
    long n = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = x0; x < x1; x++)
            if (is_color(img, x, y, c))
                sum += y, n++;
    return n ? sum / (double)n : -1;
}

/* The leftmost and rightmost columns holding colour c in [x0, x1). */
static void color_span(const clcnn__image *img, int x0, int x1, clcnn__rgb c, int *lo, int *hi)
{
    *lo = x1, *hi = x0 - 1;
    for (int y = 0; y < img->height; y++)
        for (int x = x0; x < x1; x++)
            if (is_color(img, x, y, c))
                *lo = x < *lo ? x : *lo, *hi = x > *hi ? x : *hi;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* A log of epochs 1..4 whose loss falls (or rises) and accuracy rises (or falls). */
static void write_log(const char *path, int rising_loss)
{
    char text[2048] = "";
    for (int e = 1; e <= 4; e++) {
        double loss = rising_loss ? 0.2 * e : 1.0 / e, acc = rising_loss ? 1.0 - 0.05 * e
                                                                          : 0.8 + 0.04 * e;
        char line[256];
        snprintf(line, sizeof line,
                 "{\"epoch\": %d, \"epochs\": 4, \"train_loss\": %.6f, \"test_accuracy\": %.6f, "
                 "\"lr\": 0.002, \"seconds\": 1.0, \"images_per_s\": 1000.0}\n",
                 e, loss, acc);
        strcat(text, line);
    }
    strcat(text, "{\"model\": \"x\", \"epochs\": 4}\n");
    write_text(path, text);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/clcnn-pictures-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *bin = getenv("CLCNN_BIN"), *src = getenv("CLCNN_SOURCE_DIR");
    snprintf(clcnn, sizeof clcnn, "%s", bin ? bin : "build/clcnn");
    snprintf(data, sizeof data, "%s/data/mnist", src ? src : ".");
    snprintf(model_a, sizeof model_a, "%s/a.clcnn", dir);
    snprintf(model_b, sizeof model_b, "%s/b.clcnn", dir);
    snprintf(digit, sizeof digit, "%s/digit.pgm", dir);
    /* the first test digit (a 7) as a PGM image */
    char path[400];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", data);
    gzFile gz = gzopen(path, "rb");
    ck_assert_ptr_nonnull(gz);
    unsigned char bytes[16 + 784];
    ck_assert_int_eq(gzread(gz, bytes, sizeof bytes), (int)sizeof bytes);
    gzclose(gz);
    FILE *f = fopen(digit, "wb");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "P5 28 28 255\n");
    fwrite(bytes + 16, 1, 784, f);
    fclose(f);
}

static void teardown(void)
{
    char command[400];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(command), 0);
}

START_TEST(test_train_plot)
{
    char png[400];
    snprintf(png, sizeof png, "%s/curve.png", dir);
    RUN_OK("train --model lenet5 --data '%s' --train-limit 2000 --epochs 3 --seed 1 --out '%s' "
           "--plot '%s'",
           data, model_a, png);
    clcnn__image img = read_png(png);
    ck_assert_int_eq(img.width, CLCNN__TRAINING_CHART_W);
    ck_assert_int_eq(img.height, CLCNN__TRAINING_CHART_H);
    ck_assert_int_eq(img.channels, 3);
    /* three markers a curve: the curve spans most of each panel's width */
    int lo, hi, half = img.width / 2;
    color_span(&img, 0, half, clcnn__series_color(0), &lo, &hi);
    ck_assert_msg(hi - lo > half / 2, "the loss curve spans columns %d..%d", lo, hi);
    color_span(&img, half, img.width, clcnn__series_color(0), &lo, &hi);
    ck_assert_msg(hi - lo > half / 2, "the accuracy curve spans columns %d..%d", lo, hi);
    clcnn__image_free(&img);
    /* a second model, for the filter pictures */
    RUN_OK("train --model lenet5 --data '%s' --train-limit 2000 --epochs 1 --seed 7 --out '%s'",
           data, model_b);
}
END_TEST

START_TEST(test_plot_follows_numbers)
{
    char falling[400], rising[400], png[400];
    snprintf(falling, sizeof falling, "%s/falling.jsonl", dir);
    snprintf(rising, sizeof rising, "%s/rising.jsonl", dir);
    snprintf(png, sizeof png, "%s/plot.png", dir);
    write_log(falling, 0);
    write_log(rising, 1);
    const clcnn__rgb c = clcnn__series_color(0);
    for (int r = 0; r < 2; r++) {
        RUN_OK("plot '%s' '%s'", r ? rising : falling, png);
        clcnn__image img = read_png(png);
        ck_assert_int_eq(img.width, CLCNN__TRAINING_CHART_W);
        int half = img.width / 2, lo, hi;
        /* image rows grow downwards: a falling loss starts higher (a smaller row) */
        color_span(&img, 0, half, c, &lo, &hi);
        int third = (hi - lo) / 3;
        double start = mean_row(&img, lo, lo + third, c), end = mean_row(&img, hi - third, hi + 1, c);
        ck_assert_msg(start >= 0 && end >= 0, "no loss curve");
        ck_assert_msg(r ? start > end : start < end,
                      "%s loss: mean row %.1f at the start, %.1f at the end", r ? "rising" : "falling",
                      start, end);
        color_span(&img, half, img.width, c, &lo, &hi);
        third = (hi - lo) / 3;
        start = mean_row(&img, lo, lo + third, c), end = mean_row(&img, hi - third, hi + 1, c);
        ck_assert_msg(r ? start < end : start > end,
                      "accuracy: mean row %.1f at the start, %.1f at the end", start, end);
        clcnn__image_free(&img);
    }
    /* two runs overlaid: both colours, and a legend */
    RUN_OK("plot '%s' '%s' '%s'", falling, rising, png);
    clcnn__image img = read_png(png);
    int lo, hi;
    color_span(&img, 0, img.width, clcnn__series_color(1), &lo, &hi);
    ck_assert_msg(hi > lo, "the second run is not drawn");
    clcnn__image_free(&img);
}
END_TEST

START_TEST(test_show_and_confusion)
{
    char a[400], b[400], feat[400], blank[400], blank_img[400], conf[400];
    snprintf(a, sizeof a, "%s/filters-a.png", dir);
    snprintf(b, sizeof b, "%s/filters-b.png", dir);
    snprintf(feat, sizeof feat, "%s/features.png", dir);
    snprintf(blank, sizeof blank, "%s/features-blank.png", dir);
    snprintf(blank_img, sizeof blank_img, "%s/blank.pgm", dir);
    snprintf(conf, sizeof conf, "%s/confusion.png", dir);
    if (access(model_a, F_OK) != 0) { /* test_train_plot made them, unless run alone */
        RUN_OK("train --model lenet5 --data '%s' --train-limit 500 --epochs 1 --seed 1 --out '%s'",
               data, model_a);
        RUN_OK("train --model lenet5 --data '%s' --train-limit 500 --epochs 1 --seed 7 --out '%s'",
               data, model_b);
    }
    RUN_OK("show --model '%s' --filters '%s'", model_a, a);
    RUN_OK("show --model '%s' --filters '%s'", model_b, b);
    clcnn__image ia = read_png(a), ib = read_png(b);
    ck_assert(ia.width == ib.width && ia.height == ib.height && ia.channels == 3);
    ck_assert_msg(memcmp(ia.data, ib.data, (size_t)ia.width * ia.height * 3) != 0,
                  "two models gave the same filter picture");
    clcnn__image_free(&ia);
    clcnn__image_free(&ib);

    FILE *f = fopen(blank_img, "wb");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "P5 28 28 255\n");
    for (int i = 0; i < 784; i++)
        fputc(0, f);
    fclose(f);
    RUN_OK("show --model '%s' --features '%s' '%s'", model_a, digit, feat);
    RUN_OK("show --model '%s' --features '%s' '%s'", model_a, blank_img, blank);
    ia = read_png(feat), ib = read_png(blank);
    ck_assert(ia.width == ib.width && ia.height == ib.height);
    ck_assert_msg(memcmp(ia.data, ib.data, (size_t)ia.width * ia.height * 3) != 0,
                  "a digit and a blank image gave the same feature maps");
    clcnn__image_free(&ia);
    clcnn__image_free(&ib);
    RUN_OK("show --model '%s' --features '%s' '%s' --layer 3", model_a, digit, feat);

    RUN_OK("eval --model '%s' --data '%s' --confusion '%s'", model_a, data, conf);
    ia = read_png(conf);
    ck_assert(ia.width > 200 && ia.height > 200);
    clcnn__image_free(&ia);
}
END_TEST

START_TEST(test_bad_input)
{
    char log[400], png[400], dense[400], garbage[400];
    snprintf(log, sizeof log, "%s/log.jsonl", dir);
    snprintf(png, sizeof png, "%s/x.png", dir);
    snprintf(dense, sizeof dense, "%s/dense.clcnn", dir);
    snprintf(garbage, sizeof garbage, "%s/garbage.jsonl", dir);
    write_log(log, 0);
    write_text(garbage, "this is not a training log\n{\"epoch\": 2, \"train_loss\": nan}\n");
    RUN_FAILS(1, "epoch line", "plot '%s' '%s'", garbage, png);
    write_text(garbage, "nothing here\n");
    RUN_FAILS(1, "no epoch lines", "plot '%s' '%s'", garbage, png);
    RUN_FAILS(1, "cannot open", "plot '%s/none.jsonl' '%s'", dir, png);
    RUN_FAILS(2, ".png", "plot '%s' '%s/x.jpg'", log, dir);
    RUN_FAILS(1, "No such file", "plot '%s' /nonexistent/dir/x.png", log);
    RUN_OK("train --model 'flatten dense(10)' --data '%s' --train-limit 100 --epochs 1 --out '%s'",
           data, dense);
    RUN_FAILS(1, "no convolution layer", "show --model '%s' --filters '%s'", dense, png);
    RUN_FAILS(2, "--layer 99", "show --model '%s' --features '%s' '%s' --layer 99", dense, digit,
              png);
    RUN_FAILS(2, "required", "show --model '%s'", dense);
    RUN_FAILS(1, "cannot write --plot", "train --model lenet5 --data '%s' --epochs 1 --plot "
                                        "/proc/x.png",
              data);
    RUN_FAILS(2, ".png", "eval --model '%s' --data '%s' --confusion '%s/c.txt'", dense, data,
              dir);
}
END_TEST

/* A write killed the moment its temporary file appears (and up to a few
 * milliseconds later) leaves the picture whole: the previous one or the
 * complete new one, never a part. The picture is a large filter grid
 * (64 filters of 9x9, hard to compress), so that its write takes long
 * enough for most kills to land inside it. */
START_TEST(test_killed_write_keeps_picture)
{
    const char *killer = getenv("CLCNN_KILL_ON_CREATE");
    if (!killer || !*killer)
        return; /* not built on this system (Linux only) */
    char m1[400], m2[400], sub[400], png[500], before[500], after[500];
    snprintf(m1, sizeof m1, "%s/wide1.clcnn", dir);
    snprintf(m2, sizeof m2, "%s/wide2.clcnn", dir);
    snprintf(sub, sizeof sub, "%s/kill", dir);
    snprintf(png, sizeof png, "%s/filters.png", sub);
    snprintf(before, sizeof before, "%s/before.png", dir);
    snprintf(after, sizeof after, "%s/after.png", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    for (int seed = 1; seed <= 2; seed++)
        RUN_OK("train --model 'conv(64,9,pad=4) maxpool(4) flatten dense(10)' --data '%s' "
               "--train-limit 64 --epochs 1 --seed %d --out '%s'",
               data, seed, seed == 1 ? m1 : m2);
    RUN_OK("show --model '%s' --filters '%s'", m1, before);
    RUN_OK("show --model '%s' --filters '%s'", m2, after);
    int kept_old = 0;
    for (int i = 0; i < 8; i++) {
        char command[8192];
        snprintf(command, sizeof command,
                 "cp '%s' '%s' && { '%s' show --model '%s' --filters '%s' & pid=$!; "
                 "'%s' '%s' .filters.png.tmp- $pid %d 20; wait $pid; } >/dev/null 2>&1; "
                 "if cmp -s '%s' '%s'; then exit 10; elif cmp -s '%s' '%s'; then exit 11; fi; "
                 "exit 1",
                 before, png, clcnn, m2, png, killer, sub, i * 500, png, before, png, after);
        int status = system(command);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        ck_assert_msg(code == 10 || code == 11,
                      "kill %d: the picture is neither the previous nor the new one", i);
        kept_old += code == 10;
    }
    printf("killed writes: %d of 8 left the previous picture, the rest the complete new one\n",
           kept_old);
    ck_assert_msg(kept_old > 0, "no kill landed inside a write: the test proved nothing");
}
END_TEST

/* Bars as long as their GFLOP/s: a row of 300 is three times one of 100,
 * and PyTorch's bars appear when the rows have them. */
START_TEST(test_bench_chart)
{
    char results[400], png[400];
    snprintf(results, sizeof results, "%s/results.jsonl", dir);
    snprintf(png, sizeof png, "%s/bench.png", dir);
    write_text(results,
               "{\"type\": \"header\", \"device\": \"test device\", \"peak_gflops\": 400.0}\n"
               "{\"type\": \"conv\", \"layer\": \"a\", \"pass\": \"fwd\", \"gflops\": 100.0}\n"
               "{\"type\": \"conv\", \"layer\": \"b\", \"pass\": \"fwd\", \"gflops\": 300.0, "
               "\"torch_gflops\": 150.0}\n");
    RUN_OK("plot --bench '%s' '%s'", results, png);
    clcnn__image img = read_png(png);
    const clcnn__rgb ours = clcnn__series_color(0), theirs = clcnn__series_color(3);
    /* the longest run of clcnn's colour on each row of pixels, per bar */
    int longest[2] = {0, 0}, bar = -1, in_bar = 0, seen_theirs = 0;
    for (int y = 0; y < img.height; y++) {
        int run_len = 0, best = 0;
        for (int x = 0; x < img.width; x++) {
            run_len = is_color(&img, x, y, ours) ? run_len + 1 : 0;
            best = run_len > best ? run_len : best;
            seen_theirs |= is_color(&img, x, y, theirs) && y > img.height / 4;
        }
        if (best > 30 && !in_bar && bar < 1)
            bar++;
        in_bar = best > 30;
        if (in_bar && bar >= 0)
            longest[bar] = best > longest[bar] ? best : longest[bar];
    }
    ck_assert_msg(longest[0] > 0 && abs(longest[1] - 3 * longest[0]) <= 4,
                  "bars of 100 and 300 GFLOP/s are %d and %d pixels long", longest[0],
                  longest[1]);
    ck_assert_msg(seen_theirs, "PyTorch's bar is missing");
    clcnn__image_free(&img);
    write_text(results, "{\"type\": \"conv\", \"layer\": \"a\"}\n");
    RUN_FAILS(1, "conv row", "plot --bench '%s' '%s'", results, png);
    /* and straight from a benchmark run */
    RUN_OK("bench --layer lenet-conv1 --pass fwd --repeat 1 --no-peak --plot '%s'", png);
    img = read_png(png);
    ck_assert(img.width > 300 && img.height > 60);
    clcnn__image_free(&img);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("pictures");
    TCase *tc = tcase_create("pictures");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_train_plot);
    tcase_add_test(tc, test_plot_follows_numbers);
    tcase_add_test(tc, test_show_and_confusion);
    tcase_add_test(tc, test_bench_chart);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_killed_write_keeps_picture);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
