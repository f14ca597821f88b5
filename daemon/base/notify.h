/* notify.h: systemd readiness, status and watchdog (sd_notify from
 * libsystemd). Without NOTIFY_SOCKET every call does nothing. Thread-safe
 * (sd_notify opens a datagram socket per call). */
#ifndef TW_NOTIFY_H
#define TW_NOTIFY_H

#include <stdint.h>

/* READY=1 with a status line. */
void tw_notify_ready(const char *status);
/* STATUS= one line. */
void tw_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* STOPPING=1. */
void tw_notify_stopping(void);
/* WATCHDOG=1, at most once per half the watchdog period; call it from the
 * loop whose progress it vouches for. */
void tw_notify_watchdog(void);
#endif
