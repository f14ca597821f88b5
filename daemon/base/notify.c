/* notify.c: see notify.h. */
#include "notify.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

/* libsystemd is loaded on first use, and only when systemd passed a
 * notification socket or a watchdog (NOTIFY_SOCKET, WATCHDOG_USEC): its
 * own libraries (gcrypt, lz4, zstd, lzma, cap) cost every other command
 * about 1 ms of start-up. Without either variable sd_notify and
 * sd_watchdog_enabled do nothing, and so do these functions. */
#define TW_SD_SONAME "libsystemd.so.0"
static struct {
    __typeof__(&sd_notify) notify;
    __typeof__(&sd_watchdog_enabled) watchdog_enabled;
} sd;
static pthread_once_t sd_once = PTHREAD_ONCE_INIT;

static void sd_load(void)
{
    if (!getenv("NOTIFY_SOCKET") && !getenv("WATCHDOG_USEC"))
        return;
    void *lib = dlopen(TW_SD_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib) {
        *(void **)&sd.notify = dlsym(lib, "sd_notify");
        *(void **)&sd.watchdog_enabled = dlsym(lib, "sd_watchdog_enabled");
    }
    if (!sd.notify || !sd.watchdog_enabled) {
        tw_log(TW_LOG_ERR, "systemd asked for notifications but %s cannot be loaded "
               "(package libsystemd0): %s: no READY=1 nor WATCHDOG=1 will be sent",
               TW_SD_SONAME, dlerror());
        sd.notify = NULL;
        sd.watchdog_enabled = NULL;
    }
}

static int sd_ok(void)
{
    pthread_once(&sd_once, sd_load);
    return sd.notify != NULL;
}

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
        if (!sd_ok() || sd.watchdog_enabled(0, &us) <= 0)
            us = 0;
        atomic_store(&g_wd_usec, us);
        v = us;
    }
    return v;
}

void tw_notify_ready(const char *status)
{
    char msg[600];
    if (!sd_ok())
        return;
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
    sd.notify(0, msg);
}

void tw_notify_status(const char *fmt, ...)
{
    char line[512], msg[600];
    if (!sd_ok())
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "STATUS=%s", line);
    sd.notify(0, msg);
}

void tw_notify_stopping(void)
{
    if (sd_ok())
        sd.notify(0, "STOPPING=1\nSTATUS=stopping");
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
    if (sd_ok())
        sd.notify(0, "WATCHDOG=1");
}
