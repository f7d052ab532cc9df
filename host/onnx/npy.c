/*
 * NumPy .npy reading and writing (format versions 1.0 to 3.0): a magic
 * string, a little-endian header length, a Python dict literal naming the
 * dtype, the order and the shape, then the raw array.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npy.h"

static clcnn_status bad(char *msg, size_t size, clcnn_status st, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static clcnn_status bad(char *msg, size_t size, clcnn_status st, const char *fmt, ...)
{
    if (msg && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, size, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* A cursor over the header dict. */
typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n'))
        c->p++;
}

static int take(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string into buf (at most size - 1 characters). */
static int quoted(cursor *c, char *buf, size_t size)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= size)
            return 0;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    buf[n] = '\0';
    return 1;
}

static const char *dtype_name(const char *d)
{
    static const struct {
        const char *code, *name;
    } names[] = {{"f8", "float64"}, {"f2", "float16"}, {"i1", "int8"},   {"u1", "uint8"},
                 {"i2", "int16"},   {"u2", "uint16"},  {"i4", "int32"},  {"u4", "uint32"},
                 {"i8", "int64"},   {"u8", "uint64"},  {"b1", "bool"},   {"f4", "float32"}};
    size_t len = strlen(d);
    for (size_t i = 0; len >= 2 && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(d + len - 2, names[i].code) == 0)
            return names[i].name;
    return "an unknown type";
}

