/* session_span.h: the samples an open session owns, and when its stop
 * becomes final. Pure: no clock, no I/O; the engine (engine_cmds.c,
 * engine.c) passes the sample it processes next and CLOCK_MONOTONIC
 * seconds.
 *
 * A session owns the samples from its start on. session.stop sets the
 * stop sample (exclusive) at once, but the session stays open ("closing")
 * until the events that began before the stop are final: until the
 * detectors' longest decision delay (tw_session_span_hold_s) has been
 * processed past the stop, or 1.5 x that in wall time when the input
 * stalls. Which events are the session's (session.h): an LTR from its
 * onset, an EPN episode reaching into it; none that begins at or after
 * the stop. */
#ifndef TW_SESSION_SPAN_H
#define TW_SESSION_SPAN_H

#include <stdint.h>

#include "config.h"
#include "tw_dsp.h"

#define TW_STOP_MARGIN_MS 100.0 /* added to the detectors' decision delay, ms */

typedef struct {
    int64_t start;   /* the session's first sample */
    int closing;     /* a stop is pending */
    int64_t stop;    /* the stop sample (exclusive), while closing */
    int64_t at;      /* the stop is final once this sample is processed... */
    double wall;     /* ...or at this CLOCK_MONOTONIC time (stalled input) */
} tw_session_span;

/* How long after an event's start the detectors may decide it, s: an EPN
 * episode's release after its last active window, or an LTR's longest
 * burst with its hang, post window and envelope; plus TW_STOP_MARGIN_MS. */
double tw_session_span_hold_s(const tw_config *c);

/* A session opens at sample start. */
void tw_session_span_open(tw_session_span *s, int64_t start);
/* A stop at sample next (rate Hz; now: CLOCK_MONOTONIC s): closing. */
void tw_session_span_stop(tw_session_span *s, int64_t next, double rate, double hold_s,
                          double now);
/* 1 when a pending stop is final: sample next reached, or the wall time. */
int tw_session_span_due(const tw_session_span *s, int64_t next, double now);
/* Where the session ends if it ended now: the stop, or next. */
int64_t tw_session_span_end(const tw_session_span *s, int64_t next);
/* 1 when sample is before the stop (always, when not closing). */
int tw_session_span_includes(const tw_session_span *s, int64_t sample);
/* 1 when the final event e is the session's. */
int tw_session_span_owns(const tw_session_span *s, const tw_event *e);

#endif
