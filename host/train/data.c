/*
 * Data sets in IDX format (MNIST, Fashion-MNIST), plain or gzip, and their extraction into
 * normalised NCHW batches. These files are usually downloaded, so the reader trusts nothing:
 * every header field and the real data length are checked, and no buffer grows beyond the
 * data that actually arrived, whatever a header claims.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "runtime.h"

/* What a header may claim, checked before any allocation. */
#define IDX_MAX_SIDE 4096
#define IDX_MAX_BYTES ((uint64_t)1 << 31)
/* Data buffers start at this size and double as data arrives, so a header that claims
 * 2 GiB over a tiny gzip file costs little; it is also the largest single read. */
#define IDX_STEP ((size_t)1 << 20)
#define IDX_UNSIGNED_BYTE 0x08

struct clcnn_dataset {
    size_t count;
    int rows, cols;
    int classes;
    unsigned char *pixels; /* count * rows * cols, image after image */
    unsigned char *labels; /* count */
};

/* One IDX file being read. */
typedef struct idx_file {
    const char *path;
    const char *kind; /* "pixel" or "label", for messages */
    gzFile gz;
    int rank;
    uint32_t dims[3];
    uint64_t data_bytes;
    struct stat st;
} idx_file;

static const char *errno_text(int err, char *buf, size_t size)
{
    /* The XSI strerror_r (as _POSIX_C_SOURCE selects) is safe to call from any thread. */
    if (strerror_r(err, buf, size) != 0)
        snprintf(buf, size, "error %d", err);
    return buf;
}

static clcnn_status idx_open(idx_file *f, const char *path, const char *kind, int rank,
                             char *error, size_t error_size)
{
    char text[128];
    memset(f, 0, sizeof *f);
    f->path = path;
    f->kind = kind;
    f->rank = rank;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        clcnn__message(error, error_size, "cannot open %s: %s", path,
                       errno_text(errno, text, sizeof text));
        return CLCNN_ERR_IO;
    }
    if (fstat(fd, &f->st) != 0 || S_ISDIR(f->st.st_mode)) {
        int err = S_ISDIR(f->st.st_mode) ? EISDIR : errno;
        clcnn__message(error, error_size, "cannot read %s: %s", path,
                       errno_text(err, text, sizeof text));
        close(fd);
        return CLCNN_ERR_IO;
    }
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        clcnn__message(error, error_size, "cannot read %s: out of host memory", path);
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    }
    gzbuffer(f->gz, 1u << 17);
    return CLCNN_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/*
 * Reads up to want bytes into buf, adding the count to *got. A short count with CLCNN_OK
 * is a plain end of file; a damaged gzip stream or a failed read is an error. zlib reports
 * a gzip stream cut short only through gzerror, never through gzread's result, so the
 * stream's state is always asked.
 */
