/* src_thread.h: what the file and synth sources share: a producer thread
 * that fills one block at a time and writes it into the ring, either paced
 * at real time (absolute CLOCK_MONOTONIC deadlines: no drift) or as fast
 * as the consumer takes them (waiting while the ring is full: nothing is
 * dropped in fast mode, it is for tests and reprocessing).
 */
#ifndef TW_SRC_THREAD_H
#define TW_SRC_THREAD_H

#include <pthread.h>
#include <stdatomic.h>

#include "source.h"

typedef struct tw_src_thread tw_src_thread;

/* Fill buf (frames x channels, interleaved, digital full-scale units).
 * Returns frames filled (< frames only at the end), 0 at the end, or -1
 * on error (with a reason in t->why). Runs in the source's thread. */
typedef long (*tw_src_fill_fn)(tw_src_thread *t, float *buf, unsigned frames);

struct tw_src_thread {
    tw_source base;            /* must be first */
    tw_src_fill_fn fill;
    int realtime;
    float *buf;
    tw_ring *ring;
    pthread_t th;
    int started;
    atomic_int stop;
    atomic_int state;          /* tw_source_state */
    char why[256];             /* the fill's reason for TW_SRC_FAILED, one line:
                                  written by the thread before it stores
                                  the state, read by state() after */
};

/* Set up the buffer (base.rate, channels, frames_per_block must be set;
 * base.ops is the caller's, built from the three functions below and its
 * own destroy). 0 or -1. */
int tw_src_thread_init(tw_src_thread *t, tw_src_fill_fn fill, int realtime);
/* Free the buffer (after stop). */
void tw_src_thread_fini(tw_src_thread *t);

int tw_src_thread_start(tw_source *s, tw_ring *r, char *err, size_t errlen);
void tw_src_thread_stop(tw_source *s); /* joins; idempotent */
tw_source_state tw_src_thread_state(tw_source *s, char *err, size_t errlen);

#endif
