/*
 * Writes the seed corpora of the fuzz harnesses into FOLDER/<harness>/:
 * for each input kind a few tiny valid files (written by clcnn's own
 * writers where it has them, by libpng and zlib otherwise) and a few
 * damaged ones. Run it again after a format change:
 *   ninja -C build tests/fuzz/make_corpus && build/tests/fuzz/make_corpus tests/fuzz/corpus
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "clcnn.h"
#include "fuzz.h"

static const char *root;

static void put_file(const char *kind, const char *name, const void *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, kind);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, kind, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 20);
    *size = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

/* ---- IDX: u32 LE length of the image file, image file, label file ---- */

/* An IDX file of unsigned bytes: the header for dims, then count bytes of data. */
static size_t idx_file(unsigned char *out, int rank, const unsigned *dims,
                       const unsigned char *data, size_t count)
{
    size_t n = 0;
    out[n++] = 0, out[n++] = 0, out[n++] = 0x08, out[n++] = (unsigned char)rank;
    for (int i = 0; i < rank; i++)
        for (int b = 3; b >= 0; b--)
            out[n++] = (unsigned char)(dims[i] >> (8 * b));
    memcpy(out + n, data, count);
    return n + count;
}

static void put_idx(const char *kind, const char *name, const unsigned char *img, size_t img_n,
                    const unsigned char *lab, size_t lab_n)
{
    unsigned char *buf = malloc(4 + img_n + lab_n);
    for (int b = 0; b < 4; b++)
        buf[b] = (unsigned char)(img_n >> (8 * b));
    memcpy(buf + 4, img, img_n);
    memcpy(buf + 4 + img_n, lab, lab_n);
    put_file(kind, name, buf, 4 + img_n + lab_n);
    free(buf);
}

static void make_idx(void)
{
    unsigned char img[256], lab[64], pixels[64], labels[8] = {3, 0, 9, 1};
    for (int i = 0; i < 64; i++)
        pixels[i] = (unsigned char)(i * 37);
    size_t ni = idx_file(img, 3, (unsigned[]){2, 3, 2}, pixels, 12);
    size_t nl = idx_file(lab, 1, (unsigned[]){2}, labels, 2);
    for (int k = 0; k < 2; k++) {
        const char *kind = k ? "idx_gz" : "idx";
        put_idx(kind, "valid-2x3x2", img, ni, lab, nl);
        unsigned char one[32], onel[16];
        put_idx(kind, "valid-1x1x1", one, idx_file(one, 3, (unsigned[]){1, 1, 1}, pixels, 1),
                onel, idx_file(onel, 1, (unsigned[]){1}, labels, 1));
        put_idx(kind, "truncated-pixels", img, ni - 3, lab, nl);
        unsigned char lab3[16];
        put_idx(kind, "count-mismatch", img, ni, lab3,
                idx_file(lab3, 1, (unsigned[]){3}, labels, 3));
        unsigned char big[32];
        put_idx(kind, "huge-claim", big,
                idx_file(big, 3, (unsigned[]){0x7fffffff, 28, 28}, pixels, 8), lab, nl);
    }
    /* gzip files for the plain harness, whole and cut short */
    unsigned char *gi, *gl;
    size_t gi_n, gl_n;
    fuzz_gzip(img, ni, &gi, &gi_n);
    fuzz_gzip(lab, nl, &gl, &gl_n);
    put_idx("idx", "gzip-valid", gi, gi_n, gl, gl_n);
    put_idx("idx", "gzip-truncated", gi, gi_n - 6, gl, gl_n);
    put_idx("idx", "gzip-images-plain-labels", gi, gi_n, lab, nl);
    free(gi);
    free(gl);
    img[2] = 0x0d; /* float data: unsupported */
    put_idx("idx", "float-type", img, ni, lab, nl);
}

/* ---- model files, written by clcnn_net_save ---- */

