/*
 * Host allocation for the whole library goes through these wrappers, so that
 * one place can later count or fail allocations for fault-injection tests.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

void *clcnn__malloc(size_t size)
{
    return malloc(size ? size : 1);
}

void *clcnn__calloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size ? size : 1);
}

void clcnn__free(void *p)
{
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
    return realloc(p, size ? size : 1);
}
