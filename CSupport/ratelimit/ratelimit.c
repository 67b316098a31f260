/* ratelimit.c: the shared GCRA bucket table of switchyard_ratelimit.h. */
#include "switchyard_ratelimit.h"
#include <errno.h>
#include <time.h>

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define CAS(p, expected, desired) \
    __atomic_compare_exchange_n((p), (expected), (desired), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

static inline sy_rl_header_t *sy__header(void *base) { return (sy_rl_header_t *)base; }
static inline sy_rl_slot_t *sy__slots(void *base) { return (sy_rl_slot_t *)((char *)base + sizeof(sy_rl_header_t)); }

int sy_rl_init(void *base, uint64_t slots, uint64_t seed) {
    if (slots < SY_RL_PROBE || (slots & (slots - 1)) != 0) return -EINVAL;
    sy_rl_header_t *h = sy__header(base);
    h->slots = slots;
    h->seed = seed;
    __atomic_store_n(&h->magic, SY_RL_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

int sy_rl_validate(const void *base, size_t size) {
    const sy_rl_header_t *h = (const sy_rl_header_t *)base;
    if (size < sizeof(sy_rl_header_t)) return -EINVAL;
    uint64_t magic = LOAD(&h->magic);
    if (magic == 0) return -EAGAIN;
    if (magic != SY_RL_MAGIC) return -EINVAL;
    uint64_t slots = h->slots;
    if (slots < SY_RL_PROBE || (slots & (slots - 1)) != 0 || sy_rl_size(slots) != size) return -EINVAL;
    return 0;
}

/* GCRA on one slot's TAT. The CAS loop retries only when another process charged the same
 * bucket in between. A TAT further ahead than a full burst cannot come from this rule (a
 * previous run with another rule, another boot's clock): it is clamped to "bucket empty". */
static int sy__charge(uint64_t *tat_p, uint64_t now, uint64_t interval, uint64_t burst, uint64_t *wait_ns) {
    uint64_t window = interval * burst;
    uint64_t tat = LOAD(tat_p);
    for (;;) {
        uint64_t t = tat < now ? now : tat;
        if (t - now > window) t = now + window;
        uint64_t next = t + interval;
        if (next - now > window) {
            if (wait_ns) *wait_ns = next - window - now;
            return 0;
        }
        if (CAS(tat_p, &tat, next)) return 1;
    }
}

int sy_rl_take(void *base, uint64_t key, uint64_t now_ns, uint64_t interval_ns, uint64_t burst, uint64_t *wait_ns) {
    sy_rl_header_t *h = sy__header(base);
    sy_rl_slot_t *slots = sy__slots(base);
    uint64_t mask = h->slots - 1;
    if (key == 0) key = 1;
    if (burst == 0) burst = 1;
    if (interval_ns == 0) interval_ns = 1;
    uint64_t start = key & mask;
    for (uint32_t attempt = 0; attempt < 4; attempt++) {
        sy_rl_slot_t *claimable = NULL;
        uint64_t claimable_key = 0;
        for (uint32_t i = 0; i < SY_RL_PROBE; i++) {
            sy_rl_slot_t *s = &slots[(start + i) & mask];
            uint64_t k = LOAD(&s->key);
            if (k == key) return sy__charge(&s->tat, now_ns, interval_ns, burst, wait_ns);
            if (k == 0) {
                /* Keys are never cleared: the key is not further on. */
                if (!claimable) { claimable = s; claimable_key = 0; }
                break;
            }
            if (!claimable && LOAD_RELAXED(&s->tat) <= now_ns) { claimable = s; claimable_key = k; }
        }
        if (!claimable) {
            __atomic_fetch_add(&h->full, 1, __ATOMIC_RELAXED);
            return 1;
        }
        uint64_t expected = claimable_key;
        if (CAS(&claimable->key, &expected, key)) {
            /* A stale slot's TAT is <= now: a full bucket, nothing to reset. Another process may
             * still charge the old key here between our staleness check and the CAS; the new
             * key then starts one token short. */
            if (claimable_key != 0) __atomic_fetch_add(&h->reclaimed, 1, __ATOMIC_RELAXED);
            return sy__charge(&claimable->tat, now_ns, interval_ns, burst, wait_ns);
        }
        /* Someone else took the slot first: with our key (then it is ours to charge) or another. */
        if (expected == key) return sy__charge(&claimable->tat, now_ns, interval_ns, burst, wait_ns);
    }
    /* Lost the race four times in a row: degrade like a full table rather than spin. */
    __atomic_fetch_add(&h->full, 1, __ATOMIC_RELAXED);
    return 1;
}

uint64_t sy_rl_full_count(const void *base) { return LOAD_RELAXED(&((const sy_rl_header_t *)base)->full); }
uint64_t sy_rl_reclaimed_count(const void *base) { return LOAD_RELAXED(&((const sy_rl_header_t *)base)->reclaimed); }
uint64_t sy_rl_seed(const void *base) { return ((const sy_rl_header_t *)base)->seed; }

uint64_t sy_rl_live(const void *base, uint64_t now_ns) {
    const sy_rl_header_t *h = (const sy_rl_header_t *)base;
    const sy_rl_slot_t *slots = (const sy_rl_slot_t *)((const char *)base + sizeof(sy_rl_header_t));
    uint64_t n = 0;
    for (uint64_t i = 0; i < h->slots; i++) {
        if (LOAD_RELAXED(&slots[i].key) != 0 && LOAD_RELAXED(&slots[i].tat) > now_ns) n++;
    }
    return n;
}

uint64_t sy_rl_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
