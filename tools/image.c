/*
 * PNG (libpng) and PNM (P2, P3, P5, P6) reading and writing for the clcnn
 * tool. Every field of a file is checked before it is trusted, and images are
 * written through a temporary file and a rename, so an interrupted write
 * leaves the old file as it was.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

static clcnn_status fail(char *error, size_t error_size, clcnn_status status, const char *fmt,
                         ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static clcnn_status fail(char *error, size_t error_size, clcnn_status status, const char *fmt,
                         ...)
{
    if (error && error_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error, error_size, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Refuses sizes that are zero or too large, before any allocation. */
static clcnn_status check_size(const char *path, long long width, long long height,
                               char *error, size_t error_size)
{
    if (width < 1 || height < 1)
        return fail(error, error_size, CLCNN_ERR_FORMAT, "%s: the image is %lldx%lld pixels",
                    path, width, height);
    if (width > CLCNN__IMAGE_MAX_PIXELS || height > CLCNN__IMAGE_MAX_PIXELS ||
        width * height > CLCNN__IMAGE_MAX_PIXELS)
        return fail(error, error_size, CLCNN_ERR_UNSUPPORTED,
                    "%s: the image is %lldx%lld pixels, more than the limit of %lld pixels",
                    path, width, height, CLCNN__IMAGE_MAX_PIXELS);
    return CLCNN_OK;
}

clcnn_status clcnn__image_create(clcnn__image *img, int width, int height, int channels,
                                 char *error, size_t error_size)
{
    if (!img)
        return fail(error, error_size, CLCNN_ERR_INVALID_ARGUMENT, "image is NULL");
    memset(img, 0, sizeof *img);
    if (channels != 1 && channels != 3)
        return fail(error, error_size, CLCNN_ERR_INVALID_ARGUMENT,
                    "an image has 1 or 3 channels, not %d", channels);
    clcnn_status st = check_size("image", width, height, error, error_size);
    if (st != CLCNN_OK)
        return st == CLCNN_ERR_FORMAT ? CLCNN_ERR_INVALID_ARGUMENT : st;
    img->data = malloc((size_t)width * (size_t)height * (size_t)channels);
    if (!img->data)
        return fail(error, error_size, CLCNN_ERR_OUT_OF_HOST_MEMORY,
                    "out of memory for a %dx%dx%d image", width, height, channels);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return CLCNN_OK;
}

void clcnn__image_free(clcnn__image *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

/* ------------------------------------------------------------------------ */
/* PNM                                                                      */
/* ------------------------------------------------------------------------ */

/* Skips whitespace and '#' comments; returns the next character unread. */
static int pnm_skip(FILE *fp)
{
    for (;;) {
        int c = getc(fp);
        if (c == '#') {
            while (c != '\n' && c != '\r' && c != EOF)
                c = getc(fp);
            continue;
        }
        if (c == EOF || !isspace(c)) {
            if (c != EOF)
                ungetc(c, fp);
            return c;
        }
    }
}

/* Reads one unsigned decimal number (header field or plain sample). */
static clcnn_status pnm_number(FILE *fp, const char *path, const char *what, unsigned *out,
                               char *error, size_t error_size)
{
    int c = pnm_skip(fp);
    if (c == EOF)
        return fail(error, error_size, CLCNN_ERR_FORMAT, "%s: truncated before the %s", path,
                    what);
    if (!isdigit(c))
        return fail(error, error_size, CLCNN_ERR_FORMAT, "%s: expected the %s, found '%c'",
                    path, what, isprint(c) ? c : '?');
    unsigned long long v = 0;
    while ((c = getc(fp)) != EOF && isdigit(c)) {
        v = v * 10 + (unsigned)(c - '0');
        if (v > 1000000000ull)
            return fail(error, error_size, CLCNN_ERR_FORMAT, "%s: the %s is too large", path,
                        what);
    }
    if (c != EOF) {
        if (!isspace(c) && c != '#')
            return fail(error, error_size, CLCNN_ERR_FORMAT,
                        "%s: unexpected '%c' after the %s", path, isprint(c) ? c : '?', what);
        ungetc(c, fp);
    }
    *out = (unsigned)v;
    return CLCNN_OK;
}

/* Bytes left in a regular file from the current position, or -1. */
static long long bytes_left(FILE *fp)
{
    struct stat sb;
    long pos = ftell(fp);
    if (pos < 0 || fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode))
        return -1;
    return (long long)sb.st_size - pos;
}

