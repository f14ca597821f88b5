/* pipeline.h: the detection pipeline for all channels of one stream: a
 * tw_channel per channel plus insertion-train bookkeeping. Shared by
 * replay and the live daemon so that both find the same events.
 *
 * Events of one block are delivered to the callback sorted by offset
 * sample (then channel). Not thread-safe: one thread owns it. */
#ifndef TW_PIPELINE_H
#define TW_PIPELINE_H

#include <stddef.h>

#include "config.h"
#include "trains.h"
#include "tw_dsp.h"

typedef void (*tw_event_cb)(void *user, const tw_event *e, int ch,
                            const tw_train_info *tr);

typedef struct tw_pipeline tw_pipeline;

/* NULL on error, with the reason in err. Warnings about clipped bands are
 * logged. max_block is the largest number of frames process() takes. */
tw_pipeline *tw_pipeline_create(const tw_config *c, int channels, double fs_hz,
                                size_t max_block, tw_event_cb cb, void *user,
                                char *err, size_t errlen);
void tw_pipeline_destroy(tw_pipeline *p);

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

/* End of input: deliver the events still in progress (tw_channel_flush). */
int tw_pipeline_flush(tw_pipeline *p);

/* An insertion mark at input index `sample`: every channel's next LTR at
 * or after it starts a new train (trains.h). */
void tw_pipeline_insertion(tw_pipeline *p, int64_t sample);

/* Carry the insertion-train state of `from` over to `to` (a pipeline
 * rebuilt with new settings keeps its trains). Same channel count. */
void tw_pipeline_copy_trains(tw_pipeline *to, const tw_pipeline *from);

/* End the EPN episodes in progress (tw_channel_flush_epn): a session
 * boundary. */
int tw_pipeline_flush_epn(tw_pipeline *p);

/* After a long gap: restart every channel at input index `index`
 * (tw_channel_restart_at). */
void tw_pipeline_restart_at(tw_pipeline *p, int64_t index);

tw_event_cb tw_pipeline_get_callback(const tw_pipeline *p);
void *tw_pipeline_get_user(const tw_pipeline *p);
int tw_pipeline_get_channels(const tw_pipeline *p);
float tw_pipeline_get_noise_uv(const tw_pipeline *p, int ch);
/* Line frequency cancelled on channel ch, Hz; 0: off or not found yet. */
double tw_pipeline_get_mains_hz(const tw_pipeline *p, int ch);
/* The input guard of channel ch (dsp/channel.h): non-finite samples
 * replaced, flat stretches seen, 1 while one is under way. */
uint64_t tw_pipeline_get_nonfinite(const tw_pipeline *p, int ch);
uint64_t tw_pipeline_get_flat_stretches(const tw_pipeline *p, int ch);
int tw_pipeline_is_flat(const tw_pipeline *p, int ch);
const tw_channel *tw_pipeline_get_channel(const tw_pipeline *p, int ch);

#endif
