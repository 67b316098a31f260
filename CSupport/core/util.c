/* util.c: libc helpers Swift cannot see (memmem is behind _GNU_SOURCE). */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <malloc.h>
#include "switchyard_c.h"

const void *sy_memmem(const void *haystack, size_t n, const void *needle, size_t m) {
    return memmem(haystack, n, needle, m);
}

void sy_malloc_trim(void) { malloc_trim(0); }

void sy_malloc_tune(size_t mmap_threshold, size_t trim_threshold, int max_arenas) {
    mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold);
    mallopt(M_TRIM_THRESHOLD, (int)trim_threshold);
    mallopt(M_ARENA_MAX, max_arenas);
}

size_t sy_json_plain_run(const uint8_t *p, size_t n) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        /* A zero byte in q or b, a byte below 0x20, or a high bit: exact existence tests. */
        uint64_t special = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x;
        if (special & highs) break;
    }
    while (i < n) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        i++;
    }
    return i;
}