static void save_model(clcnn_context *ctx, const char *name, const char *spec, int c, int h,
                       int w, int checkpoint, clcnn_optimizer kind)
{
    clcnn_net *net;
    if (clcnn_net_create(ctx, spec, 2, c, h, w, &net) != CLCNN_OK) {
        fprintf(stderr, "%s: %s\n", spec, clcnn_last_error(ctx));
        exit(1);
    }
    clcnn_net_init(net, 7);
    clcnn_optim_params o = {.kind = kind, .lr = 0.01f, .momentum = 0.9f, .beta1 = 0.9f,
                            .beta2 = 0.999f, .eps = 1e-8f};
    clcnn_net_set_optimizer(net, &o);
    size_t in = (size_t)2 * c * h * w;
    float *x = calloc(in, sizeof *x), labels[2] = {0, 1};
    for (size_t i = 0; i < in; i++)
        x[i] = (float)(i % 5) * 0.25f - 0.5f;
    if (clcnn_net_train_batch(net, x, labels, 2, 0.01f) != CLCNN_OK) {
        fprintf(stderr, "train %s: %s\n", spec, clcnn_last_error(ctx));
        exit(1);
    }
    clcnn_train_state state = {.epoch = 1, .batch = 2, .seed = 42,
                               .schedule = {.kind = CLCNN_LR_COSINE, .base_lr = 0.01f, .total = 4}};
    char tmp[] = "/tmp/clcnn-corpus-XXXXXX";
    int fd = mkstemp(tmp);
    close(fd);
    if (clcnn_net_save(net, tmp, checkpoint ? &state : NULL) != CLCNN_OK) {
        fprintf(stderr, "save %s: %s\n", spec, clcnn_last_error(ctx));
        exit(1);
    }
    size_t size;
    unsigned char *data = slurp(tmp, &size);
    unlink(tmp);
    put_file("model", name, data, size);
    if (!strcmp(name, "checkpoint-adam")) {
        put_file("model", "truncated", data, size / 2);
        data[size - 1] ^= 0x40;
        put_file("model", "bad-checksum", data, size);
    }
    free(data);
    free(x);
    clcnn_net_destroy(net);
}

static void make_models(void)
{
    char err[256];
    clcnn_context *ctx;
    if (clcnn_context_create(NULL, &ctx, err, sizeof err) != CLCNN_OK) {
        fprintf(stderr, "no context: %s\n", err);
        exit(1);
    }
    save_model(ctx, "model-dense", "flatten dense(2)", 1, 2, 2, 0, CLCNN_OPTIM_SGD);
    save_model(ctx, "checkpoint-adam", "conv(2,3,pad=1) relu maxpool(2) flatten dense(3)", 1, 4,
               4, 1, CLCNN_OPTIM_ADAM);
    save_model(ctx, "checkpoint-sgd",
               "conv(2,2,3,pad=same,dilation=2) leaky_relu(0.1) avgpool(2,1) conv(1,1,stride=2) "
               "tanh flatten dense(2) sigmoid dense(2) softmax",
               2, 5, 4, 1, CLCNN_OPTIM_SGD);
    put_file("model", "magic-only", "CLCNNMDL\1\0\0\0", 12);
    clcnn_context_destroy(ctx);
}

/* ---- network specs ---- */