static clcnn_status read_pnm(FILE *fp, const char *path, int kind, clcnn__image *out,
                             char *error, size_t error_size)
{
    int channels = (kind == '3' || kind == '6') ? 3 : 1;
    int binary = kind == '5' || kind == '6';
    unsigned width, height, maxval;
    clcnn_status st = pnm_number(fp, path, "width", &width, error, error_size);
    if (st == CLCNN_OK)
        st = pnm_number(fp, path, "height", &height, error, error_size);
    if (st == CLCNN_OK)
        st = pnm_number(fp, path, "maxval", &maxval, error, error_size);
    if (st != CLCNN_OK)
        return st;
    st = check_size(path, width, height, error, error_size);
    if (st != CLCNN_OK)
        return st;
    if (maxval < 1 || maxval > 255)
        return fail(error, error_size, CLCNN_ERR_FORMAT,
                    "%s: maxval %u is not supported (only 8-bit files, maxval 1..255)", path,
                    maxval);
    size_t count = (size_t)width * height * (size_t)channels;
    /* A file that cannot hold the samples is refused before allocating for
     * them: one byte each in binary, at least one digit each in plain text. */
    long long left = bytes_left(fp);
    if (left >= 0 && (unsigned long long)left < count + (size_t)binary)
        return fail(error, error_size, CLCNN_ERR_FORMAT,
                    "%s: truncated: %ux%u pixels need %zu samples, the file has %lld more bytes",
                    path, width, height, count, left);
    st = clcnn__image_create(out, (int)width, (int)height, channels, error, error_size);
    if (st != CLCNN_OK)
        return st;
    if (binary) {
        int c = getc(fp); /* exactly one whitespace byte ends the header */
        if (c == EOF || !isspace(c)) {
            clcnn__image_free(out);
            return fail(error, error_size, CLCNN_ERR_FORMAT,
                        "%s: no whitespace between the header and the pixels", path);
        }
        size_t got = fread(out->data, 1, count, fp);
        if (got != count) {
            clcnn__image_free(out);
            if (ferror(fp))
                return fail(error, error_size, CLCNN_ERR_IO, "%s: read error: %s", path,
                            strerror(errno));
            return fail(error, error_size, CLCNN_ERR_FORMAT,
                        "%s: truncated: %zu of %zu pixel bytes present", path, got, count);
        }
    }
    for (size_t i = 0; i < count; i++) {
        unsigned v;
        if (binary)
            v = out->data[i];
        else {
            char what[64];
            snprintf(what, sizeof what, "sample %zu of %zu", i + 1, count);
            st = pnm_number(fp, path, what, &v, error, error_size);
            if (st != CLCNN_OK) {
                clcnn__image_free(out);
                return st;
            }
        }
        if (v > maxval) {
            clcnn__image_free(out);
            return fail(error, error_size, CLCNN_ERR_FORMAT,
                        "%s: sample %zu is %u, above maxval %u", path, i + 1, v, maxval);
        }
        out->data[i] = (uint8_t)((v * 255 + maxval / 2) / maxval);
    }
    return CLCNN_OK;
}

/* ------------------------------------------------------------------------ */
/* PNG                                                                      */
/* ------------------------------------------------------------------------ */

/* Everything that changes after setjmp lives here, outside the function
 * that calls setjmp, so a longjmp cannot leave it indeterminate. */
typedef struct png_state {
    FILE *fp;
    png_structp png;
    png_infop info;
    clcnn__image *img;
    clcnn_status status;
    char message[256];
} png_state;

static void png_on_error(png_structp png, png_const_charp message)
{
    png_state *st = png_get_error_ptr(png);
    snprintf(st->message, sizeof st->message, "%s", message);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message; /* warnings are not errors, and the tool prints nothing of them */
}

