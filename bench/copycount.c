/* copycount.c: an LD_PRELOAD library that counts the bytes a process copies with memcpy and
 * memmove, and the bytes it asks of malloc/realloc/calloc in blocks of at least 64 KiB, and
 * writes the totals when the process exits: what bench/payload-copies.sh divides by the calls.
 * Only calls through the dynamic linker are seen (the program's and its libraries' calls into
 * libc); copies inside libc itself (realloc moving a block) and the kernel's are not.
 *
 *   cc -O2 -shared -fPIC -o copycount.so bench/copycount.c -ldl
 *   COPYCOUNT_OUT=$TMPDIR/x.txt LD_PRELOAD=./copycount.so PROGRAM ...
 *
 * Output (appended to $COPYCOUNT_OUT, else stderr), one line:
 *   pid=P memcpy_bytes=N memcpy_calls=N memcpy_large_bytes=N memmove_bytes=N big_alloc_bytes=N big_allocs=N
 * `large`: copies of at least 64 KiB, the ones a large payload makes. Counters are atomic
 * (executors copy on several threads). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LARGE (64u << 10)

static _Atomic uint64_t memcpy_bytes, memcpy_calls, memcpy_large, memmove_bytes, alloc_bytes, allocs;

static void *(*real_memcpy)(void *, const void *, size_t);
static void *(*real_memmove)(void *, const void *, size_t);
static void *(*real_malloc)(size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_calloc)(size_t, size_t);

/* dlsym may allocate (calloc) before real_malloc is known: serve that from a static arena. */
static char boot[4096];
static size_t boot_used;

static void *boot_alloc(size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot) return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p;
}

static int resolving;

static void resolve(void) {
    if (real_malloc || resolving) return;
    resolving = 1;
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_memcpy = dlsym(RTLD_NEXT, "memcpy");
    real_memmove = dlsym(RTLD_NEXT, "memmove");
    resolving = 0;
}

static void byte_copy(void *d, const void *s, size_t n) {
    unsigned char *dd = d;
    const unsigned char *ss = s;
    if (dd < ss) { for (size_t i = 0; i < n; i++) dd[i] = ss[i]; }
    else { for (size_t i = n; i > 0; i--) dd[i - 1] = ss[i - 1]; }
}

void *memcpy(void *d, const void *s, size_t n) {
    if (!real_memcpy) { byte_copy(d, s, n); return d; }
    atomic_fetch_add_explicit(&memcpy_bytes, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&memcpy_calls, 1, memory_order_relaxed);
    if (n >= LARGE) atomic_fetch_add_explicit(&memcpy_large, n, memory_order_relaxed);
    return real_memcpy(d, s, n);
}

void *memmove(void *d, const void *s, size_t n) {
    if (!real_memmove) { byte_copy(d, s, n); return d; }
    atomic_fetch_add_explicit(&memmove_bytes, n, memory_order_relaxed);
    if (n >= LARGE) atomic_fetch_add_explicit(&memcpy_large, n, memory_order_relaxed);
    return real_memmove(d, s, n);
}

static void count_alloc(size_t n) {
    if (n < LARGE) return;
    atomic_fetch_add_explicit(&alloc_bytes, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
}

void *malloc(size_t n) {
    if (!real_malloc) { resolve(); if (!real_malloc) return boot_alloc(n); }
    count_alloc(n);
    return real_malloc(n);
}

void *calloc(size_t a, size_t b) {
    size_t n = a * b;
    if (b && n / b != a) return NULL;
    /* dlsym calls calloc before the real one is known: static memory, already zeroed. (Not
     * malloc + memset here: the compiler turns that back into a call to calloc.) */
    if (!real_calloc) resolve();
    if (!real_calloc) return boot_alloc(n);
    count_alloc(n);
    return real_calloc(a, b);
}

void *realloc(void *p, size_t n) {
    if (!real_realloc) resolve();
    if ((char *)p >= boot && (char *)p < boot + sizeof boot) {
        void *q = malloc(n);
        if (q) byte_copy(q, p, n < sizeof boot ? n : sizeof boot);
        return q;
    }
    count_alloc(n);
    return real_realloc(p, n);
}

void free(void *p) {
    static void (*real_free)(void *);
    if ((char *)p >= boot && (char *)p < boot + sizeof boot) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}

/* The process ends (exit or a return from main): write the totals. */
__attribute__((destructor)) static void report(void) {
    char line[320];
    int n = snprintf(line, sizeof line,
                     "pid=%d memcpy_bytes=%llu memcpy_calls=%llu memcpy_large_bytes=%llu memmove_bytes=%llu "
                     "big_alloc_bytes=%llu big_allocs=%llu\n",
                     (int)getpid(), (unsigned long long)memcpy_bytes, (unsigned long long)memcpy_calls,
                     (unsigned long long)memcpy_large, (unsigned long long)memmove_bytes,
                     (unsigned long long)alloc_bytes, (unsigned long long)allocs);
    const char *path = getenv("COPYCOUNT_OUT");
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0600) : 2;
    if (fd < 0) return;
    if (n > 0) (void)!write(fd, line, (size_t)n);
    if (fd != 2) close(fd);
}
