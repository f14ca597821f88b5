/* deadline.h: an absolute time timeout_ms from now on a clock, for
 * pthread_cond_timedwait (whose condition variable must use that clock). */
#ifndef TW_DEADLINE_H
#define TW_DEADLINE_H

#include <time.h>

static inline struct timespec tw_deadline(clockid_t clk, int timeout_ms)
{
    struct timespec t;
    clock_gettime(clk, &t);
    t.tv_sec += timeout_ms / 1000;
    t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

#endif
