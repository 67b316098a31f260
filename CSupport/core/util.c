/* util.c: libc helpers Swift cannot see (memmem is behind _GNU_SOURCE). */
#define _GNU_SOURCE
#include <string.h>
#include "switchyard_c.h"

const void *sy_memmem(const void *haystack, size_t n, const void *needle, size_t m) {
    return memmem(haystack, n, needle, m);
}
