/*
 * Host allocation for the whole library goes through these wrappers, so that
 * the fault-injection build (CLCNN_FAULT_INJECTION, see runtime.h) can fail
 * the Nth allocation and count what is still allocated. In the shipped
 * library they are plain calls of the C allocator.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#ifdef CLCNN_FAULT_INJECTION
#define FAULT(size) clcnn__fault_fail(CLCNN__FAULT_HOST, (size))
#define TRACK(p, delta) ((p) ? clcnn__fault_track(CLCNN__FAULT_HOST, (delta)) : (void)0)
#else
#define FAULT(size) 0
#define TRACK(p, delta) ((void)0)
#endif

void *clcnn__malloc(size_t size)
{
    if (FAULT(size))
        return NULL;
    void *p = malloc(size ? size : 1);
    TRACK(p, +1);
    return p;
}

void *clcnn__calloc(size_t count, size_t size)
{
    if (FAULT(count * size))
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    TRACK(p, +1);
    return p;
}

void clcnn__free(void *p)
{
    TRACK(p, -1);
    free(p);
}

char *clcnn__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = clcnn__malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

void *clcnn__realloc(void *p, size_t size)
{
    if (FAULT(size))
        return NULL; /* p stays valid, as with a real failure */
    void *grown = realloc(p, size ? size : 1);
    if (!p)
        TRACK(grown, +1);
    return grown;
}
