/* notify.c: see notify.h. */
#include "notify.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static _Atomic uint64_t g_wd_usec = UINT64_MAX; /* UINT64_MAX: not asked yet */
static _Atomic uint64_t g_wd_last;              /* CLOCK_MONOTONIC us of the last ping */

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* The watchdog period systemd asked for, in microseconds (0: none). */
static uint64_t watchdog_usec(void)
{
    uint64_t v = atomic_load(&g_wd_usec);
    if (v == UINT64_MAX) {
        uint64_t us = 0;
        if (sd_watchdog_enabled(0, &us) <= 0)
            us = 0;
        atomic_store(&g_wd_usec, us);
        v = us;
    }
    return v;
}

void tw_notify_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void tw_notify_status(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", line);
}

void tw_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void tw_notify_watchdog(void)
{
    uint64_t period = watchdog_usec();
    if (period == 0)
        return;
    uint64_t t = now_us();
    if (t - atomic_load(&g_wd_last) < period / 2)
        return;
    atomic_store(&g_wd_last, t);
    sd_notify(0, "WATCHDOG=1");
}
