/* tw_clock.h: clock readings as seconds, defined once. */
#ifndef TW_CLOCK_H
#define TW_CLOCK_H

#include <time.h>

/* t as seconds (s). */
static inline double tw_ts_s(const struct timespec *t)
{
    return (double)t->tv_sec + (double)t->tv_nsec * 1e-9;
}

/* CLOCK_MONOTONIC now, seconds (s). */
static inline double tw_mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return tw_ts_s(&t);
}

#endif
