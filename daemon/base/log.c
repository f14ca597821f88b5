/* log.c: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int g_level = TW_LOG_INFO; /* set once at start-up, before threads */

void tw_log_set_level(int level) { g_level = level; }

void tw_log(int level, const char *fmt, ...)
{
    static const int prio[] = {3, 4, 6, 7}; /* syslog: err, warning, info, debug */
    static const char *name[] = {"error: ", "warning: ", "", "debug: "};
    if (level > g_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (getenv("JOURNAL_STREAM"))
        fprintf(stderr, "<%d>%s\n", prio[level], line);
    else
        fprintf(stderr, "twitchd: %s%s\n", name[level], line);
}

void tw_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