static clcnn_status parse_header(const char *h, size_t len, clcnn__npy *out, int *fortran,
                                 char *msg, size_t size)
{
    cursor c = {h, h + len};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!take(&c, '{'))
        return bad(msg, size, CLCNN_ERR_FORMAT, "the header is not a Python dict (no '{')");
    while (!take(&c, '}')) {
        char key[32], value[32];
        if (!quoted(&c, key, sizeof key) || !take(&c, ':'))
            return bad(msg, size, CLCNN_ERR_FORMAT,
                       "the header dict is malformed near offset %zu", (size_t)(c.p - h));
        if (strcmp(key, "descr") == 0) {
            if (!quoted(&c, value, sizeof value))
                return bad(msg, size, CLCNN_ERR_FORMAT, "descr is not a quoted dtype string");
            if (strcmp(value, "<f4") != 0)
                return bad(msg, size, CLCNN_ERR_FORMAT,
                           "dtype (descr) is '%s' (%s%s); clcnn reads float32 arrays ('<f4', "
                           "little-endian): convert with x.astype(numpy.float32)",
                           value, dtype_name(value),
                           value[0] == '>' ? ", big-endian" : "");
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            skip_space(&c);
            size_t left = (size_t)(c.end - c.p);
            if (left >= 4 && memcmp(c.p, "True", 4) == 0) {
                *fortran = 1;
                c.p += 4;
            } else if (left >= 5 && memcmp(c.p, "False", 5) == 0) {
                *fortran = 0;
                c.p += 5;
            } else {
                return bad(msg, size, CLCNN_ERR_FORMAT, "fortran_order is not True or False");
            }
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!take(&c, '('))
                return bad(msg, size, CLCNN_ERR_FORMAT, "shape is not a tuple");
            out->rank = 0;
            while (!take(&c, ')')) {
                skip_space(&c);
                long long v = 0;
                int digits = 0;
                while (c.p < c.end && *c.p >= '0' && *c.p <= '9' && digits < 12) {
                    v = v * 10 + (*c.p++ - '0');
                    digits++;
                }
                if (!digits || (c.p < c.end && *c.p >= '0' && *c.p <= '9'))
                    return bad(msg, size, CLCNN_ERR_FORMAT,
                               "shape holds something other than integers below 10^12");
                if (out->rank == CLCNN__NPY_MAX_RANK)
                    return bad(msg, size, CLCNN_ERR_FORMAT,
                               "shape has more than %d dimensions", CLCNN__NPY_MAX_RANK);
                out->dims[out->rank++] = v;
                if (!take(&c, ',')) {
                    if (!take(&c, ')'))
                        return bad(msg, size, CLCNN_ERR_FORMAT, "shape tuple is malformed");
                    break;
                }
            }
            have_shape = 1;
        } else {
            return bad(msg, size, CLCNN_ERR_FORMAT, "the header has an unknown key '%s'", key);
        }
        if (!take(&c, ',')) {
            if (!take(&c, '}'))
                return bad(msg, size, CLCNN_ERR_FORMAT,
                           "the header dict is malformed near offset %zu", (size_t)(c.p - h));
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return bad(msg, size, CLCNN_ERR_FORMAT, "the header lacks '%s'",
                   !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return CLCNN_OK;
}

clcnn_status clcnn__npy_parse(const uint8_t *data, size_t size, clcnn__npy *out, char *msg,
                              size_t msg_size)
{
    memset(out, 0, sizeof *out);
    if (size < 10 || memcmp(data, "\x93NUMPY", 6) != 0)
        return bad(msg, msg_size, CLCNN_ERR_FORMAT,
                   "not a .npy file: it does not start with the magic \"\\x93NUMPY\"");
    int major = data[6], minor = data[7];
    if (major < 1 || major > 3 || minor != 0)
        return bad(msg, msg_size, CLCNN_ERR_FORMAT,
                   "format version %d.%d is not 1.0, 2.0 or 3.0", major, minor);
    size_t fixed = major == 1 ? 10 : 12;
    if (size < fixed)
        return bad(msg, msg_size, CLCNN_ERR_FORMAT, "the file ends inside its header length");
    size_t hlen = major == 1 ? (size_t)data[8] | (size_t)data[9] << 8
                             : (size_t)data[8] | (size_t)data[9] << 8 |
                                   (size_t)data[10] << 16 | (size_t)data[11] << 24;
    if (hlen > size - fixed || hlen > 65536)
        return bad(msg, msg_size, CLCNN_ERR_FORMAT,
                   "header length %zu is not in 0..%zu (the bytes after the length field, at "
                   "most 65536)", hlen, size - fixed);
    int fortran = 0;
    clcnn_status st = parse_header((const char *)data + fixed, hlen, out, &fortran, msg, msg_size);
    if (st != CLCNN_OK)
        return st;
    size_t count = 1;
    for (int i = 0; i < out->rank; i++) {
        if (out->dims[i] > (long long)1 << 31)
            return bad(msg, msg_size, CLCNN_ERR_FORMAT, "shape[%d] = %lld is not in 0..2^31", i,
                       out->dims[i]);
        count *= (size_t)out->dims[i];
        if (count > ((size_t)1 << 31) / 4)
            return bad(msg, msg_size, CLCNN_ERR_FORMAT,
                       "the shape holds more than 2^29 elements (2 GiB of float32)");
    }
    if (fortran && out->rank > 1)
        return bad(msg, msg_size, CLCNN_ERR_FORMAT,
                   "fortran_order is True; clcnn reads C-order arrays: save "
                   "numpy.ascontiguousarray(x)");
    size_t body = size - fixed - hlen;
    if (body != count * 4)
        return bad(msg, msg_size, CLCNN_ERR_FORMAT,
                   "the data holds %zu bytes, but shape needs %zu (%zu float32 values)", body,
                   count * 4, count);
    out->count = count;
    out->data = clcnn__malloc(count ? count * sizeof(float) : 1);
    if (!out->data)
        return bad(msg, msg_size, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    const uint8_t *p = data + fixed + hlen;
    for (size_t i = 0; i < count; i++) {
        uint32_t bits = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                        (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
        memcpy(&out->data[i], &bits, 4);
    }
    return CLCNN_OK;
}

clcnn_status clcnn__npy_read(const char *path, clcnn__npy *out, char *msg, size_t msg_size)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return bad(msg, msg_size, CLCNN_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    clcnn_status st = CLCNN_OK;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
        st = bad(msg, msg_size, CLCNN_ERR_IO, "%s is not a regular file", path);
    else if ((uint64_t)sb.st_size >= CLCNN__NPY_MAX_BYTES)
        st = bad(msg, msg_size, CLCNN_ERR_FORMAT, "%s is %lld bytes; clcnn reads .npy files "
                 "under 2 GiB", path, (long long)sb.st_size);
    size_t n = st == CLCNN_OK ? (size_t)sb.st_size : 0;
    uint8_t *buf = st == CLCNN_OK ? clcnn__malloc(n ? n : 1) : NULL;
    if (st == CLCNN_OK && !buf)
        st = bad(msg, msg_size, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (st == CLCNN_OK && fread(buf, 1, n, f) != n)
        st = bad(msg, msg_size, CLCNN_ERR_IO, "cannot read %s", path);
    fclose(f);
    if (st == CLCNN_OK) {
        char why[512];
        st = clcnn__npy_parse(buf, n, out, why, sizeof why);
        if (st != CLCNN_OK)
            bad(msg, msg_size, st, "%s: %s", path, why);
    }
    clcnn__free(buf);
    return st;
}

void clcnn__npy_free(clcnn__npy *a)
{
    if (a) {
        clcnn__free(a->data);
        memset(a, 0, sizeof *a);
    }
}

clcnn_status clcnn__npy_write(clcnn_context *ctx, const char *path, const float *data, int rank,
                              const long long *dims)
{
    if (!path || !dims || rank < 1 || rank > CLCNN__NPY_MAX_RANK)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "npy: rank %d is not in 1..%d",
                           rank, CLCNN__NPY_MAX_RANK);
    char header[256];
    int len = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, "
                                              "'shape': (");
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || dims[i] > (long long)1 << 31)
            return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "npy: dims[%d] = %lld", i,
                               dims[i]);
        count *= (size_t)dims[i];
        len += snprintf(header + len, sizeof header - (size_t)len, "%lld%s", dims[i],
                        rank == 1 || i + 1 < rank ? ", " : "");
    }
    if (count && !data)
        return clcnn__fail(ctx, CLCNN_ERR_INVALID_ARGUMENT, "npy: data is NULL");
    len += snprintf(header + len, sizeof header - (size_t)len, "), }");
    /* pad with spaces so that the data starts at a multiple of 64 bytes */
    size_t total = 10 + (size_t)len + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    unsigned char *buf = clcnn__malloc(padded + count * 4);
    if (!buf)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, header, (size_t)len);
    memset(buf + 10 + len, ' ', hlen - (size_t)len - 1);
    buf[padded - 1] = '\n';
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &data[i], 4);
        for (int b = 0; b < 4; b++)
            buf[padded + 4 * i + (size_t)b] = (unsigned char)(bits >> (8 * b));
    }
    clcnn_status st = clcnn__write_file_atomically(ctx, path, buf, padded + count * 4);
    clcnn__free(buf);
    return st;
}
