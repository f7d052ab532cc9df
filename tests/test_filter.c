/*
 * The image filter tool: PNG/PGM/PPM reading and writing (round trips, every
 * PNG colour type, malformed and truncated files, atomic replacement), the
 * kernel table, clcnn__tool_filter against a float64 reference on the bundled
 * images, and the clcnn binary itself (its path comes in $CLCNN_BIN).
 */
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "cmd_filter.h"
#include "image.h"
#include "testutil.h"

static char tmp_dir[256];

/* tmp_dir/name into buf */
static const char *tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmp_dir, name);
    return buf;
}

/* data/images/name, from $CLCNN_IMAGE_DIR (set by meson) or the source tree */
static const char *data_path(char *buf, size_t size, const char *name)
{
    const char *dir = getenv("CLCNN_IMAGE_DIR");
    snprintf(buf, size, "%s/%s", dir ? dir : "data/images", name);
    return buf;
}

static void write_bytes(const char *path, const void *bytes, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_msg(fp != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(bytes, 1, n, fp), n);
    ck_assert_int_eq(fclose(fp), 0);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *p = tu_alloc((size_t)size);
    ck_assert_uint_eq(fread(p, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    *n = (size_t)size;
    return p;
}

static clcnn__image random_image(int width, int height, int channels, uint64_t seed)
{
    clcnn__image img;
    char err[256];
    ck_assert_int_eq(clcnn__image_create(&img, width, height, channels, err, sizeof err),
                     CLCNN_OK);
    tu_rng rng = tu_rng_make(seed);
    for (size_t i = 0; i < (size_t)width * height * channels; i++)
        img.data[i] = (uint8_t)tu_uniform(&rng, 0, 256);
    return img;
}

static void expect_same_image(const clcnn__image *got, const clcnn__image *want, const char *what)
{
    ck_assert_msg(got->width == want->width && got->height == want->height &&
                      got->channels == want->channels,
                  "%s: got %dx%dx%d, want %dx%dx%d", what, got->width, got->height,
                  got->channels, want->width, want->height, want->channels);
    size_t n = (size_t)want->width * want->height * want->channels;
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(got->data[i] == want->data[i], "%s: sample %zu is %u, want %u", what, i,
                      got->data[i], want->data[i]);
}

/* Reading path must fail with status and a message containing fragment. */
static void expect_read_fails(const char *path, clcnn_status status, const char *fragment)
{
    clcnn__image img = {1, 1, 1, (uint8_t *)&img};
    char err[512] = "";
    clcnn_status st = clcnn__image_read(path, &img, err, sizeof err);
    ck_assert_msg(st == status, "%s: expected %s, got %s (%s)", path, clcnn_status_name(status),
                  clcnn_status_name(st), err);
    ck_assert_msg(strstr(err, fragment) != NULL, "%s: message '%s' lacks '%s'", path, err,
                  fragment);
    ck_assert_ptr_null(img.data);
    ck_assert_int_eq(img.width, 0);
}

/* ---- round trips ---- */

START_TEST(test_roundtrip)
{
    static const struct {
        int w, h, c;
        const char *name;
    } cases[] = {
        {1, 1, 1, "a.png"},   {13, 7, 1, "b.png"},  {13, 7, 3, "c.png"}, {64, 3, 3, "d.PNG"},
        {1, 1, 1, "e.pgm"},   {13, 7, 1, "f.pgm"},  {13, 7, 3, "g.ppm"}, {5, 300, 3, "h.ppm"},
        {255, 2, 1, "i.png"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[512], err[512] = "";
        tmp_path(path, sizeof path, cases[i].name);
        clcnn__image img = random_image(cases[i].w, cases[i].h, cases[i].c, 100 + i);
        ck_assert_msg(clcnn__image_write(path, &img, err, sizeof err) == CLCNN_OK, "%s", err);
        clcnn__image back;
        ck_assert_msg(clcnn__image_read(path, &back, err, sizeof err) == CLCNN_OK, "%s", err);
        expect_same_image(&back, &img, path);
        clcnn__image_free(&back);
        clcnn__image_free(&img);
    }
}
END_TEST

START_TEST(test_grey_as_ppm)
{
    char path[512], err[512];
    clcnn__image img = random_image(9, 4, 1, 5), back;
    tmp_path(path, sizeof path, "grey.ppm");
    ck_assert_int_eq(clcnn__image_write(path, &img, err, sizeof err), CLCNN_OK);
    ck_assert_int_eq(clcnn__image_read(path, &back, err, sizeof err), CLCNN_OK);
    ck_assert_int_eq(back.channels, 3);
    for (size_t i = 0; i < 36; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_uint_eq(back.data[i * 3 + c], img.data[i]);
    clcnn__image_free(&back);
    clcnn__image_free(&img);
}
END_TEST

START_TEST(test_pnm_plain)
{
    char path[512];
    clcnn__image img;
    char err[512];
    /* plain PGM with comments and maxval 15: samples are rescaled to 0..255 */
    const char pgm[] = "P2\n# a comment\n3 # width\n2\n15\n0 15 7\n1 2\n#x\n3\n";
    write_bytes(tmp_path(path, sizeof path, "plain.pgm"), pgm, sizeof pgm - 1);
    ck_assert_msg(clcnn__image_read(path, &img, err, sizeof err) == CLCNN_OK, "%s", err);
    static const uint8_t want[6] = {0, 255, 119, 17, 34, 51};
    ck_assert_int_eq(img.width, 3);
    ck_assert_int_eq(img.height, 2);
    ck_assert_int_eq(img.channels, 1);
    ck_assert_mem_eq(img.data, want, 6);
    clcnn__image_free(&img);

    const char ppm[] = "P3 2 1 255 1 2 3 250 251 252";
    write_bytes(tmp_path(path, sizeof path, "plain.ppm"), ppm, sizeof ppm - 1);
    ck_assert_msg(clcnn__image_read(path, &img, err, sizeof err) == CLCNN_OK, "%s", err);
    static const uint8_t want3[6] = {1, 2, 3, 250, 251, 252};
    ck_assert_int_eq(img.channels, 3);
    ck_assert_mem_eq(img.data, want3, 6);
    clcnn__image_free(&img);
}
END_TEST

/* Writes a PNG with libpng directly, from packed rows in PNG's own layout. */
static void write_png_raw(const char *path, int width, int height, int depth, int color,
                          int interlace, const uint8_t *rows, size_t row_bytes,
                          const png_color *palette, int palette_count, const uint8_t *trns,
                          int trns_count, const png_color_16 *trns_color)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    if (setjmp(png_jmpbuf(png)))
        ck_abort_msg("libpng failed writing %s", path);
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, depth, color, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, info, palette, palette_count);
    if (trns || trns_color)
        png_set_tRNS(png, info, trns, trns_count, trns_color);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < height; y++)
            png_write_row(png, rows + (size_t)y * row_bytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    ck_assert_int_eq(fclose(fp), 0);
}

static void read_ok(const char *path, clcnn__image *img, int w, int h, int channels)
{
    char err[512] = "";
    ck_assert_msg(clcnn__image_read(path, img, err, sizeof err) == CLCNN_OK, "%s", err);
    ck_assert_int_eq(img->width, w);
    ck_assert_int_eq(img->height, h);
    ck_assert_int_eq(img->channels, channels);
}

START_TEST(test_png_color_types)
{
    char path[512];
    clcnn__image img;
    enum { W = 11, H = 5 };
    uint8_t rows[H * W * 8];

    /* grey + alpha: alpha dropped */
    for (int i = 0; i < W * H; i++) {
        rows[2 * i] = (uint8_t)(i * 3);
        rows[2 * i + 1] = (uint8_t)(255 - i);
    }
    write_png_raw(tmp_path(path, sizeof path, "ga.png"), W, H, 8, PNG_COLOR_TYPE_GRAY_ALPHA,
                  PNG_INTERLACE_NONE, rows, 2 * W, NULL, 0, NULL, 0, NULL);
    read_ok(path, &img, W, H, 1);
    for (int i = 0; i < W * H; i++)
        ck_assert_uint_eq(img.data[i], (uint8_t)(i * 3));
    clcnn__image_free(&img);

    /* RGBA, interlaced: alpha dropped, Adam7 undone */
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 4; c++)
            rows[4 * i + c] = (uint8_t)(i * 4 + c * 50);
    write_png_raw(tmp_path(path, sizeof path, "rgba.png"), W, H, 8, PNG_COLOR_TYPE_RGBA,
                  PNG_INTERLACE_ADAM7, rows, 4 * W, NULL, 0, NULL, 0, NULL);
    read_ok(path, &img, W, H, 3);
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_uint_eq(img.data[3 * i + c], (uint8_t)(i * 4 + c * 50));
    clcnn__image_free(&img);

    /* 16-bit grey and RGB: v * 257 scales back to v exactly */
    for (int i = 0; i < W * H * 3; i++) {
        rows[2 * i] = (uint8_t)(i * 5);
        rows[2 * i + 1] = (uint8_t)(i * 5);
    }
    write_png_raw(tmp_path(path, sizeof path, "g16.png"), W, H, 16, PNG_COLOR_TYPE_GRAY,
                  PNG_INTERLACE_NONE, rows, 2 * W, NULL, 0, NULL, 0, NULL);
    read_ok(path, &img, W, H, 1);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            ck_assert_uint_eq(img.data[y * W + x], (uint8_t)((y * W + x) * 5));
    clcnn__image_free(&img);
    write_png_raw(tmp_path(path, sizeof path, "rgb16.png"), W, H, 16, PNG_COLOR_TYPE_RGB,
                  PNG_INTERLACE_NONE, rows, 6 * W, NULL, 0, NULL, 0, NULL);
    read_ok(path, &img, W, H, 3);
    for (int i = 0; i < W * H * 3; i++)
        ck_assert_uint_eq(img.data[i], (uint8_t)(i * 5));
    clcnn__image_free(&img);

    /* 4-bit palette with transparency: expanded to RGB, transparency dropped */
    png_color palette[16];
    for (int i = 0; i < 16; i++)
        palette[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i), (png_byte)(i * 7)};
    uint8_t alpha[3] = {0, 100, 200};
    int row4 = (W + 1) / 2;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < row4; x++)
            rows[y * row4 + x] = (uint8_t)((((2 * x + y) % 16) << 4) | ((2 * x + 1 + y) % 16));
    write_png_raw(tmp_path(path, sizeof path, "pal.png"), W, H, 4, PNG_COLOR_TYPE_PALETTE,
                  PNG_INTERLACE_NONE, rows, (size_t)row4, palette, 16, alpha, 3, NULL);
    read_ok(path, &img, W, H, 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            png_color want = palette[(x + y) % 16];
            const uint8_t *got = img.data + (y * W + x) * 3;
            ck_assert_uint_eq(got[0], want.red);
            ck_assert_uint_eq(got[1], want.green);
            ck_assert_uint_eq(got[2], want.blue);
        }
    clcnn__image_free(&img);

    /* 1-bit grey with a transparent colour: expanded to 0 / 255, one channel */
    int row1 = (W + 7) / 8;
    memset(rows, 0, sizeof rows);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if ((x + y) % 3 == 0)
                rows[y * row1 + x / 8] |= (uint8_t)(0x80 >> (x % 8));
    png_color_16 transparent = {.gray = 1};
    write_png_raw(tmp_path(path, sizeof path, "bw.png"), W, H, 1, PNG_COLOR_TYPE_GRAY,
                  PNG_INTERLACE_NONE, rows, (size_t)row1, NULL, 0, NULL, 0, &transparent);
    read_ok(path, &img, W, H, 1);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            ck_assert_uint_eq(img.data[y * W + x], (x + y) % 3 == 0 ? 255 : 0);
    clcnn__image_free(&img);
}
END_TEST