static void png_read_body(png_state *st)
{
    if (setjmp(png_jmpbuf(st->png))) {
        st->status = CLCNN_ERR_FORMAT;
        return;
    }
    png_structp png = st->png;
    png_init_io(png, st->fp);
    png_set_sig_bytes(png, 8);
    /* our own pixel limit below replaces libpng's per-side limit */
    png_set_user_limits(png, 0x7fffffffL, 0x7fffffffL);
    png_read_info(png, st->info);
    png_uint_32 width, height;
    int depth, color, interlace;
    png_get_IHDR(png, st->info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    if ((long long)width * height > CLCNN__IMAGE_MAX_PIXELS) {
        snprintf(st->message, sizeof st->message,
                 "the image is %lux%lu pixels, more than the limit of %lld pixels",
                 (unsigned long)width, (unsigned long)height, CLCNN__IMAGE_MAX_PIXELS);
        st->status = CLCNN_ERR_UNSUPPORTED;
        return;
    }
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16)
        png_set_scale_16(png);
    /* palette expansion turns tRNS into an alpha channel; drop it too */
    if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, st->info, PNG_INFO_tRNS))
        png_set_strip_alpha(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, st->info);
    int channels = png_get_channels(png, st->info);
    size_t rowbytes = png_get_rowbytes(png, st->info);
    if ((channels != 1 && channels != 3) || rowbytes != (size_t)width * (size_t)channels) {
        snprintf(st->message, sizeof st->message,
                 "unexpected layout after conversion (%d channels, %zu bytes per row)",
                 channels, rowbytes);
        st->status = CLCNN_ERR_FORMAT;
        return;
    }
    char alloc_error[128];
    st->status = clcnn__image_create(st->img, (int)width, (int)height, channels, alloc_error,
                                     sizeof alloc_error);
    if (st->status != CLCNN_OK) {
        snprintf(st->message, sizeof st->message, "%s", alloc_error);
        return;
    }
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < height; y++)
            png_read_row(png, st->img->data + y * rowbytes, NULL);
    /* reading to IEND checks the remaining CRCs and catches truncation
     * after the last pixel row */
    png_read_end(png, NULL);
    st->status = CLCNN_OK;
}

static clcnn_status read_png(FILE *fp, const char *path, clcnn__image *out, char *error,
                             size_t error_size)
{
    png_state st = {.fp = fp, .img = out, .status = CLCNN_ERR_FORMAT};
    st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_on_error, png_on_warning);
    if (st.png)
        st.info = png_create_info_struct(st.png);
    if (!st.png || !st.info) {
        png_destroy_read_struct(st.png ? &st.png : NULL, NULL, NULL);
        return fail(error, error_size, CLCNN_ERR_OUT_OF_HOST_MEMORY,
                    "%s: out of memory starting the PNG decoder", path);
    }
    png_read_body(&st);
    png_destroy_read_struct(&st.png, &st.info, NULL);
    if (st.status == CLCNN_OK)
        return CLCNN_OK;
    clcnn__image_free(out);
    if (ferror(fp))
        return fail(error, error_size, CLCNN_ERR_IO, "%s: read error: %s", path,
                    strerror(errno));
    if (feof(fp))
        return fail(error, error_size, CLCNN_ERR_FORMAT, "%s: truncated PNG file (%s)", path,
                    st.message);
    return fail(error, error_size, st.status, "%s: invalid PNG: %s", path, st.message);
}

