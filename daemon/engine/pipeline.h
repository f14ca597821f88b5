/* pipeline.h: the detection pipeline for all channels of one stream: a
 * tw_channel per channel plus insertion-train bookkeeping. Shared by
 * replay and the live daemon so that both find the same events.
 *
 * Events of one block are delivered to the callback sorted by offset
 * sample (onset for notices), then channel. Not thread-safe: one thread
 * owns it.
 *
 * Candidate ids: every onset notice gets an id (e->id: 1, 2, 3 ... in
 * the order notices are delivered, unique over the pipeline's life and
 * over those it is carried over to, tw_pipeline_carry_over), and the
 * final event or the cancellation that resolves it carries the same; a
 * final event without a notice gets a new id. Each notice is resolved
 * exactly once: by its final event (the event callback), or by a
 * cancellation (the cancel callback, when set): a rejection by the
 * detectors, TW_REJ_RESTART at tw_pipeline_restart_at, TW_REJ_STOPPED
 * for one the flush left open (none does). Rejections are never given
 * to the event callback. */
#ifndef TW_PIPELINE_H
#define TW_PIPELINE_H

#include <stddef.h>

#include "config.h"
#include "trains.h"
#include "tw_dsp.h"

typedef void (*tw_event_cb)(void *user, const tw_event *e, int ch,
                            const tw_train_info *tr);

/* A notice resolved without a final event. */
typedef struct {
    int ch;
    tw_event_type type;
    uint64_t id;          /* the notice's id */
    int64_t onset;        /* the notice's onset_sample */
    int64_t emitted;      /* input sample being processed when it was decided */
    tw_reject reason;
    const tw_event *e;    /* what it was judged on (features, the span
                             measured; e->reject == reason), or NULL
                             when it was not judged (TW_REJ_RESTART,
                             TW_REJ_STOPPED by the pipeline) */
} tw_cancel;

typedef void (*tw_cancel_cb)(void *user, const tw_cancel *c);

typedef struct tw_pipeline tw_pipeline;

/* NULL on error, with the reason in err. Warnings about clipped bands are
 * logged. max_block is the largest number of frames process() takes. */
tw_pipeline *tw_pipeline_create(const tw_config *c, int channels, double fs_hz,
                                size_t max_block, tw_event_cb cb, void *user,
                                char *err, size_t errlen);
void tw_pipeline_destroy(tw_pipeline *p);

/* Cancellations go to cb (with the event callback's user); NULL, the
 * default: they are dropped (replay, analyze). */
void tw_pipeline_set_cancel(tw_pipeline *p, tw_cancel_cb cb);

/* x[ch][0..n) in uV, n <= max_block. Returns 0, or a negative TW_E* code
 * (events lost: cannot happen when n <= max_block). */
int tw_pipeline_process(tw_pipeline *p, float *const *x, size_t n);

/* Keep the conditioned signal of every channel (the detectors' input:
 * dsp/channel.h, tw_channel_execute_block_tap) from the next
 * tw_pipeline_process on. 0, or -1 out of memory (then no tap). */
int tw_pipeline_set_tap(tw_pipeline *p);

/* The conditioned samples (uV, at the detector rate) of channel ch from
 * the last tw_pipeline_process, *n of them; NULL (*n = 0) without a
 * tap. Valid until the next process. */
const float *tw_pipeline_get_conditioned(const tw_pipeline *p, int ch, size_t *n);

/* The detector rate (the same for every channel), Hz. */
double tw_pipeline_get_detector_rate(const tw_pipeline *p);

/* End of input: deliver the events still in progress (tw_channel_flush);
 * every notice is resolved. */
int tw_pipeline_flush(tw_pipeline *p);

/* An insertion mark at input index `sample`: every channel's next LTR at
 * or after it starts a new train (trains.h). */
void tw_pipeline_insertion(tw_pipeline *p, int64_t sample);

/* Carry the insertion-train state, the next candidate id and the cancel
 * callback of `from` over to `to` (a pipeline rebuilt with new settings
 * keeps its trains, and its ids stay unique). Same channel count. Flush
 * `from` first: notices it left open are not carried. */
void tw_pipeline_carry_over(tw_pipeline *to, const tw_pipeline *from);

/* End the EPN episodes in progress (tw_channel_flush_epn): a session
 * boundary. */
int tw_pipeline_flush_epn(tw_pipeline *p);

/* After a long gap: restart every channel at input index `index`
 * (tw_channel_restart_at). Notices still open are cancelled
 * (TW_REJ_RESTART). */
void tw_pipeline_restart_at(tw_pipeline *p, int64_t index);

tw_event_cb tw_pipeline_get_callback(const tw_pipeline *p);
void *tw_pipeline_get_user(const tw_pipeline *p);
float tw_pipeline_get_noise_uv(const tw_pipeline *p, int ch);
/* Line frequency cancelled on channel ch, Hz; 0: off or not found yet. */
double tw_pipeline_get_mains_hz(const tw_pipeline *p, int ch);
/* The input guard of channel ch (dsp/channel.h): non-finite samples
 * replaced, flat stretches seen, 1 while one is under way. */
uint64_t tw_pipeline_get_nonfinite(const tw_pipeline *p, int ch);
uint64_t tw_pipeline_get_flat_stretches(const tw_pipeline *p, int ch);
int tw_pipeline_is_flat(const tw_pipeline *p, int ch);

#endif
