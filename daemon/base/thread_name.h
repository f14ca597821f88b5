/* thread_name.h: names the calling thread, as `top -H`, `ps -L`, perf and
 * gdb show it (Linux: at most 15 characters, longer names are cut). */
#ifndef TW_THREAD_NAME_H
#define TW_THREAD_NAME_H

#include <sys/prctl.h>

static inline void tw_thread_name(const char *name)
{
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

#endif