clcnn_status clcnn__image_read(const char *path, clcnn__image *out, char *error,
                               size_t error_size)
{
    if (!out)
        return fail(error, error_size, CLCNN_ERR_INVALID_ARGUMENT, "image is NULL");
    memset(out, 0, sizeof *out);
    if (!path)
        return fail(error, error_size, CLCNN_ERR_INVALID_ARGUMENT, "path is NULL");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fail(error, error_size, CLCNN_ERR_IO, "cannot open %s: %s", path,
                    strerror(errno));
    unsigned char magic[8];
    size_t got = fread(magic, 1, 2, fp);
    clcnn_status st;
    if (got < 2) {
        st = ferror(fp) ? fail(error, error_size, CLCNN_ERR_IO, "%s: read error: %s", path,
                               strerror(errno))
                        : fail(error, error_size, CLCNN_ERR_FORMAT, "%s: the file is %s", path,
                               got ? "1 byte long" : "empty");
    } else if (magic[0] == 'P' && magic[1] && strchr("2356", magic[1])) {
        st = read_pnm(fp, path, magic[1], out, error, error_size);
    } else if (magic[0] == 0x89 && magic[1] == 'P') {
        got += fread(magic + 2, 1, 6, fp);
        if (got == 8 && png_sig_cmp(magic, 0, 8) == 0)
            st = read_png(fp, path, out, error, error_size);
        else
            st = fail(error, error_size, CLCNN_ERR_FORMAT, "%s: damaged PNG signature", path);
    } else {
        st = fail(error, error_size, CLCNN_ERR_FORMAT,
                  "%s: not a PNG, PGM or PPM file (it starts with bytes %02x %02x)", path,
                  magic[0], magic[1]);
    }
    fclose(fp);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

clcnn_status clcnn__image_format_for(const char *path, int channels,
                                     clcnn__image_format *format, char *error,
                                     size_t error_size)
{
    if (!path || !format)
        return fail(error, error_size, CLCNN_ERR_INVALID_ARGUMENT, "path or format is NULL");
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash))
        dot = "";
    if (strcasecmp(dot, ".png") == 0)
        *format = CLCNN__IMAGE_PNG;
    else if (strcasecmp(dot, ".pgm") == 0)
        *format = CLCNN__IMAGE_PGM;
    else if (strcasecmp(dot, ".ppm") == 0)
        *format = CLCNN__IMAGE_PPM;
    else
        return fail(error, error_size, CLCNN_ERR_INVALID_ARGUMENT,
                    "%s: cannot choose an image format: the name must end in .png, .pgm or "
                    ".ppm", path);
    if (*format == CLCNN__IMAGE_PGM && channels == 3)
        return fail(error, error_size, CLCNN_ERR_INVALID_ARGUMENT,
                    "%s: an RGB image cannot be written as PGM (grey only); use .ppm or .png",
                    path);
    return CLCNN_OK;
}

static int write_pnm(FILE *fp, const clcnn__image *img, clcnn__image_format format)
{
    int rgb_file = format == CLCNN__IMAGE_PPM;
    if (fprintf(fp, "P%c\n%d %d\n255\n", rgb_file ? '6' : '5', img->width, img->height) < 0)
        return -1;
    size_t row = (size_t)img->width * (size_t)img->channels;
    if (!rgb_file || img->channels == 3) {
        size_t n = row * (size_t)img->height;
        return fwrite(img->data, 1, n, fp) == n ? 0 : -1;
    }
    /* grey as PPM: each sample three times */
    for (size_t i = 0; i < row * (size_t)img->height; i++) {
        uint8_t v = img->data[i];
        if (putc(v, fp) == EOF || putc(v, fp) == EOF || putc(v, fp) == EOF)
            return -1;
    }
    return 0;
}

static void png_write_body(png_state *st)
{
    if (setjmp(png_jmpbuf(st->png))) {
        st->status = CLCNN_ERR_IO;
        return;
    }
    const clcnn__image *img = st->img;
    png_init_io(st->png, st->fp);
    png_set_IHDR(st->png, st->info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 img->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(st->png, st->info);
    size_t row = (size_t)img->width * (size_t)img->channels;
    for (int y = 0; y < img->height; y++)
        png_write_row(st->png, img->data + (size_t)y * row);
    png_write_end(st->png, NULL);
    st->status = CLCNN_OK;
}

static clcnn_status write_png(FILE *fp, const char *path, const clcnn__image *img, char *error,
                              size_t error_size)
{
    png_state st = {.fp = fp, .img = (clcnn__image *)img, .status = CLCNN_ERR_IO};
    st.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, png_on_error, png_on_warning);
    if (st.png)
        st.info = png_create_info_struct(st.png);
    if (!st.png || !st.info) {
        png_destroy_write_struct(st.png ? &st.png : NULL, NULL);
        return fail(error, error_size, CLCNN_ERR_OUT_OF_HOST_MEMORY,
                    "%s: out of memory starting the PNG encoder", path);
    }
    png_write_body(&st);
    png_destroy_write_struct(&st.png, &st.info);
    if (st.status != CLCNN_OK)
        return fail(error, error_size, st.status, "%s: writing PNG failed: %s%s%s", path,
                    st.message, errno ? ": " : "", errno ? strerror(errno) : "");
    return CLCNN_OK;
}

