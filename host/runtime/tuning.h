/*
 * The per-device tuning file: for each op and layer shape, the algorithm and
 * tile variant that `clcnn tune` measured fastest on this device. A context
 * reads it lazily, once, on the first lookup; without one (or for a shape it
 * does not list) the ops keep their tested defaults.
 *
 * Location: $CLCNN_TUNING_FILE when set (empty: no tuning file at all), else
 * <cache dir>/tuning-<hash>.txt in the context's cache folder, the hash
 * covering the platform name, device name, device version and driver
 * version, so that a new driver starts untuned instead of trusting old
 * measurements.
 *
 * Format (text, one entry per line, '#' starts a comment line):
 *   clcnn-tuning 2                               first non-comment line
 *   OP KEY ALGO VARIANT [MS [NOTE...]]
 * OP is a name such as "conv2d.fwd"; KEY the op's shape key (no white space);
 * ALGO and VARIANT small non-negative integers as the op defines them; MS the
 * measured milliseconds; NOTE free text (the variant's name). A line that
 * does not parse is skipped; for an (OP, KEY) listed twice the last line wins.
 * The ALGO and VARIANT read from a file are only range-checked here (0..1000):
 * the op must still check them against what it has before using them.
 */
#ifndef CLCNN_TUNING_H
#define CLCNN_TUNING_H

#include "runtime.h"

/* The first line every tuning file must carry. Its number goes up whenever
 * the variant tables of an op lose or reorder entries, so that files written
 * against the old numbering are ignored whole (2: conv2d's plane
 * backward-filter variants gave way to the flat ones). */
#define CLCNN__TUNING_MAGIC "clcnn-tuning 2"

/*
 * The choice for (op, key) from ctx's tuning file into *algo and *variant.
 * Returns 1 when the file has an entry, 0 otherwise (no file, a file that
 * could not be read, no such entry). Never records an error on ctx: a
 * missing or damaged tuning file only means defaults.
 */
int clcnn__tuning_lookup(clcnn_context *ctx, const char *op, const char *key, int *algo,
                         int *variant);

/*
 * The tuning file's path for ctx into buf: $CLCNN_TUNING_FILE, else the
 * per-device name in ctx's cache folder. CLCNN_ERR_UNSUPPORTED (with a
 * message) when there is none: CLCNN_TUNING_FILE is empty, or it is unset and
 * the context has no cache folder. CLCNN_ERR_INVALID_ARGUMENT when buf is too
 * small.
 */
clcnn_status clcnn__tuning_path(clcnn_context *ctx, char *buf, size_t size);

/*
 * Replaces ctx's tuning table with the entries of the file at path (NULL:
 * clcnn__tuning_path). Malformed lines are skipped, a file without the magic
 * line or larger than 4 MiB yields an empty table. Returns CLCNN_ERR_IO when
 * the file cannot be read (the table is then empty), CLCNN_OK otherwise.
 */
clcnn_status clcnn__tuning_load(clcnn_context *ctx, const char *path);

/* The same from text[0..size) (which may hold any bytes); the tests and
 * fuzzers drive the parser through this. */
clcnn_status clcnn__tuning_load_text(clcnn_context *ctx, const char *text, size_t size);

/* Number of distinct (op, key) entries in ctx's table (loading it first). */
size_t clcnn__tuning_count(clcnn_context *ctx);

/*
 * Adds or replaces the entry for (op, key) in ctx's table (loaded first, so
 * that saving keeps the entries of other shapes). op and key must be
 * non-empty printable text without white space (op at most 63 characters,
 * key at most 255), algo and variant in [0, 1000], ms >= 0 (0: unknown).
 * note (may be NULL) is kept for the file's readers, one line of printable
 * text. CLCNN_ERR_INVALID_ARGUMENT otherwise.
 */
clcnn_status clcnn__tuning_set(clcnn_context *ctx, const char *op, const char *key, int algo,
                               int variant, double ms, const char *note);

/*
 * Writes ctx's table to path (NULL: clcnn__tuning_path), creating its folder,
 * atomically: a temporary file in the same folder, flushed with fsync, then
 * renamed over path, so a reader never sees a half-written file.
 * CLCNN_ERR_IO with the reason on failure.
 */
clcnn_status clcnn__tuning_save(clcnn_context *ctx, const char *path);

/* Frees ctx's table; the next lookup reads the file again. */
void clcnn__tuning_release(clcnn_context *ctx);

#endif /* CLCNN_TUNING_H */