static clcnn_status idx_read(idx_file *f, void *buf, size_t want, size_t *got, char *error,
                             size_t error_size)
{
    size_t have = 0;
    while (have < want) {
        size_t step = want - have < IDX_STEP ? want - have : IDX_STEP;
        int n = gzread(f->gz, (unsigned char *)buf + have, (unsigned)step);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    *got += have;
    int zerr = Z_OK;
    const char *zmsg = gzerror(f->gz, &zerr);
    /* zlib prefixes its messages with "<fd:N>: ", which says nothing to a user. */
    const char *cut = zmsg ? strstr(zmsg, ": ") : NULL;
    zmsg = cut ? cut + 2 : zmsg ? zmsg : "";
    switch (zerr) {
    case Z_OK:
        return CLCNN_OK;
    case Z_ERRNO:
        /* zlib keeps the system's reason, taken when the read failed */
        clcnn__message(error, error_size, "cannot read %s: %s", f->path, zmsg);
        return CLCNN_ERR_IO;
    case Z_MEM_ERROR:
        clcnn__message(error, error_size, "cannot read %s: out of host memory", f->path);
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    case Z_BUF_ERROR:
        clcnn__message(error, error_size, "%s: gzip stream is truncated (unexpected end of file)",
                       f->path);
        return CLCNN_ERR_FORMAT;
    default:
        clcnn__message(error, error_size, "%s: corrupt gzip data (%s)", f->path, zmsg);
        return CLCNN_ERR_FORMAT;
    }
}

/* Reads and validates the magic and the dimensions; sets f->data_bytes. */
static clcnn_status idx_read_header(idx_file *f, char *error, size_t error_size)
{
    static const char *const image_dims[3] = {"image count", "rows", "cols"};
    unsigned char head[16];
    size_t head_bytes = 4 + 4 * (size_t)f->rank, got = 0;
    clcnn_status st = idx_read(f, head, 4, &got, error, error_size);
    if (st == CLCNN_OK && got == 4) {
        unsigned magic = (unsigned)head[0] << 24 | (unsigned)head[1] << 16 |
                         (unsigned)head[2] << 8 | head[3];
        if (head[0] != 0 || head[1] != 0) {
            clcnn__message(error, error_size, "%s: not an IDX file (magic 0x%08x)", f->path,
                           magic);
            return CLCNN_ERR_FORMAT;
        }
        if (head[2] != IDX_UNSIGNED_BYTE) {
            clcnn__message(error, error_size,
                           "%s: IDX magic 0x%08x has data type 0x%02x; only unsigned bytes "
                           "(0x08) are supported",
                           f->path, magic, head[2]);
            return CLCNN_ERR_FORMAT;
        }
        if (head[3] != f->rank) {
            clcnn__message(error, error_size,
                           "%s: IDX magic 0x%08x has rank %d, expected %d for %s file", f->path,
                           magic, head[3], f->rank, f->rank == 3 ? "an image" : "a label");
            return CLCNN_ERR_FORMAT;
        }
        st = idx_read(f, head + 4, head_bytes - 4, &got, error, error_size);
    }
    if (st != CLCNN_OK)
        return st;
    if (got < head_bytes) {
        clcnn__message(error, error_size,
                       "%s: truncated header: expected %zu bytes, found %zu", f->path,
                       head_bytes, got);
        return CLCNN_ERR_FORMAT;
    }
    uint64_t bytes = 1;
    for (int i = 0; i < f->rank; i++) {
        const unsigned char *p = head + 4 + 4 * i;
        f->dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (f->dims[i] == 0) {
            clcnn__message(error, error_size, "%s: header dimension %d (%s) is zero", f->path,
                           i, f->rank == 3 ? image_dims[i] : "label count");
            return CLCNN_ERR_FORMAT;
        }
    }
    if (f->rank == 3 && (f->dims[1] > IDX_MAX_SIDE || f->dims[2] > IDX_MAX_SIDE)) {
        clcnn__message(error, error_size, "%s: image size %" PRIu32 "x%" PRIu32
                       " exceeds the limit of %dx%d", f->path, f->dims[1], f->dims[2],
                       IDX_MAX_SIDE, IDX_MAX_SIDE);
        return CLCNN_ERR_FORMAT;
    }
    /* Each factor is below 2^32 and rows * cols below 2^25, so this cannot overflow. */
    for (int i = 0; i < f->rank; i++)
        bytes *= f->dims[i];
    if (bytes > IDX_MAX_BYTES) {
        clcnn__message(error, error_size,
                       "%s: data set too large: the header claims %llu bytes of %s data, "
                       "more than the limit of %llu",
                       f->path, (unsigned long long)bytes, f->kind,
                       (unsigned long long)IDX_MAX_BYTES);
        return CLCNN_ERR_FORMAT;
    }
    f->data_bytes = bytes;
    return CLCNN_OK;
}

/* Reads exactly f->data_bytes into a new buffer (*out), and checks that nothing follows. */
static clcnn_status idx_read_data(idx_file *f, unsigned char **out, char *error,
                                  size_t error_size)
{
    /* A plain file's length is known: a wrong one fails before any allocation. */
    if (S_ISREG(f->st.st_mode) && gzdirect(f->gz)) {
        unsigned long long want = f->data_bytes,
                           found = (unsigned long long)f->st.st_size - (4 + 4 * f->rank);
        if (found != want) {
            if (found < want)
                clcnn__message(error, error_size,
                               "%s: truncated: expected %llu bytes of %s data, found %llu",
                               f->path, want, f->kind, found);
            else
                clcnn__message(error, error_size,
                               "%s: %llu trailing bytes after the %llu bytes of %s data",
                               f->path, found - want, want, f->kind);
            return CLCNN_ERR_FORMAT;
        }
    }
    size_t want = (size_t)f->data_bytes, cap = want < IDX_STEP ? want : IDX_STEP, have = 0;
    unsigned char *buf = clcnn__malloc(cap);
    clcnn_status st = CLCNN_OK;
    if (!buf)
        goto oom;
    for (;;) {
        size_t got = 0;
        st = idx_read(f, buf + have, cap - have, &got, error, error_size);
        have += got;
        if (st != CLCNN_OK)
            goto fail;
        if (have < cap || have == want)
            break;
        size_t grown = cap > want / 2 ? want : cap * 2;
        unsigned char *bigger = clcnn__realloc(buf, grown);
        if (!bigger)
            goto oom;
        buf = bigger;
        cap = grown;
    }
    if (have < want) {
        clcnn__message(error, error_size, "%s: truncated: expected %zu bytes of %s data, found %zu",
                       f->path, want, f->kind, have);
        st = CLCNN_ERR_FORMAT;
        goto fail;
    }
    /* One more read finds trailing data and makes zlib check the gzip trailer's CRC. */
    unsigned char extra[64];
    size_t more = 0;
    st = idx_read(f, extra, sizeof extra, &more, error, error_size);
    if (st != CLCNN_OK)
        goto fail;
    if (more > 0) {
        clcnn__message(error, error_size, "%s: trailing bytes after the %zu bytes of %s data",
                       f->path, want, f->kind);
        st = CLCNN_ERR_FORMAT;
        goto fail;
    }
    *out = buf;
    return CLCNN_OK;
oom:
    clcnn__message(error, error_size, "cannot read %s: out of host memory for %zu bytes",
                   f->path, want);
    st = CLCNN_ERR_OUT_OF_HOST_MEMORY;
fail:
    clcnn__free(buf);
    return st;
}

clcnn_status clcnn_dataset_load_idx(const char *images_path, const char *labels_path,
                                    clcnn_dataset **out, char *error, size_t error_size)
{
    if (out)
        *out = NULL;
    if (!images_path || !labels_path || !out) {
        clcnn__message(error, error_size, "clcnn_dataset_load_idx: %s is NULL",
                       !images_path ? "images_path" : !labels_path ? "labels_path" : "out");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    idx_file images, labels;
    unsigned char *pixels = NULL, *label_data = NULL;
    clcnn_dataset *ds = NULL;
    memset(&labels, 0, sizeof labels);
    /* Both headers are validated, and the counts compared, before any data is read. */
    clcnn_status st = idx_open(&images, images_path, "pixel", 3, error, error_size);
    if (st != CLCNN_OK)
        return st;
    st = idx_read_header(&images, error, error_size);
    if (st == CLCNN_OK)
        st = idx_open(&labels, labels_path, "label", 1, error, error_size);
    if (st == CLCNN_OK)
        st = idx_read_header(&labels, error, error_size);
    if (st == CLCNN_OK && images.dims[0] != labels.dims[0]) {
        clcnn__message(error, error_size,
                       "count mismatch: %s holds %" PRIu32 " images but %s holds %" PRIu32
                       " labels",
                       images_path, images.dims[0], labels_path, labels.dims[0]);
        st = CLCNN_ERR_FORMAT;
    }
    if (st == CLCNN_OK)
        st = idx_read_data(&images, &pixels, error, error_size);
    if (st == CLCNN_OK)
        st = idx_read_data(&labels, &label_data, error, error_size);
    if (st == CLCNN_OK) {
        ds = clcnn__calloc(1, sizeof *ds);
        if (!ds) {
            clcnn__message(error, error_size, "clcnn_dataset_load_idx: out of host memory");
            st = CLCNN_ERR_OUT_OF_HOST_MEMORY;
        }
    }
    idx_close(&images);
    idx_close(&labels);
    if (st != CLCNN_OK) {
        clcnn__free(pixels);
        clcnn__free(label_data);
        return st;
    }
    ds->count = images.dims[0];
    ds->rows = (int)images.dims[1];
    ds->cols = (int)images.dims[2];
    ds->pixels = pixels;
    ds->labels = label_data;
    int max_label = 0;
    for (size_t i = 0; i < ds->count; i++)
        if (label_data[i] > max_label)
            max_label = label_data[i];
    ds->classes = max_label + 1;
    *out = ds;
    return CLCNN_OK;
}

/* "<dir>/<which>-<kind>-idx<rank>-ubyte" plus ".gz" when that one exists and the plain
 * one does not; NULL when out of memory. *found says whether either exists. */
static char *find_idx(const char *dir, const char *which, const char *kind, int rank,
                      int *found)
{
    size_t len = strlen(dir);
    const char *sep = len > 0 && dir[len - 1] == '/' ? "" : "/";
    size_t size = len + strlen(which) + strlen(kind) + 32;
    char *path = clcnn__malloc(size);
    if (!path)
        return NULL;
    struct stat st;
    snprintf(path, size, "%s%s%s-%s-idx%d-ubyte", dir, sep, which, kind, rank);
    /* A file that exists but cannot be examined is taken, so that opening it reports why. */
    *found = stat(path, &st) == 0 || errno != ENOENT;
    if (!*found) {
        strcat(path, ".gz");
        *found = stat(path, &st) == 0 || errno != ENOENT;
        if (!*found)
            path[strlen(path) - 3] = '\0';
    }
    return path;
}

clcnn_status clcnn_dataset_load_dir(const char *dir, const char *which, clcnn_dataset **out,
                                    char *error, size_t error_size)
{
    if (out)
        *out = NULL;
    if (!dir || !which || !out || !which[0] || strchr(which, '/')) {
        clcnn__message(error, error_size,
                       "clcnn_dataset_load_dir: %s", !dir     ? "dir is NULL"
                                                     : !which ? "which is NULL"
                                                     : !out   ? "out is NULL"
                                                              : "which must be a file-name "
                                                                "prefix such as \"train\" or "
                                                                "\"t10k\"");
        return CLCNN_ERR_INVALID_ARGUMENT;
    }
    int images_found = 0, labels_found = 0;
    char *images = find_idx(dir, which, "images", 3, &images_found);
    char *labels = find_idx(dir, which, "labels", 1, &labels_found);
    clcnn_status st;
    if (!images || !labels) {
        clcnn__message(error, error_size, "clcnn_dataset_load_dir: out of host memory");
        st = CLCNN_ERR_OUT_OF_HOST_MEMORY;
    } else if (!images_found || !labels_found) {
        clcnn__message(error, error_size, "no \"%s\" data set in %s: missing %s%s%s%s%s",
                       which, dir, images_found ? "" : images,
                       images_found ? "" : "[.gz]", !images_found && !labels_found ? " and " : "",
                       labels_found ? "" : labels, labels_found ? "" : "[.gz]");
        st = CLCNN_ERR_IO;
    } else {
        st = clcnn_dataset_load_idx(images, labels, out, error, error_size);
    }
    clcnn__free(images);
    clcnn__free(labels);
    return st;
}

void clcnn_dataset_destroy(clcnn_dataset *ds)
{
    if (!ds)
        return;
    clcnn__free(ds->pixels);
    clcnn__free(ds->labels);
    clcnn__free(ds);
}

size_t clcnn_dataset_count(const clcnn_dataset *ds)
{
    return ds ? ds->count : 0;
}

void clcnn_dataset_shape(const clcnn_dataset *ds, int *c, int *h, int *w)
{
    if (c)
        *c = ds ? 1 : 0;
    if (h)
        *h = ds ? ds->rows : 0;
    if (w)
        *w = ds ? ds->cols : 0;
}

int clcnn_dataset_classes(const clcnn_dataset *ds)
{
    return ds ? ds->classes : 0;
}

clcnn_status clcnn_dataset_truncate(clcnn_dataset *ds, size_t count)
{
    if (!ds || count < 1 || count > ds->count)
        return CLCNN_ERR_INVALID_ARGUMENT;
    /* The class count stays: the label space of the data set does not shrink. */
    ds->count = count;
    return CLCNN_OK;
}

/* indices (n) -> x (n, 1, rows, cols), labels (n) */
clcnn_status clcnn_dataset_batch(const clcnn_dataset *ds, const size_t *indices, size_t n,
                                 float mean, float std, float *x, float *labels)
{
    if (!ds || (n > 0 && (!indices || !x)) || !isfinite(mean) || !isfinite(std) || !(std > 0))
        return CLCNN_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (indices[i] >= ds->count)
            return CLCNN_ERR_INVALID_ARGUMENT;
    /* 256 possible pixel values: normalise each once, in double, rounded once to float. */
    float table[256];
    for (int v = 0; v < 256; v++)
        table[v] = (float)(((double)v / 255.0 - (double)mean) / (double)std);
    size_t image = (size_t)ds->rows * (size_t)ds->cols;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *src = ds->pixels + indices[i] * image;
        float *dst = x + i * image;
        for (size_t k = 0; k < image; k++)
            dst[k] = table[src[k]];
        if (labels)
            labels[i] = (float)ds->labels[indices[i]];
    }
    return CLCNN_OK;
}
