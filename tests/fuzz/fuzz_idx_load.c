/* Loads an IDX image and label file pair from memory and uses the set (see fuzz_idx.h). */
#include <stdio.h>
#include <stdlib.h>

#include "clcnn.h"
#include "fuzz.h"
#include "fuzz_idx.h"

void fuzz_idx_load(const uint8_t *images, size_t images_size, const uint8_t *labels,
                   size_t labels_size)
{
    fuzz_file fi, fl;
    fuzz_file_open(&fi, images, images_size);
    fuzz_file_open(&fl, labels, labels_size);
    char err[512];
    clcnn_dataset *ds = NULL;
    clcnn_status st = clcnn_dataset_load_idx(fi.path, fl.path, &ds, err, sizeof err);
    fuzz_file_close(&fi);
    fuzz_file_close(&fl);
    fuzz_report("idx", st, st == CLCNN_OK ? "" : err);
    if (st != CLCNN_OK) {
        if (ds || !err[0])
            abort(); /* a failure leaves no set and always says why */
        return;
    }
    size_t n = clcnn_dataset_count(ds);
    int c, h, w;
    clcnn_dataset_shape(ds, &c, &h, &w);
    int classes = clcnn_dataset_classes(ds);
    if (n < 1 || c != 1 || h < 1 || w < 1 || classes < 1 || classes > 256)
        abort();
    size_t pick[2] = {0, n - 1};
    size_t image = (size_t)h * (size_t)w;
    float *x = malloc(2 * image * sizeof *x), labels_out[2];
    if (!x)
        abort();
    if (clcnn_dataset_batch(ds, pick, 2, 0.1307f, 0.3081f, x, labels_out) != CLCNN_OK)
        abort();
    for (int i = 0; i < 2; i++)
        if (!(labels_out[i] >= 0 && labels_out[i] < (float)classes))
            abort();
    free(x);
    clcnn_dataset_destroy(ds);
}
