/* metrics.c: the out-of-line part of switchyard_metrics.h. */
#include "switchyard_metrics.h"
#include <time.h>

uint64_t sy_metric_process_cpu_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
