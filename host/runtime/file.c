/*
 * Saving files so that a crash, a kill or a full disk never leaves a
 * half-written one where a good one stood: a temporary file in the same
 * folder, flushed to disk, then renamed over the target. Model files,
 * checkpoints and tuning files all go through here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

/* Writes all of data to fd; 0 with errno set on failure. */
static int write_all(int fd, const unsigned char *data, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t k = write(fd, data + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return 0;
        }
        done += (size_t)k;
    }
    return 1;
}

/* A path that exists but is not a regular file (a pipe, /dev/stdout) is
 * written directly: there is no file to replace atomically. */
static clcnn_status write_device(clcnn_context *ctx, const char *path,
                                 const unsigned char *data, size_t len)
{
    int fd = open(path, O_WRONLY);
    int ok = fd >= 0 && write_all(fd, data, len);
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    return ok ? CLCNN_OK
              : clcnn__fail(ctx, CLCNN_ERR_IO, "writing %s failed: %s", path, strerror(saved));
}

/*
 * Removes "<path>.tmp-XXXXXX" files (mkstemp's pattern below) older than a
 * minute: what a process killed while saving path leaves behind. Younger
 * ones may belong to a save in progress in another process. Best effort:
 * failures change nothing.
 */
static void remove_stale_temporaries(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dir_len = slash ? (size_t)(slash - path) : 0, base_len = strlen(base);
    char dir[4096], entry_path[8192];
    if (dir_len >= sizeof dir || base_len == 0)
        return;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)dir_len, path);
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp-", 5) != 0 ||
            strlen(name + base_len + 5) != 6)
            continue;
        struct stat st;
        snprintf(entry_path, sizeof entry_path, "%s/%s", dir, name);
        if (lstat(entry_path, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > 60)
            unlink(entry_path);
    }
    closedir(d);
}

clcnn_status clcnn__write_file_atomically(clcnn_context *ctx, const char *path,
                                          const unsigned char *data, size_t len)
{
    struct stat existing;
    if (stat(path, &existing) == 0 && !S_ISREG(existing.st_mode))
        return write_device(ctx, path, data, len);
    remove_stale_temporaries(path);
    size_t n = strlen(path) + 16;
    char *tmp = clcnn__malloc(n);
    if (!tmp)
        return clcnn__fail(ctx, CLCNN_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        clcnn_status st = clcnn__fail(ctx, CLCNN_ERR_IO, "cannot create a file next to %s: %s",
                                      path, strerror(errno));
        clcnn__free(tmp);
        return st;
    }
    const char *step = "write";
    int ok = write_all(fd, data, len);
    if (ok) {
        step = "fsync";
        ok = fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    }
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
        step = "close";
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        saved = errno;
        step = "rename";
    }
    if (!ok) {
        unlink(tmp);
        clcnn__free(tmp);
        return clcnn__fail(ctx, CLCNN_ERR_IO, "saving %s failed at %s: %s (the previous file, "
                           "if any, is unchanged)", path, step, strerror(saved ? saved : EIO));
    }
    clcnn__free(tmp);
    /* make the rename itself durable */
    char *dir = clcnn__strdup(path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[slash == dir ? 1 : 0] = '\0';
        int dfd = open(slash ? dir : ".", O_RDONLY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        clcnn__free(dir);
    }
    return CLCNN_OK;
}