static void make_specs(void)
{
    static const char *const specs[][2] = {
        {"lenet5", "lenet5"},
        {"convnet", "convnet"},
        {"every-layer", "conv(4,3,2,pad=1,stride=2,dilation=1) relu leaky_relu(0.02) tanh "
                        "sigmoid maxpool(2) avgpool(3,1) conv(3,1,pad=same) flatten dense(5) "
                        "softmax"},
        {"same-dilated", "conv(2,4,pad=same,dilation=2) maxpool(2,2) flatten dense(3)"},
        {"bad-unclosed", "conv(6,5,pad=2 relu flatten dense(10)"},
        {"bad-softmax-middle", "flatten softmax dense(10)"},
        {"bad-args", "conv(6,,5) dense(-1) maxpool(0) leaky_relu(nan)"},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        put_file("spec", specs[i][0], specs[i][1], strlen(specs[i][1]));
}

/* ---- images ---- */

static void put_png(const char *name, int w, int h, int color, int depth, int interlace,
                    int trns)
{
    char tmp[] = "/tmp/clcnn-corpus-XXXXXX";
    int fd = mkstemp(tmp);
    FILE *f = fdopen(fd, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "libpng failed on %s\n", name);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {10, 20, 250}};
        png_set_PLTE(png, info, pal, 4);
        if (trns) {
            png_byte alpha[2] = {0, 128};
            png_set_tRNS(png, info, alpha, 2, NULL);
        }
    } else if (trns) {
        png_color_16 key = {.gray = 1, .red = 1, .green = 2, .blue = 3};
        png_set_tRNS(png, info, NULL, 0, &key);
    }
    png_write_info(png, info);
    int channels = png_get_channels(png, info);
    size_t rowbytes = ((size_t)w * channels * depth + 7) / 8;
    unsigned char *row = malloc(rowbytes);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++) {
            for (size_t i = 0; i < rowbytes; i++)
                row[i] = (unsigned char)((y * 31 + (int)i * 17) & (color == 3 ? 0x33 : 0xff));
            png_write_row(png, row);
        }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(row);
    size_t size;
    unsigned char *data = slurp(tmp, &size);
    unlink(tmp);
    put_file("png", name, data, size);
    if (!strcmp(name, "rgb8-interlaced"))
        put_file("png", "truncated", data, size - 20);
    free(data);
}

static void make_images(void)
{
    put_png("gray8", 3, 2, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, 0);
    put_png("gray1", 9, 2, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, 0);
    put_png("gray16-trns", 2, 2, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, 1);
    put_png("gray-alpha", 2, 3, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, 0);
    put_png("rgb8-interlaced", 5, 5, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, 0);
    put_png("rgba16", 2, 2, PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_NONE, 0);
    put_png("palette2-trns", 5, 3, PNG_COLOR_TYPE_PALETTE, 2, PNG_INTERLACE_NONE, 1);

    static const char *const pnm[][2] = {
        {"p5", "P5\n3 2\n255\n\x01\x80\xff\x00\x10\x20"},
        {"p2-comments", "P2\n# a comment\n3 2 # another\n15\n0 1 2\n13 14 15\n"},
        {"p6", "P6 2 1 255 \x10\x20\x30\x40\x50\x60"},
        {"p3", "P3\n1 2\n7\n1 2 3 4 5 6\n"},
        {"p5-truncated", "P5\n4 4\n255\n\x01\x02"},
        {"p2-over-maxval", "P2 2 1 3 1 9\n"},
        {"p5-maxval-65535", "P5 1 1 65535 \x01\x02"},
    };
    for (size_t i = 0; i < sizeof pnm / sizeof pnm[0]; i++) {
        size_t n = strlen(pnm[i][1]);
        if (!strcmp(pnm[i][0], "p5"))
            n = 11 + 6;
        put_file("pnm", pnm[i][0], pnm[i][1], n);
    }
}

/* ---- tuning files ---- */

static void make_tuning(void)
{
    static const char *const files[][2] = {
        {"valid", "# clcnn tuning file\nclcnn-tuning 2\n"
                  "conv2d.fwd 2x1x28x28:6x5x5:p2s1d1 1 3 0.125 direct 4x8\n"
                  "gemm.nn 64x120x400 0 2 0.5\n"
                  "conv2d.fwd 2x1x28x28:6x5x5:p2s1d1 2 0\n"},
        {"no-magic", "conv2d.fwd k 1 1\n"},
        {"bad-lines", "clcnn-tuning 2\nconv2d.fwd\nop key -1 2\nop key 1 1001\nop key 1 1 nan\n"
                      "op key 1 1 1e300 note\n\n#\nop2 key2 0 0 -0 x\r\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        put_file("tuning", files[i][0], files[i][1], strlen(files[i][1]));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus FOLDER\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    make_idx();
    make_models();
    make_specs();
    make_images();
    make_tuning();
    return 0;
}
