/* log.h: diagnostics to stderr. Under systemd (JOURNAL_STREAM set) each
 * line starts with a <N> syslog priority; otherwise with "twitchd: ". */
#ifndef TW_LOG_H
#define TW_LOG_H

#include <stddef.h>

enum { TW_LOG_ERR = 0, TW_LOG_WARNING = 1, TW_LOG_INFO = 2, TW_LOG_DEBUG = 3 };

void tw_log_set_level(int level);
void tw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write a one-line reason into a caller's err buffer (NULL or 0: nothing). */
void tw_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
