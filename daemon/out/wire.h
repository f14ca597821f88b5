/* wire.h: the message headers of the wire protocol (docs/protocol.md),
 * built by the DSP thread, which owns the per-topic sequence numbers and
 * the clock anchor. The same header text is journaled and published.
 *
 * Every header: "v" (protocol version), "topic", "stream" (random id per
 * daemon start), "seq" (per topic, from 0), "sample" (the sample index the
 * message refers to), "clock" {"sample", "realtime", "monotonic"}: the
 * latest anchor pairing a sample index with both clocks.
 */
#ifndef TW_WIRE_H
#define TW_WIRE_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "mq.h"
#include "pipeline.h"
#include "trains.h"
#include "tw_dsp.h"
#include "tw_limits.h"

#define TW_PROTOCOL_VERSION 1

enum {
    TW_T_EVT_LTR, TW_T_EVT_EPN, TW_T_START_LTR, TW_T_START_EPN, TW_T_GAP,
    TW_T_STS, TW_T_EVT_MARK, TW_T_EVT_INSERTION, TW_T_EVT_SESSION, TW_T_EVT_QUALITY,
    TW_T_EVT_CANCEL, TW_T_SIG0, /* sig.0 .. sig.7 follow */
    TW_T_COUNT = TW_T_SIG0 + TW_MAX_CHANNELS
};

typedef struct {
    char stream[24];              /* hex id */
    uint64_t seq[TW_T_COUNT];     /* next sequence number per topic */
    double rate;
    int channels;
    int64_t anchor_sample;
    char session[128];            /* open session id ("": none): carried by
                                     gaps always, by events and records
                                     when the caller says they belong to
                                     the session (in_session) */
    struct timespec anchor_mono, anchor_real;
    /* tw_wire_sig's text of the "clock" object for the current anchor
     * (length 0: to be made) and of its last display rate */
    char sig_clock[160], sig_rate[40];
    size_t sig_clock_len;
    double sig_rate_for;
} tw_wire;

/* stream id from /dev/urandom (or the clock when that fails). */
void tw_wire_init(tw_wire *w, double rate, int channels);
void tw_wire_anchor(tw_wire *w, int64_t sample, const struct timespec *mono,
                    const struct timespec *real);
const char *tw_wire_topic_name(int topic, char *buf, size_t len);
/* CLOCK_REALTIME of sample s, from the clock anchor. */
struct timespec tw_wire_realtime(const tw_wire *w, int64_t s);

/* Messages (NULL on allocation failure). Events and gaps are marked for
 * the journal; onset notices, sig and sts are not. quality: the
 * conditions (quality.h TW_Q_*) of the bad stretches a full event
 * overlaps, given as "quality": [names] when not 0 (no field when 0). */
tw_msg *tw_wire_event(tw_wire *w, const tw_event *e, int ch,
                      const tw_train_info *tr, unsigned quality, int in_session);
/* evt.cancel: the notice c->id resolved without a final event
 * (docs/protocol.md); journal: mark it for the journal
 * (journal.rejected). */
tw_msg *tw_wire_cancel(tw_wire *w, const tw_cancel *c, int in_session, int journal);
/* Why samples were lost; tw_gap_cause_text gives the record's "cause". */
typedef enum {
    TW_GAP_DISCONTINUITY,   /* "discontinuity": the source skipped frames */
    TW_GAP_RING_FULL,       /* "ring full": the DSP thread fell behind */
    TW_GAP_DEVICE_RESTART,  /* "device restart": frames missed while down */
    TW_GAP_INPUT_OVERFLOW,  /* "input overflow": the device overflowed */
} tw_gap_cause;
const char *tw_gap_cause_text(tw_gap_cause cause);
tw_msg *tw_wire_gap(tw_wire *w, int64_t first, int64_t count,
                    const char *cause);
/* sig.<ch>: n display values (uV) from sample first at rate (Hz). The
 * header's reals (the clock anchor's, the rate) are written by jansson
 * once per anchor and rate, the rest composed around them: the same text,
 * byte for byte, as the header built with jansson (test_wire_sig). */
tw_msg *tw_wire_sig(tw_wire *w, int ch, int64_t first, double rate,
                    const float *v, size_t n);
/* A journaled record on topic (TW_T_EVT_MARK, _INSERTION, _SESSION) at
 * sample: the common header, then body's fields (body stolen). It carries
 * the open session's id when in_session is 1. */
tw_msg *tw_wire_record(tw_wire *w, int topic, int64_t sample, json_t *body,
                       int in_session);
/* body: the heartbeat's own fields (stolen); the current sequence numbers
 * are added. */
tw_msg *tw_wire_sts(tw_wire *w, int64_t sample, json_t *body);

#endif
