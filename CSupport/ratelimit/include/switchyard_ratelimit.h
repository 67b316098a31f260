/*
 * switchyard_ratelimit.h: token buckets in memory shared by every front of a server (a
 * MAP_SHARED mapping of <run-dir>/ratelimits), lock-free across processes.
 *
 * Each bucket is GCRA (the generic cell rate algorithm, equivalent to a token bucket of
 * `burst` tokens refilled one per `interval_ns`): a single 64-bit "theoretical arrival time"
 * (TAT, CLOCK_MONOTONIC nanoseconds, which every process of the machine shares) updated with
 * one compare-and-swap. A bucket whose TAT is not after `now` is full, which is exactly the
 * state of a bucket that does not exist: such a slot is *stale* and may be taken by another
 * key without losing anything.
 *
 * Table: `slots` entries of {key, tat}, open addressing with a probe window of
 * SY_RL_PROBE slots. A key is only ever placed in the first free-or-stale slot of its
 * window, and keys are never cleared to 0, so a lookup stops at the first empty slot.
 * When the whole window is held by other keys' live buckets the check *allows* and counts
 * it in the header (`full`): a full table degrades to no limit, it never blocks.
 *
 * Races, all bounded and written down where they happen in ratelimit.c:
 *   - two processes inserting the same new key at once: the loser of the key CAS sees the
 *     winner's key and uses that slot;
 *   - a slot reclaimed while another process charges its old key: the new key inherits at
 *     most that one token (errs towards limiting).
 *
 * Conventions: functions return 0 or a negative errno and never print; nothing allocates.
 */
#ifndef SWITCHYARD_RATELIMIT_H
#define SWITCHYARD_RATELIMIT_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SY_RL_MAGIC 0x314c5452594d5953ull   /* "SYMRTL1" little-endian, + version digit */
#define SY_RL_PROBE 16u                     /* slots searched per key */
#define SY_RL_DEFAULT_SLOTS 65536u          /* 1 MiB of buckets */

/* The file's first 64 bytes. `magic` is stored last (release) by the creator. */
typedef struct sy_rl_header {
    uint64_t magic;
    uint64_t slots;          /* a power of two */
    uint64_t seed;           /* mixed into every key hash, random per file */
    uint64_t full;           /* checks allowed because the key's window was full */
    uint64_t reclaimed;      /* stale slots taken over by another key */
    uint64_t _reserved[3];
} sy_rl_header_t;

typedef struct sy_rl_slot {
    uint64_t key;            /* 0 = never used */
    uint64_t tat;            /* theoretical arrival time, CLOCK_MONOTONIC ns */
} sy_rl_slot_t;

/* Bytes of a table of `slots` slots (header included). */
static inline size_t sy_rl_size(uint64_t slots) { return sizeof(sy_rl_header_t) + slots * sizeof(sy_rl_slot_t); }

/* Initialises a zeroed mapping of sy_rl_size(slots) bytes: slots (a power of two), seed,
 * then the magic with release order. Call once, by the process that created the file. */
int sy_rl_init(void *base, uint64_t slots, uint64_t seed);

/* Checks a mapping made by someone else: 0 when its magic is published and its slot count
 * matches `size`; -EAGAIN while the creator has not finished; -EINVAL otherwise. */
int sy_rl_validate(const void *base, size_t size);

/* One request for `key` (nonzero; 0 is mapped to 1) at `now_ns` against a bucket of
 * `burst` tokens refilled every `interval_ns`. Returns 1 when allowed, 0 when limited; when
 * limited, *wait_ns is how long until one token is back. Thread: any thread of any process. */
int sy_rl_take(void *base, uint64_t key, uint64_t now_ns, uint64_t interval_ns, uint64_t burst, uint64_t *wait_ns);

/* The header's counters (relaxed loads). */
uint64_t sy_rl_full_count(const void *base);
uint64_t sy_rl_reclaimed_count(const void *base);
uint64_t sy_rl_seed(const void *base);

/* Slots holding a live (not yet refilled) bucket at `now_ns`; a scan, for tests and status. */
uint64_t sy_rl_live(const void *base, uint64_t now_ns);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t sy_rl_now(void);

#ifdef __cplusplus
}
#endif
#endif
