/* engine.h: the DSP thread, the daemon's engine. It owns the pipeline
 * (dsp objects), the wire state (sequence numbers, clock anchor) and the
 * statistics. It reads blocks from the ring, turns losses into gaps, runs
 * the detectors, and hands what it produces to its sinks (sink.h): the
 * wire sink (out.h: events, gaps and records to the journal queue,
 * journaled then published; onset notices, the display stream and the
 * heartbeat straight to the publish queue), the recording sink
 * (sink_record.h), and those the owner adds.
 */
#ifndef TW_ENGINE_H
#define TW_ENGINE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "mq.h"
#include "ring.h"
#include "sink.h"

typedef struct tw_engine tw_engine;

/* Extra status the heartbeat reports, filled by the owner (main thread)
 * on request: journal state, publisher counters, source description. */
typedef void (*tw_status_fn)(void *user, json_t *sts);

/* extra[0 .. n_extra): consumers fed besides the built-in ones (the wire
 * sink: journal and publisher; the recording sink), in that order after
 * them (sink.h; copied, their ctx must outlive the thread). */
tw_engine *tw_engine_start(const tw_config *c, tw_ring *ring,
                                   double rate, int channels, tw_mq *journal_q,
                                   tw_mq *publish_q, tw_status_fn status,
                                   void *status_user, const tw_sink *extra, int n_extra,
                                   char *err, size_t errlen);

/* Ask it to finish: it drains the ring, then exits. Joins. */
void tw_engine_stop(tw_engine *d);

/* A gap the owner knows of (device restart: frames missed while the device
 * was down). Thread-safe; taken at the next block. */
void tw_engine_note_restart(tw_engine *d);

/* Run a control request (borrowed; checked by control.c) in the DSP
 * thread, between two blocks, so that a mark lands on the sample being
 * processed. Returns the reply (new reference), or NULL when the DSP
 * thread did not take it within timeout_ms (stalled). One caller at a
 * time (the control thread). */
json_t *tw_engine_call(tw_engine *d, const json_t *req, int timeout_ms);

/* 1 once input.duration_s of input has been processed (any thread). */
int tw_engine_is_done(const tw_engine *d);

/* Counters (any thread). */
uint64_t tw_engine_get_events(const tw_engine *d);
int64_t tw_engine_get_samples(const tw_engine *d);
/* CLOCK_MONOTONIC seconds of the last block processed (0: none yet):
 * the owner's liveness check. */
double tw_engine_get_last_block(const tw_engine *d);

#endif
