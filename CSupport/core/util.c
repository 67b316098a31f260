/* util.c: libc helpers Swift cannot see (memmem is behind _GNU_SOURCE). */
#define _GNU_SOURCE
#include <string.h>
#include <malloc.h>
#include "switchyard_c.h"

const void *sy_memmem(const void *haystack, size_t n, const void *needle, size_t m) {
    return memmem(haystack, n, needle, m);
}

void sy_malloc_trim(void) { malloc_trim(0); }