/* ---- malformed input ---- */

/* A PNG chunk with its length and CRC. */
static size_t put_chunk(uint8_t *p, const char *type, const uint8_t *data, uint32_t n)
{
    p[0] = (uint8_t)(n >> 24), p[1] = (uint8_t)(n >> 16), p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, data, n);
    uLong crc = crc32(0, p + 4, 4 + n);
    p[8 + n] = (uint8_t)(crc >> 24), p[9 + n] = (uint8_t)(crc >> 16);
    p[10 + n] = (uint8_t)(crc >> 8), p[11 + n] = (uint8_t)crc;
    return 12 + n;
}

START_TEST(test_reject_pnm)
{
    static const struct {
        const char *bytes;
        clcnn_status status;
        const char *fragment;
    } cases[] = {
        {"", CLCNN_ERR_FORMAT, "empty"},
        {"P", CLCNN_ERR_FORMAT, "1 byte"},
        {"P5\n", CLCNN_ERR_FORMAT, "truncated before the width"},
        {"P5 3", CLCNN_ERR_FORMAT, "height"},
        {"P5 3 2 255\n12345", CLCNN_ERR_FORMAT, "truncated"},
        {"P5 3 2 255", CLCNN_ERR_FORMAT, "truncated"},
        {"P5 3 2 256\n123456", CLCNN_ERR_FORMAT, "maxval 256"},
        {"P5 3 2 65535\n123456123456", CLCNN_ERR_FORMAT, "maxval 65535"},
        {"P5 3 2 0\n123456", CLCNN_ERR_FORMAT, "maxval 0"},
        {"P5 0 5 255\n", CLCNN_ERR_FORMAT, "0x5"},
        {"P5 100000 100000 255\n", CLCNN_ERR_UNSUPPORTED, "limit"},
        {"P6 20000 20000 255\n", CLCNN_ERR_UNSUPPORTED, "limit"},
        {"P5 99999999999 2 255\n", CLCNN_ERR_FORMAT, "too large"},
        {"P5 -3 2 255\n", CLCNN_ERR_FORMAT, "width"},
        {"P5 3x 2 255\n", CLCNN_ERR_FORMAT, "unexpected 'x'"},
        {"P2 2 2 255\n1 2 3\n", CLCNN_ERR_FORMAT, "sample 4"},
        {"P2 2 1 255\n1 300\n", CLCNN_ERR_FORMAT, "above maxval"},
        {"P2 2 1 7\n1 9\n", CLCNN_ERR_FORMAT, "above maxval"},
        {"P2 2 1 255\n1 x\n", CLCNN_ERR_FORMAT, "sample 2"},
        {"P5 2 1 3\n\x01\x09", CLCNN_ERR_FORMAT, "above maxval"},
        {"P7 2 1 255\n12", CLCNN_ERR_FORMAT, "not a PNG, PGM or PPM"},
        {"GIF89a....", CLCNN_ERR_FORMAT, "not a PNG, PGM or PPM"},
        {"\x89PNG\r\n\x1a\x00", CLCNN_ERR_FORMAT, "signature"},
        {"\x89P", CLCNN_ERR_FORMAT, "signature"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/bad%zu.pgm", tmp_dir, i);
        write_bytes(path, cases[i].bytes, strlen(cases[i].bytes));
        expect_read_fails(path, cases[i].status, cases[i].fragment);
    }
    char path[512];
    expect_read_fails(tmp_path(path, sizeof path, "no-such-file.png"), CLCNN_ERR_IO,
                      "cannot open");
}
END_TEST

START_TEST(test_reject_png)
{
    char path[512], err[512];
    clcnn__image img = random_image(40, 30, 3, 77);
    ck_assert_int_eq(clcnn__image_write(tmp_path(path, sizeof path, "good.png"), &img, err,
                                        sizeof err), CLCNN_OK);
    clcnn__image_free(&img);
    size_t n;
    unsigned char *good = read_bytes(path, &n);
    ck_assert_uint_gt(n, 100);

    /* every cut: inside the signature, IHDR, IDAT, and IEND */
    size_t cuts[] = {9, 12, 20, 33, 40, 60, n / 2, n - 20, n - 13, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        snprintf(path, sizeof path, "%s/cut%zu.png", tmp_dir, cuts[i]);
        write_bytes(path, good, cuts[i]);
        expect_read_fails(path, CLCNN_ERR_FORMAT, cuts[i] < 33 ? "" : "truncated");
    }
    /* one flipped byte in the compressed data: the CRC check catches it */
    good[n / 2] ^= 0x55;
    write_bytes(tmp_path(path, sizeof path, "crc.png"), good, n);
    expect_read_fails(path, CLCNN_ERR_FORMAT, "invalid PNG");
    free(good);

    /* a valid header announcing 2^20 x 2^20 pixels is refused before allocating */
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t huge[128];
    memcpy(huge, signature, 8);
    uint8_t ihdr[13] = {0, 0x10, 0, 0, 0, 0x10, 0, 0, 8, 0, 0, 0, 0};
    static const uint8_t idat[8] = {0x78, 0x9c, 0x63, 0, 0, 0, 1, 0};
    size_t len = 8 + put_chunk(huge + 8, "IHDR", ihdr, 13);
    len += put_chunk(huge + len, "IDAT", idat, sizeof idat);
    len += put_chunk(huge + len, "IEND", NULL, 0);
    write_bytes(tmp_path(path, sizeof path, "huge.png"), huge, len);
    expect_read_fails(path, CLCNN_ERR_UNSUPPORTED, "limit");
    /* a zero width is malformed */
    memset(ihdr, 0, 8);
    ihdr[7] = 5;
    len = 8 + put_chunk(huge + 8, "IHDR", ihdr, 13);
    len += put_chunk(huge + len, "IEND", NULL, 0);
    write_bytes(tmp_path(path, sizeof path, "zero.png"), huge, len);
    expect_read_fails(path, CLCNN_ERR_FORMAT, "invalid PNG");
}
END_TEST

/* ---- writing ---- */

/* Fails if any temporary file is left in tmp_dir. */
static void expect_no_temp_files(void)
{
    DIR *d = opendir(tmp_dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        ck_assert_msg(strstr(e->d_name, ".tmp-") == NULL, "temporary file %s left behind",
                      e->d_name);
    closedir(d);
}

START_TEST(test_write_atomic)
{
    char path[512], err[512];
    clcnn__image rgb = random_image(6, 4, 3, 9), grey = random_image(6, 4, 1, 10), back;

    /* an existing file survives a refused write untouched */
    const char old[] = "old contents";
    write_bytes(tmp_path(path, sizeof path, "keep.pgm"), old, sizeof old);
    ck_assert_int_eq(clcnn__image_write(path, &rgb, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(err, "RGB"));
    size_t n;
    unsigned char *kept = read_bytes(path, &n);
    ck_assert_uint_eq(n, sizeof old);
    ck_assert_mem_eq(kept, old, n);
    free(kept);

    /* and is replaced whole by a successful one */
    ck_assert_int_eq(clcnn__image_write(path, &grey, err, sizeof err), CLCNN_OK);
    read_ok(path, &back, 6, 4, 1);
    expect_same_image(&back, &grey, path);
    clcnn__image_free(&back);

    ck_assert_int_eq(clcnn__image_write(tmp_path(path, sizeof path, "x.jpg"), &grey, err,
                                        sizeof err), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(err, ".png"));
    ck_assert_int_eq(clcnn__image_write(tmp_path(path, sizeof path, "noext"), &grey, err,
                                        sizeof err), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn__image_write(tmp_path(path, sizeof path, "no/such/dir/x.png"),
                                        &grey, err, sizeof err), CLCNN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "temporary"));
    /* a folder in the way: the rename fails and the temporary file goes */
    ck_assert_int_eq(mkdir(tmp_path(path, sizeof path, "folder.png"), 0755), 0);
    ck_assert_int_eq(clcnn__image_write(path, &grey, err, sizeof err), CLCNN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "cannot replace"));
    expect_no_temp_files();

    clcnn__image bad = grey;
    bad.channels = 2;
    ck_assert_int_eq(clcnn__image_write(tmp_path(path, sizeof path, "bad.png"), &bad, err,
                                        sizeof err), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn__image_create(&bad, 1 << 15, 1 << 14, 1, err, sizeof err),
                     CLCNN_ERR_UNSUPPORTED);
    clcnn__image_free(&rgb);
    clcnn__image_free(&grey);
}
END_TEST

/* ---- kernels ---- */

START_TEST(test_kernel_table)
{
    clcnn__filter_kernel k;
    char err[256];
    static const double edge[9] = {-1, -1, -1, -1, 8, -1, -1, -1, -1};
    static const double gauss[25] = {1, 2, 3, 2, 1, 2, 4, 5, 4, 2, 3, 5, 6,
                                     5, 3, 2, 4, 5, 4, 2, 1, 2, 3, 2, 1};
    ck_assert_int_eq(clcnn__filter_kernel_get("edge", 0, &k, err, sizeof err), CLCNN_OK);
    ck_assert_int_eq(k.size, 3);
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq(k.weights[i], edge[i]);
    ck_assert_int_eq(clcnn__filter_kernel_get("sharpen", 0, &k, err, sizeof err), CLCNN_OK);
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq(k.weights[i], i == 4 ? 9 : edge[i]);
    /* the blurs are normalised: their weights sum to 1, whatever the size;
     * the gaussian keeps the documented proportions (its centre is 6) */
    ck_assert_int_eq(clcnn__filter_kernel_get("gaussian", 0, &k, err, sizeof err), CLCNN_OK);
    ck_assert_int_eq(k.size, 5);
    double sum = 0;
    for (int i = 0; i < 25; i++) {
        sum += k.weights[i];
        ck_assert_double_eq_tol(k.weights[i] / k.weights[12], gauss[i] / 6.0, 1e-12);
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-12);
    for (int size = 1; size <= CLCNN__FILTER_MAX_SIZE; size++) {
        ck_assert_int_eq(clcnn__filter_kernel_get("box", size, &k, err, sizeof err), CLCNN_OK);
        ck_assert_int_eq(k.size, size);
        sum = 0;
        for (int i = 0; i < size * size; i++) {
            sum += k.weights[i];
            ck_assert_double_eq(k.weights[i], k.weights[0]);
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-12);
    }
    ck_assert_int_eq(clcnn__filter_kernel_get("box", 0, &k, err, sizeof err), CLCNN_OK);
    ck_assert_int_eq(k.size, 3); /* the default size */

    ck_assert_int_eq(clcnn__filter_kernel_get("blur", 0, &k, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(err, "blur"));
    ck_assert_int_eq(clcnn__filter_kernel_get("edge", 5, &k, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn__filter_kernel_get("box", CLCNN__FILTER_MAX_SIZE + 1, &k, err,
                                              sizeof err), CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn__filter_kernel_get("box", -1, &k, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clcnn__filter_kernel_get(NULL, 0, &k, NULL, 0),
                     CLCNN_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- the filter against a float64 reference ---- */

/* Output size and leading padding of one axis, derived here independently
 * of the tool: same pads (R-1)/2 before and R/2 after. */
static void geometry(int in, int r, int same, int stride, int *out, int *pad_before)
{
    *pad_before = same ? (r - 1) / 2 : 0;
    int padded = in + (same ? r - 1 : 0);
    *out = padded < r ? 0 : (padded - r) / stride + 1;
}

/*
 * Compares the tool's output with the plain float64 filter: exact after
 * rounding (halves up) and clamping, except that a difference of one grey
 * level is allowed where the float64 value lies within 1e-3 of a .5 boundary
 * (float32 accumulation may round either way there).
 */
/* The documented kernels (the tool's help and the README), built here from
 * their published integers: the blurs divided by the sum of their weights,
 * counted here, so that a divisor typed wrong in the tool cannot hide. */
static int reference_kernel(const char *name, int size, double *w)
{
    static const int gauss[25] = {1, 2, 3, 2, 1, 2, 4, 5, 4, 2, 3, 5, 6,
                                  5, 3, 2, 4, 5, 4, 2, 1, 2, 3, 2, 1};
    if (strcmp(name, "gaussian") == 0) {
        double sum = 0;
        for (int i = 0; i < 25; i++)
            sum += gauss[i];
        for (int i = 0; i < 25; i++)
            w[i] = gauss[i] / sum;
        return 5;
    }
    if (strcmp(name, "box") == 0) {
        int r = size ? size : 3;
        for (int i = 0; i < r * r; i++)
            w[i] = 1.0 / (r * r);
        return r;
    }
    for (int i = 0; i < 9; i++) /* edge and sharpen: -1 around the centre */
        w[i] = -1;
    w[4] = strcmp(name, "edge") == 0 ? 8 : 9;
    return 3;
}

static void check_filter(const clcnn__image *in, const char *kernel, int size, int same,
                         int stride, const clcnn__image *got, const char *what)
{
    struct {
        double weights[CLCNN__FILTER_MAX_SIZE * CLCNN__FILTER_MAX_SIZE];
        int size;
    } k;
    k.size = reference_kernel(kernel, size, k.weights);
    int P, Q, pt, pl, R = k.size, C = in->channels;
    geometry(in->height, R, same, stride, &P, &pt);
    geometry(in->width, R, same, stride, &Q, &pl);
    ck_assert_msg(got->height == P && got->width == Q && got->channels == C,
                  "%s: output %dx%dx%d, want %dx%dx%d", what, got->width, got->height,
                  got->channels, Q, P, C);
    if (same && stride == 1)
        ck_assert(P == in->height && Q == in->width);
    size_t boundary = 0, low = 0, high = 0;
    for (int p = 0; p < P; p++)
        for (int q = 0; q < Q; q++)
            for (int c = 0; c < C; c++) {
                double v = 0;
                for (int r = 0; r < R; r++)
                    for (int s = 0; s < R; s++) {
                        int h = p * stride - pt + r, w = q * stride - pl + s;
                        if (h >= 0 && h < in->height && w >= 0 && w < in->width)
                            v += k.weights[r * R + s] *
                                 in->data[((size_t)h * in->width + w) * C + c];
                    }
                double rounded = fmin(255.0, fmax(0.0, floor(v + 0.5)));
                int g = got->data[((size_t)p * Q + q) * C + c];
                int near_half = fabs(v - floor(v) - 0.5) < 1e-3;
                boundary += near_half;
                low += rounded == 0;
                high += rounded == 255;
                ck_assert_msg(g == rounded || (near_half && fabs(g - rounded) <= 1),
                              "%s: pixel (row %d, column %d, channel %d) is %d, float64 "
                              "reference %.6f rounds to %.0f",
                              what, p, q, c, g, v, rounded);
            }
    /* a comparison against a flat image would prove little */
    ck_assert_msg(low + high < (size_t)P * Q * C, "%s: the reference is flat", what);
    (void)boundary;
}

static clcnn__image load_data_image(const char *file)
{
    char path[512], err[512] = "";
    clcnn__image in;
    ck_assert_msg(clcnn__image_read(data_path(path, sizeof path, file), &in, err, sizeof err) ==
                      CLCNN_OK,
                  "%s (set CLCNN_IMAGE_DIR to data/images)", err);
    return in;
}

START_TEST(test_filter_reference)
{
    static const struct {
        const char *kernel;
        int size;
    } kernels[] = {{"edge", 0}, {"sharpen", 0}, {"gaussian", 0}, {"box", 0}, {"box", 4},
                   {"box", 1}};
    static const char *files[] = {"digits.png", "pattern.png"};
    for (size_t f = 0; f < 2; f++) {
        clcnn__image in = load_data_image(files[f]);
        for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++)
            for (int same = 0; same <= 1; same++)
                for (int stride = 1; stride <= 3; stride++) {
                    if (stride == 3 && kernels[k].size != 0)
                        continue;
                    clcnn__filter_options o = {kernels[k].kernel, kernels[k].size,
                                               same ? CLCNN__PADDING_SAME : CLCNN__PADDING_VALID,
                                               stride};
                    char what[160], err[1024] = "";
                    snprintf(what, sizeof what, "%s, %s %d, padding %s, stride %d", files[f],
                             o.kernel, o.size, same ? "same" : "valid", stride);
                    clcnn__image out;
                    clcnn_status st = clcnn__tool_filter(tu_ctx(), &in, &o, &out, err,
                                                         sizeof err);
                    ck_assert_msg(st == CLCNN_OK, "%s: %s", what, err);
                    check_filter(&in, o.kernel, o.size, same, stride, &out, what);
                    clcnn__image_free(&out);
                }
        clcnn__image_free(&in);
    }
}
END_TEST

/* Properties no kernel table can share a mistake with: a normalised blur
 * keeps a constant image constant (to one grey level), edge maps it to 0,
 * sharpen keeps it. Valid padding, so that no zeros come in at the borders;
 * grey levels across the range. */
START_TEST(test_constant_images)
{
    static const int greys[] = {1, 37, 128, 200, 254};
    for (size_t g = 0; g < sizeof greys / sizeof greys[0]; g++) {
        clcnn__image in = random_image(23, 19, 1, 9);
        for (size_t i = 0; i < (size_t)in.width * in.height; i++)
            in.data[i] = (unsigned char)greys[g];
        /* k: -3 edge, -2 sharpen, -1 gaussian, 0.. a box of size k (0: the default) */
        for (int k = -3; k <= CLCNN__FILTER_MAX_SIZE && k <= in.height; k++) {
            const char *name = k == -3   ? "edge"
                               : k == -2 ? "sharpen"
                               : k == -1 ? "gaussian"
                                         : "box";
            clcnn__filter_options o = {name, k > 0 ? k : 0, CLCNN__PADDING_VALID, 1};
            int want = k == -3 ? 0 : greys[g];
            char err[1024] = "";
            clcnn__image out;
            ck_assert_msg(clcnn__tool_filter(tu_ctx(), &in, &o, &out, err, sizeof err) ==
                              CLCNN_OK,
                          "%s %d: %s", name, o.size, err);
            for (size_t i = 0; i < (size_t)out.width * out.height; i++)
                ck_assert_msg(abs((int)out.data[i] - want) <= 1,
                              "%s %d on constant %d: pixel %zu is %d", name, o.size, greys[g], i,
                              out.data[i]);
            clcnn__image_free(&out);
        }
        clcnn__image_free(&in);
    }
}
END_TEST

START_TEST(test_filter_invalid)
{
    char err[1024];
    clcnn__image in = random_image(3, 4, 1, 1), out = {1, 1, 1, NULL};
    clcnn__filter_options o = {"gaussian", 0, CLCNN__PADDING_VALID, 1};
    ck_assert_int_eq(clcnn__tool_filter(tu_ctx(), &in, &o, &out, err, sizeof err),
                     CLCNN_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(err, "smaller than the 5x5 kernel"));
    ck_assert_ptr_null(out.data);
    o.padding = CLCNN__PADDING_SAME;
    o.stride = 0;
    ck_assert_int_eq(clcnn__tool_filter(tu_ctx(), &in, &o, &out, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    o.stride = 1;
    o.kernel = "emboss";
    ck_assert_int_eq(clcnn__tool_filter(tu_ctx(), &in, &o, &out, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(err, "emboss"));
    o.kernel = "edge";
    ck_assert_int_eq(clcnn__tool_filter(NULL, &in, &o, &out, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    in.channels = 2;
    ck_assert_int_eq(clcnn__tool_filter(tu_ctx(), &in, &o, &out, err, sizeof err),
                     CLCNN_ERR_INVALID_ARGUMENT);
    in.channels = 1;
    /* a 1x1 image with same padding still works: the output is 1x1 */
    in.width = in.height = 1;
    in.data[0] = 10;
    ck_assert_int_eq(clcnn__tool_filter(tu_ctx(), &in, &o, &out, err, sizeof err), CLCNN_OK);
    ck_assert_int_eq(out.width, 1);
    /* only the centre tap sees the pixel; the edge kernel sums to 0, so its
     * centre is minus the sum of its eight -1s */
    ck_assert_uint_eq(out.data[0], 10 * 8);
    clcnn__image_free(&out);
    clcnn__image_free(&in);
}
END_TEST

/* ---- the clcnn binary ---- */

/* Runs "$CLCNN_BIN args" through the shell with stdout and stderr captured
 * in tmp_dir/cli.out and cli.err; returns the exit status. */
static int run_cli(const char *env, const char *args, char *out, size_t out_size, char *errs,
                   size_t err_size)
{
    const char *bin = getenv("CLCNN_BIN");
    ck_assert_msg(bin != NULL, "CLCNN_BIN must name the clcnn executable (meson sets it)");
    char cmd[2048], out_path[512], err_path[512];
    tmp_path(out_path, sizeof out_path, "cli.out");
    tmp_path(err_path, sizeof err_path, "cli.err");
    snprintf(cmd, sizeof cmd, "%s '%s' %s >'%s' 2>'%s'", env ? env : "", bin, args, out_path,
             err_path);
    int status = system(cmd);
    ck_assert_msg(status != -1 && WIFEXITED(status), "cannot run: %s", cmd);
    const char *paths[2] = {out_path, err_path};
    char *bufs[2] = {out, errs};
    size_t sizes[2] = {out_size, err_size};
    for (int i = 0; i < 2; i++) {
        FILE *fp = fopen(paths[i], "rb");
        ck_assert_ptr_nonnull(fp);
        size_t n = fread(bufs[i], 1, sizes[i] - 1, fp);
        bufs[i][n] = '\0';
        fclose(fp);
    }
    return WEXITSTATUS(status);
}

#define EXPECT_CLI(env, args, status, stream, fragment)                                        \
    do {                                                                                       \
        int rc_ = run_cli((env), (args), out, sizeof out, errs, sizeof errs);                  \
        ck_assert_msg(rc_ == (status), "clcnn %s: exit %d, want %d; stderr: %s", (args), rc_,  \
                      (status), errs);                                                         \
        ck_assert_msg(strstr((stream), (fragment)) != NULL, "clcnn %s: '%s' not in: %s",       \
                      (args), (fragment), (stream));                                           \
    } while (0)

START_TEST(test_cli)
{
    static char out[65536], errs[65536];
    char args[2048], in_path[512], out_path[512];
    data_path(in_path, sizeof in_path, "digits.png");
    tmp_path(out_path, sizeof out_path, "cli-edge.png");

    /* the acceptance run: the real binary, checked against the reference */
    snprintf(args, sizeof args, "filter --kernel edge '%s' '%s'", in_path, out_path);
    EXPECT_CLI(NULL, args, 0, out, "");
    clcnn__image in = load_data_image("digits.png"), got;
    read_ok(out_path, &got, in.width, in.height, 1);
    check_filter(&in, "edge", 0, 1, 1, &got, "clcnn filter --kernel edge digits.png");
    clcnn__image_free(&got);
    clcnn__image_free(&in);

    /* the gaussian on random grey levels, as a user checks it: within one
     * grey level of the float64 filter with the weights over their sum */
    clcnn__image noise = random_image(31, 27, 1, 77);
    tmp_path(in_path, sizeof in_path, "cli-noise.png");
    char werr[512];
    ck_assert_msg(clcnn__image_write(in_path, &noise, werr, sizeof werr) == CLCNN_OK, "%s",
                  werr);
    tmp_path(out_path, sizeof out_path, "cli-gaussian.png");
    snprintf(args, sizeof args, "filter --kernel gaussian --padding valid '%s' '%s'", in_path,
             out_path);
    EXPECT_CLI(NULL, args, 0, out, "");
    read_ok(out_path, &got, noise.width - 4, noise.height - 4, 1);
    check_filter(&noise, "gaussian", 0, 0, 1, &got,
                 "clcnn filter --kernel gaussian --padding valid");
    clcnn__image_free(&got);
    clcnn__image_free(&noise);

    EXPECT_CLI(NULL, "--version", 0, out, CLCNN_VERSION_STRING);
    EXPECT_CLI(NULL, "--help", 0, out, "filter");
    EXPECT_CLI(NULL, "help devices", 0, out, "CLCNN_DEVICE");
    EXPECT_CLI(NULL, "filter --help", 0, out, "Usage: clcnn filter");
    EXPECT_CLI(NULL, "", 2, errs, "Usage: clcnn");
    EXPECT_CLI(NULL, "frobnicate", 2, errs, "unknown command 'frobnicate'");
    EXPECT_CLI(NULL, "filtr", 2, errs, "Did you mean 'clcnn filter'");
    EXPECT_CLI(NULL, "--frobnicate", 2, errs, "unknown option '--frobnicate'");
    EXPECT_CLI(NULL, "filter --bogus 1 a.png b.png", 2, errs, "unknown option '--bogus'");
    EXPECT_CLI(NULL, "filter --kernel blur a.png b.png", 2, errs, "edge, sharpen");
    EXPECT_CLI(NULL, "filter --kernel edge --stride 0 a.png b.png", 2, errs, "--stride");
    EXPECT_CLI(NULL, "filter --kernel edge --size 5 a.png b.png", 2, errs, "box only");
    EXPECT_CLI(NULL, "filter --kernel edge a.png", 2, errs, "expected 2 arguments");
    EXPECT_CLI(NULL, "filter a.png b.png", 2, errs, "--kernel is required");
    snprintf(args, sizeof args, "filter --kernel edge '%s' '%s/x.jpg'", in_path, tmp_dir);
    EXPECT_CLI(NULL, args, 2, errs, ".png, .pgm or .ppm");
    snprintf(args, sizeof args, "filter -k edge '%s/missing.png' '%s'", tmp_dir, out_path);
    EXPECT_CLI(NULL, args, 1, errs, "cannot open");

    EXPECT_CLI(NULL, "devices", 0, out, "* ");
    EXPECT_CLI(NULL, "devices --json", 0, out, "\"selected\": true");
    EXPECT_CLI("CLCNN_DEVICE=nonexistent", "devices", 1, errs, "nonexistent");
    ck_assert_msg(strstr(out, "0:0") != NULL, "the list is printed even then: %s", out);
    snprintf(args, sizeof args, "filter --kernel edge '%s' '%s'", in_path, out_path);
    EXPECT_CLI("CLCNN_DEVICE=nonexistent", args, 1, errs, "no OpenCL device matches");
}
END_TEST

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            rmdir(path);
    }
    closedir(d);
    rmdir(dir);
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *io = tcase_create("image");
    tcase_add_test(io, test_roundtrip);
    tcase_add_test(io, test_grey_as_ppm);
    tcase_add_test(io, test_pnm_plain);
    tcase_add_test(io, test_png_color_types);
    tcase_add_test(io, test_reject_pnm);
    tcase_add_test(io, test_reject_png);
    tcase_add_test(io, test_write_atomic);
    suite_add_tcase(s, io);
    TCase *filter = tcase_create("filter");
    tcase_set_timeout(filter, 300);
    tcase_add_test(filter, test_kernel_table);
    tcase_add_test(filter, test_filter_reference);
    tcase_add_test(filter, test_constant_images);
    tcase_add_test(filter, test_filter_invalid);
    suite_add_tcase(s, filter);
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 300);
    tcase_add_test(cli, test_cli);
    suite_add_tcase(s, cli);
    return s;
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/clcnn-filter-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    int rc = tu_main(make_suite());
    remove_tree(tmp_dir);
    return rc;
}
