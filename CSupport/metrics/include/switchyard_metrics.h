/*
 * switchyard_metrics.h: the atomics behind Sources/Metrics, on 64-bit slots in memory shared
 * between processes (a MAP_SHARED file mapping under <run-dir>/metrics/).
 *
 * Writers use relaxed operations: a counter needs no ordering with anything else, and on
 * x86-64 a relaxed add is one `lock xadd`, a relaxed store one plain `mov`. Publication of
 * a region's header and of a dynamic label name uses release/acquire.
 * Pointers must be 8-byte aligned. Nothing here allocates, locks or fails.
 */
#ifndef SWITCHYARD_METRICS_H
#define SWITCHYARD_METRICS_H

#include <stdint.h>

static inline uint64_t sy_metric_load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void sy_metric_add(uint64_t *p, uint64_t v) { (void)__atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline void sy_metric_store(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline uint64_t sy_metric_load_acquire(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void sy_metric_store_release(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/* Orders the relaxed loads before it with the loads after it (seqlock readers). */
static inline void sy_metric_fence_acquire(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }

/* Current CPU time of the calling process in nanoseconds (CLOCK_PROCESS_CPUTIME_ID). */
uint64_t sy_metric_process_cpu_ns(void);

#endif
