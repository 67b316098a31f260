/* pool.c: refcounted chunks in size classes, cached per pool (one pool per loop thread). */
#include "switchyard_c.h"
#include <errno.h>
#include <stdlib.h>

static const uint32_t class_size[SY_POOL_CLASSES] = {
    4u << 10, 16u << 10, 64u << 10, 256u << 10, 1u << 20, 4u << 20, 16u << 20,
};
/* How many free chunks a class keeps. At least `keep_min` always (small classes serve many
 * connections; large ones are rare and expensive to hold). Up to `keep_max`, as many as the
 * class had in use at its peak since the last sy_pool_decay: a front with thousands of calls
 * in flight holds a read chunk per call and gets its answers back in bursts of hundreds, and
 * a static 64 sent most of a burst through malloc and free again on the next reads (two 16 KiB
 * and 4 KiB blocks per call, bench/RESULTS.md). keep_max bounds it at 16 MiB a class (the
 * 1 and 4 MiB classes at 8); decay gives the surplus back once a busy period is over. */
static const uint32_t keep_min[SY_POOL_CLASSES] = { 256, 64, 32, 8, 4, 2, 1 };
static const uint32_t keep_max[SY_POOL_CLASSES] = { 4096, 1024, 256, 64, 8, 2, 1 };

struct sy_pool {
    sy_chunk_t *free_list[SY_POOL_CLASSES];
    uint32_t free_count[SY_POOL_CLASSES];
    uint32_t in_use[SY_POOL_CLASSES]; /* chunks of the class handed out and not back */
    uint32_t peak[SY_POOL_CLASSES];   /* highest in_use since the last decay */
    size_t outstanding;
};

static inline uint32_t keep_limit(const sy_pool_t *pool, int cls) {
    uint32_t want = pool->peak[cls];
    if (want < keep_min[cls]) want = keep_min[cls];
    return want < keep_max[cls] ? want : keep_max[cls];
}

sy_pool_t *sy_pool_new(void) { return calloc(1, sizeof(sy_pool_t)); }

void sy_pool_free(sy_pool_t *pool) {
    if (!pool) return;
    for (int i = 0; i < SY_POOL_CLASSES; i++) {
        sy_chunk_t *c = pool->free_list[i];
        while (c) { sy_chunk_t *n = c->next_free; free(c); c = n; }
    }
    free(pool);
}

sy_chunk_t *sy_chunk_get(sy_pool_t *pool, size_t min_cap) {
    int cls = -1;
    for (int i = 0; i < SY_POOL_CLASSES; i++)
        if (min_cap <= class_size[i]) { cls = i; break; }
    sy_chunk_t *c;
    if (cls >= 0 && pool->free_list[cls]) {
        c = pool->free_list[cls];
        pool->free_list[cls] = c->next_free;
        pool->free_count[cls]--;
    } else {
        if (min_cap > UINT32_MAX - sizeof(sy_chunk_t)) return NULL;
        size_t cap = cls >= 0 ? class_size[cls] : min_cap;
        c = malloc(sizeof(sy_chunk_t) + cap);
        if (!c) return NULL;
        c->cap = (uint32_t)cap;
        c->size_class = cls;
        c->pool = pool;
    }
    c->refs = 1;
    c->next_free = NULL;
    pool->outstanding++;
    if (cls >= 0 && ++pool->in_use[cls] > pool->peak[cls]) pool->peak[cls] = pool->in_use[cls];
    return c;
}

void sy_chunk_release(sy_chunk_t *c) {
    sy_pool_t *pool = c->pool;
    if (!pool) { /* detached: an atomic count, any thread */
        if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) free(c);
        return;
    }
    if (--c->refs > 0) return;
    pool->outstanding--;
    int cls = c->size_class;
    if (cls >= 0) pool->in_use[cls]--;
    if (cls >= 0 && pool->free_count[cls] < keep_limit(pool, cls)) {
        c->next_free = pool->free_list[cls];
        pool->free_list[cls] = c;
        pool->free_count[cls]++;
    } else {
        free(c);
    }
}

sy_chunk_t *sy_chunk_new_detached(size_t cap) {
    if (cap > UINT32_MAX - sizeof(sy_chunk_t)) return NULL;
    sy_chunk_t *c = malloc(sizeof(sy_chunk_t) + cap);
    if (!c) return NULL;
    c->refs = 1;
    c->cap = (uint32_t)cap;
    c->size_class = -1;
    c->pool = NULL;
    c->next_free = NULL;
    return c;
}

int sy_chunk_grow_detached(sy_chunk_t **c, size_t cap) {
    sy_chunk_t *old = *c;
    if (old->pool || old->refs != 1) return -EINVAL;
    if (cap <= old->cap) return 0;
    if (cap > UINT32_MAX - sizeof(sy_chunk_t)) return -ENOMEM;
    sy_chunk_t *n = realloc(old, sizeof(sy_chunk_t) + cap);
    if (!n) return -ENOMEM;
    n->cap = (uint32_t)cap;
    *c = n;
    return 0;
}

int sy_chunk_detach(sy_chunk_t *c) {
    if (!c->pool) return 0;
    if (c->refs != 1) return -EBUSY;
    c->pool->outstanding--;
    if (c->size_class >= 0) c->pool->in_use[c->size_class]--;
    c->pool = NULL;
    c->size_class = -1;
    return 0;
}

size_t sy_pool_decay(sy_pool_t *pool) {
    size_t freed = 0;
    for (int i = 0; i < SY_POOL_CLASSES; i++) {
        uint32_t limit = keep_limit(pool, i);
        while (pool->free_count[i] > limit) {
            sy_chunk_t *c = pool->free_list[i];
            pool->free_list[i] = c->next_free;
            pool->free_count[i]--;
            freed += class_size[i];
            free(c);
        }
        pool->peak[i] = pool->in_use[i];
    }
    return freed;
}

size_t sy_pool_outstanding(const sy_pool_t *pool) { return pool->outstanding; }

size_t sy_pool_cached_bytes(const sy_pool_t *pool) {
    size_t n = 0;
    for (int i = 0; i < SY_POOL_CLASSES; i++) n += (size_t)pool->free_count[i] * class_size[i];
    return n;
}
