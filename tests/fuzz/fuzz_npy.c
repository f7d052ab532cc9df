/*
 * .npy arrays: clcnn__npy_parse on any bytes. A failure must say why and
 * leave nothing allocated; a success must hold exactly the elements its
 * shape names, which exactly fill the file after the header.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clcnn__npy a;
    char msg[512] = "";
    clcnn_status st = clcnn__npy_parse(data, size, &a, msg, sizeof msg);
    fuzz_report("npy", st, st == CLCNN_OK ? "" : msg);
    if (st != CLCNN_OK) {
        if (a.data || !msg[0])
            abort();
        return 0;
    }
    size_t count = 1;
    for (int i = 0; i < a.rank; i++)
        count *= (size_t)a.dims[i];
    if (a.rank < 0 || a.rank > CLCNN__NPY_MAX_RANK || count != a.count || !a.data ||
        a.count * 4 > size)
        abort();
    volatile float sum = 0;
    for (size_t i = 0; i < a.count; i++)
        sum += a.data[i];
    (void)sum;
    clcnn__npy_free(&a);
    return 0;
}
