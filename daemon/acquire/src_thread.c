/* src_thread.c: see src_thread.h. */
#include "src_thread.h"
#include "thread_name.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void add_ns(struct timespec *t, long long ns)
{
    ns += t->tv_nsec;
    t->tv_sec += ns / 1000000000LL;
    t->tv_nsec = ns % 1000000000LL;
}

static void *run(void *arg)
{
    tw_thread_name("tw-source");
    tw_src_thread *t = arg;
    unsigned n = t->base.frames_per_block;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    double carry_ns = 0.0; /* fractional ns of the block period */
    while (!atomic_load(&t->stop)) {
        long got = t->fill(t, t->buf, n);
        if (got < 0) {
            atomic_store(&t->state, TW_SRC_FAILED);
            return NULL;
        }
        if (got > 0) {
            if (t->realtime) {
                double ns = got * 1e9 / t->base.rate + carry_ns;
                long long whole = (long long)ns;
                carry_ns = ns - (double)whole;
                add_ns(&deadline, whole);
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR)
                    if (atomic_load(&t->stop))
                        return NULL;
                tw_ring_write(t->ring, t->buf, (unsigned)got, 0, 0, 0.0);
            } else {
                /* fast: wait for room rather than drop (only this thread
                 * writes, so room seen stays room) */
                while (tw_ring_get_fill(t->ring) >= tw_ring_get_slots(t->ring)) {
                    struct timespec ms = {0, 500000};
                    nanosleep(&ms, NULL);
                    if (atomic_load(&t->stop))
                        return NULL;
                }
                tw_ring_write(t->ring, t->buf, (unsigned)got, 0, 0, 0.0);
            }
        }
        if ((unsigned long)got < n) {
            atomic_store(&t->state, TW_SRC_ENDED);
            return NULL;
        }
    }
    return NULL;
}

int tw_src_thread_init(tw_src_thread *t, tw_src_fill_fn fill, int realtime)
{
    t->fill = fill;
    t->realtime = realtime;
    t->buf = malloc((size_t)t->base.frames_per_block * (size_t)t->base.channels *
                    sizeof *t->buf);
    atomic_init(&t->stop, 0);
    atomic_init(&t->state, TW_SRC_RUNNING);
    return t->buf ? 0 : -1;
}

void tw_src_thread_fini(tw_src_thread *t)
{
    free(t->buf);
    t->buf = NULL;
}

int tw_src_thread_start(tw_source *s, tw_ring *r, char *err, size_t errlen)
{
    tw_src_thread *t = (tw_src_thread *)s;
    t->ring = r;
    atomic_store(&t->stop, 0);
    atomic_store(&t->state, TW_SRC_RUNNING);
    int rc = pthread_create(&t->th, NULL, run, t);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the source thread: %s", strerror(rc));
        return -1;
    }
    t->started = 1;
    return 0;
}

void tw_src_thread_stop(tw_source *s)
{
    tw_src_thread *t = (tw_src_thread *)s;
    if (!t->started)
        return;
    atomic_store(&t->stop, 1);
    pthread_join(t->th, NULL);
    t->started = 0;
}

tw_source_state tw_src_thread_state(tw_source *s, char *err, size_t errlen)
{
    tw_src_thread *t = (tw_src_thread *)s;
    tw_source_state st = (tw_source_state)atomic_load(&t->state);
    if (st == TW_SRC_FAILED)
        snprintf(err, errlen, "%s", t->why);
    return st;
}