/* Creates a new file beside path (same folder, so rename is atomic),
 * readable like a file created in place, and returns its name. */
static clcnn_status create_temp(const char *path, char **temp_path, int *fd_out, char *error,
                                size_t error_size)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    size_t size = strlen(path) + 64;
    char *name = malloc(size);
    if (!name)
        return fail(error, error_size, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of memory");
    /* keep the mode of a file being replaced; new files follow the umask */
    struct stat sb;
    mode_t mode = 0666;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        mode = sb.st_mode & 07777;
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        snprintf(name, size, "%.*s.%s.tmp-%ld-%u", (int)dir_len, path, path + dir_len,
                 (long)getpid(), attempt);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0) {
            if (mode != 0666)
                (void)fchmod(fd, mode);
            *temp_path = name;
            *fd_out = fd;
            return CLCNN_OK;
        }
        if (errno != EEXIST)
            break;
    }
    clcnn_status st = fail(error, error_size, CLCNN_ERR_IO,
                           "%s: cannot create a temporary file beside it: %s", path,
                           strerror(errno));
    free(name);
    return st;
}

/* Makes the rename itself durable; failure here loses nothing already
 * written, so it is not reported. */
static void sync_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

clcnn_status clcnn__image_write(const char *path, const clcnn__image *img, char *error,
                                size_t error_size)
{
    if (!path || !img || !img->data)
        return fail(error, error_size, CLCNN_ERR_INVALID_ARGUMENT,
                    "path, image or its data is NULL");
    if ((img->channels != 1 && img->channels != 3) || img->width < 1 || img->height < 1 ||
        (long long)img->width * img->height > CLCNN__IMAGE_MAX_PIXELS)
        return fail(error, error_size, CLCNN_ERR_INVALID_ARGUMENT,
                    "%s: cannot write a %dx%d image with %d channels", path, img->width,
                    img->height, img->channels);
    clcnn__image_format format;
    clcnn_status st = clcnn__image_format_for(path, img->channels, &format, error, error_size);
    if (st != CLCNN_OK)
        return st;
    char *temp = NULL;
    int fd = -1;
    st = create_temp(path, &temp, &fd, error, error_size);
    if (st != CLCNN_OK)
        return st;
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        st = fail(error, error_size, CLCNN_ERR_IO, "%s: %s", temp, strerror(errno));
        close(fd);
        goto cleanup;
    }
    errno = 0;
    if (format == CLCNN__IMAGE_PNG)
        st = write_png(fp, path, img, error, error_size);
    else if (write_pnm(fp, img, format) != 0)
        st = fail(error, error_size, CLCNN_ERR_IO, "%s: write error: %s", path,
                  strerror(errno));
    if (st == CLCNN_OK && (fflush(fp) != 0 || fsync(fileno(fp)) != 0))
        st = fail(error, error_size, CLCNN_ERR_IO, "%s: write error: %s", path,
                  strerror(errno));
    if (fclose(fp) != 0 && st == CLCNN_OK)
        st = fail(error, error_size, CLCNN_ERR_IO, "%s: write error: %s", path,
                  strerror(errno));
    if (st == CLCNN_OK && rename(temp, path) != 0)
        st = fail(error, error_size, CLCNN_ERR_IO, "cannot replace %s: %s", path,
                  strerror(errno));
    if (st == CLCNN_OK)
        sync_folder(path);
cleanup:
    if (st != CLCNN_OK)
        unlink(temp);
    free(temp);
    return st;
}
